"""The `backups` and `restore_drill` DAGs run green through `dag.test()` against the real stack and
leave what monitoring reads: manifests, the drill's record, the last-success timestamps."""
from __future__ import annotations

from hellohome.backup import database, snapshots
from hellohome.backup.store import Store
from tests.dags.conftest import run_dag
from tests.integration.search_fixtures import PREFIX


def test_the_backups_dag_backs_up_mariadb_and_opensearch_then_prunes(dagbag, search_settings, task_settings):
    settings = task_settings(HH_INDEX_PREFIX=PREFIX)
    before = {m["id"] for m in database.full_backups(settings)}
    state, tasks, run = run_dag(dagbag, "backups")
    assert state == "success", tasks
    new = [m for m in database.full_backups(settings) if m["id"] not in before]
    assert len(new) == 1 and new[0]["objects"][0]["size"] > 0 and new[0]["tables"]["properties"]["rows"] > 0
    shots = snapshots.manifests(settings)
    assert shots and shots[-1]["indices"]
    status = Store(settings, settings.backup_bucket).get_json("status/mariadb_full.json")
    assert status["id"] == new[0]["id"]


def test_the_restore_drill_dag_restores_verifies_rebuilds_and_records(dagbag, search_settings, task_settings):
    settings = task_settings(HH_INDEX_PREFIX=PREFIX)
    if not database.full_backups(settings):
        database.full_backup(settings)
    state, tasks, run = run_dag(dagbag, "restore_drill")
    assert state == "success", tasks
    bucket = Store(settings, settings.backup_bucket)
    status = bucket.get_json("status/restore_drill.json")
    drill = bucket.get_json(f"drills/{status['id']}.json")
    assert drill["verified"] and drill["differences"] == [] and drill["rto_s"] > 0
    assert drill["rebuild"]["documents"] == drill["rebuilt_vs_restored"]["checked"] > 0
    assert drill["live_vs_restored"]["missing"] == drill["live_vs_restored"]["stale"] == 0
