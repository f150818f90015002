"""The restore drill: prove, on a schedule, that the backups restore and how long that takes.

  checkpoint the source (consistent snapshot: position, row counts, checksums) → rotate and archive
  the binlog → restore the latest full backup into the scratch server and replay to the checkpoint →
  compare every table → rebuild a scratch index from the restored database with the backfill →
  compare it, and the live index, with the restored rows → tear down → record the timings.

`rto_s` is what a real recovery from nothing would take on this box: the database restored and
verified plus its search index rebuilt. The live comparison reports what changed since the
checkpoint (on a quiet system: nothing).
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import asdict

from hellohome.backup import binlog
from hellohome.backup.database import checkpoint, full_backups
from hellohome.backup.restore import ScratchServer, restore_mariadb
from hellohome.backup.store import BackupError, Store, backup_id, record_success
from hellohome.config import Settings
from hellohome.search import indexes
from hellohome.sync import backfill
from hellohome.sync.verify import verify

log = logging.getLogger(__name__)
DRILLS = "drills/"
SCRATCH_PREFIX = "restore-drill-"


def scratch_settings(settings: Settings) -> Settings:
    """The same users and schema, on the scratch server; indexes of its own."""
    return settings.model_copy(update={"db_host": "127.0.0.1", "db_port": settings.restore_db_port,
                                       "index_prefix": f"{SCRATCH_PREFIX}{settings.index_prefix}"})


def _drop_scratch_indexes(settings: Settings) -> None:
    client = indexes.client(settings)
    client.indices.delete(index=f"{SCRATCH_PREFIX}{settings.index_prefix}*", ignore_unavailable=True,
                          allow_no_indices=True, expand_wildcards="all")


def rebuild_index(settings: Settings, progress: bool = False) -> tuple[str, int]:
    """Backfill a scratch properties index from the scratch server; returns (index, documents)."""
    restored = scratch_settings(settings)
    _drop_scratch_indexes(settings)
    client = indexes.client(restored)
    name = indexes.create(client, restored, "properties", restored.index_prefix)
    client.indices.put_settings(index=name, body={"index": {"refresh_interval": "-1"}})
    build = backfill.Build(name, None, version=1, started_ms=int(time.time() * 1000))
    docs = backfill.build_range(restored, build, progress=progress)
    backfill.finish(restored, build)
    return name, docs


def _parity(report) -> dict:
    return {"checked": report.checked, "missing": len(report.missing), "stale": len(report.stale),
            "extra": len(report.extra), "sample": (report.missing + report.stale + report.extra)[:10]}


def run(settings: Settings, *, rebuild: bool = True, keep_scratch: bool = False, progress: bool = False) -> dict:
    """One drill; raises BackupError (after recording the result) unless everything verified."""
    started, clock = dt.datetime.now(dt.UTC), time.perf_counter()
    if not full_backups(settings):
        raise BackupError("restore drill: no full backup to restore (run the `backups` DAG or `hellohome backup mariadb`)")
    point = checkpoint(settings)
    binlog.archive(settings, force_rotate=True)  # the checkpoint's binlog is closed and in S3
    server = ScratchServer(settings)
    result: dict = {"id": backup_id(started), "started": started.isoformat(), "database": settings.db_name,
                    "checkpoint": point.id, "rows": sum(t["rows"] for t in point.tables.values())}
    try:
        restored = restore_mariadb(settings, to_checkpoint=point, server=server)
        result.update({"backup": restored.backup, "restore_s": restored.seconds, "replayed_files": restored.replayed_files,
                       "verified_tables": not restored.differences, "differences": restored.differences})
        rto = restored.rto_s
        if rebuild:
            began = time.perf_counter()
            index, docs = rebuild_index(settings, progress)
            rto += time.perf_counter() - began
            result["rebuild"] = {"index": index, "documents": docs, "seconds": round(time.perf_counter() - began, 2)}
            began = time.perf_counter()
            against = scratch_settings(settings)
            result["rebuilt_vs_restored"] = _parity(verify(against, index=index))
            result["live_vs_restored"] = _parity(verify(against, index=indexes.read_alias("properties", settings.index_prefix)))
            result["compare_s"] = round(time.perf_counter() - began, 2)
        result["rto_s"] = round(rto, 2)
    finally:
        if not keep_scratch:
            server.teardown()
            _drop_scratch_indexes(settings)
    result["drill_s"] = round(time.perf_counter() - clock, 2)
    rebuilt = result.get("rebuilt_vs_restored")
    result["verified"] = bool(result.get("verified_tables")) and (rebuilt is None or rebuilt["missing"] + rebuilt["stale"]
                                                                  + rebuilt["extra"] == 0)
    Store(settings, settings.backup_bucket).put_json(f"{DRILLS}{result['id']}.json", result)
    log.info("restore drill", extra={"fields": {k: result.get(k) for k in ("rto_s", "verified", "rows")}})
    if not result["verified"]:
        raise BackupError(f"restore drill {result['id']} did not verify: {result.get('differences')} "
                          f"{result.get('rebuilt_vs_restored')}")
    record_success(settings, "restore_drill", {"id": result["id"], "rto_s": result["rto_s"]})
    return result


def point_in_time(settings: Settings, at: float) -> dict:
    """`hellohome restore mariadb --to-time`: restore and keep the scratch server up for a look."""
    report = restore_mariadb(settings, to_ts=at)
    return {**asdict(report), "verified": report.verified, "rto_s": report.rto_s,
            "scratch": {"port": settings.restore_db_port, "socket": str(ScratchServer(settings).socket)}}
