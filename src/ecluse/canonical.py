"""Canonical JSON (RFC 8785, JCS): the one serialisation of everything Écluse signs or chains.

The audit chain, signed agreements and instructions, manifests, migration reports and their
sign-offs, audit witnesses and webhook bodies all go through `encode`. The JSON it accepts is
what JCS serialises without judgement: objects with string keys (sorted by their UTF-16 code
units, as RFC 8785 §3.2.3 says), strings of valid Unicode (no lone surrogate), booleans,
null, integers within ±(2**53 - 1), and arrays of those. Floats are refused: nothing we sign
holds one, and JCS's number format (ECMAScript's) is not Python's. Anything else is refused
too (`ValidationError`), never serialised some other way. A property test checks the output
against the reference `rfc8785` implementation.

Objects whose keys are all ASCII (every one we write but free-form mappings) sort the same
by code point as by UTF-16 unit, and are left to the C encoder.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from ecluse.errors import ValidationError

JsonValue = None | bool | int | str | Sequence["JsonValue"] | Mapping[str, "JsonValue"]

MAX_SAFE_INT = 2**53 - 1
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, sort_keys=False, separators=(",", ":"), allow_nan=False
)


def _utf16(key: str) -> bytes:
    return key.encode("utf-16-be", "surrogatepass")


def _ordered(value: Any, depth: int = 0) -> Any:
    """`value` checked, its objects as dicts in JCS key order, its arrays as lists."""
    kind = type(value)
    if kind is str or value is None or kind is bool:
        return value
    if isinstance(value, StrEnum):  # a state or a kind: its text
        return str(value)
    if kind is int:
        if not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
            raise ValidationError("canonical JSON holds integers within ±(2**53 - 1) only")
        return value
    if depth > 64:  # noqa: PLR2004 - nothing we sign is nested this deep
        raise ValidationError("canonical JSON nested too deeply")
    if isinstance(value, Mapping):
        if not all(type(k) is str for k in value):
            raise ValidationError("canonical JSON keys are strings")
        keys = sorted(value, key=None if all(k.isascii() for k in value) else _utf16)
        return {k: _ordered(value[k], depth + 1) for k in keys}
    if isinstance(value, list | tuple):
        return [_ordered(item, depth + 1) for item in value]
    raise ValidationError(f"canonical JSON cannot hold {kind.__name__}")


def dumps(value: Any) -> str:
    """The canonical JSON text of `value`; `ValidationError` for what JCS cannot carry as is."""
    return _ENCODER.encode(_ordered(value))


def encode(value: Any) -> bytes:
    """The canonical JSON bytes (UTF-8) of `value`."""
    try:
        return dumps(value).encode()
    except UnicodeEncodeError as e:
        raise ValidationError("canonical JSON strings are valid Unicode") from e
