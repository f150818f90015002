"""Backups and point-in-time restores against the real MariaDB, S3 API server and OpenSearch: the
operator-error scenario through the CLI, and every refusal (a damaged object, a gap in the binlog
chain, S3 down, a full scratch disk) with the live database untouched."""
from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from hellohome.backup import binlog, database, snapshots
from hellohome.backup.restore import ScratchServer, restore_mariadb
from hellohome.backup.store import BackupError, ChecksumMismatch, Store, StoreUnreachable
from hellohome.search import indexes
from hellohome.stack import services
from hellohome.stack.mariadb import admin_connect

PROBE_ROWS = 500


@pytest.fixture(scope="module")
def full(loaded_db, stack):
    """One full backup of the test schema for the module (each test adds its own binlog on top)."""
    manifest = database.full_backup(stack)
    yield manifest
    ScratchServer(stack).teardown()


def _app_sql(stack, *statements: str) -> None:
    """Statements as the application issues them: over its connection, with the schema as the default
    database (what the binlog replay filters on)."""
    with admin_connect(stack, database=stack.db_name) as conn, conn.cursor() as cur:
        for statement in statements:
            cur.execute(statement)


def _probe(stack, name: str, rows: int = PROBE_ROWS) -> None:
    _app_sql(stack, f"DROP TABLE IF EXISTS {name}",
             f"CREATE TABLE {name} (id INT PRIMARY KEY, note VARCHAR(40), price DECIMAL(10,2) NULL)",
             f"INSERT INTO {name} SELECT seq, CONCAT('row ', seq), IF(seq % 7 = 0, NULL, seq * 1.5) "
             f"FROM seq_1_to_{rows}")


def _wait_past(ts: float) -> float:
    """Sleep into the next whole second after `ts`; returns that second (binlog times are whole seconds)."""
    target = math.floor(ts) + 1
    time.sleep(max(0.0, target - time.time()) + 0.2)
    return float(target)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(Path(sys.executable).with_name("hellohome")), *args], capture_output=True, text=True,
                          timeout=600)


