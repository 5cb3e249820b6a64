"""Key-encryption key rotation: a new KEK version, every wrapped key rewrapped (blobs' data
keys, people's signing keys and TOTP secrets, instructions' pseudonymisation keys,
packages' tracing keys), old versions destroyed.
Blob files are not rewritten: only the wrapped keys in the database change.

Crash-safe: previous versions stay until no row uses them, so re-running finishes the job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ecluse.crypto.envelope import object_aad, package_trace_aad, pseudonym_key_aad
from ecluse.crypto.interfaces import KekState, KeyManager, WrappedKey
from ecluse.crypto.personal import owner_aad
from ecluse.db import Database
from ecluse.db.models import Blob, Credential, Instruction, Package, PersonalKey
from ecluse.errors import KeyManagerError
from ecluse.identity.credentials import totp_aad

_BATCH = 500


@dataclass(frozen=True, slots=True)
class RotationResult:
    new_version: int
    rewrapped: int
    destroyed: list[int]


Sealable = Blob | PersonalKey | Instruction | Package | Credential


@dataclass(frozen=True, slots=True)
class _Sealed:
    """A table whose rows hold keys wrapped by the KEK, and how each row's AAD is made."""

    model: type[Sealable]
    column: str
    aad: Callable[[Sealable], bytes]


SEALED = (
    _Sealed(Blob, "wrapped_key", lambda r: object_aad(r.id)),  # type: ignore[union-attr]
    _Sealed(PersonalKey, "wrapped_seed", lambda r: owner_aad(r.account_id)),  # type: ignore[union-attr]
    _Sealed(Instruction, "wrapped_pseudonym_key", lambda r: pseudonym_key_aad(r.id)),  # type: ignore[union-attr]
    _Sealed(Package, "wrapped_trace_key", lambda r: package_trace_aad(r.id)),  # type: ignore[union-attr]
    _Sealed(Credential, "wrapped_totp_secret", lambda r: totp_aad(r.account_id)),  # type: ignore[union-attr]
)


def _rewrap(db: Database, keys: KeyManager, sealed: _Sealed, new: int) -> int:
    """Rewrap every key of one table under version `new`, in batches; return how many."""
    done = 0
    while True:
        with db.transaction() as s:
            stmt = (
                select(sealed.model)
                .where(sealed.model.kek_version.is_not(None), sealed.model.kek_version != new)
                .limit(_BATCH)
            )
            rows = cast("list[Sealable]", s.execute(stmt).scalars().all())
            for row in rows:
                wrapped = getattr(row, sealed.column)
                if wrapped is None or row.kek_version is None:
                    continue
                aad = sealed.aad(row)
                key = keys.unwrap(WrappedKey(row.kek_version, bytes(wrapped)), aad=aad)
                w = keys.wrap(key, aad=aad)
                row.kek_version = w.kek_version
                setattr(row, sealed.column, w.ciphertext)
            done += len(rows)
        if not rows:
            return done


def rewrap_all(*, db: Database, keys: KeyManager) -> RotationResult:
    """A new version, every wrapped key rewrapped under it, and the versions it retires (to
    destroy once `check_unused` and the rotation's audit event have committed)."""
    new = keys.create_version()
    rewrapped = sum(_rewrap(db, keys, sealed, new) for sealed in SEALED)
    retired = [v.version for v in keys.versions() if v.state == KekState.PREVIOUS]
    return RotationResult(new_version=new, rewrapped=rewrapped, destroyed=retired)


def check_unused(session: Session, retired: list[int]) -> None:
    """Refuse to retire versions a key was wrapped under meanwhile."""
    left = sum(
        session.execute(
            select(func.count())
            .select_from(sealed.model)
            .where(sealed.model.kek_version.in_(retired))
        ).scalar()
        or 0
        for sealed in SEALED
    )
    if left:
        raise KeyManagerError(
            "keys were wrapped under an old version during rotation: run `ecluse keys rotate` again"
        )


def destroy(keys: KeyManager, retired: list[int]) -> None:
    for v in retired:
        keys.destroy_version(v)
