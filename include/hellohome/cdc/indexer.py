"""The CDC indexer: Debezium change events → property documents in OpenSearch, at least once,
with the effect of exactly once.

One poll loop. A batch of events is reduced to the set of property ids it touches (a host rename
touches all their listings, an image change its listing); those properties are re-read from
MariaDB and written with `version_type=external_gte` and the binlog position of the newest event
as version, so replays and out-of-order deliveries across partitions can never leave an older
document in place. A property that no longer exists (or is soft-deleted) is deleted, which also
covers children removed by ON DELETE CASCADE (absent from MariaDB's binlog). Offsets are
committed only after every item of the batch is settled in OpenSearch; unparseable messages go
to the dead-letter topic with the error, the payload and their offset.
"""
from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait

from confluent_kafka import Consumer, KafkaException, Message, Producer, TopicPartition
from opensearchpy.exceptions import ConnectionError as OSConnectionError
from opensearchpy.exceptions import TransportError
from sqlalchemy.exc import DBAPIError

from hellohome.cdc import envelope, metrics
from hellohome.cdc.envelope import ChangeEvent, EnvelopeError
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
from hellohome.search import bulk, indexes

log = logging.getLogger(__name__)


MAX_IN_FLIGHT = 2  # the next batch is read and built while the previous one is written
PAUSE_AFTER_S = 2.0  # a write still pending after this is backpressure: pause the partitions
LOCKED_READ_S = 5.0  # how long a re-read waits for commits in progress (see Indexer._read)


def dlq_topic(database: str) -> str:
    return f"{topic_prefix(database)}.dlq"


