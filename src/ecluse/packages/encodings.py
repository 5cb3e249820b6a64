"""A source export's text encoding: declared (UTF-8 or Latin-1) or settled from the text
(`auto`), every block turned into UTF-8 and refused, naming its line, when it is not in the
declared encoding, when encodings are mixed, or when it holds text garbled by a wrong
decoding (UTF-8 read as Latin-1: `AgnÃ¨s`), here or before the export was made.
"""

from __future__ import annotations

import re

from ecluse.errors import ValidationError
from ecluse.kinds import Encoding

_NON_ASCII = re.compile("[^\x00-\x7f\ufffd]")
# UTF-8 read as Latin-1 (or Windows-1252) and written out again as UTF-8: a letter's lead byte
# becomes `Â`-`Å`, its second byte a sign of U+0080-U+00BF (é -> Ã©, à -> Ã + no-break space)
# or, the Windows way, a letter or punctuation inside a word (É -> Ã‰ in `Ã‰TAT`; a
# Portuguese `IRMÃ` before a closing quote stays innocent). No real text writes these pairs.
# One spelling for Polars' regex engine and Python's.
GARBLED = (
    r"[\u00C2-\u00C5](?:[\u0080-\u00BF]|[\u0152\u0153\u0160\u0161\u0178\u017D\u017E\u0192"
    r"\u02C6\u02DC\u2013-\u203A\u2122\u20AC][A-Za-z\u00C0-\u00FF])"
)
_GARBLED = re.compile(GARBLED)
_MIXED = "the source mixes encodings and must be made again in one"


def bad_utf8(block: bytes) -> int | None:
    """Offset of the first byte that is not valid UTF-8, None if all is."""
    try:
        block.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.start
    return None


def _has_utf8(block: bytes) -> bool:
    """Whether invalid UTF-8 also holds valid multi-byte sequences: mixed encodings."""
    return _NON_ASCII.search(block.decode("utf-8", errors="replace")) is not None


def _may_be_garbled(text: bytes) -> bool:
    """Whether `text` holds the UTF-8 of `Â`-`Å` (C3 followed by 82-85): one `memchr` pass
    per second byte, which French text almost never has, then a look at the byte before."""
    for second in (b"\x82", b"\x83", b"\x84", b"\x85"):
        at = text.find(second, 1)
        while at >= 0:
            if text[at - 1] == 0xC3:  # noqa: PLR2004 - the lead byte of U+00C0-U+00FF
                return True
            at = text.find(second, at + 1)
    return False


def line_at(block: bytes, first: int, offset: int) -> int:
    """The line of `offset` in `block`, whose first line is line `first`."""
    return first + block.count(b"\n", 0, offset)


class Decoder:
    """Blocks of whole lines to UTF-8. `auto` settles on the first block that is not plain
    ASCII: UTF-8 if it is valid UTF-8, else Latin-1; after that, the other is an error."""

    def __init__(self, encoding: Encoding) -> None:
        self.declared = self.encoding = encoding
        self._utf8_seen = False  # an earlier block held UTF-8 beyond ASCII

    def decode(self, block: bytes, first: int, *, settle: bool = True) -> bytes:
        """`block` (whose first line is line `first`) as UTF-8. Declared or settled UTF-8 is
        returned as it is: the CSV parser refuses what is not UTF-8 in the columns it reads,
        and `not_utf8` then names the line; `check` then looks for garbled text."""
        if block.isascii():  # the same text in any of them: nothing to check or settle
            return block
        if self.encoding == "latin-1":
            text = block.decode("latin-1").encode()
        elif self.encoding == "utf-8":
            text = block
        elif bad_utf8(block) is None:
            text = block
            if settle:
                self.encoding = "utf-8"
        elif _has_utf8(block):
            raise self.not_utf8(block, first)
        else:
            self.encoding = "latin-1"
            text = block.decode("latin-1").encode()
        return text

    def check(self, text: bytes, first: int) -> None:
        """Refuse `text` (UTF-8, its first line `first`) if it holds garbled text: searched
        only where `Â`-`Å` appear (a few memchr passes)."""
        if _may_be_garbled(text):
            self.refuse_garbled(text, first)

    def read(self, text: bytes) -> None:
        """`text` was parsed: later invalid UTF-8 means mixed encodings."""
        self._utf8_seen = self._utf8_seen or (self.encoding == "utf-8" and not text.isascii())

    def not_utf8(self, block: bytes, first: int) -> ValidationError:
        """The error for a block that is not valid UTF-8, naming the first line that is not."""
        bad = bad_utf8(block)
        line = first if bad is None else line_at(block, first, bad)
        if self._utf8_seen or _has_utf8(block):
            return ValidationError(
                f"line {line} is not valid UTF-8 while other lines are: {_MIXED}"
            )
        return ValidationError(
            f"line {line} is not valid UTF-8: give the source's encoding (--encoding latin-1)"
        )

    def refuse_garbled(self, text: bytes, first: int) -> None:
        """Refuse `text` (UTF-8, its first line `first`) if it holds garbled text."""
        decoded = text.decode("utf-8", errors="replace")
        if (found := _GARBLED.search(decoded)) is None:
            return
        line = first + decoded.count("\n", 0, found.start())
        if self.declared == "latin-1":
            raise ValidationError(
                f"line {line} is UTF-8 read as Latin-1 (accents would arrive garbled, "
                "Ã© for é): the source's encoding is UTF-8 (--encoding utf-8)"
            )
        if self.encoding == "latin-1":  # settled on Latin-1 by earlier lines
            raise ValidationError(f"line {line} is UTF-8 while earlier lines are Latin-1: {_MIXED}")
        raise ValidationError(
            f"line {line} holds text already garbled by a wrong decoding (Ã© for é): "
            "the export must be made again in one encoding"
        )
