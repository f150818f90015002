"""
### Embedding refresh

Re-embeds listings whose **text or photos changed**, or whose vector was made by **another model
or runtime** (each document records the model and the text hash of its vector), in parallel key
ranges. With `everything` unchecked only documents without a current-model vector are read;
checked, every document is read and those whose text, photos or place changed are re-done.

Resumable: a document is written as soon as its batch is embedded, so a retried or cleared range
redoes only what was not finished. Returns per range and in total: enriched / unchanged / gone /
gave_up, texts embedded by the model and texts/s. Library: `hellohome.batch.embedding`
(the same work as `hellohome enrich refresh`).
"""
from __future__ import annotations

from airflow.sdk import Param, dag, task

from hellohome.batch.defaults import DAG_DEFAULTS, settings


@dag(dag_id="embedding_refresh", schedule="0 4 * * *", doc_md=__doc__, tags=["enrichment", "embeddings"],
     **DAG_DEFAULTS, params={
         "everything": Param(True, type="boolean",
                             description="read every document (changed text/photos); off: only missing or other-model vectors"),
         "parallel_ranges": Param(2, type="integer", minimum=1, maximum=32, description="key ranges (one task each)"),
         "batch_size": Param(256, type="integer", minimum=1, maximum=4096, description="documents embedded per batch"),
     })
def embedding_refresh():
    @task
    def plan_ranges(params=None) -> list[list[int]]:
        from hellohome.sync.backfill import key_ranges

        return [list(r) for r in key_ranges(settings(), params["parallel_ranges"])]

    # the model is CPU-bound: one range at a time per core
    @task(max_active_tis_per_dagrun=2)
    def refresh_range(key_range: list[int], params=None) -> dict:
        from hellohome.batch.embedding import refresh_range as run

        return run(settings(), *key_range, everything=params["everything"], batch=params["batch_size"])

    @task
    def report(results: list[dict]) -> dict:
        from hellohome.batch.embedding import summary

        return summary(list(results))

    report(refresh_range.expand(key_range=plan_ranges()))


embedding_refresh()
