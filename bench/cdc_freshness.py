"""Commit → searchable through the real path: MariaDB → Debezium → Kafka → indexer → OpenSearch.

    HH_ENRICHER_AUTOSTART=false .venv/bin/python -m bench.cdc_freshness [--rates 200 1000 3000]
        [--duration 60] [--shards 1] [--refresh 5s] [--refresh-every-ms 250] [--indexer-refresh after_write]

Writers commit UPDATEs at a fixed rate (round-robin over the NYC listings, each row carrying a
unique sequence number in `number_of_reviews`; one statement per transaction of up to 5 rows).
Two measurements of commit → searchable:
- every write: the indexer's histograms, per stage: commit → Kafka (the record's timestamp:
  Debezium's share), → indexed (bulk acknowledged), → searchable (after_write, the default: when
  the indexer's next refresh returned; false: its tracker searches for each acknowledged batch
  until a scheduled refresh made it visible; wait_for: the bulk itself returns once searchable);
  commit time = the row's updated_at in ms; scraped before and
  after each run, quantiles interpolated within buckets (max: the upper bound of the highest
  bucket with a count);
- a sample, independently: a probe takes the newest committed write every 100 ms and searches
  for it (a search, not a realtime GET) every --poll-ms until it is visible.
Also: achieved write rate, the indexer group's consumer lag, the mean MariaDB re-read and bulk
time per batch, the indexer's refreshes (how many, how long), % of a core per process over the
run, and a parity check at the end. The demo's
enricher working through its backlog would take a core from everything else: run with it off.
Writes bench/results/cdc_freshness.json.
"""
from __future__ import annotations

import argparse
import itertools
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid

import numpy as np
import psutil
import requests
from confluent_kafka import Consumer, KafkaException, TopicPartition
from sqlalchemy import text

from bench.common import Conditions, save, schema_with
from hellohome.cdc import connector
from hellohome.cdc.topics import change_topics, drop_change_topics
from hellohome.config import get_settings
from hellohome.db.engine import get_engine
from hellohome.search import indexes
from hellohome.stack import services
from hellohome.sync.verify import ParityReport, verify

PREFIX = "bench-cdc-"
SEQ_BASE = 10_000_000


def prepare(settings, refresh: str, shards: int):
    schema = schema_with(settings, settings.db_name + "_bench_cdc", ("nyc",))
    case = settings.model_copy(update={"db_name": schema, "index_prefix": PREFIX, "index_refresh_interval": refresh,
                                       "index_shards": shards})
    client = indexes.client(case)
    client.indices.delete(index=f"{PREFIX}*", ignore_unavailable=True)
    indexes.create(client, case, "properties", PREFIX)
    return case


