"""A run whose lease ended: the worker records it as abandoned and removes what it half
wrote; were it to wake up after all, it could not commit."""

from __future__ import annotations

import base64
import errno
import io
import os
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import select

from ecluse.audit import Action
from ecluse.audit.records import verify_database
from ecluse.db.models import Account, AuditEvent, Blob, Credential, Extraction, Package
from ecluse.errors import ValidationError
from ecluse.identity import issue
from ecluse.identity.ssh_keys import add_ssh_key, revoke_ssh_key
from ecluse.instance.platform import Platform
from ecluse.mandates import instructions as ins
from ecluse.packages.lease import HOST, RunAbandoned, process_tag
from ecluse.services.worker import sweep
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
        token = issue(
            s, account_id=migration.parties["olga"].account_id, name="t", days=1, second_factor=True
        ).token
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


# -- who is dead, and what becomes of an upload whose extraction died --------------------------
def _dead_pid() -> int:
    done = subprocess.Popen(["true"])
    done.wait()
    return done.pid


def _run_row(
    platform: Platform,
    migration: Migration,
    iid: str,
    *,
    owner: str | None,
    lease_left: timedelta = timedelta(seconds=20),
    age: timedelta = timedelta(seconds=5),
    quarantine_id: str | None = None,
    state: str = "running",
    started_with: tuple[str, str] = ("ssh", "SHA256:not-a-key-of-olga"),
) -> str:
    """A run's row and its start's audit event (with the credential it ran on), as a process
    that died would have left them."""
    now = datetime.now(UTC)
    via, credential = started_with
    with platform.db.transaction() as s:
        row = Extraction(
            id=str(uuid.uuid4()),
            instruction_id=iid,
            operator_id=migration.parties["olga"].account_id,
            state=state,
            source_name="export.csv",
            started_at=now - age,
            quarantine_id=quarantine_id,
            lease_owner=owner,
            lease_expires_at=now + lease_left if owner else None,
        )
        s.add(row)
        s.flush()
        platform.audit.append(
            s,
            actor=f"account:{migration.parties['olga'].email}",
            action=Action.EXTRACTION_START,
            refs={"extraction": row.id, "instruction": iid},
            details={"via": via, "credential": credential},
        )
    return row.id


@pytest.mark.parametrize(
    ("owner", "lease_left", "age", "dead"),
    [
        ("this process", timedelta(seconds=20), timedelta(seconds=5), False),
        ("this process", timedelta(seconds=-1), timedelta(seconds=40), True),  # not renewed
        ("a process gone", timedelta(seconds=20), timedelta(seconds=5), True),  # kill -9
        ("another host", timedelta(seconds=20), timedelta(seconds=5), False),  # cannot tell
        ("another host", timedelta(seconds=-1), timedelta(seconds=40), True),
        (None, timedelta(0), timedelta(hours=1), False),  # before leases: the old rule
        (None, timedelta(0), timedelta(hours=25), True),
    ],
)
def test_a_run_is_dead_when_its_lease_ended_or_its_process_is_gone(
    migration: Migration, owner: str | None, lease_left: timedelta, age: timedelta, dead: bool
) -> None:
    platform = migration.platform
    iid = migration.instruct(expected_rows=migration.export.frame.height)
    owners = {
        "this process": f"{HOST}:{os.getpid()}:00",
        "a process gone": f"{HOST}:{_dead_pid()}:00",
        "another host": "node-b.example:1:00",
    }
    run_id = _run_row(
        platform, migration, iid, owner=owners.get(owner or ""), lease_left=lease_left, age=age
    )
    assert sweep(platform).abandoned == int(dead)
    with platform.db.transaction() as s:
        assert s.get(Extraction, run_id).state == ("abandoned" if dead else "running")


def test_the_pieces_of_an_upload_whose_server_died_are_removed(migration: Migration) -> None:
    store = migration.platform.store
    dead = store.writer(kind="quarantine", tag=process_tag(_dead_pid()))
    alive = store.writer(kind="quarantine", tag=process_tag())
    for w in (dead, alive):
        w.write(os.urandom(100_000))
    sweep(migration.platform)
    assert temporaries(migration.platform) == [store.temporary_of(alive.id, process_tag())]
    alive.abort()
    dead.abort()


def _revoke(m: Migration, iid: str) -> None:
    with m.platform.db.transaction() as s:
        ins.revoke(s, m.parties["dora"], iid, reason="the laboratory withdrew")


def _disable(m: Migration, iid: str) -> None:
    with m.platform.db.transaction() as s:
        s.get(Account, m.parties["olga"].account_id).state = "disabled"


def _olga_key(m: Migration) -> str:
    """The SSH key olga uploaded with (added with her second factor)."""
    line = (
        "ssh-ed25519 "
        + base64.b64encode(b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + os.urandom(32)).decode()
    )
    with m.platform.db.transaction() as s:
        key = add_ssh_key(s, m.parties["olga"].account_id, line, label="laptop", second_factor=True)
    return key.fingerprint


def _revoke_key(m: Migration, fingerprint: str) -> None:
    """The key was revoked after the upload (stolen, say): it resumes nothing."""
    with m.platform.db.transaction() as s:
        revoke_ssh_key(s, m.parties["olga"].account_id, fingerprint)


