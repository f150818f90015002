"""Start time and memory of the whole local stack.

    .venv/bin/python -m bench.stack_start            # cached: down, then up from .cache
    HH_CACHE_DIR=/tmp/empty .venv/bin/python -m bench.stack_start --case fresh   # downloads included

Every service of today's stack, the supervised indexer, enricher and API included (and supervisord
with its restarter); memory is the peak RSS of each service's process tree after --settle-s. Each run
is kept: bench/results/stack_start/<time>-<commit>.json.
"""
from __future__ import annotations

import argparse
import time

import psutil

from bench.common import Conditions, save
from hellohome.config import get_settings
from hellohome.stack import services, supervisor


def _tree(pid: int) -> set[psutil.Process]:
    proc = psutil.Process(pid)
    return {proc, *proc.children(recursive=True)}


def stack_rss_mb(settings) -> dict[str, float]:
    rss, counted = {}, set()
    for row in services.status(settings):
        if row["pid"]:
            tree = _tree(row["pid"])
            counted |= tree
            rss[row["service"]] = sum(p.memory_info().rss for p in tree) / 2**20
    if pid := supervisor.process(settings).pid():  # supervisord and its restarter, not their programs
        rss["supervisord"] = sum(p.memory_info().rss for p in _tree(pid) - counted) / 2**20
    return rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", default="cached", choices=["cached", "fresh"])
    parser.add_argument("--settle-s", type=float, default=20.0, help="wait before sampling memory")
    args = parser.parse_args()
    conditions = Conditions.begin(warm=None, note="cache of downloads present; services cold-started")
    settings = get_settings()
    services.down(settings)
    started = time.perf_counter()
    took = services.up(settings)
    total = time.perf_counter() - started
    time.sleep(args.settle_s)
    peak = {}
    for _ in range(10):  # sample for a few seconds, keep the max per service
        for service, mb in stack_rss_mb(settings).items():
            peak[service] = max(peak.get(service, 0.0), mb)
        time.sleep(0.5)
    row = {"case": args.case, "total_s": round(total, 1),
           **{f"{k}_s": round(v, 1) for k, v in took.items()},
           "rss_total_mb": round(sum(peak.values())), **{f"{k}_rss_mb": round(v) for k, v in peak.items()}}
    save("stack_start", {"heap_mb": {"kafka": settings.kafka_heap_mb, "connect": settings.connect_heap_mb,
                                      "opensearch": settings.opensearch_heap_mb},
                         "mariadb_buffer_pool_mb": settings.mariadb_buffer_pool_mb,
                         "enricher": settings.enricher_autostart, "settle_s": args.settle_s}, [row], conditions)


if __name__ == "__main__":
    main()
