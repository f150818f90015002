"""Commit → searchable through the real path: MariaDB → Debezium → Kafka → indexer → OpenSearch.

    .venv/bin/python -m bench.cdc_freshness [--rates 200 1000 3000] [--duration 60] [--refresh 250ms]

Writers commit UPDATEs at a fixed rate (round-robin over the NYC listings, each row carrying a
unique sequence number in `number_of_reviews`) and record the commit time; a poller searches the
index every --poll-ms for the newest sequence numbers and records when each first becomes
visible. Latency = first visible − commit (resolution: the poll interval). Also reports the
achieved write rate, writes never seen, and the indexer group's max consumer lag.
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
from confluent_kafka import Consumer, TopicPartition
from sqlalchemy import text

from bench.common import save
from hellohome.cdc import connector
from hellohome.cdc.topics import change_topics
from hellohome.config import get_settings
from hellohome.db import migrate
from hellohome.db.engine import get_engine
from hellohome.loaders.run import DATASETS, default_path, load_file
from hellohome.search import indexes
from hellohome.search.verify import verify
from hellohome.stack import mariadb, services

PREFIX = "bench-cdc-"
SEQ_BASE = 10_000_000


def prepare(settings, refresh: str):
    schema = settings.db_name + "_bench_cdc"
    with mariadb.admin_connect(settings) as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{schema}`")
    mariadb.bootstrap(settings, database=schema)
    migrate.upgrade("head", database=schema)
    load_file(get_engine("app", schema), default_path(settings, "nyc"), "nyc", DATASETS["nyc"][1],
              batch_size=5000, rejects_dir=settings.stack_dir / "rejects-bench", progress=False)
    case = settings.model_copy(update={"db_name": schema, "index_prefix": PREFIX, "index_refresh_interval": refresh})
    client = indexes.client(case)
    client.indices.delete(index=f"{PREFIX}*", ignore_unavailable=True)
    indexes.create(client, case, "properties", PREFIX)
    return case


class Run:
    def __init__(self, case, rate: int, duration: float, poll_ms: int, seq_start: int):
        self.case, self.rate, self.duration, self.poll_s = case, rate, duration, poll_ms / 1000
        self.committed: dict[int, float] = {}
        self.seen: dict[int, float] = {}
        self.seq = itertools.count(seq_start)
        self.lock = threading.Lock()
        self.done = threading.Event()
        with get_engine("readonly", case.db_name).connect() as conn:
            self.ids = [r[0] for r in conn.execute(text("SELECT id FROM properties ORDER BY id"))]
        self.next_id = itertools.cycle(self.ids)

    def writer(self, share: float) -> None:
        # transactions of several rows at high rates: one commit (fsync) per 5 ms at most
        rows_per_tx = max(1, int(self.rate * share / 200))
        interval = rows_per_tx / (self.rate * share)
        engine = get_engine("app", self.case.db_name)
        next_at = time.perf_counter()
        with engine.connect() as conn:
            while not self.done.is_set():
                with self.lock:
                    batch = [(next(self.seq), next(self.next_id)) for _ in range(rows_per_tx)]
                with conn.begin():
                    for seq, pid in batch:
                        conn.execute(text("UPDATE properties SET number_of_reviews = :s WHERE id = :i"),
                                     {"s": seq, "i": pid})
                now = time.time()
                with self.lock:
                    self.committed.update((seq, now) for seq, _ in batch)
                next_at += interval
                time.sleep(max(0.0, next_at - time.perf_counter()))

    def poller(self) -> None:
        client = indexes.client(self.case)
        alias = indexes.read_alias("properties", PREFIX)
        size = min(10_000, max(500, self.rate * 3))
        while not self.done.is_set() or len(self.seen) < len(self.committed):
            hits = client.search(index=alias, body={
                "size": size, "_source": False, "docvalue_fields": ["number_of_reviews"],
                "query": {"range": {"number_of_reviews": {"gte": SEQ_BASE}}},
                "sort": [{"number_of_reviews": "desc"}]})["hits"]["hits"]
            now = time.time()
            for hit in hits:
                self.seen.setdefault(int(hit["fields"]["number_of_reviews"][0]), now)
            if self.done.is_set() and time.time() > self.stop_at + 30:
                break
            time.sleep(self.poll_s)

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

    def execute(self, group: str) -> dict:
        writers = 2 if self.rate > 500 else 1
        threads = [threading.Thread(target=self.writer, args=(1 / writers,)) for _ in range(writers)]
        threads += [threading.Thread(target=self.poller), threading.Thread(target=self.lag_sampler, args=(group,))]
        started = time.time()
        for t in threads:
            t.start()
        time.sleep(self.duration)
        self.stop_at = time.time()
        self.done.set()
        for t in threads:
            t.join()
        latencies = np.array([(self.seen[s] - c) * 1000 for s, c in self.committed.items() if s in self.seen])
        return {
            "rate_rows_per_s": self.rate,
            "achieved_rows_per_s": round(len(self.committed) / (self.stop_at - started)),
            "writes": len(self.committed), "never_seen": len(self.committed) - len(latencies),
            "searchable_p50_ms": round(float(np.percentile(latencies, 50))),
            "searchable_p95_ms": round(float(np.percentile(latencies, 95))),
            "searchable_p99_ms": round(float(np.percentile(latencies, 99))),
            "searchable_max_ms": round(float(latencies.max())),
            "max_lag_messages": max(self.lags) if self.lags else None,
            "mean_lag_messages": round(statistics.mean(self.lags)) if self.lags else None,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=int, nargs="+", default=[200, 1000, 3000])
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--refresh", default="250ms", help="refresh_interval of the benchmark index")
    parser.add_argument("--poll-ms", type=int, default=50)
    args = parser.parse_args()
    settings = get_settings()
    services.up(settings)
    case = prepare(settings, args.refresh)
    name = connector.register(case, case.db_name)
    group = f"bench-indexer-{uuid.uuid4().hex[:6]}"
    env = {"HH_DB_NAME": case.db_name, "HH_INDEX_PREFIX": PREFIX}
    indexer = subprocess.Popen([sys.executable, "-m", "consumers.indexer", "--group", group, "--metrics-port", "0",
                                "--log-level", "DEBUG"],
                               env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                               stderr=open(settings.stack_dir / "bench-indexer.log", "ab"))
    try:
        deadline = time.monotonic() + 600
        while not verify(case).clean:  # the snapshot first
            if time.monotonic() > deadline:
                raise SystemExit("snapshot not indexed within 10 minutes")
            time.sleep(2)
        results = []
        for i, rate in enumerate(args.rates):
            row = Run(case, rate, args.duration, args.poll_ms, SEQ_BASE * (i + 2)).execute(group)
            results.append(row)
            print(row, flush=True)
        report = verify(case)
        save("cdc_freshness", {"duration_s": args.duration, "refresh_interval": args.refresh,
                               "poll_ms": args.poll_ms, "indexer_refresh": "wait_for", "indexers": 1,
                               "dataset": "nyc", "parity_clean_after": report.clean}, results)
    finally:
        indexer.terminate()
        indexer.wait(60)
        connector.delete(case, name)


if __name__ == "__main__":
    main()
