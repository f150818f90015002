"""Alembic driven from code, so `hellohome db migrate` needs no alembic.ini."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

from hellohome.config import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(settings: Settings | None = None, database: str | None = None) -> Config:
    """Without settings: the scripts only (enough to read revisions, not to run them)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if settings is not None:
        # '%' in a password would be read as interpolation by configparser
        cfg.set_main_option("sqlalchemy.url", settings.db_url("owner", database).replace("%", "%%"))
    return cfg


def upgrade(settings: Settings, revision: str = "head", database: str | None = None) -> None:
    command.upgrade(alembic_config(settings, database), revision)


def downgrade(settings: Settings, revision: str, database: str | None = None) -> None:
    command.downgrade(alembic_config(settings, database), revision)


def current_revision(settings: Settings, database: str | None = None) -> str | None:
    engine = create_engine(settings.db_url("owner", database), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
