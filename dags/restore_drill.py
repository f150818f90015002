"""
### Restore drill (weekly, Sunday 04:00 UTC)

Proves the backups restore, and measures how long that takes:

1. checkpoint the live database (consistent snapshot: binlog position, row counts, checksums) and
   archive the binlog up to it;
2. restore the latest full backup into the **scratch MariaDB** (port `HH_RESTORE_DB_PORT`, never the
   live one) and replay the archived binlogs to the checkpoint (point-in-time recovery);
3. compare every table's rows and checksum with the checkpoint;
4. rebuild a scratch index from the restored database with the backfill, and compare it (and the
   live index) with the restored rows;
5. tear down; record `rto_s` and every step's time in `s3://hellohome-backups/drills/<id>.json`.

Any difference fails the task, which alerts. Library: `hellohome.backup.drill`.
"""
from __future__ import annotations

import datetime as dt

from airflow.sdk import Param, dag, task

from hellohome.batch.defaults import DAG_DEFAULTS, settings


@dag(dag_id="restore_drill", schedule="0 4 * * 0", doc_md=__doc__, tags=["backup", "restore", "mariadb"],
     dagrun_timeout=dt.timedelta(hours=2), **DAG_DEFAULTS,
     params={"rebuild": Param(True, type="boolean", description="rebuild and compare a scratch index too")})
def restore_drill():
    @task
    def drill(params=None) -> dict:
        from hellohome.backup.drill import run

        result = run(settings(), rebuild=params["rebuild"])
        return {k: result[k] for k in ("id", "backup", "checkpoint", "rows", "rto_s", "drill_s", "verified")}

    drill()


restore_drill()
