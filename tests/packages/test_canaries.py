"""Canaries are mixed in among the rows: every row kept in its order, each canary once."""

from __future__ import annotations

import polars as pl

from ecluse.packages.canaries import mix


def test_mixing_keeps_the_rows_in_order_and_adds_each_canary_once() -> None:
    rows = pl.DataFrame({"v": [f"r{i}" for i in range(1000)]})
    canaries = pl.DataFrame({"v": ["c0", "c1", "c2"]})
    starts = set()
    for _ in range(20):
        mixed = mix(rows, canaries)["v"].to_list()
        assert [v for v in mixed if v.startswith("r")] == rows["v"].to_list()
        assert sorted(v for v in mixed if v.startswith("c")) == ["c0", "c1", "c2"]
        starts.add(mixed.index("c0"))
    assert len(starts) > 1  # random places, not a fixed one
    assert mix(rows.head(0), canaries)["v"].to_list() == ["c0", "c1", "c2"]
