"""Consuming change topics, the way both consumers (indexer, enricher) do it: one poll loop,
manual commits of exactly the messages handled, at least once, and rebalances survived.

A consumer frozen past the group's session timeout (a stopped process, a long GC, a laptop lid)
loses its partitions; librdkafka then reports the assignment lost and a commit fails with
_ASSIGNMENT_LOST. That is not a crash: the work is redone by whoever owns the partitions now
(every write downstream is idempotent), nothing is committed for it, and the consumer rejoins
the group on its next poll.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from prometheus_client import Counter

from hellohome.config import Settings

log = logging.getLogger(__name__)
REBALANCES = Counter("hellohome_consumer_rebalances_total", "Partition assignment changes, by group and event",
                     ["group", "event"])
COMMIT_FAILURES = Counter("hellohome_consumer_commit_failures_total",
                          "Offset commits refused (the work is redone by the partitions' new owner)", ["group", "reason"])


class BatchWorker(Protocol):
    def handle(self, messages: list[Message]) -> None: ...  # take a batch (may finish it later)
    def tick(self) -> None: ...  # between polls: settle what has finished
    def busy(self) -> bool: ...  # work still in hand (no idle exit while true)
    def drain(self) -> None: ...  # finish or abandon (uncommitted) everything in hand


class ChangeConsumer:
    def __init__(self, settings: Settings, group_id: str, topics: list[str], *, offset_reset: str = "earliest",
                 stats_cb: Callable[[str], None] | None = None):
        self.group_id, self.topics = group_id, topics
        config = {
            "bootstrap.servers": settings.kafka_bootstrap, "group.id": group_id,
            "enable.auto.commit": False, "auto.offset.reset": offset_reset,
            # a long OpenSearch outage keeps one batch in hand; the group must not give up on us first
            "max.poll.interval.ms": 900_000, "session.timeout.ms": settings.kafka_session_timeout_ms,
            "log_level": 3,
        }
        if stats_cb is not None:
            config.update({"statistics.interval.ms": 5000, "stats_cb": stats_cb})
        self.kafka = Consumer(config)

    def subscribe(self, before_revoke: Callable[[], None]) -> None:
        """before_revoke: settle work in hand while its offsets can still be committed."""
        def on_assign(_consumer, partitions: list[TopicPartition]) -> None:
            REBALANCES.labels(self.group_id, "assign").inc()
            log.info("partitions assigned", extra={"fields": {"group": self.group_id, "partitions": len(partitions)}})

        def on_revoke(_consumer, partitions: list[TopicPartition]) -> None:
            REBALANCES.labels(self.group_id, "revoke").inc()
            log.info("partitions revoked", extra={"fields": {"group": self.group_id, "partitions": len(partitions)}})
            before_revoke()

        def on_lost(_consumer, partitions: list[TopicPartition]) -> None:
            REBALANCES.labels(self.group_id, "lost").inc()
            log.warning("partitions lost (session timed out): their work is redone by the new owner",
                        extra={"fields": {"group": self.group_id, "partitions": len(partitions)}})

        self.kafka.subscribe(self.topics, on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)

    def commit(self, messages: list[Message]) -> bool:
        """Commit past exactly these messages; False (logged, counted) when the group refuses."""
        ends: dict[tuple[str, int], int] = {}
        for msg in messages:
            if not msg.error():
                key = (msg.topic(), msg.partition())
                ends[key] = max(ends.get(key, -1), msg.offset() + 1)
        if not ends:
            return True
        try:
            self.kafka.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in ends.items()], asynchronous=False)
        except KafkaException as exc:
            error = exc.args[0] if exc.args and isinstance(exc.args[0], KafkaError) else None
            reason = error.name() if error is not None else type(exc).__name__
            COMMIT_FAILURES.labels(self.group_id, reason).inc()
            log.warning("offset commit refused; carrying on", extra={"fields": {"group": self.group_id,
                                                                               "error": str(exc)[:200]}})
            return False
        return True

    def close(self) -> None:
        self.kafka.close()


def poll_loop(consumer: ChangeConsumer, worker: BatchWorker, *, batch_max: int, poll_s: float,
              should_stop: Callable[[], bool], idle_exit_s: float | None = None) -> None:
    """Subscribe, hand each batch to the worker until asked to stop (or idle for idle_exit_s), then
    drain the worker and leave the group."""
    consumer.subscribe(before_revoke=worker.drain)
    idle_since = time.monotonic()
    try:
        while not should_stop():
            messages = consumer.kafka.consume(num_messages=batch_max, timeout=poll_s)
            if messages:
                worker.handle(messages)
                idle_since = time.monotonic()
            elif not worker.busy() and idle_exit_s is not None and time.monotonic() - idle_since > idle_exit_s:
                break
            worker.tick()
    finally:
        try:
            worker.drain()
        finally:
            consumer.close()


def start_at_end(settings: Settings, group_id: str, topics: list[str]) -> None:
    """Commit the current end of every partition of `topics` for `group_id`, so that a consumer of
    this group starts exactly with what is written next. A new group's "latest" is only resolved
    after it has joined: a write made in between would be skipped (seen in a test)."""
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": group_id,
                         "enable.auto.commit": False, "log_level": 3})
    try:
        metadata = consumer.list_topics(timeout=10)
        ends = [TopicPartition(topic, p, consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1])
                for topic in topics for p in metadata.topics[topic].partitions]
        consumer.commit(offsets=ends, asynchronous=False)
    finally:
        consumer.close()
