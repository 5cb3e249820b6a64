"""The governed rows as the recipient receives them.

CSV with a header line, every cell quoted, hashed (the receipt's SHA-256 of the plaintext),
encrypted with age to the recipient's keys into the package object (which the blob store
encrypts again at rest), the age file hashed too (the manifest's SHA-256), and each row's
keyed digest into the row-digests object. Runs as a background stage of the extraction; the
writers' `finish` makes both objects durable.

What reaches the recipient is safe to open in a spreadsheet: a cell starting with `=`, `+`,
`-`, `@`, a tab or a carriage return (OWASP's CSV-injection list) would be read as a formula,
so it gets a single quote in front (`'=HYPERLINK(…)`), as OWASP advises, and every cell is
quoted. That includes phone numbers (`'+33 6…`) and negative numbers (`'-3`): a spreadsheet
shows them as text, an importer strips the quote. A cell already starting with quotes before
such a character gets one more, so the rule is undone exactly by removing one. The row digests
are taken before, over the values themselves; tracing removes such quotes (see `digests`).
"""

from __future__ import annotations

import hashlib
import io
from collections import Counter
from collections.abc import Sequence

import polars as pl

from ecluse.crypto.age import AgeEncryptor, Recipient
from ecluse.packages.digests import RowDigester, traced_fields
from ecluse.store.interfaces import BlobWriter

CSV_SEPARATOR = ";"
FORMULA_START = r"^'*[=+\-@\t\r]"  # OWASP's list, after any quotes already in front
_MARK = "\x00formula "  # mask columns, under names no output column has


def neutralise(rows: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, int]]:
    """`rows` with every formula-like cell prefixed by a single quote, and how many cells
    each column had: one Polars query, its columns computed side by side."""
    names = rows.columns
    if not names:
        return rows, {}
    marked = rows.lazy().with_columns(
        pl.col(c).cast(pl.Utf8).str.contains(FORMULA_START).fill_null(False).alias(_MARK + c)
        for c in names
    )
    safe = marked.select(
        *(
            pl.when(pl.col(_MARK + c)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
            for c in names
        ),
        *(pl.col(_MARK + c).sum().alias(_MARK + c) for c in names),
    )
    out = safe.collect(engine="in-memory")
    counts = out.select(pl.col(_MARK + c).first() for c in names).row(0)
    return out.select(names), {c: int(n or 0) for c, n in zip(names, counts, strict=True)}


class _Hashed:
    """A sink that hashes what passes through it (the age file, as delivered)."""

    def __init__(self, sink: BlobWriter) -> None:
        self._sink, self.sha = sink, hashlib.sha256()

    def write(self, data: bytes | bytearray | memoryview, /) -> int:
        self.sha.update(data)
        return self._sink.write(data)


class PackageWriter:
    def __init__(
        self,
        columns: Sequence[str],
        *,
        recipients: Sequence[Recipient],
        package: BlobWriter,
        digests: BlobWriter,
        trace_key: bytes,
    ) -> None:
        self.columns = tuple(columns)
        self.digester = RowDigester(trace_key, traced_fields(self.columns))
        self._package, self._digests = package, digests
        self._ciphertext = _Hashed(package)
        self._age = AgeEncryptor(list(recipients), self._ciphertext)
        self._sha, self._digests_sha = hashlib.sha256(), hashlib.sha256()
        self._header = True
        self.rows = 0
        self.neutralised: Counter[str] = Counter()  # column -> cells neutralised

    def _data(self, data: bytes | memoryview) -> None:
        self._sha.update(data)
        self._age.write(data)

    def write(self, rows: pl.DataFrame) -> None:
        digests = self.digester.digests(rows)  # over the values, before neutralising
        safe, counts = neutralise(rows)
        self.neutralised.update(counts)
        buf = io.BytesIO()
        safe.write_csv(
            buf, separator=CSV_SEPARATOR, include_header=self._header, quote_style="always"
        )
        self._header = False
        self._data(buf.getbuffer())
        self._digests.write(digests)
        self._digests_sha.update(digests)
        self.rows += rows.height

    def finish(self) -> None:
        if self._header:  # no rows at all: the package still has its header line
            self.write(pl.DataFrame(schema=dict.fromkeys(self.columns, pl.Utf8)))
        self._age.close()
        self._package.finish()
        self._digests.finish()

    @property
    def sha256(self) -> str:
        """Of the plaintext CSV: what a receipt presents, known only by decrypting."""
        return self._sha.hexdigest()

    @property
    def age_sha256(self) -> str:
        """Of the age file as the recipient downloads it (complete once finished)."""
        return self._ciphertext.sha.hexdigest()

    @property
    def digests_sha256(self) -> str:
        return self._digests_sha.hexdigest()
