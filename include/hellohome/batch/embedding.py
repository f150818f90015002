"""The `embedding_refresh` DAG's work: re-embed documents whose text or photos changed, or whose
vector comes from another model or runtime, one key range per task.

Resumable by construction: each document records the hash of the model and text its vector was
made from, and is written as soon as its batch is embedded, so a rerun after a failure (a retried
task, a cleared range) finds the finished documents current and embeds only the rest.
"""
from __future__ import annotations

import time

from hellohome.config import Settings


def refresh_range(settings: Settings, lo: int, hi: int, everything: bool, batch: int = 256) -> dict:
    """Refresh the documents with ids in (lo, hi]; returns outcome counts and the embedding rate."""
    from hellohome.enrich.enricher import Enricher, refresh

    enricher = Enricher(settings)
    started = time.perf_counter()
    totals = refresh(settings, enricher, everything=everything, batch=batch, progress=False, id_range=(lo, hi))
    seconds = time.perf_counter() - started
    return {**totals, "texts_embedded": enricher.texts_embedded, "seconds": round(seconds, 1),
            "texts_per_s": round(enricher.texts_embedded / enricher.embed_seconds, 1) if enricher.embed_seconds else None,
            "model": enricher.embedder.model_id}


def summary(results: list[dict]) -> dict:
    """All ranges together: counts summed; texts/s over the model's own time (ranges may overlap)."""
    keys = {k for r in results for k, v in r.items() if isinstance(v, int)}
    total = {k: sum(r.get(k, 0) for r in results) for k in sorted(keys)}
    model_s = sum(r["texts_embedded"] / r["texts_per_s"] for r in results if r.get("texts_per_s"))
    total["texts_per_s"] = round(total.get("texts_embedded", 0) / model_s, 1) if model_s else None
    return total
