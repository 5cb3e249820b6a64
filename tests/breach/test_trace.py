"""`ecluse trace`: a leaked sample names the package it came from, by keyed row digests and
canary rows, and alerts its controller; nothing of the sample is kept."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

import polars as pl
from sqlalchemy import select

from ecluse.crypto.envelope import package_trace_aad
from ecluse.crypto.interfaces import WrappedKey
from ecluse.db.models import Alert, Package
from ecluse.instance.platform import Platform
from ecluse.services import delivery
from ecluse.services.breach import read_sample, trace
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
    assert package_id in result.stdout and "5/5" in result.stdout and "100 %" in result.stdout


TRACED_FIELDS = [
    {"field": "nir", "transform": "keep"},
    {"field": "birth_name", "transform": "keep"},
    {"field": "first_names", "transform": "keep"},
    {"field": "sex", "transform": "keep"},
    {"field": "birth_date", "transform": "year"},
    {"field": "phone", "transform": "keep"},
    {"field": "city", "transform": "keep"},
    {"field": "last_visit", "transform": "keep"},
    {"field": "blood_group", "transform": "keep"},
]


def test_a_leak_of_a_few_columns_retyped_and_repeated_is_traced(
    migration: Migration, identity: Identity, tmp_path: Path, platform: Platform
) -> None:
    """NIR, names, birth year, phone and city only (no sex, no blood group), names in capitals
    with doubled spaces, five lines twice: every line counts, every field agrees."""
    iid = migration.instruct(expected_rows=migration.export.frame.height, fields=TRACED_FIELDS)
    outcome = migration.run("olga", iid)
    cipher = b"".join(delivery.download(platform, migration.parties["rita"], outcome.package_id))
    rows = pl.read_csv(age_decrypt(cipher, identity).stdout, separator=";", infer_schema=False)
    held = ["nir", "birth_name", "first_names", "birth_date", "phone", "city"]
    lines = rows.sample(30, seed=4).select(held)
    lines = lines.with_columns(
        pl.col("birth_name", "first_names").str.to_uppercase().str.replace_all(" ", "  "),
        pl.col("city").str.to_lowercase(),
    )
    leaked = tmp_path / "leak.csv"
    pl.concat([lines, lines.head(5)]).write_csv(leaked, separator=";")
    [match] = trace(platform, read_sample(leaked), actor="local:test")
    assert (match.package_id, match.rows_matched, match.score) == (outcome.package_id, 35, 100)
    assert match.fields == dict.fromkeys(held, 35)
    with platform.db.transaction() as s:
        alert = s.execute(select(Alert).where(Alert.kind == "breach:leak-traced")).scalar_one()
        details = json.loads(alert.details)
    assert (details["score_percent"], details["fields_matched"]) == (100, sorted(held))


def _as_first_format(platform: Platform, package_id: str, rows: pl.DataFrame) -> None:
    """Make a package look as packages made before per-field digests do: 16 bytes a row over
    its identity fields joined (an independent HMAC), the manifest without a format."""
    with platform.db.transaction() as s:
        package = s.get(Package, package_id)
        assert package is not None and package.wrapped_trace_key is not None
        key = platform.keys.unwrap(
            WrappedKey(package.kek_version, package.wrapped_trace_key),
            aad=package_trace_aad(package.id),
        )
    fields = ["nir", "birth_name", "first_names", "sex", "birth_date"]
    joined = ("\x1e".join(v.strip() for v in r).lower() for r in rows.select(fields).iter_rows())
    mac = key.hex().encode()
    old = b"".join(hmac.new(mac, j.encode(), hashlib.sha256).digest()[:16] for j in joined)
    writer = platform.store.writer(kind="row-digests", tag="test")
    writer.write(old)
    writer.finish()
    with platform.db.transaction() as s:
        blob = writer.commit(s)
        package = s.get(Package, package_id)
        assert package is not None
        manifest = json.loads(package.manifest)
        manifest["row_digests"] = {"algorithm": "HMAC-SHA256, first 16 bytes", "fields": fields}
        package.manifest, package.digests_id, package.canaries = json.dumps(manifest), blob.id, b""


def test_packages_of_the_first_format_are_still_traced_line_by_line(
    migration: Migration, identity: Identity, tmp_path: Path, platform: Platform
) -> None:
    package_id, rows = _opened(migration, identity)
    _as_first_format(platform, package_id, rows)
    leaked = tmp_path / "leak.csv"
    lines = rows.sample(20, seed=2)
    pl.concat([lines, lines.head(3)]).write_csv(leaked, separator=";")
    [match] = trace(platform, read_sample(leaked), actor="local:test")
    assert (match.package_id, match.rows_matched, match.score) == (package_id, 23, 100)
    partial = tmp_path / "partial.csv"
    lines.drop("sex").write_csv(partial, separator=";")
    assert trace(platform, read_sample(partial), actor="local:test") == []  # v1 needs them all
