"""The CDC indexer: Debezium change events → property documents in OpenSearch, at least once,
with the effect of exactly once.

One poll loop (cdc.consumer). A batch of events is planned (sync.plan: the property ids it
touches, with versions); those properties are re-read from MariaDB and written with
`version_type=external_gte` and the binlog position of the newest event as version, so replays
and out-of-order deliveries across partitions can never leave an older document in place. A
property that no longer exists (or is soft-deleted) is deleted, which also covers children
removed by ON DELETE CASCADE (absent from MariaDB's binlog). Offsets are committed only after
every item of the batch is settled in OpenSearch; unparseable messages go to the dead-letter
topic with the error, the payload and their offset. sync.freshness makes written batches
searchable and times them.
"""
from __future__ import annotations

import json
import logging
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait

from confluent_kafka import Message, Producer, TopicPartition
from sqlalchemy.exc import DBAPIError

from hellohome.cdc.consumer import ChangeConsumer, poll_loop
from hellohome.cdc.topics import change_topics, ensure_topics, topic_prefix
from hellohome.config import Settings
from hellohome.db.engine import get_engine
from hellohome.documents import (
    LOCK_CONFLICT,
    documents_for,
    profile_documents_for,
    properties_of_hosts,
    wait_for_commits,
)
from hellohome.retry import retrying
from hellohome.search import bulk, indexes
from hellohome.sync import metrics
from hellohome.sync.freshness import Refresher, VisibilityTracker
from hellohome.sync.plan import BatchPlan, plan

log = logging.getLogger(__name__)

MAX_IN_FLIGHT = 2  # the next batch is read and built while the previous one is written
PAUSE_AFTER_S = 2.0  # a write still pending after this is backpressure: pause the partitions
LOCKED_READ_S = 5.0  # how long a re-read waits for commits in progress (see Indexer._read)


def dlq_topic(database: str) -> str:
    return f"{topic_prefix(database)}.dlq"


