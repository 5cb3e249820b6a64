"""Passwords as the French regulator recommends them (CNIL deliberation 2022-100), hashed with
Argon2id.

A password that is the only factor must carry about 80 bits of entropy, which the
deliberation spells as: at least 12 characters of all four kinds (lower case, capitals,
digits, special characters), or at least 14 characters with lower case, capitals and digits,
or a passphrase of at least 7 words. It must not be a common or breached password (the
30,000 most common of the breach corpora, shipped with zxcvbn, and a French supplement
shipped here), nor hold the person's name or e-mail. Nothing expires with time: a password
changes when it is known or feared compromised. Messages say which rule failed, never the
password.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ecluse.errors import ValidationError

MAX_LENGTH = 1024  # Argon2 takes any length; a bound keeps a request's cost bounded
_MIN_ALL_KINDS, _MIN_THREE_KINDS, _MIN_WORDS, _MIN_PERSONAL = 12, 14, 7, 4
_WORD = re.compile(r"[^\W\d_]{2,}")
_SEPARATORS = re.compile(r"[\s\-_.,;:/]+")
# RFC 9106's second recommended option (64 MiB, 3 passes), 2 lanes for a 2-core host
_HASHER = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=2)


@functools.cache
def _common() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # noqa: PLC0415 - 30,000 entries, once

    french = resources.files("ecluse.identity").joinpath("common-passwords-fr.txt")
    lines = french.read_text(encoding="utf-8").splitlines()
    extra = (w.strip().lower() for w in lines if w.strip() and not w.startswith("#"))
    return frozenset(FREQUENCY_LISTS["passwords"]) | frozenset(extra)


def _kinds(password: str) -> set[str]:
    kinds = set()
    for c in password:
        if c.islower():
            kinds.add("lower")
        elif c.isupper():
            kinds.add("upper")
        elif c.isdigit():
            kinds.add("digit")
        else:
            kinds.add("special")
    return kinds


def strong_enough(password: str) -> bool:
    """One of the three forms the deliberation gives for about 80 bits."""
    kinds = _kinds(password)
    words = [w for w in _SEPARATORS.split(password) if _WORD.fullmatch(w)]
    return (
        (len(password) >= _MIN_ALL_KINDS and len(kinds) == 4)  # noqa: PLR2004 - four kinds
        or (len(password) >= _MIN_THREE_KINDS and {"lower", "upper", "digit"} <= kinds)
        or len(set(w.lower() for w in words)) >= _MIN_WORDS
    )


def _personal(full_name: str, email: str) -> set[str]:
    local = email.split("@", 1)[0]
    parts = re.split(r"[\W_]+", f"{full_name} {local}".lower())
    return {p for p in parts if len(p) >= _MIN_PERSONAL}


def _bare(password: str) -> str:
    """The password without its decoration: lower case, trailing digits and symbols off."""
    return re.sub(r"[\d\W_]+$", "", password.lower())


def check_password(password: str, *, full_name: str, email: str) -> None:
    """Raise `ValidationError` naming the rule a new password breaks."""
    if len(password) > MAX_LENGTH:
        raise ValidationError(f"a password has at most {MAX_LENGTH} characters")
    if not strong_enough(password):
        raise ValidationError(
            "too weak: use at least 12 characters mixing lower case, capitals, digits and "
            "special characters, or at least 14 with lower case, capitals and digits, or a "
            "passphrase of at least 7 words"
        )
    lowered = password.lower()
    if lowered in _common() or _bare(password) in _common():
        raise ValidationError("this password is among the common or breached ones: choose another")
    if any(part in lowered for part in _personal(full_name, email)):
        raise ValidationError("a password must not contain your name or your e-mail")


def hash_password(password: str) -> str:
    """An Argon2id hash in PHC format (salt and parameters included)."""
    if len(password) > MAX_LENGTH:
        raise ValidationError(f"a password has at most {MAX_LENGTH} characters")
    return _HASHER.hash(password)


def verify_password(stored: str, password: str) -> bool:
    """Whether `password` matches; false for a malformed hash or an over-long attempt."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _HASHER.check_needs_rehash(stored)
