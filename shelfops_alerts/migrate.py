"""Apply and inspect database migrations (Alembic), without an alembic.ini on disk."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from shelfops_alerts.config import Settings
from shelfops_alerts.db import get_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: Serialises concurrent `db upgrade` runs (several containers starting at once).
_ADVISORY_LOCK_KEY = 0x5E1F0B5


def _config(settings: Settings) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", settings.sqlalchemy_url.reveal().replace("%", "%%"))
    return config


def upgrade(settings: Settings, revision: str = "head") -> str | None:
    """Bring the database to ``revision``; running it again is harmless. Returns the new level."""
    config = _config(settings)
    with get_engine(settings).begin() as connection:
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_ADVISORY_LOCK_KEY})")
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return current_revision(settings)


def current_revision(settings: Settings) -> str | None:
    """The migration level the database is at (None for an empty database)."""
    with get_engine(settings).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(settings: Settings) -> str | None:
    """The newest migration this code knows."""
    return ScriptDirectory.from_config(_config(settings)).get_current_head()
