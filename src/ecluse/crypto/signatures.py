"""Ed25519: verification, and a signer for seeds that a key manager unsealed in memory."""

from __future__ import annotations

from dataclasses import dataclass

from ecluse.crypto._primitives import ed25519_public_from_seed, ed25519_sign, ed25519_verify
from ecluse.crypto.interfaces import key_id

__all__ = ["SeedSigner", "verify"]


def verify(*, public_key: bytes, signature: bytes, message: bytes) -> None:
    """Raise `IntegrityError` unless the signature is valid."""
    ed25519_verify(public_key, signature, message)


@dataclass(frozen=True, slots=True)
class SeedSigner:
    """Signs with an Ed25519 seed held in memory only while it is needed."""

    seed: bytes

    @property
    def public_key(self) -> bytes:
        return ed25519_public_from_seed(self.seed)

    @property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def sign(self, message: bytes) -> bytes:
        return ed25519_sign(self.seed, message)
