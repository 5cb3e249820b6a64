"""A run that a crash cut short: the worker records it as failed and removes what it half
wrote; were it to wake up after all, it could not commit."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from ecluse.db.models import AuditEvent, Blob, Extraction, Package
from ecluse.errors import ValidationError
from ecluse.worker import sweep
from tests.age_tools import Identity
from tests.packages.conftest import Migration


def _temporaries(root: Path) -> list[Path]:
    return list(root.glob("*/.*.tmp"))


def test_an_abandoned_run_is_failed_and_its_temporaries_removed(
    migration: Migration, identity: Identity
) -> None:
    platform = migration.platform
    iid = migration.instruct(expected_rows=migration.export.frame.height)
    stuck, resume = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def hang(_: int) -> None:  # the process stops answering halfway through
        stuck.set()
        resume.wait(30)

    def run() -> None:
        try:
            migration.run("olga", iid, progress=hang)
        except BaseException as e:  # the test inspects it
            errors.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    assert stuck.wait(30)
    store = platform.settings.store_dir
    assert len(_temporaries(store)) == 3  # quarantine, package, row digests: being written

    assert sweep(platform).abandoned == 0  # a run of a few seconds is not abandoned
    later = datetime.now(UTC) + timedelta(hours=platform.settings.quarantine_ttl_hours + 1)
    assert sweep(platform, now=later).abandoned == 1
    assert _temporaries(store) == []
    with platform.db.transaction() as s:
        run_row = s.execute(select(Extraction)).scalar_one()
        assert run_row.state == "failed" and run_row.error.startswith("abandoned")
        failed = s.execute(
            select(AuditEvent).where(AuditEvent.action == "packages:extraction:failed")
        ).scalar_one()
        assert "Abandoned" in failed.details

    resume.set()  # it wakes up after all: it cannot commit anything
    thread.join(30)
    assert len(errors) == 1 and isinstance(errors[0], ValidationError)
    assert "abandoned" in str(errors[0])
    with platform.db.transaction() as s:
        assert s.execute(select(Package)).all() == []
        assert s.execute(select(Blob.kind).where(Blob.kind != "selfcheck")).all() == []
        assert s.execute(select(Extraction.state)).scalar_one() == "failed"
    assert [p for p in store.rglob("*") if p.is_file()] == []
