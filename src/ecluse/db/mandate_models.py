"""Mandates: agreements (Art. 28) with their signatures, and instructions (Art. 29)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ecluse.db.base import Base


class Agreement(Base):
    """GDPR Art. 28 agreement between a controller and a processor; terms immutable."""

    __tablename__ = "agreements"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    controller_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    processor_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    terms: Mapped[str] = mapped_column(Text)  # canonical JSON
    terms_sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20))  # draft | signed
    created_by: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AgreementSignature(Base):
    __tablename__ = "agreement_signatures"

    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id"), primary_key=True)
    party: Mapped[str] = mapped_column(String(20), primary_key=True)  # controller | processor
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    kid: Mapped[str] = mapped_column(String(32))
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Instruction(Base):
    """A controller's documented instruction (Art. 29): immutable once its dpo signed it.

    `content` is what was signed; the id columns copy it for lookups and are checked against it.
    """

    __tablename__ = "instructions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id"), index=True)
    controller_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    recipient_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    content: Mapped[str] = mapped_column(Text)  # canonical JSON
    content_sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20))  # draft | signed | revoked
    kek_version: Mapped[int | None] = mapped_column(Integer, index=True)
    wrapped_pseudonym_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    signed_by: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"))
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    kid: Mapped[str | None] = mapped_column(String(32))
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    revoked_by: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoke_reason: Mapped[str | None] = mapped_column(String(500))
