"""A second factor for test people, through the real services (as an authenticator app)."""

from __future__ import annotations

import time

from sqlalchemy.orm import Session

from ecluse.crypto.interfaces import KeyManager
from ecluse.identity import totp
from ecluse.identity.credentials import confirm_totp, start_totp


def code(secret: bytes, *, steps_ahead: int = 0) -> str:
    """The code an app shows now (or that many 30 s steps later, within the allowed drift)."""
    return totp.hotp(secret, totp.step_at(time.time()) + steps_ahead)


def enable_totp(session: Session, keys: KeyManager, account_id: str) -> bytes:
    """Turn TOTP on for an account; its secret, to compute later codes."""
    secret = totp.secret_from_uri(start_totp(session, keys, account_id))
    confirm_totp(session, keys, account_id, code(secret))
    return secret
