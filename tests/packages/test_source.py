"""The source reader against Python's csv module: it yields exactly the records, in order,
or refuses the input when any record has the wrong number of fields, whatever the quoting,
blank lines, line endings or block boundaries."""

from __future__ import annotations

import contextlib
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
        with pytest.raises(ValidationError, match="quote opened at line 3 is longer than 50 b"):
            list(reader.batches())
    unquoted = b"A;B;C\n1;2;3\n" + b"x" * 200 + b"\n"
    for read_size in (1, 7, 16):
        reader = SourceReader(
            io.BytesIO(unquoted),
            sink=_Sink().write,
            batch_bytes=1,
            max_record=50,
            read_size=read_size,
        )
        with pytest.raises(ValidationError, match="record at line 3 is longer than 50 bytes"):
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
    with pytest.raises(ValidationError, match="line 3 is not valid UTF-8 while other lines are"):
        list(mixed.batches())


# Wrongly declared, mixed and garbled encodings, quotes never closed: each refused with the
# line where it is, whatever the block and read sizes; never an internal error.
_HEAD = "NOM;PRENOM;COMMENTAIRE\n"
_ROWS = "".join(f"DUPONT;Jean;suivi {i}\n" for i in range(300))  # lines 2-301
_LATIN, _UTF8 = "latin-1", "utf-8"


def _enc(text: str, encoding: str) -> bytes:
    return text.encode(encoding)


REFUSED = [
    # (name, declared encoding, source, message)
    ("Latin-1 header declared UTF-8", _UTF8, _enc("NOM;PRÉNOM;X\n" + _ROWS, _LATIN),
     "header line is not valid UTF-8"),
    ("Latin-1 line declared UTF-8", _UTF8, _enc(_HEAD + _ROWS + "LEFÈVRE;Agnès;x\n", _LATIN),
     "line 302 is not valid UTF-8: give the source's encoding"),
    ("UTF-8 declared Latin-1", _LATIN, _enc(_HEAD + _ROWS + "LEFÈVRE;Agnès;x\n", _UTF8),
     "line 302 is UTF-8 read as Latin-1"),
    ("UTF-8 header declared Latin-1", _LATIN, _enc("NOM;PRÉNOM;X\n" + _ROWS, _UTF8),
     "line 1 is UTF-8 read as Latin-1"),
    ("UTF-8 then Latin-1", "auto",
     _enc(_HEAD + "LEFÈVRE;Zoé;x\n" + _ROWS, _UTF8) + _enc("LEFÈVRE;Agnès;x\n", _LATIN),
     "line 303 is not valid UTF-8 while other lines are"),
    ("Latin-1 then UTF-8", "auto",
     _enc(_HEAD + "LEFÈVRE;Zoé;x\n" + _ROWS, _LATIN) + _enc("LEFÈVRE;Agnès;x\n", _UTF8),
     "line 303 is UTF-8 while earlier lines are Latin-1|line 2 is not valid UTF-8 while"),
    ("UTF-8 Latin-1 mixed, declared UTF-8", _UTF8,
     _enc(_HEAD + _ROWS + "LEFÈVRE;Zoé;x\n", _UTF8) + _enc("LEFÈVRE;Agnès;x\n", _LATIN),
     "line 303 is not valid UTF-8 while other lines are"),
    ("already garbled, UTF-8", _UTF8, _enc(_HEAD + _ROWS + "LEFÃ\u02c6VRE;AgnÃ¨s;x\n", _UTF8),
     "line 302 holds text already garbled"),
    ("already garbled, auto", "auto", _enc(_HEAD + _ROWS + "MARTIN;CÃ©line;x\n", _UTF8),
     "line 302 holds text already garbled"),
    ("garbled the Windows way", "auto", _enc(_HEAD + _ROWS + "x;y;Ã\u2030TAT stable\n", _UTF8),
     "line 302 holds text already garbled"),
    ("garbled ligature", _UTF8, _enc(_HEAD + _ROWS + "x;y;Å\x93dème\n", _UTF8),
     "line 302 holds text already garbled"),
    ("quote never closed mid-file", _UTF8, _enc(_HEAD + _ROWS + 'A;"B;C\n' + _ROWS, _UTF8),
     "a quote opened at line 302 is never closed"),
    ("quote never closed, last line", _UTF8, _enc(_HEAD + _ROWS + '"A;B;C\n', _UTF8),
     "a quote opened at line 302 is never closed"),
    ("text after a closing quote", _UTF8, _enc(_HEAD + _ROWS + 'A;"B"x;C\n' + _ROWS, _UTF8),
     "a record at line 302 is malformed"),
    ("short record", _UTF8, _enc(_HEAD + _ROWS + "A;B\n" + _ROWS, _UTF8),
     "a record at line 302 has the wrong number of fields"),
    ("long record", _UTF8, _enc(_HEAD + _ROWS + "A;B;C;D\n" + _ROWS, _UTF8),
     "a record at line 302 has the wrong number of fields"),
]  # fmt: skip