def test_operator_error_a_point_in_time_restore_to_just_before_it_recovers_every_row(full, stack):
    _probe(stack, "backup_probe")  # written after the full backup: only the binlog replay brings it back
    before = database.checkpoint(stack)
    mistake_at = _wait_past(before.ts)
    _app_sql(stack, "DELETE FROM backup_probe WHERE id <= 200", "DROP TABLE backup_probe")
    binlog.archive(stack, force_rotate=True)
    when = dt.datetime.fromtimestamp(mistake_at, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    restored = _cli("restore", "mariadb", "--to-time", when)  # the runbook's command
    assert restored.returncode == 0, restored.stderr[-3000:]
    report = json.loads(restored.stdout)
    assert report["verified"] and report["verified_against"] == before.id and report["differences"] == []
    assert report["backup"] == full["id"] and report["tables"]["backup_probe"]["rows"] == PROBE_ROWS
    with ScratchServer(stack).connect(stack.db_name) as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*), MIN(id), SUM(price IS NULL) FROM backup_probe")
        assert cur.fetchone() == (PROBE_ROWS, 1, PROBE_ROWS // 7)
    with admin_connect(stack, database=stack.db_name) as conn, conn.cursor() as cur:  # the live one: untouched
        cur.execute("SHOW TABLES LIKE 'backup_probe'")
        assert cur.fetchone() is None


def test_a_time_after_the_mistake_restores_the_mistake_too(full, stack):
    """The boundary is exact: one second later than the mistake, the rows are gone in the restore."""
    _probe(stack, "backup_probe_late", rows=50)
    _app_sql(stack, "DELETE FROM backup_probe_late WHERE id <= 20")
    after = database.checkpoint(stack)
    target = _wait_past(after.ts)
    binlog.archive(stack, force_rotate=True)  # closed after the target: the archive covers it
    report = restore_mariadb(stack, to_ts=target)
    assert report.verified and report.verified_against == after.id
    assert report.tables["backup_probe_late"]["rows"] == 30
    _app_sql(stack, "DROP TABLE backup_probe_late")


def test_a_damaged_backup_object_is_refused_by_name(full, stack):
    bucket = Store(stack, stack.backup_bucket)
    key = full["objects"][0]["key"]
    original = bucket.client.get_object(Bucket=stack.backup_bucket, Key=key)["Body"].read()
    bucket.client.put_object(Bucket=stack.backup_bucket, Key=key, Body=original[:-1] + bytes([original[-1] ^ 1]))
    try:
        point = database.checkpoint(stack)
        binlog.archive(stack, force_rotate=True)
        with pytest.raises(ChecksumMismatch, match=f"s3://{stack.backup_bucket}/{key}: sha256 .* does not match"):
            restore_mariadb(stack, to_checkpoint=point)
        assert database.server_ok(stack)
    finally:
        bucket.client.put_object(Bucket=stack.backup_bucket, Key=key, Body=original)


def test_a_gap_in_the_binlog_chain_names_the_missing_file_and_the_latest_restorable_time(full, stack):
    _probe(stack, "backup_probe_gap", rows=10)
    first = binlog.archive(stack, force_rotate=True).uploaded[-1]
    time.sleep(1.1)  # each file closes in a second of its own: the target below lies past the first
    _app_sql(stack, "UPDATE backup_probe_gap SET note = 'second file'")
    second = binlog.archive(stack, force_rotate=True).uploaded[-1]
    time.sleep(1.1)
    _app_sql(stack, "UPDATE backup_probe_gap SET note = 'third file'")
    binlog.archive(stack, force_rotate=True)
    time.sleep(1.1)
    bucket = Store(stack, stack.backup_bucket)
    sidecar = bucket.get_json(f"{binlog.PREFIX}{first}.json")
    bucket.delete([f"{binlog.PREFIX}{second}", f"{binlog.PREFIX}{second}.json"])
    try:
        latest = dt.datetime.fromtimestamp(sidecar["covered_until"], dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        with pytest.raises(BackupError, match=rf"binlog chain broken: {second} is missing from the archive .*"
                                              rf"the latest time that can be restored is {latest}"):
            restore_mariadb(stack, to_ts=time.time() - 0.5)
    finally:
        binlog.archive(stack)  # still on the server's disk: uploaded again
        _app_sql(stack, "DROP TABLE backup_probe_gap")
    assert second in binlog.archived(bucket)
    with pytest.raises(BackupError, match=r"binlogs are archived up to .* the latest time that can be restored"):
        restore_mariadb(stack, to_ts=time.time() + 3600)  # the future is not archived yet


def test_s3_unreachable_is_retried_then_a_clear_failure(stack, unused_tcp_port):
    down = stack.model_copy(update={"s3_port": unused_tcp_port, "backup_s3_attempts": 2})
    started = time.monotonic()
    with pytest.raises(StoreUnreachable, match=rf"S3 at http://127.0.0.1:{unused_tcp_port} .*failed after 2 tries"):
        database.full_backup(down)
    assert time.monotonic() - started < 60
    assert database.server_ok(stack)


def test_a_full_scratch_disk_is_a_clear_error_and_the_live_database_is_untouched(full, stack, tmp_path):
    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(small)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode()[:200]}")
    try:
        cramped = stack.model_copy(update={"restore_dir": small})
        point = database.checkpoint(stack)
        binlog.archive(stack, force_rotate=True)
        with pytest.raises(BackupError, match=rf"scratch path {small}/mariadb: \d+ MB free, the restore needs about "
                                              r"\d+ MB.*live database was not touched"):
            restore_mariadb(cramped, to_checkpoint=point)
        assert database.server_ok(stack)
        assert database.checkpoint(stack, upload=False).tables == point.tables
    finally:
        subprocess.run(["umount", str(small)], check=False)


def test_the_archiver_rotates_only_when_due_and_reports_the_rpo(full, stack):
    binlog.archive(stack, force_rotate=True)
    _probe(stack, "backup_probe_rpo", rows=5)
    now = time.time()
    young = binlog.archive(stack, now_s=now)
    assert not young.rotated and young.oldest_unarchived_ts is not None
    due = binlog.archive(stack, now_s=now + stack.binlog_archive_after_s + 1)
    assert due.rotated and due.uploaded and due.oldest_unarchived_ts is None
    _app_sql(stack, "DROP TABLE backup_probe_rpo")


def test_the_archiver_service_runs_supervised_and_exposes_its_metrics(stack):
    service = services.get("binlog-archiver")
    service.start(stack)
    try:
        deadline, metrics = time.monotonic() + 30, ""
        while 'hellohome_backup_last_success_timestamp_seconds{kind="mariadb_full"}' not in metrics:
            assert time.monotonic() < deadline, metrics[-2000:]
            time.sleep(0.5)
            metrics = requests.get(f"http://127.0.0.1:{stack.backup_metrics_port}/metrics", timeout=5).text
        assert 'hellohome_binlog_archive_runs_total{outcome="ok"}' in metrics
        assert "hellohome_binlog_unarchived_oldest_seconds" in metrics
    finally:
        service.stop(stack)


def test_an_opensearch_snapshot_goes_to_s3_and_restores_into_scratch_indexes(search_settings):
    settings = search_settings
    manifest = snapshots.snapshot_live(settings)
    assert manifest["indices"] and all(count > 0 for name, count in manifest["indices"].items() if "properties" in name)
    again = snapshots.snapshot_live(settings, now=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
    assert again["uploaded_files"] < len(again["objects"])  # incremental: the segments were already there
    restored = snapshots.restore_snapshot(settings, again["id"])
    assert restored["verified"], restored
    client = indexes.client(settings)
    client.indices.delete(index=",".join(restored["indices"]))
    bucket = Store(settings, settings.snapshot_bucket)
    key = next(o["key"] for o in again["objects"] if "/indices/" in o["key"])
    bucket.client.put_object(Bucket=settings.snapshot_bucket, Key=key, Body=b"damaged")
    with pytest.raises(ChecksumMismatch, match=key):
        snapshots.restore_snapshot(settings, again["id"])
    snapshots.delete_snapshots(settings, [manifest["id"], again["id"]])
    assert not [m for m in snapshots.manifests(settings) if m["id"] in (manifest["id"], again["id"])]


def test_prometheus_loaded_the_backup_alert_rules(stack):
    rules = requests.get(f"http://127.0.0.1:{stack.prometheus_port}/api/v1/rules", timeout=5).json()["data"]["groups"]
    backups = next(g for g in rules if g["name"] == "backups")
    assert {"MariaDBFullBackupMissing", "BinlogArchiveBehind", "RestoreDrillOverdue"} <= {r["name"] for r in backups["rules"]}
