"""Probes of what the audit stream cannot show: the audit chain's integrity (verified every
`selfcheck_minutes`), the key manager answering, the store's disk filling up, the HTTPS
certificate expiring. Each failure alerts the platform's admins (grouped while unresolved).

The chain probe also checks the database against its witness log: a tail cut or a rewrite
there is an audit-chain alert. When the chain was cut, the database refuses audited writes,
alerts included; the alert then goes straight to the log, webhook and syslog sinks, unrecorded.
"""

from __future__ import annotations

import logging
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ecluse.audit import Action
from ecluse.audit.canonical import JsonValue
from ecluse.audit.log import format_ts
from ecluse.audit.records import check_witnesses, verify_database
from ecluse.clock import as_utc
from ecluse.crypto._primitives import certificate_not_after
from ecluse.db.models import DetectorMemory
from ecluse.errors import AuditWriteError, EcluseError
from ecluse.instance.platform import Platform
from ecluse.kinds import AlertState
from ecluse.services.alerting import raise_alert
from ecluse.supervision.alerts import AlertKind, Severity
from ecluse.supervision.contacts import platform_organisation
from ecluse.supervision.sinks import AlertMessage, configured_sinks

log = logging.getLogger("ecluse.alerts")
WITNESS_GRACE = timedelta(minutes=5)  # a checkpoint committed but not yet published
ACTOR = "system:supervision"
_PROBE_AAD = b"ecluse:probe:key-manager"
_CRITICAL_DAYS = 7
_CRITICAL_PERCENT = 98.0


@dataclass(frozen=True, slots=True)
class Probed:
    chain_checked: bool
    problems: list[AlertKind]


def _alert(
    platform: Platform, kind: AlertKind, severity: Severity, details: dict[str, JsonValue]
) -> None:
    with platform.db.transaction() as s:
        raise_alert(
            s,
            platform.audit,
            kind=kind,
            severity=severity,
            organisation_id=platform_organisation(s),
            refs={"probe": kind.value.split(":")[-1]},
            details=details,
            actor=ACTOR,
        )


def key_manager_answers(platform: Platform) -> bool:
    probe = secrets.token_bytes(32)
    try:
        wrapped = platform.keys.wrap(probe, aad=_PROBE_AAD)
        return secrets.compare_digest(platform.keys.unwrap(wrapped, aad=_PROBE_AAD), probe)
    except (EcluseError, OSError):
        return False


def store_used_percent(platform: Platform) -> float:
    usage = shutil.disk_usage(platform.settings.store_dir)
    return 100.0 * usage.used / usage.total if usage.total else 100.0


def certificate_days_left(platform: Platform, *, now: datetime) -> float | None:
    """Days until the HTTPS certificate expires; None when no certificate exists yet."""
    s = platform.settings
    path = s.tls_cert or s.server_dir / "tls.crt"
    if not path.is_file():
        return None
    return (certificate_not_after(path.read_bytes()) - now).total_seconds() / 86400


def _chain_due(platform: Platform, *, now: datetime) -> bool:
    """Whether the chain's self-check is due; claims it for this process if so."""
    every = timedelta(minutes=platform.settings.detect.selfcheck_minutes)
    with platform.db.transaction() as s:
        row = s.get(DetectorMemory, ("probes", "chain"), with_for_update=True)
        if row is not None and as_utc(row.expires_at) > now:
            return False
        if row is None:
            row = DetectorMemory(
                detector="probes", key="chain", value="null", expires_at=now + every
            )
            s.add(row)
        else:
            row.expires_at = now + every
    return True


def check_chain(platform: Platform) -> bool:
    """Verify the chain, then the database against its witness log; alert on a break."""
    now = datetime.now(UTC)
    platform.audit.publish(platform.db.engine)  # what other nodes signed since this one did
    report = verify_database(platform.db.engine)
    findings = check_witnesses(
        platform.db.engine,
        witness_dir=platform.settings.witness_dir,
        tolerate_since=format_ts(now - WITNESS_GRACE),
    )
    problems = [p for f in findings for p in f.problems]
    ok = report.ok and not problems
    reason = report.reason if not report.ok else (problems[0] if problems else "")
    try:
        with platform.db.transaction() as s:
            platform.audit.append(
                s,
                actor=ACTOR,
                action=Action.AUDIT_VERIFY,
                details={
                    "ok": ok,
                    "broken_seq": report.broken_seq,
                    "events": report.events,
                    "witnesses_ok": not problems,
                },
            )
        if not ok:
            _alert(
                platform,
                AlertKind.AUDIT_CHAIN_BROKEN,
                Severity.CRITICAL,
                {"broken_seq": report.broken_seq or 0, "reason": (reason or "")[:200]},
            )
    except AuditWriteError as e:
        _alert_unrecorded(platform, reason=(reason or str(e))[:200], now=now)
        return False
    return ok


def _alert_unrecorded(platform: Platform, *, reason: str, now: datetime) -> None:
    """The database refuses to record: say it to every sink that needs no database row."""
    log.critical("audit chain broken, alert not recorded: %s", reason)
    message = AlertMessage(
        alert_id="unrecorded",
        kind=AlertKind.AUDIT_CHAIN_BROKEN.value,
        severity=Severity.CRITICAL.value,
        state=AlertState.OPEN,
        event="raised",
        organisation="Écluse platform",
        level=0,
        occurrences=1,
        at=now,
        refs={"probe": "audit-chain"},
        details={"reason": reason},
    )
    try:
        sinks = configured_sinks(platform.settings.alerts)
    except EcluseError:
        return
    for sink in sinks:
        if not sink.per_person:
            try:
                sink.send(message, address="")
            except EcluseError as e:
                log.critical("sink %s did not take the unrecorded alert: %s", sink.name, e)


def probe(platform: Platform, *, now: datetime) -> Probed:
    """Run every probe (the chain only when due); alert on each problem found."""
    problems: list[AlertKind] = []
    checked = _chain_due(platform, now=now)
    if checked and not check_chain(platform):
        problems.append(AlertKind.AUDIT_CHAIN_BROKEN)
    if not key_manager_answers(platform):
        problems.append(AlertKind.KEY_MANAGER_DOWN)
        _alert(
            platform,
            AlertKind.KEY_MANAGER_DOWN,
            Severity.CRITICAL,
            {"key_manager": platform.settings.key_manager},
        )
    used = store_used_percent(platform)
    if used >= platform.settings.detect.store_full_percent:
        problems.append(AlertKind.STORE_NEARLY_FULL)
        severity = Severity.CRITICAL if used >= _CRITICAL_PERCENT else Severity.WARNING
        _alert(platform, AlertKind.STORE_NEARLY_FULL, severity, {"used_percent": int(used)})
    days = certificate_days_left(platform, now=now)
    if days is not None and days <= platform.settings.detect.tls_expiry_days:
        problems.append(AlertKind.TLS_EXPIRING)
        severity = Severity.CRITICAL if days <= _CRITICAL_DAYS else Severity.WARNING
        _alert(platform, AlertKind.TLS_EXPIRING, severity, {"days_left": int(days)})
    return Probed(chain_checked=checked, problems=problems)
