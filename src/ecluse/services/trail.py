"""The audit trail's host-level verbs: verify (the chain, then the database against its
witnesses), export, checkpoint, purge, start a witness. Each is itself audited; a verification
that finds the chain cut says so instead of failing, since the cut refuses the write."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from ecluse.audit import Action, VerifyReport
from ecluse.audit.export import export as export_trail
from ecluse.audit.export import verify_export
from ecluse.audit.records import check_witnesses, verify_database
from ecluse.audit.retention import PurgeResult
from ecluse.audit.retention import purge as purge_trail
from ecluse.audit.witnessing import WitnessFinding
from ecluse.crypto.interfaces import key_id
from ecluse.errors import AuditWriteError, ValidationError
from ecluse.instance.platform import Platform

__all__ = ["PurgeResult", "VerifyReport", "WitnessFinding", "verify_export"]


def pinned_key(public_key: str | None) -> dict[str, bytes] | None:
    """The one Ed25519 key (hex) to trust, by its id; None to trust the trail's own."""
    if public_key is None:
        return None
    try:
        raw = bytes.fromhex(public_key)
    except ValueError:
        raw = b""
    if len(raw) != 32:  # noqa: PLR2004 - an Ed25519 public key
        raise ValidationError("--public-key takes the 32-byte Ed25519 key in hex (64 digits)")
    return {key_id(raw): raw}


@dataclass(frozen=True, slots=True)
class Verification:
    report: VerifyReport
    findings: list[WitnessFinding]
    refused: str | None  # why this verification could not be audited (a cut chain)


def verify(
    platform: Platform, *, actor: str, captures: list[Path], pinned: dict[str, bytes] | None
) -> Verification:
    """Every hash link and checkpoint signature, then the witness log and `captures`."""
    report = verify_database(platform.db.engine, pinned=pinned)
    findings = check_witnesses(
        platform.db.engine,
        witness_dir=platform.settings.witness_dir,
        captures=captures,
        pinned=pinned,
    )
    try:
        with platform.db.transaction() as s:
            platform.audit.append(
                s,
                actor=actor,
                action=Action.AUDIT_VERIFY,
                details={
                    "ok": report.ok,
                    "broken_seq": report.broken_seq,
                    "witnesses_ok": all(f.ok for f in findings),
                },
            )
    except AuditWriteError as e:
        return Verification(report, findings, str(e))
    return Verification(report, findings, None)


def export(platform: Platform, *, actor: str, out: TextIO) -> int:
    """The trail, its checkpoints and public keys as JSON lines; the number of events."""
    with platform.db.transaction() as s:
        platform.audit.append(s, actor=actor, action=Action.AUDIT_EXPORT)
        platform.audit.checkpoint(s)
    return export_trail(platform.db.engine, out)


def checkpoint(platform: Platform) -> tuple[int | None, int]:
    """Sign the head now: (its seq, or None when already signed; checkpoints published to
    the witness, negative when the witness could not be written)."""
    with platform.db.transaction() as s:
        cp = platform.audit.checkpoint(s)
    return (cp.seq if cp else None), platform.audit.publish(platform.db.engine)


def purge(platform: Platform, *, actor: str) -> PurgeResult:
    """Remove events older than the retention period (audited; the chain stays verifiable)."""
    with platform.db.transaction() as s:
        return purge_trail(
            s,
            platform.audit,
            actor=actor,
            retention_days=platform.settings.audit_retention_days,
            now=datetime.now(UTC),
        )


def start_witness(platform: Platform, *, actor: str) -> int:
    """Publish every checkpoint to a witness just started (negative: it could not be
    written); audited."""
    published = platform.audit.publish(platform.db.engine)
    with platform.db.transaction() as s:
        platform.audit.append(
            s, actor=actor, action=Action.AUDIT_WITNESS_START, details={"published": published}
        )
        platform.audit.checkpoint(s)
    return published
