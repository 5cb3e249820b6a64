"""The governed rows as the recipient receives them.

CSV with a header line, hashed (the manifest's SHA-256 of the plaintext), encrypted with age
to the recipient's keys into the package object (which the blob store encrypts again at
rest), and each row's keyed digest into the row-digests object. Runs as a background stage
of the extraction; the writers' `finish` makes both objects durable.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence

import polars as pl

from ecluse.crypto.age import AgeEncryptor, Recipient
from ecluse.packages.manifest import RowDigester, digest_fields
from ecluse.store.local import LocalWriter

CSV_SEPARATOR = ";"


class PackageWriter:
    def __init__(
        self,
        columns: Sequence[str],
        *,
        recipients: Sequence[Recipient],
        package: LocalWriter,
        digests: LocalWriter,
        trace_key: bytes,
    ) -> None:
        self.columns = tuple(columns)
        self.digester = RowDigester(trace_key, digest_fields(self.columns))
        self._package, self._digests = package, digests
        self._age = AgeEncryptor(list(recipients), package)
        self._sha, self._digests_sha = hashlib.sha256(), hashlib.sha256()
        self._header = True
        self.rows = 0

    def _data(self, data: bytes | memoryview) -> None:
        self._sha.update(data)
        self._age.write(data)

    def write(self, rows: pl.DataFrame) -> None:
        buf = io.BytesIO()
        rows.write_csv(buf, separator=CSV_SEPARATOR, include_header=self._header)
        self._header = False
        self._data(buf.getbuffer())
        digests = self.digester.digests(rows)
        self._digests.write(digests)
        self._digests_sha.update(digests)
        self.rows += rows.height

    def finish(self) -> None:
        if self._header:  # no rows at all: the package still has its header line
            self._data((CSV_SEPARATOR.join(self.columns) + "\n").encode())
        self._age.close()
        self._package.finish()
        self._digests.finish()

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()

    @property
    def digests_sha256(self) -> str:
        return self._digests_sha.hexdigest()
