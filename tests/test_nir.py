"""The one NIR definition: keys checked against the INSEE formula written here, and the same
matches in Python's `re` (the audit trail) and Polars (the screening)."""

from __future__ import annotations

import re

import polars as pl
import pytest

from ecluse.nir import IN_TEXT, NIR_LIKE, compact_nir, is_valid_nir, key_of


def insee_key(number: str) -> int:
    """97 - (the 13 digits mod 97), Corsica's 2A as 19 and 2B as 18."""
    digits = int(number.upper().replace("2A", "19").replace("2B", "18"))
    return 97 - digits % 97


NUMBERS = ["1841276451089", "2850335123001", "185032A004321", "292022B033123", "1990399123456"]


@pytest.mark.parametrize("number", NUMBERS)
def test_keys_follow_the_insee_formula(number: str) -> None:
    assert key_of(number) == insee_key(number)
    nir = f"{number}{insee_key(number):02d}"
    assert is_valid_nir(nir)
    spaced = f"{nir[0]} {nir[1:3]} {nir[3:5]} {nir[5:7]} {nir[7:10]} {nir[10:13]} {nir[13:]}"
    assert is_valid_nir(spaced) and compact_nir(spaced) == nir
    assert not is_valid_nir(f"{number}{(insee_key(number) % 97) + 1:02d}")  # another key


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("NIR 1 84 12 76 451 089 46", True),
        ("NIR 184127645108946", True),
        ("né en Corse 1 85 03 2A 004 321 12", True),
        ("clé 0x184127645108946ab", False),  # digits inside a longer token
        ("tél 06 12 34 56 78", False),
        ("4 84 12 76 451 089 46", False),  # no NIR starts with 4
    ],
)
def test_python_and_polars_find_the_same(text: str, found: bool) -> None:
    assert bool(NIR_LIKE.search(text)) is found
    assert pl.Series([text]).str.contains(IN_TEXT)[0] is found
    assert bool(re.search(IN_TEXT, text)) is found
