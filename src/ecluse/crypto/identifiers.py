"""Keyed digests of what someone typed at a credential prompt (an e-mail, an SSH user name)
that matches no account: the audit trail may compare two of them, never read one back.

    key    = HKDF-SHA256(ikm = Ed25519-sign(platform key, LABEL), salt = "", info = INFO, 32 bytes)
    digest = "hmacv1" + hex(HMAC-SHA256(key, identifier)[:16])   (no separator: a run of
             digits after one could pass for a NIR, which the audit trail refuses)

The key is derived from the platform's signing key, whichever key manager holds it (a key file
or an HSM), and never stored: Ed25519 signatures are deterministic (RFC 8032 §5.1.6), so the
same key signs the same label to the same bytes, and nobody without the key can compute them.
The label is never signed for anything else (checkpoints and slices sign JSON objects). An
e-mail has few plausible values: a plain hash of it would be reversible by guessing.
"""

from __future__ import annotations

import hashlib
import hmac

from ecluse.crypto._primitives import hkdf_sha256
from ecluse.crypto.interfaces import Signer

LABEL = b"ecluse-typed-identifier-key-v1"
INFO = b"ecluse audit: identifiers typed at a credential prompt"
PREFIX = "hmacv1"
_SIZE = 16  # bytes kept: enough to tell identifiers apart, nothing to read


def identifier_key(signer: Signer) -> bytes:
    return hkdf_sha256(ikm=signer.sign(LABEL), salt=b"", info=INFO, length=32)


def identifier_digest(key: bytes, identifier: str) -> str:
    """The keyed digest of a normalised identifier (trimmed, lower-case)."""
    normalised = identifier.strip().lower()[:254].encode()
    return PREFIX + hmac.new(key, normalised, hashlib.sha256).digest()[:_SIZE].hex()
