"""`hellohome backup ...` and `hellohome restore ...`: thin over hellohome.backup."""
from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

import typer

from hellohome.config import get_settings
from hellohome.errors import BadRequest

backup_app = typer.Typer(help="Backups to S3: MariaDB full + binlogs, OpenSearch snapshots, retention.",
                         no_args_is_help=True)
restore_app = typer.Typer(help="Restores into a scratch MariaDB / scratch indexes, and the restore drill.",
                          no_args_is_help=True)


def _print(value) -> None:
    typer.echo(json.dumps(value, indent=2, sort_keys=True, default=str))


@backup_app.command("mariadb")
def backup_mariadb() -> None:
    """A full physical backup (mariadb-backup | zstd) of the application database to S3, with its manifest."""
    from hellohome.backup import database

    manifest = database.full_backup(get_settings())
    _print({k: manifest[k] for k in ("id", "binlog", "objects", "checkpoint")})


@backup_app.command("binlogs")
def backup_binlogs(rotate: Annotated[bool, typer.Option(help="close the active binlog first, so every "
                                                         "committed transaction is archived")] = True) -> None:
    """Archive every closed binlog file not yet in S3 (the archiver service does this continuously)."""
    from hellohome.backup import binlog

    report = binlog.archive(get_settings(), force_rotate=rotate)
    _print({"uploaded": report.uploaded, "active": report.active})


@backup_app.command("opensearch")
def backup_opensearch() -> None:
    """Snapshot the live indexes (incremental) and copy the repository's new files to S3."""
    from hellohome.backup import snapshots

    manifest = snapshots.snapshot_live(get_settings())
    _print({k: manifest[k] for k in ("id", "indices", "bytes", "uploaded_files")})


@backup_app.command("checkpoint")
def backup_checkpoint() -> None:
    """Record what the database holds now (binlog position, row counts, checksums) for later verification."""
    from hellohome.backup import database

    point = database.checkpoint(get_settings())
    _print({"id": point.id, "at": point.at, "binlog": f"{point.binlog_file}:{point.binlog_pos}",
            "rows": {t: v["rows"] for t, v in point.tables.items()}})


@backup_app.command("prune")
def backup_prune(dry_run: Annotated[bool, typer.Option("--dry-run", help="say what would go, delete nothing")] = False) -> None:
    """Apply retention (HH_BACKUP_KEEP_DAILY/WEEKLY/MONTHLY) to backups, binlogs, checkpoints and snapshots."""
    from hellohome.backup import retention

    _print(retention.prune(get_settings(), dry_run=dry_run))


@backup_app.command("list")
def backup_list() -> None:
    """Full backups, archived binlogs, snapshots and the last success of each kind."""
    from hellohome.backup import binlog, database, snapshots
    from hellohome.backup.store import Store

    settings = get_settings()
    bucket = Store(settings, settings.backup_bucket)
    _print({"mariadb_full": [{k: m[k] for k in ("id", "finished", "binlog")} for m in database.full_backups(settings)],
            "binlogs": {name: {"covered_until": dt.datetime.fromtimestamp(s["covered_until"], dt.UTC).isoformat(),
                               "bytes": s["size"]} for name, s in binlog.archived(bucket).items()},
            "opensearch_snapshots": [{"id": m["id"], "indices": m["indices"]} for m in snapshots.manifests(settings)],
            "last_success": {kind: (bucket.get_json(f"status/{kind}.json") or {}).get("at")
                             for kind in ("mariadb_full", "binlog_archive", "opensearch_snapshot", "restore_drill")}})


def parse_time(value: str) -> float:
    """'YYYY-MM-DD HH:MM:SS' (UTC, or with an explicit offset) -> epoch seconds; BadRequest naming the option."""
    try:
        at = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadRequest(f"--to-time: {value!r} is not a time like '2026-12-05 14:30:00' (UTC)") from None
    return (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).timestamp()


@restore_app.command("mariadb")
def restore_mariadb(to_time: Annotated[str, typer.Option(help="restore every transaction that started before this "
                                                         "instant, 'YYYY-MM-DD HH:MM:SS' UTC")]) -> None:
    """Point-in-time restore into the scratch server (HH_RESTORE_DB_PORT); it stays up for a look."""
    from hellohome.backup import drill

    report = drill.point_in_time(get_settings(), parse_time(to_time))
    _print(report)
    raise typer.Exit(0 if report["verified"] or report["verified_against"] is None else 1)


@restore_app.command("opensearch")
def restore_opensearch(snapshot: Annotated[str | None, typer.Option(help="snapshot id (default: the newest)")] = None) -> None:
    """Restore a snapshot from S3 into scratch indexes `restored-<index>` and compare document counts."""
    from hellohome.backup import snapshots

    report = snapshots.restore_snapshot(get_settings(), snapshot)
    _print(report)
    raise typer.Exit(0 if report["verified"] else 1)


@restore_app.command("drill")
def restore_drill(rebuild: Annotated[bool, typer.Option(help="also rebuild a scratch index from the restored "
                                                        "database and compare")] = True) -> None:
    """The weekly drill, now: checkpoint, restore, replay, verify, rebuild, compare, tear down, record."""
    from hellohome.backup import drill

    _print(drill.run(get_settings(), rebuild=rebuild, progress=True))


@restore_app.command("teardown")
def restore_teardown() -> None:
    """Stop the scratch server and delete its data."""
    from hellohome.backup.restore import ScratchServer

    typer.echo("scratch server stopped and removed" if ScratchServer(get_settings()).teardown()
               else "no scratch server was running (its files are removed)")
