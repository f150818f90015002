"""Continuous binlog archiving to S3, and the chain of archived binlogs a point-in-time restore replays.

Closed binlog files are immutable, so each is uploaded once, with a sidecar (`<file>.json`: size,
sha256, first and last transaction time and GTID, and `covered_until`, the creation time of the
next file: every transaction that started before it is in this file or an earlier one). The RPO
is bounded by rotating the active file once its oldest transaction is `HH_BINLOG_ARCHIVE_AFTER_S`
old (FLUSH BINARY LOGS); a quiet server is not rotated at all.

Event headers are read directly (binlog v4: timestamp, type, server id, length, next position,
flags; 19 bytes): finding the first transaction at or after an instant, and the time range of a
file, needs no SQL decoding, and a transaction is never cut in half.
"""
from __future__ import annotations

import datetime as dt
import logging
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hellohome.backup.database import FULL
from hellohome.backup.store import BackupError, Store
from hellohome.config import Settings
from hellohome.stack.mariadb import admin_connect

log = logging.getLogger(__name__)
PREFIX = "mariadb/binlog/"
MAGIC = b"\xfebin"
HEADER = struct.Struct("<IBIIIH")  # timestamp, type, server_id, event length, next position, flags
GTID_EVENT = 162  # MariaDB: the start of every transaction


@dataclass(frozen=True)
class Transaction:
    pos: int  # offset of its GTID event: where a replay stopping before it ends
    ts: int  # epoch seconds (when it started)
    gtid: str


def sequence(name: str) -> int:
    return int(name.rsplit(".", 1)[1])


def transactions(path: Path) -> Iterator[Transaction]:
    """Every transaction's start in a binlog file (an incomplete last event, in an active file, ends it)."""
    with path.open("rb") as fh:
        if fh.read(4) != MAGIC:
            raise BackupError(f"{path}: not a binlog file (bad magic)")
        pos = 4
        while len(header := fh.read(HEADER.size)) == HEADER.size:
            ts, kind, server_id, length, _next, _flags = HEADER.unpack(header)
            if length < HEADER.size:
                raise BackupError(f"{path}: corrupt event header at {pos}")
            body = fh.read(length - HEADER.size)
            if len(body) < length - HEADER.size:
                return
            if kind == GTID_EVENT:
                seq_no, domain = struct.unpack_from("<QI", body)
                yield Transaction(pos, ts, f"{domain}-{server_id}-{seq_no}")
            pos += length


def first_event_ts(path: Path) -> int:
    with path.open("rb") as fh:
        fh.seek(4)
        return HEADER.unpack(fh.read(HEADER.size))[0]


def describe(path: Path, next_file: Path) -> dict:
    """The sidecar of a closed file."""
    found = list(transactions(path))
    return {"file": path.name, "transactions": len(found),
            "first_ts": found[0].ts if found else None, "last_ts": found[-1].ts if found else None,
            "first_gtid": found[0].gtid if found else None, "last_gtid": found[-1].gtid if found else None,
            "covered_until": first_event_ts(next_file)}


@dataclass
class ArchiveReport:
    uploaded: list[str]
    rotated: bool
    active: str
    oldest_unarchived_ts: int | None  # the oldest transaction only on the server's disk (None: all archived)


def store(settings: Settings) -> Store:
    return Store(settings, settings.backup_bucket)


def archived(bucket: Store) -> dict[str, dict]:
    """file name -> sidecar, for every archived binlog."""
    keys = bucket.keys(PREFIX)
    return {key[len(PREFIX):-5]: bucket.get_json(key) for key in sorted(keys) if key.endswith(".json")
            and key != f"{PREFIX}pruned_before.json"}


def pruned_before(bucket: Store) -> str | None:
    marker = bucket.get_json(f"{PREFIX}pruned_before.json")
    return marker["file"] if marker else None


def _floor(bucket: Store) -> str | None:
    """The first file worth archiving: where the oldest kept full backup starts (older binlogs have
    nothing to be replayed onto); None before the first full backup."""
    marker = pruned_before(bucket)
    if marker is not None:
        return marker
    starts = [m["binlog"]["file"] for m in bucket.documents(FULL)]
    return min(starts, key=sequence) if starts else None


def _server_logs(settings: Settings) -> list[str]:
    with admin_connect(settings) as conn, conn.cursor() as cur:
        cur.execute("SHOW BINARY LOGS")
        return [row[0] for row in cur.fetchall()]


