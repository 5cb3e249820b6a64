"""Canary rows: a few invented patients, unique to one package, mixed into its rows.

Each looks like its neighbours: it borrows a real in-scope row's visit fields and every field
the scope tests (so it satisfies the instruction), takes an invented identity, contact,
insurer, prescriber, sampler and blood group from the synthetic generator, has empty free
text, and goes through the same transforms. Found in a leaked sample, one names the package
for certain. Their digests are kept with the package's, never in the manifest.
"""

from __future__ import annotations

import polars as pl

from ecluse.governance.dictionary import DICTIONARY, Category, Kind, map_headers
from ecluse.governance.scope import fields_of
from ecluse.policy import Engine
from ecluse.synth import synthesise

_BORROWED = {Category.VISIT}


def _fake_fields(count: int, seed: int) -> dict[str, pl.Series]:
    fake = synthesise(patients=count, labs=1, seed=seed)
    return {f: fake[h] for h, f in map_headers(fake.columns).mapped.items()}


def canary_rows(engine: Engine, batch: pl.DataFrame, *, count: int, seed: int) -> pl.DataFrame:
    """Up to `count` canaries governed like `batch`'s rows; none if nothing is in scope."""
    real = engine.in_scope(batch)
    if real.height == 0 or count <= 0:
        return engine.transform(real.head(0))
    base = real.sample(count, with_replacement=True, seed=seed % (1 << 32))
    fake = _fake_fields(count, seed)
    tested = fields_of(engine.rules.scope) if engine.rules.scope else set()
    field_of = {header: field for field, header in engine.columns.items()}
    columns: list[pl.Series] = []
    for header in batch.columns:
        field = field_of.get(header)
        spec = DICTIONARY.get(field) if field else None
        if spec is None or field in tested or spec.category in _BORROWED:
            columns.append(base[header])
        elif spec.kind == Kind.FREE_TEXT:
            columns.append(pl.Series(header, [""] * count, dtype=pl.Utf8))
        elif field in fake:
            columns.append(fake[field].alias(header))
        else:
            columns.append(base[header])
    return engine.transform(pl.DataFrame(columns))
