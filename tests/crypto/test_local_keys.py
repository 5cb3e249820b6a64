"""LocalKeyManager: the key file, its passphrase, versions, failure modes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ecluse.crypto import KekState
from ecluse.crypto.local import LocalKeyManager
from ecluse.crypto.signatures import verify
from ecluse.errors import ConfigurationError, IntegrityError, KeyManagerError


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    return tmp_path / "keyring.json"


def test_file_is_private_and_holds_no_plaintext_keys_when_protected(key_file: Path) -> None:
    km = LocalKeyManager.create(path=key_file, passphrase="correct horse battery staple")
    assert key_file.stat().st_mode & 0o777 == 0o600
    doc = json.loads(key_file.read_text())
    assert doc["protected"] is True and "payload" not in doc
    dek = os.urandom(32)
    assert km.unwrap(km.wrap(dek, aad=b"o1"), aad=b"o1") == dek


def test_wrapped_key_is_bound_to_its_object(key_file: Path) -> None:
    km = LocalKeyManager.create(path=key_file, passphrase=None)
    wrapped = km.wrap(os.urandom(32), aad=b"object-1")
    with pytest.raises(IntegrityError):
        km.unwrap(wrapped, aad=b"object-2")


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (None, "passphrase-protected"),
        ("wrong passphrase entirely", "wrong passphrase"),
    ],
)
def test_passphrase_errors(key_file: Path, given: str | None, message: str) -> None:
    LocalKeyManager.create(path=key_file, passphrase="correct horse battery staple")
    with pytest.raises(KeyManagerError, match=message):
        LocalKeyManager.open(path=key_file, passphrase=given)


@pytest.mark.parametrize(
    "content",
    [
        "",
        "{",
        '{"format": "other"}',
        "[1, 2]",
        '{"format": "ecluse-keyring-v1", "protected": false, '
        '"payload": {"keks": [], "signing": {"seed": ""}}}',
    ],
)
def test_corrupt_key_file(key_file: Path, content: str) -> None:
    key_file.write_text(content)
    key_file.chmod(0o600)
    with pytest.raises(KeyManagerError, match="corrupt"):
        LocalKeyManager.open(path=key_file, passphrase=None)


def test_missing_key_file(key_file: Path) -> None:
    with pytest.raises(KeyManagerError, match="missing"):
        LocalKeyManager.open(path=key_file, passphrase=None)


def test_loose_key_file_permissions(key_file: Path) -> None:
    LocalKeyManager.create(path=key_file, passphrase=None)
    key_file.chmod(0o644)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        LocalKeyManager.open(path=key_file, passphrase=None)


def test_create_refuses_to_overwrite(key_file: Path) -> None:
    LocalKeyManager.create(path=key_file, passphrase=None)
    with pytest.raises(ConfigurationError):
        LocalKeyManager.create(path=key_file, passphrase=None)


def test_versions_rotate_and_destroyed_versions_cannot_unwrap(key_file: Path) -> None:
    km = LocalKeyManager.create(path=key_file, passphrase=None)
    other_process = LocalKeyManager.open(path=key_file, passphrase=None)
    dek = os.urandom(32)
    old = km.wrap(dek, aad=b"o")
    assert km.create_version() == 2
    assert other_process.wrap(dek, aad=b"o").kek_version == 2  # sees the rotation
    assert km.unwrap(old, aad=b"o") == dek  # previous still unwraps until destroyed
    with pytest.raises(KeyManagerError, match="active"):
        km.destroy_version(2)
    km.destroy_version(1)
    assert [(v.version, v.state) for v in km.versions()] == [
        (1, KekState.DESTROYED),
        (2, KekState.ACTIVE),
    ]
    for manager in (km, other_process, LocalKeyManager.open(path=key_file, passphrase=None)):
        with pytest.raises(KeyManagerError, match="destroyed"):
            manager.unwrap(old, aad=b"o")
    assert "key" not in json.loads(key_file.read_text())["payload"]["keks"][0]


def test_signer_signs_verifiably(key_file: Path) -> None:
    signer = LocalKeyManager.create(path=key_file, passphrase=None).signer()
    sig = signer.sign(b"checkpoint")
    verify(public_key=signer.public_key, signature=sig, message=b"checkpoint")
    with pytest.raises(IntegrityError):
        verify(public_key=signer.public_key, signature=sig, message=b"checkpoinT")
