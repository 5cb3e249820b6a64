"""A receipt can only come from someone who decrypted the package: nothing a recipient reads
without decrypting it (the listing, the manifest and its signature, the age file itself)
yields the value a receipt must present; the decrypted file does."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from ecluse.db.models import Alert, Package
from ecluse.errors import IntegrityError
from ecluse.server.api import routes_packages
from ecluse.services import delivery
from tests.age_tools import Identity, age_decrypt
from tests.packages.conftest import Migration, opened

HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


def _strings(value: Any) -> Iterator[str]:
    """Every string in a JSON tree, and in any JSON text inside it."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, str):
        yield value
        if value.startswith("{"):
            yield from _strings(json.loads(value))
    elif value is not None:
        yield str(value)


def _readable(migration: Migration, package_id: str) -> dict[str, Any]:
    """What the recipient gets before decrypting: listing, manifest route, the age file."""
    platform, rita = migration.platform, migration.parties["rita"]
    listing = [p.model_dump(mode="json") for p in routes_packages.list_packages(platform, rita)]
    manifest = routes_packages.manifest(package_id, platform, rita)
    ciphertext = b"".join(delivery.download(platform, rita, package_id))
    return {"listing": listing, "manifest": manifest, "ciphertext": ciphertext}


def _candidates(readable: dict[str, Any]) -> dict[str, str]:
    """Every 64-hex value shown, and the SHA-256 of every byte string handed out."""
    shown = {s for s in _strings([readable["listing"], readable["manifest"]]) if HEX64.match(s)}
    found = {f"shown {s[:8]}…": s for s in shown}
    manifest = readable["manifest"]
    for name, data in (
        ("sha256(age file)", readable["ciphertext"]),
        ("sha256(manifest)", manifest["manifest"].encode()),
        ("sha256(signature)", bytes.fromhex(manifest["signature"])),
    ):
        found[name] = hashlib.sha256(data).hexdigest()
    return found


def test_nothing_readable_without_decrypting_makes_a_receipt(
    migration: Migration, identity: Identity
) -> None:
    platform, rita = migration.platform, migration.parties["rita"]
    iid = migration.instruct(expected_rows=migration.export.in_scope().height)
    outcome = migration.run("olga", iid)
    readable = _readable(migration, outcome.package_id)
    with platform.db.transaction() as s:
        package = s.get(Package, outcome.package_id)
        assert package is not None
        secret = package.plaintext_sha256
    text = json.dumps([readable["listing"], readable["manifest"]])
    assert secret not in text and secret.upper() not in text
    rows = json.loads(readable["manifest"]["manifest"])["data"]["rows"]
    candidates = _candidates(readable)
    assert "age_sha256" in text and len(candidates) >= 5
    for name, value in candidates.items():
        with pytest.raises(IntegrityError, match="nothing was deleted"):
            delivery.confirm(platform, rita, outcome.package_id, rows=rows, sha256=value)
        with platform.db.transaction() as s:
            assert s.get(Package, outcome.package_id).state == "ready", name  # type: ignore[union-attr]
    with platform.db.transaction() as s:
        kinds = s.execute(select(Alert.kind)).scalars().all()
    assert set(kinds) == {"package:receipt-mismatch"}
    # the file as `age -d` gives it: accepted
    plain = age_decrypt(readable["ciphertext"], identity)
    assert plain.returncode == 0
    got = opened(platform, rita, identity, outcome.package_id)
    assert got.plaintext == plain.stdout and got.rows == rows
    receipt = delivery.confirm(platform, rita, outcome.package_id, rows=got.rows, sha256=got.sha256)
    assert receipt.matched and receipt.shredded


@pytest.mark.parametrize(
    ("rows", "sha"),
    [
        pytest.param(0, "decrypted", id="right digest, wrong count"),
        pytest.param(+1, "decrypted", id="one row too many"),
        pytest.param(None, "age", id="the age file's digest"),
        pytest.param(None, "zeros", id="zeros"),
    ],
)
def test_a_receipt_must_match_what_was_decrypted(
    migration: Migration, identity: Identity, rows: int | None, sha: str
) -> None:
    platform, rita = migration.platform, migration.parties["rita"]
    iid = migration.instruct(expected_rows=migration.export.in_scope().height)
    outcome = migration.run("olga", iid)
    got = opened(platform, rita, identity, outcome.package_id)
    count = got.rows if rows is None else (0 if rows == 0 else got.rows + rows)
    digest = {"decrypted": got.sha256, "age": outcome.age_sha256, "zeros": "0" * 64}[sha]
    with pytest.raises(IntegrityError):
        delivery.confirm(platform, rita, outcome.package_id, rows=count, sha256=digest)
