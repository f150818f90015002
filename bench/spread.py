"""The spread of kept runs: `python -m bench.spread BENCHMARK [--metric M ...] [--case C]`.

Every run of a benchmark is a file of its own under bench/results/<benchmark>/; this prints, per case
and metric, min / median / max over the runs and how many runs there are, with the conditions each
run recorded (load, CPU of other processes, warm or cold), so a figure is quoted as a spread.
"""
from __future__ import annotations

import argparse
import json
import statistics
from collections import defaultdict

from rich.console import Console
from rich.table import Table

from bench.common import RESULTS

CASE_KEYS = ("case", "scenario", "mode", "rate_rows_per_s", "docs", "vectors", "k")


def case_of(row: dict) -> str:
    return " / ".join(f"{k}={row[k]}" for k in CASE_KEYS if k in row) or "-"


def spread(benchmark: str, metrics: list[str] | None = None) -> dict[tuple[str, str], list[float]]:
    values: dict[tuple[str, str], list[float]] = defaultdict(list)
    for path in sorted((RESULTS / benchmark).glob("*.json")):
        for row in json.loads(path.read_text())["results"]:
            for metric, value in row.items():
                numeric = isinstance(value, int | float) and not isinstance(value, bool)
                if numeric and metric not in CASE_KEYS and (not metrics or metric in metrics):
                    values[(case_of(row), metric)].append(value)
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("benchmark")
    parser.add_argument("--metric", action="append", help="only these metrics (repeatable)")
    parser.add_argument("--case", default=None, help="only cases containing this text")
    args = parser.parse_args()
    runs = sorted((RESULTS / args.benchmark).glob("*.json"))
    if not runs:
        raise SystemExit(f"error: benchmark: no runs kept under {RESULTS / args.benchmark}")
    table = Table("case", "metric", "runs", "min", "median", "max", title=f"{args.benchmark}: {len(runs)} runs")
    for (case, metric), vals in spread(args.benchmark, args.metric).items():
        if args.case is None or args.case in case:
            table.add_row(case, metric, str(len(vals)), f"{min(vals):,.4g}", f"{statistics.median(vals):,.4g}",
                          f"{max(vals):,.4g}")  # 4 significant digits: recall 0.9925 and 6,305 docs/s alike
    Console(width=200).print(table)
    conditions = Table("run", "commit", "load 1m", "CPU other", "declared", title="conditions")
    for path in runs:
        doc = json.loads(path.read_text())
        c = doc.get("conditions") or {}
        declared = {k: v for k, v in c.items() if not k.startswith(("cpu_", "load_", "wall_"))}
        conditions.add_row(path.stem, doc["git_commit"][:8], f"{c.get('load_avg_1m_start', '-')}",
                           f"{c.get('cpu_other_ratio', '-')}", json.dumps(declared))
    Console(width=200).print(conditions)


if __name__ == "__main__":
    main()
