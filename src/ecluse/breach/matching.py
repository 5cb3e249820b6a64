"""Matching a leaked sample's lines to one package's rows, field by field, on keyed digests
(see `ecluse.packages.digests`): a leak rarely holds every column a package had.

Candidate rows for a line are those sharing with it an identifier (NIR, INS), a phone, an
e-mail, an address, or a surname with a first name or a birth date, or a first name with a
birth date (or, where the sample has none of these, every field it has). The line then goes
with the candidate that agrees with it on the most fields, and is found in the package when
what agrees says who it is:

- an identifier (NIR or INS);
- a phone or an e-mail, and one more field;
- a surname and a first name, and one more field than the sex;
- every field the line and the package have in common, three at least besides the sex,
  two of them more than a place or a postcode.

Every line counts, a duplicated one as often as it appears. A line found on a canary row (an
invented patient of this package only) names the package for certain; a tie with a real row
goes to the real row. The score is the mean, over the sample's lines, of the share of each
line's fields that agree (an unmatched line counts 0), in per cent: 100 when every line is
found whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

IDENTIFIERS = frozenset({"nir", "ins"})
CONTACTS = frozenset({"phone", "email"})
SURNAMES = ("birth_name", "used_name")
_WEAK = frozenset({"sex", "birth_place", "postcode", "city"})
_AND_ONE_MORE, _AND_TWO_MORE = 2, 3  # fields agreeing: a contact and one; two names and one
_SINGLE = (*sorted(IDENTIFIERS), *sorted(CONTACTS), "address")


@dataclass(frozen=True, slots=True)
class PackageMatch:
    lines: int  # sample lines found among the package's rows
    canaries: int  # of which on a canary row
    score: int  # per cent (module docstring)
    fields: dict[str, int]  # field -> found lines agreeing on it


def candidate_keys(common: Sequence[str]) -> list[tuple[str, ...]]:
    """The field combinations a line's candidate rows share with it."""
    have = set(common)
    keys: list[tuple[str, ...]] = [(f,) for f in _SINGLE if f in have]
    for surname in (s for s in SURNAMES if s in have):
        keys += [(surname, f) for f in ("first_names", "birth_date") if f in have]
    if {"first_names", "birth_date"} <= have:
        keys.append(("first_names", "birth_date"))
    return keys or [tuple(common)]


def found(common: Sequence[str]) -> pl.Expr:
    """Whether the fields a line and a row agree on (boolean columns named by field, `agree`
    their count) say they are the same person."""

    def any_of(names: Sequence[str]) -> pl.Expr:
        return pl.any_horizontal(pl.lit(False), *(pl.col(f) for f in names if f in common))

    agree = pl.col("agree")
    beyond_sex = agree - any_of(["sex"]).cast(pl.UInt32)
    names = any_of(SURNAMES) & any_of(["first_names"]) & (beyond_sex >= _AND_TWO_MORE)
    whole = (
        len(set(common) - {"sex"}) >= _AND_TWO_MORE and len(set(common) - _WEAK) >= _AND_ONE_MORE
    )
    return (
        any_of(sorted(IDENTIFIERS))
        | (any_of(sorted(CONTACTS)) & (agree >= _AND_ONE_MORE))
        | names
        | (pl.lit(whole) & (agree == len(common)))
    )


def _frame(
    matrix: np.ndarray, fields: Sequence[str], keep: Sequence[str], index: str
) -> pl.DataFrame:
    columns = {f: matrix[:, fields.index(f)] for f in keep}
    return pl.DataFrame(columns, schema=dict.fromkeys(keep, pl.UInt64)).with_row_index(index)


def _canary_rows(package: np.ndarray, canaries: np.ndarray) -> pl.Series:
    """Whether each package row is one of the canaries (its whole digest row equal)."""
    if canaries.size == 0:
        return pl.Series("canary", np.zeros(len(package), dtype=bool))
    width = package.shape[1] * package.dtype.itemsize
    view = np.dtype((np.void, width))
    rows = np.ascontiguousarray(package).view(view).ravel()
    marks = np.ascontiguousarray(canaries).view(view).ravel()
    return pl.Series("canary", np.isin(rows, marks))


def match(
    package: np.ndarray,
    fields: Sequence[str],
    canaries: np.ndarray,
    sample: np.ndarray,
    sample_fields: Sequence[str],
) -> PackageMatch | None:
    """The sample's lines found in the package (both as digest matrices, columns named by
    `fields` and `sample_fields`); None when they have no field in common."""
    common = [f for f in sample_fields if f in fields]
    if not common or len(sample) == 0:
        return None
    rows = _frame(package, fields, common, "row").with_columns(_canary_rows(package, canaries))
    lines = _frame(sample, sample_fields, common, "line")
    pairs = pl.concat(
        [
            lines.select("line", *key)
            .filter(pl.all_horizontal(pl.col(key) != 0))
            .join(rows.select("row", *key), on=list(key))
            .select("line", "row")
            for key in candidate_keys(common)
        ]
    ).unique()
    scored = (
        pairs.join(lines, on="line")
        .join(rows, on="row", suffix=".row")
        .select(
            "line",
            "canary",
            *(((pl.col(f) == pl.col(f"{f}.row")) & (pl.col(f) != 0)).alias(f) for f in common),
        )
        .with_columns(agree=pl.sum_horizontal(common))
        .with_columns(found=found(common))
    )
    best = (
        scored.sort(["line", "found", "agree", "canary"], descending=[False, True, True, False])
        .unique("line", keep="first", maintain_order=True)
        .filter("found")
    )
    if best.height == 0:
        return None
    totals = best.select(
        pl.col("canary").sum(), pl.col("agree").sum(), *(pl.col(f).sum() for f in common)
    ).row(0, named=True)
    score = round(100 * totals["agree"] / (len(common) * len(sample)))
    fields_found = {f: int(totals[f]) for f in common}
    return PackageMatch(best.height, int(totals["canary"]), score, fields_found)
