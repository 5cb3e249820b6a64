"""The end of a credential's life, at once: disabling an account, or locking it, or changing
its password, revokes its API tokens, closes its sessions and revokes its SSH keys, and those
of the service accounts it owns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ecluse.clock import as_utc
from ecluse.db.models import Account, ApiToken, Credential, LoginSession, SshKey
from ecluse.errors import ValidationError
from ecluse.identity.accounts import usable
from ecluse.identity.tokens import Principal

#: the credential id of an SSH login by password and code (keyboard-interactive)
# an authentication method's name, not a password
SSH_PASSWORD_LOGIN = "keyboard-interactive"  # noqa: S105 - a method's name, no password  # nosec B105


@dataclass(frozen=True, slots=True)
class Revoked:
    tokens: int
    sessions: int
    ssh_keys: int


def _owned(session: Session, account_id: str) -> list[str]:
    rows = session.execute(select(Account.id).where(Account.owner_id == account_id)).scalars()
    return [account_id, *rows]


def _changed(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def revoke_credentials(session: Session, account_id: str, *, now: datetime) -> Revoked:
    """Every live token, session and SSH key of the account and of its service accounts."""
    ids = _owned(session, account_id)
    tokens = session.execute(
        update(ApiToken)
        .where(ApiToken.account_id.in_(ids), ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    sessions = session.execute(
        update(LoginSession)
        .where(LoginSession.account_id.in_(ids), LoginSession.closed_at.is_(None))
        .values(closed_at=now)
    )
    keys = session.execute(
        update(SshKey)
        .where(SshKey.account_id.in_(ids), SshKey.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.flush()
    return Revoked(_changed(tokens), _changed(sessions), _changed(keys))


def disable_account(session: Session, account_id: str, *, now: datetime) -> Revoked:
    """Disabled for good, with the service accounts it owns; a pending enrolment code dies."""
    account = session.get(Account, account_id, with_for_update=True)
    if account is None:
        raise ValidationError("no such account")
    if account.state == "disabled":
        raise ValidationError("this account is already disabled")
    for row in session.execute(
        select(Account).where(Account.id.in_(_owned(session, account_id)))
    ).scalars():
        row.state = "disabled"
        row.enrolment_code_hash = row.enrolment_expires_at = None
    return revoke_credentials(session, account_id, now=now)


def still_live(session: Session, p: Principal, *, since: datetime, now: datetime) -> bool:
    """Whether a connection opened at `since` by `p` may go on: its account usable and not
    locked, its password unchanged since, and for a key login, its key not revoked. A
    disabled, locked or re-passworded account stops its open connections at their next act."""
    account = session.get(Account, p.account_id)
    credential = session.get(Credential, p.account_id)
    if not usable(session, account, now):
        return False
    if credential is not None and credential.locked_at is not None:
        return False
    changed = credential.password_set_at if credential is not None else None
    if changed is not None and as_utc(changed) > since:
        return False
    if p.via != "ssh" or p.token_id == SSH_PASSWORD_LOGIN:  # password and code: see above
        return True
    key = session.execute(
        select(SshKey.id).where(
            SshKey.fingerprint == p.token_id,
            SshKey.account_id == p.account_id,
            SshKey.revoked_at.is_(None),
        )
    ).first()
    return key is not None
