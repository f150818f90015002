"""Shared by every benchmark: the result file format of DESIGN.md and a printed table."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path

import psutil
from rich.console import Console
from rich.table import Table

RESULTS = Path(__file__).parent / "results"


def schema_with(settings, name: str, datasets: tuple[str, ...] = ()) -> str:
    """A fresh schema `name` with these real datasets loaded (benchmarks never touch the demo schema)."""
    from hellohome.db.engine import get_engine
    from hellohome.loaders.run import DATASETS, default_path, load_file
    from hellohome.stack.schemas import fresh_schema

    fresh_schema(settings, name)
    for dataset in datasets:
        load_file(get_engine(settings, "app", name), default_path(settings, dataset), dataset, DATASETS[dataset][1],
                  batch_size=5000, rejects_dir=settings.stack_dir / "rejects-bench", progress=False)
    return name


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of values, rounded to 0.1."""
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 1)


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _fmt(value) -> str:
    return f"{value:,.1f}" if isinstance(value, float) else str(value if value is not None else "-")


def save(benchmark: str, params: dict, results: list[dict]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    doc = {
        "benchmark": benchmark,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "machine": {"cores": os.cpu_count(), "mem_gb": round(psutil.virtual_memory().total / 2**30, 1)},
        "params": params,
        "results": results,
    }
    path = RESULTS / f"{benchmark}.json"
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    columns = list(dict.fromkeys(k for row in results for k in row))
    if len(columns) <= 8:
        table = Table(*columns, title=f"{benchmark} ({path})")
        for row in results:
            table.add_row(*(_fmt(row.get(c)) for c in columns))
    else:  # wide results read better transposed: one column per case
        table = Table("metric", *(str(i) for i in range(len(results))), title=f"{benchmark} ({path})")
        for c in columns:
            table.add_row(c, *(_fmt(row.get(c)) for row in results))
    Console(width=160).print(table)
    return path
