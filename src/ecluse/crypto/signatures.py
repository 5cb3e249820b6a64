"""Ed25519 verification for data signed by a `Signer` (checkpoints, manifests, agreements)."""

from __future__ import annotations

from ecluse.crypto._primitives import ed25519_verify

__all__ = ["verify"]


def verify(*, public_key: bytes, signature: bytes, message: bytes) -> None:
    """Raise `IntegrityError` unless the signature is valid."""
    ed25519_verify(public_key, signature, message)
