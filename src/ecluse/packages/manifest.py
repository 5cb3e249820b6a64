"""The package manifest, signed by the platform, and the keyed per-row digests.

The manifest says what left and under which instruction: counts, schema, SHA-256 of the
plaintext, what was dropped and screened, and a commitment to the row digests. It holds
counts and names only (the audit domain's canonical JSON refuses anything NIR-like).

Row digests are HMAC-SHA256 (first 16 bytes) under the package's own tracing key, over the
identity fields as they appear in the package (all fields if none is an identity field):
a leaked line can later be matched to the package, and without the key the digests reveal
nothing — unlike unkeyed hashes of a NIR, which a search over 10^10 values reverses.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from ecluse.audit.canonical import canonical
from ecluse.crypto.interfaces import Signer
from ecluse.crypto.signatures import verify
from ecluse.governance.dictionary import DICTIONARY, Category
from ecluse.policy import Findings
from ecluse.policy.keyed import KeyedHash

FORMAT = "ecluse-manifest-v1"
DIGEST_SIZE = 16
_UNIT = "\x1e"  # record separator between a row's fields


def digest_fields(columns: Sequence[str]) -> tuple[str, ...]:
    """The output columns a row digest covers."""
    identity = tuple(c for c in columns if DICTIONARY[c].category == Category.IDENTITY)
    return identity or tuple(columns)


def _joined(fields: Sequence[str]) -> pl.Expr:
    """A row's fields as compared when tracing: each trimmed, then joined and case-folded
    (folding the joined text once folds each field: the separator has no case)."""
    trimmed = [pl.col(f).cast(pl.Utf8).fill_null("").str.strip_chars() for f in fields]
    return pl.concat_str(trimmed, separator=_UNIT).str.to_lowercase()


class RowDigester:
    """Keyed digests of each row's identity fields, 16 bytes a row, in row order."""

    def __init__(self, key: bytes, fields: Sequence[str]) -> None:
        self._keyed, self.fields = KeyedHash(key, size=DIGEST_SIZE), tuple(fields)

    def digests(self, rows: pl.DataFrame) -> bytes:
        if rows.height == 0:
            return b""
        hexed = rows.select(self._keyed.expr(_joined(self.fields)).str.join("")).item()
        return bytes.fromhex(hexed)


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
    }


def manifest_bytes(manifest: Mapping[str, Any]) -> bytes:
    return canonical(manifest).encode()


def _message(body: bytes) -> bytes:
    return FORMAT.encode() + b"|" + body


def sign_manifest(signer: Signer, manifest: Mapping[str, Any]) -> tuple[bytes, bytes]:
    """Canonical bytes of the manifest and the platform's Ed25519 signature over them."""
    body = manifest_bytes(manifest)
    return body, signer.sign(_message(body))


def verify_manifest(*, public_key: bytes, body: bytes, signature: bytes) -> None:
    """Raise `IntegrityError` unless the platform signed exactly these bytes."""
    verify(public_key=public_key, signature=signature, message=_message(body))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
