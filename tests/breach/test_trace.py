"""`ecluse trace`: a leaked sample names the package it came from, by keyed row digests and
canary rows, and alerts its controller; nothing of the sample is kept."""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl
from sqlalchemy import select

from ecluse.breach import read_sample, trace
from ecluse.db.models import Alert
from ecluse.packages import delivery
from ecluse.platform import Platform
from tests.age_tools import Identity, age_decrypt
from tests.cli.helpers import ecluse
from tests.packages.conftest import (
    Migration,
    agreement,
    export,
    identity,
    migration,
    parties,
)

__all__ = ["agreement", "export", "identity", "migration", "parties"]


def _opened(migration: Migration, identity: Identity) -> tuple[str, pl.DataFrame]:
    """A package, and its rows as the recipient opens them."""
    iid = migration.instruct(expected_rows=migration.export.frame.height)
    outcome = migration.run("olga", iid)
    platform = migration.platform
    cipher = b"".join(delivery.download(platform, migration.parties["rita"], outcome.package_id))
    plain = age_decrypt(cipher, identity).stdout
    return outcome.package_id, pl.read_csv(plain, separator=";", infer_schema=False)


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


def test_lines_from_a_package_name_it_and_alert_its_controller(
    migration: Migration, identity: Identity, tmp_path: Path
) -> None:
    platform = migration.platform
    package_id, rows = _opened(migration, identity)
    leaked = tmp_path / "leak.csv"
    rows.sample(56, seed=7).write_csv(leaked, separator=";")
    store_before = _files(platform.settings.store_dir)
    [match] = trace(platform, read_sample(leaked), actor="local:test")
    assert _files(platform.settings.store_dir) == store_before  # nothing of the sample kept
    assert (match.package_id, match.rows_matched) == (package_id, 56)
    with platform.db.transaction() as s:
        alert = s.execute(select(Alert).where(Alert.kind == "breach:leak-traced")).scalar_one()
        assert alert.organisation_id == match.controller_id
        assert json.loads(alert.details)["rows_matched"] == 56


def test_a_canary_line_is_certain_and_unrelated_lines_match_nothing(
    migration: Migration, identity: Identity, tmp_path: Path, platform: Platform
) -> None:
    _, rows = _opened(migration, identity)
    other = migration.export.frame.head(30).select(pl.all().cast(pl.Utf8))  # raw, never packaged
    unrelated = tmp_path / "unrelated.csv"
    other.write_csv(unrelated, separator=";")
    assert trace(platform, read_sample(unrelated), actor="local:test") == []
    whole = tmp_path / "whole.csv"
    rows.write_csv(whole, separator=";")
    [match] = trace(platform, read_sample(whole), actor="local:test")
    assert match.canaries_matched == platform.settings.canary_rows  # every canary found


def test_the_cli_reads_lines_without_a_header(
    migration: Migration, identity: Identity, tmp_path: Path
) -> None:
    package_id, rows = _opened(migration, identity)
    leaked = tmp_path / "lines.csv"
    leaked.write_text(rows.head(5).write_csv(separator=";", include_header=False))
    settings = migration.platform.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECLUSE_")}
    env |= {"ECLUSE_HOME": str(settings.home), "COLUMNS": "300"}
    if settings.database_url:
        env["ECLUSE_DATABASE_URL"] = settings.database_url
    result = ecluse("trace", str(leaked), "--columns", ",".join(rows.columns), env=env)
    assert result.returncode == 0, result.stderr
    assert package_id in result.stdout and "5/5" in result.stdout
