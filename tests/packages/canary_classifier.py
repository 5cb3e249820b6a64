"""What a recipient can compute on a package to look for its canaries, and two ways to score
rows with it: by how unusual a row is in its own package, and by a naive Bayes trained on
labelled packages (an attacker who knows the generator and simulates it). Pure NumPy and
Polars; no learning library."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from ecluse.synth import is_valid_nir

Features = list[tuple[str, ...]]  # per row: one value per feature


def _bucket(count: pl.Expr) -> pl.Expr:
    """1, 2, 3-4, 5-8, ... : how often a value is seen in the package."""
    return count.cast(pl.Float64).log(2).ceil().cast(pl.Int64).cast(pl.Utf8)


def _freq(col: str) -> pl.Expr:
    return _bucket(pl.len().over(col)).alias(f"freq {col}")


def _fold(col: pl.Expr) -> pl.Expr:
    plain = col.str.normalize("NFKD").str.replace_all(r"\p{Mn}", "").str.to_lowercase()
    return plain.str.replace_all(r"[\s'\-]+", "")


def _digits(col: str) -> pl.Expr:
    return pl.col(col).str.replace_all(r"\D", "")


def _year(col: str) -> pl.Expr:
    return pl.col(col).str.extract(r"((?:19|20)\d{2})").cast(pl.Int64)


def _place() -> list[pl.Expr]:
    dept = pl.col("postcode").str.slice(0, 2)
    return [
        _bucket(pl.len().over(dept)).alias("department share"),
        _bucket(pl.len().over("postcode", "city")).alias("postcode and city"),
        _bucket(pl.col("postcode").n_unique().over("city")).alias("postcodes of city"),
    ]


def _birth() -> list[pl.Expr]:
    text = pl.col("birth_date")
    day = text.str.extract(r"^(\d{1,2})/").fill_null(text.str.extract(r"-(\d{1,2})$"))
    return [
        (_year("birth_date") // 10).cast(pl.Utf8).alias("age"),
        _freq("birth_date"),
        (day.cast(pl.Int64) > 28).cast(pl.Utf8).alias("day after the 28th"),
    ]


def _names() -> list[pl.Expr]:
    first = _fold(pl.col("first_names").str.split(" ").list.first())
    return [
        _freq("first_names"),
        _bucket(pl.len().over(first)).alias("first given name"),
        _freq("birth_name"),
        (pl.col("first_names").str.len_chars() // 3).cast(pl.Utf8).alias("first length"),
        (pl.col("birth_name").str.len_chars() // 3).cast(pl.Utf8).alias("last length"),
        (first == _fold(pl.col("birth_name"))).cast(pl.Utf8).alias("first is last"),
        pl.col("first_names").str.contains(" ").cast(pl.Utf8).alias("two first names"),
    ]


def _mail() -> list[pl.Expr]:
    mail = pl.col("email")
    named = mail.str.contains(_fold(pl.col("birth_name")), literal=True)
    return [
        (mail != "").cast(pl.Utf8).alias("has e-mail"),
        named.cast(pl.Utf8).alias("e-mail names"),
        mail.str.extract(r"@(.*)$").fill_null("").alias("domain"),
    ]


def _phone() -> list[pl.Expr]:
    national = _digits("phone").str.replace(r"^33", "0")
    return [
        national.str.slice(0, 2).alias("phone prefix"),
        pl.col("phone").str.replace_all(r"\d", "d").alias("phone shape"),
    ]


def _comment(col: str) -> list[pl.Expr]:
    filled = pl.col(col) != ""
    return [
        filled.cast(pl.Utf8).alias(f"has {col}"),
        pl.when(filled).then(_freq(col)).otherwise(pl.lit("-")),
    ]


FEATURES = (  # the fields they need, what they are
    ({"postcode", "city"}, _place),
    ({"birth_date"}, _birth),
    ({"first_names", "birth_name"}, _names),
    ({"email", "birth_name"}, _mail),
    ({"phone"}, _phone),
    ({"comment_p"}, lambda: _comment("comment_p")),
    ({"comment_d"}, lambda: _comment("comment_d")),
    ({"sex"}, lambda: [pl.col("sex")]),
    ({"blood_group"}, lambda: [pl.col("blood_group")]),
    ({"insurer_name"}, lambda: [pl.col("insurer_name")]),
    ({"used_name"}, lambda: [_freq("used_name"), (pl.col("used_name") != "").alias("used")]),
    ({"prescriber_name"}, lambda: [_freq("prescriber_name")]),
    ({"sampler_name"}, lambda: [_freq("sampler_name")]),
)


def features(package: pl.DataFrame) -> Features:
    """Per row of a package (columns named by field), each of `FEATURES` it has the fields
    for, as text, and the NIR's consistency."""
    cols = set(package.columns)
    exprs = [e for needed, make in FEATURES if needed <= cols for e in make()]
    frame = package.select(exprs).fill_null("?").cast(pl.Utf8)
    rows = [tuple(r) for r in frame.iter_rows()]
    if "nir" in cols:
        checks = _nir_checks(package)
        rows = [(*r, c) for r, c in zip(rows, checks, strict=True)]
    return rows


