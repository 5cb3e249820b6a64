"""Prometheus metrics, computed from the database at each scrape so that every node of a
shared PostgreSQL answers the same: transfers, bytes, rows, alerts by kind and state,
authentication failures, audit and detector lag, undelivered alert messages. Counts only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from ecluse.audit import Action
from ecluse.db.models import (
    Alert,
    AlertDelivery,
    AuditCheckpoint,
    AuditEvent,
    Blob,
    Extraction,
    Package,
)
from ecluse.instance.platform import Platform
from ecluse.services.watch.runner import lag
from ecluse.supervision.alerts import EVERY_SINK, PENDING

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
AUTH_FAILURES = (Action.AUTH_REFUSED, Action.LOGIN_REFUSED, Action.ENROL_REFUSED)


def _count_by(session: Session, *group: InstrumentedAttribute[str]) -> list[tuple[Any, ...]]:
    """(group values…, count) rows."""
    return [tuple(r) for r in session.execute(select(*group, func.count()).group_by(*group))]


class _Collector(Collector):
    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    def collect(self) -> Iterator[Metric]:
        with self.platform.db.transaction() as s:
            yield from self._transfers(s)
            yield from self._alerts(s)
            yield from self._audit(s)

    def _transfers(self, s: Session) -> Iterator[Metric]:
        packages = GaugeMetricFamily("ecluse_packages", "Packages by state", labels=["state"])
        for state, n in _count_by(s, Package.state):
            packages.add_metric([str(state)], float(n))
        yield packages
        runs = GaugeMetricFamily(
            "ecluse_extractions",
            "Extraction runs by state (running, packaged, failed, stopped, abandoned)",
            labels=["state"],
        )
        for state, n in _count_by(s, Extraction.state):
            runs.add_metric([str(state)], float(n))
        yield runs
        received = s.execute(select(func.coalesce(func.sum(Extraction.source_bytes), 0))).scalar()
        sent = s.execute(
            select(func.coalesce(func.sum(Blob.plaintext_bytes), 0)).join(
                Package, Package.blob_id == Blob.id
            )
        ).scalar()
        rows = s.execute(select(func.coalesce(func.sum(Package.rows), 0))).scalar()
        yield CounterMetricFamily(
            "ecluse_source_bytes", "Bytes of source exports received", value=float(received or 0)
        )
        yield CounterMetricFamily(
            "ecluse_package_bytes", "Bytes of governed output packaged", value=float(sent or 0)
        )
        yield CounterMetricFamily("ecluse_package_rows", "Rows packaged", value=float(rows or 0))

    def _alerts(self, s: Session) -> Iterator[Metric]:
        alerts = GaugeMetricFamily(
            "ecluse_alerts", "Alerts by kind and state", labels=["kind", "state"]
        )
        for kind, state, n in _count_by(s, Alert.kind, Alert.state):
            alerts.add_metric([str(kind), str(state)], float(n))
        yield alerts
        waiting = GaugeMetricFamily(
            "ecluse_alert_deliveries_pending",
            "Alert messages not yet taken by a sink",
            labels=["sink"],
        )
        for sink, n in s.execute(
            select(AlertDelivery.sink, func.count())
            .where(AlertDelivery.state == PENDING, AlertDelivery.sink != EVERY_SINK)
            .group_by(AlertDelivery.sink)
        ).all():
            waiting.add_metric([sink], float(n))
        yield waiting

    def _audit(self, s: Session) -> Iterator[Metric]:
        failures = s.execute(
            select(func.count()).where(AuditEvent.action.in_([a.value for a in AUTH_FAILURES]))
        ).scalar()
        yield CounterMetricFamily(
            "ecluse_auth_failures",
            "Refused authentications (all channels)",
            value=float(failures or 0),
        )
        head = s.execute(select(func.max(AuditEvent.seq))).scalar() or 0
        signed = s.execute(select(func.max(AuditCheckpoint.seq))).scalar() or 0
        yield CounterMetricFamily("ecluse_audit_events", "Audit events appended", value=float(head))
        yield GaugeMetricFamily(
            "ecluse_audit_unsigned_events",
            "Audit events after the last signed checkpoint",
            value=float(head - signed),
        )
        behind = lag(s, now=datetime.now(UTC))
        yield GaugeMetricFamily(
            "ecluse_detector_lag_events",
            "Audit events the detectors have not read",
            value=float(behind.events),
        )
        yield GaugeMetricFamily(
            "ecluse_detector_lag_seconds",
            "Age of the oldest audit event the detectors have not read",
            value=behind.seconds,
        )


def exposition(platform: Platform) -> bytes:
    """The Prometheus text format of the instance's metrics, now."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(platform))
    return generate_latest(registry)
