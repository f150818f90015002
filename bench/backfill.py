"""Backfill throughput: MariaDB → a new OpenSearch index version, no embeddings.

    .venv/bin/python -m bench.backfill [--skip-1m]

Cases: NYC alone (48,879 listings, a schema of its own) and the 1M+ generated listings of the
`hellohome_bench` schema (made by `python -m bench.ingest`). Each case records the state MariaDB
was in when it began (InnoDB's undo history and dirty pages: right after a bulk load MariaDB is
still purging and flushing, and a backfill then reads pages far slower), so "right after generation"
and "settled" figures are told apart. Each run is kept: bench/results/backfill/<time>-<commit>.json.
"""
from __future__ import annotations

import argparse

from sqlalchemy import text

from bench.common import Conditions, save, schema_with
from hellohome.config import get_settings
from hellohome.db.engine import get_engine
from hellohome.search import indexes
from hellohome.stack import mariadb, services
from hellohome.sync.backfill import backfill


def mariadb_state(settings) -> dict:
    """How busy InnoDB still is with earlier writes (root over the project's socket: PROCESS rights)."""
    with mariadb.admin_connect(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT FROM information_schema.INNODB_METRICS WHERE NAME = 'trx_rseg_history_len'")
        history = cur.fetchone()
        cur.execute("SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_buffer_pool_pages_dirty', "
                    "'Innodb_buffer_pool_pages_total')")
        pages = dict(cur.fetchall())
    return {"innodb_history_len": int(history[0]) if history else None,
            "innodb_dirty_pages_ratio": round(int(pages["Innodb_buffer_pool_pages_dirty"])
                                              / max(1, int(pages["Innodb_buffer_pool_pages_total"])), 3)}


def run_case(settings, schema: str, prefix: str, batch_size: int) -> dict:
    case = settings.model_copy(update={"db_name": schema, "index_prefix": prefix})
    before = mariadb_state(settings)
    client = indexes.client(case)
    client.indices.delete(index=f"{prefix}*", ignore_unavailable=True)
    report = backfill(case, batch_size=batch_size, catch_up=False)
    with get_engine(settings, "readonly", schema).connect() as conn:
        expected = conn.execute(text("SELECT COUNT(*) FROM properties WHERE status <> 'deleted'")).scalar()
    assert report.docs == expected, f"{report.docs} documents for {expected} rows"
    client.indices.refresh(index=report.index)
    assert client.count(index=report.index)["count"] == expected
    size = client.indices.stats(index=report.index, metric="store")["_all"]["primaries"]["store"]["size_in_bytes"]
    return {"docs": report.docs, "schema": schema, "seconds": round(report.seconds, 1),
            "docs_per_s": round(report.docs_per_s), "index_mb": round(size / 2**20), "shards": case.index_shards,
            **{f"start_{k}": v for k, v in before.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--skip-1m", action="store_true", help="only the NYC case")
    args = parser.parse_args()
    conditions = Conditions.begin(note="MariaDB's state at each case's start: start_innodb_* in its row")
    settings = get_settings()
    services.up(settings)
    results = [run_case(settings, schema_with(settings, settings.db_name + "_bench_nyc", ("nyc",)), "bench-nyc-",
                         args.batch_size)]
    if not args.skip_1m:
        results.append(run_case(settings, settings.db_name + "_bench", "bench-1m-", args.batch_size))
    save("backfill", {"batch_size": args.batch_size, "bulk_workers": 2, "shards": settings.index_shards,
                      "replicas": settings.index_replicas, "embeddings": False}, results, conditions)


if __name__ == "__main__":
    main()
