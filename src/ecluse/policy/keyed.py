"""HMAC-SHA256 over whole columns, computed inside Polars (the polars-hash plugin, in Rust,
on every core, without the GIL): RFC 2104 exactly, value by value.

The plugin takes its key as text, so the HMAC key is the lowercase hex spelling of the
secret (64 ASCII bytes for a 32-byte secret: the same 256 bits). Used for pseudonyms
(per-instruction key) and for the packages' row digests (per-package key); nulls count as
empty text. The key lives in the expression only: never print one.
"""

from __future__ import annotations

import polars as pl
from polars_hash import CryptographicHashingNameSpace

MIN_SECRET, SHA256_SIZE = 16, 32


def hmac_key(secret: bytes) -> bytes:
    """The bytes RFC 2104 sees as the key: what to give `hmac.digest` to check a value."""
    return secret.hex().encode()


class KeyedHash:
    """HMAC-SHA256 under one secret, keeping the first `size` bytes of each digest."""

    def __init__(self, secret: bytes, *, size: int = SHA256_SIZE) -> None:
        if not MIN_SECRET <= len(secret) <= SHA256_SIZE or not 1 <= size <= SHA256_SIZE:
            raise ValueError("a keyed hash needs a 16- to 32-byte secret and a 1- to 32-byte size")
        self._key, self.size = secret.hex(), size

    def expr(self, text: pl.Expr) -> pl.Expr:
        """One lowercase hex digest per value, as a text expression."""
        utf8 = text.cast(pl.Utf8).fill_null("")
        digest = CryptographicHashingNameSpace(utf8).hmac_sha256(key=self._key)
        return digest.str.slice(0, 2 * self.size)

    def hex_column(self, text: pl.Series) -> pl.Series:
        return pl.select(self.expr(pl.lit(text))).to_series().alias(text.name)

    def digests(self, text: pl.Series) -> bytes:
        """Concatenated digests, `size` bytes per value, in order."""
        if text.len() == 0:
            return b""
        return bytes.fromhex(self.hex_column(text).str.join("").item())
