"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL: the server at 127.0.0.1:5432 when it answers (a throwaway database per worker and
run), else a throwaway cluster of our own when `pg_ctl` exists (tests/pg_cluster.py), else the
PostgreSQL runs are skipped with the reason — and fail instead when ECLUSE_REQUIRE_POSTGRES=1
(as in CI).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text

from ecluse.config import Settings
from ecluse.db import migrate
from ecluse.db.models import Base
from ecluse.instance.platform import Platform
from ecluse.services.setup import init_instance
from tests import pg_cluster
from tests.mail_tools import smtp_server

__all__ = ["smtp_server"]  # a real SMTP server for every test that needs one

SOFTHSM_MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")
LOCAL_PG = os.environ.get(
    "ECLUSE_TEST_PG", "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
)


def _local_pg_answers() -> bool:
    try:
        with psycopg.connect(LOCAL_PG, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _unavailable(reason: str) -> None:
    if os.environ.get("ECLUSE_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL runs are required here but unavailable: {reason}")
    pytest.skip(f"PostgreSQL unavailable: {reason}")


@pytest.fixture(scope="session")
def pg_admin_dsn() -> Iterator[str]:
    """A libpq DSN of a server where we may create databases."""
    if _local_pg_answers():
        yield LOCAL_PG
        return
    reason = pg_cluster.unavailable_reason()
    if reason is not None:
        _unavailable(reason)
    dsn, stop = pg_cluster.start()
    yield dsn
    stop()


@pytest.fixture(scope="session")
def pg_database(pg_admin_dsn: str) -> Iterator[str]:
    """A throwaway database for this worker's run, migrated once; dropped at the end."""
    name = f"ecluse_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # name is ours, not input
    params = dict(p.split("=", 1) for p in pg_admin_dsn.split())
    url = f"postgresql+psycopg://{params['user']}@{params['host']}:{params['port']}/{name}"
    engine = create_engine(url)
    migrate(engine)
    engine.dispose()
    yield url
    with psycopg.connect(pg_admin_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _truncate(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:  # security reports are never deleted, except between tests
        conn.execute(text("ALTER TABLE security_reports DISABLE TRIGGER security_reports_kept"))
        conn.execute(text(f"TRUNCATE {tables} CASCADE"))
        conn.execute(text("ALTER TABLE security_reports ENABLE TRIGGER security_reports_kept"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str | None:
    """None means the embedded default (SQLite in the home); else a clean PostgreSQL."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("pg_database")
    _truncate(url)
    return url


@pytest.fixture
def settings(tmp_path: Path, db_url: str | None) -> Settings:
    return Settings(home=tmp_path / "home", database_url=db_url)


@pytest.fixture
def platform(settings: Settings) -> Iterator[Platform]:
    init_instance(settings, admin_email="ada.admin@lab.example.fr", admin_name="Ada Admin")
    p = Platform.open(settings)
    yield p
    p.close()


# -- SoftHSM2 ----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def softhsm_conf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("softhsm2-util") is None or not SOFTHSM_MODULE.exists():
        pytest.fail("SoftHSM2 is not installed: run `make dev` (scripts/system-deps.sh)")
    root = tmp_path_factory.mktemp("softhsm")
    (root / "tokens").mkdir()
    conf = root / "softhsm2.conf"
    conf.write_text(
        f"directories.tokendir = {root / 'tokens'}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    os.environ["SOFTHSM2_CONF"] = str(conf)
    return conf


@pytest.fixture
def hsm_token(softhsm_conf: Path) -> tuple[str, str]:
    """A freshly initialised token: (label, user PIN)."""
    label, pin = f"t{uuid.uuid4().hex[:10]}", "4829-1174"
    subprocess.run(
        [
            "softhsm2-util",
            "--init-token",
            "--free",
            "--label",
            label,
            "--pin",
            pin,
            "--so-pin",
            "so-9914",
        ],
        check=True,
        capture_output=True,
    )
    return label, pin
