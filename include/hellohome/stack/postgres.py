"""The project's own PostgreSQL (Debian's postgresql package): Airflow's metadata database.

Airflow does not support MariaDB, and SQLite is single-writer, so the batch side gets the database
Airflow is developed against. Data, socket and log live under `.stack/postgres`; the superuser is
reachable only over that socket (its directory is private), Airflow connects over TCP on
127.0.0.1 with a generated password (scram-sha-256). PostgreSQL refuses to run as root: as root,
the server runs as the Debian `postgres` user, which then owns `.stack/postgres`.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import psycopg2
from psycopg2 import sql

from hellohome.config import Settings
from hellohome.errors import ServiceError
from hellohome.stack.process import ManagedProcess
from hellohome.stack.service import ProcessService

SUPERUSER = "postgres"
DATABASE = "airflow"


def home(settings: Settings) -> Path:
    return settings.stack_dir / "postgres"


def _bin(name: str) -> str:
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    if versions:
        return str(versions[-1])
    found = shutil.which(name)
    if found:
        return found
    raise ServiceError("postgres", "install", f"{name} not found: install Debian's postgresql (make bootstrap)")


def _run_as() -> str | None:
    return SUPERUSER if os.geteuid() == 0 else None


def url(settings: Settings, driver: str = "postgresql+psycopg2") -> str:
    password = settings.secret("airflow_db_password")
    from sqlalchemy.engine import URL

    return URL.create(driver, username=settings.airflow_db_user, password=password, host="127.0.0.1",
                      port=settings.postgres_port, database=DATABASE).render_as_string(hide_password=False)


def _admin(settings: Settings):
    return psycopg2.connect(host=str(home(settings)), port=settings.postgres_port, user=SUPERUSER,
                            dbname="postgres", connect_timeout=3)


def ping(settings: Settings) -> bool:
    with _admin(settings) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1")
    return True


def _initialize(settings: Settings) -> None:
    d = home(settings)
    d.mkdir(parents=True, exist_ok=True)
    user = _run_as()
    if user:
        shutil.chown(d, user, user)
    d.chmod(0o700)  # the socket lives here: only its owner (and root) may reach the superuser
    if (d / "data" / "PG_VERSION").exists():
        return
    result = subprocess.run([_bin("initdb"), "-D", str(d / "data"), "-U", SUPERUSER, "--auth-local=trust",
                             "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8"],
                            capture_output=True, text=True, user=user, group=user, cwd=d)
    if result.returncode != 0:
        raise ServiceError("postgres", "initdb", f"exit {result.returncode}", (result.stdout + result.stderr)[-3000:])


def _launch(settings: Settings, proc: ManagedProcess) -> None:
    _initialize(settings)
    d = home(settings)
    proc.start([_bin("postgres"), "-D", str(d / "data"), "-p", str(settings.postgres_port), "-c", "listen_addresses=127.0.0.1",
                "-c", f"unix_socket_directories={d}", "-c", "max_connections=100", "-c", "shared_buffers=128MB",
                "-c", "logging_collector=off"], user=_run_as())


def bootstrap(settings: Settings) -> None:
    """Idempotently create Airflow's role (current password) and database."""
    conn = _admin(settings)
    conn.autocommit = True  # CREATE DATABASE cannot run in a transaction
    try:
        with conn.cursor() as cur:
            role, password = settings.airflow_db_user, settings.secret("airflow_db_password")
            cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
            verb = "ALTER" if cur.fetchone() else "CREATE"
            cur.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(role)), (password,))
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            if cur.fetchone() is None:
                cur.execute(sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8'").format(
                    sql.Identifier(DATABASE), sql.Identifier(role)))
    finally:
        conn.close()


def _after_start(settings: Settings) -> None:
    from hellohome.stack.mariadb import ensure_secrets

    bootstrap(ensure_secrets(settings))


SERVICE = ProcessService("postgres", port=lambda s: s.postgres_port, ping=ping, check="SELECT 1 over the unix socket",
                         launch=_launch, after_start=_after_start, workdir=home, stop_timeout_s=60)
