"""Raising, escalating and answering alerts with their audit events, for every service and
for the watch: the records are `ecluse.supervision.alerts` and `handling`, which never audit.
Callers check their own permission; these run in the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from ecluse.audit import Action, AuditLog
from ecluse.audit.canonical import JsonValue
from ecluse.config import AlertSettings
from ecluse.kinds import AlertState
from ecluse.supervision import handling
from ecluse.supervision.alerts import AlertKind, Severity, record

ESCALATOR = "system:supervision"


def raise_alert(
    session: Session,
    audit: AuditLog,
    *,
    kind: AlertKind,
    severity: Severity,
    organisation_id: str,
    refs: Mapping[str, str],
    details: Mapping[str, JsonValue] | None = None,
    actor: str = "system:ecluse",
    now: datetime | None = None,
    occurrences: int = 1,
) -> str:
    """Open an alert for `organisation_id`, or count `occurrences` repeats on the unresolved
    one with the same cause, and audit it; return its id."""
    recorded = record(
        session,
        kind=kind,
        severity=severity,
        organisation_id=organisation_id,
        refs=refs,
        details=details,
        now=now,
        occurrences=occurrences,
    )
    if recorded.repeat:
        audit.append(
            session,
            actor=actor,
            action=Action.ALERT_REPEAT,
            refs={"alert": recorded.id},
            details={"kind": kind.value, "occurrences": recorded.occurrences},
        )
    else:
        audit.append(
            session,
            actor=actor,
            action=Action.ALERT_RAISE,
            refs={"alert": recorded.id, **refs},
            details={"kind": kind.value, "severity": severity.value, **(details or {})},
        )
    return recorded.id


def change(
    session: Session, audit: AuditLog, made: handling.Change, *, actor: str
) -> handling.Change:
    """Audit an acknowledgement or resolution `handling.change_state` made."""
    acknowledged = made.to_state == AlertState.ACKNOWLEDGED
    action = Action.ALERT_ACKNOWLEDGE if acknowledged else Action.ALERT_RESOLVE
    audit.append(
        session,
        actor=actor,
        action=action,
        refs={"alert": made.alert_id},
        details={"from": made.from_state, "to": made.to_state, "kind": made.kind},
    )
    return made


def escalate(session: Session, audit: AuditLog, settings: AlertSettings, *, now: datetime) -> int:
    """Move every alert left unanswered past its deadline one level up, audited; return how
    many."""
    moved = handling.escalate(session, settings, now=now)
    for step in moved:
        audit.append(
            session,
            actor=ESCALATOR,
            action=Action.ALERT_ESCALATE,
            refs={"alert": step.alert_id},
            details={"level": step.level, "kind": step.kind},
        )
    return len(moved)
