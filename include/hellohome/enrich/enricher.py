"""The enrichment stage: its own consumer group over the change topics, adding text vectors (and
cached third-party scores) to documents the indexer has already written.

Safety against a late enrichment overwriting a newer edit: the vector is computed from the text of
the document as read (with its seq_no), and written with `if_seq_no`/`if_primary_term`; if the
indexer wrote a newer version meanwhile, the update fails with 409 and the document is read again.
A document behind the event's version (the indexer has not caught up) is retried until it is.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass

from confluent_kafka import Message
from opensearchpy import helpers
from prometheus_client import Counter as MetricCounter
from prometheus_client import Histogram
from sqlalchemy import bindparam, text

from hellohome.cdc.consumer import ChangeConsumer, poll_loop
from hellohome.cdc.envelope import EnvelopeError, parse
from hellohome.cdc.topics import change_topic
from hellohome.config import Settings
from hellohome.db.engine import get_engine
from hellohome.enrich import cache
from hellohome.enrich.image import ImageEmbedder, combine, image_meta, listing_key
from hellohome.enrich.providers import FAILURE_TTL
from hellohome.enrich.scores import Scorer
from hellohome.enrich.text import TextEmbedder, embedding_text, text_hash
from hellohome.search import indexes

log = logging.getLogger("hellohome.enricher")
INDEXABLE = text("SELECT id FROM properties WHERE id IN :ids AND status <> 'deleted'").bindparams(
    bindparam("ids", expanding=True))
TEXT_FIELDS = ["title", "description", "neighbourhood", "area", "city", "location", "images", "source_version",
               "enrichment"]
IMAGE_RETRY_MS = FAILURE_TTL.total_seconds() * 1000  # failed photos are tried again after this

EVENTS = MetricCounter("hellohome_enricher_events_total", "change events read by the enricher", ["table"])
DOCS = MetricCounter("hellohome_enricher_documents_total", "documents handled, by outcome", ["outcome"])
CACHE = MetricCounter("hellohome_enricher_embedding_cache_total", "embedding cache lookups", ["result"])
EMBED_SECONDS = Histogram("hellohome_enricher_embed_seconds", "time to embed one batch of texts",
                          buckets=(.05, .1, .25, .5, 1, 2, 5, 10, 30))
COMMIT_TO_ENRICHED = Histogram("hellohome_enricher_commit_to_enriched_seconds",
                               "database commit -> vector written (not yet refreshed)",
                               buckets=(.25, .5, 1, 2, 5, 10, 20, 30, 60, 120, 300))


@dataclass
class Needs:
    """What one document needs now, read from it as the index holds it."""
    doc: dict  # the mget hit: _index, _id, _seq_no, _primary_term
    text_key: str | None = None  # embed the text under this cache key
    location: dict | None = None  # fetch (or read cached) scores for this place
    image_urls: list[str] | None = None  # embed these photos

    @property
    def anything(self) -> bool:
        return self.text_key is not None or self.location is not None or self.image_urls is not None


class Enricher:
    def __init__(self, settings: Settings, embedder: TextEmbedder | None = None, group_id: str | None = None,
                 wait_s: float = 30.0):
        self.settings = settings
        self.embedder = embedder or TextEmbedder.from_settings(settings)
        if self.embedder.dim != settings.text_vector_dim:
            raise ValueError(f"HH_TEXT_VECTOR_DIM={settings.text_vector_dim} but {self.embedder.model_id} "
                             f"gives {self.embedder.dim}-d vectors")
        self.alias = indexes.read_alias("properties", settings.index_prefix)
        self.search = indexes.client(settings)
        self.engine = get_engine(settings, "app")
        self.scorer = Scorer(settings, self.engine, self.search, self.alias)
        self.images = ImageEmbedder() if settings.enrich_images else None
        self.wait_s = wait_s
        self.stopping = False
        self.group_id = group_id or settings.enricher_group
        self.consumer: ChangeConsumer | None = None
        self.texts_embedded = 0  # by the model (cache misses), and the seconds that took
        self.embed_seconds = 0.0

    def stop(self, *_args) -> None:
        self.stopping = True

    def topics(self) -> list[str]:
        return [change_topic(self.settings.db_name, t) for t in ("properties", "property_images")]

    def run(self, idle_exit_s: float | None = None, batch_max: int = 256) -> None:
        """A new group starts at the beginning of the topics; to skip history (measurements), commit
        the end first: `cdc.consumer.start_at_end(settings, group_id, enricher.topics())`."""
        self.consumer = ChangeConsumer(self.settings, self.group_id, self.topics())
        self.embedder.model()  # load before the first batch, not inside its latency
        log.info("enricher started", extra={"fields": {"model": self.embedder.model_id, "group": self.group_id}})
        try:
            poll_loop(self.consumer, self, batch_max=batch_max, poll_s=0.2, should_stop=lambda: self.stopping,
                      idle_exit_s=idle_exit_s)
        finally:
            log.info("enricher stopped")

    # ------------------------------------------------------------------ cdc.consumer.BatchWorker
    def handle(self, messages: list[Message]) -> None:
        self.enrich(self._wanted(messages))
        self.consumer.commit(messages)  # refused after a lost assignment: the new owner redoes it

    def tick(self) -> None:
        pass

    def busy(self) -> bool:
        return False

    def drain(self) -> None:
        pass  # every batch is finished (and committed) inside handle()

    def _wanted(self, messages: list[Message]) -> dict[int, tuple[int, int]]:
        """property id -> (version its document must have reached, commit time ms)."""
        wanted: dict[int, tuple[int, int]] = {}
        for msg in messages:
            if msg.error():
                continue
            table = msg.topic().rsplit(".", 1)[-1]
            EVENTS.labels(table).inc()
            try:
                event = parse(table, msg.key(), msg.value())
            except EnvelopeError:
                continue  # the indexer dead-letters it; nothing here to enrich
            if event is None or event.op in ("t", "d") or not event.after:
                continue
            row = event.after
            pid = row.get("id") if table == "properties" else row.get("property_id")
            if isinstance(pid, int) and row.get("status", "active") != "deleted":
                version = row.get("version", 0) if table == "properties" else 0
                prior = wanted.get(pid, (0, 0))
                wanted[pid] = (max(prior[0], version), max(prior[1], event.source_ts_ms))
        return wanted

    def vectors_for(self, texts: dict[str, str]) -> dict[str, list[float]]:
        """hash -> vector, from the cache or embedded now (and cached)."""
        with self.engine.connect() as conn:
            found = cache.get_many(conn, list(texts))
        CACHE.labels("hit").inc(len(found))
        missing = {h: t for h, t in texts.items() if h not in found}
        if missing:
            CACHE.labels("miss").inc(len(missing))
            started = time.perf_counter()
            embedded = dict(zip(missing, self.embedder.embed(list(missing.values())), strict=True))
            took = time.perf_counter() - started
            EMBED_SECONDS.observe(took)
            self.texts_embedded += len(missing)
            self.embed_seconds += took
            cache.put_many(self.engine, self.embedder.model_id, embedded)
            found.update(embedded)
        return {h: cache.as_field(v) for h, v in found.items()}

    def _indexable(self, ids: list[int]) -> set[int]:
        if not ids:
            return set()
        with self.engine.connect() as conn:
            return set(conn.execute(INDEXABLE, {"ids": ids}).scalars())

    def _needs_images(self, done: dict, urls: list[str]) -> bool:
        if self.images is None or not urls:
            return False
        if done.get("hash") != listing_key(urls):
            return True
        return bool(done.get("failed")) and done.get("at", 0) < time.time() * 1000 - IMAGE_RETRY_MS

    def _image_update(self, urls: list[str]) -> dict:
        vectors, errors = self.images.vectors(self.engine, urls)
        vector = combine([vectors[u] for u in urls if u in vectors])
        meta = image_meta(urls, len(vectors), list(errors.values()), int(time.time() * 1000))
        return {"enrichment": {"image": meta}, **({"image_vector": vector} if vector else {})}

    def needs(self, hit: dict) -> Needs:
        """What an indexed document lacks: a vector of its current text, scores of its place, photo vectors."""
        src = hit["_source"]
        done = src.get("enrichment") or {}
        needs = Needs(hit)
        key = text_hash(self.embedder.model_id, embedding_text(src))
        if (done.get("text") or {}).get("hash") != key:
            needs.text_key = key
        location = src["location"]
        if (done.get("scores") or {}).get("geo_key") != self.scorer.key(location["lat"], location["lon"]):
            needs.location = location
        urls = [i["url"] for i in sorted(src.get("images") or [], key=lambda i: i["position"])]
        if self._needs_images(done.get("image") or {}, urls):
            needs.image_urls = urls
        return needs

    def _update(self, needs: Needs, vectors: dict[str, list[float]]) -> dict:
        update: dict = {"enrichment": {}}
        if needs.image_urls is not None:
            update.update(self._image_update(needs.image_urls))
        if needs.text_key is not None:
            update["text_vector"] = vectors[needs.text_key]
            update["enrichment"]["text"] = {"model": self.embedder.model_id, "hash": needs.text_key}
        if needs.location is not None:
            update["enrichment"]["scores"] = self.scorer.scores(needs.location["lat"], needs.location["lon"])
        return update

    def _ready(self, pending: dict[int, tuple[int, int]], outcome: Counter) -> list[Needs]:
        """Read the pending documents; those the indexer has written at the wanted version and that
        lack something. Deleted or unchanged ones leave `pending` (counted in `outcome`)."""
        docs = self.search.mget(index=self.alias, body={"ids": [str(i) for i in pending]},
                                params={"_source_includes": ",".join(TEXT_FIELDS)})["docs"]
        absent = [int(d["_id"]) for d in docs if not d.get("found")]
        for pid in set(absent) - self._indexable(absent):
            outcome["gone"] += 1  # deleted since: nothing to wait for
            pending.pop(pid)
        ready = []
        for d in docs:
            pid = int(d["_id"])
            # not indexed yet, or the indexer has not written this version yet: retried until the deadline
            if not d.get("found") or (d["_source"].get("source_version") or 0) < pending[pid][0]:
                continue
            needs = self.needs(d)
            if needs.anything:
                ready.append(needs)
            else:
                outcome["unchanged"] += 1
                pending.pop(pid)
        return ready

    def _write(self, ready: list[Needs], pending: dict[int, tuple[int, int]], outcome: Counter) -> None:
        """Each update only if the document is still as read (if_seq_no); a 409 (a newer write landed
        after our read) leaves it pending, to be read again."""
        texts = {n.text_key: embedding_text(n.doc["_source"]) for n in ready if n.text_key is not None}
        vectors = self.vectors_for(texts) if texts else {}
        actions = [{"_op_type": "update", "_index": n.doc["_index"], "_id": n.doc["_id"], "if_seq_no": n.doc["_seq_no"],
                    "if_primary_term": n.doc["_primary_term"], "doc": self._update(n, vectors)} for n in ready]
        for ok, item in helpers.streaming_bulk(self.search, actions, raise_on_error=False, max_retries=3):
            result = item["update"]
            pid = int(result["_id"])
            if ok:
                outcome["enriched"] += 1
                COMMIT_TO_ENRICHED.observe(max(0.0, time.time() - pending[pid][1] / 1000))
                pending.pop(pid)
            elif result.get("status") == 404:
                outcome["gone"] += 1
                pending.pop(pid)

    def enrich(self, wanted: dict[int, tuple[int, int]]) -> dict[str, int]:
        """Enrich these documents once the indexer has written them at the wanted version (waiting up
        to wait_s); returns counts by outcome."""
        outcome: Counter = Counter(dict.fromkeys(("enriched", "unchanged", "gone", "gave_up"), 0))
        pending, deadline = dict(wanted), time.monotonic() + self.wait_s
        while pending and not self.stopping:
            self._write(self._ready(pending, outcome), pending, outcome)
            if pending:
                if time.monotonic() > deadline:
                    outcome["gave_up"] += len(pending)
                    log.warning("documents not ready for enrichment", extra={"fields": {"ids": list(pending)[:20]}})
                    break
                time.sleep(0.2)
        for name, count in outcome.items():
            DOCS.labels(name).inc(count)
        return dict(outcome)


def refresh(settings: Settings, enricher: Enricher, everything: bool = False, batch: int = 256,
            progress: bool = True, id_range: tuple[int, int] | None = None) -> dict[str, int]:
    """Enrich every document whose text vector is missing or was made by another model or runtime
    (each records its model id), or every document (`everything`: those whose text, photos or place
    changed are re-done, the others count as unchanged); only ids in (lo, hi] with `id_range`.
    The batch side of the enricher, for a new model, a fresh index, or events it gave up on.
    Resumable: a document is done once its update is written, and a rerun finds it current."""
    from tqdm import tqdm

    def scan(query: dict, fields: list[str] | bool) -> list[dict]:
        if id_range is not None:
            query = {"bool": {"must": [query], "filter": [{"range": {"id": {"gt": id_range[0], "lte": id_range[1]}}}]}}
        return list(helpers.scan(enricher.search, index=enricher.alias, size=5000, query={"query": query},
                                 _source=fields))

    def model(hit: dict) -> str | None:
        return (((hit.get("_source") or {}).get("enrichment") or {}).get("text") or {}).get("model")

    current = enricher.embedder.model_id
    if everything:
        ids = sorted(int(h["_id"]) for h in scan({"match_all": {}}, False))
    else:
        missing = {int(h["_id"]) for h in scan({"bool": {"must_not": [{"exists": {"field": "text_vector"}}]}}, False)}
        stale = {int(h["_id"]) for h in scan({"exists": {"field": "text_vector"}}, ["enrichment.text.model"])
                 if model(h) != current}
        ids = sorted(missing | stale)
    totals: dict[str, int] = {}
    with tqdm(total=len(ids), unit="doc", desc="enrich", disable=not progress) as bar:
        for start in range(0, len(ids), batch):
            chunk = ids[start:start + batch]
            for name, count in enricher.enrich(dict.fromkeys(chunk, (0, int(time.time() * 1000)))).items():
                totals[name] = totals.get(name, 0) + count
            bar.update(len(chunk))
    return totals
