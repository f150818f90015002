"""Engines per (database role, schema), created once per process."""
from __future__ import annotations

from sqlalchemy import Engine, create_engine

from hellohome.config import get_settings

_engines: dict[tuple[str, str | None], Engine] = {}


def get_engine(role: str = "app", database: str | None = None) -> Engine:
    key = (role, database)
    if key not in _engines:
        settings = get_settings()
        _engines[key] = create_engine(
            settings.db_url(role, database), pool_size=settings.db_pool_size, pool_pre_ping=True,
            pool_recycle=3600, pool_timeout=settings.db_timeout_s,
            # fail fast when MariaDB is down, so the API answers 503 instead of hanging
            connect_args={"connect_timeout": max(1, int(settings.db_timeout_s))},
        )
    return _engines[key]


def dispose_engines() -> None:
    while _engines:
        _engines.popitem()[1].dispose()
