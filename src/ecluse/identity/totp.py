"""Time-based one-time codes (RFC 6238 over RFC 4226: HMAC-SHA1, 6 digits, 30-second steps),
as every authenticator app reads them, and single-use recovery codes.

A code is accepted for the current step or the one either side (clocks drift), and only for
a step later than the last one accepted for that account: a code seen once, by an observer
or a replay, is refused. Recovery codes carry 60 random bits each, so an unkeyed SHA-256 is
enough to store them; each is struck out when used. Comparisons are constant-time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from urllib.parse import parse_qs, quote, urlencode, urlparse

DIGITS, STEP_SECONDS, DRIFT_STEPS = 6, 30, 1
SECRET_BYTES = 20  # RFC 4226's recommended 160 bits
RECOVERY_CODES, _RECOVERY_GROUPS = 10, 3
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def new_secret() -> bytes:
    return secrets.token_bytes(SECRET_BYTES)


def secret_text(secret: bytes) -> str:
    """Base32 without padding, as typed into an authenticator app."""
    return base64.b32encode(secret).decode().rstrip("=")


def provisioning_uri(secret: bytes, *, account: str, issuer: str = "Écluse") -> str:
    """The `otpauth://` URI an authenticator app reads from a QR code."""
    label = quote(f"{issuer}:{account}")
    query = urlencode({"secret": secret_text(secret), "issuer": issuer, "digits": DIGITS})
    return f"otpauth://totp/{label}?{query}&period={STEP_SECONDS}&algorithm=SHA1"


def secret_from_uri(uri: str) -> bytes:
    """The secret inside an `otpauth://` URI (what an authenticator app reads)."""
    text = parse_qs(urlparse(uri).query)["secret"][0]
    return base64.b32decode(text + "=" * (-len(text) % 8))


def step_at(when: float) -> int:
    return int(when) // STEP_SECONDS


def hotp(secret: bytes, counter: int, *, digits: int = DIGITS) -> str:
    """RFC 4226: dynamic truncation of HMAC-SHA1(secret, counter)."""
    mac = hmac.digest(secret, struct.pack(">Q", counter), "sha1")
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def verify(secret: bytes, code: str, *, last_step: int | None, now: float | None = None) -> int:
    """The step `code` belongs to; raise `ValueError` if it is wrong, stale or replayed."""
    typed = code.replace(" ", "")
    if len(typed) != DIGITS or not typed.isdigit():
        raise ValueError("a code is 6 digits")
    current = step_at(time.time() if now is None else now)
    matched = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(hotp(secret, step), typed) and matched is None:
            matched = step
    if matched is None:
        raise ValueError("wrong or expired code")
    if last_step is not None and matched <= last_step:
        raise ValueError("this code was already used")
    return matched


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """Codes such as `k7qd-2mfa-x9pe`, shown once."""
    alphabet = _B32.lower()
    return [
        "-".join(
            "".join(secrets.choice(alphabet) for _ in range(4)) for _ in range(_RECOVERY_GROUPS)
        )
        for _ in range(count)
    ]


def recovery_digest(code: str) -> bytes:
    """What is stored for a recovery code (typed with or without dashes, any case)."""
    normal = code.replace("-", "").replace(" ", "").lower()
    return hashlib.sha256(b"ecluse-recovery-v1|" + normal.encode()).digest()


def use_recovery_code(stored: list[bytes], code: str) -> list[bytes]:
    """`stored` without the code's digest; raise `ValueError` if it is not among them."""
    digest = recovery_digest(code)
    found = [hmac.compare_digest(d, digest) for d in stored]
    if not any(found):
        raise ValueError("not a valid recovery code")
    return [d for d, f in zip(stored, found, strict=True) if not f]
