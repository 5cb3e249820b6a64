"""Delivering the outbox: every notice becomes one delivery per sink (and per contact for
e-mail), each sent until a sink takes it. A delivery is claimed for a lease before it is sent
outside any transaction, so two server processes never send it together and a crash only
delays it. A failed send is retried with a doubling delay, never dropped; once a sink has
failed `failing_after` times in a row the platform's admins are alerted (through the others).

Signed checkpoints of the audit trail go to every sink that can witness them (webhook, syslog):
the checkpoints table is their outbox, and a cursor per sink (`witness:<sink>`) says how far
each has taken it. A checkpoint is sent in order, again until taken; sent twice (two processes)
it says the same thing twice. These sends are not audited: auditing them would sign more
checkpoints, forever.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ecluse.audit import Action
from ecluse.audit.chain import CheckpointRecord
from ecluse.clock import as_utc
from ecluse.config import AlertSettings
from ecluse.db.models import Alert, AlertDelivery, AuditCheckpoint, Organisation, SupervisionCursor
from ecluse.instance.platform import Platform
from ecluse.services.alerting import raise_alert
from ecluse.supervision.alerts import EVERY_SINK, PENDING, AlertKind, Severity
from ecluse.supervision.contacts import addresses, platform_organisation
from ecluse.supervision.sinks import AlertMessage, AlertSink, SinkError, WitnessSink

log = logging.getLogger("ecluse.alerts")
EXPANDED, SENT = "expanded", "sent"
ACTOR = "system:supervision"
_LEASE = timedelta(minutes=5)
_BATCH = 100


@dataclass(frozen=True, slots=True)
class Dispatched:
    expanded: int
    sent: int
    failed: int
    checkpoints: int = 0  # checkpoint messages taken by witnessing sinks


def _expand(session: Session, sinks: Sequence[AlertSink], *, now: datetime) -> int:
    notices = (
        session.execute(
            select(AlertDelivery)
            .where(AlertDelivery.sink == EVERY_SINK, AlertDelivery.state == PENDING)
            .order_by(AlertDelivery.created_at)
            .limit(_BATCH)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    for notice in notices:
        alert = session.get(Alert, notice.alert_id)
        if alert is None:  # pragma: no cover - a foreign key holds it
            continue
        failing_sink = json.loads(alert.refs).get("sink") if _is_sink_alert(alert) else None
        for sink in sinks:
            if sink.name == failing_sink and sink.name != "log":
                continue  # said through the other sinks; this one is known to fail
            targets = addresses(session, alert) if sink.per_person else [""]
            for address in targets:
                session.add(
                    AlertDelivery(
                        id=str(uuid.uuid4()),
                        alert_id=alert.id,
                        event=notice.event,
                        sink=sink.name,
                        address=address,
                        state=PENDING,
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
        notice.state = EXPANDED
    return len(notices)


def _is_sink_alert(alert: Alert) -> bool:
    return alert.kind == AlertKind.SINK_FAILING.value


def _claim(session: Session, names: list[str], *, now: datetime) -> list[tuple[str, int]]:
    due = (
        session.execute(
            select(AlertDelivery)
            .where(AlertDelivery.state == PENDING, AlertDelivery.sink.in_(names))
            .where(AlertDelivery.next_attempt_at <= now)
            .order_by(AlertDelivery.next_attempt_at)
            .limit(_BATCH)
            .with_for_update(skip_locked=True)
        )
        .scalars()
        .all()
    )
    for delivery in due:
        delivery.attempts += 1
        delivery.next_attempt_at = now + _LEASE
    return [(d.id, d.attempts) for d in due]


def _message(session: Session, delivery: AlertDelivery) -> AlertMessage:
    alert = session.get(Alert, delivery.alert_id)
    org = session.get(Organisation, alert.organisation_id) if alert else None
    if alert is None or org is None:  # pragma: no cover - foreign keys hold them
        raise SinkError("alert missing")
    return AlertMessage(
        alert_id=alert.id,
        kind=alert.kind,
        severity=alert.severity,
        state=alert.state,
        event=delivery.event,
        organisation=org.name,
        level=alert.level,
        occurrences=alert.occurrences,
        at=as_utc(delivery.created_at),
        refs=json.loads(alert.refs),
        details=json.loads(alert.details),
    )


def _backoff(settings: AlertSettings, attempts: int) -> timedelta:
    seconds = settings.retry_seconds * 2 ** min(attempts - 1, 20)
    return timedelta(seconds=min(seconds, settings.retry_max_seconds))


def dispatch(
    platform: Platform, sinks: Sequence[AlertSink], *, now: datetime | None = None
) -> Dispatched:
    """Expand new notices, then send what is due; return what happened."""
    now = now or datetime.now(UTC)
    by_name = {sink.name: sink for sink in sinks}
    with platform.db.transaction() as s:
        expanded = _expand(s, sinks, now=now)
    with platform.db.transaction() as s:
        claimed = _claim(s, list(by_name), now=now)
    sent = failed = 0
    for delivery_id, attempts in claimed:
        with platform.db.transaction() as s:
            delivery = s.get(AlertDelivery, delivery_id)
            if delivery is None:  # pragma: no cover - never deleted
                continue
            message, sink, address = _message(s, delivery), by_name[delivery.sink], delivery.address
        try:
            sink.send(message, address=address)
        except SinkError as e:
            failed += 1
            _failed(platform, delivery_id, attempts, error=str(e), now=now)
            continue
        sent += 1
        _sent(platform, delivery_id, attempts)
    witnessed = sum(
        publish_checkpoints(platform, sink, now=now)
        for sink in sinks
        if callable(getattr(sink, "send_checkpoint", None))
    )
    return Dispatched(expanded=expanded, sent=sent, failed=failed, checkpoints=witnessed)


def publish_checkpoints(platform: Platform, sink: AlertSink, *, now: datetime) -> int:
    """Send `sink` the checkpoints after its cursor, in order; stop at the first failure
    (retried on the next pass, logged by its error type). Return how many it took."""
    witness: WitnessSink = sink  # type: ignore[assignment]  # checked by the caller
    name = f"witness:{sink.name}"
    with platform.db.transaction() as s:
        cursor = s.get(SupervisionCursor, name)
        after = cursor.seq if cursor is not None else 0
        rows = s.execute(
            select(AuditCheckpoint)
            .where(AuditCheckpoint.seq > after)
            .order_by(AuditCheckpoint.seq)
            .limit(_BATCH)
        ).scalars()
        pending = [
            CheckpointRecord(
                seq=c.seq, head_hash=c.head_hash, ts=c.ts, kid=c.kid, signature=bytes(c.signature)
            )
            for c in rows
        ]
    taken = 0
    for cp in pending:
        try:
            witness.send_checkpoint(cp)
        except SinkError as e:
            log.warning("checkpoint %s not taken by %s: %s", cp.seq, sink.name, e)
            break
        taken += 1
        _advance(platform, name, cp, now=now)
    return taken


def _advance(platform: Platform, name: str, cp: CheckpointRecord, *, now: datetime) -> None:
    with platform.db.transaction() as s:
        cursor = s.get(SupervisionCursor, name, with_for_update=True)
        if cursor is None:
            s.add(SupervisionCursor(name=name, seq=cp.seq, event_ts=cp.ts, updated_at=now))
        elif cursor.seq < cp.seq:
            cursor.seq, cursor.event_ts, cursor.updated_at = cp.seq, cp.ts, now


def _sent(platform: Platform, delivery_id: str, attempts: int) -> None:
    with platform.db.transaction() as s:
        delivery = s.get(AlertDelivery, delivery_id)
        if delivery is None:  # pragma: no cover
            return
        delivery.state, delivery.sent_at = SENT, datetime.now(UTC)
        delivery.last_error = None
        platform.audit.append(
            s,
            actor=ACTOR,
            action=Action.ALERT_DELIVER,
            refs={"alert": delivery.alert_id, "delivery": delivery.id},
            details={
                "sink": delivery.sink,
                "to": delivery.address,
                "event": delivery.event,
                "attempts": attempts,
            },
        )


def _failed(
    platform: Platform, delivery_id: str, attempts: int, *, error: str, now: datetime
) -> None:
    settings = platform.settings.alerts
    with platform.db.transaction() as s:
        delivery = s.get(AlertDelivery, delivery_id)
        if delivery is None:  # pragma: no cover
            return
        delivery.last_error = error[:100]
        delivery.next_attempt_at = now + _backoff(settings, attempts)
        if attempts >= settings.failing_after:
            raise_alert(
                s,
                platform.audit,
                kind=AlertKind.SINK_FAILING,
                severity=Severity.CRITICAL,
                organisation_id=platform_organisation(s),
                refs={"sink": delivery.sink},
                details={"attempts": attempts, "error": error[:100]},
                actor=ACTOR,
            )
