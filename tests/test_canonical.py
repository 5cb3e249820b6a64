"""The one canonical JSON equals RFC 8785 (the reference `rfc8785` package) over everything it
accepts, keys of any script included, and refuses what JCS would write otherwise."""

from __future__ import annotations

import math

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from ecluse.canonical import MAX_SAFE_INT, dumps, encode
from ecluse.errors import ValidationError

# any Unicode but lone surrogates: Latin, CJK, the private-use area above the surrogates
# (which UTF-16 sorts after every astral character) and astral characters themselves
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
scalars = st.none() | st.booleans() | st.integers(-MAX_SAFE_INT, MAX_SAFE_INT) | text
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=5),
    max_leaves=16,
)


@given(values)
def test_matches_the_reference_implementation(value: object) -> None:
    assert encode(value) == rfc8785.dumps(value)


@pytest.mark.parametrize(
    "keys",
    [
        ["\ue000", "\U0001f600"],  # UTF-16: the astral one (a surrogate pair) sorts first
        ["é", "e", "z", "É"],
        ["résultat", "resultat", "RÉSULTAT"],
    ],
)
def test_keys_sort_by_utf16_units(keys: list[str]) -> None:
    value = {k: i for i, k in enumerate(keys)}
    assert encode(value) == rfc8785.dumps(value)


@pytest.mark.parametrize(
    "value",
    [
        1.5,
        math.nan,
        MAX_SAFE_INT + 1,
        -(MAX_SAFE_INT + 1),
        {1: "a"},
        {"a": b"bytes"},
        {"a": {1, 2}},
        "\ud800",  # a lone surrogate
        {"\udfff": 1},
    ],
)
def test_what_jcs_cannot_carry_as_is_is_refused(value: object) -> None:
    with pytest.raises(ValidationError):
        encode(value)


def test_tuples_are_arrays_and_text_is_utf8_unescaped() -> None:
    assert dumps({"b": (1, 2), "a": "Écluse\n\u001f"}) == '{"a":"Écluse\\n\\u001f","b":[1,2]}'


def test_a_str_enum_is_its_text_and_other_enums_are_refused() -> None:
    """Lifecycle states are StrEnums: they sign and chain as the text stored in the column."""
    from enum import Enum, StrEnum  # noqa: PLC0415 - this test only

    class State(StrEnum):
        SIGNED = "signed"

    class Number(Enum):
        ONE = 1

    assert dumps({"state": State.SIGNED}) == dumps({"state": "signed"}) == '{"state":"signed"}'
    with pytest.raises(ValidationError):
        dumps({"n": Number.ONE})
