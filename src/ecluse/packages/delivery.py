"""Delivery, receipt and deletion of packages.

A recipient sees and downloads only packages addressed to its organisation; any other
attempt is refused, audited and alerted. Its receipt carries the imported row count and the
SHA-256 of the plaintext, which only decrypting the package gives: no listing, manifest or
other answer handed out shows it (the manifest has the age file's SHA-256, for integrity;
age authenticates every chunk, so an intact age file is an intact plaintext). A match shreds
the package and the quarantine (at once, or after the instruction's retention); a mismatch
deletes nothing and alerts the controller. A package not confirmed by its deadline is
shredded and alerted on; a revoked instruction takes its packages and quarantines with it.
Shredding destroys the data key, then the file (see the blob store).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ecluse.audit import Action
from ecluse.crypto._primitives import constant_time_equal
from ecluse.db.models import Extraction, Instruction, Package
from ecluse.errors import IntegrityError, PolicyViolation, ValidationError, present
from ecluse.governance import instructions as ins
from ecluse.identity import Permission, Principal, require
from ecluse.packages.states import PackageState
from ecluse.platform import Platform
from ecluse.supervision import AlertKind, Severity, raise_alert


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


def _controller_of(session: Session, package: Package) -> str:
    return present(session.get(Instruction, package.instruction_id), "instruction").controller_id


def _refuse_foreign(platform: Platform, principal: Principal, package_id: str) -> None:
    """Record and alert an attempt on a package of another organisation, then refuse."""
    with platform.db.transaction() as s:
        package = s.get(Package, package_id)
        refs = {"package": package_id}
        platform.audit.append(s, actor=principal.actor, action=Action.PACKAGE_REFUSED, refs=refs)
        if package is not None:
            raise_alert(
                s,
                platform.audit,
                kind=AlertKind.FOREIGN_PACKAGE,
                severity=Severity.CRITICAL,
                organisation_id=_controller_of(s, package),
                refs={**refs, "account": principal.account_id},
            )
    raise PolicyViolation("no such package for your organisation")


def _own(session: Session, principal: Principal, package_id: str) -> Package | None:
    try:
        uuid.UUID(package_id)
    except ValueError as e:
        raise ValidationError("a package id looks like 0b5f…-…") from e
    package = session.get(Package, package_id)
    if package is None or package.recipient_id != principal.organisation_id:
        return None
    return package


def open_package(platform: Platform, principal: Principal, package_id: str) -> Package:
    """The caller's package, or a refusal (audited; alerted when it exists elsewhere)."""
    require(principal.permissions, Permission.PACKAGE_DOWNLOAD)
    with platform.db.transaction() as s:
        package = _own(s, principal, package_id)
        if package is not None:
            s.expunge(package)
    if package is None:
        _refuse_foreign(platform, principal, package_id)
    package = present(package, "package")
    if package.state == PackageState.SHREDDED:
        raise PolicyViolation(f"package {package_id} was shredded ({package.shred_reason})")
    return package


def download(platform: Platform, principal: Principal, package_id: str) -> Iterator[bytes]:
    """The package's age ciphertext, streamed; audited before its first byte leaves (a
    client that hangs up early still got rows), and again once fully sent."""
    package = open_package(platform, principal, package_id)
    sent = 0
    refs = {"package": package_id, "instruction": package.instruction_id}
    with platform.db.transaction() as s:
        chunks = platform.store.open(s, package.blob_id)
        platform.audit.append(
            s,
            actor=principal.actor,
            action=Action.PACKAGE_DOWNLOAD_START,
            refs=refs,
            details={"via": principal.via},
        )
    for chunk in chunks:
        sent += len(chunk)
        yield chunk
    with platform.db.transaction() as s:
        platform.audit.append(
            s,
            actor=principal.actor,
            action=Action.PACKAGE_DOWNLOAD,
            refs=refs,
            details={"bytes": sent, "via": principal.via},
        )


def shred_package(platform: Platform, s: Session, package: Package, *, reason: str) -> None:
    """Shred the package and its extraction's quarantine; keep the digests for tracing."""
    platform.store.shred(s, package.blob_id)
    extraction = s.get(Extraction, package.extraction_id)
    if extraction is not None and extraction.quarantine_id:
        platform.store.shred(s, extraction.quarantine_id)
    package.state, package.shred_reason = PackageState.SHREDDED, reason
    package.shredded_at = datetime.now(UTC)
    package.shred_at = None
    s.flush()
    platform.audit.append(
        s,
        actor="system:ecluse",
        action=Action.PACKAGE_SHRED,
        refs={"package": package.id, "instruction": package.instruction_id},
        details={"reason": reason},
    )


