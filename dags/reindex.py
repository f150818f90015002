"""
### Reindex with zero downtime

Builds a new version of the `properties` index from MariaDB (the current mappings and document
builder), in **parallel key ranges** (one mapped task per range), catches it up on every change
committed while it was built, **verifies** it row by row against MariaDB, then swaps the read and
write aliases in one atomic call. Searches use the previous version until that instant.

The previous version is kept for `keep_days` so that a run with **`rollback`** checked swaps back
to it at once; older idle versions are dropped.

Returns (XCom of `finish`): documents, seconds and docs/s of the build. Library:
`hellohome.sync.backfill` (the same steps as `hellohome backfill`).
"""
from __future__ import annotations

from airflow.sdk import Param, dag, task

from hellohome.batch.defaults import DAG_DEFAULTS, settings


@dag(dag_id="reindex", schedule=None, doc_md=__doc__, tags=["search", "opensearch"], **DAG_DEFAULTS,
     params={
         "rollback": Param(False, type="boolean", description="swap back to the previous version instead of building"),
         "parallel_ranges": Param(4, type="integer", minimum=1, maximum=32,
                                  description="key ranges built in parallel (each a task)"),
         "batch_size": Param(5000, type="integer", minimum=100, maximum=10000, description="documents per bulk request"),
         "keep_days": Param(3, type="number", minimum=0, description="days to keep the previous version for rollback"),
     })
def reindex():
    @task.branch
    def choose(params=None) -> str:
        return "rollback" if params["rollback"] else "start"

    @task
    def rollback() -> str:
        from hellohome.sync.backfill import rollback as swap_back

        return swap_back(settings())

    @task
    def start() -> dict:
        from hellohome.sync.backfill import start as begin

        return begin(settings()).to_dict()

    @task
    def plan_ranges(params=None) -> list[list[int]]:
        from hellohome.sync.backfill import key_ranges

        return [list(r) for r in key_ranges(settings(), params["parallel_ranges"])]

    # two ranges at a time, one bulk request each in flight: OpenSearch on two cores indexes two at once
    @task(max_active_tis_per_dagrun=2)
    def build_range(build: dict, key_range: list[int], params=None) -> int:
        from hellohome.sync.backfill import Build
        from hellohome.sync.backfill import build_range as run

        return run(settings(), Build(**build), *key_range, batch_size=params["batch_size"], bulk_workers=1,
                   progress=False)

    @task
    def finish(build: dict, docs: list[int]) -> dict:
        import time

        from hellohome.sync.backfill import Build
        from hellohome.sync.backfill import finish as done

        done(settings(), Build(**build))
        seconds = time.time() - build["started_ms"] / 1000
        return {"index": build["index"], "docs": sum(docs), "seconds": round(seconds, 1),
                "docs_per_s": round(sum(docs) / seconds, 1)}

    @task
    def verify(build: dict) -> dict:
        from hellohome.sync.backfill import Build, check

        return {"checked": check(settings(), Build(**build)).checked}

    @task
    def go_live(build: dict) -> str:
        from hellohome.sync.backfill import Build
        from hellohome.sync.backfill import go_live as swap

        swap(settings(), Build(**build))
        return build["index"]

    @task
    def catch_up(build: dict) -> int:
        from hellohome.sync.backfill import Build, replay_changes

        return replay_changes(settings(), Build(**build))

    @task
    def prune(params=None) -> list[str]:
        from hellohome.sync.backfill import prune as drop_old

        return drop_old(settings(), params["keep_days"])

    build = start()
    ranges = plan_ranges()
    built = finish(build, build_range.partial(build=build).expand(key_range=ranges))
    live = go_live(build)
    choose() >> [rollback(), build]
    build >> ranges
    build >> built >> verify(build) >> live >> catch_up(build) >> prune()


reindex()
