"""Retention purges keep the chain verifiable; exports verify offline with a pinned key."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from ecluse.audit import Action
from ecluse.audit.export import export, verify_export
from ecluse.audit.log import AuditLog
from ecluse.audit.retention import purge
from ecluse.crypto.interfaces import key_id
from ecluse.db.models import AuditEvent
from ecluse.instance.platform import Platform
from tests.audit.helpers import append, verify

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _aged_log(platform: Platform) -> None:
    """Events 400 days old, then recent ones, checkpoints every 10 events."""
    signer = platform.keys.signer()
    platform.audit = AuditLog(
        signer=signer, checkpoint_every=10, clock=lambda: NOW - timedelta(days=400)
    )
    append(platform, 45, batch=5)
    platform.audit = AuditLog(signer=signer, checkpoint_every=10, clock=lambda: NOW)
    append(platform, 20, batch=5)


def test_purge_removes_old_events_and_keeps_the_chain_verifiable(platform: Platform) -> None:
    _aged_log(platform)
    with platform.db.transaction() as s:
        result = purge(s, platform.audit, actor="test:dpo", retention_days=365, now=NOW)
    assert result.through_seq is not None and result.removed == result.through_seq
    report = verify(platform)
    assert report.ok, report.reason
    assert report.first_seq == result.through_seq + 1
    with platform.db.transaction() as s:
        oldest = s.execute(select(func.min(AuditEvent.ts))).scalar()
        purges = (
            s.execute(select(AuditEvent.details).where(AuditEvent.action == Action.AUDIT_PURGE))
            .scalars()
            .all()
        )
    assert oldest is not None and oldest >= "2025-11-23"
    assert json.loads(purges[-1])["through_seq"] == result.through_seq
    # a second purge with nothing old left is still audited and still verifiable
    with platform.db.transaction() as s:
        again = purge(s, platform.audit, actor="test:dpo", retention_days=365, now=NOW)
    assert again.removed == 0 and verify(platform).ok


def test_removing_the_purge_record_is_detected(platform: Platform) -> None:
    _aged_log(platform)
    with platform.db.transaction() as s:
        result = purge(s, platform.audit, actor="test:dpo", retention_days=365, now=NOW)
        s.execute(delete(AuditEvent).where(AuditEvent.action == Action.AUDIT_PURGE))
    report = verify(platform)
    assert not report.ok
    assert result.through_seq is not None


def test_export_verifies_offline_and_with_a_pinned_key(platform: Platform, tmp_path: Path) -> None:
    append(platform, 30)
    with platform.db.transaction() as s:
        platform.audit.checkpoint(s)
    out = tmp_path / "audit.jsonl"
    with out.open("w") as f:
        assert export(platform.db.engine, f) == 32
    public = platform.keys.signer().public_key
    assert verify_export(out).ok
    assert verify_export(out, pinned={key_id(public): public}).ok
    other = bytes(32)
    assert not verify_export(out, pinned={key_id(other): other}).ok


@pytest.mark.parametrize("field", ["details", "actor", "hash"])
def test_edited_export_names_the_line(platform: Platform, tmp_path: Path, field: str) -> None:
    append(platform, 10)
    out = tmp_path / "audit.jsonl"
    with out.open("w") as f:
        export(platform.db.engine, f)
    lines = out.read_text().splitlines()
    doc = json.loads(lines[5])  # event seq 5
    doc[field] = {"details": '{"i":42}', "actor": "x:y", "hash": "b" * 64}[field]
    lines[5] = json.dumps(doc)
    out.write_text("\n".join(lines) + "\n")
    report = verify_export(out)
    assert not report.ok and report.broken_seq in {5, 6}
