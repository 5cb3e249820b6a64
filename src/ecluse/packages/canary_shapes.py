"""Fresh values in a package's own format, for canary rows.

A canary's unique values (NIR, INS, phone, e-mail, house number, identifiers) are invented,
never copied: each takes one real value of the package as its template (its separators,
letters, width and leading digits kept) and gets new digits, so that it reads like its
neighbours without being any of them. Pure functions of a NumPy generator; no I/O.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Callable

import numpy as np

from ecluse.nir import compact_nir, key_of

_PLACE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")
# a date as the day first (15/03/1985, 15.03.85) or as ISO (1985-03-15, maybe a time after)
_DAY_FIRST = re.compile(r"^(\s*)(\d{1,2})([/.-])(\d{1,2})([/.-])(\d{2,4})(.*)$")
_ISO = re.compile(r"^(\s*)(\d{4})(-)(\d{1,2})(-)(\d{1,2})(.*)$")
TWO_DIGIT_CENTURY = 1900  # a two-digit year read as 19yy, only to know February's length
TRIES = 64  # attempts at a value nothing real has taken


def fold(text: str) -> str:
    """Lower case, no accents, no spaces, apostrophes or hyphens: how names are compared."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in plain if unicodedata.category(c) != "Mn").lower()
    return re.sub(r"[\s'\-]+", "", plain)


def redigit(template: str, rng: np.random.Generator, *, keep: int = 0) -> str:
    """`template` with each digit after its first `keep` ones replaced by a random digit."""
    out, seen = [], 0
    for c in template:
        if "0" <= c <= "9":
            out.append(c if seen < keep else str(int(rng.integers(10))))
            seen += 1
        else:
            out.append(c)
    return "".join(out)


def phone_prefix(template: str) -> int:
    """How many leading digits of a phone number say its kind and are kept: `06` of
    06 12 34 56 78, `336` of +33 6 12 34 56 78, `00336` of 0033 6 …"""
    digits = re.sub(r"\D", "", template)
    if template.lstrip().startswith("+") and digits.startswith("33"):
        return 3
    if digits.startswith("0033"):
        return 5
    return 2 if digits.startswith("0") else 1


def unique(make: Callable[[], str], free: Callable[[str], bool]) -> str:
    """A value from `make` that is `free`; the last try if none is."""
    value = make()
    for _ in range(TRIES):
        if free(value):
            break
        value = make()
    return value


def compact(text: str) -> str:
    return text.replace(" ", "").replace(".", "").replace("-", "").upper()


def fresh_nir(
    template: str,
    rng: np.random.Generator,
    *,
    sex: str | None,
    born: tuple[int, int] | None,
    place: str | None,
) -> str:
    """A NIR laid out like `template` (its spaces kept), with a valid key, for a person of
    NIR sex digit `sex`, born in (year, month) `born` at INSEE place `place`; the template's
    own parts where one is unknown, a random order number."""
    shape = compact_nir(compact(template))
    if shape is None:
        return redigit(template, rng)
    year, month = (f"{born[0] % 100:02d}", f"{born[1]:02d}") if born else (shape[1:3], shape[3:5])
    where = place.upper() if place and _PLACE.match(place.upper()) else shape[5:10]
    order = f"{int(rng.integers(1, 1000)):03d}"
    number = f"{sex or shape[0]}{year}{month}{where}{order}"
    chars = iter(f"{number}{key_of(number):02d}")
    return "".join(c if c in " .-" else next(chars) for c in template.strip())


def _forms(name: str) -> tuple[str, str]:
    """How a name is written in an e-mail address: with its hyphens, and without."""
    kept = fold(name.replace("-", "\x00")).replace("\x00", "-")
    return kept, fold(name)


def fresh_email(
    template: str, rng: np.random.Generator, *, was: tuple[str, str], now: tuple[str, str]
) -> str:
    """`template`'s shape with the canary's names where its owner's names were (`was` and
    `now`: first names, surname; the first given name counts), new digits, the same
    domain."""
    local, at, domain = template.rpartition("@")
    if not at:
        return redigit(template, rng)
    pairs = ((was[0].split(" ")[0], now[0].split(" ")[0]), (was[1], now[1]))
    for old, new in pairs:
        for old_form, new_form in zip(_forms(old), _forms(new), strict=True):
            if old_form and new_form and old_form in local.lower():
                local = re.sub(re.escape(old_form), new_form, local, flags=re.IGNORECASE)
                break
    return f"{redigit(local, rng)}@{domain}"


def parse_date(text: str) -> tuple[int, int, int] | None:
    """(year, month, day) of a day-first or ISO date, a two-digit year as it is."""
    m = _ISO.match(text)
    if m:
        return int(m[2]), int(m[4]), int(m[6])
    m = _DAY_FIRST.match(text)
    if m:
        return int(m[6]), int(m[4]), int(m[2])
    return None


def with_day(text: str, day: int) -> str | None:
    """`text`, a date, with its day replaced (its width kept); None when it is no date or
    its month has no such day."""
    m = _ISO.match(text) or _DAY_FIRST.match(text)
    parts = parse_date(text)
    if m is None or parts is None or not 1 <= parts[1] <= 12:  # noqa: PLR2004 - months
        return None
    year = parts[0] + (TWO_DIGIT_CENTURY if parts[0] < 100 else 0)  # noqa: PLR2004 - a 2-digit year
    if not 1 <= day <= calendar.monthrange(year, parts[1])[1]:
        return None
    groups = list(m.groups())
    at = 5 if m.re is _ISO else 1
    groups[at] = f"{day:0{len(groups[at])}d}"
    return "".join(groups)
