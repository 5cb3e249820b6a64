"""Delivery, receipt and deletion of packages: the rules, on a Session (the services record
and audit them: `ecluse.services.delivery`).

A recipient sees and downloads only packages addressed to its organisation. Its receipt
carries the imported row count and the SHA-256 of the plaintext, which only decrypting the
package gives: no listing, manifest or other answer handed out shows it (the manifest has the
age file's SHA-256, for integrity; age authenticates every chunk, so an intact age file is an
intact plaintext). A match shreds the package and the quarantine (at once, or after the
instruction's retention); a mismatch deletes nothing. A package not confirmed by its deadline
is shredded; a revoked instruction takes its packages and quarantines with it. Shredding
destroys the data key, then the file (see the blob store).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from ecluse.crypto._primitives import constant_time_equal
from ecluse.db.models import Extraction, Instruction, Package
from ecluse.errors import PolicyViolation, ValidationError, present
from ecluse.identity import Permission, Principal, require
from ecluse.packages.states import PackageState
from ecluse.store.interfaces import BlobStore


@dataclass(frozen=True, slots=True)
class Receipt:
    package_id: str
    matched: bool
    shredded: bool
    shred_at: datetime | None


def list_packages(session: Session, principal: Principal) -> list[Package]:
    """Packages addressed to the caller's organisation, newest first."""
    require(principal.permissions, Permission.PACKAGE_DOWNLOAD)
    stmt = (
        select(Package)
        .where(Package.recipient_id == principal.organisation_id)
        .order_by(Package.created_at.desc())
    )
    return list(session.execute(stmt).scalars())


def controller_of(session: Session, package: Package) -> str:
    return present(session.get(Instruction, package.instruction_id), "instruction").controller_id


def own(session: Session, principal: Principal, package_id: str) -> Package | None:
    """The package if it is addressed to the caller's organisation; None if not (or none)."""
    try:
        uuid.UUID(package_id)
    except ValueError as e:
        raise ValidationError("a package id looks like 0b5f…-…") from e
    package = session.get(Package, package_id)
    if package is None or package.recipient_id != principal.organisation_id:
        return None
    return package


def check_open(package: Package) -> Package:
    if package.state == PackageState.SHREDDED:
        raise PolicyViolation(f"package {package.id} was shredded ({package.shred_reason})")
    return package


def mark_shredded(session: Session, store: BlobStore, package: Package, *, reason: str) -> None:
    """Shred the package and its extraction's quarantine; keep the digests for tracing."""
    store.shred(session, package.blob_id)
    extraction = session.get(Extraction, package.extraction_id)
    if extraction is not None and extraction.quarantine_id:
        store.shred(session, extraction.quarantine_id)
    package.state, package.shred_reason = PackageState.SHREDDED, reason
    package.shredded_at = datetime.now(UTC)
    package.shred_at = None
    session.flush()


def receipt_matches(package: Package, *, rows: int, sha256: str) -> bool:
    """Whether a receipt names the package's rows and plaintext digest (constant time)."""
    if package.state != PackageState.READY:
        raise PolicyViolation(f"package {package.id} is {package.state}: nothing to confirm")
    return rows == package.rows and constant_time_equal(
        sha256.encode(), package.plaintext_sha256.encode()
    )


def accept(package: Package, principal: Principal, sha256: str) -> int:
    """Record a matching receipt; the days the package is kept after it (0: shred now)."""
    retention: int = json.loads(package.manifest)["retention_days_after_receipt"]
    now = datetime.now(UTC)
    package.state, package.receipt_by, package.receipt_at = (
        PackageState.CONFIRMED,
        principal.account_id,
        now,
    )
    package.receipt_rows, package.receipt_sha256 = package.rows, sha256
    package.shred_at = now + timedelta(days=retention)
    return retention


def live_under(session: Session, instruction_id: str) -> Sequence[Package]:
    """The instruction's packages not shredded yet."""
    return (
        session.execute(
            select(Package).where(
                Package.instruction_id == instruction_id, Package.state != PackageState.SHREDDED
            )
        )
        .scalars()
        .all()
    )


def _locked(session: Session, *conditions: ColumnElement[bool]) -> Sequence[Package]:
    """The packages meeting `conditions`, locked (a node busy with one skips it)."""
    query = select(Package).where(*conditions).with_for_update(skip_locked=True)
    return session.execute(query).scalars().all()


def overdue(session: Session, now: datetime) -> Sequence[Package]:
    """Ready packages past their deadline, locked."""
    return _locked(session, Package.state == PackageState.READY, Package.deadline_at <= now)


def retained(session: Session, now: datetime) -> Sequence[Package]:
    """Confirmed packages whose retention after receipt has ended, locked."""
    return _locked(session, Package.state == PackageState.CONFIRMED, Package.shred_at <= now)