def _locked(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and exc.orig is not None and exc.orig.args[:1] == (LOCK_CONFLICT,)


class Indexer:
    def __init__(self, settings: Settings, group_id: str | None = None, properties_index: str | None = None):
        """`properties_index`: write listings there instead of the write alias (a reindex catching
        a version up before it goes live)."""
        self.settings = settings
        self.topics = change_topics(settings.db_name)
        self.dlq = dlq_topic(settings.db_name)
        self.alias = properties_index or indexes.write_alias("properties", settings.index_prefix)
        self.profiles_alias = indexes.write_alias("user_profiles", settings.index_prefix)
        self.search = indexes.client(settings)
        self.engine = get_engine(settings, "readonly")
        self.stopping = False
        self.pool = ThreadPoolExecutor(max_workers=MAX_IN_FLIGHT, thread_name_prefix="bulk")
        self.in_flight: deque[tuple[Future, list[Message], float]] = deque()
        self.refresher = Refresher(self.search, settings.indexer_refresh_every_ms / 1000, self._stopping)
        self.tracker = VisibilityTracker(self.search, indexes.read_alias("properties", settings.index_prefix),
                                         self._stopping)
        self.consumer = ChangeConsumer(settings, group_id or settings.indexer_group, self.topics,
                                       stats_cb=metrics.record_stats)
        self.producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "enable.idempotence": True})

    def stop(self, *_args) -> None:
        """SIGTERM/SIGINT: finish (or abandon, uncommitted) the batch in hand, then leave."""
        self.stopping = True

    def _stopping(self) -> bool:
        return self.stopping

    def _ensure_indexes(self) -> None:
        """A fresh setup has no index yet: create version 1 (with its aliases) of each kind. An
        index built from an older mapping gets the new fields, so writes keep landing until a
        backfill rebuilds it."""
        prefix = self.settings.index_prefix
        for kind in indexes.KINDS:
            if indexes.current(self.search, kind, prefix) is None:
                indexes.create(self.search, self.settings, kind, prefix)
            elif live := indexes.outdated(self.search, self.settings, kind, prefix):
                log.warning("index built from an older mapping; run `hellohome backfill`",
                            extra={"fields": {"index": live}})
                indexes.add_new_fields(self.search, self.settings, kind, prefix)

    def run(self, idle_exit_s: float | None = None) -> None:
        ensure_topics(self.settings, [self.dlq])
        self._ensure_indexes()
        if self.settings.indexer_refresh == "after_write":
            self.refresher.start()
        elif self.settings.indexer_refresh == "false":
            self.tracker.start()
        log.info("indexer started", extra={"fields": {"topics": self.topics, "alias": self.alias}})
        try:
            poll_loop(self.consumer, self, batch_max=self.settings.indexer_batch_max, poll_s=0.05,
                      should_stop=self._stopping, idle_exit_s=idle_exit_s)
        finally:  # batches still retrying gave up when stopping: left uncommitted
            self.pool.shutdown(wait=True)
            self.producer.flush(10)
            log.info("indexer stopped")

    def catch_up(self, since_ms: int) -> int:
        """Re-apply every change event committed since `since_ms` up to the current end of each
        partition (used after an alias swap); returns how many messages were read."""
        kafka = self.consumer.kafka
        known = kafka.list_topics(timeout=10).topics
        partitions = [TopicPartition(t, p, since_ms) for t in self.topics if t in known for p in known[t].partitions]
        starts = kafka.offsets_for_times(partitions, timeout=30)
        ends = {(tp.topic, tp.partition): kafka.get_watermark_offsets(tp, timeout=10)[1] for tp in partitions}
        todo = {(tp.topic, tp.partition) for tp in starts if 0 <= tp.offset < ends[(tp.topic, tp.partition)]}
        kafka.assign([tp for tp in starts if (tp.topic, tp.partition) in todo])
        read = 0
        try:
            while todo and not self.stopping:
                messages = kafka.consume(num_messages=self.settings.indexer_batch_max, timeout=1.0)
                if messages:
                    self.process(messages)
                read += len(messages)
                for msg in messages:
                    if not msg.error() and msg.offset() + 1 >= ends[(msg.topic(), msg.partition())]:
                        todo.discard((msg.topic(), msg.partition()))
        finally:
            self.producer.flush(10)
            self.consumer.close()
        return read

    # ------------------------------------------------------------------ batches (cdc.consumer.BatchWorker)
    def handle(self, messages: list[Message]) -> None:
        """Plan a batch and hand its writes to the pool; at most MAX_IN_FLIGHT batches are pending,
        so the next batch is read and built while the previous one is written."""
        batch = plan(messages)
        self._record(batch)
        while len(self.in_flight) >= MAX_IN_FLIGHT:
            if not self._settle(block=True):
                return  # an earlier batch was abandoned (stopping): never commit past it
        self.in_flight.append((self.pool.submit(self._write, batch), messages, time.perf_counter()))

    def tick(self) -> None:
        self._settle(block=False)

    def busy(self) -> bool:
        return bool(self.in_flight)

    def drain(self) -> None:
        self._settle_all()

    def process(self, messages: list[Message]) -> bool:
        """Apply one batch and wait for it; True when its offsets were committed."""
        self.handle(messages)
        return self._settle_all()

    def _record(self, batch: BatchPlan) -> None:
        for topic, count in batch.consumed.items():
            metrics.CONSUMED.labels(topic).inc(count)
        for seconds in batch.commit_to_kafka_s:
            metrics.COMMIT_TO_KAFKA.observe(seconds)
        for error in batch.consumer_errors:
            log.warning("consumer error", extra={"fields": {"error": error}})
        for msg, error in batch.poison:
            self._dead_letter(msg, error)

    def _settle(self, block: bool) -> bool:
        """Commit finished batches in submission order; False once one could not be settled."""
        while self.in_flight and (block or self.in_flight[0][0].done()):
            future, messages, started = self.in_flight[0]
            # an ordinary write: wait with the partitions fetching (pausing purges librdkafka's
            # prefetched messages, and refetching them cost ~0.5 s per batch at 1,000 rows/s)
            wait([future], timeout=PAUSE_AFTER_S)
            if not future.done():  # OpenSearch slow or retrying: backpressure, stop fetching meanwhile
                kafka = self.consumer.kafka
                kafka.pause(kafka.assignment())
                metrics.PAUSED.set(1)
                wait([future])
                kafka.resume(kafka.assignment())
                metrics.PAUSED.set(0)
            self.in_flight.popleft()
            if future.exception() is not None:
                # unexpected: stop here, commit nothing more; a restart re-reads from the last commit
                self.in_flight.clear()
                raise RuntimeError("indexing a batch failed; its offsets were not committed") from future.exception()
            if not future.result():  # only when stopping: a batch still retrying was abandoned
                # later batches hold later offsets: committing them would skip this one's events
                self.in_flight.clear()
                return False
            self.producer.flush(30)  # dead letters are durable before their offsets move on
            self.consumer.commit(messages)
            log.debug("batch", extra={"fields": {"messages": len(messages),
                                                 "ms": round((time.perf_counter() - started) * 1000, 1)}})
            block = False
        return True

    def _settle_all(self) -> bool:
        ok = True
        while self.in_flight and ok:
            ok = self._settle(block=True)
        return ok

    def _write(self, batch: BatchPlan) -> bool:
        """Re-read and write one batch; False when abandoned because we are stopping."""
        started = time.perf_counter()
        try:
            docs, profiles = self._read(batch)
        except DBAPIError:
            if self.stopping:
                return False
            raise
        metrics.READ_SECONDS.observe(time.perf_counter() - started)
        for pid, doc in docs.items():
            if batch.commit_ms.get(pid):
                doc["source_commit_ms"] = batch.commit_ms[pid]
        started = time.perf_counter()
        refresh = "wait_for" if self.settings.indexer_refresh == "wait_for" else False
        # (alias, documents found, every id wanted there: those not found are deleted)
        targets = [t for t in ((self.alias, docs, batch.versions), (self.profiles_alias, profiles, batch.profiles))
                   if t[2]]
        outcomes = [
            bulk.apply(self.search, alias, found, {k: v for k, v in wanted.items() if k not in found}, wanted,
                       should_stop=self._stopping, refresh=refresh)
            for alias, found, wanted in targets
        ]
        if any(o.unsettled for o in outcomes):
            log.warning("stopping with an unsettled batch: not committed")
            return False
        metrics.BULK_SECONDS.observe(time.perf_counter() - started)
        self._count(outcomes)
        now_ms = time.time() * 1000
        for ts in batch.commit_ms.values():
            metrics.COMMIT_TO_INDEXED.observe(max(0.0, (now_ms - ts) / 1000))
            if refresh:  # the bulk returned after a refresh: searchable now
                metrics.COMMIT_TO_SEARCHABLE.observe(max(0.0, (now_ms - ts) / 1000))
        if self.settings.indexer_refresh == "after_write":
            self.refresher.offer([alias for alias, _, _ in targets], list(batch.commit_ms.values()))
        elif not refresh:
            self.tracker.offer(docs, batch.commit_ms)
        return True

    def _count(self, outcomes: list[bulk.BulkOutcome]) -> None:
        for outcome in outcomes:
            metrics.RETRIES.inc(outcome.attempts - 1)
            metrics.INDEXED.labels("index").inc(outcome.indexed)
            metrics.INDEXED.labels("delete").inc(outcome.deleted)
            metrics.STALE.inc(outcome.stale)
            for pid, error in outcome.failed.items():
                metrics.FAILED.inc()
                self._dead_letter_document(pid, error)

    def _read(self, batch: BatchPlan) -> tuple[dict, dict]:
        """The batch's documents as MariaDB has them once the batch's transactions are visible;
        MariaDB unreachable: retried (capped backoff) until it answers or we are stopping."""
        for attempt in retrying(lambda exc: isinstance(exc, DBAPIError) and not _locked(exc),
                                what="reading MariaDB", should_stop=self._stopping):
            with attempt:
                with self.engine.connect() as conn:
                    self._resolve_hosts(conn, batch)
                    self._wait_for_commits(conn, batch)
                    return (documents_for(self.settings, conn, batch.versions),
                            profile_documents_for(conn, batch.profiles))
        raise AssertionError("unreachable: retrying re-raises the last error")

    @staticmethod
    def _resolve_hosts(conn, batch: BatchPlan) -> None:
        """A host or profile change reaches every listing of that host, with the host event's version."""
        for pid, hid in properties_of_hosts(conn, batch.hosts).items():
            version, ts = batch.hosts[hid]
            batch.touch_listing(pid, version, ts)

    def _wait_for_commits(self, conn, batch: BatchPlan) -> None:
        """MariaDB writes a transaction to the binlog (which Debezium streams) before InnoDB makes it
        visible, so a plain read right after the event could return a row as it was and file it
        under the new event's version, where nothing would ever correct it. So the read waits
        behind a barrier of shared locks (documents.wait_for_commits), retried while a commit
        still holds a row. Past LOCKED_READ_S (a transaction left open, not a commit in progress)
        it reads anyway: the event's own commit is long visible by then."""
        try:
            for attempt in retrying(_locked, what="waiting for commits", first_s=0.002, cap_s=0.05,
                                    should_stop=self._stopping, give_up_after_s=LOCKED_READ_S,
                                    on_retry=metrics.LOCKED_READ_RETRIES.inc, quiet=True):
                with attempt:
                    wait_for_commits(conn, batch.versions, batch.profiles)
        except DBAPIError as exc:
            if not _locked(exc) or self.stopping:
                raise
            log.warning("rows still locked after %ss: reading without waiting", LOCKED_READ_S,
                        extra={"fields": {"listings": len(batch.versions), "users": len(batch.profiles)}})

    # ------------------------------------------------------------------ dead letters
    def _dead_letter(self, msg: Message, error: str) -> None:
        reason = error.split(":", 1)[0]
        metrics.DLQ.labels(msg.topic(), reason).inc()
        record = {"error": error, "topic": msg.topic(), "partition": msg.partition(), "offset": msg.offset(),
                  "key": _text(msg.key()), "value": _text(msg.value())}
        self.producer.produce(self.dlq, key=msg.key(), value=json.dumps(record).encode(),
                              headers={"error": error.encode()[:1000]})
        log.error("message sent to the dead-letter topic", extra={"fields": {k: record[k] for k in
                                                                             ("error", "topic", "partition", "offset")}})

    def _dead_letter_document(self, doc_id: str, error: str) -> None:
        metrics.DLQ.labels("documents", "document rejected").inc()
        record = {"error": f"document rejected by OpenSearch: {error}", "document_id": doc_id}
        self.producer.produce(self.dlq, key=str(doc_id).encode(), value=json.dumps(record).encode())
        log.error("document rejected", extra={"fields": record})


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", "replace")
