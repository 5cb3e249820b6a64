"""The metadata database: models, engines and transactions, Alembic migrations.

SQLite (WAL) is the embedded default; PostgreSQL is production. SQL goes only through
SQLAlchemy with bound parameters.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from ecluse.db.session import Database, make_engine, on_rollback, safe_url

MIGRATIONS = Path(__file__).parent / "migrations"

__all__ = [
    "Database",
    "current_revision",
    "head_revision",
    "make_engine",
    "migrate",
    "on_rollback",
    "safe_url",
]


def _config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the latest revision."""
    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
