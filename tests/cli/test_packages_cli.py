"""From a source file to a confirmed, shredded package, through the CLI, as each person
would: the operator extracts, the recipient registers its SSH key, downloads, opens the
package with `age` and its SSH key, checks the signed manifest and confirms."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from ecluse.crypto.signatures import verify
from ecluse.identity import issue
from ecluse.instance.platform import Platform
from ecluse.packages.manifest import SIGNING_CONTEXT
from tests.age_tools import age_decrypt, ssh_identity
from tests.cli.helpers import assert_refused, ecluse
from tests.packages.conftest import (  # the fixtures of a ready migration
    Migration,
    agreement,
    export,
    migration,
    parties,
)
from tests.totp_tools import fresh_code

__all__ = ["agreement", "export", "migration", "parties"]


def _as(platform: Platform, env: dict[str, str], who: Any) -> dict[str, str]:
    with platform.db.transaction() as s:
        return {
            **env,
            "ECLUSE_TOKEN": issue(
                s, account_id=who.account_id, name="cli", days=1, second_factor=True
            ).token,
        }


def test_extract_download_open_confirm(
    migration: Migration, env: dict[str, str], tmp_path: Path
) -> None:
    platform, parties, export = migration.platform, migration.parties, migration.export
    olga, rita = _as(platform, env, parties["olga"]), _as(platform, env, parties["rita"])
    key = ssh_identity(tmp_path)
    rita_code = fresh_code(parties["totp"]["rita"])
    added = ecluse(
        "recipient-keys", "add", "--key", key.recipient, "--label", "import", "--code", rita_code,
        env=rita,
    )  # fmt: skip
    assert added.returncode == 0 and "ssh-ed25519 SHA256:" in added.stdout
    assert_refused(
        ecluse("recipient-keys", "add", "--key", key.recipient, "--label", "x", env=olga),
        "not permitted: recipient-key:manage",
    )
    source = tmp_path / "export.csv"
    source.write_bytes(export.data)
    iid = migration.instruct(expected_rows=export.frame.height)

    assert_refused(
        ecluse("extract", "--instruction", iid, "--source", str(source), env=rita),
        "not permitted: extraction:run",
    )
    done = ecluse("extract", "--instruction", iid, "--source", str(source), env=olga)
    assert done.returncode == 0, done.stderr
    assert "rows packaged" in done.stdout and "MDP_PORTAIL: credential" in done.stdout
    assert export.frame["NIR"][0] not in done.stdout + done.stderr

    listed = ecluse("packages", "list", env=rita)
    package_id = next(w for w in listed.stdout.split() if w.count("-") == 4 and w != iid)
    out_dir = tmp_path / "inbox"
    out_dir.mkdir()
    fetched = ecluse("packages", "download", package_id, "-o", str(out_dir), env=rita)
    assert fetched.returncode == 0, fetched.stderr
    assert_refused(
        ecluse("packages", "download", package_id, "-o", str(out_dir), env=rita),
        "already exists",
    )
    opened = age_decrypt((out_dir / f"{package_id}.csv.age").read_bytes(), key)
    assert opened.returncode == 0, opened.stderr
    manifest = (out_dir / f"{package_id}.manifest.json").read_bytes()
    signature = json.loads((out_dir / f"{package_id}.manifest.sig").read_text())
    verify(
        public_key=bytes.fromhex(signature["public_key"]),
        signature=base64.b64decode(signature["signature"]),
        message=SIGNING_CONTEXT + manifest,
    )
    data = json.loads(manifest)["data"]
    sha = hashlib.sha256(opened.stdout).hexdigest()
    assert "sha256" not in data  # the receipt's value is not handed out
    assert (
        hashlib.sha256((out_dir / f"{package_id}.csv.age").read_bytes()).hexdigest()
        == (data["age_sha256"])
    )
    rows = opened.stdout.count(b"\n") - 1

    assert_refused(
        ecluse(
            "packages", "confirm", package_id, "--rows", str(rows), "--sha256", "0" * 64, env=rita
        ),
        "nothing was deleted",
    )
    confirmed = ecluse(
        "packages", "confirm", package_id, "--rows", str(rows), "--sha256", sha, env=rita
    )
    assert confirmed.returncode == 0 and "shredded" in confirmed.stdout, confirmed.stderr
    assert_refused(
        ecluse("packages", "download", package_id, "-o", str(tmp_path), env=rita), "shredded"
    )
    assert ecluse("audit", "verify", env=env).returncode == 0
