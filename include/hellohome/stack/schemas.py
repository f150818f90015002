"""Throwaway schemas on the project's server (tests, benchmarks): same users, same migrations."""
from __future__ import annotations

from hellohome.config import Settings
from hellohome.db import migrate
from hellohome.db.engine import dispose_engines
from hellohome.stack import mariadb


def fresh_schema(settings: Settings, name: str) -> str:
    """Drop and recreate schema `name`, grant the project users on it, migrate it to head."""
    dispose_engines()
    with mariadb.admin_connect(settings) as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    mariadb.bootstrap(settings, database=name)
    migrate.upgrade(settings, "head", database=name)
    return name
