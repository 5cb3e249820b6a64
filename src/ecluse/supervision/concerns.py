"""Staff security reports: anyone may file a concern about a controller's data; it becomes
an alert only that controller's dpo can close, escalated when left unresolved.

Nothing makes one disappear: there is no delete here and a database trigger refuses any.
Its subject and text are stored as one encrypted blob that never expires. Who filed it is
kept for the controller's dpo alone; filed anonymously, the audit trail names the reporter
`reporter:anonymous` and the alert says nothing of them either.
"""

from __future__ import annotations

import io
import json
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ecluse.audit import Action
from ecluse.db.models import Account, Alert, Organisation, SecurityReport
from ecluse.errors import PolicyViolation, ValidationError
from ecluse.identity import Principal
from ecluse.identity.accounts import OrgKind, Role
from ecluse.platform import Platform
from ecluse.supervision.alerts import AlertKind, AlertState, Severity, raise_alert

ANONYMOUS = "reporter:anonymous"
MAX_SUBJECT, MAX_TEXT = 200, 20_000


@dataclass(frozen=True, slots=True)
class Concern:
    id: str
    organisation_id: str
    alert_id: str
    state: str  # the alert's
    created_at: datetime
    anonymous: bool
    reporter: str | None  # "Full Name <email>", for the controller's dpo or the reporter only
    subject: str | None = None
    text: str | None = None


def _controller(session: Session, p: Principal, organisation_id: str | None) -> str:
    org_id = organisation_id or (
        p.organisation_id if p.organisation_kind == OrgKind.CONTROLLER.value else None
    )
    if org_id is None:
        raise ValidationError("name the controller (laboratory) the concern is about")
    org = session.get(Organisation, org_id)
    if org is None or org.kind != OrgKind.CONTROLLER.value:
        raise ValidationError("a concern is about a controller (laboratory)")
    return org.id


def file_concern(
    platform: Platform,
    p: Principal,
    *,
    subject: str,
    text: str,
    anonymous: bool,
    organisation_id: str | None = None,
) -> Concern:
    subject, text = subject.strip(), text.strip()
    if not subject or not text:
        raise ValidationError("a concern has a subject and a text")
    if len(subject) > MAX_SUBJECT or len(text) > MAX_TEXT:
        raise ValidationError(f"at most {MAX_SUBJECT} characters of subject, {MAX_TEXT} of text")
    body = json.dumps({"subject": subject, "text": text}).encode()
    actor = ANONYMOUS if anonymous else p.actor
    now = datetime.now(UTC)
    with platform.db.transaction() as s:
        org = _controller(s, p, organisation_id)
        blob = platform.store.put(s, io.BytesIO(body), kind="security-report")
        report_id = str(uuid.uuid4())
        alert_id = raise_alert(
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


def _is_dpo_of(p: Principal, organisation_id: str) -> bool:
    return Role.DPO in p.roles and p.organisation_id == organisation_id


def _view(session: Session, row: SecurityReport, p: Principal) -> Concern:
    alert = session.get(Alert, row.alert_id)
    who = None
    if _is_dpo_of(p, row.organisation_id) or row.reporter_id == p.account_id:
        person = session.get(Account, row.reporter_id)
        who = f"{person.full_name} <{person.email}>" if person else None
    return Concern(
        row.id,
        row.organisation_id,
        row.alert_id,
        alert.state if alert else AlertState.OPEN,
        row.created_at,
        row.anonymous,
        who,
    )


def list_concerns(session: Session, p: Principal) -> list[Concern]:
    """The controller's dpo sees its organisation's; anyone else only what they filed."""
    query = select(SecurityReport).order_by(SecurityReport.created_at.desc())
    if Role.DPO in p.roles:
        query = query.where(
            (SecurityReport.organisation_id == p.organisation_id)
            | (SecurityReport.reporter_id == p.account_id)
        )
    else:
        query = query.where(SecurityReport.reporter_id == p.account_id)
    return [_view(session, row, p) for row in session.execute(query).scalars()]


def read_concern(platform: Platform, p: Principal, report_id: str) -> Concern:
    """The whole concern, for the controller's dpo or its reporter; the reading is audited."""
    with platform.db.transaction() as s:
        row = s.get(SecurityReport, report_id)
        if row is None or not (
            _is_dpo_of(p, row.organisation_id) or row.reporter_id == p.account_id
        ):
            raise PolicyViolation("no such security report for you")
        body = json.loads(b"".join(platform.store.open(s, row.body_blob_id)))
        view = _view(s, row, p)
        platform.audit.append(
            s,
            actor=p.actor if not (row.anonymous and row.reporter_id == p.account_id) else ANONYMOUS,
            action=Action.SECURITY_REPORT_READ,
            refs={"report": row.id},
        )
    return replace(view, subject=body["subject"], text=body["text"])
