"""Organisations, accounts, enrolment, logins, sessions, tokens and a person's own
credentials, as every channel performs them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ecluse.audit import Action
from ecluse.db.models import Account, Organisation
from ecluse.errors import AuthenticationError, ConfigurationError, PolicyViolation, ValidationError
from ecluse.identity import (
    OrgKind,
    Principal,
    Role,
    create_account,
    create_organisation,
    enrol,
    issue,
    throttle,
)
from ecluse.identity.accounts import (
    ENROLMENT_TTL,
    NewAccount,
    check_registration,
    create_service_account,
)
from ecluse.identity.permissions import HEALTH_DATA, permissions_of
from ecluse.identity.personal import create_personal_key
from ecluse.identity.tokens import IssuedToken
from ecluse.instance.platform import Platform
from ecluse.services.access import refusals_audited, unauthenticated
from ecluse.services.typed import typed_identifier
from ecluse.supervision.sinks import SinkError, SmtpSink


def enrol_person(
    platform: Platform, *, email: str, code: str, days: int, channel: str, address: str
) -> IssuedToken:
    """Activate an account with its one-time code: its signing key and first API token (which
    never reaches health data: no second factor was given). Failures are counted by address;
    past the limit no code is even checked."""
    email = email.strip().lower()[:254]
    try:
        with platform.db.transaction() as s:
            if throttle.enrol_refused(s, address=address, now=datetime.now(UTC)):
                raise AuthenticationError(throttle.ENROL_THROTTLED)
            account_id = enrol(s, email=email, code=code)
            kid = create_personal_key(s, platform.keys, account_id=account_id)
            issued = issue(s, account_id=account_id, name="first token", days=days)
            actor = f"account:{email}"
            platform.audit.append(
                s,
                actor=actor,
                action=Action.ACCOUNT_ENROL,
                refs={"account": account_id, "signing_key": kid},
            )
            platform.audit.append(
                s,
                actor=actor,
                action=Action.TOKEN_ISSUE,
                refs={"token": issued.id},
                details={"days": days},
            )
    except AuthenticationError:
        with platform.db.transaction() as s:
            now = datetime.now(UTC)
            throttle.record(s, kind="enrol", address=address, subject=None, now=now)
            typed = typed_identifier(platform, s, email)
            platform.audit.append(
                s,
                actor=unauthenticated(channel),
                action=Action.ENROL_REFUSED,
                refs=typed.refs,
                details={**typed.details, "address": address[:64]},
            )
        raise
    return issued


def register_organisation(
    platform: Platform,
    p: Principal,
    *,
    name: str,
    kind: OrgKind,
    finess: str | None,
    siret: str | None,
) -> str:
    with refusals_audited(platform, p, "orgs create"), platform.db.transaction() as s:
        check_registration(kind, finess=finess, siret=siret)
        org_id = create_organisation(s, name=name, kind=kind, finess=finess, siret=siret)
        platform.audit.append(
            s,
            actor=p.actor,
            action=Action.ORG_CREATE,
            refs={"organisation": org_id},
            details={"kind": kind.value},
        )
    return org_id


@dataclass(frozen=True, slots=True)
class CreatedPerson:
    """A pending account; its enrolment code went to the person's own e-mail only."""

    id: str
    email: str
    pending_roles: tuple[str, ...]  # waiting for approval by a person with authority


ENROLMENT_MAIL = """Hello {name},

An Écluse account was created for you ({email}). Your one-time enrolment code, valid
{days} days:

    {code}

Enrol with `ecluse enrol --email {email}` (it asks for the code), or POST /v1/enrol.
A role that reaches health data takes effect once your organisation approves it.
If you did not expect this message, tell your organisation's security contact.
"""


def _mail_code(platform: Platform, new: NewAccount, name: str) -> None:
    """The code to the person's own address, through the configured SMTP server (the
    alert sink's, STARTTLS rules included); never to the caller, never to a log."""
    try:
        SmtpSink(settings=platform.settings.alerts).mail(
            address=new.email,
            subject="[Écluse] your enrolment code",
            text=ENROLMENT_MAIL.format(
                name=name.strip()[:200],
                email=new.email,
                days=ENROLMENT_TTL.days,
                code=new.enrolment_code,
            ),
        )
    except SinkError as e:
        raise ConfigurationError(
            f"the enrolment e-mail could not be sent ({e}); nothing was created"
        ) from e


