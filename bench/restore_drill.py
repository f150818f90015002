"""Backup and restore figures per dataset size, and the RPO of the binlog archiver.

    .venv/bin/python -m bench.restore_drill [--cases real,1m] [--rpo-s 180]

For each case (`real`: the 55k listings of the demo schema and its live index; `1m`: the 1M+
generated listings of `hellohome_bench` and `bench-1m-properties`):
  1. a full backup (mariadb-backup | zstd → S3), timed, with its size;
  2. 20,000 row changes after it (prices up, then back), so the restore has binlog to replay;
  3. the `restore_drill` DAG, triggered over Airflow's REST API as from the UI, with the scheduler
     restarted on that schema and prefix: checkpoint, restore into the scratch server, replay,
     verify, rebuild a scratch index, compare, tear down. Its record is read back from S3.
RPO: the archiver service runs at its defaults while a row is written every second; its gauge
`hellohome_binlog_unarchived_oldest_seconds` (age of the oldest transaction not in S3) is sampled
every second: the max is the worst data loss a restore from S3 would have had.
Each run: bench/results/restore_drill/<time>.json; the latest also as bench/results/restore_drill.json.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import threading
import time

import requests

from bench.common import RESULTS, Conditions, percentile, save
from bench.reindex_dag import AirflowApi, scheduler_for
from hellohome.backup import database
from hellohome.backup.store import Store
from hellohome.config import get_settings
from hellohome.stack import services
from hellohome.stack.mariadb import admin_connect

CASES = {"real": ("hellohome", ""), "1m": ("hellohome_bench", "bench-1m-")}
CHANGES = 20_000


def _changes(settings) -> None:
    """Binlog for the replay: CHANGES rows updated twice, ending as they were."""
    with admin_connect(settings, database=settings.db_name) as conn, conn.cursor() as cur:
        for delta in ("+ 1", "- 1"):
            cur.execute(f"UPDATE properties SET price = price {delta} ORDER BY id LIMIT {CHANGES}")  # noqa: S608


def drill_case(base, api: AirflowApi, case: str) -> dict:
    schema, prefix = CASES[case]
    settings = base.model_copy(update={"db_name": schema, "index_prefix": prefix})
    started = time.perf_counter()
    manifest = database.full_backup(settings)
    backup_s = time.perf_counter() - started
    _changes(settings)
    scheduler_for({"HH_DB_NAME": schema, "HH_INDEX_PREFIX": prefix})
    run = api.run_dag("restore_drill", {"rebuild": True}, timeout_s=3600)
    if run["state"] != "success":
        raise RuntimeError(f"restore_drill {run['dag_run_id']}: {run['state']}")
    drill = api.xcom("restore_drill", run["dag_run_id"], "drill")
    record = Store(settings, settings.backup_bucket).get_json(f"drills/{drill['id']}.json")
    restore = record["restore_s"]
    return {"case": case, "schema": schema, "rows": record["rows"], "backup_s": round(backup_s, 1),
            "backup_bytes": manifest["objects"][0]["size"], "source_bytes": manifest["source_bytes"],
            "restore_s": round(sum(restore.values()), 1), "replay_s": restore["replay"], "restore_parts_s": restore,
            "rebuild_s": record["rebuild"]["seconds"], "rebuild_docs": record["rebuild"]["documents"],
            "rto_s": record["rto_s"], "drill_s": record["drill_s"], "dag_run_wall_s": run["wall_s"],
            "verified": record["verified"], "live_vs_restored": record["live_vs_restored"],
            "dag_run_id": run["dag_run_id"], "drill_id": record["id"]}


def rpo(settings, seconds: float) -> dict:
    """Sample the archiver's gauge while a row is written every second."""
    archiver = services.get("binlog-archiver")
    archiver.start(settings)
    stop, samples = threading.Event(), []

    def write() -> None:
        with admin_connect(settings, database="hellohome_bench") as conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS rpo_probe (id INT AUTO_INCREMENT PRIMARY KEY, at DOUBLE)")
            while not stop.wait(1.0):
                cur.execute("INSERT INTO rpo_probe (at) VALUES (%s)", (time.time(),))

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    deadline = time.monotonic() + seconds
    gauge = re.compile(r"^hellohome_binlog_unarchived_oldest_seconds (\S+)$", re.M)
    while time.monotonic() < deadline:
        text = requests.get(f"http://127.0.0.1:{settings.backup_metrics_port}/metrics", timeout=5).text
        if found := gauge.search(text):
            samples.append(float(found.group(1)))
        time.sleep(1.0)
    stop.set()
    writer.join()
    with admin_connect(settings, database="hellohome_bench") as conn, conn.cursor() as cur:
        cur.execute("DROP TABLE rpo_probe")
    return {"case": "rpo", "seconds": seconds, "samples": len(samples), "rpo_max_s": round(max(samples), 1),
            "rpo_p50_s": round(percentile(samples, 50), 1), "rpo_p95_s": round(percentile(samples, 95), 1),
            "archive_after_s": settings.binlog_archive_after_s, "poll_s": settings.binlog_archive_poll_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default="real,1m", help=f"comma-separated: {', '.join(CASES)}")
    parser.add_argument("--rpo-s", type=float, default=180, help="how long to sample the RPO (0: skip)")
    args = parser.parse_args()
    conditions = Conditions.begin(note="whole stack up (indexer, enricher, API, Airflow); drills run one at a time "
                                       "by the stack's scheduler; warm page cache for the backup reads")
    settings = get_settings()
    services.up(settings)
    api, results = AirflowApi(settings), []
    saved = {k: os.environ.get(k) for k in ("HH_DB_NAME", "HH_INDEX_PREFIX")}
    try:
        for case in args.cases.split(","):
            row = drill_case(settings, api, case.strip())
            results.append(row)
            print(json.dumps(row), flush=True)
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
        scheduler_for({})
    if args.rpo_s:
        results.append(rpo(settings, args.rpo_s))
        print(json.dumps(results[-1]), flush=True)
    path = save("restore_drill", {"changes_replayed": 2 * CHANGES, "compress": f"zstd -{settings.backup_compress_level}",
                                  "goal_rto_s": {"real": 300, "1m": 900}, "goal_rpo_s": 300}, results, conditions)
    shutil.copyfile(path, RESULTS / "restore_drill.json")


if __name__ == "__main__":
    main()
