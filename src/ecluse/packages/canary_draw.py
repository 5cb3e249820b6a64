"""Drawing canaries from a package's own distributions.

A canary is a new person of the laboratory's population, not a copy of a row: each of its
parts is drawn from the rows the package holds, independently of the others, so that its
sex, age, place (postcode and city together), name frequencies, contact shapes, insurer,
prescriber, sampler, blood group and comment shares are those of the package.

Names, places and other repeated values are drawn the Good-Turing way: a reference row is
picked, and the canary takes a value seen once less often than the reference's (one never
seen when the reference's is unique). Once the canary is added, its value is then exactly
as frequent as a random row's - had a canary copied a row's name, a name seen once would
be seen twice, and canaries would be the rows whose names are never unique.

Counting is done in Polars over the sample once per field; only the few values a canary
takes are handled in Python.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence

import numpy as np
import numpy.typing as npt
import polars as pl

Unseen = Callable[[], str | None]
Rows = npt.NDArray[np.int64]
SEP = "\x1f"  # joins the values of a group of fields into one key
COMMON = 8  # a value seen this often is drawn as it is (its frequency barely moves)
UPPER_SHARE = 0.5  # above this share of upper-case values, the package writes in capitals


def folded(text: pl.Expr) -> pl.Expr:
    """Lower case, no accents, no spaces, apostrophes or hyphens: how names are compared."""
    plain = text.str.normalize("NFKD").str.replace_all(r"\p{Mn}", "").str.to_lowercase()
    return plain.str.replace_all(r"[\s'\-]+", "")


def compacted(text: pl.Expr) -> pl.Expr:
    """Without spaces, dots or hyphens, in capitals: how unique values are compared."""
    for mark in (" ", ".", "-"):
        text = text.str.replace_all(mark, "", literal=True)
    return text.str.to_uppercase()


def fold_all(values: Sequence[str]) -> list[str]:
    frame = pl.DataFrame({"v": list(values)}, schema={"v": pl.Utf8})
    return frame.select(folded(pl.col("v"))).to_series().to_list()


class Frequencies:
    """A column's non-empty values by how often the package has them."""

    def __init__(self, table: pl.DataFrame, counts: Mapping[str, int]) -> None:
        """`table`: candidate values `k` with their `count` in the package."""
        self.counts = counts
        by = table.filter(pl.col("k") != "").group_by("count").agg(pl.col("k").sort())
        self._by = dict(zip(by["count"].to_list(), by["k"].to_list(), strict=True))
        self._classes = np.array(sorted(self._by), dtype=np.int64)
        self._values = {v for values in self._by.values() for v in values}

    def __bool__(self) -> bool:
        return bool(self._classes.size)

    def draw(self, reference: str, rng: np.random.Generator, unseen: Unseen | None = None) -> str:
        """A value as frequent, once the canary has it, as `reference` is now: one seen
        k - 1 times for a reference seen k times (the nearest count there is), one from
        `unseen` for a reference seen once, the reference itself when it is common. Empty
        for an empty reference."""
        if not reference:
            return ""
        target = self.counts.get(reference, 1) - 1
        if target >= COMMON and reference in self._values:  # one more changes nothing
            return reference
        if (target == 0 or not self._classes.size) and unseen is not None:
            new = unseen()
            if new is not None:
                return new
        if not self._classes.size:
            return ""
        nearest = self._classes[np.argmin(np.abs(self._classes - max(target, 1)))]
        values: list[str] = self._by[int(nearest)]
        return values[int(rng.integers(len(values)))]


