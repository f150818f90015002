"""What every document builder adds from the enrichment caches, without computing anything:
the cached text vector of the document's current text (none when the text changed since), so a
CDC write or a reindex keeps the enrichment of unchanged listings."""
from __future__ import annotations

from sqlalchemy import Connection

from hellohome.config import Settings, get_settings
from hellohome.enrich import cache
from hellohome.enrich.image import MODEL_ID as IMAGE_MODEL
from hellohome.enrich.image import combine, listing_key, url_key
from hellohome.enrich.scores import Scorer
from hellohome.enrich.text import embedding_text, model_id, text_hash


def text_keys(docs: dict[int, dict], model: str) -> dict[int, str]:
    mid = model_id(model)
    return {pid: text_hash(mid, embedding_text(doc)) for pid, doc in docs.items()}


_scorers: dict[int, Scorer] = {}


def _scorer(settings: Settings) -> Scorer:
    """One cache-reading scorer per settings object (get_settings() returns the same one)."""
    if id(settings) not in _scorers:
        _scorers[id(settings)] = Scorer(settings, engine=None, client=None, alias="")
    return _scorers[id(settings)]


def attach_cached(conn: Connection, docs: dict[int, dict]) -> None:
    if not docs:
        return
    settings = get_settings()
    keys = text_keys(docs, settings.text_model)
    vectors = cache.get_many(conn, list(keys.values()))
    mid = model_id(settings.text_model)
    scorer = _scorer(settings)
    places = {pid: scorer.key(d["location"]["lat"], d["location"]["lon"]) for pid, d in docs.items()}
    scores = scorer.cached(conn, set(places.values()))
    photos = {pid: [i["url"] for i in d["images"]] for pid, d in docs.items()}  # in position order
    image_cache = cache.get_many(conn, [url_key(u) for urls in photos.values() for u in urls]) \
        if settings.enrich_images else {}
    for pid, doc in docs.items():
        enrichment = {}
        vector = vectors.get(keys[pid])
        if vector is not None:
            doc["text_vector"] = [round(float(x), 6) for x in vector]
            enrichment["text"] = {"model": mid, "hash": keys[pid]}
        if places[pid] in scores:
            enrichment["scores"] = scores[places[pid]]
        urls = photos[pid]
        if urls and all(url_key(u) in image_cache for u in urls):
            doc["image_vector"] = combine([image_cache[url_key(u)] for u in urls])
            enrichment["image"] = {"model": IMAGE_MODEL, "hash": listing_key(urls), "images": len(urls),
                                   "embedded": len(urls), "failed": 0, "errors": [], "at": 0}
        if enrichment:
            doc["enrichment"] = enrichment
