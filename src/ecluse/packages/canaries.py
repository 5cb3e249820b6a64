"""Canary rows: a few invented patients, unique to one package, mixed into its rows.

Each borrows a real in-scope row's visit fields and every field the scope tests (so it
satisfies the instruction); everything else is drawn from the package's own rows (see
`canary_invent`): a recipient who studies the package finds nothing that sets the canaries
apart. They go through the same transforms. Found in a leaked sample, one names the package
for certain. Their digests are kept with the package's, never in the manifest.
"""

from __future__ import annotations

import secrets

import numpy as np
import polars as pl

from ecluse.governance.dictionary import DICTIONARY, Category
from ecluse.governance.scope import fields_of
from ecluse.packages.canary_draw import Package
from ecluse.packages.canary_invent import Inventor
from ecluse.policy import Engine

_BORROWED = {Category.VISIT, Category.CREDENTIAL}  # credentials never travel anyway
SAMPLE = 20_000  # in-scope rows of the first batch the canaries are drawn from


class Canaries:
    """One package's canaries, drawn from the first batch with rows in scope and governed
    like it. `seed`: a fixed one for tests; a secret random one otherwise."""

    def __init__(self, count: int, *, seed: int | None = None) -> None:
        self.count = max(count, 0)
        self._seed = secrets.randbits(63) if seed is None else seed

    def rows(self, engine: Engine, batch: pl.DataFrame) -> pl.DataFrame:
        """The canaries governed like `batch`'s rows; none if nothing in it is in scope."""
        real = engine.in_scope(batch).head(SAMPLE)
        if real.height == 0 or self.count == 0:
            return engine.transform(real.head(0))
        rng = np.random.default_rng(self._seed)
        field_of = {header: field for field, header in engine.columns.items()}
        text = real.select(
            pl.col(h).cast(pl.Utf8).fill_null("").str.strip_chars().alias(f)
            for h, f in field_of.items()
            if h in real.columns
        )
        package = Package(text, rng)
        tested = fields_of(engine.rules.scope) if engine.rules.scope else set()
        fixed = tested | {f for f in package.columns if DICTIONARY[f].category in _BORROWED}
        bases = rng.integers(real.height, size=self.count)
        inventor = Inventor(package, fixed)
        people = [inventor.person(int(b)) for b in bases]
        base = real[bases.tolist()]
        columns = [
            pl.Series(h, [person[field_of[h]] for person in people], dtype=pl.Utf8)
            if h in field_of and field_of[h] in people[0]
            else base[h]
            for h in batch.columns
        ]
        return engine.transform(pl.DataFrame(columns))


def mix(rows: pl.DataFrame, canaries: pl.DataFrame) -> pl.DataFrame:
    """`rows` with each canary at a random place (slices put together: nothing is copied)."""
    places = sorted(secrets.randbelow(rows.height + 1) for _ in range(canaries.height))
    parts, start = [], 0
    for i, at in enumerate(places):
        parts += [rows.slice(start, at - start), canaries.slice(i, 1)]
        start = at
    return pl.concat([*parts, rows.slice(start)], rechunk=False)