def confirm(
    platform: Platform, principal: Principal, package_id: str, *, rows: int, sha256: str
) -> Receipt:
    """The recipient's receipt. A mismatch deletes nothing, alerts, and raises."""
    require(principal.permissions, Permission.RECEIPT_CONFIRM)
    claimed = sha256.strip().lower()
    with platform.db.transaction() as s:
        package = _own(s, principal, package_id)
        if package is not None and package.state != PackageState.READY:
            raise PolicyViolation(f"package {package_id} is {package.state}: nothing to confirm")
        if package is not None:
            matched = rows == package.rows and constant_time_equal(
                claimed.encode(), package.plaintext_sha256.encode()
            )
            if matched:
                return _accept(platform, s, principal, package, claimed)
            _mismatch(platform, s, principal, package, rows=rows)
    if package is None:
        _refuse_foreign(platform, principal, package_id)
    raise IntegrityError(
        "the receipt does not match the package (row count or SHA-256): nothing was deleted, "
        "the controller has been alerted"
    )


def _accept(
    platform: Platform, s: Session, principal: Principal, package: Package, claimed: str
) -> Receipt:
    retention = json.loads(package.manifest)["retention_days_after_receipt"]
    now = datetime.now(UTC)
    package.state, package.receipt_by, package.receipt_at = (
        PackageState.CONFIRMED,
        principal.account_id,
        now,
    )
    package.receipt_rows, package.receipt_sha256 = package.rows, claimed
    package.shred_at = now + timedelta(days=retention)
    platform.audit.append(
        s,
        actor=principal.actor,
        action=Action.RECEIPT_CONFIRM,
        refs={"package": package.id, "instruction": package.instruction_id},
        details={"rows": package.rows, "retention_days": retention},
    )
    if retention == 0:
        shred_package(platform, s, package, reason="receipt")
    return Receipt(package.id, True, retention == 0, package.shred_at)


def _mismatch(
    platform: Platform, s: Session, principal: Principal, package: Package, *, rows: int
) -> None:
    refs = {"package": package.id, "instruction": package.instruction_id}
    details = {"rows_claimed": rows, "rows_packaged": package.rows}
    platform.audit.append(
        s, actor=principal.actor, action=Action.RECEIPT_MISMATCH, refs=refs, details=details
    )
    raise_alert(
        s,
        platform.audit,
        kind=AlertKind.RECEIPT_MISMATCH,
        severity=Severity.CRITICAL,
        organisation_id=_controller_of(s, package),
        refs=refs,
        details=details,
    )


def revoke_instruction(
    platform: Platform, principal: Principal, instruction_id: str, *, reason: str
) -> int:
    """Revoke, then shred every package and quarantine made under it; return how many."""
    with platform.db.transaction() as s:
        s.get(Instruction, instruction_id, with_for_update=True)  # a running commit waits
        ins.revoke(s, principal, instruction_id, reason=reason)
        platform.audit.append(
            s,
            actor=principal.actor,
            action=Action.INSTRUCTION_REVOKE,
            refs={"instruction": instruction_id},
        )
        live = (
            s.execute(
                select(Package).where(
                    Package.instruction_id == instruction_id, Package.state != PackageState.SHREDDED
                )
            )
            .scalars()
            .all()
        )
        count = 0
        for package in live:
            shred_package(platform, s, package, reason="revoked")
            count += 1
    platform.scrub()
    return count


def enforce(platform: Platform, *, now: datetime | None = None) -> tuple[int, int]:
    """The worker's duty: shred packages past their deadline (alerting) or their retention.

    Returns (missed deadlines, retentions ended).
    """
    now = now or datetime.now(UTC)
    missed = ended = 0
    with platform.db.transaction() as s:
        overdue = (
            s.execute(
                select(Package)
                .where(Package.state == PackageState.READY, Package.deadline_at <= now)
                .with_for_update(skip_locked=True)
            )
            .scalars()
            .all()
        )
        for package in overdue:
            shred_package(platform, s, package, reason="deadline")
            raise_alert(
                s,
                platform.audit,
                kind=AlertKind.DEADLINE_MISSED,
                severity=Severity.WARNING,
                organisation_id=_controller_of(s, package),
                refs={"package": package.id, "instruction": package.instruction_id},
            )
            missed += 1
        retained = (
            s.execute(
                select(Package)
                .where(Package.state == PackageState.CONFIRMED, Package.shred_at <= now)
                .with_for_update(skip_locked=True)
            )
            .scalars()
            .all()
        )
        for package in retained:
            shred_package(platform, s, package, reason="receipt")
            ended += 1
    return missed, ended
