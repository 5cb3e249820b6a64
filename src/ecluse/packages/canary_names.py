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
        self._first: dict[str, Frequencies] = {}
        self._pools: dict[str, list[str]] = {}

    def first_names(self, sex: str) -> Frequencies:
        """First names of rows of `sex`, with their counts over the whole package."""
        if sex not in self._first:
            p, rows = self.p, self.by_sex.get(sex)
            table = p.table("first_names")
            if rows is not None and p.has("first_names"):
                seen = p.frame["first_names"].gather(rows).unique()
                table = table.filter(pl.col("k").is_in(seen.implode()))
            self._first[sex] = Frequencies(table, p.counts("first_names"))
        return self._first[sex]

    def names(self, sex: str, born: str) -> dict[str, str]:
        p, rows = self.p, self.by_sex.get(sex)
        names: dict[str, str] = {}
        for _ in range(TRIES):
            reference = p.at("first_names", p.row(rows))

            def new_first(ref: str = reference) -> str | None:
                return self._new_first(sex, ref)

            names = {
                "first_names": self.first_names(sex).draw(reference, self.rng, new_first),
                "birth_name": p.frequencies("birth_name").draw(
                    p.at("birth_name", p.row()), self.rng, self._new_surname
                ),
            }
            if self._is_new(names, born):
                break
        self.mine.add(self._who(names, born))
        used = p.frequencies("used_name").draw(p.at("used_name", p.row(rows)), self.rng)
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

    def _new_surname(self) -> str | None:
        p = self.p
        if "surname" not in self._pools:
            used = p.table("used_name")["k"].to_list() if p.has("used_name") else []
            style = p.style("birth_name")
            self._pools["surname"] = [u for u in used if u] + [style(s) for s in pools.SURNAMES]
        return p.first_free(self._pools["surname"], p.counts("birth_name"))

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
