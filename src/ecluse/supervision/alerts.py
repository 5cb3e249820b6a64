"""Recording an alert: a row for the organisation that must answer it and a notice in the
delivery outbox, in the caller's transaction. A repeat of a cause that is still unresolved
counts on the same alert instead of opening another. Raising one (with its audit event) is
`ecluse.services.alerting.raise_alert`."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from ecluse.audit.canonical import JsonValue, canonical
from ecluse.db.models import Alert, AlertDelivery
from ecluse.kinds import AlertState

EVERY_SINK = "*"  # a notice the dispatcher expands into one delivery per sink and address
PENDING = "pending"


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
    AUTH_BURST_ACCOUNT = "access:failures-account"
    AUTH_BURST_ADDRESS = "access:failures-address"
    NEW_NETWORK = "access:new-network"
    OFF_HOURS = "access:off-hours"
    MASS_LISTING = "access:mass-listing"
    MASS_DOWNLOAD = "access:mass-download"
    AUDIT_CHAIN_BROKEN = "platform:audit-chain"
    KEY_MANAGER_DOWN = "platform:key-manager"
    STORE_NEARLY_FULL = "platform:store-full"
    TLS_EXPIRING = "platform:tls-expiring"
    SINK_FAILING = "platform:sink-failing"
    SECURITY_REPORT = "staff:security-report"
    LEAK_TRACED = "breach:leak-traced"
    # issue 15 item 7: the volume is bound to the instruction
    VOLUME_LOW = "extraction:volume-low"
    RUNS_EXHAUSTED = "extraction:runs-exhausted"
    # issue 15 item 1: a health-data role approved or refused, a security contact named
    ROLE_APPROVED = "access:role-approved"
    ROLE_REFUSED = "access:role-refused"
    SECURITY_CONTACT_NAMED = "access:security-contact"


def group_key(kind: AlertKind, refs: Mapping[str, str]) -> str:
    """Same kind about the same objects: one alert."""
    return "|".join([kind.value, *(f"{k}={refs[k]}" for k in sorted(refs))])[:200]


def notify(session: Session, alert_id: str, event: str, *, now: datetime) -> None:
    """Queue a notice of `event` for every sink (expanded and sent by the dispatcher)."""
    session.add(
        AlertDelivery(
            id=str(uuid.uuid4()),
            alert_id=alert_id,
            event=event,
            sink=EVERY_SINK,
            address="",
            state=PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )


@dataclass(frozen=True, slots=True)
class Recorded:
    """An alert opened (`repeat` False) or a repeat counted on the unresolved one."""

    id: str
    repeat: bool
    occurrences: int  # on the alert, this one included


def record(
    session: Session,
    *,
    kind: AlertKind,
    severity: Severity,
    organisation_id: str,
    refs: Mapping[str, str],
    details: Mapping[str, JsonValue] | None = None,
    now: datetime | None = None,
    occurrences: int = 1,
) -> Recorded:
    """Open an alert for `organisation_id` (who must answer it) and queue its notice, or
    count `occurrences` repeats on the unresolved one with the same cause. The service that
    raises it writes the audit event (`ecluse.services.alerting`)."""
    now = now or datetime.now(UTC)
    key = group_key(kind, refs)
    existing = session.execute(
        select(Alert)
        .where(Alert.group_key == key, Alert.state != AlertState.RESOLVED)
        .where(Alert.organisation_id == organisation_id)
        .limit(1)
    ).scalar_one_or_none()
    if existing is not None:
        existing.occurrences += occurrences
        existing.last_seen_at = now
        return Recorded(existing.id, repeat=True, occurrences=existing.occurrences)
    alert = Alert(
        id=str(uuid.uuid4()),
        kind=kind.value,
        severity=severity.value,
        state=AlertState.OPEN,
        organisation_id=organisation_id,
        refs=canonical(dict(refs)),
        details=canonical(dict(details or {})),
        created_at=now,
        group_key=key,
        occurrences=occurrences,
        last_seen_at=now,
        level=0,
        level_since=now,
    )
    session.add(alert)
    session.flush()
    notify(session, alert.id, "raised", now=now)
    return Recorded(alert.id, repeat=False, occurrences=occurrences)
