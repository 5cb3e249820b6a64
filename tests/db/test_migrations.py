"""Alembic migrations produce exactly the models' schema, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from ecluse.db import current_revision, head_revision
from ecluse.db.models import Base
from ecluse.instance.platform import Platform


def test_schema_matches_models(platform: Platform) -> None:
    assert current_revision(platform.db.engine) == head_revision()
    with platform.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_sqlite_pragmas(platform: Platform) -> None:
    raw = platform.db.engine.raw_connection()
    try:
        cur = raw.cursor()
        values = {
            p: cur.execute(f"PRAGMA {p}").fetchone()[0]
            for p in ("journal_mode", "foreign_keys", "secure_delete", "synchronous")
        }
    finally:
        raw.close()
    assert values == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "secure_delete": 1,
        "synchronous": 2,
    }
