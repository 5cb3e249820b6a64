"""A run whose lease ended: the worker records it as abandoned and removes what it half
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


def test_a_run_whose_lease_ended_is_abandoned_and_its_temporaries_removed(
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

    assert sweep(platform).abandoned == 0  # its lease runs, its process is alive
    later = datetime.now(UTC) + timedelta(seconds=platform.settings.extraction_lease_seconds + 1)
    assert sweep(platform, now=later).abandoned == 1  # not renewed in time: taken away
    assert _temporaries(store) == []
    with platform.db.transaction() as s:
        run_row = s.execute(select(Extraction)).scalar_one()
        assert run_row.state == "abandoned" and run_row.error.startswith("abandoned")
        event = s.execute(
            select(AuditEvent).where(AuditEvent.action == "packages:extraction:abandoned")
        ).scalar_one()
        assert '"lease ended"' in event.details and '"files_removed":3' in event.details

    resume.set()  # it wakes up after all: it cannot commit anything
    thread.join(30)
    assert len(errors) == 1 and isinstance(errors[0], ValidationError)
    assert "abandoned" in str(errors[0])
    with platform.db.transaction() as s:
        assert s.execute(select(Package)).all() == []
        assert s.execute(select(Blob.kind).where(Blob.kind != "selfcheck")).all() == []
        assert s.execute(select(Extraction.state)).scalar_one() == "abandoned"
    assert [p for p in store.rglob("*") if p.is_file()] == []