def _nir_checks(package: pl.DataFrame) -> list[str]:
    """Per row: a valid NIR key, and whether the NIR's year and sex digit agree with the
    row's (the sex digit each sex value mostly has)."""
    nir = package["nir"].str.replace_all(" ", "").to_list()
    years = package.select(_year("birth_date")).to_series().to_list()
    sexes = package["sex"].to_list()
    majority = {
        s: Counter(n[:1] for n, x in zip(nir, sexes, strict=True) if x == s).most_common(1)[0][0]
        for s in set(sexes)
    }
    return [
        f"{is_valid_nir(n)} {n[1:3] == f'{y % 100:02d}' if y else '?'} {n[:1] == majority[s]}"
        for n, y, s in zip(nir, years, sexes, strict=True)
    ]


def unusual(rows: Features) -> np.ndarray:
    """Score per row: how unlikely its values are under its own package's frequencies."""
    width = len(rows[0])
    counts = [Counter(r[i] for r in rows) for i in range(width)]
    n = len(rows)
    return np.array([-sum(math.log(counts[i][r[i]] / n) for i in range(width)) for r in rows])


@dataclass
class Tally:
    """Per feature, how often each value is seen in canaries and in real rows."""

    canary: list[Counter[str]]
    real: list[Counter[str]]

    @classmethod
    def of(cls, rows: Features, labels: Sequence[bool]) -> Tally:
        width = len(rows[0])
        tally = cls([Counter() for _ in range(width)], [Counter() for _ in range(width)])
        for r, is_canary in zip(rows, labels, strict=True):
            for i, v in enumerate(r):
                (tally.canary if is_canary else tally.real)[i][v] += 1
        return tally

    def __add__(self, other: Tally) -> Tally:
        return Tally(
            [a + b for a, b in zip(self.canary, other.canary, strict=True)],
            [a + b for a, b in zip(self.real, other.real, strict=True)],
        )

    def __sub__(self, other: Tally) -> Tally:
        return Tally(
            [a - b for a, b in zip(self.canary, other.canary, strict=True)],
            [a - b for a, b in zip(self.real, other.real, strict=True)],
        )


def naive_bayes(train: Tally, rows: Features) -> np.ndarray:
    """Score per row: the log-likelihood ratio canary/real of a naive Bayes trained on
    labelled packages (Laplace-smoothed per feature)."""
    scores = np.zeros(len(rows))
    for i, (canary, real) in enumerate(zip(train.canary, train.real, strict=True)):
        values = len(set(canary) | set(real)) + 1
        n_canary, n_real = sum(canary.values()), sum(real.values())
        for j, r in enumerate(rows):
            c = (canary[r[i]] + 1) / (n_canary + values)
            q = (real[r[i]] + 1) / (n_real + values)
            scores[j] += math.log(c / q)
    return scores


def percentiles(scores: np.ndarray, labels: Sequence[bool]) -> list[float]:
    """Each canary's mid-rank percentile among its package's rows (0.5 on average by
    chance; 1 when it has the highest score)."""
    n = len(scores)
    return [
        (float(np.sum(scores < s)) + 0.5 * float(np.sum(scores == s))) / n
        for s, is_canary in zip(scores, labels, strict=True)
        if is_canary
    ]
