"""The blob store's table: one row per encrypted object."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from ecluse.db.base import Base


class Blob(Base):
    """One encrypted object of the blob store. A shredded blob keeps its row, not its key."""

    __tablename__ = "blobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(20), index=True)  # stored | shredded
    plaintext_bytes: Mapped[int] = mapped_column(BigInteger)
    ciphertext_bytes: Mapped[int] = mapped_column(BigInteger)
    kek_version: Mapped[int | None] = mapped_column(Integer, index=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    shredded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
