"""What every document builder adds from the enrichment caches, without computing anything:
the cached text vector of the document's current text (none when the text changed since), so a
CDC write or a reindex keeps the enrichment of unchanged listings."""
from __future__ import annotations

from sqlalchemy import Connection

from hellohome.config import get_settings
from hellohome.enrich import cache
from hellohome.enrich.text import embedding_text, model_id, text_hash


def text_keys(docs: dict[int, dict], model: str) -> dict[int, str]:
    mid = model_id(model)
    return {pid: text_hash(mid, embedding_text(doc)) for pid, doc in docs.items()}


def attach_cached(conn: Connection, docs: dict[int, dict]) -> None:
    if not docs:
        return
    model = get_settings().text_model
    keys = text_keys(docs, model)
    vectors = cache.get_many(conn, list(keys.values()))
    mid = model_id(model)
    for pid, doc in docs.items():
        vector = vectors.get(keys[pid])
        if vector is not None:
            doc["text_vector"] = [round(float(x), 6) for x in vector]
            doc["enrichment"] = {"text": {"model": mid, "hash": keys[pid]}}
