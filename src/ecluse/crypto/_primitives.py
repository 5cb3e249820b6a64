"""The only module of Écluse that imports `cryptography.hazmat`.

It exposes the few primitives the rest of the code needs, with our error types: AES-256-GCM,
ChaCha20-Poly1305, HKDF-SHA256, scrypt, Ed25519, X25519, SSH public key parsing. No I/O.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

from cryptography.exceptions import InvalidSignature, InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ecluse.errors import IntegrityError

GCM_NONCE_SIZE = 12
GCM_TAG_SIZE = 16
AES256_KEY_SIZE = 32
ED25519_SEED_SIZE = 32


def random_bytes(n: int) -> bytes:
    """`n` bytes from the operating system's CSPRNG."""
    return secrets.token_bytes(n)


def constant_time_equal(a: bytes, b: bytes) -> bool:
    """Compare two secrets without leaking where they differ."""
    return hmac.compare_digest(a, b)


def hkdf_sha256(*, ikm: bytes, salt: bytes, info: bytes, length: int) -> bytes:
    """RFC 5869 HKDF with SHA-256."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def scrypt_key(*, passphrase: bytes, salt: bytes, n: int, r: int, p: int) -> bytes:
    """A 32-byte key from a passphrase (RFC 7914)."""
    return Scrypt(salt=salt, length=AES256_KEY_SIZE, n=n, r=r, p=p).derive(passphrase)


class Gcm:
    """AES-256-GCM with a fixed key; raises `IntegrityError` on any authentication failure."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if len(key) != AES256_KEY_SIZE:
            raise ValueError("AES-256-GCM needs a 32-byte key")
        self._aead = AESGCM(key)

    def seal(self, nonce: bytes, plaintext: bytes, aad: bytes | None = None) -> bytes:
        return self._aead.encrypt(nonce, plaintext, aad)

    def seal_into(self, nonce: bytes, plaintext: memoryview, out: bytearray) -> int:
        """Encrypt into the head of a preallocated buffer; returns the bytes written."""
        return self._aead.encrypt_into(
            nonce, plaintext, None, memoryview(out)[: len(plaintext) + GCM_TAG_SIZE]
        )

    def open(self, nonce: bytes, ciphertext: bytes | memoryview, aad: bytes | None = None) -> bytes:
        try:
            return self._aead.decrypt(nonce, ciphertext, aad)
        except InvalidTag as e:
            raise IntegrityError("authentication tag mismatch: data altered or wrong key") from e

    def open_into(self, nonce: bytes, ciphertext: memoryview, out: bytearray) -> int:
        """Decrypt into the head of a preallocated buffer; returns the bytes written."""
        if len(ciphertext) < GCM_TAG_SIZE:
            raise IntegrityError("ciphertext shorter than its authentication tag")
        try:
            return self._aead.decrypt_into(
                nonce, ciphertext, None, memoryview(out)[: len(ciphertext) - GCM_TAG_SIZE]
            )
        except InvalidTag as e:
            raise IntegrityError("authentication tag mismatch: data altered or wrong key") from e


def ed25519_public_from_seed(seed: bytes) -> bytes:
    """The raw 32-byte public key of an Ed25519 private seed."""
    key = Ed25519PrivateKey.from_private_bytes(seed)
    return key.public_key().public_bytes(
        encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
    )


def ed25519_sign(seed: bytes, message: bytes) -> bytes:
    """Sign `message` with the Ed25519 private seed."""
    return Ed25519PrivateKey.from_private_bytes(seed).sign(message)


def ed25519_verify(public_key: bytes, signature: bytes, message: bytes) -> None:
    """Raise `IntegrityError` unless `signature` is valid for `message` under `public_key`."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError) as e:
        raise IntegrityError("signature does not verify") from e


class ChaCha:
    """ChaCha20-Poly1305 (RFC 8439) with a fixed key, sealing only: age's payload and stanzas."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        self._aead = ChaCha20Poly1305(key)

    def seal(self, nonce: bytes, plaintext: bytes | memoryview) -> bytes:
        return self._aead.encrypt(nonce, plaintext, None)

    def open(self, nonce: bytes, ciphertext: bytes) -> bytes:
        try:
            return self._aead.decrypt(nonce, ciphertext, None)
        except InvalidTag as e:
            raise IntegrityError("authentication tag mismatch: data altered or wrong key") from e


def x25519(scalar: bytes, point: bytes) -> bytes:
    """RFC 7748 X25519(scalar, u); raises `IntegrityError` on a low-order point."""
    try:
        private = X25519PrivateKey.from_private_bytes(scalar)
        return private.exchange(X25519PublicKey.from_public_bytes(point))
    except ValueError as e:
        raise IntegrityError("X25519 with a low-order or malformed point") from e


def x25519_base(scalar: bytes) -> bytes:
    """X25519(scalar, 9): the public share of a secret scalar."""
    public = X25519PrivateKey.from_private_bytes(scalar).public_key()
    return public.public_bytes(
        encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
    )


def ssh_public_key(line: bytes) -> tuple[str, int]:
    """An OpenSSH public key line as `<algorithm> <base64>` (comment dropped), and its size in
    bits for RSA (0 otherwise). `ValueError` unless it is ed25519, ecdsa or rsa."""
    try:
        key = serialization.load_ssh_public_key(line)
    except (ValueError, UnsupportedAlgorithm) as e:
        raise ValueError("not an SSH public key") from e
    if not isinstance(key, Ed25519PublicKey | ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise ValueError("not an ed25519, ecdsa or rsa key")
    bits = key.key_size if isinstance(key, rsa.RSAPublicKey) else 0
    openssh = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return openssh.decode(), bits


def self_signed_tls(
    *, hostnames: list[str], addresses: list[str], days: int
) -> tuple[bytes, bytes]:
    """A self-signed ECDSA P-256 server certificate and its key (PEM, PKCS#8, unencrypted:
    the caller writes it 0600 in the home)."""
    import datetime as dt  # noqa: PLC0415 - only the first start of a server needs these
    import ipaddress  # noqa: PLC0415 - only for certificates

    from cryptography import x509  # noqa: PLC0415 - only for certificates
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: PLC0415 - only for certificates

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0])])
    now = dt.datetime.now(dt.UTC)
    alt: list[x509.GeneralName] = [x509.DNSName(h) for h in hostnames]
    alt += [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def certificate_sha256(pem: bytes) -> str:
    """The SHA-256 fingerprint of a PEM certificate, as browsers show it."""
    from cryptography import x509  # noqa: PLC0415 - only for certificates

    digest = x509.load_pem_x509_certificate(pem).fingerprint(hashes.SHA256())
    return ":".join(f"{b:02X}" for b in digest)


def certificate_not_after(pem: bytes) -> datetime:
    """When the first certificate of a PEM chain stops being valid (UTC)."""
    from cryptography import x509  # noqa: PLC0415 - only for certificates

    try:
        return x509.load_pem_x509_certificate(pem).not_valid_after_utc
    except ValueError as e:
        raise IntegrityError("not a PEM certificate") from e
