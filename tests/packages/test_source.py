"""The source reader against Python's csv module: it yields exactly the records, in order,
or refuses the input when any record has the wrong number of fields, whatever the quoting,
blank lines, line endings or block boundaries."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecluse.errors import ValidationError
from ecluse.packages.source import SourceReader, count_byte

HEADERS = ["A", "B", "C"]
_FIELD = st.one_of(
    st.sampled_from(["", "x", "a;b", 'say "hi"', "l1\nl2", "p1\n\np2", "w\r\nz", "\n"]),
    st.text(alphabet='ab;"\n é', max_size=6),  # a lone CR ends no line here
)
_RECORD = st.one_of(
    st.lists(_FIELD, min_size=3, max_size=3),
    st.lists(_FIELD, min_size=1, max_size=5),  # sometimes ragged
    st.just([]),  # a blank line
)


class _Sink:
    def __init__(self) -> None:
        self.data = bytearray()

    def write(self, data: bytes) -> int:
        self.data += data
        return len(data)


def _csv(records: list[list[str]], newline: str) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=";", lineterminator=newline)
    writer.writerow(HEADERS)
    for record in records:
        if record:
            writer.writerow(record)
        else:
            out.write(newline)
    return out.getvalue().encode()


def _read(
    data: bytes, batch_bytes: int, read_size: int = 1 << 20, columns: list[str] | None = None
) -> tuple[list[tuple[str, ...]], bytes]:
    sink = _Sink()
    reader = SourceReader(
        io.BytesIO(data),
        sink=sink.write,
        encoding="utf-8",
        batch_bytes=batch_bytes,
        read_size=read_size,
    )
    rows = [row for batch in reader.batches(columns) for row in batch.rows()]
    return rows, bytes(sink.data)


@settings(max_examples=300, deadline=None)
@given(
    records=st.lists(_RECORD, max_size=25),
    newline=st.sampled_from(["\n", "\r\n"]),
    batch_bytes=st.sampled_from([1, 40, 1 << 20]),
    read_size=st.sampled_from([1, 3, 16, 1 << 20]),
    columns=st.sampled_from([None, ["A", "C"], ["B"]]),
)
def test_records_or_refusal_as_the_csv_module_reads_them(
    records: list[list[str]],
    newline: str,
    batch_bytes: int,
    read_size: int,
    columns: list[str] | None,
) -> None:
    """Whole or projected on some columns (the others then not parsed, still checked)."""
    data = _csv(records, newline)
    records = list(csv.reader(io.StringIO(data.decode(), newline=""), delimiter=";"))[1:]
    ragged = any(r and len(r) != len(HEADERS) for r in records)
    if ragged:
        with pytest.raises(ValidationError, match=r"wrong number of fields|malformed"):
            _read(data, batch_bytes, read_size, columns)
        return
    rows, teed = _read(data, batch_bytes, read_size, columns)
    keep = [HEADERS.index(c) for c in columns or HEADERS]
    # blank and all-empty lines carry nothing
    expected = [tuple(r[i] for i in keep) for r in records if any(r)]
    assert rows == expected
    assert teed == data  # the quarantine receives every byte, once, in order


@pytest.mark.parametrize(
    ("data", "line"),
    [
        (b"A;B;C\n1;2;3\n4;5\n", 3),
        (b'A;B;C\n1;"x\n;y";3\n4;5\n', 4),
        (b"A;B;C\n1;2;3\n\n1;2;3;4\n", 4),
    ],
)
def test_the_wrong_record_is_named(data: bytes, line: int) -> None:
    with pytest.raises(ValidationError, match=f"record at line {line} has the wrong number"):
        _read(data, 1 << 20)


def test_a_record_running_past_the_limit_is_refused_wherever_the_pieces_fall() -> None:
    """Beyond a batch's size, a record may not grow past the limit: memory stays bounded."""
    data = b"A;B;C\n1;2;3\n" + b'1;"' + b"x\n" * 200 + b'";3\n'
    for read_size in (1, 7, 16):
        reader = SourceReader(
            io.BytesIO(data), sink=_Sink().write, batch_bytes=1, max_record=50, read_size=read_size
        )
        with pytest.raises(ValidationError, match="longer than 50 bytes"):
            list(reader.batches())


def test_byte_counts_across_spans() -> None:
    data = (b'ab;"c"\n' * 400_000) + b";"  # 2.8 MB: several spans, a partial last one
    for byte in (b";", b'"', b"\n", b"z"):
        assert count_byte(data, byte) == data.count(byte)
    assert count_byte(b"", b";") == 0


def _auto(data: bytes) -> SourceReader:
    return SourceReader(io.BytesIO(data), sink=_Sink().write, batch_bytes=1, read_size=8)


def test_auto_encoding_settles_on_the_first_block_that_is_not_ascii() -> None:
    ascii_rows = b"".join(b"%d;DUPONT;Jean\n" % i for i in range(50))
    latin = _auto(b"A;B;C\n" + ascii_rows + "1;LEFÈVRE;Zoé\n".encode("latin-1"))
    assert list(latin.batches())[-1].row(-1) == ("1", "LEFÈVRE", "Zoé")
    assert latin.encoding == "latin-1"
    utf8 = _auto(b"A;B;C\n" + ascii_rows + "1;LEFÈVRE;Zoé\n".encode())
    assert list(utf8.batches())[-1].row(-1) == ("1", "LEFÈVRE", "Zoé")
    assert utf8.encoding == "utf-8"
    mixed = _auto(b"A;B;C\n" + "1;LEFÈVRE;Zoé\n".encode() + "2;LEFÈVRE;Zoé\n".encode("latin-1"))
    with pytest.raises(ValidationError, match="not valid UTF-8 after line 2"):
        list(mixed.batches())
