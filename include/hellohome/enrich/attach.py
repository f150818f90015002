"""What every document builder adds from the enrichment caches, without computing anything:
the cached text vector of the document's current text (none when the text changed since), so a
CDC write or a reindex keeps the enrichment of unchanged listings."""
from __future__ import annotations

from sqlalchemy import Connection

from hellohome.config import Settings
from hellohome.enrich import cache
from hellohome.enrich.image import combine, image_meta, url_key
from hellohome.enrich.scores import Scorer
from hellohome.enrich.text import embedding_text, model_id, text_hash

_scorer: tuple[Settings, Scorer] | None = None


def _cache_scorer(settings: Settings) -> Scorer:
    """A cache-reading scorer for the current settings object (rebuilt when settings are reloaded)."""
    global _scorer
    if _scorer is None or _scorer[0] is not settings:
        _scorer = (settings, Scorer(settings, engine=None, client=None, alias=""))
    return _scorer[1]


def attach_cached(settings: Settings, conn: Connection, docs: dict[int, dict]) -> None:
    if not docs:
        return
    mid = model_id(settings.text_model, settings.text_backend)
    text_keys = {pid: text_hash(mid, embedding_text(doc)) for pid, doc in docs.items()}
    photos = {pid: [i["url"] for i in d["images"]] for pid, d in docs.items()} if settings.enrich_images else {}
    # text and photo vectors share the cache table: one query for both
    vectors = cache.get_many(conn, [*text_keys.values(), *(url_key(u) for urls in photos.values() for u in urls)])
    scorer = _cache_scorer(settings)
    places = {pid: scorer.key(d["location"]["lat"], d["location"]["lon"]) for pid, d in docs.items()}
    scores = scorer.cached(conn, set(places.values()))
    for pid, doc in docs.items():
        enrichment = {}
        vector = vectors.get(text_keys[pid])
        if vector is not None:
            doc["text_vector"] = cache.as_field(vector)
            enrichment["text"] = {"model": mid, "hash": text_keys[pid]}
        if places[pid] in scores:
            enrichment["scores"] = scores[places[pid]]
        urls = photos.get(pid)  # in position order
        if urls and all(url_key(u) in vectors for u in urls):
            doc["image_vector"] = combine([vectors[url_key(u)] for u in urls])
            enrichment["image"] = image_meta(urls, len(urls), [], 0)
        if enrichment:
            doc["enrichment"] = enrichment
