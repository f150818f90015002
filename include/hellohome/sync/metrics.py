"""Prometheus metrics of the CDC indexer (one registry per process, served on /metrics)."""
from __future__ import annotations

import json

from prometheus_client import Counter, Gauge, Histogram

# fine below 1 s, where the freshness goal lies (quantiles interpolate within a bucket)
LATENCY_BUCKETS = (0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0,
                   1.25, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10, 20, 30, 60, 300)

CONSUMED = Counter("hellohome_indexer_events_consumed_total", "Change events read from Kafka", ["topic"])
INDEXED = Counter("hellohome_indexer_documents_written_total", "Documents indexed or deleted", ["op"])
STALE = Counter("hellohome_indexer_documents_stale_total", "Writes skipped: the index already had newer data")
FAILED = Counter("hellohome_indexer_documents_failed_total", "Documents OpenSearch refused permanently")
DLQ = Counter("hellohome_indexer_dlq_total", "Messages sent to the dead-letter topic", ["topic", "reason"])
RETRIES = Counter("hellohome_indexer_bulk_retries_total", "Bulk attempts beyond the first")
READ_SECONDS = Histogram("hellohome_indexer_read_seconds", "Re-reading one batch's documents from MariaDB",
                         buckets=LATENCY_BUCKETS)
LOCKED_READ_RETRIES = Counter("hellohome_indexer_locked_read_retries_total",
                              "Re-reads repeated because a commit in progress still held a row")
BULK_SECONDS = Histogram("hellohome_indexer_bulk_seconds", "Duration of one settled bulk write", buckets=LATENCY_BUCKETS)
COMMIT_TO_KAFKA = Histogram("hellohome_indexer_commit_to_kafka_seconds",
                            "Database commit to the change event's Kafka timestamp (Debezium's share)",
                            buckets=LATENCY_BUCKETS)
COMMIT_TO_INDEXED = Histogram("hellohome_indexer_commit_to_indexed_seconds",
                              "Database commit to OpenSearch acknowledgement", buckets=LATENCY_BUCKETS)
COMMIT_TO_SEARCHABLE = Histogram("hellohome_indexer_commit_to_searchable_seconds",
                                 "Database commit to searchable in OpenSearch", buckets=LATENCY_BUCKETS)
REFRESH_SECONDS = Histogram("hellohome_indexer_refresh_seconds",
                            "One refresh the indexer asked for after its writes (HH_INDEXER_REFRESH=after_write)",
                            buckets=LATENCY_BUCKETS)
LAG = Gauge("hellohome_indexer_consumer_lag", "Messages behind the partition end", ["topic", "partition"])
PAUSED = Gauge("hellohome_indexer_paused", "1 while partitions are paused for backpressure")


def record_stats(stats_json: str) -> None:
    """librdkafka statistics callback → per-partition consumer lag."""
    stats = json.loads(stats_json)
    for topic, body in stats.get("topics", {}).items():
        for partition, p in body.get("partitions", {}).items():
            if partition != "-1" and p.get("consumer_lag", -1) >= 0:
                LAG.labels(topic, partition).set(p["consumer_lag"])
