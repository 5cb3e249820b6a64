"""Logins over SSH, for the SFTP server: a registered key of a named person, or their password
and TOTP code; each refusal audited with the address and the key's fingerprint (never a
password or code), the user name as the account's id or its keyed digest; and whether a
connection's credential is still live."""

from __future__ import annotations

from datetime import UTC, datetime

from ecluse.audit import Action
from ecluse.db.models import Account
from ecluse.errors import AuthenticationError
from ecluse.identity import Permission, Principal
from ecluse.identity.lifecycle import SSH_PASSWORD_LOGIN, still_live
from ecluse.identity.permissions import HEALTH_DATA, permissions_of
from ecluse.identity.ssh_keys import key_principal
from ecluse.identity.tokens import principal_of
from ecluse.instance.platform import Platform
from ecluse.services.access import unauthenticated
from ecluse.services.credentials import log_in
from ecluse.services.typed import typed_identifier

CHANNEL = "sftp"


def by_key(platform: Platform, username: str, fingerprint: str) -> Principal | None:
    """Who the live key `fingerprint` logs in as `username`; None when it does not."""
    with platform.db.transaction() as s:
        return key_principal(s, username, fingerprint, now=datetime.now(UTC))


def key_opened(platform: Platform, p: Principal, *, address: str, fingerprint: str) -> None:
    """Record a key login once proven (a password login records itself)."""
    with platform.db.transaction() as s:
        platform.audit.append(
            s,
            actor=p.actor,
            action=Action.SESSION_OPEN,
            refs={"account": p.account_id, "session": "none"},
            details={"via": CHANNEL, "address": address[:64], "key": fingerprint},
        )


def by_password(
    platform: Platform, username: str, password: str, code: str, *, address: str
) -> Principal:
    """Password and code, throttled and audited as every login; the principal over SSH."""
    done = log_in(
        platform,
        email=username,
        password=password,
        code=code or None,
        address=address,
        channel=CHANNEL,
        open_new_session=False,
    )
    with platform.db.transaction() as s:
        account = s.get(Account, done.account_id)
        if account is None:
            raise AuthenticationError("login refused")
        return principal_of(
            s,
            account,
            credential_id=SSH_PASSWORD_LOGIN,
            via="ssh",
            second_factor=done.second_factor,
        )


def refused(
    platform: Platform, username: str, *, method: str, fingerprint: str, address: str
) -> None:
    """Audit a refused SSH authentication."""
    with platform.db.transaction() as s:
        typed = typed_identifier(platform, s, username)
        platform.audit.append(
            s,
            actor=unauthenticated(CHANNEL),
            action=Action.AUTH_REFUSED,
            refs={"key": fingerprint[:60], **typed.refs},
            details={"method": method, "address": address[:64], **typed.details},
        )


def holds_back_health_data(p: Principal) -> bool:
    """Whether `p`'s roles open health data this login does not (no second factor)."""
    return bool((permissions_of(p.roles) & HEALTH_DATA) - p.permissions)


def opens_with_roles(p: Principal, needed: Permission) -> bool:
    """Whether `p`'s roles would give `needed` (with a second factor, say)."""
    return needed in permissions_of(p.roles)


def live(platform: Platform, p: Principal, *, since: datetime) -> bool:
    """Whether a connection opened at `since` by `p` may go on (`still_live`)."""
    with platform.db.transaction() as s:
        return still_live(s, p, since=since, now=datetime.now(UTC))
