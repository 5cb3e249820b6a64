"""Packages leaving, as every channel performs it: opening one (an attempt on another
organisation's is refused, audited and alerted), downloading it (audited before its first
byte and once fully sent), the recipient's receipt (a mismatch deletes nothing and alerts the
controller), revoking an instruction (its packages and quarantines shredded), and the
worker's deadlines and retentions. Every shred is audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from ecluse.audit import Action
from ecluse.db.models import Instruction, Package
from ecluse.errors import IntegrityError, PolicyViolation, present
from ecluse.identity import Permission, Principal, require
from ecluse.instance.platform import Platform
from ecluse.mandates import instructions as ins
from ecluse.packages.delivery import (
    Receipt,
    accept,
    check_open,
    controller_of,
    live_under,
    mark_shredded,
    overdue,
    own,
    receipt_matches,
    retained,
)
from ecluse.services.alerting import raise_alert
from ecluse.supervision import AlertKind, Severity

__all__ = ["Receipt", "confirm", "download", "enforce", "open_package", "revoke_instruction"]


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
                organisation_id=controller_of(s, package),
                refs={**refs, "account": principal.account_id},
            )
    raise PolicyViolation("no such package for your organisation")


def open_package(platform: Platform, principal: Principal, package_id: str) -> Package:
    """The caller's package, or a refusal (audited; alerted when it exists elsewhere)."""
    require(principal.permissions, Permission.PACKAGE_DOWNLOAD)
    with platform.db.transaction() as s:
        package = own(s, principal, package_id)
        if package is not None:
            s.expunge(package)
    if package is None:
        _refuse_foreign(platform, principal, package_id)
    return check_open(present(package, "package"))


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


def shred(platform: Platform, s: Session, package: Package, *, reason: str) -> None:
    """Shred the package and its quarantine (the digests stay, for tracing); audited."""
    mark_shredded(s, platform.store, package, reason=reason)
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
        package = own(s, principal, package_id)
        if package is not None:
            if receipt_matches(package, rows=rows, sha256=claimed):
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
    retention = accept(package, principal, claimed)
    platform.audit.append(
        s,
        actor=principal.actor,
        action=Action.RECEIPT_CONFIRM,
        refs={"package": package.id, "instruction": package.instruction_id},
        details={"rows": package.rows, "retention_days": retention},
    )
    if retention == 0:
        shred(platform, s, package, reason="receipt")
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
        organisation_id=controller_of(s, package),
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
        live = live_under(s, instruction_id)
        for package in live:
            shred(platform, s, package, reason="revoked")
    platform.scrub()
    return len(live)


def enforce(platform: Platform, *, now: datetime | None = None) -> tuple[int, int]:
    """The worker's duty: shred packages past their deadline (alerting) or their retention.

    Returns (missed deadlines, retentions ended).
    """
    now = now or datetime.now(UTC)
    with platform.db.transaction() as s:
        missed = overdue(s, now)
        for package in missed:
            shred(platform, s, package, reason="deadline")
            raise_alert(
                s,
                platform.audit,
                kind=AlertKind.DEADLINE_MISSED,
                severity=Severity.WARNING,
                organisation_id=controller_of(s, package),
                refs={"package": package.id, "instruction": package.instruction_id},
            )
        ended = retained(s, now)
        for package in ended:
            shred(platform, s, package, reason="receipt")
    return len(missed), len(ended)
