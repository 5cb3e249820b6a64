"""A run whose lease ended: the worker records it as abandoned and removes what it half
wrote; were it to wake up after all, it could not commit."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from sqlalchemy import select

from ecluse.audit.records import verify_database
from ecluse.db.models import AuditEvent, Blob, Extraction, Package
from ecluse.errors import ValidationError
from ecluse.identity import issue
from ecluse.platform import Platform
from ecluse.worker import sweep
from tests.age_tools import Identity
from tests.cli.helpers import ecluse
from tests.packages.conftest import Migration
from tests.recovery_tools import (
    PATIENTS,
    files_in_clear,
    kill,
    plaintext_markers,
    running_runs,
    synthetic,
    temporaries,
    wait_for,
)

__all__ = ["synthetic"]  # the fixture


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


# -- real kills ---------------------------------------------------------------------------------
def _env(platform: Platform, tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECLUSE_")}
    env |= {"ECLUSE_HOME": str(platform.settings.home), "TMPDIR": str(tmp), **extra}
    if platform.settings.database_url:
        env["ECLUSE_DATABASE_URL"] = platform.settings.database_url
    return env


def _feed(fifo: Path, data: bytes, proc: subprocess.Popen[bytes]) -> int:
    """Open the FIFO once the extraction reads it; write `data` (then hold it open)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError as e:  # ENXIO: no reader yet
            if e.errno != errno.ENXIO or proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"ecluse extract never read its source: {e}") from e
            time.sleep(0.02)
    os.set_blocking(fd, True)
    threading.Thread(target=os.write, args=(fd, data), daemon=True).start()
    return fd


def test_a_killed_extraction_is_abandoned_at_the_next_sweep_not_a_day_later(
    migration: Migration, identity: Identity, tmp_path: Path, synthetic: tuple[Path, pl.DataFrame]
) -> None:
    """kill -9 of `ecluse extract` halfway through its source; `ecluse worker --once` run
    at once (well within the lease) recognises the run: the process is gone."""
    platform = migration.platform
    source, rows = synthetic
    iid = migration.instruct(expected_rows=PATIENTS)
    with platform.db.transaction() as s:
        token = issue(s, account_id=migration.parties["olga"].account_id, name="t", days=1).token
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    env = _env(platform, scratch, ECLUSE_TOKEN=token)
    fifo = tmp_path / "export.fifo"
    os.mkfifo(fifo)
    proc = subprocess.Popen(
        [sys.executable, "-m", "ecluse", "extract", "--instruction", iid, "--source", str(fifo)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    fd = _feed(fifo, source.read_bytes()[: 9 << 20], proc)  # then it waits for the rest
    try:
        wait_for(
            "a running run writing its three objects",
            lambda: (
                bool(running_runs(platform))
                and len(temporaries(platform)) == 3
                and max(p.stat().st_size for p in temporaries(platform)) > 4 << 20
            ),
        )
        kill(proc.pid)
        proc.wait(30)
    finally:
        os.close(fd)
    killed_at = time.monotonic()

    swept = ecluse("worker", "--once", env=env)
    assert swept.returncode == 0, swept.stderr
    assert time.monotonic() - killed_at < platform.settings.extraction_lease_seconds
    assert "1 abandoned extractions cleaned up" in " ".join(swept.stdout.split())
    assert temporaries(platform) == []
    assert [p for p in platform.settings.store_dir.rglob("*") if p.is_file()] == []
    with platform.db.transaction() as s:
        run_row = s.execute(select(Extraction)).scalar_one()
        assert run_row.state == "abandoned" and run_row.finished_at is not None
        assert run_row.error.startswith("abandoned")
        event = s.execute(
            select(AuditEvent).where(AuditEvent.action == "packages:extraction:abandoned")
        ).scalar_one()
        assert '"process gone"' in event.details and '"files_removed":3' in event.details
        assert s.execute(select(Package)).all() == []
        assert s.execute(select(Blob.kind).where(Blob.kind != "selfcheck")).all() == []
    assert verify_database(platform.db.engine).ok
    markers = plaintext_markers(rows)
    assert files_in_clear([platform.settings.home, scratch], markers) == []
