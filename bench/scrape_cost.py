"""What monitoring costs on this box: CPU and memory of every exporter, Prometheus and Alertmanager,
and how long each target takes to scrape (the JMX agents run inside the Kafka and Connect JVMs, so
their cost is their scrape time, not a process of their own).

    .venv/bin/python -m bench.scrape_cost                 # 3 windows of 60 s, the stack as it runs
    .venv/bin/python -m bench.scrape_cost --windows 5 --window-s 120

CPU is measured per process tree with psutil over each window (4 scrapes at 15 s), memory is the
RSS at the window's end; the figures are the median and the range over the windows. Each run is
kept: bench/results/scrape_cost/<time>-<commit>.json.
"""
from __future__ import annotations

import argparse
import statistics
import time

import psutil
import requests

from bench.common import Conditions, save
from hellohome.config import get_settings
from hellohome.stack import alertmanager, consumer, exporters, prometheus

MONITORING = [*exporters.SERVICES, consumer.OPENSEARCH_EXPORTER, prometheus.SERVICE, alertmanager.SERVICE]


def _tree_cpu_rss(pid: int) -> tuple[float, int]:
    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    times = [p.cpu_times() for p in procs]
    return sum(t.user + t.system for t in times), sum(p.memory_info().rss for p in procs)


def scrape_seconds(settings) -> dict[str, float]:
    answer = requests.get(f"http://127.0.0.1:{settings.prometheus_port}/api/v1/query", timeout=10,
                          params={"query": "max by (job) (scrape_duration_seconds)"}).json()
    return {r["metric"]["job"]: float(r["value"][1]) for r in answer["data"]["result"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--window-s", type=float, default=60.0)
    args = parser.parse_args()
    settings = get_settings()
    pids = {s.name: s.pid(settings) for s in MONITORING}
    missing = [n for n, p in pids.items() if p is None]
    if missing:
        raise SystemExit(f"not running: {', '.join(missing)} (hellohome stack up)")
    cpu: dict[str, list[float]] = {n: [] for n in pids}
    rss: dict[str, list[float]] = {n: [] for n in pids}
    scrape: dict[str, list[float]] = {}
    with Conditions(warm=True, load="the stack idle but for its own background work") as conditions:
        for _ in range(args.windows):
            before = {n: _tree_cpu_rss(p)[0] for n, p in pids.items()}
            time.sleep(args.window_s)
            for name, pid in pids.items():
                seconds, resident = _tree_cpu_rss(pid)
                cpu[name].append((seconds - before[name]) / args.window_s)
                rss[name].append(resident / 2**20)
            for job, took in scrape_seconds(settings).items():
                scrape.setdefault(job, []).append(took)
    rows = [{"process": name, "cpu_cores_median": round(statistics.median(cpu[name]), 4),
             "cpu_cores_range": [round(min(cpu[name]), 4), round(max(cpu[name]), 4)],
             "rss_mb_median": round(statistics.median(rss[name]), 1)} for name in pids]
    rows.append({"process": "all monitoring", "cpu_cores_median": round(sum(r["cpu_cores_median"] for r in rows), 4),
                 "rss_mb_median": round(sum(r["rss_mb_median"] for r in rows), 1)})
    rows += [{"process": f"scrape {job}", "scrape_s_median": round(statistics.median(v), 4),
              "scrape_s_range": [round(min(v), 4), round(max(v), 4)]} for job, v in sorted(scrape.items())]
    save("scrape_cost", {"windows": args.windows, "window_s": args.window_s,
                         "scrape_interval_s": settings.scrape_interval_s, "cores": psutil.cpu_count()},
         rows, conditions)


if __name__ == "__main__":
    main()
