"""Free-text screening: what comment columns carry that nobody should send unknowingly.

Counts, by category, values that name health conditions (French and English), hold a NIR
with a valid key, a phone number, an e-mail address, or a password-like token.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from enum import StrEnum

import polars as pl

from ecluse.synth.nir import is_valid_nir


class Screen(StrEnum):
    HEALTH = "health_terms"
    NIR = "nir"
    PHONE = "phone"
    EMAIL = "email"
    # a category name, not a password
    PASSWORD = "password_like"  # nosec B105


# matched against lower-cased text; "SA" (weeks of amenorrhoea) only in capitals
HEALTH_TERMS = (
    r"vih|hiv|s[ée]ropositi|sida|aids|cancer|tumeur|tumour|tumor|carcinome|leuc[ée]mie|"
    r"leuka?emia|lymphome|lymphoma|m[ée]tastas|chimio|chemo|grossesse|enceinte|pregnan|"
    r"ivg|abortion|diab[èe]t|insulin|tuberculos|h[ée]patite|hepatitis|mucoviscidose|"
    r"cystic fibrosis|dr[ée]panocytose|sickle cell|h[ée]mophilie|ha?emophilia|trisomie|"
    r"down syndrome|huntington|scl[ée]rose en plaques|multiple sclerosis|dialys|"
    r"psychiatr|d[ée]pression|schizophr|bipolaire|bipolar|trith[ée]rapie|antir[ée]trovir|"
    r"tamoxif|imatinib|rifater|avk|anticoagul"
)
_WEEKS_OF_AMENORRHOEA = r"\d\s?SA\b"
_PATTERNS = {
    Screen.PHONE: r"\b(?:\+33\s?|0)[1-9](?:[\s.-]?\d{2}){4}\b",
    Screen.EMAIL: r"[\w.+-]+@[\w-]+\.[\w.-]+",
}
# a pattern that finds passwords, not one
_PASSWORD_CUE = r"(?i)(?:mot de passe|mdp|password|passwd|pwd)\s*[:=]?\s*\S+"  # nosec B105
_TOKEN = re.compile(r"[^\s@]{8,64}")
# a token with a lower-case letter, a capital and a digit in any order (length checked after)
_MIXED_TOKEN = "|".join(
    r"[^\s@]*".join(order) for order in itertools.permutations(("[a-z]", "[A-Z]", r"\d"))
)
_NIR_CANDIDATE = r"\b[12378]\s?\d{2}\s?\d{2}\s?(?:\d{2}|2[AB])\s?\d{3}\s?\d{3}\s?\d{2}\b"


def _mixed(tokens: pl.Series) -> pl.Series:
    """Tokens with lower case, upper case and digits: how generated passwords look."""
    return tokens.str.contains("[a-z]") & tokens.str.contains("[A-Z]") & tokens.str.contains(r"\d")


def _mixed_rows(text: pl.Series, candidates: pl.Series) -> pl.Series:
    """Per value: a token of 8 to 64 characters mixing letter cases and digits. Only the
    `candidates` (rows where one pass of `_MIXED_TOKEN` found all three) are split."""
    found = pl.repeat(False, text.len(), eager=True)
    if candidates.len():
        tokens = pl.DataFrame(
            {"row": candidates, "tok": text.gather(candidates).str.extract_all(_TOKEN.pattern)}
        ).explode("tok")
        rows = tokens.filter(_mixed(tokens["tok"].fill_null("")))["row"]
        if rows.len():
            found = found.scatter(rows, True)
    return found


_T = pl.col("t")


def _flags(text: pl.Series, *columns: pl.Expr) -> pl.DataFrame:
    """`columns` computed over `text` (named "t") side by side: Polars runs the expressions
    of one eager `select` in parallel."""
    return pl.DataFrame({"t": text}).select(*columns)


def _cue(text: pl.Expr) -> pl.Expr:
    return text.str.contains(_PASSWORD_CUE).alias("cue")


def _mixed_token(text: pl.Expr) -> pl.Expr:
    return text.str.contains(_MIXED_TOKEN).alias("mixed")


def _password_like(text: pl.Series, flags: pl.DataFrame) -> pl.Series:
    """Per value: a password cue ("mdp: …"), or a long token mixing letter cases and digits.
    `flags`: `cue` and `mixed` matched for `text`."""
    return flags["cue"] | _mixed_rows(text, flags["mixed"].arg_true())


CREDENTIAL_REMOVED = "[credential removed]"


def _mask_tokens(value: str) -> str:
    def one(m: re.Match[str]) -> str:
        t = m.group()
        mixed = any(c.islower() for c in t) and any(c.isupper() for c in t)
        return CREDENTIAL_REMOVED if mixed and any(c.isdigit() for c in t) else t

    return _TOKEN.sub(one, value)


def _suspects(flags: pl.DataFrame) -> pl.Series:
    """Rows that may hold a credential: a password cue, or a run of characters mixing letter
    cases and digits. Masking changes no other row."""
    return (flags["cue"] | flags["mixed"]).arg_true()


def mask_credentials(values: pl.Series, *, suspects: pl.Series | None = None) -> pl.Series:
    """Free text with password cues and password-like tokens replaced: credentials never
    travel, not even inside a comment the instruction keeps. `suspects`: the rows to look
    at, from `screened`, when the text was screened already."""
    text = values.cast(pl.Utf8).fill_null("")
    if suspects is None:
        suspects = _suspects(_flags(text, _cue(_T), _mixed_token(_T)))
    if suspects.len() == 0:
        return text
    cued = text.gather(suspects).str.replace_all(_PASSWORD_CUE, CREDENTIAL_REMOVED)
    fixed = pl.Series([_mask_tokens(v) for v in cued.to_list()], dtype=pl.Utf8)
    return text.scatter(suspects, fixed)


_MATCHED = (Screen.HEALTH, *_PATTERNS)  # categories counted from one match per value


def screening_flags(values: pl.Expr) -> list[pl.Expr]:
    """The per-value matches `screened` counts from, as expressions over `values`: a caller
    can compute them in its own query, beside its other columns."""
    text = values.cast(pl.Utf8).fill_null("")
    health = text.str.to_lowercase().str.contains(HEALTH_TERMS)
    by_category = {
        Screen.HEALTH: health | text.str.contains(_WEEKS_OF_AMENORRHOEA),
        **{category: text.str.contains(pattern) for category, pattern in _PATTERNS.items()},
    }
    return [
        *(expr.alias(str(category)) for category, expr in by_category.items()),
        _cue(text),
        _mixed_token(text),
        text.str.contains(_NIR_CANDIDATE).alias("nir"),
    ]


def screened(
    values: pl.Series, flags: pl.DataFrame | None = None
) -> tuple[Counter[Screen], pl.Series]:
    """How many values fall in each category (a value may count in several), and the rows
    `mask_credentials` needs to look at. `flags`: `screening_flags` of `values`, if the
    caller computed them already."""
    text = values.cast(pl.Utf8).fill_null("")
    if flags is None:
        flags = _flags(text, *screening_flags(_T))
    found = Counter({category: int(flags[str(category)].sum()) for category in _MATCHED})
    found[Screen.PASSWORD] = int(_password_like(text, flags).sum())
    candidates = text.filter(flags["nir"]).str.extract_all(_NIR_CANDIDATE).to_list()
    found[Screen.NIR] = sum(1 for m in candidates if any(is_valid_nir(x) for x in m))
    return +found, _suspects(flags)


def screen(values: pl.Series) -> Counter[Screen]:
    """How many values fall in each category (a value may count in several)."""
    return screened(values)[0]


def credential_shares(frame: pl.LazyFrame) -> pl.LazyFrame:
    """Per column, the share of its non-empty values that are single tokens mixing cases and
    digits (NaN for a column with none): one row, all columns in one query."""

    def share(name: str) -> pl.Expr:
        text = pl.col(name).cast(pl.Utf8).fill_null("").str.strip_chars()
        filled = text != ""
        single = text.str.contains(r"^[^\s@]{6,64}$")
        mixed = text.str.contains("[a-z]") & text.str.contains(r"[A-Z\d]")
        return ((filled & single & mixed).sum() / filled.sum()).alias(name)

    return frame.select(share(c) for c in frame.collect_schema().names())


def credential_like(shares: pl.DataFrame, *, share: float = 0.5) -> list[str]:
    """The columns of `credential_shares` whose values mostly look like credentials."""
    if shares.height == 0:
        return []
    return [c for c, x in shares.row(0, named=True).items() if x is not None and x >= share]
