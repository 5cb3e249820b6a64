"""Creating organisations and accounts, each account a named person with an enrolment code."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ecluse.clock import as_utc
from ecluse.db.models import Account, AccountRole, Organisation
from ecluse.errors import AuthenticationError, ValidationError
from ecluse.kinds import OrgKind, Role

ENROLMENT_TTL = timedelta(days=7)
_EMAIL = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,189}\.[A-Za-z]{2,24}$")
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


#: roles whose permissions reach health data: pending until a person with authority approves
HEALTH_ROLES = frozenset({Role.DPO, Role.OPERATOR, Role.RECIPIENT})
#: roles that read a laboratory's trail and reports: pending too, outside the platform's own
#: organisation (else an admin could make itself any organisation's auditor)
TENANT_READ_ROLES = frozenset({Role.AUDITOR})


def awaits_approval(role: Role, *, platform_org: bool) -> bool:
    """Whether `role`, granted in an organisation, waits for a second person's approval."""
    return role in HEALTH_ROLES or (role in TENANT_READ_ROLES and not platform_org)


@dataclass(frozen=True, slots=True)
class NewAccount:
    id: str
    email: str
    enrolment_code: str  # shown once, stored only as a hash
    pending_roles: tuple[str, ...] = ()  # waiting for a second person's approval


def hash_code(code: str) -> str:
    """Enrolment codes carry 125 bits of entropy, so an unkeyed SHA-256 is not reversible."""
    return hashlib.sha256(code.replace("-", "").upper().encode()).hexdigest()


_LA_POSTE = "356000000"


def new_enrolment_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(25))
    return "-".join(raw[i : i + 5] for i in range(0, 25, 5))


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d  # noqa: PLR2004 - Luhn folds two-digit products
    return total % 10 == 0


def check_siret(siret: str) -> str:
    """14 digits with a Luhn key (La Poste's establishments: the digits sum to a multiple
    of 5)."""
    value = siret.replace(" ", "")
    if not re.fullmatch(r"\d{14}", value):
        raise ValidationError("a SIRET is 14 digits")
    if value.startswith(_LA_POSTE):
        if sum(map(int, value)) % 5:
            raise ValidationError("this SIRET's key is wrong")
    elif not _luhn(value):
        raise ValidationError("this SIRET's key is wrong")
    return value


def check_finess(finess: str) -> str:
    """9 characters: the department (2A/2B for Corsica), then digits, the last a Luhn key
    over the first eight (Corsica's letters counted as 0)."""
    value = finess.replace(" ", "").upper()
    if not re.fullmatch(r"(\d{2}|2A|2B)\d{7}", value):
        raise ValidationError("a FINESS number is 9 characters: department, then digits")
    if not _luhn(value.replace("A", "0").replace("B", "0")):
        raise ValidationError("this FINESS number's key is wrong")
    return value


def check_registration(kind: OrgKind, *, finess: str | None, siret: str | None) -> None:
    """What the CLI and the API require: a controller's FINESS, any other party's SIRET."""
    if kind is OrgKind.CONTROLLER and not finess:
        raise ValidationError("a controller (a laboratory) is registered by its FINESS number")
    if kind in (OrgKind.PROCESSOR, OrgKind.RECIPIENT) and not siret:
        raise ValidationError("a processor or recipient is registered by its SIRET")


def create_organisation(
    session: Session,
    *,
    name: str,
    kind: OrgKind,
    finess: str | None = None,
    siret: str | None = None,
) -> str:
    """Registry numbers are checked when given; the CLI and the API require them (FINESS for
    a controller, SIRET for a processor or a recipient)."""
    if not name.strip():
        raise ValidationError("an organisation needs a name")
    org = Organisation(
        id=str(uuid.uuid4()),
        name=name.strip(),
        kind=kind.value,
        created_at=datetime.now(UTC),
        finess=check_finess(finess) if finess else None,
        siret=check_siret(siret) if siret else None,
    )
    session.add(org)
    session.flush()
    return org.id


def create_account(
    session: Session, *, organisation_id: str, email: str, full_name: str, roles: set[Role]
) -> NewAccount:
    """A pending account for one named person; it enrols with the returned one-time code."""
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise ValidationError("a professional e-mail address is required")
    if len(full_name.split()) < 2:  # noqa: PLR2004 - first and last name
        raise ValidationError("an account belongs to a named person: give first and last name")
    if not roles:
        raise ValidationError("an account needs at least one role")
    if Role.PLATFORM_AUDITOR in roles:
        raise ValidationError(
            "the platform-auditor role is granted on the host only "
            "(`ecluse audit grant-platform-auditor`)"
        )
    if session.execute(select(Account.id).where(Account.email == email)).first():
        raise ValidationError("an account with this e-mail already exists")
    org = session.get(Organisation, organisation_id)
    platform_org = org is not None and org.kind == OrgKind.PLATFORM.value
    if platform_org and roles & HEALTH_ROLES:
        raise ValidationError("the platform's organisation holds no role reaching health data")
    if not platform_org and Role.ADMIN in roles:
        raise ValidationError("the admin role belongs to the platform's organisation only")
    code = new_enrolment_code()
    now = datetime.now(UTC)
    account = Account(
        id=str(uuid.uuid4()),
        organisation_id=organisation_id,
        email=email,
        full_name=full_name.strip(),
        state="pending",
        enrolment_code_hash=hash_code(code),
        enrolment_expires_at=now + ENROLMENT_TTL,
        created_at=now,
    )
    session.add(account)
    session.add_all(
        AccountRole(
            account_id=account.id,
            role=r.value,
            # pending: see approvals.py
            approved_at=None if awaits_approval(r, platform_org=platform_org) else now,
        )
        for r in sorted(roles)
    )
    session.flush()
    pending = tuple(r.value for r in sorted(roles) if awaits_approval(r, platform_org=platform_org))
    return NewAccount(id=account.id, email=email, enrolment_code=code, pending_roles=pending)