class Run:
    def __init__(self, case, rate: int, duration: float, poll_ms: int, seq_start: int):
        self.case, self.rate, self.duration, self.poll_s = case, rate, duration, poll_ms / 1000
        self.writes = 0
        self.latest: tuple[int, int, float] | None = None
        self.samples: list[float] = []
        self.unseen = 0
        self.seq = itertools.count(seq_start)
        self.lock = threading.Lock()
        self.done = threading.Event()
        with get_engine(case, "readonly").connect() as conn:
            self.ids = [r[0] for r in conn.execute(text("SELECT id FROM properties ORDER BY id"))]
        self.next_id = itertools.cycle(self.ids)

    def writer(self, share: float) -> None:
        # transactions of several rows at high rates: one commit (fsync) per 5 ms at most
        rows_per_tx = max(1, int(self.rate * share / 200))
        interval = rows_per_tx / (self.rate * share)
        # one statement per transaction (the binlog still logs one row event per row), built once
        # (placeholders only; the driver binds the values) and run on the driver's connection: the
        # writers are load generators sharing the 2 cores with what they measure, so they should
        # cost little
        cases, ids = "WHEN %s THEN %s " * rows_per_tx, ", ".join(["%s"] * rows_per_tx)
        statement = f"UPDATE properties SET number_of_reviews = CASE id {cases}END WHERE id IN ({ids})"  # noqa: S608
        raw = get_engine(self.case, "app").raw_connection()
        next_at = time.perf_counter()
        try:
            cursor = raw.cursor()
            while not self.done.is_set():
                with self.lock:
                    batch = [(next(self.seq), next(self.next_id)) for _ in range(rows_per_tx)]
                cursor.execute(statement, [v for seq, pid in batch for v in (pid, seq)] + [pid for _, pid in batch])
                raw.commit()
                now = time.time()
                with self.lock:
                    self.writes += len(batch)
                    self.latest = (batch[-1][0], batch[-1][1], now)
                next_at += interval
                time.sleep(max(0.0, next_at - time.perf_counter()))
        finally:
            raw.close()

    def prober(self) -> None:
        client = indexes.client(self.case)
        alias = indexes.read_alias("properties", PREFIX)
        while not self.done.is_set():
            with self.lock:
                latest = self.latest
            if latest is None:
                time.sleep(0.05)
                continue
            seq, pid, committed = latest
            while True:
                hits = client.search(index=alias, body={"size": 1, "_source": False, "query": {"bool": {"filter": [
                    {"term": {"id": pid}}, {"range": {"number_of_reviews": {"gte": seq}}}]}}})["hits"]["hits"]
                if hits:
                    self.samples.append((time.time() - committed) * 1000)
                    break
                if time.time() - committed > 60:
                    self.unseen += 1
                    break
                time.sleep(self.poll_s)
            time.sleep(0.1)

    def lag_sampler(self, group: str) -> list[int]:
        consumer = Consumer({"bootstrap.servers": self.case.kafka_bootstrap, "group.id": group})
        parts = [TopicPartition(t, p) for t in change_topics(self.case.db_name)[:1] for p in range(6)]
        lags = []
        while not self.done.is_set():
            committed = consumer.committed(parts, timeout=5)
            lag = 0
            for tp in committed:
                high = consumer.get_watermark_offsets(tp, timeout=5)[1]
                lag += max(0, high - max(tp.offset, 0))
            lags.append(lag)
            time.sleep(1)
        consumer.close()
        self.lags = lags
        return lags

    def cpu_sampler(self, pids: dict[str, int]) -> None:
        """% of one core per process over the run (where the 2 cores go)."""
        procs = {name: psutil.Process(pid) for name, pid in pids.items() if psutil.pid_exists(pid)}
        for proc in procs.values():
            proc.cpu_percent()
        started = time.time()
        self.done.wait()
        elapsed = max(time.time() - started, 1e-3)
        self.cpu = {name: round(proc.cpu_percent()) for name, proc in procs.items()}
        self.cpu["elapsed_s"] = round(elapsed)

    def execute(self, group: str, pids: dict[str, int]) -> dict:
        writers = 2 if self.rate > 500 else 1
        threads = [threading.Thread(target=self.writer, args=(1 / writers,)) for _ in range(writers)]
        threads += [threading.Thread(target=self.prober), threading.Thread(target=self.lag_sampler, args=(group,)),
                    threading.Thread(target=self.cpu_sampler, args=(pids,))]
        started = time.time()
        for t in threads:
            t.start()
        time.sleep(self.duration)
        self.stop_at = time.time()
        self.done.set()
        for t in threads:
            t.join()
        sample = np.array(self.samples)
        return {
            "rate_rows_per_s": self.rate,
            "achieved_rows_per_s": round(self.writes / (self.stop_at - started)),
            "writes": self.writes,
            "probe_samples": len(sample), "probe_unseen": self.unseen,
            "probe_p50_ms": round(float(np.percentile(sample, 50))) if len(sample) else None,
            "probe_p99_ms": round(float(np.percentile(sample, 99))) if len(sample) else None,
            "max_lag_messages": max(self.lags) if self.lags else None,
            "mean_lag_messages": round(statistics.mean(self.lags)) if self.lags else None,
            "cpu_percent_of_one_core": self.cpu,
        }


HISTOGRAM = "hellohome_indexer_commit_to_{}_seconds_bucket"
STAGES = ("kafka", "indexed", "searchable")  # commit → Kafka (Debezium), → acknowledged, → visible


def scrape(port: int) -> tuple[dict[str, dict[float, float]], dict[str, float]]:
    """One read of the indexer's /metrics: cumulative bucket counts {le: count} of its
    commit→kafka/indexed/searchable histograms, and the sum and count of its per-batch read and
    bulk histograms."""
    body = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    buckets: dict[str, dict[float, float]] = {stage: {} for stage in STAGES}
    sums: dict[str, float] = {}
    for line in body.splitlines():
        for stage in STAGES:
            if line.startswith(HISTOGRAM.format(stage) + "{"):
                le = line.split('le="', 1)[1].split('"', 1)[0]
                buckets[stage][float("inf") if le == "+Inf" else float(le)] = float(line.rsplit(" ", 1)[1])
        for name in ("read", "bulk", "refresh"):
            for part in ("sum", "count"):
                if line.startswith(f"hellohome_indexer_{name}_seconds_{part} "):
                    sums[f"{name}_{part}"] = float(line.split()[1])
    return buckets, sums


