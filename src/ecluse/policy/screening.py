"""Free-text screening: what comment columns carry that nobody should send unknowingly.

Counts, by category, values that name health conditions (French and English), hold a NIR
with a valid key, a phone number (French or overseas, `+33 6…` as `06…`), an e-mail address,
or a credential (see `ecluse.policy.credentials`): a count is of values, each counted once per
category, and a value counts as holding a credential exactly when masking changes it.
"""

from __future__ import annotations

from collections import Counter
from enum import StrEnum

import polars as pl

from ecluse.nir import IN_TEXT, SPACED, is_valid_nir
from ecluse.policy.credentials import (
    CREDENTIAL_REMOVED,
    MIXED_TOKEN,
    SUSPECT_CUE,
    mask,
)

__all__ = ["CREDENTIAL_REMOVED", "Screen", "mask_credentials", "screen", "screened"]


class Screen(StrEnum):
    HEALTH = "health_terms"
    NIR = "nir"
    PHONE = "phone"
    EMAIL = "email"
    # a category name, not a password
    PASSWORD = "password_like"  # nosec B105


# whole words (a stem's suffix free), whatever their case: "résidant" holds no
# "sida"; "AIDS" (an English word too) and "SA" (weeks of amenorrhoea) only in capitals
_HEALTH_WORDS = r"vih|hiv|sida|ivg|avk"
_HEALTH_STEMS = (
    r"s[ée]ropositi|cancer|canc[ée]r|tumeur|tumou?r|carcinom|leuc[ée]mi|leuka?emi|lymphom|"
    r"m[ée]tasta|chimio|chemo|grossesse|enceinte|pregnan|abortion|diab[èée]t|insulin|"
    r"tuberculos|h[ée]patite|hepatitis|mucoviscidos|cystic fibrosis|dr[ée]panocyt|sickle cell|"
    r"h[ée]mophil|ha?emophil|trisomi|down syndrome|huntington|scl[ée]rose en plaques|"
    r"multiple sclerosis|dialys|psychiatr|d[ée]pressi|schizophr|bipolai|bipolar|"
    r"trith[ée]rapi|antir[ée]trovir|tamoxif|imatinib|rifater|anticoagul"
)
# Boundaries are spelt `(?:^|\W)` and `(?:\W|$)`, not `\b`: Polars' regex cannot run a
# Unicode `\b` in its fast engine (the whole-word search was three times slower); case is
# ignored by the pattern, not by lower-casing the text first (one pass less)
_START, _END = r"(?:^|\W)", r"(?:\W|$)"
HEALTH_TERMS = rf"(?i){_START}(?:(?:{_HEALTH_WORDS})s?{_END}|(?:{_HEALTH_STEMS}))"
_HEALTH_CAPITALS = rf"{_START}AIDS{_END}|\d\s?SA{_END}"
_PHONE_CODES = r"33|262|269|508|590|594|596|681|687|689"  # France and its overseas
_PATTERNS = {
    Screen.PHONE: (
        rf"(?:(?:\+|{_START}00)(?:{_PHONE_CODES})\)?[\s.-]?(?:\(0\)[\s.-]?)?[1-9]|{_START}0[1-9])"
        rf"(?:[\s.-]?\d{{2}}){{4}}{_END}"
    ),
    Screen.EMAIL: r"[\w.+-]+@[\w-]+\.[\w.-]+",
}

_T = pl.col("t")


def _flags(text: pl.Series, *columns: pl.Expr) -> pl.DataFrame:
    """`columns` computed over `text` (named "t") side by side: Polars runs the expressions
    of one eager `select` in parallel."""
    return pl.DataFrame({"t": text}).select(*columns)


def _cue(text: pl.Expr) -> pl.Expr:
    return text.str.contains(SUSPECT_CUE).alias("cue")


def _mixed_token(text: pl.Expr) -> pl.Expr:
    return text.str.contains(MIXED_TOKEN).alias("mixed")


def _suspects(flags: pl.DataFrame) -> pl.Series:
    """Rows that may hold a credential: a credential cue, or a run of characters mixing
    letter cases and digits. Masking changes no other row."""
    return (flags["cue"] | flags["mixed"]).arg_true()


def _masked(text: pl.Series, suspects: pl.Series) -> pl.Series:
    """`text` with the credentials of its `suspects` rows masked."""
    if suspects.len() == 0:
        return text
    fixed = pl.Series([mask(v) for v in text.gather(suspects).to_list()], dtype=pl.Utf8)
    return text.clone().scatter(suspects, fixed)  # scatter writes in place


def mask_credentials(values: pl.Series) -> pl.Series:
    """Free text with its credentials replaced (see `ecluse.policy.credentials`):
    credentials never travel, not even inside a comment the instruction keeps."""
    text = values.cast(pl.Utf8).fill_null("")
    return _masked(text, _suspects(_flags(text, _cue(_T), _mixed_token(_T))))


_MATCHED = (Screen.HEALTH, *_PATTERNS)  # categories counted from one match per value


def screening_flags(values: pl.Expr) -> list[pl.Expr]:
    """The per-value matches `screened` counts from, as expressions over `values`: a caller
    can compute them in its own query, beside its other columns."""
    text = values.cast(pl.Utf8).fill_null("")
    by_category = {
        Screen.HEALTH: text.str.contains(HEALTH_TERMS) | text.str.contains(_HEALTH_CAPITALS),
        **{category: text.str.contains(pattern) for category, pattern in _PATTERNS.items()},
    }
    return [
        *(expr.alias(str(category)) for category, expr in by_category.items()),
        _cue(text),
        _mixed_token(text),
        text.str.contains(rf"{_START}{SPACED}{_END}").alias("nir"),
    ]


def screened(
    values: pl.Series, flags: pl.DataFrame | None = None
) -> tuple[Counter[Screen], pl.Series]:
    """How many values fall in each category (a value may count in several), and the values
    with their credentials masked (`mask_credentials`; a value counts as holding one exactly
    when masking changes it). `flags`: `screening_flags` of `values`, if the caller computed
    them already."""
    text = values.cast(pl.Utf8).fill_null("")
    if flags is None:
        flags = _flags(text, *screening_flags(_T))
    found = Counter({category: int(flags[str(category)].sum()) for category in _MATCHED})
    masked = _masked(text, _suspects(flags))
    found[Screen.PASSWORD] = int((masked != text).sum())
    candidates = text.filter(flags["nir"]).str.extract_all(IN_TEXT).to_list()
    found[Screen.NIR] = sum(1 for m in candidates if any(is_valid_nir(x) for x in m))
    return +found, masked


def screen(values: pl.Series) -> Counter[Screen]:
    """How many values fall in each category (a value may count in several)."""
    return screened(values)[0]
