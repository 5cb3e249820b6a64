"""age v1 encryption, checked by Debian's `age` CLI: what we write, the reference opens."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import pytest

from ecluse.crypto.age import CHUNK, AgeEncryptor, parse_recipient
from ecluse.errors import ValidationError
from tests.age_tools import Identity, age_decrypt, ssh_identity, x25519_identity


@pytest.fixture(scope="module")
def identities(tmp_path_factory: pytest.TempPathFactory) -> tuple[Identity, Identity]:
    d = tmp_path_factory.mktemp("age")
    return x25519_identity(d), ssh_identity(d)


def _encrypt(plaintext: bytes, recipients: list[str], piece: int = 7919) -> bytes:
    out = io.BytesIO()
    enc = AgeEncryptor([parse_recipient(r) for r in recipients], out)
    for i in range(0, len(plaintext), piece):
        enc.write(plaintext[i : i + piece])
    enc.close()
    assert enc.plaintext_bytes == len(plaintext)
    return out.getvalue()


@pytest.mark.parametrize(
    "size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 17, 1_000_003]
)
@pytest.mark.parametrize("kind", [0, 1], ids=["x25519", "ssh-ed25519"])
def test_age_cli_opens_what_we_write(
    identities: tuple[Identity, Identity], size: int, kind: int
) -> None:
    plaintext = os.urandom(size)
    identity = identities[kind]
    done = age_decrypt(_encrypt(plaintext, [identity.recipient]), identity)
    assert done.returncode == 0, done.stderr
    assert done.stdout == plaintext


def test_several_recipients_each_open_it(identities: tuple[Identity, Identity]) -> None:
    plaintext = b"NIR;NOM\n" * 10_000
    ciphertext = _encrypt(plaintext, [i.recipient for i in identities], piece=CHUNK)
    for identity in identities:
        assert age_decrypt(ciphertext, identity).stdout == plaintext


def test_someone_else_cannot_open_it(identities: tuple[Identity, Identity], tmp_path: Path) -> None:
    stranger = x25519_identity(tmp_path, "stranger")
    done = age_decrypt(_encrypt(b"secret rows", [identities[0].recipient]), stranger)
    assert done.returncode != 0 and done.stdout == b""


@pytest.mark.parametrize("where", ["header", "mac", "payload", "truncated"])
def test_age_cli_refuses_a_tampered_package(
    identities: tuple[Identity, Identity], where: str
) -> None:
    ciphertext = bytearray(_encrypt(os.urandom(3 * CHUNK), [identities[0].recipient]))
    header_end = ciphertext.index(b"\n---") + 1
    if where == "header":
        ciphertext[25] ^= 1  # inside the stanza's ephemeral share
    elif where == "mac":
        ciphertext[header_end + 5] ^= 1
    elif where == "payload":
        ciphertext[-100] ^= 1
    else:
        del ciphertext[-CHUNK // 2 :]
    assert age_decrypt(bytes(ciphertext), identities[0]).returncode != 0


def test_recipient_forms(identities: tuple[Identity, Identity]) -> None:
    x, ssh = (parse_recipient(i.recipient) for i in identities)
    assert (x.kind, x.text) == ("X25519", identities[0].recipient)
    assert parse_recipient(identities[0].recipient.upper()).point == x.point
    assert ssh.kind == "ssh-ed25519"
    assert ssh.text == " ".join(identities[1].recipient.split()[:2])  # the comment is dropped
    assert ssh.fingerprint.startswith("SHA256:") and x.fingerprint != ssh.fingerprint


def _flip_last(text: str) -> str:
    return text[:-1] + ("q" if text[-1] != "q" else "p")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "age1",
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ",
        "ssh-ed25519 not-base64!",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA",  # truncated key
        "Age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq",  # mixed case
        "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqsxxxxxx",  # bad checksum
        "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",  # Bech32, not age
    ],
)
def test_malformed_recipients_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError):
        parse_recipient(bad)


def test_a_flipped_checksum_is_refused(identities: tuple[Identity, Identity]) -> None:
    with pytest.raises(ValidationError):
        parse_recipient(_flip_last(identities[0].recipient))


def test_an_ssh_key_off_the_curve_is_refused() -> None:
    wire = b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + (2).to_bytes(32, "little")
    # y = 2 is not the y of any point of edwards25519
    with pytest.raises(ValidationError, match="curve"):
        parse_recipient("ssh-ed25519 " + base64.b64encode(wire).decode())
