"""Engines and transactions for SQLite (WAL, foreign keys, BEGIN IMMEDIATE) and PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.exc import DBAPIError as SADBAPIError
from sqlalchemy.orm import Session, sessionmaker

from ecluse.errors import ConfigurationError, DatabaseUnavailable

_ROLLBACK_HOOKS = "ecluse.on_rollback"


def safe_url(url: str) -> str:
    """The database URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def make_engine(url: str, *, sqlite_synchronous: str = "FULL") -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise ConfigurationError("ECLUSE_DATABASE_URL is not a valid database URL") from e
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, sqlite_synchronous)
    if parsed.get_backend_name() == "postgresql":
        return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})
    raise ConfigurationError("only SQLite and PostgreSQL databases are supported")


def _sqlite_engine(url: str, synchronous: str) -> Engine:
    if synchronous not in {"FULL", "NORMAL"}:
        raise ConfigurationError("sqlite_synchronous must be FULL or NORMAL")
    engine = create_engine(url, connect_args={"timeout": 60})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        for pragma in (
            "journal_mode=WAL",
            "foreign_keys=ON",
            "secure_delete=ON",
            "busy_timeout=60000",
            f"synchronous={synchronous}",
        ):
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # One writer at a time, taken at the start: no upgrade deadlocks, one audit chain.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def check_reachable(engine: Engine) -> None:
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except (OperationalError, SADBAPIError) as e:
        raise DatabaseUnavailable(
            f"database unreachable at {safe_url(str(engine.url))}: {type(e.orig).__name__}"
        ) from e


def on_rollback(session: Session, hook: Callable[[], None]) -> None:
    """Run `hook` if the transaction of `session` does not commit (e.g. remove a blob file)."""
    session.info.setdefault(_ROLLBACK_HOOKS, []).append(hook)


class Database:
    """Owns the engine and hands out transactions."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits together or not at all."""
        session = self._sessions()
        try:
            with session.begin():
                yield session
        except OperationalError as e:
            _run_rollback_hooks(session)
            raise DatabaseUnavailable(
                f"database error at {safe_url(str(self.engine.url))}: {type(e.orig).__name__}"
            ) from e
        except BaseException:
            _run_rollback_hooks(session)
            raise
        finally:
            session.info.pop(_ROLLBACK_HOOKS, None)
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


def _run_rollback_hooks(session: Session) -> None:
    for hook in reversed(session.info.get(_ROLLBACK_HOOKS, [])):
        with contextlib.suppress(OSError):
            hook()
