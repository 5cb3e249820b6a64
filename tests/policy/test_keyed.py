"""The column HMAC is RFC 2104 HMAC-SHA256, value by value, whatever the text."""

from __future__ import annotations

import hashlib
import hmac

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecluse.policy.keyed import KeyedHash, hmac_key


@given(
    key=st.binary(min_size=16, max_size=32),
    values=st.lists(st.text(), max_size=30),
    size=st.sampled_from([16, 32]),
)
def test_same_as_hmac_value_by_value(key: bytes, values: list[str], size: int) -> None:
    keyed = KeyedHash(key, size=size)
    expected = [hmac.digest(hmac_key(key), v.encode(), hashlib.sha256)[:size] for v in values]
    got = keyed.digests(pl.Series(values, dtype=pl.Utf8))
    assert got == b"".join(expected)
    assert keyed.hex_column(pl.Series(values, dtype=pl.Utf8)).to_list() == [
        e.hex() for e in expected
    ]


def test_nulls_count_as_empty_text() -> None:
    key = bytes(range(32))
    values = pl.Series(["a\x1fb", None, ""], dtype=pl.Utf8)
    expected = [hmac.digest(hmac_key(key), v, "sha256") for v in (b"a\x1fb", b"", b"")]
    assert KeyedHash(key).digests(values) == b"".join(expected)
    assert KeyedHash(key).digests(values.clear()) == b""


def test_the_hmac_key_is_the_whole_secret() -> None:
    """Two secrets differing in one bit give unrelated digests; short secrets are refused."""
    a, b = bytes(32), bytes(31) + b"\x01"
    values = pl.Series(["1850775123456"])
    assert KeyedHash(a).digests(values) != KeyedHash(b).digests(values)
    with pytest.raises(ValueError, match="secret"):
        KeyedHash(bytes(8))
