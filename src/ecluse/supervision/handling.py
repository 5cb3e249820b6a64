"""Answering alerts: open → acknowledged → resolved, only by a named person with a written
reason; and escalation of what nobody answered in time. Every change is notified; the service
that makes it audits it (`ecluse.services.alerting`).

Who may: an admin sees every alert but answers only those of its own organisation (the
platform's); a dpo the alerts of its own organisation; only a dpo of the controller closes a
staff security report. A reason names no patient: one carrying a
social-security number, a phone number or a password-like token is refused.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from ecluse.clock import as_utc
from ecluse.config import AlertSettings
from ecluse.db.models import Alert, AlertChange
from ecluse.errors import PolicyViolation, ValidationError
from ecluse.identity import Principal
from ecluse.kinds import AlertState, Role
from ecluse.policy.screening import Screen, screen
from ecluse.supervision.alerts import AlertKind, notify
from ecluse.supervision.contacts import SECOND, TOP, has_second_contact

MAX_REASON = 2000
_NAMES_SOMEONE = (Screen.NIR, Screen.PHONE, Screen.PASSWORD)


@dataclass(frozen=True, slots=True)
class Change:
    alert_id: str
    from_state: str
    to_state: str
    kind: str


@dataclass(frozen=True, slots=True)
class Escalation:
    alert_id: str
    level: int
    kind: str


_NEXT: dict[str, tuple[AlertState, ...]] = {  # the states an alert may go to from each
    AlertState.OPEN: (AlertState.ACKNOWLEDGED, AlertState.RESOLVED),
    AlertState.ACKNOWLEDGED: (AlertState.RESOLVED,),
}


def may_see(principal: Principal, alert: Alert) -> bool:
    if Role.ADMIN in principal.roles:
        return True
    own = alert.organisation_id == principal.organisation_id
    return own and bool({Role.DPO, Role.AUDITOR} & principal.roles)


def _may_change(principal: Principal, alert: Alert, to_state: str) -> bool:
    if alert.kind == AlertKind.SECURITY_REPORT.value and to_state == AlertState.RESOLVED:
        return Role.DPO in principal.roles and alert.organisation_id == principal.organisation_id
    own = alert.organisation_id == principal.organisation_id
    return own and bool({Role.ADMIN, Role.DPO} & principal.roles)


def check_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise ValidationError("a written reason is required")
    if len(reason) > MAX_REASON:
        raise ValidationError(f"a reason is at most {MAX_REASON} characters")
    found = screen(pl.Series([reason]))
    if any(found[c] for c in _NAMES_SOMEONE):
        raise ValidationError("a reason must not name a patient or carry a secret: use ids")
    return reason


def change_state(
    session: Session,
    principal: Principal,
    *,
    alert_id: str,
    to_state: str,
    reason: str,
) -> Change:
    """Acknowledge (`to_state="acknowledged"`) or resolve an alert, with a reason."""
    reason = check_reason(reason)
    alert = session.get(Alert, alert_id, with_for_update=True)
    if alert is None or not may_see(principal, alert):
        raise PolicyViolation("no such alert for you")
    if not _may_change(principal, alert, to_state):
        raise PolicyViolation("only a dpo of the organisation concerned may do this")
    allowed = _NEXT.get(alert.state, ())
    if to_state not in allowed:
        raise ValidationError(f"an alert {alert.state} cannot become {to_state}")
    now = datetime.now(UTC)
    before = alert.state
    alert.state = to_state
    if to_state == AlertState.ACKNOWLEDGED:
        alert.acknowledged_at = now
    else:
        alert.resolved_at = now
        alert.acknowledged_at = alert.acknowledged_at or now
    session.add(
        AlertChange(
            id=str(uuid.uuid4()),
            alert_id=alert.id,
            account_id=principal.account_id,
            from_state=before,
            to_state=to_state,
            reason=reason,
            at=now,
        )
    )
    notify(session, alert.id, to_state, now=now)
    return Change(alert.id, before, to_state, alert.kind)


def _deadline(alert: Alert, settings: AlertSettings) -> timedelta:
    if alert.kind == AlertKind.SECURITY_REPORT.value:
        return timedelta(days=settings.report_escalate_days)
    minutes = {
        "critical": settings.ack_minutes_critical,
        "warning": settings.ack_minutes_warning,
    }.get(alert.severity, settings.ack_minutes_info)
    return timedelta(minutes=minutes)


def escalate(session: Session, settings: AlertSettings, *, now: datetime) -> list[Escalation]:
    """Move every alert left unanswered past its deadline one level up; return the moves.
    Unanswered means open, and for a staff security report, not resolved."""
    waiting = (
        session.execute(
            select(Alert)
            .where(Alert.level < TOP, Alert.state != AlertState.RESOLVED)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    moved: list[Escalation] = []
    for alert in waiting:
        report = alert.kind == AlertKind.SECURITY_REPORT.value
        if alert.state == AlertState.ACKNOWLEDGED and not report:
            continue
        since = as_utc(alert.level_since or alert.created_at)
        if now - since < _deadline(alert, settings):
            continue
        level = alert.level + 1
        if level == SECOND and not has_second_contact(session, alert.organisation_id):
            level = TOP
        alert.level, alert.level_since = level, now
        notify(session, alert.id, "escalated", now=now)
        moved.append(Escalation(alert.id, level, alert.kind))
    return moved
