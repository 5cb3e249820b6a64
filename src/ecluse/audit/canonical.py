"""The audit domain of canonical JSON (`ecluse.canonical`, RFC 8785): what an audit value may
hold. Objects with lower-case ASCII keys, short strings, booleans, null, integers within
±(2**53 - 1), and arrays of those, shallow; never a string that looks like a NIR.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from ecluse.canonical import MAX_SAFE_INT, JsonValue, dumps
from ecluse.errors import ValidationError
from ecluse.nir import NIR_LIKE

__all__ = ["MAX_SAFE_INT", "JsonValue", "canonical", "check", "dumps"]
MAX_STRING = 512
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def check(value: Any, *, depth: int = 0) -> None:
    """Raise `ValidationError` unless `value` is in the audit JSON domain."""
    if depth > 4:  # noqa: PLR2004 - audit details are shallow by design
        raise ValidationError("audit value nested too deeply")
    kind = type(value)
    if kind is str or isinstance(value, StrEnum):  # a StrEnum: a state or a kind, as text
        _check_string(value)
    elif kind is int:
        if not -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
            raise ValidationError("audit integer out of the exactly representable range")
    elif value is None or kind is bool:
        return
    elif isinstance(value, Mapping):
        _check_mapping(value, depth)
    elif isinstance(value, list | tuple):
        for item in value:
            check(item, depth=depth + 1)
    else:
        raise ValidationError(f"audit values cannot hold {kind.__name__}")


def _check_mapping(value: Mapping[Any, Any], depth: int) -> None:
    for k, v in value.items():
        if type(k) is not str or not _KEY.match(k):
            raise ValidationError("audit keys are lower-case ASCII identifiers")
        if type(v) is str:  # the common case, without a recursive call
            _check_string(v)
        else:
            check(v, depth=depth + 1)


def _check_string(value: str) -> None:
    if len(value) > MAX_STRING:
        raise ValidationError("audit string too long: audit details are references")
    if NIR_LIKE.search(value):  # a NIR must never reach the log
        raise ValidationError("audit value looks like a social-security number: refused")


def canonical(value: Any) -> str:
    """Check then serialise canonically."""
    check(value)
    return dumps(value)
