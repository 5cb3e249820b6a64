"""Export of the audit trail as JSON lines, and reading an export back for verification.

Line 1 is a header with the public keys; then one line per event (in order), then one per
checkpoint. Nothing in it is patient data: audit details never hold any.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ecluse.audit.chain import CheckpointRecord
from ecluse.audit.log import format_ts, utcnow
from ecluse.audit.records import checkpoints, iter_events, public_keys
from ecluse.audit.slice import is_slice, verify_slice
from ecluse.audit.verify import EventRow, VerifyReport, verify_chain
from ecluse.errors import IntegrityError, ValidationError

FORMAT = "ecluse-audit-export-v1"
_FIELDS = ("seq", "ts", "actor", "action", "refs", "details", "prev_hash", "hash")


def export(engine: Engine, out: IO[str]) -> int:
    """Write the whole trail to `out`; return the number of events written."""
    with Session(engine) as session:
        cps, keys = checkpoints(session), public_keys(session)
    header = {
        "type": "header",
        "format": FORMAT,
        "exported_at": format_ts(utcnow()),
        "keys": [
            {"kid": k, "alg": "ed25519", "public_key": v.hex()} for k, v in sorted(keys.items())
        ],
    }
    out.write(json.dumps(header) + "\n")
    n = 0
    for row in iter_events(engine):
        line: dict[str, Any] = {"type": "event", **dict(zip(_FIELDS, row, strict=True))}
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
        n += 1
    for c in cps:
        out.write(
            json.dumps(
                {
                    "type": "checkpoint",
                    "seq": c.seq,
                    "head_hash": c.head_hash,
                    "ts": c.ts,
                    "kid": c.kid,
                    "signature": c.signature.hex(),
                }
            )
            + "\n"
        )
    return n


def verify_export(path: Path, *, pinned: dict[str, bytes] | None = None) -> VerifyReport:
    """Verify an export (or an organisation's slice), trusting only `pinned` keys when given,
    else the export's own."""
    if is_slice(path):
        return verify_slice(path, pinned=pinned)
    keys, cps = _read_keys_and_checkpoints(path)
    return verify_chain(_read_events(path), cps, pinned if pinned is not None else keys)


def _lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            yield number, _parse(line, number)


def _read_keys_and_checkpoints(path: Path) -> tuple[dict[str, bytes], list[CheckpointRecord]]:
    keys: dict[str, bytes] = {}
    cps: list[CheckpointRecord] = []
    for number, doc in _lines(path):
        try:
            if doc.get("type") == "header":
                if doc.get("format") != FORMAT:
                    raise ValidationError("not an Écluse audit export")
                keys.update({k["kid"]: bytes.fromhex(k["public_key"]) for k in doc["keys"]})
            elif doc.get("type") == "checkpoint":
                cps.append(
                    CheckpointRecord(
                        seq=int(doc["seq"]),
                        head_hash=str(doc["head_hash"]),
                        ts=str(doc["ts"]),
                        kid=str(doc["kid"]),
                        signature=bytes.fromhex(doc["signature"]),
                    )
                )
        except (KeyError, TypeError, ValueError) as e:
            raise IntegrityError(f"export line {number} is malformed") from e
    return keys, cps


def _read_events(path: Path) -> Iterator[EventRow]:
    for number, doc in _lines(path):
        if doc.get("type") == "event":
            yield _event(doc, number)


def _parse(line: str, number: int) -> dict[str, Any]:
    try:
        doc = json.loads(line)
    except ValueError as e:
        raise IntegrityError(f"export line {number} is not valid JSON") from e
    if not isinstance(doc, dict):
        raise IntegrityError(f"export line {number} is not an object")
    return doc


def _event(doc: dict[str, Any], number: int) -> EventRow:
    try:
        return (
            int(doc["seq"]),
            str(doc["ts"]),
            str(doc["actor"]),
            str(doc["action"]),
            str(doc["refs"]),
            str(doc["details"]),
            str(doc["prev_hash"]),
            str(doc["hash"]),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise IntegrityError(f"export line {number} is not a complete event") from e
