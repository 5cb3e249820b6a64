"""Alerts, alert contacts and staff security reports, as every channel performs them."""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from ecluse.audit import Action
from ecluse.db.models import Alert, AlertChange, Organisation, SecurityReport
from ecluse.errors import PolicyViolation
from ecluse.identity import Permission, Principal
from ecluse.identity.approvals import has_authority
from ecluse.instance.platform import Platform
from ecluse.kinds import AlertState, Role
from ecluse.services import alerting
from ecluse.services.access import permit, refusals_audited
from ecluse.services.watch.metrics import CONTENT_TYPE, exposition
from ecluse.supervision import concerns, contacts, handling
from ecluse.supervision.alerts import AlertKind, Severity
from ecluse.supervision.concerns import Concern


@dataclass(frozen=True, slots=True)
class AlertView:
    id: str
    kind: str
    severity: str
    state: str
    organisation_id: str
    occurrences: int
    level: int
    created_at: datetime
    last_seen_at: datetime | None
    refs: dict[str, Any]
    details: dict[str, Any]
    changes: list[dict[str, str]]


def _view(alert: Alert, changes: list[AlertChange] | None = None) -> AlertView:
    return AlertView(
        id=alert.id,
        kind=alert.kind,
        severity=alert.severity,
        state=alert.state,
        organisation_id=alert.organisation_id,
        occurrences=alert.occurrences,
        level=alert.level,
        created_at=alert.created_at,
        last_seen_at=alert.last_seen_at,
        refs=json.loads(alert.refs),
        details=json.loads(alert.details),
        changes=[
            {
                "from": c.from_state,
                "to": c.to_state,
                "by": c.account_id,
                "at": c.at.isoformat(),
                "reason": c.reason,
            }
            for c in changes or []
        ],
    )


def list_alerts(
    platform: Platform, p: Principal, *, include_resolved: bool = False, limit: int = 200
) -> list[AlertView]:
    """The alerts the caller may see (an admin: all; others: their organisation's)."""
    query = select(Alert).order_by(Alert.created_at.desc()).limit(min(limit, 1000))
    if Role.ADMIN not in p.roles:
        query = query.where(Alert.organisation_id == p.organisation_id)
    if not include_resolved:
        query = query.where(Alert.state != AlertState.RESOLVED)
    with platform.db.transaction() as s:
        return [_view(a) for a in s.execute(query).scalars() if handling.may_see(p, a)]


def show_alert(platform: Platform, p: Principal, alert_id: str) -> AlertView:
    with (
        refusals_audited(platform, p, "alerts show", alert=alert_id),
        platform.db.transaction() as s,
    ):
        alert = s.get(Alert, alert_id)
        if alert is None or not handling.may_see(p, alert):
            raise PolicyViolation("no such alert for you")
        changes = s.execute(
            select(AlertChange).where(AlertChange.alert_id == alert.id).order_by(AlertChange.at)
        ).scalars()
        return _view(alert, list(changes))


def change_alert(
    platform: Platform, p: Principal, alert_id: str, *, to_state: str, reason: str
) -> handling.Change:
    with (
        refusals_audited(platform, p, f"alerts {to_state}", alert=alert_id),
        platform.db.transaction() as s,
    ):
        made = handling.change_state(s, p, alert_id=alert_id, to_state=to_state, reason=reason)
        return alerting.change(s, platform.audit, made, actor=p.actor)


def set_contact(
    platform: Platform, p: Principal, *, organisation_id: str, level: int, email: str
) -> str:
    """Name an organisation's first (1) or second (2) contact, a person of it: by its dpo or
    its security contact (an admin, of the platform's own organisation only)."""
    with (
        refusals_audited(platform, p, "alerts contact", organisation=organisation_id),
        platform.db.transaction() as s,
    ):
        own = p.organisation_id == organisation_id
        if not own or not (
            {Role.DPO, Role.ADMIN} & p.roles or has_authority(s, p, organisation_id)
        ):
            raise PolicyViolation("only the organisation's dpo or security contact names contacts")
        if s.get(Organisation, organisation_id) is None:
            raise PolicyViolation("no such organisation")
        account_id = contacts.set_contact(
            s, organisation_id=organisation_id, level=level, email=email
        )
        platform.audit.append(
            s,
            actor=p.actor,
            action=Action.ALERT_CONTACT_SET,
            refs={"organisation": organisation_id, "account": account_id},
            details={"level": level},
        )
    return account_id


# Filing is not wrapped in `refusals_audited`: a refusal audited under the reporter's name
# would undo the anonymity it was asked with.
def file_report(
    platform: Platform,
    p: Principal,
    *,
    subject: str,
    text: str,
    anonymous: bool,
    organisation_id: str | None = None,
) -> Concern:
    """A concern about a controller's data: an alert only its dpo closes; filed anonymously,
    the trail and the alert say nothing of the reporter."""
    subject, text = concerns.check_concern(subject, text)
    actor = concerns.ANONYMOUS if anonymous else p.actor
    now = datetime.now(UTC)
    with platform.db.transaction() as s:
        org = concerns.controller_for(s, p, organisation_id)
        blob = platform.store.put(
            s, io.BytesIO(concerns.body_of(subject, text)), kind="security-report"
        )
        report_id = str(uuid.uuid4())
        alert_id = alerting.raise_alert(
            s,
            platform.audit,
            kind=AlertKind.SECURITY_REPORT,
            severity=Severity.WARNING,
            organisation_id=org,
            refs={"report": report_id},
            details={"anonymous": anonymous},
            actor=actor,
            now=now,
        )
        s.add(
            SecurityReport(
                id=report_id,
                organisation_id=org,
                reporter_id=p.account_id,
                anonymous=anonymous,
                body_blob_id=blob.id,
                alert_id=alert_id,
                created_at=now,
            )
        )
        platform.audit.append(
            s,
            actor=actor,
            action=Action.SECURITY_REPORT_FILE,
            refs={"report": report_id, "alert": alert_id, "organisation": org},
            details={"anonymous": anonymous},
        )
    return Concern(report_id, org, alert_id, AlertState.OPEN, now, anonymous, None, subject, text)


def show_report(platform: Platform, p: Principal, report_id: str) -> Concern:
    """The whole concern, for the controller's dpo or its reporter; the reading is audited."""
    with (
        refusals_audited(platform, p, "security-report show", report=report_id),
        platform.db.transaction() as s,
    ):
        row = concerns.readable(s, p, report_id)
        whole = concerns.view(s, row, p, b"".join(platform.store.open(s, row.body_blob_id)))
        platform.audit.append(
            s,
            actor=concerns.reader_actor(row, p),
            action=Action.SECURITY_REPORT_READ,
            refs={"report": row.id},
        )
    return whole


def list_reports(platform: Platform, p: Principal) -> list[Concern]:
    with platform.db.transaction() as s:
        return concerns.list_concerns(s, p)


def metrics(platform: Platform, p: Principal) -> tuple[bytes, str]:
    """(Prometheus text exposition, its content type): counts and ages, never a datum."""
    permit(platform, p, Permission.METRICS_READ)
    return exposition(platform), CONTENT_TYPE
