"""The environment a CLI test runs `ecluse` in: its own home, and PostgreSQL when asked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path: Path, db_url: str | None) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("ECLUSE_")}
    base.update({"ECLUSE_HOME": str(tmp_path / "home"), "COLUMNS": "200"})
    if db_url:
        base["ECLUSE_DATABASE_URL"] = db_url
    return base
