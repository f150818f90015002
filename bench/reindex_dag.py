"""Reindex throughput through Airflow: the `reindex` DAG run by the stack's scheduler, side by side
with the CLI backfill on the same schema (by default the 1M+ generated listings of
`hellohome_bench`, made by `python -m bench.ingest`), no embeddings.

    .venv/bin/python -m bench.reindex_dag [--schema hellohome_bench] [--ranges 4] [--rounds 2]

Each round runs the CLI backfill, then the DAG, so both meet MariaDB and OpenSearch in the same
state. The DAG is triggered over Airflow's REST API, as from the UI; for the run the scheduler is
restarted with this schema and an index prefix of its own in its environment (its task workers
inherit it), and restarted as it was afterwards. Figures: build docs/s (the CLI's build; the
DAG's `start` → `finish`, mapped ranges in parallel: the XCom of `finish`) and the DAG's whole
run (verify row by row, swap, catch-up, prune). Each run kept: bench/results/reindex_dag/.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import requests

from bench.backfill import mariadb_state
from bench.common import Conditions, save
from hellohome.config import get_settings, reload_settings
from hellohome.search import indexes
from hellohome.stack import airflow, services
from hellohome.sync.backfill import backfill


class AirflowApi:
    def __init__(self, settings):
        self.base = airflow.url(settings)
        token = requests.post(f"{self.base}/auth/token", timeout=10, json={
            "username": settings.airflow_admin_user, "password": settings.secret("airflow_admin_password")})
        token.raise_for_status()
        self.headers = {"Authorization": f"Bearer {token.json()['access_token']}"}

    def call(self, method: str, path: str, **kwargs) -> dict:
        response = requests.request(method, f"{self.base}/api/v2{path}", headers=self.headers, timeout=30, **kwargs)
        response.raise_for_status()
        return response.json()

    def run_dag(self, dag_id: str, conf: dict, timeout_s: float = 3600) -> dict:
        """Trigger, wait for the end; returns the run with its task instances and the seconds waited."""
        self.call("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        run = self.call("POST", f"/dags/{dag_id}/dagRuns", json={"conf": conf, "logical_date": None})
        started, deadline = time.perf_counter(), time.monotonic() + timeout_s
        while run["state"] not in ("success", "failed"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{dag_id} run {run['dag_run_id']} still {run['state']} after {timeout_s} s")
            time.sleep(2)
            run = self.call("GET", f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}")
        run["wall_s"] = round(time.perf_counter() - started, 1)
        run["tasks"] = self.call("GET", f"/dags/{dag_id}/dagRuns/{run['dag_run_id']}/taskInstances")["task_instances"]
        return run

    def xcom(self, dag_id: str, run_id: str, task_id: str):
        value = self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/return_value")["value"]
        return json.loads(value) if isinstance(value, str) else value  # the stored JSON, as stored


def cli_round(settings, schema: str, batch_size: int) -> dict:
    case = settings.model_copy(update={"db_name": schema, "index_prefix": "bench-cli-"})
    before = mariadb_state(settings)
    indexes.client(case).indices.delete(index="bench-cli-*", ignore_unavailable=True)
    report = backfill(case, batch_size=batch_size, catch_up=False, progress=False)
    return {"how": "cli", "docs": report.docs, "build_s": round(report.seconds, 1),
            "docs_per_s": round(report.docs_per_s), **{f"start_{k}": v for k, v in before.items()}}


def dag_round(settings, api: AirflowApi, ranges: int, batch_size: int) -> dict:
    before = mariadb_state(settings)
    run = api.run_dag("reindex", {"parallel_ranges": ranges, "batch_size": batch_size, "keep_days": 0})
    states = {t["task_id"] + (f"[{t['map_index']}]" if t["map_index"] >= 0 else ""): t["state"] for t in run["tasks"]}
    if run["state"] != "success":
        raise RuntimeError(f"reindex run {run['dag_run_id']} {run['state']}: {states}")
    finish = api.xcom("reindex", run["dag_run_id"], "finish")
    return {"how": "dag", "ranges": ranges, "docs": finish["docs"], "build_s": finish["seconds"],
            "docs_per_s": round(finish["docs_per_s"]), "run_wall_s": run["wall_s"], "run_id": run["dag_run_id"],
            **{f"start_{k}": v for k, v in before.items()}}


def scheduler_for(environment: dict[str, str]) -> None:
    """Restart the scheduler with these variables in its (and its task workers') environment."""
    os.environ.update(environment)
    settings = reload_settings()
    airflow.SCHEDULER.stop(settings)
    airflow.SCHEDULER.start(settings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schema", default=None, help="default: <HH_DB_NAME>_bench")
    parser.add_argument("--ranges", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    conditions = Conditions.begin(note="rounds alternate CLI then DAG; MariaDB's state at each start: start_innodb_*")
    settings = get_settings()
    services.up(settings)
    schema = args.schema or f"{settings.db_name}_bench"
    saved = {k: os.environ.get(k) for k in ("HH_DB_NAME", "HH_INDEX_PREFIX")}
    indexes.client(settings).indices.delete(index="bench-dag-*", ignore_unavailable=True)
    results = []
    try:
        scheduler_for({"HH_DB_NAME": schema, "HH_INDEX_PREFIX": "bench-dag-"})
        api = AirflowApi(settings)
        for round_no in range(args.rounds):
            for row in (cli_round(settings, schema, args.batch_size), dag_round(settings, api, args.ranges, args.batch_size)):
                results.append({"round": round_no, **row})
                print(row, flush=True)
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)
        scheduler_for({})
        indexes.client(settings).indices.delete(index="bench-cli-*,bench-dag-*", ignore_unavailable=True)
    save("reindex_dag", {"schema": schema, "ranges": args.ranges, "batch_size": args.batch_size,
                         "parallelism": settings.airflow_parallelism, "shards": settings.index_shards,
                         "embeddings": False}, results, conditions)


if __name__ == "__main__":
    main()