def create_person(
    platform: Platform,
    p: Principal,
    *,
    organisation_id: str,
    email: str,
    name: str,
    roles: set[Role],
) -> CreatedPerson:
    """A named person's pending account; its one-time enrolment code is e-mailed to the
    person (refused when no SMTP server is configured). Its health-data roles wait for
    approval."""
    if platform.settings.alerts.smtp_host is None:
        with refusals_audited(platform, p, "accounts create", organisation=organisation_id):
            raise PolicyViolation(NO_MAIL)  # fail closed: nobody else may see the code
    new, pending = _create_person(
        platform,
        p,
        organisation_id=organisation_id,
        email=email,
        name=name,
        roles=roles,
        deliver=lambda new: _mail_code(platform, new, name),
        delivered="e-mail",
    )
    return CreatedPerson(new.id, new.email, pending)


def create_person_at_host(
    platform: Platform,
    p: Principal,
    *,
    organisation_id: str,
    email: str,
    name: str,
    roles: set[Role],
) -> NewAccount:
    """Like `create_person`, for a host-level command only (`ecluse demo`'s people and
    guests): the code is returned to be shown on this host's console, never over a channel.
    Its health-data roles wait for approval all the same."""
    new, _ = _create_person(
        platform,
        p,
        organisation_id=organisation_id,
        email=email,
        name=name,
        roles=roles,
        deliver=lambda new: None,
        delivered="host console",
    )
    return new


def _create_person(
    platform: Platform,
    p: Principal,
    *,
    organisation_id: str,
    email: str,
    name: str,
    roles: set[Role],
    deliver: Callable[[NewAccount], None],
    delivered: str,
) -> tuple[NewAccount, tuple[str, ...]]:
    with (
        refusals_audited(platform, p, "accounts create", organisation=organisation_id),
        platform.db.transaction() as s,
    ):
        if s.get(Organisation, organisation_id) is None:
            raise ValidationError("no such organisation")
        new = create_account(
            s, organisation_id=organisation_id, email=email, full_name=name, roles=roles
        )
        pending = new.pending_roles
        platform.audit.append(
            s,
            actor=p.actor,
            action=Action.ACCOUNT_CREATE,
            refs={"account": new.id, "organisation": organisation_id},
            details={
                "roles": sorted(r.value for r in roles),
                "pending": list(pending),
                "code_to": delivered,
            },
        )
        deliver(new)  # inside the transaction: a code that cannot be sent creates nothing
    return new, pending


NO_MAIL = (
    "creating a person needs e-mail: the enrolment code goes to the person only. "
    "Configure ECLUSE_ALERTS__SMTP_HOST (and _PORT, _SENDER, _USER, _PASSWORD, _CAFILE)"
)


def create_service(
    platform: Platform, p: Principal, *, name: str, roles: set[Role], days: int
) -> tuple[str, IssuedToken]:
    """A service account owned by the caller, in the caller's organisation, with roles the
    caller holds approved (with TOTP on, for health data), and its API token (shown once).
    Never by an admin."""
    with (
        refusals_audited(platform, p, "accounts create-service"),
        platform.db.transaction() as s,
    ):
        if Role.ADMIN in p.roles or p.via == "ssh":
            raise PolicyViolation("a service account is created by its owner, never an admin")
        owner = s.get(Account, p.account_id)
        if owner is None or owner.kind != "person":
            raise PolicyViolation("a service account is owned by a named person")
        if not roles <= p.roles:
            raise PolicyViolation("a service account holds only roles you hold, approved")
        if permissions_of(roles) & HEALTH_DATA and not p.second_factor:
            raise PolicyViolation(
                "health data needs your second factor: log in with your code (`ecluse login`)"
            )
        account_id = create_service_account(s, owner_id=owner.id, name=name, roles=roles, days=days)
        issued = issue(
            s,
            account_id=account_id,
            name="service token",
            days=days,
            second_factor=p.second_factor,
        )
        platform.audit.append(
            s,
            actor=p.actor,
            action=Action.ACCOUNT_CREATE,
            refs={"account": account_id, "owner": owner.id, "token": issued.id},
            details={"kind": "service", "roles": sorted(r.value for r in roles), "days": days},
        )
    return account_id, issued
