"""The package manifest, signed by the platform, and the keyed per-row digests.

The manifest says what left and under which instruction: counts, schema, SHA-256 of the age
file as delivered (not of the plaintext: that one is what a receipt must present, so only who
decrypted the package can know it), what was dropped, screened, neutralised and blanked (a
date transform of what is no date), and a commitment to the row digests. It holds counts and
names only (the audit domain's canonical JSON refuses anything NIR-like).

Row digests are HMAC-SHA256 (first 16 bytes) under the package's own tracing key, over the
identity fields as they appear in the package (all fields if none is an identity field):
a leaked line can later be matched to the package, and without the key the digests reveal
nothing — unlike unkeyed hashes of a NIR, which a search over 10^10 values reverses. A cell
neutralised against CSV injection (`'+33 6…`) digests as the value it neutralises, whether a
leak carries the quote or a spreadsheet dropped it.
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

FORMAT = "ecluse-manifest-v2"  # v2: data.age_sha256 replaces v1's plaintext data.sha256
SIGNING_CONTEXT = b"ecluse-manifest-v1|"  # the signature is over <context><manifest bytes>
DIGEST_SIZE = 16
_UNIT = "\x1e"  # record separator between a row's fields


def digest_fields(columns: Sequence[str]) -> tuple[str, ...]:
    """The output columns a row digest covers."""
    identity = tuple(c for c in columns if DICTIONARY[c].category == Category.IDENTITY)
    return identity or tuple(columns)


_NEUTRALISED = r"^'+([=+\-@\t\r])"  # quotes put before a formula-like start, any number
_QUOTED = r"^\s*'+[=+\-@\t\r]"  # … as a cell may carry them, before it is trimmed


def _canonical(column: str, *, quoted: bool) -> pl.Expr:
    """A field as compared when tracing: trimmed and, if any cell of the column has them,
    without the quotes that neutralise a formula-like start (the package adds one, a
    spreadsheet drops it), trimmed again."""
    value = pl.col(column).cast(pl.Utf8).fill_null("").str.strip_chars()
    return value.str.replace(_NEUTRALISED, "$1").str.strip_chars() if quoted else value


def _joined(fields: Sequence[str], quoted: Sequence[bool]) -> pl.Expr:
    """A row's fields as compared when tracing, joined and case-folded (folding the joined
    text once folds each field: the separator has no case)."""
    parts = [_canonical(f, quoted=q) for f, q in zip(fields, quoted, strict=True)]
    return pl.concat_str(parts, separator=_UNIT).str.to_lowercase()


class RowDigester:
    """Keyed digests of each row's identity fields, 16 bytes a row, in row order."""

    def __init__(self, key: bytes, fields: Sequence[str]) -> None:
        self._keyed, self.fields = KeyedHash(key, size=DIGEST_SIZE), tuple(fields)

    def digests(self, rows: pl.DataFrame) -> bytes:
        if rows.height == 0:
            return b""
        quoted = rows.select(  # a cheap scan: unquoting is a copy, and rarely needed
            pl.col(f).cast(pl.Utf8).str.contains(_QUOTED).any() for f in self.fields
        ).row(0)
        joined = _joined(self.fields, [bool(q) for q in quoted])
        hexed = rows.select(self._keyed.expr(joined).str.join("")).item()
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
