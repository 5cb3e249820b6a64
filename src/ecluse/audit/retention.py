"""Retention of the audit trail: events older than the retention period are purged.

A purge cuts after the last event older than the cut-off: it signs a checkpoint at that event
(the anchor) unless one exists, deletes the prefix, appends an `audit:log:purge` event that
names the anchor, and signs a checkpoint over it. The remaining chain stays verifiable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ecluse.audit.actions import Action
from ecluse.audit.log import AuditLog, format_ts
from ecluse.db.models import AuditCheckpoint, AuditEvent


@dataclass(frozen=True, slots=True)
class PurgeResult:
    removed: int
    through_seq: int | None
    cutoff: str


def purge(
    session: Session, log: AuditLog, *, actor: str, retention_days: int, now: datetime
) -> PurgeResult:
    """Purge events older than `retention_days`; always audited, even when nothing goes."""
    cutoff = format_ts(now - timedelta(days=retention_days))
    log.lock(session)
    head = session.execute(select(func.max(AuditEvent.seq))).scalar() or 0
    anchor = session.execute(
        select(AuditEvent.seq, AuditEvent.hash)
        .where(AuditEvent.ts < cutoff, AuditEvent.seq < head)
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    ).first()
    removed, through = 0, None
    if anchor is not None:
        through = int(anchor.seq)
        if session.get(AuditCheckpoint, through) is None:
            log.sign_checkpoint(session, seq=through, head_hash=anchor.hash)
        result = session.execute(delete(AuditEvent).where(AuditEvent.seq <= through))
        removed = int(result.rowcount)  # type: ignore[attr-defined]
    log.append(
        session,
        actor=actor,
        action=Action.AUDIT_PURGE,
        details={
            "cutoff": cutoff,
            "removed": removed,
            "through_seq": through,
            "anchor_hash": anchor.hash if anchor is not None else None,
            "retention_days": retention_days,
        },
    )
    log.checkpoint(session)
    return PurgeResult(removed=removed, through_seq=through, cutoff=cutoff)
