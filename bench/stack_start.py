"""Start time and memory of the whole local stack.

    .venv/bin/python -m bench.stack_start            # cached: down, then up from .cache
    .venv/bin/python -m bench.stack_start --settle-s 60 --queries 90   # memory with the API in use
    HH_CACHE_DIR=/tmp/empty .venv/bin/python -m bench.stack_start --case fresh   # downloads included

Every service of today's stack, the supervised indexer, enricher and API included (and supervisord
with its restarter, and Airflow with its PostgreSQL); memory is the peak RSS of each service's process
tree after --settle-s, and the stack's total PSS (shared pages counted once: gunicorn workers and
Airflow's forked task workers share most of theirs, so the RSS sum overstates). Each run is kept: bench/results/stack_start/<time>-<commit>.json.
"""
from __future__ import annotations

import argparse
import time

import psutil
import requests

from bench.common import Conditions, save
from hellohome.config import get_settings
from hellohome.stack import services, supervisor


def _tree(pid: int) -> set[psutil.Process]:
    proc = psutil.Process(pid)
    return {proc, *proc.children(recursive=True)}


def stack_trees(settings) -> dict[str, set[psutil.Process]]:
    trees, counted = {}, set()
    for row in services.status(settings):
        if row["pid"]:
            trees[row["service"]] = _tree(row["pid"])
            counted |= trees[row["service"]]
    if pid := supervisor.process(settings).pid():  # supervisord and its restarter, not their programs
        trees["supervisord"] = _tree(pid) - counted
    return trees


def stack_rss_mb(settings) -> dict[str, float]:
    return {name: sum(p.memory_info().rss for p in tree) / 2**20 for name, tree in stack_trees(settings).items()}


def stack_pss_mb(settings) -> float:
    return sum(p.memory_full_info().pss for tree in stack_trees(settings).values() for p in tree) / 2**20


def search_load(settings, n: int) -> int:
    """n hybrid searches (text → query vector in the worker) through the API; returns those answered 200."""
    texts = ["cozy flat near the castle", "quiet studio with a garden", "loft with a view", "family home near a park"]
    url = f"http://127.0.0.1:{settings.api_port}/api/v1/search"
    return sum(requests.get(url, params={"q": texts[i % len(texts)], "mode": "hybrid"}, timeout=30).status_code == 200
               for i in range(n))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", default="cached", choices=["cached", "fresh"])
    parser.add_argument("--settle-s", type=float, default=20.0, help="wait before sampling memory")
    parser.add_argument("--queries", type=int, default=0,
                        help="hybrid searches through the API before sampling (every worker's model loaded and used)")
    args = parser.parse_args()
    conditions = Conditions.begin(warm=None, note="cache of downloads present; services cold-started")
    settings = get_settings()
    services.down(settings)
    started = time.perf_counter()
    took = services.up(settings)
    total = time.perf_counter() - started
    time.sleep(args.settle_s)
    answered = search_load(settings, args.queries)
    peak, pss = {}, 0.0
    for _ in range(10):  # sample for a few seconds, keep the max per service
        for service, mb in stack_rss_mb(settings).items():
            peak[service] = max(peak.get(service, 0.0), mb)
        pss = max(pss, stack_pss_mb(settings))
        time.sleep(0.5)
    row = {"case": args.case, "total_s": round(total, 1), "queries_before_sampling": answered,
           **{f"{k}_s": round(v, 1) for k, v in took.items()},
           "rss_total_mb": round(sum(peak.values())), "pss_total_mb": round(pss), **{f"{k}_rss_mb": round(v) for k, v in peak.items()}}
    save("stack_start", {"heap_mb": {"kafka": settings.kafka_heap_mb, "connect": settings.connect_heap_mb,
                                      "opensearch": settings.opensearch_heap_mb},
                         "mariadb_buffer_pool_mb": settings.mariadb_buffer_pool_mb,
                         "enricher": settings.enricher_autostart, "airflow": settings.airflow_autostart,
                         "airflow_parallelism": settings.airflow_parallelism, "settle_s": args.settle_s}, [row], conditions)


if __name__ == "__main__":
    main()
