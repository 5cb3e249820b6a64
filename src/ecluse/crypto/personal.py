"""Personal signing keys: an Ed25519 seed per person, sealed by the key manager's KEK and
bound to its owner, unsealed in memory only to sign (agreements, instructions, sign-offs).
"""

from __future__ import annotations

from dataclasses import dataclass

from ecluse.crypto._primitives import ED25519_SEED_SIZE, ed25519_public_from_seed, random_bytes
from ecluse.crypto.interfaces import KeyManager, WrappedKey
from ecluse.crypto.signatures import SeedSigner


def owner_aad(owner: str) -> bytes:
    return f"ecluse-personal-signing-v1|{owner}".encode()


@dataclass(frozen=True, slots=True)
class SealedSigningKey:
    public_key: bytes
    wrapped: WrappedKey


def new_personal_key(keys: KeyManager, *, owner: str) -> SealedSigningKey:
    seed = random_bytes(ED25519_SEED_SIZE)
    return SealedSigningKey(
        public_key=ed25519_public_from_seed(seed), wrapped=keys.wrap(seed, aad=owner_aad(owner))
    )


def personal_signer(keys: KeyManager, wrapped: WrappedKey, *, owner: str) -> SeedSigner:
    return SeedSigner(seed=keys.unwrap(wrapped, aad=owner_aad(owner)))
