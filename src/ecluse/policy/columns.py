"""Columns that carry credentials under another field's header.

A credential column is dropped by its header (see `ecluse.governance.dictionary`); this module
catches one whose header says something else (`prenom`, `code`, `commentaire`) while its
values are passwords or logins. A column is judged against what its dictionary field looks
like, never against one rule for all: given names are single capitalised words (`Philippe`),
birth names title-cased phrases (`Le Gall`), identifiers digits, codes short and repeated,
dates dates, results numbers with units. Credentials look otherwise: one word of 6 to 64
characters holding a letter and a digit, a symbol (`#`, `!`, `@`, `_`…), a dot between letters
(`marie.dupont`) or a capital inside lower case (`bOnjour`, but not `McArthur` or `LeBlanc`),
and almost each one distinct.

A value is *flagged* when its field's shape does not explain it and it looks like a credential
(for names, any digit or symbol is enough: names carry none). A column is refused when the share
of its non-empty values flagged reaches its shape's threshold and the flagged values are mostly
distinct (site codes such as `labo01` repeat, passwords do not). Measured precision and recall
on a labelled corpus: docs/adr/0011-policy-engine.md. Pure: expressions over a sample.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

import polars as pl

from ecluse.policy.credentials import CLINICAL


class Shape(StrEnum):
    NAME = "name"
    ADDRESS = "address"
    PHONE = "phone"
    EMAIL = "email"
    CODE = "code"
    IDENTIFIER = "identifier"
    DATE = "date"
    FREE_TEXT = "free_text"


S = Shape
SHAPES: Mapping[str, Shape] = MappingProxyType(
    {
        "nir": S.IDENTIFIER,
        "ins": S.IDENTIFIER,
        "birth_name": S.NAME,
        "used_name": S.NAME,
        "first_names": S.NAME,
        "sex": S.CODE,
        "birth_date": S.DATE,
        "birth_place": S.CODE,
        "address": S.ADDRESS,
        "postcode": S.CODE,
        "city": S.NAME,
        "phone": S.PHONE,
        "email": S.EMAIL,
        "exam_date": S.DATE,
        "last_visit": S.DATE,
        "laboratory": S.CODE,
        "blood_group": S.CODE,
        "results": S.FREE_TEXT,
        "comment_p": S.FREE_TEXT,
        "comment_d": S.FREE_TEXT,
        "prescriber_name": S.NAME,
        "prescriber_id": S.IDENTIFIER,
        "sampler_name": S.NAME,
        "insurer_name": S.NAME,
        "insurer_payer_id": S.IDENTIFIER,
        "insurer_address": S.ADDRESS,
        "insurer_phone": S.PHONE,
    }
)
# names carry no digit and no symbol: a few odd values in a real export stay far below this
THRESHOLDS: Mapping[Shape, float] = MappingProxyType(
    {shape: 0.15 if shape == S.NAME else 0.5 for shape in Shape}
)
MIN_DISTINCT = 0.5  # flagged values distinct over flagged values, for a refusal
# a column most of whose values are not of its field at all (`foreign`), if they are also
# distinct and at least this many: placeholders such as "inconnu" or "néant" repeat
FOREIGN_SHARE, FOREIGN_DISTINCT = 0.5, 10

_SYMBOL = r"[^\p{L}\p{N}\s\-'\u2019.]"
_DOTTED = r"\p{L}\.\p{L}"
_INNER_CAPITAL = r"\p{Ll}\p{Lu}"
# a capital after a name's particle is a name's: McArthur, MacLeod, LeBlanc, DeLuca, O'Neil
_PARTICLE_CAPITAL = (
    r"^(?:Mc|Mac|De|Di|Da|Du|Le|La|Van|Von|O['\u2019]|D['\u2019]|N['\u2019])\p{Lu}\p{Ll}+$"
)
_DATE = (
    r"^(?:\p{L}{3,9}\.?,?\s)?\d{1,2}(?:er)?[\s/.\-]\p{L}{3,9}\.?[\s/.\-]\d{2,4}$"  # 15-mar-85
    r"|^\p{L}{3,9}\.?\s\d{4}$"  # mars 1985
    r"|^\d{4}-\d{2}-\d{2}[T ][\d:.]+(?:Z|[+-]\d{2}:?\d{2})?$"  # 2019-03-15T10:00:00Z
)
_EMAIL = r"^[\w.+-]+@[\w-]+\.[\w.-]+$"
_PHONE = r"^[+\d\s.()\-/]*$"


def _odd_case(text: pl.Expr) -> pl.Expr:
    return text.str.contains(_INNER_CAPITAL) & ~text.str.contains(_PARTICLE_CAPITAL)


def _one_word(text: pl.Expr, shortest: int) -> pl.Expr:
    """No space, `shortest` to 64 characters (a length, not a bounded regex repetition of a
    Unicode class, which compiles into a large automaton)."""
    return text.str.len_chars().is_between(shortest, 64) & ~text.str.contains(r"\s")


def _credential_word(text: pl.Expr, *, shortest: int) -> pl.Expr:
    """One word of `shortest` to 64 characters, with a letter and a digit, a symbol, a dot
    between letters or a capital inside lower case."""
    return (
        _one_word(text, shortest)
        & text.str.contains(r"\p{L}")
        & (
            text.str.contains(r"\d")
            | text.str.contains(_SYMBOL)
            | text.str.contains(_DOTTED)
            | _odd_case(text)
        )
    )


def flagged(values: pl.Expr, shape: Shape) -> pl.Expr:
    """Per value: its field's shape does not explain it and it looks like a credential."""
    text = values.cast(pl.Utf8).fill_null("").str.strip_chars()
    secret = _credential_word(text, shortest=6)
    return {
        S.NAME: _credential_word(text, shortest=2),  # names have no digit, no symbol
        S.ADDRESS: secret,
        S.PHONE: secret & ~text.str.contains(_PHONE),
        S.EMAIL: secret & ~text.str.contains(_EMAIL),
        S.CODE: secret & ~text.str.contains(CLINICAL),
        S.IDENTIFIER: secret & (text.str.contains(r"\p{Ll}") | text.str.contains(_SYMBOL)),
        S.DATE: secret & ~text.str.contains(_DATE),
        S.FREE_TEXT: secret & ~text.str.contains(CLINICAL),
    }[shape]


