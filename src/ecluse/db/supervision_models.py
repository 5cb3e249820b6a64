"""Supervision's tables: alerts and their handling, deliveries to sinks, detector state,
staff security reports. None of them ever holds patient data."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ecluse.db.base import Base

TZ = DateTime(timezone=True)


class Alert(Base):
    """Something a named person must answer. Repeats of the same cause (`group_key`) while it
    is still open are counted on one alert instead of opening new ones."""

    __tablename__ = "alerts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(60), index=True)
    severity: Mapped[str] = mapped_column(String(20))  # info | warning | critical
    state: Mapped[str] = mapped_column(String(20), index=True)  # open | acknowledged | resolved
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    refs: Mapped[str] = mapped_column(Text)  # canonical JSON: ids of what it is about
    details: Mapped[str] = mapped_column(Text)  # canonical JSON: counts and names only
    created_at: Mapped[datetime] = mapped_column(TZ)
    group_key: Mapped[str] = mapped_column(String(200), index=True, default="")
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    last_seen_at: Mapped[datetime | None] = mapped_column(TZ)
    level: Mapped[int] = mapped_column(Integer, default=0)  # 0 first contact, 1 second, 2 dpo+admin
    level_since: Mapped[datetime | None] = mapped_column(TZ)
    acknowledged_at: Mapped[datetime | None] = mapped_column(TZ)
    resolved_at: Mapped[datetime | None] = mapped_column(TZ)


class AlertChange(Base):
    """A named person moving an alert to another state, with the reason they wrote."""

    __tablename__ = "alert_changes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    from_state: Mapped[str] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(TZ)


class AlertContact(Base):
    """Who an organisation's alerts go to first (level 1) and when unanswered (level 2)."""

    __tablename__ = "alert_contacts"

    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    level: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))


class AlertDelivery(Base):
    """One message for one sink (and one address, for e-mail), written in the transaction
    that raised or changed the alert and kept until the sink took it: alerts are never lost."""

    __tablename__ = "alert_deliveries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"), index=True)
    event: Mapped[str] = mapped_column(String(20))  # raised | repeated | escalated | acknowledged…
    sink: Mapped[str] = mapped_column(String(20))  # smtp | webhook | syslog | log
    address: Mapped[str] = mapped_column(String(254))  # an e-mail address, or ""
    state: Mapped[str] = mapped_column(String(20), index=True)  # pending | sent
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(TZ, index=True)
    last_error: Mapped[str | None] = mapped_column(String(100))  # the error's type, never text
    created_at: Mapped[datetime] = mapped_column(TZ)
    sent_at: Mapped[datetime | None] = mapped_column(TZ)


class SupervisionCursor(Base):
    """How far the detectors have read the audit stream (one row per reader)."""

    __tablename__ = "supervision_cursors"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    event_ts: Mapped[str | None] = mapped_column(String(32))  # the last event read
    updated_at: Mapped[datetime] = mapped_column(TZ)


class DetectorMemory(Base):
    """What a detector remembers between batches (recent failures, known networks), shared
    by every server process; forgotten at `expires_at`."""

    __tablename__ = "detector_memory"

    detector: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    value: Mapped[str] = mapped_column(Text)  # canonical JSON
    expires_at: Mapped[datetime] = mapped_column(TZ, index=True)


class SecurityReport(Base):
    """A staff member's security concern. Never deleted (a database trigger refuses it); its
    subject and text are one encrypted blob; who filed it is shown to the controller's dpo only."""

    __tablename__ = "security_reports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    reporter_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    anonymous: Mapped[bool] = mapped_column(Boolean)
    body_blob_id: Mapped[str] = mapped_column(ForeignKey("blobs.id"))
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"))
    created_at: Mapped[datetime] = mapped_column(TZ)
