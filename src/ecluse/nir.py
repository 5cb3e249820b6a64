"""The French social-security number (NIR): its layout, its key, how to find one in text.

NIR = sex(1) year(2) month(2) place(5) order(3) key(2); the place is department(2) +
commune(3), or an overseas department(3) + commune(2), or 99 + country(3) for people born
abroad. Corsica's 2A/2B count as 19/18 for the key: key = 97 - (number mod 97). Written with
or without a space between its parts. The one definition the screening, the audit trail's
refusal, the canaries and the synthetic generator share.
"""

from __future__ import annotations

import re

# a NIR in the text, spaces allowed between its parts: in Python's `re` and Polars' regex
SPACED = r"[12378]\s?\d{2}\s?\d{2}\s?(?:\d{2}|2[AB])\s?\d{3}\s?\d{3}\s?\d{2}"
IN_TEXT = rf"\b{SPACED}\b"  # a whole token
# digits inside a longer token (a hex key id) are not a NIR (Python's `re` only)
NIR_LIKE = re.compile(rf"(?<![0-9A-Za-z]){SPACED}(?![0-9A-Za-z])")
_COMPACT = re.compile(r"^[12378]\d{2}\d{2}(?:\d{2}|2A|2B)\d{3}\d{3}\d{2}$")


def compact_nir(text: str) -> str | None:
    """`text` as a 15-character NIR (spaces dropped, upper case), or None if it is not laid
    out as one."""
    compact = text.replace(" ", "").upper()
    return compact if _COMPACT.match(compact) else None


def key_of(number: str) -> int:
    """The two-digit key of a 13-character NIR number (Corsica as 2A/2B)."""
    return 97 - int(number.replace("2A", "19").replace("2B", "18")) % 97


def is_valid_nir(text: str) -> bool:
    """A NIR with a correct key (spaces ignored)."""
    compact = compact_nir(text)
    return compact is not None and int(compact[13:]) == key_of(compact[:13])