def _new_password(m: Migration, fingerprint: str) -> None:
    """A password change after the upload ends every credential made before it."""
    with m.platform.db.transaction() as s:
        s.get(Credential, m.parties["olga"].account_id).password_set_at = datetime.now(UTC)


def _died_before(m: Migration, iid: str, quarantine_id: str) -> None:
    _run_row(m.platform, m, iid, owner=None, quarantine_id=quarantine_id, state="abandoned")


@pytest.mark.parametrize(
    ("change", "outcome"),
    [
        (None, "extracted again from its quarantine as"),
        (_revoke, "not extracted again: extracting it again failed (instruction is revoked"),
        (_disable, "not extracted again: the person who uploaded it can no longer extract"),
        (_revoke_key, "not extracted again: the person who uploaded it can no longer extract"),
        (_new_password, "not extracted again: the person who uploaded it can no longer extract"),
        (_died_before, "not extracted again: its process ended 2 times"),
    ],
    ids=["resumed", "revoked", "disabled", "key revoked", "password changed", "died twice"],
)
def test_an_upload_whose_extraction_died_is_extracted_again_or_its_failure_shown(
    migration: Migration, identity: Identity, change: Any, outcome: str
) -> None:
    platform = migration.platform
    iid = migration.instruct(expected_rows=migration.export.frame.height)
    with platform.db.transaction() as s:
        expires = datetime.now(UTC) + timedelta(hours=1)
        held = platform.store.put(
            s, io.BytesIO(migration.export.data), kind="quarantine", expires_at=expires
        ).id
    fingerprint = _olga_key(migration)
    cut = _run_row(
        platform,
        migration,
        iid,
        owner=f"{HOST}:{_dead_pid()}:00",
        quarantine_id=held,
        started_with=("ssh", fingerprint),
    )
    if change in (_revoke_key, _new_password):
        change(migration, fingerprint)
    elif change is _died_before:
        change(migration, iid, held)
    elif change is not None:
        change(migration, iid)
    result = sweep(platform)
    assert result.abandoned == 1 and result.resumed == int(change is None)
    assert sweep(platform).resumed == 0  # once
    with platform.db.transaction() as s:
        row = s.get(Extraction, cut)
        assert row.state == "abandoned" and outcome in row.error
        packaged = s.execute(select(Package)).all()
        blob = s.get(Blob, held)
    assert len(packaged) == int(change is None)
    assert blob.state == ("stored" if change is None else "shredded")  # nothing waits 24 h
    assert temporaries(platform) == []


def test_a_working_run_renews_its_lease_and_stops_once_it_was_taken_away(
    migration: Migration, identity: Identity
) -> None:
    """A lease of 3 s, renewed every second: a run that hangs 5 s is still alive; once a
    sweep took it away (with a clock past its lease), the run stops at its next batch."""
    platform = migration.platform
    platform.settings = platform.settings.model_copy(update={"extraction_lease_seconds": 3})
    data = migration.export.data + migration.export.data.split(b"\n", 1)[1] * 5  # 2 batches
    iid = migration.instruct(expected_rows=migration.export.frame.height * 6)
    stuck, resume = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def hang(_: int) -> None:
        stuck.set()
        resume.wait(30)

    def run() -> None:
        try:
            migration.run("olga", iid, data=data, progress=hang)
        except BaseException as e:  # the test inspects it
            errors.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    assert stuck.wait(30)
    time.sleep(5)
    assert sweep(platform).abandoned == 0  # renewed meanwhile, though 3 s have passed
    later = datetime.now(UTC) + timedelta(seconds=4)
    assert sweep(platform, now=later).abandoned == 1
    time.sleep(1.5)  # its next renewal finds it taken away
    resume.set()
    thread.join(30)
    assert len(errors) == 1 and isinstance(errors[0], RunAbandoned)  # before the commit
    assert temporaries(platform) == []
    with platform.db.transaction() as s:
        assert s.execute(select(Extraction.state)).scalar_one() == "abandoned"


def test_an_object_put_in_place_but_never_committed_goes_a_committed_one_stays(
    migration: Migration,
) -> None:
    """The process died between renaming an object into place and its commit: no row in the
    store's table, so it goes; an object of the store with its row is never touched."""
    platform, store = migration.platform, migration.platform.store
    iid = migration.instruct(expected_rows=migration.export.frame.height)
    with platform.db.transaction() as s:
        kept = store.put(s, io.BytesIO(os.urandom(10_000)), kind="quarantine").id
    orphan = str(uuid.uuid4())
    store.path_of(orphan).parent.mkdir(mode=0o700, exist_ok=True)
    store.path_of(orphan).write_bytes(os.urandom(10_000))  # ciphertext, its key never saved
    run_id = _run_row(platform, migration, iid, owner=f"{HOST}:{_dead_pid()}:00")
    with platform.db.transaction() as s:
        s.get(Extraction, run_id).writing = f"{kept} {orphan}"
    assert sweep(platform).abandoned == 1
    assert not store.path_of(orphan).exists()
    assert store.path_of(kept).exists()
    with platform.db.transaction() as s:
        assert b"".join(store.open(s, kept))
        event = s.execute(
            select(AuditEvent).where(AuditEvent.action == "packages:extraction:abandoned")
        ).scalar_one()
    assert '"files_removed":1' in event.details
