"""The roles the crypto package plays for the rest of Écluse, as Protocols and values."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, runtime_checkable


class KekState(StrEnum):
    ACTIVE = "active"  # wraps new data keys and unwraps
    PREVIOUS = "previous"  # unwraps only, until rotation finishes
    DESTROYED = "destroyed"  # material gone: nothing it wrapped can be unwrapped


@dataclass(frozen=True, slots=True)
class WrappedKey:
    """A data key encrypted under one version of the key-encryption key."""

    kek_version: int
    ciphertext: bytes


@dataclass(frozen=True, slots=True)
class KekVersion:
    version: int
    created_at: datetime
    state: KekState


def key_id(public_key: bytes) -> str:
    """Stable identifier of a public key: the first 16 bytes of its SHA-256, in hex."""
    return hashlib.sha256(public_key).hexdigest()[:32]


@runtime_checkable
class Signer(Protocol):
    """An Ed25519 private key that never leaves its key manager."""

    @property
    def key_id(self) -> str: ...

    @property
    def public_key(self) -> bytes: ...

    def sign(self, message: bytes) -> bytes: ...


class KeyManager(Protocol):
    """Holds the versioned key-encryption keys and the platform signing key."""

    @property
    def name(self) -> str: ...

    def wrap(self, key: bytes, *, aad: bytes) -> WrappedKey: ...

    def unwrap(self, wrapped: WrappedKey, *, aad: bytes) -> bytes: ...

    def versions(self) -> list[KekVersion]: ...

    def create_version(self) -> int:
        """Add a key-encryption key version and make it the active one."""
        ...

    def destroy_version(self, version: int) -> None:
        """Destroy a non-active version's material for good."""
        ...

    def signer(self) -> Signer: ...

    def discard(self) -> None:
        """Destroy every key this manager holds: only to undo an initialisation that failed."""
        ...

    def close(self) -> None: ...
