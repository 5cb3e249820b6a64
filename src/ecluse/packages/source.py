"""Reading a source export: `;`-separated text, UTF-8 or Latin-1, in bounded batches.

The raw bytes are handed to a sink (the quarantine's encrypting writer) as they are read, so
the source is read once and nothing plaintext lands on disk. Malformed input stops the read
with a message naming the line where the problem is, never a value: NUL bytes, a record that
runs on past the limit, a quote never closed, a line with the wrong number of fields, text
in the wrong encoding (see `encodings`), duplicate or empty column names. The CSV parser
refuses a line with too many fields by itself; a line with too few leaves its last field
null, and only a block holding such a row is checked line by line.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import polars as pl

from ecluse.errors import ValidationError
from ecluse.kinds import Encoding
from ecluse.packages.encodings import Decoder, bad_utf8, line_at
from ecluse.packages.quarantine import Readable

__all__ = ["Encoding", "SourceReader", "count_byte"]
SEPARATOR = ";"
READ_SIZE = 1 << 20
# under glibc's largest mmap threshold (32 MiB): a freed block's memory serves the next one
# instead of going back to the system and being faulted in again, page by page
BATCH_BYTES = 30 << 20
FIRST_BATCH_BYTES = 4 << 20  # a small first batch: governing starts while the rest is read
MAX_RECORD = 1 << 20
_BOM = b"\xef\xbb\xbf"


_SPAN = 1 << 20


def count_byte(data: bytes, byte: bytes) -> int:
    """Occurrences of one byte in `data`: numpy over cache-sized spans, four to five times
    faster than `bytes.count`, which also holds the GIL throughout."""
    view, code = np.frombuffer(data, dtype=np.uint8), byte[0]
    return sum(
        int(np.count_nonzero(view[i : i + _SPAN] == code)) for i in range(0, len(view), _SPAN)
    )


_LINE_BREAKS = re.compile(rb"\n(?:\r?\n)*")
_BLANK = r"\n(?:\r?\n)*"


def _blank_lines(text: bytes) -> int:
    """Empty lines: line breaks that directly follow another one."""
    return count_byte(text, b"\n") - sum(1 for _ in _LINE_BREAKS.finditer(text))


def _cut(piece: bytes, odd: bool) -> int:
    """Length of the longest prefix of `piece` that ends a record (a newline outside quotes),
    -1 if none; `odd` says whether the block is inside quotes where `piece` ends."""
    pos = len(piece)
    while (pos := piece.rfind(b"\n", 0, pos)) >= 0:
        if piece.count(b'"', pos) % 2 == odd:
            return pos + 1
    return -1


class SourceReader:
    """Batches of a source export, every column as text; `bytes_read` for progress."""

    def __init__(
        self,
        src: Readable,
        *,
        sink: Callable[[bytes], object],
        encoding: Encoding = "auto",
        batch_bytes: int = BATCH_BYTES,
        max_record: int = MAX_RECORD,
        read_size: int = READ_SIZE,
    ) -> None:
        self._src, self._sink = src, sink
        self._decoder = Decoder(encoding)
        self._batch_bytes, self._max_record = batch_bytes, max_record
        self._read_size = read_size
        self._pending = b""
        self._eof = False
        self._line = 0  # lines consumed so far, header included
        self.bytes_read = 0
        self.headers = self._read_headers()
        self._line = 1

    def _read(self, size: int) -> bytes:
        chunk = self._src.read(size)
        if not chunk:
            self._eof = True
            return b""
        self._sink(chunk)
        if b"\x00" in chunk:
            raise ValidationError("the source holds NUL bytes: not a text export")
        self.bytes_read += len(chunk)
        return chunk

    def _at(self, block: bytes, offset: int) -> int:
        """The line of `offset` in a block that starts after the lines consumed so far."""
        return line_at(block, self._line + 1, offset)

    def _records(self, at_least: int) -> bytes:
        """Whole records totalling at least `at_least` bytes, or all that is left. Read in
        pieces (the quarantine gets them as they come), joined once."""
        pieces, size, unbroken = [self._pending], len(self._pending), 0
        quotes = count_byte(self._pending, b'"')
        while piece := self._read(self._read_size):
            pieces.append(piece)
            size, quotes = size + len(piece), quotes + count_byte(piece, b'"')
            if size < at_least:
                continue
            if (cut := _cut(piece, bool(quotes % 2))) >= 0:
                pieces[-1], self._pending = piece[:cut], piece[cut:]
                return b"".join(pieces)
            unbroken += len(piece)
            if unbroken > self._max_record:
                raise self._too_long(b"".join(pieces), bool(quotes % 2))
        self._pending = b""
        return b"".join(pieces)

    def _too_long(self, data: bytes, open_quote: bool) -> ValidationError:
        if open_quote:  # quotes pair up in order: the last one opened what never closes
            line = self._at(data, data.rfind(b'"'))
            return ValidationError(
                f"the record with a quote opened at line {line} is longer than "
                f"{self._max_record} bytes: the quote is not closed"
            )
        start = max(_cut(data, False), 0)  # the long record starts after the last record
        return ValidationError(
            f"a record at line {self._at(data, start)} is longer than {self._max_record} bytes"
        )

    def _read_headers(self) -> tuple[str, ...]:
        data = self._pending
        while not self._eof and b"\n" not in data:
            if len(data) > self._max_record:
                raise ValidationError("the header line is longer than the record limit")
            data += self._read(self._read_size)
        data = data.removeprefix(_BOM)
        end = data.find(b"\n") + 1 or len(data)
        line, self._pending = data[:end], data[end:]
        head = self._decoder.decode(line, 1, settle=False)
        self._decoder.refuse_garbled(head, 1)
        if bad_utf8(head) is not None:
            raise ValidationError(
                "the header line is not valid UTF-8: give the source's encoding "
                "(--encoding latin-1)"
            )
        text = head.decode().rstrip("\r\n")
        try:
            headers = [h.strip() for h in next(csv.reader([text], delimiter=SEPARATOR))]
        except (csv.Error, StopIteration) as e:
            raise ValidationError("the source has no readable header line") from e
        if not headers or any(not h for h in headers) or len(set(headers)) != len(headers):
            raise ValidationError("the source's header has empty or duplicate column names")
        return tuple(headers)

    def _malformed(self, text: bytes, problem: str) -> ValidationError:
        """The error for a block the CSV parser refused, naming the line where the problem
        is: a quote never closed, else what Python's csv module (strict) stops at or the
        first record of the wrong width (slow, but only on the way out)."""
        if count_byte(text, b'"') % 2:
            line = self._at(text, text.rfind(b'"'))
            return ValidationError(f"a quote opened at line {line} is never closed")
        fields, where = len(self.headers), f"after line {self._line}"
        reader = csv.reader(
            io.StringIO(text.decode(errors="replace"), newline=""),
            delimiter=SEPARATOR,
            strict=True,
        )
        start = 1
        try:
            for record in reader:
                if record and len(record) != fields:
                    where = f"at line {self._line + start}"
                    problem = f"has the wrong number of fields (the header has {fields})"
                    break
                start = reader.line_num + 1
        except csv.Error:
            where = f"at line {self._line + reader.line_num}"
            problem = "is malformed (a quote in the wrong place)"
        return ValidationError(f"a record {where} {problem}")

    def _ragged(self, text: bytes) -> ValidationError:
        fields = len(self.headers)
        return self._malformed(text, f"has the wrong number of fields (the header has {fields})")

    def _check_records(self, frame: pl.DataFrame, text: bytes) -> None:
        """Every record has the header's number of fields, quoted ones included: the block's
        separators, less those inside values, are (records - blank lines) x (fields - 1)."""
        inside = frame.select(
            sep=pl.sum_horizontal(pl.all().str.count_matches(SEPARATOR, literal=True)).sum(),
            blank=pl.sum_horizontal(
                pl.all().str.count_matches("\n", literal=True) - pl.all().str.count_matches(_BLANK)
            ).sum(),
        ).row(0)
        blank = _blank_lines(b"\n" + text) - (inside[1] or 0)  # a block starts a line
        separators = count_byte(text, SEPARATOR.encode()) - (inside[0] or 0)
        if separators != (frame.height - blank) * (len(self.headers) - 1):
            raise self._ragged(text)

    def _parse(self, text: bytes, columns: list[int] | None = None) -> pl.DataFrame:
        try:
            return pl.read_csv(
                text,
                has_header=False,
                columns=columns,
                schema=dict.fromkeys(self.headers, pl.Utf8),
                separator=SEPARATOR,
                raise_if_empty=False,
                missing_columns="insert",  # a short first line: the check below finds it
            )
        except pl.exceptions.PolarsError as e:
            if "more fields" in str(e):
                raise self._ragged(text) from e
            if bad_utf8(text) is not None:
                raise self._decoder.not_utf8(text, self._line + 1) from e
            raise self._malformed(text, "is malformed") from e

    def _fast(self, text: bytes, columns: list[int]) -> pl.DataFrame | None:
        """Only the columns asked for, when the block is plainly well formed: the last field
        never null (no short record, no blank line) and exactly the separators its records
        need (no long record; a separator inside a quoted value also sends the block to the
        full parse)."""
        frame = self._parse(text, sorted({*columns, len(self.headers) - 1}))
        separators = count_byte(text, SEPARATOR.encode())
        if frame[self.headers[-1]].has_nulls() or separators != frame.height * (
            len(self.headers) - 1
        ):
            return None
        return frame

    def _full(self, text: bytes) -> pl.DataFrame:
        frame = self._parse(text)
        # Too many fields fail the parse; too few leave the last field null. Only then (or
        # where blank lines or unquoted empty last fields look the same) is it checked closely.
        if frame[self.headers[-1]].has_nulls():
            self._check_records(frame, text)
        return frame.filter(pl.any_horizontal(pl.all().is_not_null()))  # blank lines

    @property
    def encoding(self) -> Encoding:
        """The declared encoding, or the one `auto` settled on (`auto` while all is ASCII)."""
        return self._decoder.encoding

    def batches(self, columns: Sequence[str] | None = None) -> Iterator[pl.DataFrame]:
        """Batches of `columns` (default: all). Columns left out are not parsed, so not
        checked for their encoding either: they are not sent anywhere."""
        wanted = list(self.headers if columns is None else columns)
        indices = [self.headers.index(c) for c in wanted]
        size = min(self._batch_bytes, FIRST_BATCH_BYTES)
        while block := self._records(size):
            size = self._batch_bytes
            text = self._decoder.decode(block, self._line + 1)
            frame = self._fast(text, indices) if columns is not None else None
            if frame is None:
                frame = self._full(text)
            self._decoder.check(text, self._line + 1)
            self._line += count_byte(text, b"\n")
            self._decoder.read(text)
            del block, text  # freed before the next block is read: its memory serves again
            if frame.height:
                yield frame.select(wanted).fill_null("")
