"""Key-encryption key rotation: a new KEK version, every data key rewrapped, old versions
destroyed. Blob files are not rewritten: only the wrapped keys in the database change.

Crash-safe: previous versions stay until no row uses them, so re-running finishes the job.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from ecluse.audit import Action, AuditLog
from ecluse.crypto.envelope import Envelope
from ecluse.crypto.interfaces import KekState, KeyManager, WrappedKey
from ecluse.db import Database
from ecluse.db.models import Blob
from ecluse.errors import KeyManagerError

_BATCH = 500


@dataclass(frozen=True, slots=True)
class RotationResult:
    new_version: int
    rewrapped: int
    destroyed: list[int]


def rotate(*, db: Database, keys: KeyManager, audit: AuditLog, actor: str) -> RotationResult:
    envelope = Envelope(keys)
    new = keys.create_version()
    rewrapped = 0
    while True:
        with db.transaction() as s:
            rows = (
                s.execute(
                    select(Blob)
                    .where(Blob.kek_version.is_not(None), Blob.kek_version != new)
                    .limit(_BATCH)
                )
                .scalars()
                .all()
            )
            for row in rows:
                if row.wrapped_key is None or row.kek_version is None:
                    continue
                w = envelope.rewrap(row.id, WrappedKey(row.kek_version, row.wrapped_key))
                row.kek_version, row.wrapped_key = w.kek_version, w.ciphertext
            rewrapped += len(rows)
        if not rows:
            break
    retired = [v.version for v in keys.versions() if v.state == KekState.PREVIOUS]
    with db.transaction() as s:
        left = s.execute(
            select(func.count()).select_from(Blob).where(Blob.kek_version.in_(retired))
        ).scalar()
        if left:
            raise KeyManagerError(
                "objects were wrapped under an old key during rotation: "
                "run `ecluse keys rotate` again"
            )
        audit.append(
            s,
            actor=actor,
            action=Action.KEK_ROTATE,
            details={
                "new_version": new,
                "rewrapped": rewrapped,
                "destroyed": retired,
                "key_manager": keys.name,
            },
        )
    for v in retired:
        keys.destroy_version(v)
    return RotationResult(new_version=new, rewrapped=rewrapped, destroyed=retired)
