"""Debezium change events (JSON converter, schemas disabled) → ChangeEvent.

Works on the standard envelope whatever produced it: {"before", "after", "source", "op", "ts_ms"},
op in c/u/d/r (r = snapshot read), and the tombstone (a null value) that follows a delete.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

OPS = {"c": "create", "u": "update", "d": "delete", "r": "read"}


class EnvelopeError(ValueError):
    """The message is not a Debezium change event this consumer can apply (goes to the DLQ)."""


@dataclass(frozen=True)
class ChangeEvent:
    table: str
    op: str  # c, u, d, r; "t" for a tombstone
    key: dict[str, Any]
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    source_ts_ms: int  # commit time in the database
    ts_ms: int  # when Debezium processed it
    binlog_file: str
    binlog_pos: int
    gtid: str | None

    @property
    def row(self) -> dict[str, Any]:
        """The row as it is now (after), or as it was (before) for a delete."""
        return self.after if self.after is not None else (self.before or {})

    @property
    def position(self) -> tuple[int, int]:
        """Monotonic binlog position: (file sequence number, offset)."""
        return binlog_sequence(self.binlog_file), self.binlog_pos


def binlog_sequence(file: str) -> int:
    """'mariadb-bin.000012' -> 12."""
    try:
        return int(file.rsplit(".", 1)[1])
    except (IndexError, ValueError):
        raise EnvelopeError(f"source.file: not a binlog file name: {file!r}") from None


def parse(table: str, key: bytes | None, value: bytes | None) -> ChangeEvent | None:
    """A ChangeEvent, or None for a heartbeat-like message without a key; raises EnvelopeError."""
    try:
        key_doc = orjson.loads(key) if key else None
    except orjson.JSONDecodeError as exc:
        raise EnvelopeError(f"key: not JSON: {exc}") from None
    if value is None:  # tombstone: compaction marker after a delete
        if not isinstance(key_doc, dict):
            raise EnvelopeError("tombstone without a key")
        return ChangeEvent(table, "t", key_doc, None, None, 0, 0, "", 0, None)
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise EnvelopeError(f"value: not JSON: {exc}") from None
    if isinstance(doc, dict) and "payload" in doc and "schema" in doc:  # converter with schemas enabled
        doc = doc["payload"]
    if not isinstance(doc, dict):
        raise EnvelopeError("value: not a JSON object")
    op = doc.get("op")
    if op not in OPS:
        raise EnvelopeError(f"op: expected one of {sorted(OPS)}, got {op!r}")
    before, after, source = doc.get("before"), doc.get("after"), doc.get("source")
    if not isinstance(source, dict):
        raise EnvelopeError("source: missing")
    if op in ("c", "r", "u") and not isinstance(after, dict):
        raise EnvelopeError(f"after: missing for op {op!r}")
    if op == "d" and not isinstance(before, dict):
        raise EnvelopeError("before: missing for a delete")
    try:
        return ChangeEvent(
            table=table, op=op, key=key_doc if isinstance(key_doc, dict) else {}, before=before, after=after,
            source_ts_ms=int(source.get("ts_ms") or 0), ts_ms=int(doc.get("ts_ms") or 0),
            binlog_file=str(source.get("file") or ""), binlog_pos=int(source.get("pos") or 0),
            gtid=source.get("gtid"),
        )
    except (TypeError, ValueError) as exc:
        raise EnvelopeError(f"source: bad position or timestamp: {exc}") from None
