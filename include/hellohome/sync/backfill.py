"""Rebuilding the properties index from MariaDB with zero downtime, in steps that the CLI
(`hellohome backfill`, one process) and the `reindex` DAG (key ranges in parallel tasks) share:

  start → build each key range (keyset pages, bulk) → finish → catch up → verify → go live → catch up

Searches keep using the old version until the atomic alias swap. The binlog position is taken
before the first read and used as every document's external version, so nothing older can ever
overwrite them. Change events committed since the start are replayed into the new version before
it goes live (and once more after, for what reached only the old version in between); replays
are idempotent.
"""
from __future__ import annotations

import itertools
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass

from sqlalchemy import text
from tqdm import tqdm

from hellohome.cdc.envelope import binlog_sequence
from hellohome.cdc.topics import admin, change_topics
from hellohome.config import Settings
from hellohome.db.engine import get_engine
from hellohome.documents import LAST_ID, documents_page
from hellohome.errors import HelloHomeError
from hellohome.search import bulk, indexes
from hellohome.sync.indexer import Indexer
from hellohome.sync.verify import ParityReport, verify

BULK_WORKERS = 2  # one per core: OpenSearch indexes two bulk requests at once
DAY_MS = 86_400_000


@dataclass(frozen=True)
class Build:
    """A new index version being built (plain values: it travels between Airflow tasks as XCom)."""
    index: str
    previous: str | None
    version: int  # the binlog position at the start, every document's external version
    started_ms: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class BackfillReport:
    index: str
    docs: int
    seconds: float
    replayed: int
    swapped: bool

    @property
    def docs_per_s(self) -> float:
        return self.docs / self.seconds if self.seconds else 0.0


def binlog_version(settings: Settings) -> int:
    with get_engine(settings, "cdc").connect() as conn:  # BINLOG MONITOR: the readonly user may not ask
        row = conn.execute(text("SHOW MASTER STATUS")).one()
    return bulk.position_version(binlog_sequence(row[0]), int(row[1]))


def start(settings: Settings) -> Build:
    """Create the next version with bulk-build settings (no refresh, async translog)."""
    client = indexes.client(settings)
    previous = indexes.current(client, "properties", settings.index_prefix)
    version, started_ms = binlog_version(settings), int(time.time() * 1000)
    name = indexes.create(client, settings, "properties", settings.index_prefix)
    client.indices.put_settings(index=name, body={"index": {"refresh_interval": "-1", "translog.durability": "async"}})
    return Build(name, previous, version, started_ms)


