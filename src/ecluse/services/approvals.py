"""The two-person rule as every channel performs it: pending health-data roles listed,
approved or refused by a person of the organisation with authority, a processor's or
recipient's security contact named, a controller's first dpo approved at the host. Each
decision is audited and alerted to the organisation's contacts; each refusal is audited."""

from __future__ import annotations

from ecluse.audit import Action
from ecluse.errors import EcluseError
from ecluse.identity import Principal, Role
from ecluse.identity.approvals import (
    Decided,
    PendingGrant,
    approve_first_dpo,
    decide,
    designate_contact,
    may_decide,
    may_designate,
    pending,
)
from ecluse.instance.platform import Platform
from ecluse.services.access import refusals_audited
from ecluse.services.alerting import raise_alert
from ecluse.services.step_up import confirm_presence
from ecluse.supervision.alerts import AlertKind, Severity


def list_pending(platform: Platform, p: Principal) -> list[PendingGrant]:
    with refusals_audited(platform, p, "accounts pending"), platform.db.transaction() as s:
        return pending(s, p)


def decide_role(
    platform: Platform,
    p: Principal,
    *,
    account_id: str,
    role: Role,
    approve: bool,
    code: str | None,
) -> Decided:
    """Approve (with a fresh second-factor `code`: it grants what the role reaches) or refuse
    another person's pending role: audited, alerted."""
    command = "accounts approve" if approve else "accounts refuse"
    if approve:  # who may, first (a refusal spends no code); then the fresh code
        with (
            refusals_audited(platform, p, command, account=account_id),
            platform.db.transaction() as s,
        ):
            may_decide(s, p, account_id=account_id, role=role)
        confirm_presence(platform, p, code, command=command, account=account_id)
    with (
        refusals_audited(platform, p, command, account=account_id),
        platform.db.transaction() as s,
    ):
        done = decide(s, p, account_id=account_id, role=role, approve=approve)
        refs = {"account": done.account_id, "organisation": done.organisation_id}
        platform.audit.append(
            s,
            actor=p.actor,
            action=Action.ROLE_APPROVE if approve else Action.ROLE_REFUSE,
            refs=refs,
            details={"role": done.role},
        )
        raise_alert(
            s,
            platform.audit,
            kind=AlertKind.ROLE_APPROVED if approve else AlertKind.ROLE_REFUSED,
            severity=Severity.INFO,
            organisation_id=done.organisation_id,
            refs={**refs, "role": done.role},
            actor=p.actor,
        )
    return done


def approve_first_dpo_at_host(platform: Platform, *, account_id: str, actor: str) -> Decided:
    """`ecluse accounts approve-first-dpo`: run by the host's key holder (`local:<user>`);
    a refusal is audited too."""
    try:
        return _approve_first_dpo(platform, account_id=account_id, actor=actor)
    except EcluseError as e:
        with platform.db.transaction() as s:
            platform.audit.append(
                s,
                actor=actor,
                action=Action.REQUEST_REFUSED,
                refs={"command": "accounts approve-first-dpo"},
                details={"reason": type(e).__name__},
            )
        raise


def _approve_first_dpo(platform: Platform, *, account_id: str, actor: str) -> Decided:
    with platform.db.transaction() as s:
        done = approve_first_dpo(s, account_id=account_id, by=actor)
        refs = {"account": done.account_id, "organisation": done.organisation_id}
        platform.audit.append(
            s, actor=actor, action=Action.ROLE_APPROVE, refs=refs, details={"role": done.role}
        )
        raise_alert(
            s,
            platform.audit,
            kind=AlertKind.ROLE_APPROVED,
            severity=Severity.INFO,
            organisation_id=done.organisation_id,
            refs={**refs, "role": done.role},
            actor=actor,
        )
    return done


def name_security_contact(
    platform: Platform, p: Principal, *, organisation_id: str, account_id: str, code: str | None
) -> list[str]:
    """A processor's or recipient's security contact (with a fresh second-factor `code`);
    returns the roles this approved."""
    command, refs = "orgs security-contact", {"organisation": organisation_id}
    with (  # who may, first (a refusal spends no code); then the fresh code
        refusals_audited(platform, p, command, **refs, account=account_id),
        platform.db.transaction() as s,
    ):
        may_designate(s, p, organisation_id=organisation_id, account_id=account_id)
    confirm_presence(platform, p, code, command=command, **refs)
    with (
        refusals_audited(platform, p, command, **refs, account=account_id),
        platform.db.transaction() as s,
    ):
        approved = designate_contact(s, p, organisation_id=organisation_id, account_id=account_id)
        refs = {"organisation": organisation_id, "account": account_id}
        platform.audit.append(
            s,
            actor=p.actor,
            action=Action.SECURITY_CONTACT_SET,
            refs=refs,
            details={"approved_roles": approved},
        )
        for role in approved:
            platform.audit.append(
                s, actor=p.actor, action=Action.ROLE_APPROVE, refs=refs, details={"role": role}
            )
        raise_alert(
            s,
            platform.audit,
            kind=AlertKind.SECURITY_CONTACT_NAMED,
            severity=Severity.INFO,
            organisation_id=organisation_id,
            refs=refs,
            actor=p.actor,
        )
    return approved
