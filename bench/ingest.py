"""Loader and generator throughput into the real MariaDB, in a schema of its own.

    .venv/bin/python -m bench.ingest [--count 1000000]

Rows: fresh load of each dataset (inserts), the same load again (idempotent no-op upserts),
and the generator at COUNT rows. Writes bench/results/ingest.json.
"""
from __future__ import annotations

import argparse

from sqlalchemy import text

from bench.common import Conditions, save, schema_with
from hellohome.config import get_settings
from hellohome.db.engine import dispose_engines, get_engine
from hellohome.loaders.generate import generate
from hellohome.loaders.run import DATASETS, default_path, load_file
from hellohome.stack import services

SCHEMA_SUFFIX = "_bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1_000_000, help="generated listings")
    parser.add_argument("--batch-size", type=int, default=5000)
    args = parser.parse_args()
    conditions = Conditions.begin(warm=None)

    settings = get_settings()
    services.up(settings)
    schema = schema_with(settings, settings.db_name + SCHEMA_SUFFIX)
    engine = get_engine(settings, "app", schema)

    results = []
    for phase in ("fresh", "reload"):
        for dataset, (_, defaults) in DATASETS.items():
            report = load_file(engine, default_path(settings, dataset), dataset, defaults,
                               batch_size=args.batch_size, rejects_dir=settings.stack_dir / "rejects-bench")
            results.append({"case": f"load {dataset} ({phase})", "rows": report.rows_read,
                             "seconds": round(report.seconds, 2), "rows_per_s": round(report.rows_per_s)})
    gen = generate(engine, args.count, batch_size=args.batch_size)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT COUNT(*) FROM properties WHERE source = 'generated'")).scalar()
    assert stored == args.count, f"generator wrote {stored} rows, expected {args.count}"
    results.append({"case": "generate", "rows": gen.rows, "seconds": round(gen.seconds, 2),
                    "rows_per_s": round(gen.rows_per_s)})
    save("ingest", {"count": args.count, "batch_size": args.batch_size, "driver": "pymysql"}, results, conditions)
    dispose_engines()


if __name__ == "__main__":
    main()
