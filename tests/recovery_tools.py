"""Helpers for the tests that kill processes for real: a synthetic export written by `ecluse
synth`, waiting for a run to be under way, and a search of the disk for anything in clear."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select

from ecluse.db.models import Extraction
from ecluse.instance.platform import Platform

PATIENTS = 60_000  # about 20 MB: an extraction of it lasts long enough to be cut short


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pl.DataFrame]:
    """`ecluse synth`'s export, and its first rows (for the markers of plaintext)."""
    path = tmp_path_factory.mktemp("synth") / "export.csv"
    synth = [sys.executable, "-m", "ecluse", "synth", "-o", str(path)]
    done = subprocess.run(
        [*synth, "--patients", str(PATIENTS), "--labs", "4", "--seed", "11"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return path, pl.read_csv(path, separator=";", infer_schema=False, n_rows=50)


def wait_for(what: str, condition: Callable[[], bool], *, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {seconds:g} s")
        time.sleep(0.005)


def running_runs(platform: Platform) -> list[Extraction]:
    with platform.db.transaction() as s:
        return list(s.execute(select(Extraction).where(Extraction.state == "running")).scalars())


def temporaries(platform: Platform) -> list[Path]:
    return list(platform.settings.store_dir.glob("*/.*.tmp"))


def plaintext_markers(rows: pl.DataFrame) -> list[bytes]:
    """Values no ciphertext holds by chance: the export's header, NIRs and names."""
    header = ";".join(rows.columns).encode()
    values = [v.encode() for col in ("NIR", "NOM_NAISSANCE") for v in rows[col][:20] if v]
    return [header[:60], *values]


def files_in_clear(roots: list[Path], markers: list[bytes]) -> list[str]:
    """Files under `roots` holding any of `markers` (a NIR, a name, the source's header)."""
    found = []
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                found += [f"{path.name}: {m[:8]!r}…" for m in markers if m in data]
    return found


def kill(pid: int) -> None:
    """kill -9: no handler runs, nothing is cleaned up by the process itself."""
    os.kill(pid, 9)
