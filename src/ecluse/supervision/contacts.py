"""Who an alert reaches at each level of escalation.

Level 0: the organisation's first contact (else its dpos; else the platform's admins).
Level 1: its second contact, when it named one.
Level 2: the controller's dpos and the platform's admins.
Only active named persons are ever contacts.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ecluse.db.models import Account, AccountRole, Alert, AlertContact, Organisation
from ecluse.errors import PolicyViolation, ValidationError
from ecluse.kinds import OrgKind, Role

FIRST, SECOND, TOP = 0, 1, 2


def _people(session: Session, *, role: Role, organisation_id: str | None = None) -> list[str]:
    query = (
        select(Account.email)
        .join(AccountRole, AccountRole.account_id == Account.id)
        .where(AccountRole.role == role.value, Account.state == "active")
        .where(Account.kind == "person", AccountRole.approved_at.is_not(None))
    )
    if organisation_id is not None:
        query = query.where(Account.organisation_id == organisation_id)
    return sorted(session.execute(query).scalars())


def _contact(session: Session, organisation_id: str, level: int) -> list[str]:
    email = session.execute(
        select(Account.email)
        .join(AlertContact, AlertContact.account_id == Account.id)
        .where(AlertContact.organisation_id == organisation_id, AlertContact.level == level)
        .where(Account.state == "active")
    ).scalar_one_or_none()
    return [email] if email else []


def has_second_contact(session: Session, organisation_id: str) -> bool:
    return bool(_contact(session, organisation_id, 2))


def addresses(session: Session, alert: Alert) -> list[str]:
    """The e-mail addresses of the people the alert reaches at its current level."""
    org = alert.organisation_id
    if alert.level == FIRST:
        people = _contact(session, org, 1) or _people(session, role=Role.DPO, organisation_id=org)
        return people or _people(session, role=Role.ADMIN)
    if alert.level == SECOND:
        return _contact(session, org, 2) or addresses_top(session, org)
    return addresses_top(session, org)


def addresses_top(session: Session, organisation_id: str) -> list[str]:
    dpos = _people(session, role=Role.DPO, organisation_id=organisation_id)
    return sorted({*dpos, *_people(session, role=Role.ADMIN)})


def set_contact(session: Session, *, organisation_id: str, level: int, email: str) -> str:
    """Name an active person of the organisation as its contact at `level` (an admin is a
    contact of the platform's own organisation only)."""
    if level not in (1, 2):
        raise ValidationError("a contact is of level 1 (first) or 2 (second)")
    if session.get(Organisation, organisation_id) is None:
        raise ValidationError("no such organisation")
    account = session.execute(
        select(Account).where(Account.email == email.strip().lower())
    ).scalar_one_or_none()
    if account is None or account.state != "active" or account.kind != "person":
        raise ValidationError("a contact is an active named person")
    if account.organisation_id != organisation_id:
        raise PolicyViolation("a contact belongs to the organisation")
    row = session.get(AlertContact, (organisation_id, level))
    if row is None:
        row = AlertContact(organisation_id=organisation_id, level=level, account_id=account.id)
        session.add(row)
    else:
        row.account_id = account.id
    return account.id


def platform_organisation(session: Session) -> str:
    """The instance's own organisation: where alerts about no one organisation go."""
    org_id = session.execute(
        select(Organisation.id).where(Organisation.kind == OrgKind.PLATFORM.value).limit(1)
    ).scalar_one_or_none()
    if org_id is None:
        raise ValidationError("the instance has no platform organisation")
    return org_id
