"""Packages: recipient keys, extraction runs, packages and the migration's sign-off."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ecluse.db.base import Base


class RecipientKey(Base):
    """A public key (age X25519 or ssh-ed25519) a recipient organisation's packages go to.

    Added by a recipient of that organisation only: an admin cannot redirect packages.
    """

    __tablename__ = "recipient_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # X25519 | ssh-ed25519
    public_key: Mapped[str] = mapped_column(Text)  # canonical text form
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    added_by: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Extraction(Base):
    """One run of the policy engine over a source, under a signed instruction."""

    __tablename__ = "extractions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instruction_id: Mapped[str] = mapped_column(ForeignKey("instructions.id"), index=True)
    operator_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    # running | packaged | failed | stopped | abandoned (its process ended before it finished)
    state: Mapped[str] = mapped_column(String(20), index=True)
    source_name: Mapped[str] = mapped_column(String(255))
    source_bytes: Mapped[int | None] = mapped_column(BigInteger)
    quarantine_id: Mapped[str | None] = mapped_column(ForeignKey("blobs.id"))
    findings: Mapped[str | None] = mapped_column(Text)  # canonical JSON: counts and names only
    error: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the process running it (host:pid:nonce), renewing its lease while it works
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    writing: Mapped[str | None] = mapped_column(String(120))  # ids of the objects it writes


class Package(Base):
    """A governed output, encrypted to its recipient (age), with the platform's signed manifest.

    The tracing key (per package, sealed by the KEK) keys the row digests kept after the
    package is shredded, so a leaked sample can later be traced to it.
    """

    __tablename__ = "packages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    extraction_id: Mapped[str] = mapped_column(ForeignKey("extractions.id"), unique=True)
    instruction_id: Mapped[str] = mapped_column(ForeignKey("instructions.id"), index=True)
    recipient_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    blob_id: Mapped[str] = mapped_column(ForeignKey("blobs.id"))
    digests_id: Mapped[str] = mapped_column(ForeignKey("blobs.id"))
    state: Mapped[str] = mapped_column(String(20), index=True)  # ready|confirmed|shredded
    rows: Mapped[int] = mapped_column(BigInteger)
    plaintext_sha256: Mapped[str] = mapped_column(String(64))
    manifest: Mapped[str] = mapped_column(Text)  # canonical JSON
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    kid: Mapped[str] = mapped_column(ForeignKey("signing_keys.kid"))
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    kek_version: Mapped[int | None] = mapped_column(Integer, index=True)
    wrapped_trace_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    canaries: Mapped[bytes] = mapped_column(LargeBinary)  # digests of the canary rows
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deadline_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    receipt_by: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"))
    receipt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    receipt_rows: Mapped[int | None] = mapped_column(BigInteger)
    receipt_sha256: Mapped[str | None] = mapped_column(String(64))
    shred_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    shredded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    shred_reason: Mapped[str | None] = mapped_column(String(40))


class MigrationSignOff(Base):
    """The controller's dpo closing a migration (one instruction) over its report's digest."""

    __tablename__ = "migration_signoffs"

    instruction_id: Mapped[str] = mapped_column(ForeignKey("instructions.id"), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    kid: Mapped[str] = mapped_column(String(32))
    report_sha256: Mapped[str] = mapped_column(String(64))
    report: Mapped[str] = mapped_column(Text)  # the canonical JSON that was signed
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    comment: Mapped[str] = mapped_column(String(1000))
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
