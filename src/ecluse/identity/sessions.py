"""Login sessions: what a password (and TOTP) login gives, `ecs_<id>_<secret>`.

Stored as the SHA-256 of the secret. A session ends after `idle` without use, at its absolute
end, at logout, or when the account stops being usable or is locked. Health data only if the
login passed a second factor. One refusal message for every case, like tokens.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from ecluse.clock import as_utc
from ecluse.db.models import Account, Credential, LoginSession
from ecluse.errors import AuthenticationError
from ecluse.identity.accounts import usable
from ecluse.identity.tokens import (
    Principal,
    find_by_secret,
    new_secret,
    principal_of,
    secret_hash,
)

_SESSION = re.compile(r"^ecs_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
REFUSED = "session invalid, expired or closed: log in again"


@dataclass(frozen=True, slots=True)
class OpenedSession:
    token: str  # given to the client once
    id: str
    expires_at: datetime


def open_session(
    session: Session,
    *,
    account_id: str,
    second_factor: bool,
    address: str,
    lifetime: timedelta,
    now: datetime | None = None,
) -> OpenedSession:
    now = now or datetime.now(UTC)
    sid, secret = secrets.token_hex(8), new_secret()
    session.add(
        LoginSession(
            id=sid,
            account_id=account_id,
            secret_hash=secret_hash(secret),
            second_factor=second_factor,
            address=address[:64],
            created_at=now,
            last_seen_at=now,
            expires_at=now + lifetime,
        )
    )
    session.flush()
    return OpenedSession(token=f"ecs_{sid}_{secret}", id=sid, expires_at=now + lifetime)


def is_session_token(value: str) -> bool:
    return value.startswith("ecs_")


def session_id_of(token: str) -> str | None:
    """The public id of a well-formed session token (for the audit trail of a refusal)."""
    m = _SESSION.match(token.strip())
    return m.group(1) if m else None


def authenticate_session(
    session: Session, token: str, *, idle: timedelta, now: datetime | None = None
) -> Principal:
    """The principal of a live session; its idle clock restarts."""
    now = now or datetime.now(UTC)
    row = find_by_secret(session, LoginSession, _SESSION, token)
    if (
        row is None
        or row.closed_at is not None
        or as_utc(row.expires_at) <= now
        or as_utc(row.last_seen_at) + idle <= now
    ):
        raise AuthenticationError(REFUSED)
    account = session.get(Account, row.account_id)
    credential = session.get(Credential, row.account_id)
    if account is None or not usable(session, account, now):
        raise AuthenticationError(REFUSED)
    if credential is None or credential.locked_at is not None:
        raise AuthenticationError(REFUSED)
    row.last_seen_at = now
    session.flush()
    return principal_of(
        session,
        account,
        credential_id=row.id,
        via="session",
        second_factor=row.second_factor,
    )


def close_session(session: Session, session_id: str, *, now: datetime | None = None) -> None:
    session.execute(
        update(LoginSession)
        .where(LoginSession.id == session_id, LoginSession.closed_at.is_(None))
        .values(closed_at=now or datetime.now(UTC))
    )
