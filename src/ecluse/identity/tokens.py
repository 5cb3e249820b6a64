"""API tokens: `ecl_<id>_<secret>`, stored as SHA-256 of the 256-bit secret, scoped to a subset
of the account's permissions, expiring (90 days at most), revocable.

A token reaches health data only when it was minted by a principal that had passed a second
factor (a login session opened with a TOTP or recovery code, or a token itself minted so),
fixed on its row at mint time: enabling TOTP later never lifts a token made before. Every
refusal says the same thing, so a caller learns nothing about which check failed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from sqlalchemy.orm import Session

from ecluse.clock import as_utc
from ecluse.db.models import (
    Account,
    ApiToken,
    LoginSession,
    Organisation,
)
from ecluse.errors import AuthenticationError, ValidationError
from ecluse.identity.accounts import approved_roles, usable
from ecluse.identity.permissions import HEALTH_DATA, permissions_of
from ecluse.kinds import Permission, Role

MAX_DAYS = 90
_TOKEN = re.compile(r"^ecl_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
REFUSED = "API token invalid, expired or revoked"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is acting, and with which permissions (role permissions within token scopes)."""

    account_id: str
    email: str
    organisation_id: str
    organisation_kind: str
    roles: frozenset[Role]
    permissions: frozenset[Permission]
    token_id: str  # the API token's id, or the login session's
    via: str = "token"  # token | session | ssh
    second_factor: bool = False  # the credential passed a second factor when it was made

    @property
    def actor(self) -> str:
        """The audit trail's name for this person."""
        return f"account:{self.email}"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str  # shown once
    id: str
    expires_at: datetime
    scopes: frozenset[Permission]


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    """256 random bits, URL-safe base64 without padding (43 characters)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")


Row = TypeVar("Row", ApiToken, LoginSession)


def find_by_secret(
    session: Session, model: type[Row], pattern: re.Pattern[str], value: str
) -> Row | None:
    """The row whose id and secret `value` (`<prefix>_<id>_<secret>`, matching `pattern`)
    names, or None. The hash is compared in constant time, against a dummy when the id is
    unknown or malformed: the same work either way."""
    m = pattern.match(value.strip())
    row = session.get(model, m.group(1)) if m else None
    stored = row.secret_hash if row is not None else "0" * 64
    matches = hmac.compare_digest(secret_hash(m.group(2) if m else ""), stored)
    return row if matches else None


def principal_of(
    session: Session,
    account: Account,
    *,
    credential_id: str,
    via: str,
    second_factor: bool,
    scopes: frozenset[Permission] | None = None,
) -> Principal:
    """The principal of a usable account; no health data without a second factor."""
    org = session.get(Organisation, account.organisation_id)
    roles = roles_of(session, account.id)
    granted = permissions_of(roles) if scopes is None else scopes & permissions_of(roles)
    if not second_factor:
        granted -= HEALTH_DATA
    return Principal(
        account_id=account.id,
        email=account.email,
        organisation_id=account.organisation_id,
        organisation_kind=org.kind if org else "",
        roles=roles,
        permissions=granted,
        token_id=credential_id,
        via=via,
        second_factor=second_factor,
    )


def roles_of(session: Session, account_id: str) -> frozenset[Role]:
    """Approved roles only: a role still pending approval gives no permission."""
    return approved_roles(session, account_id)


def issue(
    session: Session,
    *,
    account_id: str,
    name: str,
    days: int,
    scopes: set[Permission] | None = None,
    second_factor: bool = False,
    now: datetime | None = None,
) -> IssuedToken:
    """A new token for an active account; scopes default to everything its roles allow.
    `second_factor`: whether the principal minting it passed one (never assumed)."""
    now = now or datetime.now(UTC)
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError(f"a token lives 1 to {MAX_DAYS} days")
    account = session.get(Account, account_id)
    if account is None or not usable(session, account, now):
        raise ValidationError("tokens are issued to enrolled, active accounts only")
    allowed = permissions_of(roles_of(session, account_id))
    granted = frozenset(scopes) if scopes is not None else allowed
    if not granted or not granted <= allowed:
        raise ValidationError(
            "token scopes must be a non-empty subset of the account's "
            f"permissions: {sorted(p.value for p in allowed)}"
        )
    token_id = secrets.token_hex(8)
    secret = new_secret()
    expires = now + timedelta(days=days)
    if account.expires_at is not None:  # never outlives its service account
        expires = min(expires, as_utc(account.expires_at))
    session.add(
        ApiToken(
            id=token_id,
            account_id=account_id,
            name=name[:100] or "token",
            secret_hash=secret_hash(secret),
            scopes=json.dumps(sorted(p.value for p in granted)),
            created_at=now,
            expires_at=expires,
            second_factor=second_factor,
        )
    )
    session.flush()
    return IssuedToken(
        token=f"ecl_{token_id}_{secret}", id=token_id, expires_at=expires, scopes=granted
    )


def token_id_of(token: str) -> str | None:
    """The public id of a well-formed token (for the audit trail of a refusal)."""
    m = _TOKEN.match(token.strip())
    return m.group(1) if m else None


def authenticate(session: Session, token: str, *, now: datetime | None = None) -> Principal:
    """The principal behind a token, or `AuthenticationError` with one message for all cases."""
    now = now or datetime.now(UTC)
    row = find_by_secret(session, ApiToken, _TOKEN, token)
    if row is None or row.revoked_at is not None or as_utc(row.expires_at) <= now:
        raise AuthenticationError(REFUSED)
    account = session.get(Account, row.account_id)
    if account is None or not usable(session, account, now):
        raise AuthenticationError(REFUSED)
    return principal_of(
        session,
        account,
        credential_id=row.id,
        via="token",
        second_factor=row.second_factor,
        scopes=frozenset(Permission(p) for p in json.loads(row.scopes)),
    )


def revoke(
    session: Session, *, token_id: str, account_id: str, now: datetime | None = None
) -> None:
    """Revoke one of the account's own tokens."""
    row = session.get(ApiToken, token_id)
    if row is None or row.account_id != account_id:
        raise ValidationError("no such token of yours")
    row.revoked_at = row.revoked_at or now or datetime.now(UTC)
    session.flush()