def foreign(values: pl.Expr, shape: Shape) -> pl.Expr:
    """Per value: one word of its own that no value of the field is (a lower-case word
    under an identifier, a word without `@` under e-mail…); never for names or free text,
    which may be any word."""
    text = values.cast(pl.Utf8).fill_null("").str.strip_chars()
    word = _one_word(text, 3) & text.str.contains(r"\p{L}")
    return {
        S.NAME: pl.lit(False),
        S.ADDRESS: word,
        S.PHONE: word,
        S.EMAIL: word & ~text.str.contains(_EMAIL),
        S.CODE: _one_word(text, 6) & text.str.contains(r"\p{L}") & ~text.str.contains(CLINICAL),
        S.IDENTIFIER: word & text.str.contains(r"\p{Ll}"),
        S.DATE: word & ~text.str.contains(_DATE),
        S.FREE_TEXT: pl.lit(False),
    }[shape]


def judged(sample: pl.LazyFrame, fields: Mapping[str, str]) -> pl.LazyFrame:
    """One row: per source header of `fields` (header -> dictionary field), for the values
    `flagged` and those `foreign` to it, their share of the non-empty values (NaN when there
    are none), their distinct count and their count, all in one query."""
    texts = [
        pl.col(h).cast(pl.Utf8).fill_null("").str.strip_chars().alias(f"{h}\x00text")
        for h in fields
    ]
    hits: list[pl.Expr] = []
    exprs: list[pl.Expr] = []
    for header, field in fields.items():
        text = pl.col(f"{header}\x00text")
        for kind, hit in (("flagged", flagged), ("foreign", foreign)):
            name = f"{header}\x00{kind}"
            hits.append(hit(text, SHAPES[field]).alias(f"{name} hit"))
            found = pl.col(f"{name} hit")
            exprs += [
                (found.sum() / (text != "").sum()).alias(name),
                text.filter(found).n_unique().alias(f"{name} distinct"),
                found.sum().alias(f"{name} count"),
            ]
    return sample.select(texts).with_columns(hits).select(exprs)


def _holds_credentials(row: Mapping[str, float | int | None], header: str, shape: Shape) -> bool:
    def of(kind: str, share: float, least: int) -> bool:
        hits = row[f"{header}\x00{kind} count"] or 0
        distinct = row[f"{header}\x00{kind} distinct"] or 0
        return (row[f"{header}\x00{kind}"] or 0) >= share and distinct >= max(
            least, MIN_DISTINCT * hits
        )

    return of("flagged", THRESHOLDS[shape], 1) or of("foreign", FOREIGN_SHARE, FOREIGN_DISTINCT)


def refused(result: pl.DataFrame, fields: Mapping[str, str]) -> list[str]:
    """The headers of `judged`'s `result` whose column holds credentials."""
    if result.height == 0:
        return []
    row = result.row(0, named=True)
    return [h for h, f in fields.items() if _holds_credentials(row, h, SHAPES[f])]