class Package:
    """The package's rows (a sample of them) by field, as source text, and one generator
    for every draw."""

    def __init__(self, frame: pl.DataFrame, rng: np.random.Generator) -> None:
        self.frame, self.rng, self.height = frame, rng, frame.height
        self.columns = set(frame.columns)
        self._tables: dict[str, pl.DataFrame] = {}
        self._counts: dict[str, dict[str, int]] = {}
        self._frequencies: dict[str, Frequencies] = {}
        self._styles: dict[str, Callable[[str], str]] = {}

    def has(self, field: str) -> bool:
        return field in self.columns

    def row(self, among: Rows | None = None) -> int:
        if among is not None and among.size:
            return int(among[int(self.rng.integers(among.size))])
        return int(self.rng.integers(self.height))

    def at(self, field: str, row: int) -> str:
        return str(self.frame[field][row]) if field in self.columns else ""

    def key(self, fields: Sequence[str], row: int) -> str:
        return SEP.join(self.at(f, row) for f in fields)

    def _key(self, fields: Sequence[str]) -> pl.Expr:
        return pl.concat_str([pl.col(f) for f in fields], separator=SEP).alias("k")

    def table(self, *fields: str) -> pl.DataFrame:
        """Each value (of fields put together) with its count: columns `k`, `count`."""
        name = SEP.join(fields)
        if not all(self.has(f) for f in fields):
            return pl.DataFrame(schema={"k": pl.Utf8, "count": pl.UInt32})
        if name not in self._tables:
            keys = self.frame.select(self._key(fields)).to_series()
            self._tables[name] = keys.value_counts(name="count").sort("k")
        return self._tables[name]

    def counts(self, *fields: str) -> dict[str, int]:
        name = SEP.join(fields)
        if name not in self._counts:
            table = self.table(*fields)
            self._counts[name] = dict(zip(table["k"].to_list(), table["count"], strict=True))
        return self._counts[name]

    def frequencies(self, *fields: str) -> Frequencies:
        name = SEP.join(fields)
        if name not in self._frequencies:
            self._frequencies[name] = Frequencies(self.table(*fields), self.counts(*fields))
        return self._frequencies[name]

    def rows_where(self, field: str, value: str, *, negate: bool = False) -> Rows:
        """The rows whose `field` is `value` (is not, with `negate`)."""
        if field not in self.columns:
            return np.zeros(0, dtype=np.int64)
        same = self.frame[field] == value
        return (~same if negate else same).arg_true().to_numpy().astype(np.int64)

    def is_new(self, fields: Sequence[str], value: str) -> bool:
        """No row has `value` (as written) in any of `fields`."""
        return not any(f in self.columns and (self.frame[f] == value).any() for f in fields)

    def is_new_row(self, values: Mapping[str, str]) -> bool:
        """No row has all these `values` (as written)."""
        same = [pl.col(f) == v for f, v in values.items()]
        if not same or not all(self.has(f) for f in values):
            return True
        return not self.frame.select(pl.all_horizontal(same).any()).item()

    def values(self, field: str, transform: Callable[[pl.Expr], pl.Expr]) -> set[str]:
        """`field`'s non-empty values, transformed, as a set."""
        if field not in self.columns:
            return set()
        column = self.frame.select(transform(pl.col(field))).to_series()
        return set(column.filter(column != "").unique().to_list())

    def group(
        self, fields: Sequence[str], unseen: Callable[[str], str | None] | None = None
    ) -> dict[str, str]:
        """Fields that go together (postcode and city, an insurer's name and number), drawn
        as one value the Good-Turing way; `unseen` makes one the package lacks from the
        reference (the fields' values joined by `SEP`)."""
        present = [f for f in fields if self.has(f)]
        if not present:
            return {}
        reference = self.key(present, self.row())
        if not reference.replace(SEP, ""):
            return dict.fromkeys(present, "")
        new = (lambda: unseen(reference)) if unseen is not None else None
        drawn = self.frequencies(*present).draw(reference, self.rng, new)
        return dict(zip(present, drawn.split(SEP), strict=True))

    def recombined(self, field: str, reference: str) -> str | None:
        """A value `field` lacks, its words each from a value with as many words as
        `reference`, position by position (a title, a surname, a first name)."""
        words = reference.split(" ")
        if not self.has(field):
            return None
        table = self.table(field)
        alike = table.filter(pl.col("k").str.count_matches(" ") == len(words) - 1)["k"]
        counts = self.counts(field)
        for _ in range(8 * len(words)):
            picks = alike.sample(
                len(words), with_replacement=True, seed=int(self.rng.integers(1 << 31))
            )
            made = " ".join(v.split(" ")[i] for i, v in enumerate(picks.to_list()))
            if made not in counts:
                return made
        return None

    def first_free(self, candidates: Sequence[str], taken: Collection[str]) -> str | None:
        """One of `candidates`, at random, that `taken` (the package's values) lacks."""
        for i in self.rng.permutation(len(candidates)).tolist():
            candidate: str = candidates[i]
            if candidate and candidate not in taken:
                return candidate
        return None

    def style(self, field: str) -> Callable[[str], str]:
        """How the package writes `field`: capitals or not, accents or not; applied to a
        word from elsewhere so that it reads like the column's own."""
        if field not in self._styles:
            self._styles[field] = _style(self.frame[field] if field in self.columns else None)
        return self._styles[field]


def _style(column: pl.Series | None) -> Callable[[str], str]:
    upper, accents = False, True
    if column is not None:
        filled = column.filter(column != "")
        shares = filled.len() and (filled == filled.str.to_uppercase()).mean()
        upper = bool(shares and float(shares) > UPPER_SHARE)  # type: ignore[arg-type]
        accents = bool(filled.str.contains(r"[^\x00-\x7F]").any())

    def style(word: str) -> str:
        if not accents:
            word = pl.select(
                pl.lit(word).str.normalize("NFKD").str.replace_all(r"\p{Mn}", "")
            ).item()
        return word.upper() if upper else word

    return style
