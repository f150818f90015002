"""A batch of change events → what the indexer must re-read and write: a pure function of the
messages (no I/O, no metrics), so every rule here is unit-tested on its own.

A batch is reduced to the documents it touches: a listing event its listing, an image event its
listing, a host or profile event every listing of that host (resolved when re-reading) and the
host's user_profiles document. Each document gets the binlog position of its newest event as its
external version, so replays and out-of-order deliveries never win over newer data.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

from hellohome.cdc import envelope
from hellohome.cdc.envelope import ChangeEvent, EnvelopeError
from hellohome.search.bulk import position_version


class Message(Protocol):
    """What plan() reads of a confluent_kafka.Message."""

    def error(self): ...
    def topic(self) -> str: ...
    def key(self) -> bytes | None: ...
    def value(self) -> bytes | None: ...
    def timestamp(self) -> tuple[int, int]: ...


@dataclass
class BatchPlan:
    versions: dict[int, int] = field(default_factory=dict)  # property id -> external version
    commit_ms: dict[int, int] = field(default_factory=dict)  # property id -> newest commit time behind it
    hosts: dict[int, tuple[int, int]] = field(default_factory=dict)  # host id -> (version, commit ms)
    profiles: dict[int, int] = field(default_factory=dict)  # user id -> version of their profile document
    poison: list[tuple[Message, str]] = field(default_factory=list)  # (message, why): for the dead-letter topic
    consumed: Counter = field(default_factory=Counter)  # messages read per topic
    consumer_errors: list[str] = field(default_factory=list)  # errors the consumer handed us as messages
    commit_to_kafka_s: list[float] = field(default_factory=list)  # per change: commit -> Kafka timestamp

    def touch_listing(self, pid: int, version: int, committed_ms: int | None) -> None:
        self.versions[pid] = max(self.versions.get(pid, 0), version)
        if committed_ms:
            self.commit_ms[pid] = max(self.commit_ms.get(pid, 0), committed_ms)

    @property
    def empty(self) -> bool:
        return not (self.versions or self.hosts or self.profiles)


def plan(messages: list[Message]) -> BatchPlan:
    batch = BatchPlan()
    for msg in messages:
        if msg.error():
            batch.consumer_errors.append(str(msg.error()))
            continue
        batch.consumed[msg.topic()] += 1
        try:
            event = envelope.parse(msg.topic().rsplit(".", 1)[-1], msg.key(), msg.value())
            listings, hosts = touched(event)
            if event is None or event.op == "t":
                continue
            version = position_version(*event.position)  # a bad source.file is poison too
        except EnvelopeError as exc:
            batch.poison.append((msg, str(exc)))
            continue
        for uid in hosts:
            batch.profiles[uid] = max(batch.profiles.get(uid, 0), version)
        if event.op == "r" and event.table != "properties":
            # a snapshot read of a child row changes nothing: every listing gets its own snapshot
            # read, and its document is re-read from MariaDB with the children as they are
            continue
        committed_ms = commit_ms(event)
        if event.op != "r":
            batch.commit_to_kafka_s.append(max(0.0, (msg.timestamp()[1] - committed_ms) / 1000))
        for pid in listings:
            batch.touch_listing(pid, version, committed_ms if event.op != "r" else None)
        for hid in hosts:
            old = batch.hosts.get(hid, (0, 0))
            batch.hosts[hid] = (max(old[0], version), max(old[1], event.source_ts_ms))
    return batch


def commit_ms(event: ChangeEvent) -> int:
    """Commit time: the binlog's is whole seconds; a listing's own updated_at (ms, UTC) is finer."""
    updated = (event.after or {}).get("updated_at") if event.table == "properties" else None
    if isinstance(updated, int) and abs(updated - event.source_ts_ms) < 1000:
        return updated
    return event.source_ts_ms


def touched(event: ChangeEvent | None) -> tuple[set[int], set[int]]:
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
