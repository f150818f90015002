"""Retention: 7 daily, 4 weekly, 3 monthly (HH_BACKUP_KEEP_*), for full backups, archived binlogs,
checkpoints and OpenSearch snapshots.

The policy is restic's `forget --keep-daily/--keep-weekly/--keep-monthly`, well known and easy to
check: walking from the newest backup back, keep the newest one of each of the last N days that
have a backup (then of N ISO weeks, then of N months). A missed day is not counted, so a failing
job never lets pruning eat into what is left. Binlogs are kept from the oldest retained full
backup's position on (every retained backup can still be rolled forward to any later instant);
checkpoints, as long as that window.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable

from hellohome.backup import binlog, snapshots
from hellohome.backup.database import CHECKPOINTS, FULL, checkpoints, full_backups
from hellohome.backup.store import Store
from hellohome.config import Settings

Bucket = Callable[[dt.datetime], Hashable]
PERIODS: dict[str, Bucket] = {
    "daily": lambda t: t.date(),
    "weekly": lambda t: t.isocalendar()[:2],
    "monthly": lambda t: (t.year, t.month),
}


def to_keep(taken: dict[str, dt.datetime], daily: int, weekly: int, monthly: int) -> dict[str, list[str]]:
    """id -> the rules that keep it (every id missing from the result is to be pruned)."""
    newest_first = sorted(taken.items(), key=lambda item: item[1], reverse=True)
    reasons: dict[str, list[str]] = {}
    for period, count in (("daily", daily), ("weekly", weekly), ("monthly", monthly)):
        bucket_of, seen = PERIODS[period], []
        for ident, at in newest_first:
            bucket = bucket_of(at.astimezone(dt.UTC))
            if bucket in seen:
                continue
            if len(seen) == count:
                break
            seen.append(bucket)
            reasons.setdefault(ident, []).append(period)
    return reasons


def _policy(settings: Settings, taken: dict[str, dt.datetime]) -> dict[str, list[str]]:
    return to_keep(taken, settings.backup_keep_daily, settings.backup_keep_weekly, settings.backup_keep_monthly)


def prune(settings: Settings, dry_run: bool = False) -> dict:
    """Apply the policy in S3 (and to the snapshot repository); returns what was kept and pruned."""
    bucket = Store(settings, settings.backup_bucket)
    backups = {m["id"]: m for m in full_backups(settings)}
    keep = _policy(settings, {i: dt.datetime.fromisoformat(m["started"]) for i, m in backups.items()})
    gone = [i for i in backups if i not in keep]
    report: dict = {"mariadb_full": {"kept": keep, "pruned": gone}}
    oldest = min((backups[i] for i in keep), key=lambda m: m["started"], default=None)
    old_binlogs: list[str] = []
    old_points: list[str] = []
    if oldest is not None:
        floor = binlog.sequence(oldest["binlog"]["file"])
        old_binlogs = [name for name in binlog.archived(bucket) if binlog.sequence(name) < floor]
        since = dt.datetime.fromisoformat(oldest["started"]).timestamp()
        old_points = [p.id for p in checkpoints(settings) if p.ts < since]
    report["binlogs"] = {"pruned": old_binlogs, "kept_from": oldest["binlog"]["file"] if oldest else None}
    report["checkpoints"] = {"pruned": old_points}
    shots = {m["id"]: dt.datetime.fromisoformat(m["finished"].replace("Z", "+00:00")) for m in snapshots.manifests(settings)}
    keep_shots = _policy(settings, shots)
    report["opensearch_snapshots"] = {"kept": keep_shots, "pruned": [s for s in shots if s not in keep_shots]}
    if dry_run:
        return report
    for ident in gone:
        bucket.delete(list(bucket.keys(f"{FULL}{ident}/")))
    if oldest is not None:
        bucket.put_json(f"{binlog.PREFIX}pruned_before.json", {"file": oldest["binlog"]["file"]})
    bucket.delete([f"{binlog.PREFIX}{name}{ext}" for name in old_binlogs for ext in ("", ".json")])
    bucket.delete([f"{CHECKPOINTS}{ident}.json" for ident in old_points])
    snapshots.delete_snapshots(settings, report["opensearch_snapshots"]["pruned"])
    return report
