"""Keyed row digests: what lets leaked lines be traced to their package long after it is
shredded, without the digests revealing anything.

For each row and each traced field (the package's identity and contact columns, all of its
columns if it has none), the first 8 bytes of HMAC-SHA256 under the package's own tracing key
of `field <US> value`: a leak holding any subset of those fields can be matched field by field
(see `ecluse.breach.matching`), and without the key the digests reveal nothing — unlike
unkeyed hashes of a NIR, which a search over 10^10 values reverses. The field's name in the
message keeps equal values of two fields apart. An empty value digests as eight zero bytes,
which nothing matches. The object is row-major: row i's field j at bytes (i·F + j)·8.

Values are compared as a leaked copy may differ from the package without being another
person: spaces trimmed and runs of them made one, case and accents folded; NIR and INS without
spaces or punctuation; phone numbers as their digits, `+33` or `0033` read as `0`; the quote
the package puts before a formula-like cell (`'+33 6…`) removed, whether a leak carries it or a
spreadsheet dropped it.

Packages made before this format (`v1`) hold one 16-byte digest a row over their identity
fields joined; `legacy_digests` computes those, for tracing them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl

from ecluse.governance.dictionary import DICTIONARY, Category
from ecluse.policy.keyed import KeyedHash

FORMAT = "ecluse-row-digests-v2"
ALGORITHM = "HMAC-SHA256 of field and normalised value, first 8 bytes, per-package key"
SIZE = 8
LEGACY_SIZE = 16
_TRACED = frozenset({Category.IDENTITY, Category.CONTACT})
_IDENTIFIERS = frozenset({"nir", "ins"})
# fields with as many values as rows: digested directly; the others once per distinct value
_DISTINCT = frozenset({"nir", "ins", "phone", "email", "address"})
_NEUTRALISED = r"^'+([=+\-@\t\r])"  # the quotes before a formula-like start, any number
_SEPARATOR = "\x1f"
_DIGEST = "\x00digest"  # a column name no field has


def traced_fields(columns: Sequence[str]) -> tuple[str, ...]:
    """The output columns a package's row digests cover."""
    traced = tuple(c for c in columns if DICTIONARY[c].category in _TRACED)
    return traced or tuple(columns)


def normalised(field: str, text: pl.Expr) -> pl.Expr:
    """`text` as it is compared when tracing (module docstring)."""
    value = text.cast(pl.Utf8).fill_null("").str.strip_chars().str.replace(_NEUTRALISED, "$1")
    if field in _IDENTIFIERS:
        return value.str.replace_all(r"[^0-9A-Za-z]", "").str.to_uppercase()
    if field == "phone":
        digits = value.str.replace_all(r"\D", "")
        return digits.str.replace(r"^(?:00)?330?(\d{9})$", "0$1")
    folded = value.str.normalize("NFKD").str.replace_all(r"\p{M}", "").str.to_lowercase()
    return folded.str.replace_all(r"\s+", " ").str.strip_chars()


class RowDigester:
    """Keyed digests of each row's traced fields, `SIZE` bytes a field, row-major."""

    def __init__(self, key: bytes, fields: Sequence[str]) -> None:
        self._keyed, self.fields = KeyedHash(key, size=SIZE), tuple(fields)

    def _digest(self, field: str) -> pl.Expr:
        """A digest per normalised value (the column `_DIGEST`), as an unsigned 64-bit
        integer; empty values as 0."""
        value = pl.col(_DIGEST)
        keyed = self._keyed.expr(pl.lit(field + _SEPARATOR) + value)
        digest = keyed.str.to_integer(base=16, dtype=pl.UInt64)
        return pl.when(value == "").then(pl.lit(0, pl.UInt64)).otherwise(digest)

    def _column(self, field: str, rows: pl.LazyFrame) -> pl.LazyFrame:
        """`_digest` of every value, computed once per distinct value where values repeat.
        The normalised value is a column of its own: computed once, not once per use."""
        values = rows.select(pl.col(field).cast(pl.Utf8).fill_null(""))
        distinct = values if field in _DISTINCT else values.unique()
        digested = distinct.with_columns(normalised(field, pl.col(field)).alias(_DIGEST))
        digested = digested.with_columns(self._digest(field).alias(_DIGEST))
        if field in _DISTINCT:
            return digested.select(pl.col(_DIGEST).alias(field))
        joined = values.join(digested, on=field, how="left", maintain_order="left")
        return joined.select(pl.col(_DIGEST).alias(field))

    def matrix(self, rows: pl.DataFrame) -> np.ndarray:
        """The rows' digests (rows holding every field of `fields`, as text), as a rows x
        fields array of unsigned 64-bit integers. One query (a single release of the GIL:
        the pipeline's other threads run Python meanwhile)."""
        if rows.height == 0:
            return np.zeros((0, len(self.fields)), dtype=np.uint64)
        lazy = rows.lazy()
        columns = [self._column(f, lazy) for f in self.fields]
        frame = pl.concat(columns, how="horizontal").collect(engine="in-memory")
        return frame.to_numpy(order="c")

    def digests(self, rows: pl.DataFrame) -> bytes:
        """`matrix` as the row-digests object stores it: big-endian, row-major."""
        return self.matrix(rows).astype(">u8").tobytes()


def as_matrix(digests: bytes, fields: int) -> np.ndarray:
    """A row-digests object as a rows x fields array of unsigned 64-bit integers."""
    return np.frombuffer(digests, dtype=">u8").astype(np.uint64).reshape(-1, fields)


def legacy_digests(key: bytes, fields: Sequence[str], rows: pl.DataFrame) -> bytes:
    """A `v1` package's digests of `rows`: 16 bytes a row over `fields` joined (trimmed,
    unquoted, lower case), as such packages hold them."""
    if rows.height == 0:
        return b""
    parts = [
        pl.col(f)
        .cast(pl.Utf8)
        .fill_null("")
        .str.strip_chars()
        .str.replace(_NEUTRALISED, "$1")
        .str.strip_chars()
        for f in fields
    ]
    joined = pl.concat_str(parts, separator="\x1e").str.to_lowercase()
    keyed = KeyedHash(key, size=LEGACY_SIZE)
    return bytes.fromhex(rows.select(keyed.expr(joined).str.join("")).item())
