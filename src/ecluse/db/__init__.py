"""The metadata database: models, engines and transactions, Alembic migrations.

SQLite (WAL) is the embedded default; PostgreSQL is production. SQL goes only through
SQLAlchemy with bound parameters.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from ecluse.db.session import Database, make_engine, on_rollback, safe_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# Alembic is imported where it is used: every CLI command would otherwise pay for it.

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
    from alembic.config import Config  # noqa: PLC0415 - see above

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the latest revision."""
    from alembic import command  # noqa: PLC0415 - see above

    cfg = _config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - see above

    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext  # noqa: PLC0415 - see above

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
