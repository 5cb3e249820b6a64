"""Cryptography of Écluse: the streaming AEAD (Tink's AES-GCM-HKDF-Streaming), envelope
encryption, the key managers (local key file, PKCS#11) and Ed25519 signatures.

Only `ecluse.crypto._primitives` imports `cryptography.hazmat`; this package does no I/O
except the key managers', which reach their key file or token.
"""

from ecluse.crypto.interfaces import KekState, KekVersion, KeyManager, Signer, WrappedKey, key_id
from ecluse.crypto.streaming import AesGcmHkdfStreaming

__all__ = [
    "AesGcmHkdfStreaming",
    "KekState",
    "KekVersion",
    "KeyManager",
    "Signer",
    "WrappedKey",
    "key_id",
]
