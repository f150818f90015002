"""Alembic driven from code, so `hellohome db migrate` needs no alembic.ini."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

from hellohome.config import get_settings

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # '%' in a password would be read as interpolation by configparser
    cfg.set_main_option("sqlalchemy.url", get_settings().db_url("owner", database).replace("%", "%%"))
    return cfg


def upgrade(revision: str = "head", database: str | None = None) -> None:
    command.upgrade(alembic_config(database), revision)


def downgrade(revision: str, database: str | None = None) -> None:
    command.downgrade(alembic_config(database), revision)


def current_revision(database: str | None = None) -> str | None:
    engine = create_engine(get_settings().db_url("owner", database), poolclass=pool.NullPool)
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
