"""A second factor for test people, through the real services (as an authenticator app), and
the fresh codes their step-up acts need."""

from __future__ import annotations

import time

from sqlalchemy.orm import Session

from ecluse.crypto.interfaces import KeyManager
from ecluse.identity import totp
from ecluse.identity.credentials import confirm_totp, start_totp

# each person's unused recovery codes, by TOTP secret (a person's app and their printed sheet)
_RECOVERY: dict[bytes, list[str]] = {}


def code(secret: bytes, *, steps_ahead: int = 0) -> str:
    """The code an app shows now (or that many 30 s steps later, within the allowed drift)."""
    return totp.hotp(secret, totp.step_at(time.time()) + steps_ahead)


def remember(secret: bytes, recovery_codes: list[str]) -> None:
    """Keep a person's recovery codes (as printed once by `totp confirm`)."""
    _RECOVERY[secret] = list(recovery_codes)


def enable_totp(session: Session, keys: KeyManager, account_id: str) -> bytes:
    """Turn TOTP on for an account; its secret, to compute later codes."""
    secret = totp.secret_from_uri(start_totp(session, keys, account_id))
    remember(secret, confirm_totp(session, keys, account_id, code(secret)))
    return secret


def fresh_code(secret: bytes) -> str:
    """A code the server has never seen, for one step-up act: one of the person's recovery
    codes (a TOTP code passes once per 30 s step, too few for a test's quick succession)."""
    return _RECOVERY[secret].pop()