def quantile(before: dict[float, float], after: dict[float, float], q: float) -> float | None:
    """histogram_quantile over the difference of two scrapes (linear within a bucket), in ms."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    total = counts[-1]
    if total <= 0:
        return None
    rank, lower, below = q * total, 0.0, 0.0
    for bound, cumulative in zip(bounds, counts, strict=True):
        if cumulative >= rank:
            if bound == float("inf"):
                return lower * 1000
            return (lower + (bound - lower) * (rank - below) / max(cumulative - below, 1e-9)) * 1000
        lower, below = bound, cumulative
    return None


def wait_caught_up(case, group: str, timeout_s: float = 900) -> ParityReport:
    """Until the group has no lag and `hellohome verify` finds the index equal to MariaDB; the report."""
    consumer = Consumer({"bootstrap.servers": case.kafka_bootstrap, "group.id": group})
    parts = [TopicPartition(t, p) for t in change_topics(case.db_name) for p in range(6)]
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            try:
                lag = sum(max(0, consumer.get_watermark_offsets(tp, timeout=5)[1] - max(tp.offset, 0))
                          for tp in consumer.committed(parts, timeout=10))
            except KafkaException:  # topics just recreated: leaders not known yet
                lag = None
            if lag == 0 and (report := verify(case)).clean:
                return report
            time.sleep(2)
    finally:
        consumer.close()
    raise SystemExit("the indexer did not catch up with the snapshot in time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=int, nargs="+", default=[200, 1000, 3000])
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--refresh", help="refresh_interval of the benchmark index (default: the brief's 5s "
                        "with --indexer-refresh after_write, else 250ms)")
    parser.add_argument("--refresh-every-ms", type=int, default=250,
                        help="HH_INDEXER_REFRESH_EVERY_MS: the indexer refreshes at most this often (after_write)")
    parser.add_argument("--poll-ms", type=int, default=20, help="probe search interval")
    # one shard: every shard costs a refresh of its own (~30 ms of CPU each at 1,000 rows/s here),
    # and the 90 MB NYC index is far below a shard's usual size; --shards 2 is the stack's default
    # (chosen for query parallelism) and is measured too
    parser.add_argument("--shards", type=int, default=1, help="primary shards of the benchmark index")
    parser.add_argument("--metrics-port", type=int, default=9199)
    parser.add_argument("--label", default="", help="save as cdc_freshness_<label>.json (experiments)")
    parser.add_argument("--indexer-refresh", default="after_write", choices=["after_write", "false", "wait_for"],
                        help="HH_INDEXER_REFRESH of the indexer under test")
    args = parser.parse_args()
    conditions = Conditions.begin(warm=True)
    args.refresh = args.refresh or ("5s" if args.indexer_refresh == "after_write" else "250ms")
    settings = get_settings()
    services.up(settings)
    case = prepare(settings, args.refresh, args.shards)
    connector.forget(case, case.db_name)  # its stored offsets too: this run starts with a fresh snapshot
    drop_change_topics(case, case.db_name)  # no events of earlier runs ahead of this one's snapshot
    connector.register(case, case.db_name)
    group = f"bench-indexer-{uuid.uuid4().hex[:6]}"
    env = {"HH_DB_NAME": case.db_name, "HH_INDEX_PREFIX": PREFIX, "HH_INDEXER_REFRESH": args.indexer_refresh,
           "HH_INDEXER_REFRESH_EVERY_MS": str(args.refresh_every_ms)}
    indexer = subprocess.Popen([sys.executable, "-m", "consumers.indexer", "--group", group,
                                "--metrics-port", str(args.metrics_port)],
                               env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                               stderr=open(settings.stack_dir / "bench-indexer.log", "ab"))
    try:
        wait_caught_up(case, group)
        results = []
        for i, rate in enumerate(args.rates):
            before, means_before = scrape(args.metrics_port)
            pids = {s["service"]: s["pid"] for s in services.status(case) if s.get("pid")}
            pids |= {"bench indexer": indexer.pid, "bench writers": os.getpid()}
            row = Run(case, rate, args.duration, args.poll_ms, SEQ_BASE * (i + 2)).execute(group, pids)
            parity = wait_caught_up(case, group, timeout_s=300)
            row |= {"parity_checked": parity.checked,
                    "parity_differences": len(parity.missing) + len(parity.stale) + len(parity.extra)}
            after, means = scrape(args.metrics_port)
            batches = means["bulk_count"] - means_before["bulk_count"]
            row["batches"] = int(batches)
            for name in ("read", "bulk"):  # per batch, in the indexer's writer thread
                spent = means[f"{name}_sum"] - means_before[f"{name}_sum"]
                row[f"mean_{name}_ms"] = round(spent / batches * 1000) if batches else None
            refreshes = means.get("refresh_count", 0) - means_before.get("refresh_count", 0)
            if refreshes:  # the indexer's own refreshes (after_write)
                row["refreshes_per_s"] = round(refreshes / args.duration, 1)
                row["mean_refresh_ms"] = round((means["refresh_sum"] - means_before["refresh_sum"]) / refreshes * 1000)
            for stage in STAGES:
                for label, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0)):
                    value = quantile(before[stage], after[stage], q)
                    row[f"{stage}_{label}_ms"] = None if value is None else round(value)
            results.append(row)
            print(row, flush=True)
        save("cdc_freshness" + (f"_{args.label}" if args.label else ""), {"duration_s": args.duration, "refresh_interval": args.refresh, "shards": case.index_shards,
                               "probe_poll_ms": args.poll_ms, "indexer_refresh": args.indexer_refresh,
                               "indexer_refresh_every_ms": args.refresh_every_ms, "indexers": 1,
                               "dataset": "nyc (48,879 listings)"}, results, conditions)
    finally:
        indexer.terminate()
        indexer.wait(60)
        connector.forget(case, case.db_name)


if __name__ == "__main__":
    main()