def approved_roles(session: Session, account_id: str) -> frozenset[Role]:
    """The roles in effect: approved ones only; a pending role gives nothing."""
    rows = session.execute(
        select(AccountRole.role).where(
            AccountRole.account_id == account_id, AccountRole.approved_at.is_not(None)
        )
    )
    return frozenset(Role(r) for r in rows.scalars())


SERVICE_MAX_DAYS = 90
SERVICE_ROLES = frozenset({Role.OPERATOR, Role.RECIPIENT, Role.AUDITOR})  # nothing that signs


def create_service_account(
    session: Session, *, owner_id: str, name: str, roles: set[Role], days: int
) -> str:
    """An account for a program, owned by a named, active person of the same organisation,
    with roles that never sign (no dpo, no admin) and that its owner holds approved, expiring
    within 90 days."""
    owner = session.get(Account, owner_id)
    if owner is None or owner.state != "active" or owner.kind != "person":
        raise ValidationError("a service account's owner is an enrolled, named person")
    if not 1 <= days <= SERVICE_MAX_DAYS:
        raise ValidationError(f"a service account lives 1 to {SERVICE_MAX_DAYS} days")
    if not roles or not roles <= SERVICE_ROLES:
        raise ValidationError("a service account may be operator, recipient or auditor only")
    if not roles <= approved_roles(session, owner.id):
        raise ValidationError("a service account holds only roles its owner holds, approved")
    if not name.strip():
        raise ValidationError("a service account needs a name saying what it runs")
    now = datetime.now(UTC)
    account_id = str(uuid.uuid4())
    domain = owner.email.split("@", 1)[1]
    session.add(
        Account(
            id=account_id,
            organisation_id=owner.organisation_id,
            email=f"service+{account_id[:8]}@{domain}",
            full_name=name.strip()[:200],
            state="active",
            kind="service",
            owner_id=owner.id,
            expires_at=now + timedelta(days=days),
            created_at=now,
            enrolled_at=now,
        )
    )
    session.add_all(
        AccountRole(account_id=account_id, role=r.value, approved_at=now, approved_by=owner.id)
        for r in sorted(roles)
    )
    session.flush()
    return account_id


def usable(session: Session, account: Account | None, now: datetime) -> bool:
    """Active, not expired, and for a service account, its owner still active."""
    if account is None or account.state != "active":
        return False
    if account.expires_at is not None and as_utc(account.expires_at) <= now:
        return False
    if account.kind == "service":
        owner = session.get(Account, account.owner_id) if account.owner_id else None
        return owner is not None and owner.state == "active"
    return True


def directory(
    session: Session, *, organisation_id: str | None = None
) -> list[tuple[Account, list[str]]]:
    """Every account (of one organisation, when given), by e-mail, with its roles, a pending
    one marked `(pending)` (two queries, whatever the number)."""
    roles: dict[str, list[str]] = {}
    rows = session.execute(
        select(AccountRole.account_id, AccountRole.role, AccountRole.approved_at)
    )
    for account_id, role, approved_at in rows:
        roles.setdefault(account_id, []).append(role if approved_at else f"{role} (pending)")
    query = select(Account).order_by(Account.email)
    if organisation_id is not None:
        query = query.where(Account.organisation_id == organisation_id)
    accounts = session.execute(query).scalars()
    return [(a, sorted(roles.get(a.id, []))) for a in accounts]


ENROL_REFUSED = "enrolment refused: unknown e-mail, or a wrong, used or expired code"


def enrol(session: Session, *, email: str, code: str, now: datetime | None = None) -> str:
    """Activate a pending account with its one-time code; the code is then destroyed."""
    now = now or datetime.now(UTC)
    account = session.execute(
        select(Account).where(Account.email == email.strip().lower())
    ).scalar_one_or_none()
    stored = (account.enrolment_code_hash if account is not None else None) or "0" * 64
    matches = hmac.compare_digest(hash_code(code), stored)  # same work for unknown e-mails
    if (
        account is None
        or not matches
        or account.state != "pending"
        or account.enrolment_expires_at is None
        or as_utc(account.enrolment_expires_at) <= now
    ):
        raise AuthenticationError(ENROL_REFUSED)
    account.state, account.enrolled_at = "active", now
    account.enrolment_code_hash = account.enrolment_expires_at = None
    session.flush()
    return account.id
