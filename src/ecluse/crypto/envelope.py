"""Envelope encryption: one random data key per object, wrapped by the key manager's KEK.

The object's identity is bound twice: as the streaming AEAD's associated data and as the
wrapping AAD, so neither a ciphertext nor a wrapped key can be moved to another object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from ecluse.crypto._primitives import AES256_KEY_SIZE, random_bytes
from ecluse.crypto.interfaces import KeyManager, WrappedKey
from ecluse.crypto.streaming import AesGcmHkdfStreaming, StreamEncryptor, Writable


def object_aad(object_id: str) -> bytes:
    return f"ecluse-object-v1|{object_id}".encode()


def pseudonym_key_aad(instruction_id: str) -> bytes:
    """Binds an instruction's sealed pseudonymisation key to that instruction."""
    return f"ecluse-instruction-pseudonym-v1|{instruction_id}".encode()


def package_trace_aad(package_id: str) -> bytes:
    """Binds a package's sealed tracing key (row digests) to that package."""
    return f"ecluse-package-trace-v1|{package_id}".encode()


@dataclass(frozen=True, slots=True)
class Sealed:
    wrapped: WrappedKey
    plaintext_bytes: int


class Envelope:
    """Encrypts and decrypts objects through a `KeyManager`."""

    def __init__(self, key_manager: KeyManager) -> None:
        self._km = key_manager

    def encryptor(self, object_id: str, dst: Writable) -> tuple[WrappedKey, StreamEncryptor]:
        """A fresh data key, wrapped, and a push-style encryptor for the object's bytes."""
        dek = random_bytes(AES256_KEY_SIZE)
        wrapped = self._km.wrap(dek, aad=object_aad(object_id))
        return wrapped, AesGcmHkdfStreaming(dek).encryptor(dst, aad=object_aad(object_id))

    def encrypt(self, object_id: str, src: BinaryIO, dst: Writable) -> Sealed:
        dek = random_bytes(AES256_KEY_SIZE)
        wrapped = self._km.wrap(dek, aad=object_aad(object_id))
        n = AesGcmHkdfStreaming(dek).encrypt(src, dst, aad=object_aad(object_id))
        return Sealed(wrapped=wrapped, plaintext_bytes=n)

    def aead_for(self, object_id: str, wrapped: WrappedKey) -> AesGcmHkdfStreaming:
        """The object's stream cipher; raises if the data key cannot be unwrapped."""
        return AesGcmHkdfStreaming(self._km.unwrap(wrapped, aad=object_aad(object_id)))

    def rewrap(self, object_id: str, wrapped: WrappedKey) -> WrappedKey:
        """The same data key under the active KEK version; the blob itself is untouched."""
        aad = object_aad(object_id)
        return self._km.wrap(self._km.unwrap(wrapped, aad=aad), aad=aad)
