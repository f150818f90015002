"""A Prometheus exporter for OpenSearch 2.19 (no exporter plugin is published for it): on every
scrape it reads `_cluster/health`, `_nodes/stats` and `_stats` and turns them into metrics, so what
Prometheus stores is never older than one scrape. Times OpenSearch reports in milliseconds are
exported in seconds; counters end in _total. `opensearch_up` is 0 when OpenSearch does not answer
(the process itself stays up, so the alert says "OpenSearch down", not "exporter down")."""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

from opensearchpy import OpenSearch
from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from hellohome.config import Settings

log = logging.getLogger(__name__)
STATUSES = ("green", "yellow", "red")


def _gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"opensearch_{name}", doc, labels=labels)


def _counter(name: str, doc: str, labels: list[str]) -> CounterMetricFamily:
    return CounterMetricFamily(f"opensearch_{name}", doc, labels=labels)


def cluster_metrics(health: dict) -> Iterator:
    status = _gauge("cluster_status", "1 for the cluster's current status colour", ["color"])
    for color in STATUSES:
        status.add_metric([color], float(health["status"] == color))
    yield status
    shards = _gauge("cluster_shards", "Shards by state", ["state"])
    for state in ("active", "relocating", "initializing", "unassigned", "delayed_unassigned"):
        shards.add_metric([state], health[f"{state}_shards"])
    yield shards
    nodes = _gauge("cluster_nodes", "Nodes in the cluster", ["role"])
    nodes.add_metric(["all"], health["number_of_nodes"])
    nodes.add_metric(["data"], health["number_of_data_nodes"])
    yield nodes
    pending = _gauge("cluster_pending_tasks", "Cluster-state updates waiting", [])
    pending.add_metric([], health["number_of_pending_tasks"])
    yield pending


def node_metrics(stats: dict) -> Iterator:
    heap_used = _gauge("jvm_heap_used_bytes", "JVM heap in use", ["node"])
    heap_max = _gauge("jvm_heap_max_bytes", "JVM heap limit", ["node"])
    heap_pct = _gauge("jvm_heap_used_percent", "JVM heap in use, % of the limit", ["node"])
    gc_count = _counter("jvm_gc_collections", "Garbage collections", ["node", "gc"])
    gc_time = _counter("jvm_gc_collection_seconds", "Time spent in garbage collection", ["node", "gc"])
    breaker_used = _gauge("breaker_estimated_bytes", "Memory a circuit breaker counts as used", ["node", "breaker"])
    breaker_limit = _gauge("breaker_limit_bytes", "A circuit breaker's limit", ["node", "breaker"])
    breaker_trips = _counter("breaker_tripped", "Requests a circuit breaker refused", ["node", "breaker"])
    disk_total = _gauge("fs_total_bytes", "Disk size under the data path", ["node"])
    disk_free = _gauge("fs_available_bytes", "Disk space available to OpenSearch", ["node"])
    cpu = _gauge("process_cpu_percent", "CPU use of the OpenSearch process", ["node"])
    rejected = _counter("thread_pool_rejected", "Tasks a thread pool refused (queue full)", ["node", "pool"])
    queue = _gauge("thread_pool_queue", "Tasks waiting in a thread pool", ["node", "pool"])
    for node in stats["nodes"].values():
        name = node["name"]
        mem = node["jvm"]["mem"]
        heap_used.add_metric([name], mem["heap_used_in_bytes"])
        heap_max.add_metric([name], mem["heap_max_in_bytes"])
        heap_pct.add_metric([name], mem["heap_used_percent"])
        for gc, c in node["jvm"]["gc"]["collectors"].items():
            gc_count.add_metric([name, gc], c["collection_count"])
            gc_time.add_metric([name, gc], c["collection_time_in_millis"] / 1000)
        for breaker, b in node["breakers"].items():
            breaker_used.add_metric([name, breaker], b["estimated_size_in_bytes"])
            breaker_limit.add_metric([name, breaker], b["limit_size_in_bytes"])
            breaker_trips.add_metric([name, breaker], b["tripped"])
        disk_total.add_metric([name], node["fs"]["total"]["total_in_bytes"])
        disk_free.add_metric([name], node["fs"]["total"]["available_in_bytes"])
        cpu.add_metric([name], node["process"]["cpu"]["percent"])
        for pool in ("search", "write", "get", "refresh", "force_merge"):
            if pool in node["thread_pool"]:
                rejected.add_metric([name, pool], node["thread_pool"][pool]["rejected"])
                queue.add_metric([name, pool], node["thread_pool"][pool]["queue"])
    yield from (heap_used, heap_max, heap_pct, gc_count, gc_time, breaker_used, breaker_limit, breaker_trips,
                disk_total, disk_free, cpu, rejected, queue)


