"""`hellohome backfill`: MariaDB → a new index version (keyset pages, bulk), alias swap, catch-up.

Zero downtime: searches keep using the old version until the swap. The binlog position is taken
before the first read and used as every document's external version, so nothing older can ever
overwrite them; after the swap, change events since the start are replayed into the new version
(idempotent), covering writes that reached only the old version while the new one was built.
"""
from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy import text
from tqdm import tqdm

from hellohome.cdc.envelope import binlog_sequence
from hellohome.cdc.topics import admin, change_topics
from hellohome.config import Settings
from hellohome.db.engine import get_engine
from hellohome.documents import documents_page
from hellohome.search import bulk, indexes
from hellohome.sync.indexer import Indexer

BULK_WORKERS = 2  # one per core: OpenSearch indexes two bulk requests at once


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


def _settle(future: Future, bar: tqdm) -> None:
    outcome = future.result()
    if outcome.failed:
        raise RuntimeError(f"backfill: OpenSearch refused {len(outcome.failed)} documents, "
                           f"e.g. {next(iter(outcome.failed.items()))}")
    bar.update(outcome.indexed + outcome.stale)


def binlog_version(settings: Settings) -> int:
    with get_engine(settings, "cdc").connect() as conn:  # BINLOG MONITOR: the readonly user may not ask
        row = conn.execute(text("SHOW MASTER STATUS")).one()
    return bulk.position_version(binlog_sequence(row[0]), int(row[1]))


def _has_change_topics(settings: Settings) -> bool:
    """A schema no connector watches has no change topics: nothing can have changed behind us."""
    existing = set(admin(settings).list_topics(timeout=10).topics)
    return all(t in existing for t in change_topics(settings.db_name))


def backfill(settings: Settings, *, batch_size: int = 5000, swap: bool = True, catch_up: bool = True,
             progress: bool = True) -> BackfillReport:
    client = indexes.client(settings)
    prefix = settings.index_prefix
    previous = indexes.current(client, "properties", prefix)
    version, started_ms = binlog_version(settings), int(time.time() * 1000)
    name = indexes.create(client, settings, "properties", prefix)
    # bulk-build settings: no refresh and async translog while loading, the configured ones after
    client.indices.put_settings(index=name, body={"index": {"refresh_interval": "-1",
                                                            "translog.durability": "async"}})
    started, docs, after = time.perf_counter(), 0, 0
    engine = get_engine(settings, "readonly")
    in_flight: list[Future] = []
    # reading and building the next page overlaps the bulk writes of the previous ones
    with ThreadPoolExecutor(max_workers=BULK_WORKERS) as pool, \
            tqdm(unit="doc", desc=f"backfill {name}", disable=not progress, mininterval=0.5) as bar:
        while True:
            with engine.connect() as conn:
                page, last = documents_page(settings, conn, after, batch_size)
            if last is None:
                break
            if len(in_flight) >= BULK_WORKERS:
                _settle(in_flight.pop(0), bar)
            in_flight.append(pool.submit(bulk.apply, client, name, page, {}, dict.fromkeys(page, version)))
            docs += len(page)
            after = last
        for future in in_flight:
            _settle(future, bar)
    client.indices.put_settings(index=name, body={"index": {"refresh_interval": settings.index_refresh_interval,
                                                            "translog.durability": "request"}})
    client.indices.refresh(index=name)
    seconds = time.perf_counter() - started
    swapped = previous is not None and swap
    if swapped:
        indexes.swap(client, "properties", name, prefix)
    replayed = 0
    if catch_up and (swapped or previous is None) and _has_change_topics(settings):
        replayed = Indexer(settings, group_id=f"{settings.indexer_group}-backfill-{started_ms}").catch_up(started_ms)
    return BackfillReport(index=name, docs=docs, seconds=seconds, replayed=replayed, swapped=swapped)