def key_ranges(settings: Settings, parts: int) -> list[tuple[int, int]]:
    """Split the listing ids into `parts` ranges (lo, hi] of about equal row counts."""
    with get_engine(settings, "readonly").connect() as conn:
        count = conn.execute(text("SELECT COUNT(*) FROM properties")).scalar_one()
        if count == 0:
            return [(0, LAST_ID)]
        step = -(-count // parts)
        bounds = [conn.execute(text("SELECT id FROM properties ORDER BY id LIMIT 1 OFFSET :o"), {"o": o}).scalar_one()
                  for o in range(step - 1, count - 1, step)]
    edges = [0, *bounds, LAST_ID]
    return list(itertools.pairwise(edges))


def _settle(future: Future, bar: tqdm) -> int:
    outcome = future.result()
    if outcome.failed:
        raise HelloHomeError(f"backfill: OpenSearch refused {len(outcome.failed)} documents, "
                             f"e.g. {next(iter(outcome.failed.items()))}")
    bar.update(outcome.indexed + outcome.stale)
    return outcome.indexed + outcome.stale


def build_range(settings: Settings, build: Build, lo: int = 0, hi: int = LAST_ID, *, batch_size: int = 5000,
                bulk_workers: int = BULK_WORKERS, progress: bool = True) -> int:
    """Index every listing with lo < id <= hi into the new version; returns the documents written.
    Reading and building the next page overlaps up to `bulk_workers` bulk writes of the previous
    ones (OpenSearch here indexes two at once, whoever sends them)."""
    client, engine = indexes.client(settings), get_engine(settings, "readonly")
    in_flight: list[Future] = []
    docs, after = 0, lo
    with ThreadPoolExecutor(max_workers=bulk_workers) as pool, \
            tqdm(unit="doc", desc=f"backfill {build.index} ({lo}, {hi}]", disable=not progress, mininterval=0.5) as bar:
        while True:
            with engine.connect() as conn:
                page, last = documents_page(settings, conn, after, batch_size, until_id=hi)
            if last is None:
                break
            if len(in_flight) >= bulk_workers:
                docs += _settle(in_flight.pop(0), bar)
            in_flight.append(pool.submit(bulk.apply, client, build.index, page, {}, dict.fromkeys(page, build.version)))
            after = last
        for future in in_flight:
            docs += _settle(future, bar)
    return docs


def finish(settings: Settings, build: Build) -> None:
    """Back to the configured refresh and durability; make everything searchable."""
    client = indexes.client(settings)
    client.indices.put_settings(index=build.index, body={"index": {
        "refresh_interval": settings.index_refresh_interval, "translog.durability": "request"}})
    client.indices.refresh(index=build.index)


def _has_change_topics(settings: Settings) -> bool:
    """A schema no connector watches has no change topics: nothing can have changed behind us."""
    existing = set(admin(settings).list_topics(timeout=10).topics)
    return all(t in existing for t in change_topics(settings.db_name))


def replay_changes(settings: Settings, build: Build, into: str | None = None) -> int:
    """Replay change events committed since the build started into `into` (default: the write
    alias); returns the events read."""
    if not _has_change_topics(settings):
        return 0
    group = f"{settings.indexer_group}-backfill-{build.started_ms}-{int(time.time() * 1000)}"
    return Indexer(settings, group_id=group, properties_index=into).catch_up(build.started_ms)


def check(settings: Settings, build: Build) -> ParityReport:
    """Catch the new version up, then compare it with MariaDB row by row; raises when it differs
    (the DAG's retry catches up again: a database under writes converges)."""
    replay_changes(settings, build, into=build.index)
    report = verify(settings, index=build.index)
    if not report.clean:
        raise HelloHomeError(f"reindex: {build.index} differs from MariaDB: missing {len(report.missing)}, "
                             f"stale {len(report.stale)}, extra {len(report.extra)} (e.g. "
                             f"{(report.missing + report.stale + report.extra)[:5]})")
    return report


def go_live(settings: Settings, build: Build) -> None:
    indexes.swap(indexes.client(settings), "properties", build.index, settings.index_prefix)


def _older_than_live(client, settings: Settings) -> tuple[str | None, list[str]]:
    """(the live version, the versions built before it, oldest first)."""
    live = indexes.current(client, "properties", settings.index_prefix)
    live_v = int(live.rsplit("_v", 1)[1]) if live else None
    return live, [name for v, name in indexes.versions(client, "properties", settings.index_prefix)
                  if live_v is not None and v < live_v]


def prune(settings: Settings, keep_days: float, now_ms: int | None = None) -> list[str]:
    """Drop versions older than the live one that were created more than `keep_days` ago, except
    the newest of them (the rollback target); returns the dropped names. Versions newer than the
    live one (a build in progress, or one rolled back from) are left alone."""
    client = indexes.client(settings)
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    dropped = []
    for name in _older_than_live(client, settings)[1][:-1]:
        created = int(client.indices.get_settings(index=name)[name]["settings"]["index"]["creation_date"])
        if now_ms - created > keep_days * DAY_MS:
            indexes.drop(client, name)
            dropped.append(name)
    return dropped


def rollback(settings: Settings) -> str:
    """Swap back to the newest version older than the live one; returns its name."""
    client = indexes.client(settings)
    live, older = _older_than_live(client, settings)
    if not older:
        raise HelloHomeError(f"rollback: no version older than {live} is kept; nothing to roll back to")
    indexes.swap(client, "properties", older[-1], settings.index_prefix)
    return older[-1]


def backfill(settings: Settings, *, batch_size: int = 5000, swap: bool = True, catch_up: bool = True,
             progress: bool = True) -> BackfillReport:
    """The whole rebuild in this process (`hellohome backfill`): one key range, swap, catch up."""
    build = start(settings)
    started = time.perf_counter()
    docs = build_range(settings, build, batch_size=batch_size, progress=progress)
    finish(settings, build)
    seconds = time.perf_counter() - started
    swapped = build.previous is not None and swap
    if swapped:
        go_live(settings, build)
    replayed = replay_changes(settings, build) if catch_up and (swapped or build.previous is None) else 0
    return BackfillReport(index=build.index, docs=docs, seconds=seconds, replayed=replayed, swapped=swapped)
