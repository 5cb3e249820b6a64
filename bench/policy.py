"""Policy engine on 5,000,000 synthetic rows, in batches of 500,000: rows/s and peak memory,
beside a plain Polars filter and column selection of the same batches, in this run.

    python -m bench.policy [--rows 5000000]
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from collections.abc import Iterator

import polars as pl

from bench.common import closing_line
from ecluse.governance.scope import parse_scope
from ecluse.policy import Engine, FieldRule, Rules, Transform
from ecluse.synth import synthesise

BATCH = 500_000
T = Transform
FIELDS = (
    FieldRule("nir", T.PSEUDONYMISE),
    FieldRule("birth_name", T.KEEP),
    FieldRule("first_names", T.KEEP),
    FieldRule("birth_date", T.YEAR),
    FieldRule("postcode", T.DEPARTMENT),
    FieldRule("last_visit", T.KEEP),
    FieldRule("comment_p", T.KEEP),
)


def batches(rows: int) -> Iterator[pl.DataFrame]:
    for i in range(rows // BATCH):
        yield synthesise(patients=BATCH, labs=28, seed=100 + i)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5_000_000)
    rows = parser.parse_args().rows
    scope = parse_scope("last_visit >= '2017-05-07'")
    rules = Rules(
        fields=FIELDS, expected_rows=rows, tolerance=0.0, pseudonym_key=os.urandom(32), scope=scope
    )
    engine_s = plain_s = 0.0
    engine: Engine | None = None
    for batch in batches(rows):
        engine = engine or Engine(rules, headers=batch.columns)
        t0 = time.perf_counter()
        engine.apply(batch)
        t1 = time.perf_counter()
        batch.filter(
            pl.col("DATE_DERNIERE_VISITE").str.strptime(pl.Date, "%d/%m/%Y") >= pl.date(2017, 5, 7)
        ).select(
            "NIR",
            "NOM_NAISSANCE",
            "PRENOMS",
            "DATE_NAISSANCE",
            "CODE_POSTAL",
            "DATE_DERNIERE_VISITE",
            "COMMENTAIRE_P",
        )
        plain_s += time.perf_counter() - t1
        engine_s += t1 - t0
    if engine is None:
        raise SystemExit("no rows: --rows must be at least one batch")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1000
    f = engine.findings
    print(
        f"{f.rows_read:,} rows in batches of {BATCH:,}: engine {engine_s:.1f} s "
        f"({f.rows_read / engine_s:,.0f} rows/s), {f.rows_in_scope:,} in scope; "
        f"plain Polars filter+select {plain_s:.1f} s ({f.rows_read / plain_s:,.0f} rows/s)"
    )
    print(f"peak RSS of the whole process (generation included): {rss:,.0f} MB")
    closing_line(
        name="policy.engine_rows",
        value=f.rows_read / engine_s,
        unit="rows/s",
        baseline=f.rows_read / plain_s,
    )


if __name__ == "__main__":
    main()
