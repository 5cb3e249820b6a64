"""The two-person rule: a role that reaches health data (dpo, operator, recipient), or that
reads a laboratory's trail and reports (auditor, outside the platform's organisation), takes
effect only once a named person of the grantee's organisation with authority, who is not the
grantee, approves it with a second factor.

Authority: in a controller, an approved dpo of that controller; in a processor or recipient,
its designated security contact. A processor's or recipient's first security contact is
designated by an approved dpo of a controller (who thereby approves the contact's pending
roles); a contact may hand over to another person of the organisation. A controller's first
dpo, when it has none, is approved only at the host (`ecluse accounts approve-first-dpo`),
by the operating-system account that holds the keys: never by an account over the API.
The platform's organisation holds no such role at all (see `accounts.create_account`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ecluse.db.models import Account, AccountRole, Organisation
from ecluse.errors import PolicyViolation, ValidationError
from ecluse.identity.accounts import HEALTH_ROLES, approved_roles
from ecluse.identity.tokens import Principal
from ecluse.kinds import OrgKind, Role

NO_AUTHORITY = "only your organisation's dpo (or its security contact) approves its roles"


@dataclass(frozen=True, slots=True)
class PendingGrant:
    account_id: str
    email: str
    full_name: str
    role: str
    organisation_id: str


@dataclass(frozen=True, slots=True)
class Decided:
    account_id: str
    role: str
    organisation_id: str


def has_authority(session: Session, p: Principal, organisation_id: str) -> bool:
    """Whether `p` approves the pending roles of `organisation_id`: never without a second
    factor on the credential it acts with."""
    org = session.get(Organisation, organisation_id)
    if org is None or p.organisation_id != org.id or p.via == "ssh" or not p.second_factor:
        return False
    if org.kind == OrgKind.CONTROLLER.value:
        return Role.DPO in p.roles
    if org.kind in (OrgKind.PROCESSOR.value, OrgKind.RECIPIENT.value):
        return org.security_contact_id == p.account_id and _person(session, p.account_id)
    return False


def _person(session: Session, account_id: str) -> bool:
    account = session.get(Account, account_id)
    return account is not None and account.state == "active" and account.kind == "person"


def pending(session: Session, p: Principal) -> list[PendingGrant]:
    """The roles waiting for approval in the caller's organisation (the caller's authority
    over it checked)."""
    if not has_authority(session, p, p.organisation_id):
        raise PolicyViolation(NO_AUTHORITY)
    rows = session.execute(
        select(Account, AccountRole.role)
        .join(AccountRole, AccountRole.account_id == Account.id)
        .where(Account.organisation_id == p.organisation_id, AccountRole.approved_at.is_(None))
        .order_by(Account.email, AccountRole.role)
    )
    return [PendingGrant(a.id, a.email, a.full_name, r, a.organisation_id) for a, r in rows]


def _pending_row(session: Session, account_id: str, role: Role) -> tuple[Account, AccountRole]:
    account = session.get(Account, account_id)
    row = session.get(AccountRole, (account_id, role.value)) if account else None
    if account is None or row is None or row.approved_at is not None:
        raise ValidationError("no such pending role")
    return account, row


def may_decide(
    session: Session, p: Principal, *, account_id: str, role: Role
) -> tuple[Account, AccountRole]:
    """Refuse unless `p` may decide on that pending role (checked before a code is asked)."""
    account, row = _pending_row(session, account_id, role)
    if not has_authority(session, p, account.organisation_id):
        raise PolicyViolation(NO_AUTHORITY)
    if p.account_id in (account.id, account.owner_id):
        raise PolicyViolation("a role is approved by someone other than its holder")
    return account, row


def decide(
    session: Session, p: Principal, *, account_id: str, role: Role, approve: bool
) -> Decided:
    """Approve (or refuse, which removes it) a pending role of another person of the
    caller's organisation."""
    account, row = may_decide(session, p, account_id=account_id, role=role)
    if approve:
        row.approved_at, row.approved_by = datetime.now(UTC), p.account_id
    else:
        session.delete(row)
    session.flush()
    return Decided(account.id, role.value, account.organisation_id)


def approve_first_dpo(session: Session, *, account_id: str, by: str) -> Decided:
    """At the host only: the dpo role of a controller that has no approved dpo yet."""
    account, row = _pending_row(session, account_id, Role.DPO)
    org = session.get(Organisation, account.organisation_id)
    if org is None or org.kind != OrgKind.CONTROLLER.value:
        raise PolicyViolation("only a controller's first dpo is approved at the host")
    approved = session.execute(
        select(AccountRole.account_id)
        .join(Account, Account.id == AccountRole.account_id)
        .where(Account.organisation_id == org.id, Account.state != "disabled")
        .where(AccountRole.role == Role.DPO.value, AccountRole.approved_at.is_not(None))
        .limit(1)
    ).first()
    if approved is not None:
        raise PolicyViolation("this controller has a dpo: it approves its other dpos")
    row.approved_at, row.approved_by = datetime.now(UTC), by[:254]
    session.flush()
    return Decided(account.id, Role.DPO.value, org.id)


def may_designate(
    session: Session, p: Principal, *, organisation_id: str, account_id: str
) -> tuple[Organisation, Account]:
    """Refuse unless `p` may name that person the organisation's security contact."""
    org = session.get(Organisation, organisation_id)
    if org is None or org.kind not in (OrgKind.PROCESSOR.value, OrgKind.RECIPIENT.value):
        raise ValidationError("a security contact is named for a processor or a recipient")
    current = org.security_contact_id
    handing_over = current == p.account_id and has_authority(session, p, org.id)
    first = (current is None or not _person(session, current)) and _controller_dpo(session, p)
    if not (handing_over or first):
        raise PolicyViolation(
            "a first security contact is named by a controller's dpo; then by the contact"
        )
    account = session.get(Account, account_id)
    if account is None or account.organisation_id != org.id or not _person(session, account.id):
        raise ValidationError("a security contact is an active named person of the organisation")
    if account.id == p.account_id:
        raise PolicyViolation("a security contact is named by someone else")
    return org, account


def designate_contact(
    session: Session, p: Principal, *, organisation_id: str, account_id: str
) -> list[str]:
    """Name a processor's or recipient's security contact; its pending roles are approved by
    the designator. Returns the roles so approved."""
    org, account = may_designate(session, p, organisation_id=organisation_id, account_id=account_id)
    now = datetime.now(UTC)
    approved = []
    for row in session.execute(
        select(AccountRole).where(
            AccountRole.account_id == account.id, AccountRole.approved_at.is_(None)
        )
    ).scalars():
        row.approved_at, row.approved_by = now, p.account_id
        approved.append(row.role)
    org.security_contact_id = account.id
    session.flush()
    return sorted(approved)


def _controller_dpo(session: Session, p: Principal) -> bool:
    org = session.get(Organisation, p.organisation_id)
    return (
        org is not None
        and org.kind == OrgKind.CONTROLLER.value
        and Role.DPO in approved_roles(session, p.account_id)
        and Role.DPO in p.roles
        and p.via != "ssh"
        and p.second_factor
    )


__all__ = ["HEALTH_ROLES", "Decided", "PendingGrant"]
