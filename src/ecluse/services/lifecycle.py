"""Disabling an account, as every channel performs it: the platform's admin for any account,
an organisation's dpo for the accounts of their own organisation. Every token, session and SSH
key of the account (and of the service accounts it owns) stops at once."""

from __future__ import annotations

from datetime import UTC, datetime

from ecluse.audit import Action
from ecluse.db.models import Account
from ecluse.errors import PolicyViolation, ValidationError
from ecluse.identity import Permission, Principal, Role
from ecluse.identity.lifecycle import Revoked, disable_account
from ecluse.instance.platform import Platform
from ecluse.services.access import refusals_audited

MAX_REASON = 500


def _may_disable(p: Principal, account: Account | None) -> None:
    if account is None:
        raise ValidationError("no such account")
    if Permission.ACCOUNT_MANAGE in p.permissions:
        return
    if Role.DPO in p.roles and account.organisation_id == p.organisation_id:
        return
    raise PolicyViolation("only the admin, or your organisation's dpo, disables an account")


def disable(platform: Platform, p: Principal, account_id: str, *, reason: str) -> Revoked:
    """Disable an account for good and revoke all its credentials; what was revoked."""
    with (
        refusals_audited(platform, p, "accounts disable", account=account_id),
        platform.db.transaction() as s,
    ):
        reason = reason.strip()
        if not 5 <= len(reason) <= MAX_REASON:  # noqa: PLR2004 - a written reason
            raise ValidationError(f"say why, in writing (5 to {MAX_REASON} characters)")
        _may_disable(p, s.get(Account, account_id))
        revoked = disable_account(s, account_id, now=datetime.now(UTC))
        platform.audit.append(
            s,
            actor=p.actor,
            action=Action.ACCOUNT_DISABLE,
            refs={"account": account_id},
            details={
                "reason": reason,
                "tokens": revoked.tokens,
                "sessions": revoked.sessions,
                "ssh_keys": revoked.ssh_keys,
            },
        )
    return revoked
