"""The synthetic export: consistent identities, the leaked file's shape, determinism."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from ecluse.synth import HEADERS, is_valid_nir, pools, synthesise, write_export

N = 20_000


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    return synthesise(patients=N, labs=28, seed=11)


NIR_CASES = [
    ("1 84 12 76 451 089 46", True),
    ("184127645108917", False),  # wrong key
    ("255082A00100187", True),  # Corsica 2A counts as 19
    ("255082B00100117", True),  # 2B counts as 18
    ("255082B00100187", False),
    ("155089735401240", True),  # overseas: 974 + commune 01
    ("1550897354012", False),  # too short
    ("355089735401237", True),
    ("2550899350001xx", False),
    ("955089735401240", False),  # no such first digit
]


@pytest.mark.parametrize(("nir", "valid"), NIR_CASES)
def test_nir_key(nir: str, valid: bool) -> None:
    assert is_valid_nir(nir) is valid


def test_identities_are_consistent(frame: pl.DataFrame) -> None:
    assert frame.columns == list(HEADERS) and frame.height == N
    rows = frame.select("NIR", "SEXE", "DATE_NAISSANCE", "LIEU_NAISSANCE").rows()
    for nir, sex, birth, place in rows:
        assert is_valid_nir(nir), nir
        assert nir[0] == ("1" if sex == "M" else "2")
        assert nir[1:3] == birth[-2:] and nir[3:5] == birth[3:5]
        assert nir[5:10] == place


def test_birth_places_cover_corsica_overseas_and_abroad(frame: pl.DataFrame) -> None:
    places = frame["LIEU_NAISSANCE"]
    for prefix in ("2A", "2B", "971", "974", "976", "99"):
        assert places.str.starts_with(prefix).sum() > 0, prefix
    assert not places.str.starts_with("20").any()


def test_ins_is_the_nir_when_qualified(frame: pl.DataFrame) -> None:
    ins = frame.filter(pl.col("INS") != "")
    assert (ins["INS"] == ins["NIR"]).all()
    assert 0.95 < ins.height / N < 0.99


def test_comments_carry_what_leaked(frame: pl.DataFrame) -> None:
    comments = pl.concat([frame["COMMENTAIRE_P"], frame["COMMENTAIRE_D"]])
    filled = comments.filter(comments != "")
    assert 0.25 < (frame["COMMENTAIRE_P"] != "").mean() < 0.45  # type: ignore[operator]
    health = filled.is_in(list(pools.PATHOLOGY))
    assert 0.45 < health.mean() < 0.65  # type: ignore[operator]
    for term in ("VIH", "HIV", "CANCER", "GROSSESSE", "MUCOVISCIDOSE"):
        assert filled.str.contains(term).any(), term
    nirs = [m for t in filled.to_list() for m in re.findall(r"\b[12]\d{14}\b", t)]
    assert nirs and all(is_valid_nir(n) for n in nirs)
    assert filled.str.contains("mdp portail").sum() > 0
    assert filled.str.contains(r"0[16]( \d\d){4}").sum() > 0


def test_credentials_and_blood_groups(frame: pl.DataFrame) -> None:
    assert frame["LOGIN_PORTAIL"].str.contains(r"^[a-z\-]+\.[a-z\-]+\d{3}$").all()
    assert (frame["MDP_PORTAIL"].str.len_chars() == 10).all()
    groups = frame["GROUPE_SANGUIN"].value_counts(normalize=True)
    share = dict(zip(groups["GROUPE_SANGUIN"], groups["proportion"], strict=True))
    assert 0.33 < share["O+"] < 0.39 and 0.34 < share["A+"] < 0.40


def test_same_seed_same_data() -> None:
    a = synthesise(patients=2000, labs=3, seed=5)
    assert a.equals(synthesise(patients=2000, labs=3, seed=5))
    assert not a.equals(synthesise(patients=2000, labs=3, seed=6))
    assert a["LABORATOIRE"].n_unique() == 3


def test_latin1_export() -> None:
    buf = io.BytesIO()
    write_export(synthesise(patients=500, labs=2, seed=1), buf, encoding="latin-1")
    text = buf.getvalue().decode("latin-1")
    assert text.splitlines()[0] == ";".join(HEADERS)
    assert "é".encode() not in buf.getvalue()


def test_cli_writes_and_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "export.csv"
    cmd = [
        sys.executable,
        "-m",
        "ecluse",
        "synth",
        "--patients",
        "300",
        "--labs",
        "2",
        "--seed",
        "3",
        "-o",
        str(out),
    ]
    assert subprocess.run(cmd, capture_output=True, check=False).returncode == 0
    frame = pl.read_csv(out, separator=";", infer_schema=False)
    assert frame.height == 300 and frame.columns == list(HEADERS)
    again = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert again.returncode != 0 and "refusing to overwrite" in again.stderr
