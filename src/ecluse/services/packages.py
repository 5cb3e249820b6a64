"""Packages, as every channel performs them: the extraction runs under an instruction, the
inbox of instructions an operator may extract under today, the outbox of an organisation's
packages, downloads and receipts, recipient keys, SFTP transfer events, and the quarantine
side of an SFTP upload."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select

from ecluse.audit import Action
from ecluse.db.models import Blob, Extraction, Package, RecipientKey, SigningKey
from ecluse.errors import StorageError
from ecluse.identity import Permission, Principal
from ecluse.instance.platform import Platform
from ecluse.mandates import instructions
from ecluse.packages import delivery
from ecluse.packages.recipients import add_key, revoke_key
from ecluse.packages.states import PackageState
from ecluse.services.access import permit, refusals_audited
from ecluse.services.delivery import Receipt, confirm, download, open_package
from ecluse.services.extraction import extract
from ecluse.services.step_up import confirm_presence

__all__ = ["Receipt", "Transfer", "confirm", "download", "extract", "open_package"]


class Transfer(StrEnum):
    """What the SFTP server records of its own acts; nothing else."""

    OPEN = "open"
    CLOSE = "close"
    REFUSED = "refused"


_TRANSFER_ACTIONS = {
    Transfer.OPEN: Action.SFTP_OPEN,
    Transfer.CLOSE: Action.SFTP_CLOSE,
    Transfer.REFUSED: Action.SFTP_REFUSED,
}


@dataclass(frozen=True, slots=True)
class Run:
    """One extraction run: its state, times, bytes read, and why it failed."""

    id: str
    state: str
    started_at: datetime
    finished_at: datetime | None
    source_bytes: int | None
    error: str | None


@dataclass(frozen=True, slots=True)
class Shelved:
    """A package on an organisation's shelf, as a file listing shows it."""

    id: str
    plaintext_bytes: int
    created_at: datetime
    manifest_bytes: int


@dataclass(frozen=True, slots=True)
class ManifestKey:
    kid: str
    public_key: bytes


def runs(platform: Platform, p: Principal, instruction_id: str) -> list[Run]:
    """The caller's own extraction runs under an instruction, oldest first."""
    permit(platform, p, Permission.EXTRACTION_RUN)
    with platform.db.transaction() as s:
        rows = s.execute(
            select(Extraction)
            .where(
                Extraction.instruction_id == instruction_id,
                Extraction.operator_id == p.account_id,
            )
            .order_by(Extraction.started_at)
        ).scalars()
        return [
            Run(r.id, r.state, r.started_at, r.finished_at, r.source_bytes, r.error) for r in rows
        ]


def inbox(platform: Platform, p: Principal) -> list[str]:
    """Signed instructions, valid today, of agreements the caller's organisation processes."""
    permit(platform, p, Permission.EXTRACTION_RUN)
    with platform.db.transaction() as s:
        return instructions.open_for(s, p.organisation_id, today=datetime.now(UTC).date())


def processed_here(platform: Platform, p: Principal, instruction_id: str) -> bool:
    """Whether the instruction (in any state) is one the caller's organisation processes."""
    permit(platform, p, Permission.EXTRACTION_RUN)
    with platform.db.transaction() as s:
        return instructions.processed_by(s, instruction_id, p.organisation_id)


def list_packages(platform: Platform, p: Principal, *, channel: str) -> list[Package]:
    """Packages addressed to the caller's organisation, newest first; the listing audited."""
    permit(platform, p, Permission.PACKAGE_DOWNLOAD)
    with platform.db.transaction() as s:
        rows = delivery.list_packages(s, p)
        platform.audit.append(
            s,
            actor=p.actor,
            action=Action.PACKAGE_LIST,
            details={"packages": len(rows), "via": channel},
        )
    return rows


def shelf(platform: Platform, p: Principal, *, listing: bool) -> list[Shelved]:
    """The organisation's packages not shredded; a listing is audited (as `list_packages`),
    a look at one file's attributes is not."""
    permit(platform, p, Permission.PACKAGE_DOWNLOAD)
    if listing:
        packages = list_packages(platform, p, channel="sftp")
    else:
        with platform.db.transaction() as s:
            packages = delivery.list_packages(s, p)
    out = []
    with platform.db.transaction() as s:
        for package in packages:
            blob = s.get(Blob, package.blob_id)
            if package.state != PackageState.SHREDDED and blob is not None:
                out.append(
                    Shelved(
                        package.id,
                        blob.plaintext_bytes,
                        package.created_at,
                        len(package.manifest.encode()),
                    )
                )
    return out


def manifest_key(platform: Platform, package: Package) -> ManifestKey:
    """The public key that signed an opened package's manifest (`open_package`)."""
    with platform.db.transaction() as s:
        signer = s.get(SigningKey, package.kid)
    if signer is None:
        raise StorageError("the manifest's signing key is not recorded")
    return ManifestKey(signer.kid, bytes(signer.public_key))


def recipient_keys(platform: Platform, p: Principal) -> list[RecipientKey]:
    """The caller's organisation's keys, revoked ones too, oldest first."""
    permit(platform, p, Permission.RECIPIENT_KEYS)
    with platform.db.transaction() as s:
        rows = (
            s.execute(
                select(RecipientKey)
                .where(RecipientKey.organisation_id == p.organisation_id)
                .order_by(RecipientKey.added_at)
            )
            .scalars()
            .all()
        )
        s.expunge_all()
    return list(rows)


def add_recipient_key(
    platform: Platform, p: Principal, public_key: str, label: str, *, code: str | None
) -> RecipientKey:
    confirm_presence(platform, p, code, command="recipient-keys add")
    with refusals_audited(platform, p, "recipient-keys add"), platform.db.transaction() as s:
        row = add_key(s, p, public_key=public_key, label=label)
        platform.audit.append(
            s,
            actor=p.actor,
            action=Action.RECIPIENT_KEY_ADD,
            refs={"key": row.id},
            details={"fingerprint": row.fingerprint, "kind": row.kind},
        )
    return row


def revoke_recipient_key(platform: Platform, p: Principal, key_id: str) -> None:
    with (
        refusals_audited(platform, p, "recipient-keys revoke", key=key_id),
        platform.db.transaction() as s,
    ):
        row = revoke_key(s, p, key_id)
        platform.audit.append(
            s, actor=p.actor, action=Action.RECIPIENT_KEY_REVOKE, refs={"key": row.id}
        )


def record_transfer(
    platform: Platform, p: Principal, event: Transfer, refs: dict[str, str], **details: Any
) -> None:
    """Audit one act of the SFTP server (an open, a close, a refusal) by `p`."""
    action = _TRANSFER_ACTIONS[event]
    with platform.db.transaction() as s:
        platform.audit.append(s, actor=p.actor, action=action, refs=refs, details=details)