# (section, field in _stats, metric, help, kind): one row per exported index statistic
INDEX_FIELDS = [
    ("docs", "count", "index_docs", "Documents (primaries)", "gauge"),
    ("store", "size_in_bytes", "index_store_bytes", "Size on disk (primaries and replicas)", "gauge"),
    ("search", "query_total", "index_search_queries", "Search queries (every shard counts one)", "counter"),
    ("search", "query_time_in_millis", "index_search_query_seconds", "Time spent in search queries", "counter"),
    ("search", "fetch_total", "index_search_fetches", "Search fetch phases", "counter"),
    ("search", "fetch_time_in_millis", "index_search_fetch_seconds", "Time spent fetching hits", "counter"),
    ("indexing", "index_total", "index_indexing_docs", "Documents indexed", "counter"),
    ("indexing", "index_time_in_millis", "index_indexing_seconds", "Time spent indexing", "counter"),
    ("indexing", "index_failed", "index_indexing_failed", "Documents that failed to index", "counter"),
    ("refresh", "total", "index_refreshes", "Refreshes", "counter"),
    ("refresh", "total_time_in_millis", "index_refresh_seconds", "Time spent refreshing", "counter"),
    ("merges", "total", "index_merges", "Merges", "counter"),
    ("merges", "total_time_in_millis", "index_merge_seconds", "Time spent merging", "counter"),
    ("segments", "count", "index_segments", "Lucene segments", "gauge"),
]


def index_metrics(stats: dict) -> Iterator:
    families = {}
    for section, field, metric, doc, kind in INDEX_FIELDS:
        make = _gauge if kind == "gauge" else _counter
        families[(section, field)] = make(metric, doc, ["index"])
    for index, data in sorted(stats["indices"].items()):
        if index.startswith("."):  # OpenSearch's own system indexes
            continue
        for (section, field), family in families.items():
            # docs count the primaries (replicas hold the same documents); work counts every copy
            scope = data["primaries"] if section == "docs" else data["total"]
            value = scope.get(section, {}).get(field, 0)
            family.add_metric([index], value / 1000 if field.endswith("_in_millis") else value)
    yield from families.values()


class OpenSearchCollector(Collector):
    def __init__(self, client: OpenSearch):
        self.client = client

    def collect(self) -> Iterator:
        started = time.perf_counter()
        up = _gauge("up", "1 when OpenSearch answered this scrape", [])
        try:
            health = self.client.cluster.health()
            nodes = self.client.nodes.stats(metric="jvm,breaker,fs,process,thread_pool")
            indices = self.client.indices.stats(metric="docs,store,search,indexing,refresh,merge,segments")
        except Exception as exc:  # any failure: OpenSearch is down for this scrape, say so
            log.warning("opensearch scrape failed", extra={"error": str(exc)})
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from cluster_metrics(health)
        yield from node_metrics(nodes)
        yield from index_metrics(indices)
        took = _gauge("exporter_scrape_seconds", "Time to read OpenSearch's statistics", [])
        took.add_metric([], time.perf_counter() - started)
        yield took


class OpenSearchExporter:
    """The long-running process (`consumers/opensearch_exporter`): /metrics is served by
    hellohome.worker; this only registers the collector and waits to be stopped."""

    def __init__(self, settings: Settings):
        client = OpenSearch(settings.opensearch_url, timeout=5, max_retries=0)
        REGISTRY.register(OpenSearchCollector(client))
        self._stopped = threading.Event()

    def run(self, idle_exit_s: float | None = None) -> None:
        self._stopped.wait(idle_exit_s)

    def stop(self, *_args) -> None:
        self._stopped.set()
