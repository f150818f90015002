"""
### Backups (daily, 02:00 UTC)

* **MariaDB full backup**: `mariadb-backup` (physical, consistent) of the application database,
  zstd-compressed, to `s3://hellohome-backups/mariadb/full/<id>/` with a manifest (binlog position
  and GTID, sizes, sha256) and a checkpoint (row counts and checksums right after it).
* **OpenSearch snapshot** of the live indexes (incremental), its repository files copied to
  `s3://hellohome-snapshots/` with a manifest (sha256 of every file, document counts).
* **Prune** (only once both succeeded): 7 daily, 4 weekly, 3 monthly for backups and snapshots;
  binlogs and checkpoints from the oldest kept backup on.

Binlogs are archived continuously by the `binlog-archiver` service (RPO: minutes), not here.
Each success is recorded in `status/<kind>.json` (exposed on the archiver's /metrics as
`hellohome_backup_last_success_timestamp_seconds`); a failure alerts. Library: `hellohome.backup`.
"""
from __future__ import annotations

from airflow.sdk import Param, dag, task

from hellohome.batch.defaults import DAG_DEFAULTS, settings


@dag(dag_id="backups", schedule="0 2 * * *", doc_md=__doc__, tags=["backup", "mariadb", "opensearch", "s3"],
     **DAG_DEFAULTS, params={"prune": Param(True, type="boolean", description="apply retention after the backups")})
def backups():
    @task
    def mariadb_full() -> dict:
        from hellohome.backup.database import full_backup

        manifest = full_backup(settings())
        return {"id": manifest["id"], "binlog": manifest["binlog"], "bytes": manifest["objects"][0]["size"]}

    @task
    def opensearch_snapshot() -> dict:
        from hellohome.backup.snapshots import snapshot_live

        manifest = snapshot_live(settings())
        return {"id": manifest["id"], "indices": manifest["indices"], "uploaded_files": manifest["uploaded_files"]}

    @task
    def prune(params=None) -> dict:
        from hellohome.backup.retention import prune as apply

        report = apply(settings(), dry_run=not params["prune"])
        return {kind: {"pruned": len(part["pruned"])} for kind, part in report.items()}

    [mariadb_full(), opensearch_snapshot()] >> prune()


backups()
