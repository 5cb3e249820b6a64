"""Pkcs11KeyManager against a real SoftHSM2 token initialised by the fixture."""

from __future__ import annotations

import os
from pathlib import Path

import pkcs11
import pytest
from pkcs11 import Attribute, ObjectClass

from ecluse.crypto import KekState
from ecluse.crypto.pkcs11 import Pkcs11KeyManager
from ecluse.crypto.signatures import verify
from ecluse.errors import IntegrityError, KeyManagerError
from tests.conftest import SOFTHSM_MODULE


@pytest.fixture
def hsm(hsm_token: tuple[str, str]) -> Pkcs11KeyManager:
    label, pin = hsm_token
    km = Pkcs11KeyManager(module=SOFTHSM_MODULE, token_label=label, pin=pin)
    km.provision()
    return km


def test_wrap_unwrap_and_binding(hsm: Pkcs11KeyManager) -> None:
    dek = os.urandom(32)
    wrapped = hsm.wrap(dek, aad=b"object-1")
    assert wrapped.kek_version == 1 and dek not in wrapped.ciphertext
    assert hsm.unwrap(wrapped, aad=b"object-1") == dek
    with pytest.raises(IntegrityError):
        hsm.unwrap(wrapped, aad=b"object-2")


def test_keys_are_sensitive_and_not_extractable(
    hsm: Pkcs11KeyManager, hsm_token: tuple[str, str]
) -> None:
    token = pkcs11.lib(str(SOFTHSM_MODULE)).get_token(token_label=hsm_token[0])
    with token.open() as session:  # shares the manager's login
        secrets = list(session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY}))
        privates = list(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY}))
        assert len(secrets) == 1 and len(privates) == 1
        for obj in secrets + privates:
            assert obj[Attribute.SENSITIVE] is True
            assert obj[Attribute.EXTRACTABLE] is False


def test_signing_in_token_verifies_with_standard_ed25519(hsm: Pkcs11KeyManager) -> None:
    signer = hsm.signer()
    assert len(signer.public_key) == 32
    sig = signer.sign(b"checkpoint 1000")
    verify(public_key=signer.public_key, signature=sig, message=b"checkpoint 1000")


def test_rotation_and_destroyed_versions(hsm: Pkcs11KeyManager) -> None:
    dek = os.urandom(32)
    old = hsm.wrap(dek, aad=b"o")
    assert hsm.create_version() == 2
    assert hsm.wrap(dek, aad=b"o").kek_version == 2
    assert hsm.unwrap(old, aad=b"o") == dek
    with pytest.raises(KeyManagerError):
        hsm.destroy_version(2)
    hsm.destroy_version(1)
    assert [(v.version, v.state) for v in hsm.versions()] == [
        (1, KekState.DESTROYED),
        (2, KekState.ACTIVE),
    ]
    with pytest.raises(KeyManagerError, match="destroyed"):
        hsm.unwrap(old, aad=b"o")


def test_provision_refuses_a_token_already_in_use(hsm: Pkcs11KeyManager) -> None:
    with pytest.raises(KeyManagerError, match="already holds"):
        hsm.provision()


def test_wrong_pin(hsm_token: tuple[str, str]) -> None:
    with pytest.raises(KeyManagerError, match="wrong PIN"):
        Pkcs11KeyManager(module=SOFTHSM_MODULE, token_label=hsm_token[0], pin="0000-0000")


def test_missing_token(softhsm_conf: Path) -> None:
    with pytest.raises(KeyManagerError, match="not found"):
        Pkcs11KeyManager(module=SOFTHSM_MODULE, token_label="no-such-token", pin="1234")


def test_missing_module(tmp_path: Path) -> None:
    with pytest.raises(KeyManagerError, match="module"):
        Pkcs11KeyManager(module=tmp_path / "nope.so", token_label="x", pin="1234")
