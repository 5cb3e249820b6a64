"""Encryption to recipients in the age v1 format (age-encryption.org/v1), streaming.

Packages are encrypted to the recipient organisation's public keys so that it opens them with
the standard `age` tool. Two recipient types, as the specification defines them:

- X25519 (`age1…`, Bech32): `-> X25519 <ephemeral share>`, the file key wrapped with
  ChaCha20-Poly1305 under HKDF-SHA256(shared secret, share || recipient, "…/v1/X25519");
- ssh-ed25519 (`ssh-ed25519 AAAA…`): the Ed25519 key mapped to Curve25519, the shared secret
  tweaked by an HKDF of the SSH key, `-> ssh-ed25519 <tag> <ephemeral share>`.

Header MAC: HMAC-SHA256 under HKDF(file key, "", "header"). Payload: a 16-byte nonce, then
ChaCha20-Poly1305 chunks of 64 KiB under HKDF(file key, nonce, "payload"), each nonce an
11-byte counter and a last-chunk flag. Tested against Debian's `age` CLI.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from ecluse.crypto._primitives import ChaCha, hkdf_sha256, random_bytes, x25519, x25519_base
from ecluse.crypto.streaming import Writable
from ecluse.errors import ValidationError

VERSION_LINE = b"age-encryption.org/v1"
CHUNK = 64 * 1024
FILE_KEY_SIZE = 16
_X25519_LABEL = b"age-encryption.org/v1/X25519"
_SSH_LABEL = b"age-encryption.org/v1/ssh-ed25519"
_ZERO_NONCE = bytes(12)
_MAX_COUNTER = 1 << 88

# Curve25519 / edwards25519 constants (RFC 7748, RFC 8032)
_P = 2**255 - 19
_D = (-121665 * pow(121666, -1, _P)) % _P


def _b64(data: bytes) -> bytes:
    return base64.b64encode(data).rstrip(b"=")


def _body_lines(body: bytes) -> bytes:
    """A stanza body: base64 without padding, 64 columns, the last line always short."""
    text = _b64(body)
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    if not lines or len(lines[-1]) == 64:  # noqa: PLR2004 - column width of the format
        lines.append(b"")
    return b"".join(line + b"\n" for line in lines)


# --- Bech32 (BIP 173), for age1… recipients -----------------------------------------------

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _polymod(values: list[int]) -> int:
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i, g in enumerate(_GEN):
            chk ^= g if (top >> i) & 1 else 0
    return chk


def _bech32_decode(text: str) -> tuple[str, bytes]:
    if text.lower() != text and text.upper() != text:
        raise ValidationError("age recipient: mixed case")
    text = text.lower()
    hrp, sep, data = text.rpartition("1")
    if not sep or not hrp or len(data) < 6 or any(c not in _CHARSET for c in data):  # noqa: PLR2004 - bech32's checksum
        raise ValidationError("age recipient: not Bech32")
    values = [_CHARSET.index(c) for c in data]
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    if _polymod(expanded + values) != 1:
        raise ValidationError("age recipient: bad checksum")
    acc = bits = 0
    out = bytearray()
    for v in values[:-6]:
        acc, bits = (acc << 5) | v, bits + 5
        if bits >= 8:  # noqa: PLR2004 - bytes
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if bits >= 5 or (acc & ((1 << bits) - 1)):  # noqa: PLR2004 - padding rules of BIP 173
        raise ValidationError("age recipient: bad padding")
    return hrp, bytes(out)


# --- ssh-ed25519 ----------------------------------------------------------------------------


def _ssh_string(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def _ed25519_to_x25519(public: bytes) -> bytes:
    """The Montgomery u of an Ed25519 public key, refusing points not on the curve."""
    y = int.from_bytes(public, "little") & ((1 << 255) - 1)
    if y >= _P:
        raise ValidationError("ssh-ed25519 key: not a point of the curve")
    y2 = y * y % _P
    x2 = (y2 - 1) * pow(_D * y2 + 1, -1, _P) % _P
    if x2 and pow(x2, (_P - 1) // 2, _P) != 1:
        raise ValidationError("ssh-ed25519 key: not a point of the curve")
    if y == 1:
        raise ValidationError("ssh-ed25519 key: the identity point")
    u = (1 + y) * pow(1 - y, -1, _P) % _P
    return u.to_bytes(32, "little")


@dataclass(frozen=True, slots=True)
class Recipient:
    """One public key a package is encrypted to."""

    kind: str  # "X25519" | "ssh-ed25519"
    text: str  # canonical form, as a recipient writes it (an SSH key without its comment)
    point: bytes  # Curve25519 u-coordinate
    ssh_key: bytes = b""  # SSH wire encoding, ssh-ed25519 only

    @property
    def fingerprint(self) -> str:
        raw = self.ssh_key or self.point
        return "SHA256:" + _b64(hashlib.sha256(raw).digest()).decode()

    def stanza(self, file_key: bytes) -> bytes:
        ephemeral = random_bytes(32)
        share = x25519_base(ephemeral)
        shared = x25519(ephemeral, self.point)
        if self.kind == "X25519":
            label, args = _X25519_LABEL, [b"X25519", _b64(share)]
        else:
            tweak = hkdf_sha256(ikm=b"", salt=self.ssh_key, info=_SSH_LABEL, length=32)
            shared = x25519(tweak, shared)
            tag = _b64(hashlib.sha256(self.ssh_key).digest()[:4])
            label, args = _SSH_LABEL, [b"ssh-ed25519", tag, _b64(share)]
        wrap = hkdf_sha256(ikm=shared, salt=share + self.point, info=label, length=32)
        body = ChaCha(wrap).seal(_ZERO_NONCE, file_key)
        return b"-> " + b" ".join(args) + b"\n" + _body_lines(body)


def parse_recipient(text: str) -> Recipient:
    """An `age1…` or `ssh-ed25519 AAAA… [comment]` public key; anything else is refused."""
    text = text.strip()
    if text.startswith("ssh-ed25519 "):
        parts = text.split()
        try:
            wire = base64.b64decode(parts[1], validate=True)
        except (ValueError, IndexError) as e:
            raise ValidationError("ssh-ed25519 key: not base64") from e
        algo, key = b"ssh-ed25519", wire[4 + 11 + 4 :]
        if wire != _ssh_string(algo) + _ssh_string(key) or len(key) != 32:  # noqa: PLR2004 - ed25519 key
            raise ValidationError("ssh-ed25519 key: malformed")
        return Recipient(
            kind="ssh-ed25519",
            text=f"ssh-ed25519 {parts[1]}",
            point=_ed25519_to_x25519(key),
            ssh_key=wire,
        )
    if text.lower().startswith("age1"):
        hrp, point = _bech32_decode(text)
        if hrp != "age" or len(point) != 32:  # noqa: PLR2004 - X25519 key
            raise ValidationError("age recipient: not an X25519 public key")
        return Recipient(kind="X25519", text=text.lower(), point=point)
    raise ValidationError("a recipient key is an age1… or an ssh-ed25519 public key")


class AgeEncryptor:
    """Push-style age encryption into `dst`: the header at once, then 64 KiB chunks.

    Holds at most one chunk back, since the last chunk carries a flag and is known to be last
    only at `close()`.
    """

    def __init__(self, recipients: list[Recipient], dst: Writable) -> None:
        if not recipients:
            raise ValidationError("age encryption needs at least one recipient")
        file_key = random_bytes(FILE_KEY_SIZE)
        header = VERSION_LINE + b"\n" + b"".join(r.stanza(file_key) for r in recipients) + b"---"
        mac_key = hkdf_sha256(ikm=file_key, salt=b"", info=b"header", length=32)
        mac = hmac.digest(mac_key, header, "sha256")
        nonce = random_bytes(16)
        self._aead = ChaCha(hkdf_sha256(ikm=file_key, salt=nonce, info=b"payload", length=32))
        self._dst = dst
        self._buf = bytearray()
        self._counter = 0
        self.plaintext_bytes = 0
        dst.write(header + b" " + _b64(mac) + b"\n" + nonce)

    def _emit(self, chunk: memoryview | bytes, *, last: bool) -> None:
        if self._counter >= _MAX_COUNTER:
            raise ValidationError("age payload too long")
        nonce = self._counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")
        self._dst.write(self._aead.seal(nonce, chunk))
        self._counter += 1

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._buf += data
        self.plaintext_bytes += len(data)
        if len(self._buf) > CHUNK:  # keep the tail back: it may be the last chunk
            view = memoryview(self._buf)
            n = (len(self._buf) - 1) // CHUNK * CHUNK
            for i in range(0, n, CHUNK):
                self._emit(view[i : i + CHUNK], last=False)
            view.release()
            del self._buf[:n]
        return len(data)

    def close(self) -> None:
        self._emit(bytes(self._buf), last=True)
        self._buf.clear()
