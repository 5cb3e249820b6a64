"""The environment a CLI test runs `ecluse` in: its own home, and PostgreSQL when asked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.mail_tools import Mailbox


@pytest.fixture
def env(tmp_path: Path, db_url: str | None, smtp_server: Mailbox) -> dict[str, str]:
    """With e-mail: enrolment codes go to the test's real SMTP server (`mailbox_of(env)`)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("ECLUSE_")}
    base.update({"ECLUSE_HOME": str(tmp_path / "home"), "COLUMNS": "200", **smtp_server.env})
    if db_url:
        base["ECLUSE_DATABASE_URL"] = db_url
    return base
