"""MariaDB full backups (mariadb-backup, physical) and checkpoints (what the source held at an instant).

A full backup streams `mariadb-backup --backup` (the `mysql` system schema and the application
database) through zstd into one object, uploaded with a manifest: binlog position and GTID of the
consistent point, sizes, sha256. mariadb-backup reads the server's files, so it runs on the
database host as the OS user owning them (socket authentication as root, like the stack's admin work).

A checkpoint is a consistent snapshot (START TRANSACTION WITH CONSISTENT SNAPSHOT, whose binlog
position MariaDB reports) with every table's row count and content checksum: what a restore to that
point must reproduce. One is taken right after each full backup and by every drill.
"""
from __future__ import annotations

import datetime as dt
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import pymysql

from hellohome.backup.store import BackupError, Store, backup_id, record_success
from hellohome.config import Settings
from hellohome.stack.mariadb import _binary, admin_connect
from hellohome.stack.process import pipe, tail

FULL = "mariadb/full/"
CHECKPOINTS = "mariadb/checkpoints/"
POSITION = re.compile(r"binlog position: filename '([^']+)', position '(\d+)'(?:, GTID of the last change '([^']*)')?")


def _ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def table_checksums(cur, database: str) -> dict[str, dict]:
    """Row count and an order-independent content checksum per table (64 bits of each row's MD5,
    XORed, plus the sum of CRC32s): equal on two servers exactly when the rows are equal, with
    overwhelming probability. Runs in the caller's transaction."""
    cur.execute("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = %s "
                "ORDER BY table_name, ordinal_position", (database,))
    columns: dict[str, list[str]] = {}
    for table, column in cur.fetchall():
        columns.setdefault(table, []).append(_ident(column))
    cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_type = 'BASE TABLE'",
                (database,))
    result = {}
    for (table,) in sorted(cur.fetchall()):
        cols = columns[table]
        row = f"CONCAT_WS('#', {', '.join(cols)}, CONCAT({', '.join(f'ISNULL({c})' for c in cols)}))"
        # identifiers come from the catalogue and are quoted by _ident; there is no user input here
        query = (f"SELECT COUNT(*), COALESCE(SUM(CRC32({row})), 0), "  # noqa: S608
                 f"COALESCE(BIT_XOR(CAST(CONV(LEFT(MD5({row}), 16), 16, 10) AS UNSIGNED)), 0) "
                 f"FROM {_ident(database)}.{_ident(table)}")
        cur.execute(query)
        count, crc, md5 = cur.fetchone()
        result[table] = {"rows": int(count), "checksum": f"{int(md5):016x}-{int(crc):x}"}
    return result


def differences(expected: dict[str, dict], actual: dict[str, dict]) -> list[str]:
    """Every table whose rows or checksum differ, in words."""
    found = []
    for table in sorted(set(expected) | set(actual)):
        want, got = expected.get(table), actual.get(table)
        if want is None or got is None:
            found.append(f"{table}: {'not in the source' if want is None else 'missing after the restore'}")
        elif want != got:
            found.append(f"{table}: {want['rows']} rows ({want['checksum']}) in the source, "
                         f"{got['rows']} ({got['checksum']}) restored")
    return found


@dataclass
class Checkpoint:
    id: str
    at: str  # ISO, UTC
    database: str
    binlog_file: str
    binlog_pos: int
    tables: dict[str, dict]

    @property
    def ts(self) -> float:
        return dt.datetime.fromisoformat(self.at).timestamp()


def checkpoint(settings: Settings, database: str | None = None, upload: bool = True) -> Checkpoint:
    database = database or settings.db_name
    with admin_connect(settings) as conn, conn.cursor() as cur:
        cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        cur.execute("SELECT UTC_TIMESTAMP(6)")
        at = cur.fetchone()[0].replace(tzinfo=dt.UTC)
        cur.execute("SHOW STATUS WHERE variable_name IN ('binlog_snapshot_file', 'binlog_snapshot_position')")
        status = {name.lower(): value for name, value in cur.fetchall()}
        tables = table_checksums(cur, database)
        cur.execute("COMMIT")
    point = Checkpoint(backup_id(at) + f"-{at.microsecond:06d}", at.isoformat(), database,
                       Path(status["binlog_snapshot_file"]).name, int(status["binlog_snapshot_position"]), tables)
    if upload:
        Store(settings, settings.backup_bucket).put_json(f"{CHECKPOINTS}{point.id}.json", asdict(point))
    return point


def checkpoints(settings: Settings) -> list[Checkpoint]:
    bucket = Store(settings, settings.backup_bucket)
    return [Checkpoint(**document) for document in bucket.documents(CHECKPOINTS)]


def _source_bytes(settings: Settings, databases: list[str]) -> int:
    """What the backup holds uncompressed (about): the schemas' files plus InnoDB's shared files."""
    data = settings.mariadb_dir / "data"
    paths = [p for d in databases for p in (data / d).rglob("*") if p.is_file()]
    paths += [p for p in data.glob("ib*") if p.is_file()] + [p for p in data.glob("undo*") if p.is_file()]
    return sum(p.stat().st_size for p in paths)


def full_backup(settings: Settings, database: str | None = None, now: dt.datetime | None = None) -> dict:
    """Stream a consistent physical backup to S3; returns its manifest."""
    database = database or settings.db_name
    started = now or dt.datetime.now(dt.UTC)
    ident = backup_id(started)
    work = settings.scratch_dir / "outgoing" / ident
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    out, log_file = work / "backup.xb.zst", work / "mariadb-backup.log"
    try:
        backup, compress = pipe(
            [_binary("mariadb-backup", "mariabackup"), "--backup", "--user=root", f"--socket={settings.db_socket}",
             f"--databases=mysql {database}", "--stream=xbstream", f"--target-dir={work / 'tmp'}"],
            [_binary("zstd"), "-q", "-T0", f"-{settings.backup_compress_level}", "-o", str(out)], log_file)
        if backup != 0 or compress != 0:
            raise BackupError(f"mariadb-backup failed (exit {backup}, zstd {compress}):\n" + tail(log_file))
        found = POSITION.search(log_file.read_text())
        if found is None:
            raise BackupError("mariadb-backup reported no binlog position (is log_bin on?):\n" + tail(log_file))
        finished = dt.datetime.now(dt.UTC)
        bucket = Store(settings, settings.backup_bucket)
        entry = bucket.put_file(f"{FULL}{ident}/backup.xb.zst", out)
        after = checkpoint(settings, database)  # the source right after: what a restore to that point must hold
        manifest = {"id": ident, "kind": "mariadb-full", "tool": "mariadb-backup", "database": database,
                    "started": started.isoformat(), "finished": finished.isoformat(),
                    "binlog": {"file": found.group(1), "pos": int(found.group(2)), "gtid": found.group(3)},
                    "source_bytes": _source_bytes(settings, ["mysql", database]), "objects": [entry],
                    "checkpoint": after.id, "tables": after.tables}
        bucket.put_json(f"{FULL}{ident}/manifest.json", manifest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    record_success(settings, "mariadb_full", {"id": ident, "bytes": entry["size"]})
    return manifest


def full_backups(settings: Settings) -> list[dict]:
    return list(Store(settings, settings.backup_bucket).documents(FULL))


def server_ok(settings: Settings) -> bool:
    """The live server still answers (a failed restore must never have touched it)."""
    try:
        with admin_connect(settings) as conn:
            conn.ping()
        return True
    except pymysql.MySQLError:
        return False
