"""Embedding refresh through Airflow: the wall time and texts/s to embed every listing's text with
the production model, run by the stack's scheduler as the `embedding_refresh` DAG (2 key ranges,
one per core), on the demo data (`make up`: 55k real listings, the `hellohome` schema).

    .venv/bin/python -m bench.embedding_refresh_dag [--ranges 2] [--batch-size 256]

So that every text really goes through the model, the embedding cache's rows of the current model
are set aside for the run (copied to a side table, deleted, put back at the end, also after a
failure), and an index of its own (prefix `bench-emb-`) is built by the backfill, which then
finds no cached vectors. The DAG is triggered over the REST API, as from the UI, with the scheduler
restarted with that prefix. Photo vectors stay cached (their model is another; not measured here).
Kept in bench/results/embedding_refresh_dag/.
"""
from __future__ import annotations

import argparse
import os
from collections import Counter

from opensearchpy import helpers
from sqlalchemy import text

from bench.common import Conditions, save
from bench.reindex_dag import AirflowApi, scheduler_for
from hellohome.config import get_settings
from hellohome.db.engine import get_engine
from hellohome.enrich.text import model_id
from hellohome.search import indexes
from hellohome.stack import services
from hellohome.sync.backfill import backfill

PREFIX = "bench-emb-"


def set_aside(engine, model: str) -> int:
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS embedding_cache_aside LIKE embedding_cache"))
        conn.execute(text("INSERT IGNORE INTO embedding_cache_aside SELECT * FROM embedding_cache WHERE model_id = :m"), {"m": model})
        return conn.execute(text("DELETE FROM embedding_cache WHERE model_id = :m"), {"m": model}).rowcount


def put_back(engine) -> int:
    with engine.begin() as conn:
        restored = conn.execute(text("INSERT IGNORE INTO embedding_cache SELECT * FROM embedding_cache_aside")).rowcount
        conn.execute(text("DROP TABLE embedding_cache_aside"))
        return restored


def vectors_by_model(client, alias: str) -> dict:
    """Documents per model of their text vector ("(none)": no vector); `enrichment` is not indexed."""
    with_vector = {h["_id"]: ((h["_source"].get("enrichment") or {}).get("text") or {}).get("model")
                   for h in helpers.scan(client, index=alias, size=5000, _source=["enrichment.text.model"],
                                         query={"query": {"exists": {"field": "text_vector"}}})}
    total = client.count(index=alias)["count"]
    return {"docs": total, "(none)": total - len(with_vector), **Counter(with_vector.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ranges", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args()
    settings = get_settings()
    services.up(settings)
    model = model_id(settings.text_model, settings.text_backend)
    engine, client = get_engine(settings, "owner"), indexes.client(settings)
    case = settings.model_copy(update={"index_prefix": PREFIX})
    alias = indexes.read_alias("properties", PREFIX)
    conditions = Conditions.begin(warm=True, note="the stack idle otherwise; the enricher service follows the feed")
    saved = os.environ.get("HH_INDEX_PREFIX")
    try:
        aside = set_aside(engine, model)
        client.indices.delete(index=f"{PREFIX}*", ignore_unavailable=True)
        built = backfill(case, catch_up=False, progress=True)
        before = vectors_by_model(client, alias)
        scheduler_for({"HH_INDEX_PREFIX": PREFIX})
        run = AirflowApi(settings).run_dag("embedding_refresh", {"everything": False, "parallel_ranges": args.ranges,
                                                                 "batch_size": args.batch_size}, timeout_s=7200)
        if run["state"] != "success":
            raise RuntimeError(f"embedding_refresh run {run['dag_run_id']} {run['state']}")
        report = AirflowApi(settings).xcom("embedding_refresh", run["dag_run_id"], "report")
        after = vectors_by_model(client, alias)
    finally:
        os.environ.pop("HH_INDEX_PREFIX", None) if saved is None else os.environ.__setitem__("HH_INDEX_PREFIX", saved)
        scheduler_for({})
        restored = put_back(engine)
        client.indices.delete(index=f"{PREFIX}*", ignore_unavailable=True)
    row = {"model": model, "docs": built.docs, "cache_rows_set_aside": aside, "cache_rows_put_back": restored,
           "vectors_before": before, "vectors_after": after, "texts_embedded": report["texts_embedded"],
           "texts_per_s_model": report["texts_per_s"], "run_wall_s": run["wall_s"],
           "texts_per_s_wall": round(report["texts_embedded"] / run["wall_s"], 1), "report": report}
    print(row, flush=True)
    save("embedding_refresh_dag", {"ranges": args.ranges, "batch_size": args.batch_size, "schema": settings.db_name,
                                   "parallelism": settings.airflow_parallelism, "gpu": False}, [row], conditions)


if __name__ == "__main__":
    main()
