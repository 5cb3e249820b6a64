"""SSH public keys made by OpenSSH's ssh-keygen: accepted kinds, refused kinds, fingerprints
as ssh-keygen prints them, one owner per key, revocation."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ecluse.errors import ValidationError
from ecluse.identity import Role, enrol
from ecluse.identity.ssh_keys import active_keys, add_ssh_key, parse_ssh_key, revoke_ssh_key
from ecluse.instance.platform import Platform
from tests.identity.test_tokens import person


def _keygen(tmp_path: Path, kind: str, bits: int | None = None) -> tuple[str, str]:
    """A public key line and the fingerprint ssh-keygen gives for it."""
    path = tmp_path / f"id_{kind}_{bits}"
    args = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", "olga@laptop", "-f", str(path)]
    subprocess.run([*args, *(["-b", str(bits)] if bits else [])], check=True)
    listed = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", f"{path}.pub"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return Path(f"{path}.pub").read_text(), listed[1]


@pytest.mark.parametrize(
    ("kind", "bits", "algorithm"),
    [
        ("ed25519", None, "ssh-ed25519"),
        ("ecdsa", 256, "ecdsa-sha2-nistp256"),
        ("ecdsa", 384, "ecdsa-sha2-nistp384"),
        ("ecdsa", 521, "ecdsa-sha2-nistp521"),
        ("rsa", 3072, "ssh-rsa"),
    ],
)
def test_accepted_kinds_with_ssh_keygens_fingerprint(
    tmp_path: Path, kind: str, bits: int | None, algorithm: str
) -> None:
    line, fingerprint = _keygen(tmp_path, kind, bits)
    parsed = parse_ssh_key(line)
    assert parsed.algorithm == algorithm and parsed.fingerprint == fingerprint
    assert "olga@laptop" not in parsed.openssh  # the comment is not kept


def test_short_rsa_and_garbage_are_refused(tmp_path: Path) -> None:
    line, _ = _keygen(tmp_path, "rsa", 2048)
    with pytest.raises(ValidationError, match="at least 3072 bits"):
        parse_ssh_key(line)
    for bad in ["", "ssh-ed25519 AAAA", "ssh-dss AAAAB3NzaC1kc3MAAACBAP", "x" * 20_000]:
        with pytest.raises(ValidationError, match="SSH public key"):
            parse_ssh_key(bad)


def test_one_owner_per_key_and_revocation(platform: Platform, tmp_path: Path) -> None:
    line, fingerprint = _keygen(tmp_path, "ed25519")
    with platform.db.transaction() as s:
        olga, code = person(s, {Role.OPERATOR})
        enrol(s, email="olga.op@vendor.example", code=code)
        add_ssh_key(s, olga, line, label="laptop")
    with pytest.raises(ValidationError, match="already registered"), platform.db.transaction() as s:
        other, _ = person(s, {Role.RECIPIENT}, email="eve@other.example")
        add_ssh_key(s, other, line, label="stolen")
    with platform.db.transaction() as s:
        assert [k.fingerprint for k in active_keys(s, olga)] == [fingerprint]
        revoke_ssh_key(s, olga, fingerprint)
        assert active_keys(s, olga) == []
    with pytest.raises(ValidationError, match="no such active key"), platform.db.transaction() as s:
        revoke_ssh_key(s, olga, fingerprint)
