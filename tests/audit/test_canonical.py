"""Our canonical JSON equals RFC 8785 (the `rfc8785` reference) over the audit domain."""

from __future__ import annotations

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from ecluse.audit.canonical import MAX_SAFE_INT, canonical, dumps
from ecluse.audit.chain import event_body
from ecluse.errors import ValidationError

keys = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True)
text = st.text(max_size=40).filter(lambda s: not any(0xD800 <= ord(c) <= 0xDFFF for c in s))
scalars = st.none() | st.booleans() | st.integers(-MAX_SAFE_INT, MAX_SAFE_INT) | text
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=12,
)


@given(st.dictionaries(keys, values, max_size=6))
def test_matches_reference_jcs(value: dict[str, object]) -> None:
    assert dumps(value).encode() == rfc8785.dumps(value)


@given(st.integers(1, 10**9), text, text, text, st.dictionaries(keys, values, max_size=4))
def test_event_body_is_jcs_of_the_event(
    seq: int, ts: str, actor: str, action: str, details: dict[str, object]
) -> None:
    body = event_body(
        seq=seq,
        ts=ts,
        actor=actor,
        action=action,
        refs=dumps({"a": "b"}),
        details=dumps(details),
        prev_hash="0" * 64,
    )
    assert body == rfc8785.dumps(
        {
            "seq": seq,
            "ts": ts,
            "actor": actor,
            "action": action,
            "refs": {"a": "b"},
            "details": details,
            "prev": "0" * 64,
        }
    )


@pytest.mark.parametrize(
    "value",
    [
        {"ratio": 0.5},  # floats: JCS formatting differs from Python's
        {"n": 2**53},  # beyond exact IEEE-754 integers
        {"Key": 1},  # keys are lower-case identifiers
        {"k": b"bytes"},
        {"nir": "1 84 12 76 451 089 46"},  # a NIR never enters the log
        {"nir": "184127645108946"},
        {"nir": "2 84 12 2A 451 089 46"},  # Corsica
        {"text": "x" * 600},  # details are references, not content
        {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}},
    ],
)
def test_refused_values(value: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        canonical(value)


@pytest.mark.parametrize(
    "value",
    [
        {"kid": "175e712a2e171a1e48686773c1e93d0b"},
        {"bytes": 123456789012345},
        {"when": "2026-11-23"},
    ],
)
def test_accepted_values(value: dict[str, object]) -> None:
    assert canonical(value)