def rotate_if_due(settings: Settings, now_s: float) -> bool:
    """FLUSH BINARY LOGS when the active file holds a transaction older than the archive interval."""
    active = settings.mariadb_dir / "binlog" / _server_logs(settings)[-1]
    first = next(transactions(active), None)
    if first is None or now_s - first.ts < settings.binlog_archive_after_s:
        return False
    with admin_connect(settings) as conn, conn.cursor() as cur:
        cur.execute("FLUSH BINARY LOGS")
    return True


def archive(settings: Settings, *, force_rotate: bool = False, now_s: float | None = None) -> ArchiveReport:
    """Rotate if due (or forced), then upload every closed file not yet archived."""
    now_s = dt.datetime.now(dt.UTC).timestamp() if now_s is None else now_s
    if force_rotate:
        with admin_connect(settings) as conn, conn.cursor() as cur:
            cur.execute("FLUSH BINARY LOGS")
        rotated = True
    else:
        rotated = rotate_if_due(settings, now_s)
    bucket, directory = store(settings), settings.mariadb_dir / "binlog"
    names = _server_logs(settings)
    done = {key[len(PREFIX):-5] for key in bucket.keys(PREFIX) if key.endswith(".json")}  # names only: no reads
    todo = [(name, after) for name, after in zip(names, names[1:], strict=False) if name not in done]  # closed ones
    floor = _floor(bucket) if todo else None
    uploaded = []
    for name, next_name in todo:
        if floor is None or sequence(name) < sequence(floor):
            continue
        entry = bucket.put_file(f"{PREFIX}{name}", directory / name)
        bucket.put_json(f"{PREFIX}{name}.json", {**entry, **describe(directory / name, directory / next_name)})
        uploaded.append(name)
        log.info("binlog archived", extra={"fields": {"file": name, "bytes": entry["size"]}})
    oldest = next(transactions(directory / names[-1]), None)
    return ArchiveReport(uploaded, rotated, names[-1], oldest.ts if oldest else None)


@dataclass(frozen=True)
class Replay:
    """What a point-in-time restore replays: files in order, from a start offset in the first to a
    stop offset in the last (None: to its end)."""
    files: list[dict]
    start_pos: int
    stop_pos: int | None
    stop_ts: float | None  # the instant it stops before (None: a position target)


def chain(bucket: Store, start_file: str, start_pos: int, to_ts: float) -> Replay:
    """The archived files from a full backup's binlog position to the instant `to_ts`; a missing file
    or an instant past what is archived is a BackupError naming the gap and the latest restorable time."""
    files = archived(bucket)
    if start_file not in files:
        raise BackupError(f"binlog chain broken: {start_file}, where the full backup's position is, is not "
                          f"archived; no point-in-time restore from that backup is possible")
    wanted, seq = [], sequence(start_file)
    for name in sorted((n for n in files if sequence(n) >= seq), key=sequence):
        if sequence(name) != seq:
            latest = when(wanted[-1]["covered_until"]) if wanted else "the full backup's own time"
            raise BackupError(f"binlog chain broken: {_name_like(start_file, seq)} is missing from the archive "
                              f"(next archived: {name}); the latest time that can be restored is {latest}")
        wanted.append(files[name])
        if files[name]["covered_until"] >= to_ts:  # every transaction before to_ts is in this file or earlier
            return Replay(wanted, start_pos, None, to_ts)
        seq += 1
    covered = when(wanted[-1]["covered_until"])
    raise BackupError(f"binlogs are archived up to {covered} only, and {when(to_ts)} is later: the latest time "
                      f"that can be restored is {covered} (run `hellohome backup binlogs` to archive what the server "
                      f"has now)")


def chain_to_position(bucket: Store, start_file: str, start_pos: int, to_file: str, to_pos: int) -> Replay:
    """The archived files from a full backup's position to a checkpoint's (file, offset)."""
    files = archived(bucket)
    wanted = []
    for seq in range(sequence(start_file), sequence(to_file) + 1):
        name = _name_like(start_file, seq)
        if name not in files:
            latest = when(wanted[-1]["covered_until"]) if wanted else "the full backup's own time"
            raise BackupError(f"binlog chain broken: {name} is missing from the archive; the latest time that "
                              f"can be restored is {latest}" + (" (is the archiver running? `hellohome backup "
                                                                "binlogs` archives now)" if seq == sequence(to_file) else ""))
        wanted.append(files[name])
    return Replay(wanted, start_pos, to_pos, None)


def _name_like(example: str, seq: int) -> str:
    stem, digits = example.rsplit(".", 1)
    return f"{stem}.{seq:0{len(digits)}d}"


def when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def stop_position(path: Path, to_ts: float, start_pos: int = 4) -> int | None:
    """Offset of the first transaction at or after `to_ts` (None: every transaction is before it)."""
    return next((t.pos for t in transactions(path) if t.pos >= start_pos and t.ts >= to_ts), None)
