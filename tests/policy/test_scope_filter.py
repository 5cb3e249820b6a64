"""Scopes applied to a synthetic export: the incident's instruction A, on real shapes."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl
import pytest

from ecluse.errors import ValidationError
from ecluse.governance import map_headers
from ecluse.governance.scope import parse_scope
from ecluse.policy import scope_filter
from ecluse.policy.scope import as_date
from ecluse.synth import synthesise


@pytest.fixture(scope="module")
def export() -> pl.DataFrame:
    return synthesise(patients=20_000, labs=28, seed=3)


@pytest.fixture(scope="module")
def columns(export: pl.DataFrame) -> dict[str, str]:
    return {f: h for h, f in map_headers(export.columns).mapped.items()}


def test_patients_seen_since_7_may_2017_in_one_lab(
    export: pl.DataFrame, columns: dict[str, str]
) -> None:
    scope = parse_scope("last_visit >= '2017-05-07' and laboratory = 'LBM 03 LYON'")
    kept = export.filter(scope_filter(scope, columns))
    expected = [
        r
        for r in export.iter_rows(named=True)
        if datetime.strptime(r["DATE_DERNIERE_VISITE"], "%d/%m/%Y").date() >= date(2017, 5, 7)
        and r["LABORATOIRE"] == "LBM 03 LYON"
    ]
    assert kept.height == len(expected) > 0
    assert kept["NIR"].to_list() == [r["NIR"] for r in expected]


def test_in_not_in_and_not(export: pl.DataFrame, columns: dict[str, str]) -> None:
    labs = ("LBM 01 PARIS", "LBM 02 MARSEILLE")
    inside = export.filter(
        scope_filter(parse_scope(f"laboratory in {labs!r}".replace('"', "'")), columns)
    )
    outside = export.filter(
        scope_filter(parse_scope("laboratory not in ('LBM 01 PARIS', 'LBM 02 MARSEILLE')"), columns)
    )
    negated = export.filter(
        scope_filter(
            parse_scope("not (laboratory in ('LBM 01 PARIS', 'LBM 02 MARSEILLE'))"), columns
        )
    )
    assert inside.height + outside.height == export.height
    assert outside.equals(negated)
    assert set(inside["LABORATOIRE"].unique()) == set(labs)


def test_unparseable_dates_are_out_of_scope() -> None:
    frame = pl.DataFrame({"DATE_DERNIERE_VISITE": ["07/05/2017", "2017-05-08", "bientôt", ""]})
    cols = {"last_visit": "DATE_DERNIERE_VISITE"}
    for text in ("last_visit >= '2017-05-07'", "not (last_visit < '2017-05-07')"):
        kept = frame.filter(scope_filter(parse_scope(text), cols))
        assert kept["DATE_DERNIERE_VISITE"].to_list() == ["07/05/2017", "2017-05-08"]


def test_dates_in_either_format_side_by_side() -> None:
    """Each value parses in whichever accepted format it has, whatever its neighbours use."""
    text = [" 2017-05-08 ", "07/05/2017", None, "", "31/02/2017", "7/5/2017", "2017-5-9", "soon"]
    parsed = pl.select(as_date(pl.lit(pl.Series(text, dtype=pl.Utf8)))).to_series().to_list()
    assert parsed == [
        date(2017, 5, 8), date(2017, 5, 7), None, None, None, date(2017, 5, 7),
        date(2017, 5, 9), None,
    ]  # fmt: skip
    only_iso = pl.select(as_date(pl.lit(pl.Series(["2020-01-31", "2020-02-30"]))))
    assert only_iso.to_series().to_list() == [date(2020, 1, 31), None]


def test_refusals(columns: dict[str, str]) -> None:
    with pytest.raises(ValidationError, match="does not carry"):
        scope_filter(parse_scope("exam_date >= '2020-01-01'"), {"sex": "SEXE"})
    with pytest.raises(ValidationError, match="not a date"):
        scope_filter(parse_scope("last_visit >= 'yesterday'"), columns)
