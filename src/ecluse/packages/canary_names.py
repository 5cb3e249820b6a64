"""A canary's names: first names of its sex and a surname, each as frequent as a row's.

The first names come from one row's frequency class among rows of the canary's sex, the
surname from another row's; a name the package never had (for a reference seen once) is
two rows' given names put together, the package's own used names, or a name of the
synthetic pools written as the package writes its names. Never the (first names, surname,
birth date) of a real row, never a first name equal to the surname.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from ecluse.packages.canary_draw import SEP, Frequencies, Package, Rows, fold_all, folded
from ecluse.packages.canary_shapes import TRIES, fold
from ecluse.synth import pools

PERSON = ("first_names", "birth_name", "birth_date")


class Names:
    """Names for the canaries of one package."""

    def __init__(self, package: Package, by_sex: dict[str, Rows]) -> None:
        self.p, self.rng, self.by_sex = package, package.rng, by_sex
        self.mine: set[str] = set()  # the canaries' own (first names, surname, birth date)
        self._first: dict[tuple[str, bool], Frequencies] = {}
        self._pools: dict[str, list[str]] = {}

    def first_names(self, sex: str, several: bool) -> Frequencies:
        """First names of rows of `sex`, one given name or `several`, with their counts over
        the whole package: the share of rows with several is kept, whatever their counts."""
        if (sex, several) not in self._first:
            p, rows = self.p, self.by_sex.get(sex)
            table = p.table("first_names").filter(pl.col("k").str.contains(" ") == several)
            if rows is not None and p.has("first_names"):
                seen = p.frame["first_names"].gather(rows).unique()
                table = table.filter(pl.col("k").is_in(seen.implode()))
            self._first[sex, several] = Frequencies(table, p.counts("first_names"))
        return self._first[sex, several]

    def names(self, sex: str, born: str) -> dict[str, str]:
        p, rows = self.p, self.by_sex.get(sex)
        names: dict[str, str] = {}
        for _ in range(TRIES):
            first, last = p.at("first_names", p.row(rows)), p.at("birth_name", p.row())

            def new_first(ref: str = first) -> str | None:
                return self._new_first(sex, ref)

            def new_last(ref: str = last) -> str | None:
                return self._new_surname(ref, "birth_name")

            names = {
                "first_names": self.first_names(sex, " " in first).draw(first, self.rng, new_first),
                "birth_name": p.frequencies("birth_name").draw(last, self.rng, new_last),
            }
            if self._is_new(names, born):
                break
        self.mine.add(self._who(names, born))
        used = p.at("used_name", p.row(rows))
        used = p.frequencies("used_name").draw(
            used, self.rng, lambda: self._new_surname(used, "used_name")
        )
        if fold(used) == fold(names["birth_name"]):
            used = ""
        return {**names, "used_name": used}

    def _who(self, names: dict[str, str], born: str) -> str:
        return SEP.join(v.lower() for v in (names["first_names"], names["birth_name"], born))

    def _is_new(self, names: dict[str, str], born: str) -> bool:
        first = fold(names["first_names"].split(" ")[0])
        if first == fold(names["birth_name"]) or self._who(names, born) in self.mine:
            return False
        return self.p.is_new_row({**names, "birth_date": born})

    def _new_surname(self, reference: str, field: str) -> str | None:
        """A surname no row has in `field`, of about the length of `reference` (a name seen
        once): the package's other surnames (used names for a birth name, birth names for a
        used name) first, then the synthetic pool, written as the package writes names."""
        p = self.p
        if field not in self._pools:
            other = "used_name" if field == "birth_name" else "birth_name"
            theirs = p.table(other)["k"].to_list() if p.has(other) else []
            style = p.style("birth_name")
            self._pools[field] = [u for u in theirs if u] + [style(s) for s in pools.SURNAMES]
        counts = p.counts(field)
        free = [s for s in self._pools[field] if s not in counts]
        if not free:
            return None
        gap = min(abs(len(s) - len(reference)) for s in free)
        return p.first_free([s for s in free if abs(len(s) - len(reference)) <= gap + 1], counts)

    def _new_first(self, sex: str, reference: str) -> str | None:
        """Two rows' given names put together when `reference` has several, else a first
        name of the pool (male or female) that shares most names with rows of `sex`."""
        p, rows = self.p, self.by_sex.get(sex, np.zeros(0, dtype=np.int64))
        counts = p.counts("first_names")
        if " " in reference:
            given = p.frame["first_names"].gather(rows)
            many = rows[given.str.contains(" ").to_numpy()]
            for _ in range(TRIES):
                one = p.at("first_names", p.row(many)).split(" ")[0]
                two = p.at("first_names", p.row(many)).split(" ", 1)[-1]
                if f"{one} {two}" not in counts and fold(one) != fold(two):
                    return f"{one} {two}"
        return p.first_free(self._first_pool(sex, rows), counts)

    def _first_pool(self, sex: str, rows: Rows) -> list[str]:
        if sex not in self._pools:
            given = self.p.frame.select(folded(pl.col("first_names").str.split(" ").list.first()))
            words = set(given.to_series().gather(rows).to_list())
            pool = max(
                (pools.MALE, pools.FEMALE), key=lambda n: sum(w in words for w in fold_all(n))
            )
            self._pools[sex] = [self.p.style("first_names")(n) for n in pool]
        return self._pools[sex]
