"""Canary rows: a few invented patients, unique to one package, mixed into its rows.

Each looks like its neighbours: it borrows a real in-scope row's visit fields and every field
the scope tests (so it satisfies the instruction), takes an invented identity, contact,
insurer, prescriber, sampler and blood group from the synthetic generator, has empty free
text, and goes through the same transforms. Found in a leaked sample, one names the package
for certain. Their digests are kept with the package's, never in the manifest.
"""

from __future__ import annotations

import secrets
from concurrent.futures import Future, ThreadPoolExecutor

import polars as pl

from ecluse.governance.dictionary import DICTIONARY, Category, Kind, map_headers
from ecluse.governance.scope import fields_of
from ecluse.policy import Engine
from ecluse.synth import synthesise

_BORROWED = {Category.VISIT}
# inventing takes tens of milliseconds of Python: done beside the reading, not after it
_INVENTING = ThreadPoolExecutor(max_workers=1, thread_name_prefix="canaries")


def _fake_fields(count: int, seed: int) -> dict[str, pl.Series]:
    fake = synthesise(patients=count, labs=1, seed=seed)
    return {f: fake[h] for h, f in map_headers(fake.columns).mapped.items()}


class Canaries:
    """One package's canaries: invented in the background from the start, then governed
    like the first batch with rows in scope."""

    def __init__(self, count: int) -> None:
        self.count, self._seed = max(count, 0), secrets.randbits(63)
        self._fake: Future[dict[str, pl.Series]] | None = None
        if self.count:
            self._fake = _INVENTING.submit(_fake_fields, self.count, self._seed)

    def rows(self, engine: Engine, batch: pl.DataFrame) -> pl.DataFrame:
        """The canaries governed like `batch`'s rows; none if nothing in it is in scope."""
        real = engine.in_scope(batch)
        if real.height == 0 or self._fake is None:
            return engine.transform(real.head(0))
        base = real.sample(self.count, with_replacement=True, seed=self._seed % (1 << 32))
        fake = self._fake.result()
        tested = fields_of(engine.rules.scope) if engine.rules.scope else set()
        field_of = {header: field for field, header in engine.columns.items()}
        columns: list[pl.Series] = []
        for header in batch.columns:
            field = field_of.get(header)
            spec = DICTIONARY.get(field) if field else None
            if spec is None or field in tested or spec.category in _BORROWED:
                columns.append(base[header])
            elif spec.kind == Kind.FREE_TEXT:
                columns.append(pl.Series(header, [""] * self.count, dtype=pl.Utf8))
            elif field in fake:
                columns.append(fake[field].alias(header))
            else:
                columns.append(base[header])
        return engine.transform(pl.DataFrame(columns))


def mix(rows: pl.DataFrame, canaries: pl.DataFrame) -> pl.DataFrame:
    """`rows` with each canary at a random place (slices put together: nothing is copied)."""
    places = sorted(secrets.randbelow(rows.height + 1) for _ in range(canaries.height))
    parts, start = [], 0
    for i, at in enumerate(places):
        parts += [rows.slice(start, at - start), canaries.slice(i, 1)]
        start = at
    return pl.concat([*parts, rows.slice(start)], rechunk=False)