KEPT = [
    # (name, declared encoding, a value in Latin-1's range that must come out as it is)
    ("guillemets after a capital", _LATIN, "«ÉTÉ» à revoir"),
    ("a capital before a no-break space", _LATIN, "CAFÉ\xa0RUE"),
    ("degrees and ordinals", "auto", "N° 12, 3ª dose, 38,5 °C"),
    ("Portuguese names", "auto", "JOÃO CONCEIÇÃO MAGALHÃES"),
    ("a Portuguese word before a quote", _UTF8, "dit « IRMÔ » ou “IRMÔ…"),
    ("a tilde before a sign", _LATIN, "SÃO·PAULO"),
    ("UTF-8 punctuation", _UTF8, "l\u2019œdème — 12 € ‰"),
    ("Latin-1 auto", "auto", "Hélène Lefèvre, née à Brest"),
]

_SIZES = [(1 << 20, 1 << 20), (64, 7), (1, 1)]


def _reading(data: bytes, encoding: str, batch_bytes: int, read_size: int) -> list[tuple[str, ...]]:
    reader = SourceReader(
        io.BytesIO(data),
        sink=_Sink().write,
        encoding=encoding,  # type: ignore[arg-type]
        batch_bytes=batch_bytes,
        read_size=read_size,
    )
    return [row for batch in reader.batches() for row in batch.rows()]


@pytest.mark.parametrize(
    ("name", "encoding", "data", "message"), REFUSED, ids=[c[0] for c in REFUSED]
)
@pytest.mark.parametrize("sizes", _SIZES)
def test_wrong_encodings_and_quotes_are_refused_at_their_line(
    name: str, encoding: str, data: bytes, message: str, sizes: tuple[int, int]
) -> None:
    with pytest.raises(ValidationError, match=message) as refused:
        _reading(data, encoding, *sizes)
    for value in ("Agnès", "Agn", "LEF", "Zoé", "Céline", "dème"):
        assert value not in str(refused.value)  # a line, never a value


@pytest.mark.parametrize(("name", "encoding", "value"), KEPT, ids=[c[0] for c in KEPT])
@pytest.mark.parametrize("sizes", _SIZES)
def test_text_that_only_looks_odd_is_read_as_it_is(
    name: str, encoding: str, value: str, sizes: tuple[int, int]
) -> None:
    source = _HEAD + _ROWS + f"x;y;{value}\n"
    raw = source.encode("utf-8" if encoding == _UTF8 else "latin-1")
    assert _reading(raw, encoding, *sizes)[-1] == ("x", "y", value)


@settings(max_examples=400, deadline=None)
@given(
    data=st.binary(max_size=300)
    | st.lists(
        st.sampled_from(
            [b";", b'"', b"\n", b"\r", b"\xc3", b"\xa9", b"\xe9", b"A", b"\xc3\x83\xc2\xa9"]
        ),
        max_size=80,
    ).map(b"".join),
    encoding=st.sampled_from(["auto", _UTF8, _LATIN]),
    sizes=st.sampled_from(_SIZES),
)
def test_any_bytes_are_read_or_refused_never_an_internal_error(
    data: bytes, encoding: str, sizes: tuple[int, int]
) -> None:
    with contextlib.suppress(ValidationError):
        _reading(b"A;B;C\n" + data, encoding, *sizes)
