"""The package manifest, signed by the platform.

The manifest says what left and under which instruction: counts, schema, SHA-256 of the age
file as delivered (not of the plaintext: that one is what a receipt must present, so only who
decrypted the package can know it), what was dropped, screened, neutralised and blanked (a
date transform of what is no date), and a commitment to the row digests. It holds counts and
names only (the audit domain's canonical JSON refuses anything NIR-like).

The row digests that let a leak be traced are described in `ecluse.packages.digests`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from ecluse.audit.canonical import canonical
from ecluse.crypto.interfaces import Signer
from ecluse.crypto.signatures import verify
from ecluse.policy import Findings

FORMAT = "ecluse-manifest-v2"  # v2: data.age_sha256 replaces v1's plaintext data.sha256
SIGNING_CONTEXT = b"ecluse-manifest-v1|"  # the signature is over <context><manifest bytes>


def findings_json(findings: Findings) -> dict[str, Any]:
    return {
        "rows_read": findings.rows_read,
        "rows_in_scope": findings.rows_in_scope,
        "rows_out_of_scope": findings.rows_out_of_scope,
        "dropped": [
            {"column": column, "reason": reason}
            for column, reason in sorted(findings.dropped.items())
        ],
        "transforms": dict(sorted(findings.transforms.items())),
        "screening": {
            name: {str(k): v for k, v in sorted(counts.items())}
            for name, counts in sorted(findings.screening.items())
        },
        "neutralised": {name: n for name, n in sorted(findings.neutralised.items()) if n},
        "blanked": {name: n for name, n in sorted(findings.blanked.items()) if n},
        "volume": dict(sorted(findings.volume.items())),
    }


def manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    return canonical(manifest).encode()


def _message(body: bytes) -> bytes:
    return SIGNING_CONTEXT + body


def sign_manifest(signer: Signer, manifest: Mapping[str, Any]) -> tuple[bytes, bytes]:
    """Canonical bytes of the manifest and the platform's Ed25519 signature over them."""
    body = manifest_bytes(manifest)
    return body, signer.sign(_message(body))


def verify_manifest(*, public_key: bytes, body: bytes, signature: bytes) -> None:
    """Raise `IntegrityError` unless the platform signed exactly these bytes."""
    verify(public_key=public_key, signature=signature, message=_message(body))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