class Indexer:
    def __init__(self, settings: Settings, database: str | None = None, group_id: str | None = None):
        self.settings = settings
        self.database = database or settings.db_name
        self.topics = change_topics(self.database)
        self.dlq = dlq_topic(self.database)
        self.alias = indexes.write_alias("properties", settings.index_prefix)
        self.profiles_alias = indexes.write_alias("user_profiles", settings.index_prefix)
        self.search = indexes.client(settings)
        self.engine = get_engine("readonly", self.database)
        self.stopping = False
        self.pool = ThreadPoolExecutor(max_workers=MAX_IN_FLIGHT, thread_name_prefix="bulk")
        self.in_flight: deque[tuple[Future, list[Message], float]] = deque()
        self.visibility: queue.Queue = queue.Queue(maxsize=1000)
        self.consumer = Consumer({
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": group_id or settings.indexer_group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            # a long OpenSearch outage keeps one batch in hand; the group must not give up on us first
            "max.poll.interval.ms": 900_000,
            "statistics.interval.ms": 5000,
            "stats_cb": metrics.record_stats,
            "log_level": 3,
        })
        self.producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "enable.idempotence": True})

    def stop(self, *_args) -> None:
        """SIGTERM/SIGINT: finish (or abandon, uncommitted) the batch in hand, then leave."""
        self.stopping = True

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
            threading.Thread(target=self._refresh_after_writes, name="refresher", daemon=True).start()
        elif self.settings.indexer_refresh == "false":
            threading.Thread(target=self._track_visibility, name="visibility", daemon=True).start()
        self.consumer.subscribe(self.topics)
        log.info("indexer started", extra={"fields": {"topics": self.topics, "alias": self.alias}})
        idle_since = time.monotonic()
        try:
            while not self.stopping:
                messages = self.consumer.consume(num_messages=self.settings.indexer_batch_max, timeout=0.05)
                if messages:
                    self.submit(messages)
                    idle_since = time.monotonic()
                elif not self.in_flight and idle_exit_s is not None and time.monotonic() - idle_since > idle_exit_s:
                    break
                self._settle(block=False)
        finally:
            self._settle_all()  # batches still retrying give up when stopping: left uncommitted
            self.pool.shutdown(wait=True)
            self.producer.flush(10)
            self.consumer.close()
            log.info("indexer stopped")

    def catch_up(self, since_ms: int) -> int:
        """Re-apply every change event committed since `since_ms` up to the current end of each
        partition (used after an alias swap); returns how many messages were read."""
        known = self.consumer.list_topics(timeout=10).topics
        partitions = [TopicPartition(t, p, since_ms) for t in self.topics if t in known for p in known[t].partitions]
        starts = self.consumer.offsets_for_times(partitions, timeout=30)
        ends = {(tp.topic, tp.partition): self.consumer.get_watermark_offsets(tp, timeout=10)[1] for tp in partitions}
        todo = {(tp.topic, tp.partition) for tp in starts if 0 <= tp.offset < ends[(tp.topic, tp.partition)]}
        self.consumer.assign([tp for tp in starts if (tp.topic, tp.partition) in todo])
        read = 0
        try:
            while todo and not self.stopping:
                messages = self.consumer.consume(num_messages=self.settings.indexer_batch_max, timeout=1.0)
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

    # ------------------------------------------------------------------ batches
    def process(self, messages: list[Message]) -> bool:
        """Apply one batch and wait for it; True when its offsets were committed."""
        self.submit(messages)
        return self._settle_all()

    def submit(self, messages: list[Message]) -> None:
        """Plan a batch and hand its writes to the worker; at most MAX_IN_FLIGHT batches are
        pending, so the next batch is read and built while the previous one is written."""
        plan = self._plan(messages)
        while len(self.in_flight) >= MAX_IN_FLIGHT:
            if not self._settle(block=True):
                return  # an earlier batch was abandoned (stopping): never commit past it
        self.in_flight.append((self.pool.submit(self._write, *plan), messages, time.perf_counter()))

    def _settle(self, block: bool) -> bool:
        """Commit finished batches in submission order; False once one could not be settled."""
        while self.in_flight and (block or self.in_flight[0][0].done()):
            future, messages, started = self.in_flight[0]
            # an ordinary write: wait with the partitions fetching (pausing purges librdkafka's
            # prefetched messages, and refetching them cost ~0.5 s per batch at 1,000 rows/s)
            wait([future], timeout=PAUSE_AFTER_S)
            if not future.done():  # OpenSearch slow or retrying: backpressure, stop fetching meanwhile
                self.consumer.pause(self.consumer.assignment())
                metrics.PAUSED.set(1)
                wait([future])
                self.consumer.resume(self.consumer.assignment())
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
            self._commit(messages)
            log.debug("batch", extra={"fields": {"messages": len(messages),
                                                 "ms": round((time.perf_counter() - started) * 1000, 1)}})
            block = False
        return True

    def _settle_all(self) -> bool:
        ok = True
        while self.in_flight and ok:
            ok = self._settle(block=True)
        return ok

    def _plan(self, messages: list[Message]) -> tuple:
        """The documents a batch touches: (property versions, commit times, changed hosts, profiles)."""
        versions: dict[int, int] = {}  # property id -> external version
        commit_ms: dict[int, int] = {}  # property id -> newest commit time behind it
        hosts: dict[int, tuple[int, int]] = {}  # changed host -> (version, commit time): all their listings
        profiles: dict[int, int] = {}  # user id -> external version of their user_profiles document
        for msg in messages:
            if msg.error():
                log.warning("consumer error", extra={"fields": {"error": str(msg.error())}})
                continue
            metrics.CONSUMED.labels(msg.topic()).inc()
            try:
                event = envelope.parse(msg.topic().rsplit(".", 1)[-1], msg.key(), msg.value())
                touched, host_ids = _touched(event)
            except EnvelopeError as exc:
                self._dead_letter(msg, str(exc))
                continue
            if event is None or event.op == "t":
                continue
            version = bulk.position_version(*event.position)
            for uid in host_ids:
                profiles[uid] = max(profiles.get(uid, 0), version)
            if event.op == "r" and event.table != "properties":
                # a snapshot read of a child row changes nothing: every listing gets its own snapshot
                # read, and its document is re-read from MariaDB with the children as they are
                continue
            committed_ms = _commit_ms(event)
            if event.op != "r":
                metrics.COMMIT_TO_KAFKA.observe(max(0.0, (msg.timestamp()[1] - committed_ms) / 1000))
            for pid in touched:
                versions[pid] = max(versions.get(pid, 0), version)
                if event.op != "r":
                    commit_ms[pid] = max(commit_ms.get(pid, 0), committed_ms)
            for hid in host_ids:
                old = hosts.get(hid, (0, 0))
                hosts[hid] = (max(old[0], version), max(old[1], event.source_ts_ms))
        return versions, commit_ms, hosts, profiles

    def _write(self, versions: dict[int, int], commit_ms: dict[int, int], hosts: dict[int, tuple[int, int]],
               profile_versions: dict[int, int]) -> bool:
        started = time.perf_counter()
        read = self._with_retry(lambda: self._read(versions, commit_ms, hosts, profile_versions))
        if read is None:
            return False
        metrics.READ_SECONDS.observe(time.perf_counter() - started)
        docs, profiles = read
        for pid, doc in docs.items():
            if commit_ms.get(pid):
                doc["source_commit_ms"] = commit_ms[pid]
        started = time.perf_counter()
        refresh = "wait_for" if self.settings.indexer_refresh == "wait_for" else False
        # (alias, documents found, every id wanted there: those not found are deleted)
        targets = [t for t in ((self.alias, docs, versions), (self.profiles_alias, profiles, profile_versions)) if t[2]]
        outcomes = [
            bulk.apply(self.search, alias, found, {k: v for k, v in wanted.items() if k not in found}, wanted,
                       should_stop=lambda: self.stopping, on_wait=self._backoff, refresh=refresh)
            for alias, found, wanted in targets
        ]
        if any(o.unsettled for o in outcomes):
            log.warning("stopping with an unsettled batch: not committed")
            return False
        metrics.BULK_SECONDS.observe(time.perf_counter() - started)
        for outcome in outcomes:
            metrics.RETRIES.inc(outcome.attempts - 1)
            metrics.INDEXED.labels("index").inc(outcome.indexed)
            metrics.INDEXED.labels("delete").inc(outcome.deleted)
            metrics.STALE.inc(outcome.stale)
            for pid, error in outcome.failed.items():
                metrics.FAILED.inc()
                self._dead_letter_document(pid, error)
        now_ms = time.time() * 1000
        for ts in commit_ms.values():
            metrics.COMMIT_TO_INDEXED.observe(max(0.0, (now_ms - ts) / 1000))
            if refresh:  # the bulk returned after a refresh: searchable now
                metrics.COMMIT_TO_SEARCHABLE.observe(max(0.0, (now_ms - ts) / 1000))
        try:  # never blocks the write path: a full queue only skips a sample (any later refresh covers it)
            if self.settings.indexer_refresh == "after_write":
                if targets:  # deletions too
                    self.visibility.put_nowait(([alias for alias, _, _ in targets], list(commit_ms.values())))
            elif not refresh and commit_ms and docs:
                newest = max((pid for pid in commit_ms if pid in docs), key=commit_ms.get, default=None)
                if newest is not None:
                    self.visibility.put_nowait((newest, commit_ms[newest], list(commit_ms.values())))
        except queue.Full:
            pass
        return True

    def _refresh_after_writes(self) -> None:
        """Make acknowledged batches searchable soon after they are written rather than at the
        index's next scheduled refresh (which OpenSearch schedules after the previous one ended and
        runs shard by shard, so under load documents waited up to twice the interval plus the
        refreshes). A refresh makes visible every write acknowledged before it began, so it also
        gives each batch's exact commit → searchable time. At most one per
        indexer_refresh_every_ms; nothing written, no refresh."""
        every = self.settings.indexer_refresh_every_ms / 1000
        pending: list[tuple[list[str], list[int]]] = []
        started, backoff = 0.0, 0.2
        while not self.stopping:
            try:
                pending.append(self.visibility.get(timeout=0.2))
            except queue.Empty:
                if not pending:
                    continue
            time.sleep(max(0.0, started + every - time.monotonic()))
            while True:  # everything acknowledged until now is covered by this refresh
                try:
                    pending.append(self.visibility.get_nowait())
                except queue.Empty:
                    break
            started = time.monotonic()
            try:
                self.search.indices.refresh(index=",".join(sorted({a for aliases, _ in pending for a in aliases})))
            except (OSConnectionError, TransportError) as exc:  # retried; the scheduled refresh is the safety net
                log.warning("refresh after write failed", extra={"fields": {"error": str(exc)[:200]}})
                self._backoff(backoff)
                backoff = min(bulk.MAX_BACKOFF_S, backoff * 2)
                continue
            backoff = 0.2
            metrics.REFRESH_SECONDS.observe(time.monotonic() - started)
            now_ms = time.time() * 1000
            for _, commits in pending:
                for ts in commits:
                    metrics.COMMIT_TO_SEARCHABLE.observe(max(0.0, (now_ms - ts) / 1000))
            pending = []

    def _track_visibility(self) -> None:
        """commit → searchable without waiting for refreshes in the write path: for each acknowledged
        batch, search for its newest document until a refresh made it visible (a search, not a
        realtime GET), and record that moment for every commit in the batch. All pending batches
        are checked together (one msearch per poll), so the tracker never queues behind refreshes."""
        alias = indexes.read_alias("properties", self.settings.index_prefix)
        pending: list[tuple[int, int, list[int], float]] = []  # (id, newest commit ms, commits, give-up time)
        while not self.stopping:
            try:
                while len(pending) < 200:
                    pid, newest_ms, commits = self.visibility.get(timeout=0.2 if not pending else 0)
                    pending.append((pid, newest_ms, commits, time.monotonic() + 60))
            except queue.Empty:
                pass
            if not pending:
                continue
            body = []
            for pid, newest_ms, _, _ in pending:
                body += [{"index": alias}, {"size": 0, "query": {"bool": {"filter": [
                    {"ids": {"values": [str(pid)]}}, {"range": {"source_commit_ms": {"gte": newest_ms}}}]}}}]
            try:
                found = [r.get("hits", {}).get("total", {}).get("value", 0) for r in
                         self.search.msearch(body=body)["responses"]]
            except (OSConnectionError, TransportError):
                found = [0] * len(pending)
            now_ms, now = time.time() * 1000, time.monotonic()
            for (_, _, commits, _), hit in zip(pending, found, strict=True):
                for ts in commits if hit else ():
                    metrics.COMMIT_TO_SEARCHABLE.observe(max(0.0, (now_ms - ts) / 1000))
            pending = [p for p, hit in zip(pending, found, strict=True) if not hit and p[3] > now]
            time.sleep(0.02)

    def _read(self, versions: dict[int, int], commit_ms: dict[int, int], hosts: dict[int, tuple[int, int]],
              profile_versions: dict[int, int]) -> tuple[dict, dict]:
        """The batch's documents as MariaDB has them once the batch's transactions are visible.

        MariaDB writes a transaction to the binlog (which Debezium streams) before InnoDB makes it
        visible, so a plain read right after the event could return a row as it was and file it
        under the new event's version, where nothing would ever correct it. So the read waits
        behind a barrier of shared locks (documents.wait_for_commits), retried while a commit
        still holds a row. Past LOCKED_READ_S (a transaction left open, not a commit in progress)
        it reads anyway: the event's own commit is long visible by then."""
        with self.engine.connect() as conn:
            # a host or profile change reaches every listing of that host, with the host event's version
            for pid, hid in properties_of_hosts(conn, hosts).items():
                version, ts = hosts[hid]
                versions[pid] = max(versions.get(pid, 0), version)
                if ts:
                    commit_ms[pid] = max(commit_ms.get(pid, 0), ts)
            deadline, pause = time.monotonic() + LOCKED_READ_S, 0.002
            while time.monotonic() < deadline:
                try:
                    wait_for_commits(conn, versions, profile_versions)
                    break
                except DBAPIError as exc:
                    if self.stopping or exc.orig is None or exc.orig.args[:1] != (LOCK_CONFLICT,):
                        raise  # _with_retry: MariaDB down, or we are stopping
                    metrics.LOCKED_READ_RETRIES.inc()
                    self._backoff(pause)
                    pause = min(0.05, pause * 2)
            else:
                log.warning("rows still locked after %ss: reading without waiting", LOCKED_READ_S,
                            extra={"fields": {"listings": len(versions), "users": len(profile_versions)}})
            return documents_for(conn, versions), profile_documents_for(conn, profile_versions)

    def _with_retry(self, read):
        """MariaDB unreachable: back off (capped) until it answers or we are asked to stop."""
        backoff = 0.2
        while True:
            try:
                return read()
            except DBAPIError as exc:
                log.warning("reading MariaDB failed, retrying", extra={"fields": {"error": str(exc.orig)[:200]}})
                if self.stopping:
                    return None
                self._backoff(backoff)
                backoff = min(bulk.MAX_BACKOFF_S, backoff * 2)

    def _backoff(self, seconds: float) -> None:
        """Wait before a retry (in the worker; the main loop pauses fetching), staying stoppable."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self.stopping:
            time.sleep(0.05)

    def _commit(self, messages: list[Message]) -> bool:
        ends: dict[tuple[str, int], int] = {}
        for msg in messages:
            if not msg.error():
                key = (msg.topic(), msg.partition())
                ends[key] = max(ends.get(key, -1), msg.offset() + 1)
        self.producer.flush(30)  # dead letters are durable before their offsets move on
        try:
            self.consumer.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in ends.items()], asynchronous=False)
        except KafkaException as exc:  # e.g. rebalanced away: the new owner re-applies, idempotently
            log.warning("offset commit failed", extra={"fields": {"error": str(exc)}})
            return False
        return True

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


def _commit_ms(event: ChangeEvent) -> int:
    """Commit time: the binlog's is whole seconds; a listing's own updated_at (ms, UTC) is finer."""
    updated = (event.after or {}).get("updated_at") if event.table == "properties" else None
    if isinstance(updated, int) and abs(updated - event.source_ts_ms) < 1000:
        return updated
    return event.source_ts_ms


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", "replace")


def _touched(event: ChangeEvent | None) -> tuple[set[int], set[int]]:
    """(property ids, host ids) whose documents this event changes; raises EnvelopeError on a bad row."""
    if event is None or event.op == "t":
        return set(), set()
    rows = [r for r in (event.before, event.after) if r]

    def ints(column: str) -> set[int]:
        values = {r.get(column) for r in rows}
        if not values or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            raise EnvelopeError(f"{event.table}.{column}: expected an integer, got {sorted(map(repr, values))}")
        return values

    if event.table == "properties":
        return ints("id"), set()
    if event.table == "property_images":
        return ints("property_id"), set()
    if event.table == "users":
        return set(), ints("id")
    if event.table == "user_profiles":
        return set(), ints("user_id")
    return set(), set()  # inquiries: not searched, but consumed and committed
