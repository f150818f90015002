"""Bulk writes with external versions: replays and out-of-order deliveries never win over newer data.

Every write carries `version_type=external_gte` with a version that only grows with the binlog
(or the backfill's starting position), so a 409 means "the index already has something at least as
new" and counts as done. 429 / 5xx / connection errors are retried with capped exponential
backoff until they succeed or the caller asks to stop; 4xx mapping errors are permanent.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import orjson
from opensearchpy import OpenSearch
from opensearchpy.exceptions import ConnectionError as OSConnectionError
from opensearchpy.exceptions import TransportError

from hellohome.retry import Unsettled, retrying

RETRYABLE = {429, 500, 502, 503, 504}


@dataclass
class BulkOutcome:
    indexed: int = 0
    deleted: int = 0
    stale: int = 0  # 409: the index already holds a version at least this new
    failed: dict[str, str] = field(default_factory=dict)  # id -> permanent error
    attempts: int = 0
    unsettled: int = 0  # items still retryable when the caller asked to stop


def position_version(file_seq: int, pos: int) -> int:
    """A binlog position as one growing integer (file sequence in the high bits)."""
    return (file_seq << 32) | pos


def _actions(index: str, docs: dict[int, dict], deletes: dict[int, int], versions: dict[int, int]) -> dict[str, tuple]:
    actions = {}
    for pid, doc in docs.items():
        actions[str(pid)] = ({"index": {"_index": index, "_id": str(pid), "version": versions[pid],
                                        "version_type": "external_gte"}}, doc)
    for pid, version in deletes.items():
        actions[str(pid)] = ({"delete": {"_index": index, "_id": str(pid), "version": version,
                                         "version_type": "external_gte"}}, None)
    return actions


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, (Unsettled, OSConnectionError)):  # ConnectionError's status is 'N/A'
        return True
    return isinstance(exc, TransportError) and (not isinstance(exc.status_code, int) or exc.status_code in RETRYABLE)


def _send(client: OpenSearch, pending: dict[str, tuple], outcome: BulkOutcome, refresh: bool | str) -> dict[str, tuple]:
    """One bulk request; returns the items worth sending again."""
    outcome.attempts += 1
    body = b"".join(orjson.dumps(part) + b"\n" for meta, doc in pending.values()
                    for part in ((meta,) if doc is None else (meta, doc)))  # NDJSON, serialised once
    retry = {}
    for item in client.bulk(body=body, refresh=refresh)["items"]:
        op, result = next(iter(item.items()))
        status, pid = result["status"], result["_id"]
        if status in (200, 201):
            outcome.indexed += op == "index"
            outcome.deleted += op == "delete"
        elif status == 409 or (op == "delete" and status == 404):
            outcome.stale += 1
        elif status in RETRYABLE:
            retry[pid] = pending[pid]
        else:
            outcome.failed[pid] = str(result.get("error"))[:500]
    return retry


def apply(client: OpenSearch, index: str, docs: dict[int, dict], deletes: dict[int, int], versions: dict[int, int],
          *, should_stop: Callable[[], bool] = lambda: False, refresh: bool | str = False) -> BulkOutcome:
    """Write `docs` (with `versions`) and delete `deletes` (id -> version) until every item is settled,
    or until `should_stop()`: what is left then is counted in `unsettled`."""
    outcome, pending = BulkOutcome(), _actions(index, docs, deletes, versions)
    try:
        for attempt in retrying(_retryable, what="bulk", should_stop=should_stop):
            with attempt:
                pending = _send(client, pending, outcome, refresh)
                if pending:
                    raise Unsettled(f"{len(pending)} items refused for now (429/5xx)")
    except Exception as exc:
        if not (_retryable(exc) and should_stop()):
            raise  # a permanent error (mapping, auth): never retried
        outcome.unsettled = len(pending)
    return outcome
