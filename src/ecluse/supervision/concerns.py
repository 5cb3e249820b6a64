"""Staff security reports (filed and read through `ecluse.services.supervision`): anyone may
file a concern about a controller's data; it becomes
an alert only that controller's dpo can close, escalated when left unresolved.

Nothing makes one disappear: there is no delete here and a database trigger refuses any.
Its subject and text are stored as one encrypted blob that never expires. Who filed it is
kept for the controller's dpo alone; filed anonymously, the audit trail names the reporter
`reporter:anonymous` and the alert says nothing of them either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ecluse.db.models import Account, Alert, Organisation, SecurityReport
from ecluse.errors import PolicyViolation, ValidationError
from ecluse.identity import Principal
from ecluse.kinds import AlertState, OrgKind, Role

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


def controller_for(session: Session, p: Principal, organisation_id: str | None) -> str:
    """The controller a concern is about: the one named, or the reporter's own."""
    org_id = organisation_id or (
        p.organisation_id if p.organisation_kind == OrgKind.CONTROLLER.value else None
    )
    if org_id is None:
        raise ValidationError("name the controller (laboratory) the concern is about")
    org = session.get(Organisation, org_id)
    if org is None or org.kind != OrgKind.CONTROLLER.value:
        raise ValidationError("a concern is about a controller (laboratory)")
    return org.id


def check_concern(subject: str, text: str) -> tuple[str, str]:
    """The subject and text, trimmed, if a concern may hold them."""
    subject, text = subject.strip(), text.strip()
    if not subject or not text:
        raise ValidationError("a concern has a subject and a text")
    if len(subject) > MAX_SUBJECT or len(text) > MAX_TEXT:
        raise ValidationError(f"at most {MAX_SUBJECT} characters of subject, {MAX_TEXT} of text")
    return subject, text


def body_of(subject: str, text: str) -> bytes:
    """What is stored, encrypted, of a concern."""
    return json.dumps({"subject": subject, "text": text}).encode()


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


def readable(session: Session, p: Principal, report_id: str) -> SecurityReport:
    """The concern, if `p` is its controller's dpo or its reporter; else refused."""
    row = session.get(SecurityReport, report_id)
    if row is None or not (_is_dpo_of(p, row.organisation_id) or row.reporter_id == p.account_id):
        raise PolicyViolation("no such security report for you")
    return row


def view(session: Session, row: SecurityReport, p: Principal, body: bytes) -> Concern:
    """The whole concern as `p` may see it, its subject and text from `body`."""
    content = json.loads(body)
    return replace(_view(session, row, p), subject=content["subject"], text=content["text"])


def reader_actor(row: SecurityReport, p: Principal) -> str:
    """Who the trail says read it: an anonymous reporter rereading stays anonymous."""
    return ANONYMOUS if row.anonymous and row.reporter_id == p.account_id else p.actor
