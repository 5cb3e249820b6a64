"""Reading a source export: `;`-separated text, UTF-8 or Latin-1, in bounded batches.

The raw bytes are handed to a sink (the quarantine's encrypting writer) as they are read, so
the source is read once and nothing plaintext lands on disk. Malformed input stops the read
with a message naming a line number, never a value: NUL bytes, a record that runs on past
the limit, a line with the wrong number of fields, text that is not in the declared
encoding, duplicate or empty column names. A block whose separators add up exactly skips the
line-by-line check: CSV parsing refuses a line with too many fields by itself.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import BinaryIO, Literal

import polars as pl

from ecluse.crypto.streaming import Writable
from ecluse.errors import ValidationError

Encoding = Literal["auto", "utf-8", "latin-1"]
SEPARATOR = ";"
READ_SIZE = 8 << 20
BATCH_BYTES = 32 << 20
MAX_RECORD = 1 << 20
_BOM = b"\xef\xbb\xbf"
_NON_ASCII = re.compile("[^\x00-\x7f\ufffd]")


def _has_utf8(block: bytes) -> bool:
    """Whether invalid UTF-8 also holds valid multi-byte sequences: mixed encodings."""
    return _NON_ASCII.search(block.decode("utf-8", errors="replace")) is not None


def _cut(buf: bytes) -> int:
    """Length of the longest prefix made of whole records (a newline outside quotes)."""
    pos = len(buf)
    while (pos := buf.rfind(b"\n", 0, pos)) >= 0:
        if buf.count(b'"', 0, pos) % 2 == 0:
            return pos + 1
    return 0


class SourceReader:
    """Batches of a source export, every column as text; `bytes_read` for progress."""

    def __init__(
        self,
        src: BinaryIO,
        *,
        sink: Writable,
        encoding: Encoding = "auto",
        batch_bytes: int = BATCH_BYTES,
        max_record: int = MAX_RECORD,
    ) -> None:
        self._src, self._sink = src, sink
        self.encoding: Encoding = encoding
        self._batch_bytes, self._max_record = batch_bytes, max_record
        self._pending = b""
        self._eof = False
        self._line = 1  # lines consumed so far, header included
        self.bytes_read = 0
        self.headers = self._read_headers()

    def _read(self, size: int) -> bytes:
        chunk = self._src.read(size)
        if not chunk:
            self._eof = True
            return b""
        self._sink.write(chunk)
        if b"\x00" in chunk:
            raise ValidationError("the source holds NUL bytes: not a text export")
        self.bytes_read += len(chunk)
        return chunk

    def _records(self, at_least: int) -> bytes:
        """Whole records totalling at least `at_least` bytes, or all that is left."""
        data = self._pending + self._read(max(at_least - len(self._pending), READ_SIZE))
        while True:
            n = len(data) if self._eof else _cut(data)
            if n or self._eof:
                self._pending = data[n:]
                return data[:n]
            if len(data) > self._max_record:
                raise ValidationError(
                    f"a record after line {self._line} is longer than {self._max_record} bytes"
                )
            data += self._read(READ_SIZE)

    def _decode(self, block: bytes, *, settle: bool = True) -> bytes:
        """The block as UTF-8. `auto` settles on the first block of records: UTF-8 if it is
        valid UTF-8, else Latin-1; after that, invalid UTF-8 is an error."""
        if self.encoding == "latin-1":
            return block.decode("latin-1").encode()
        if self.encoding == "utf-8":  # settled: the CSV parser refuses invalid UTF-8 itself
            return block
        try:
            block.decode("utf-8")
        except UnicodeDecodeError as e:
            if self.encoding == "auto" and not _has_utf8(block):
                self.encoding = "latin-1"
                return block.decode("latin-1").encode()
            raise ValidationError(
                f"the source is not valid UTF-8 after line {self._line}: "
                "give its encoding (--encoding latin-1)"
            ) from e
        if settle and self.encoding == "auto":
            self.encoding = "utf-8"
        return block

    def _read_headers(self) -> tuple[str, ...]:
        data = self._pending
        while not self._eof and b"\n" not in data:
            if len(data) > self._max_record:
                raise ValidationError("the header line is longer than the record limit")
            data += self._read(READ_SIZE)
        data = data.removeprefix(_BOM)
        end = data.find(b"\n") + 1 or len(data)
        line, self._pending = data[:end], data[end:]
        text = self._decode(line, settle=False).decode().rstrip("\r\n")
        try:
            headers = [h.strip() for h in next(csv.reader([text], delimiter=SEPARATOR))]
        except (csv.Error, StopIteration) as e:
            raise ValidationError("the source has no readable header line") from e
        if not headers or any(not h for h in headers) or len(set(headers)) != len(headers):
            raise ValidationError("the source's header has empty or duplicate column names")
        return tuple(headers)

    def _check_lines(self, text: bytes) -> None:
        """Quote-free lines must have exactly the header's number of fields."""
        lines = pl.read_csv(
            io.BytesIO(text),
            has_header=False,
            new_columns=["l"],
            schema={"l": pl.Utf8},
            separator="\x00",
            quote_char=None,
        ).with_row_index("i")
        width = pl.col("l").str.len_bytes()
        bad = lines.filter(
            (width > self._max_record)
            | (
                (pl.col("l").str.count_matches(SEPARATOR, literal=True) != len(self.headers) - 1)
                & ~pl.col("l").str.contains('"', literal=True)
                & (width > 0)
            )
        )
        if bad.height:
            raise ValidationError(
                f"line {self._line + 1 + int(bad['i'][0])} has the wrong number of fields "
                f"or is too long (the header has {len(self.headers)} fields)"
            )

    def _well_shaped(self, text: bytes) -> bool:
        """Fast path: no quotes, no blank lines, and exactly the separators every line needs."""
        if b'"' in text:
            return False
        lines = text.count(b"\n") + (not text.endswith(b"\n"))
        return text.count(SEPARATOR.encode()) == lines * (len(self.headers) - 1)

    def batches(self) -> Iterator[pl.DataFrame]:
        while block := self._records(self._batch_bytes):
            text = self._decode(block)
            if not self._well_shaped(text):
                self._check_lines(text)
            try:
                frame = pl.read_csv(
                    io.BytesIO(text),
                    has_header=False,
                    new_columns=list(self.headers),
                    schema=dict.fromkeys(self.headers, pl.Utf8),
                    separator=SEPARATOR,
                )
            except pl.exceptions.PolarsError as e:
                if "utf-8" in str(e).lower():
                    raise ValidationError(
                        f"the source is not valid UTF-8 after line {self._line}: "
                        "give its encoding (--encoding latin-1)"
                    ) from e
                raise ValidationError(f"malformed CSV after line {self._line}") from e
            self._line += text.count(b"\n")
            frame = frame.filter(~pl.all_horizontal(pl.all().is_null()))  # blank lines
            if frame.height:
                yield frame.fill_null("")
