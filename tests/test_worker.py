"""The worker: expired objects shredded on time (catching up), audit tail signed on time."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ecluse.audit import Action
from ecluse.audit.log import AuditLog
from ecluse.audit.records import verify_database
from ecluse.db.models import AuditCheckpoint, AuditEvent, Blob
from ecluse.errors import DatabaseUnavailable
from ecluse.instance.platform import Platform
from ecluse.services.worker import sweep
from tests.cli.helpers import ADMIN, ecluse

NOW = datetime.now(UTC)


def put(platform: Platform, expires_at: datetime) -> str:
    with platform.db.transaction() as s:
        return platform.store.put(
            s, io.BytesIO(os.urandom(50_000)), kind="quarantine", expires_at=expires_at
        ).id


def test_expired_objects_are_shredded_and_others_kept(platform: Platform) -> None:
    overdue = [put(platform, NOW - timedelta(hours=h)) for h in (1, 30)]
    alive = put(platform, NOW + timedelta(hours=1))
    result = sweep(platform, now=NOW)
    assert result.shredded == 2
    with platform.db.transaction() as s:
        states = {b.id: b.state for b in s.execute(select(Blob)).scalars()}
        reasons = s.execute(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == "store:blob:shred",
                AuditEvent.details == '{"reason":"expired"}',
            )
        ).scalar()
    assert [states[i] for i in overdue] == ["shredded", "shredded"]
    assert states[alive] == "stored" and reasons == 2
    assert not any(platform.store.path_of(i).exists() for i in overdue)
    assert sweep(platform, now=NOW).shredded == 0  # nothing twice
    assert verify_database(platform.db.engine).ok


def test_audit_tail_is_signed_when_it_has_waited_too_long(platform: Platform) -> None:
    start = datetime.now(UTC)  # after the instance's own first checkpoint
    clock = [start]
    platform.audit = AuditLog(
        signer=platform.keys.signer(),
        checkpoint_every=1000,
        checkpoint_seconds=60,
        clock=lambda: clock[0],
    )
    with platform.db.transaction() as s:
        platform.audit.checkpoint(s)
        platform.audit.append(s, actor="test:x", action=Action.BLOB_READ)
    assert sweep(platform).checkpoint_seq is None  # not yet 60 s
    clock[0] = start + timedelta(seconds=61)
    result = sweep(platform)
    with platform.db.transaction() as s:
        head = s.execute(select(func.max(AuditEvent.seq))).scalar()
        signed = s.execute(select(func.max(AuditCheckpoint.seq))).scalar()
    assert result.checkpoint_seq == head == signed
    assert sweep(platform).checkpoint_seq is None  # head already signed


def test_worker_command_runs_until_told_to_stop(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECLUSE_")}
    env["ECLUSE_HOME"] = f"{tmp_path}/home"
    assert ecluse("init", *ADMIN, env=env).returncode == 0
    once = ecluse("worker", "--once", env=env)
    assert once.returncode == 0 and "0 expired objects shredded" in " ".join(once.stdout.split())
    proc = subprocess.Popen(
        [sys.executable, "-m", "ecluse", "worker", "--interval", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(3)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "worker stopped after" in out


def test_a_failed_sweep_is_logged_and_retried(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The database going away for a moment must not end deadline enforcement."""
    from ecluse.services import worker  # noqa: PLC0415

    calls: list[int] = []
    stop = threading.Event()

    def flaky(p: Platform) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise DatabaseUnavailable("the metadata database cannot be reached")
        stop.set()

    monkeypatch.setattr(worker, "sweep", flaky)
    assert worker.run(platform, interval=0.01, stop=stop) == 1
    assert len(calls) == 2
    assert "worker sweep failed (DatabaseUnavailable)" in caplog.text
