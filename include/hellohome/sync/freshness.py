"""When written documents become searchable, and the commit → searchable time of each change.

Two ways, one per HH_INDEXER_REFRESH mode, each a thread fed by the indexer after a batch is
acknowledged (never blocking the write path: a full queue skips a sample, and any later refresh
covers it):
- `Refresher` ("after_write"): refreshes the indexes a batch wrote, at most once per interval. A
  refresh makes visible every write acknowledged before it began, so it also times each change
  exactly. OpenSearch schedules its own refresh an interval after the previous one *ended* and ran
  a 2-shard index's shards one after the other, so under load documents waited up to twice the
  interval plus the refreshes.
- `VisibilityTracker` ("false"): the index's scheduled refresh decides; the tracker searches for
  each batch's newest document until it is visible (all pending batches in one msearch per poll).
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from opensearchpy import OpenSearch
from opensearchpy.exceptions import TransportError

from hellohome.retry import retrying
from hellohome.sync import metrics

log = logging.getLogger(__name__)


def _observe_searchable(commits: list[int]) -> None:
    now_ms = time.time() * 1000
    for ts in commits:
        metrics.COMMIT_TO_SEARCHABLE.observe(max(0.0, (now_ms - ts) / 1000))


@dataclass(frozen=True)
class Written:
    aliases: list[str]  # what the batch wrote to (deletions too)
    commits: list[int]  # commit times (ms) of the changes behind it


@dataclass(frozen=True)
class Probe:
    doc_id: int  # the batch's newest document
    newest_ms: int  # its commit time: visible once the index holds this version or newer
    commits: list[int]
    give_up_at: float  # monotonic


class _Follower:
    """A daemon thread working through what the write path hands it, never blocking that path."""

    name = "follower"

    def __init__(self, should_stop: Callable[[], bool]):
        self.should_stop = should_stop
        self.queue: queue.Queue = queue.Queue(maxsize=1000)

    def _put(self, item) -> None:
        try:
            self.queue.put_nowait(item)
        except queue.Full:  # skips a sample: any later refresh covers it
            pass

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.run, name=self.name, daemon=True)
        thread.start()
        return thread

    def run(self) -> None:
        raise NotImplementedError


class Refresher(_Follower):
    name = "refresher"

    def __init__(self, client: OpenSearch, every_s: float, should_stop: Callable[[], bool]):
        super().__init__(should_stop)
        self.client, self.every_s = client, every_s

    def offer(self, aliases: list[str], commits: list[int]) -> None:
        if aliases:
            self._put(Written(aliases, commits))

    def run(self) -> None:
        started = 0.0
        while not self.should_stop():
            try:
                pending = [self.queue.get(timeout=0.2)]
            except queue.Empty:
                continue
            time.sleep(max(0.0, started + self.every_s - time.monotonic()))
            pending += _drain(self.queue)  # everything acknowledged until now is covered by this refresh
            started = time.monotonic()
            try:
                self._refresh(sorted({a for w in pending for a in w.aliases}))
            except TransportError:
                return  # only when stopping: the index's scheduled refresh is the safety net
            metrics.REFRESH_SECONDS.observe(time.monotonic() - started)
            _observe_searchable([ts for w in pending for ts in w.commits])

    def _refresh(self, aliases: list[str]) -> None:
        for attempt in retrying(lambda exc: isinstance(exc, TransportError), what="refresh after write",
                                should_stop=self.should_stop):
            with attempt:
                self.client.indices.refresh(index=",".join(aliases))


class VisibilityTracker(_Follower):
    name = "visibility"

    def __init__(self, client: OpenSearch, alias: str, should_stop: Callable[[], bool]):
        super().__init__(should_stop)
        self.client, self.alias = client, alias

    def offer(self, docs: dict[int, dict], commit_ms: dict[int, int]) -> None:
        newest = max((pid for pid in commit_ms if pid in docs), key=commit_ms.get, default=None)
        if newest is not None:
            self._put(Probe(newest, commit_ms[newest], list(commit_ms.values()), time.monotonic() + 60))

    def run(self) -> None:
        pending: list[Probe] = []
        while not self.should_stop():
            try:
                if not pending:
                    pending.append(self.queue.get(timeout=0.2))
                pending += _drain(self.queue, limit=200 - len(pending))
            except queue.Empty:
                continue
            found = self._visible(pending)
            for probe, hit in zip(pending, found, strict=True):
                if hit:
                    _observe_searchable(probe.commits)
            now = time.monotonic()
            pending = [p for p, hit in zip(pending, found, strict=True) if not hit and p.give_up_at > now]
            time.sleep(0.02)

    def _visible(self, probes: list[Probe]) -> list[bool]:
        """A search, not a realtime GET: true once a refresh made the probe's version visible."""
        body = []
        for probe in probes:
            body += [{"index": self.alias}, {"size": 0, "query": {"bool": {"filter": [
                {"ids": {"values": [str(probe.doc_id)]}}, {"range": {"source_commit_ms": {"gte": probe.newest_ms}}}]}}}]
        try:
            responses = self.client.msearch(body=body)["responses"]
        except TransportError:
            return [False] * len(probes)
        return [bool(r.get("hits", {}).get("total", {}).get("value", 0)) for r in responses]


def _drain(q: queue.Queue, limit: int = 10_000) -> list:
    items = []
    while len(items) < limit:
        try:
            items.append(q.get_nowait())
        except queue.Empty:
            break
    return items
