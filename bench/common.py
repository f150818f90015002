"""Shared by every benchmark: honest percentiles, the conditions of a run, the result file format
of DESIGN.md (one file per run, never overwritten) and a printed table."""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import statistics
import subprocess
import time
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


MIN_SAMPLES = {50: 1, 95: 20, 99: 100}  # fewer samples than this and the percentile is only the maximum


def percentile(values: list[float], p: float) -> float | None:
    """The p-th percentile by nearest rank: the smallest value with at least p% of the values at or
    below it, element ceil(p·n/100) − 1 of the sorted values. None when there are too few samples for
    it to be more than the maximum (P95 needs 20, P99 100)."""
    if len(values) < MIN_SAMPLES.get(p, 1):
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p * len(ordered) / 100) - 1)]


def pct(values: list[float], p: float) -> float | None:
    """percentile() rounded to 0.1 for the tables."""
    value = percentile(values, p)
    return None if value is None else round(value, 1)


def latency(ms: list[float], prefix: str = "") -> dict:
    """P50 / P95 / P99 / mean of latencies in ms, with the sample count they come from."""
    return {f"{prefix}p50_ms": pct(ms, 50), f"{prefix}p95_ms": pct(ms, 95), f"{prefix}p99_ms": pct(ms, 99),
            f"{prefix}mean_ms": round(statistics.mean(ms), 1) if ms else None, f"{prefix}samples": len(ms)}


def git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).parent).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _fmt(value) -> str:
    return f"{value:,.1f}" if isinstance(value, float) else str(value if value is not None else "-")


def _stack_roots() -> tuple[str, ...]:
    from hellohome.config import load_settings

    settings = load_settings()
    return (str(settings.stack_dir), str(settings.cache_dir), "consumers.", "serving.wsgi", "supervisord",
            "hellohome.stack.", "redis-server", "moto_server")


def _cpu_seconds() -> dict[int, tuple[float, str]]:
    """pid -> (CPU seconds so far, command line) of every process we may read."""
    found = {}
    for proc in psutil.process_iter(["pid", "cmdline", "cpu_times"]):
        times = proc.info["cpu_times"]
        if times is not None:
            found[proc.info["pid"]] = (times.user + times.system, " ".join(proc.info["cmdline"] or []))
    return found


class Conditions:
    """What the machine was doing while a benchmark ran: load average, and the CPU the stack under test,
    the benchmark itself and everything else used (a busy neighbour inflates every figure).

        with Conditions(warm=True, force_merged=False) as conditions: ...
        save(name, params, results, conditions)
    """

    def __init__(self, **declared):
        self.declared = declared  # what the caller knows: warm or cold, force-merged, ...
        self.record: dict = {}

    @classmethod
    def begin(cls, **declared) -> Conditions:
        """Start recording now; save() ends the record (for a whole benchmark run)."""
        return cls(**declared).__enter__()

    def __enter__(self) -> Conditions:
        self.started, self.load_start = time.monotonic(), os.getloadavg()[0]
        self.cpu_start = _cpu_seconds()
        return self

    def __exit__(self, *exc) -> None:
        wall = time.monotonic() - self.started
        own = {os.getpid(), *(c.pid for c in psutil.Process().children(recursive=True))}
        roots, used = _stack_roots(), {"benchmark": 0.0, "stack": 0.0, "other": 0.0}
        for pid, (seconds, cmdline) in _cpu_seconds().items():
            delta = seconds - self.cpu_start.get(pid, (0.0, ""))[0]
            kind = "benchmark" if pid in own else "stack" if any(r in cmdline for r in roots) else "other"
            used[kind] += max(0.0, delta)
        cores = os.cpu_count() or 1
        self.record = {**self.declared, "wall_s": round(wall, 1), "load_avg_1m_start": round(self.load_start, 2),
                       "load_avg_1m_end": round(os.getloadavg()[0], 2),
                       **{f"cpu_{k}_s": round(v, 1) for k, v in used.items()},
                       # share of the whole machine (all cores) the processes outside the test used
                       "cpu_other_ratio": round(used["other"] / (wall * cores), 3) if wall else None}


def save(benchmark: str, params: dict, results: list[dict], conditions: Conditions | dict | None = None) -> Path:
    """One file per run, bench/results/<benchmark>/<UTC time>-<commit>.json: runs are kept side by side
    (bench.spread reads them all); earlier single files in bench/results/ are older runs."""
    if isinstance(conditions, Conditions) and not conditions.record:
        conditions.__exit__(None, None, None)
    now, commit = dt.datetime.now(dt.UTC), git_commit()
    doc = {
        "benchmark": benchmark,
        "date": now.isoformat(timespec="seconds"),
        "git_commit": commit,
        "machine": {"cores": os.cpu_count(), "mem_gb": round(psutil.virtual_memory().total / 2**30, 1)},
        "conditions": conditions.record if isinstance(conditions, Conditions) else (conditions or {}),
        "params": params,
        "results": results,
    }
    folder = RESULTS / benchmark
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{now:%Y%m%dT%H%M%SZ}-{commit[:8]}.json"
    while path.exists():  # two runs in one second: never overwrite
        path = path.with_name(path.stem + "-1.json")
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
