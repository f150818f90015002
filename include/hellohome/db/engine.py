"""Engines per (database user, schema, pool settings), created once per process and shared."""
from __future__ import annotations

from sqlalchemy import Engine, create_engine

from hellohome.config import Settings

_engines: dict[tuple, Engine] = {}


def get_engine(settings: Settings, role: str = "app", database: str | None = None) -> Engine:
    """An engine for one of the least-privilege users (owner, app, cdc, readonly) on `database`
    (default: settings.db_name). Keyed by everything that makes it differ, so two settings objects
    never share an engine built for the other."""
    url = settings.db_url(role, database)
    key = (url, settings.db_pool_size, settings.db_timeout_s)
    if key not in _engines:
        _engines[key] = create_engine(
            url, pool_size=settings.db_pool_size, pool_pre_ping=True, pool_recycle=3600,
            pool_timeout=settings.db_timeout_s,
            # fail fast when MariaDB is down, so the API answers 503 instead of hanging
            connect_args={"connect_timeout": max(1, int(settings.db_timeout_s))},
        )
    return _engines[key]


def dispose_engines() -> None:
    while _engines:
        _engines.popitem()[1].dispose()
