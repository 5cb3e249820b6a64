"""Raising an alert: a row for the organisation that must answer it, and an audit event."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from ecluse.audit import Action, AuditLog
from ecluse.audit.canonical import JsonValue, canonical
from ecluse.db.models import Alert


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertKind(StrEnum):
    VOLUME_EXCEEDED = "extraction:volume-exceeded"
    CREDENTIALS_REFUSED = "extraction:credentials-refused"
    REVOKED_DURING_EXTRACTION = "extraction:revoked-during-run"
    RECEIPT_MISMATCH = "package:receipt-mismatch"
    DEADLINE_MISSED = "package:deadline-missed"
    FOREIGN_PACKAGE = "package:other-organisation"


def raise_alert(
    session: Session,
    audit: AuditLog,
    *,
    kind: AlertKind,
    severity: Severity,
    organisation_id: str,
    refs: Mapping[str, str],
    details: Mapping[str, JsonValue] | None = None,
    actor: str = "system:ecluse",
) -> str:
    """Open an alert for `organisation_id` (the controller whose data it concerns)."""
    alert = Alert(
        id=str(uuid.uuid4()),
        kind=kind.value,
        severity=severity.value,
        state="open",
        organisation_id=organisation_id,
        refs=canonical(dict(refs)),
        details=canonical(dict(details or {})),
        created_at=datetime.now(UTC),
    )
    session.add(alert)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=Action.ALERT_RAISE,
        refs={"alert": alert.id, **refs},
        details={"kind": kind.value, "severity": severity.value, **(details or {})},
    )
    return alert.id
