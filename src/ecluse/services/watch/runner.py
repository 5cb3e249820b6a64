"""Feeding the audit stream to the detectors, once, in order, from any number of processes.

A pass locks the cursor row (PostgreSQL: `FOR UPDATE`; SQLite: the write lock every Écluse
transaction takes), reads the events after it, lets every detector observe them, raises what
they found and moves the cursor, all in one transaction: an event is never judged twice nor
skipped, and the detectors' memory moves with the cursor. Events are appended under the same
lock order (see `ecluse.audit.log`), so no later event commits before an earlier one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

from sqlalchemy import Row, delete, func, select
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from ecluse.audit.canonical import JsonValue, canonical
from ecluse.audit.log import parse_ts
from ecluse.db.models import (
    Account,
    ApiToken,
    AuditEvent,
    DetectorMemory,
    Instruction,
    Organisation,
    Package,
    SupervisionCursor,
)
from ecluse.errors import present
from ecluse.instance.platform import Platform
from ecluse.services.alerting import raise_alert
from ecluse.supervision.alerts import group_key
from ecluse.supervision.contacts import platform_organisation
from ecluse.supervision.detectors import Detector, Event, Finding
from ecluse.supervision.hours import WorkingHours, parse_hours

CURSOR = "detectors"
_PREFETCH_FROM = 500  # events in a pass from which the whole memory is read at once
ACTOR = "system:supervision"


class _Memory:
    """Detector memory read on demand and written back at the end of the pass."""

    def __init__(self, session: Session) -> None:
        self._s = session
        self._rows: dict[tuple[str, str], DetectorMemory | None] = {}
        self._cache: dict[tuple[str, str], JsonValue] = {}
        self._dirty: dict[tuple[str, str], datetime] = {}
        self._complete = False  # every row is loaded: a miss means there is none

    def get(self, detector: str, key: str) -> JsonValue:
        k = (detector, key[:200])
        if k not in self._cache:
            row = self._rows[k] = None if self._complete else self._s.get(DetectorMemory, k)
            self._cache[k] = json.loads(row.value) if row is not None else None
        return self._cache[k]

    def prefetch(self, detectors: list[str]) -> None:
        """Load these detectors' whole memory in one query (worth it for a large batch)."""
        rows = self._s.execute(select(DetectorMemory).where(DetectorMemory.detector.in_(detectors)))
        for row in rows.scalars():
            k = (row.detector, row.key)
            self._rows[k], self._cache[k] = row, json.loads(row.value)
        self._complete = True

    def put(self, detector: str, key: str, value: JsonValue, *, until: datetime) -> None:
        k = (detector, key[:200])
        if k not in self._rows:
            self.get(detector, key)  # know whether the row exists before writing it
        self._cache[k], self._dirty[k] = value, until

    def flush(self) -> None:
        for (detector, key), until in self._dirty.items():
            value = canonical(self._cache[(detector, key)])
            row = self._rows.get((detector, key))
            if row is None:
                row = DetectorMemory(detector=detector, key=key, value=value, expires_at=until)
                self._s.add(row)
            else:
                row.value, row.expires_at = value, until


class Acquaintances:
    """What the detectors learnt of accounts, kept from one pass to the next by the caller:
    an account's organisation never changes, nor which account an e-mail names once it
    exists (what was not found is asked again next pass)."""

    def __init__(self) -> None:
        self.by_email: dict[str, str] = {}
        self.organisation: dict[str, str] = {}


class _Directory:
    def __init__(self, session: Session, default_hours: str, known: Acquaintances) -> None:
        self._s, self._default, self._known = session, default_hours, known
        self.account = cache(self._account)
        self.organisation_of = cache(self._organisation_of)
        self.working_hours = cache(self._working_hours)
        self.controller_of_package = cache(self._controller)

    def _account(self, *, email: str | None = None, token: str | None = None) -> str | None:
        if email:
            email = email.strip().lower()
            if email in self._known.by_email:
                return self._known.by_email[email]
            found = self._s.execute(
                select(Account.id).where(Account.email == email)
            ).scalar_one_or_none()
            if found is not None:
                self._known.by_email[email] = found
            return found
        if token:
            query = select(ApiToken.account_id).where(ApiToken.id == token)
            return self._s.execute(query).scalar_one_or_none()
        return None

    def _organisation_of(self, account_id: str) -> str | None:
        if account_id not in self._known.organisation:
            account = self._s.get(Account, account_id)
            if account is None:
                return None
            self._known.organisation[account_id] = account.organisation_id
        return self._known.organisation[account_id]

    def _working_hours(self, organisation_id: str) -> WorkingHours:
        org = self._s.get(Organisation, organisation_id)
        return parse_hours(org.working_hours if org and org.working_hours else self._default)

    def _controller(self, package_id: str) -> str | None:
        return self._s.execute(
            select(Instruction.controller_id)
            .join(Package, Package.instruction_id == Instruction.id)
            .where(Package.id == package_id)
        ).scalar_one_or_none()


@dataclass(frozen=True, slots=True)
class Pass:
    events: int
    findings: int
    head_seq: int  # the cursor after this pass
    last_event_ts: datetime | None


_COLUMNS = (
    AuditEvent.seq,
    AuditEvent.ts,
    AuditEvent.actor,
    AuditEvent.action,
    AuditEvent.refs,
    AuditEvent.details,
)


def _event(row: Row[int, str, str, str, str, str]) -> Event:
    return Event(
        seq=row.seq,
        ts=parse_ts(row.ts),
        actor=row.actor,
        action=row.action,
        refs=json.loads(row.refs),
        details=json.loads(row.details),
    )


def _raise(session: Session, platform: Platform, findings: list[Finding]) -> None:
    """Raise what was found, the repeats of one cause within the pass counted together."""
    platform_org = platform_organisation(session)
    grouped: dict[tuple[str, str], tuple[Finding, int]] = {}
    for f in findings:
        key = (f.organisation_id or platform_org, group_key(f.kind, f.refs))
        n = grouped.get(key, (f, 0))[1]
        grouped[key] = (f, n + 1)  # the latest details, every occurrence
    for (org, _), (finding, n) in grouped.items():
        raise_alert(
            session,
            platform.audit,
            kind=finding.kind,
            severity=finding.severity,
            organisation_id=org,
            refs=finding.refs,
            details=finding.details,
            actor=ACTOR,
            occurrences=n,
        )


def _locked_cursor(session: Session) -> SupervisionCursor:
    """The cursor row, locked. The migration made it; if someone removed it, the first of
    several processes to get here makes it again (the others find theirs refused, then lock
    the one made)."""
    cursor = session.get(SupervisionCursor, CURSOR, with_for_update=True)
    if cursor is not None:
        return cursor
    try:
        with session.begin_nested():
            session.add(SupervisionCursor(name=CURSOR, seq=0, updated_at=datetime.now(UTC)))
    except sa_exc.IntegrityError:
        pass  # another process made it first
    made = session.get(SupervisionCursor, CURSOR, with_for_update=True, populate_existing=True)
    return present(made, "supervision cursor")


def run_detectors(
    platform: Platform, detectors: Sequence[Detector], *, known: Acquaintances | None = None
) -> Pass:
    """One pass over at most `detect.batch` unread events."""
    with platform.db.transaction() as s:
        cursor = _locked_cursor(s)
        rows = s.execute(
            select(*_COLUMNS)
            .where(AuditEvent.seq > cursor.seq)
            .order_by(AuditEvent.seq)
            .limit(platform.settings.detect.batch)
        ).all()
        if not rows:
            return Pass(0, 0, cursor.seq, None)
        hours = platform.settings.detect.working_hours
        memory, directory = _Memory(s), _Directory(s, hours, known or Acquaintances())
        if len(rows) >= _PREFETCH_FROM:
            memory.prefetch([d.name for d in detectors])
        by_action: dict[str, list[Detector]] = {}
        for detector in detectors:
            for action in detector.actions:
                by_action.setdefault(action, []).append(detector)
        findings: list[Finding] = []
        for row in rows:
            watchers = by_action.get(row.action)
            if watchers:
                event = _event(row)
                for detector in watchers:
                    findings.extend(detector.observe(event, memory, directory))
        memory.flush()
        if findings:
            _raise(s, platform, findings)
        cursor.seq, cursor.event_ts = rows[-1].seq, rows[-1].ts
        cursor.updated_at = datetime.now(UTC)
        return Pass(len(rows), len(findings), cursor.seq, parse_ts(rows[-1].ts))


@dataclass(frozen=True, slots=True)
class Lag:
    events: int  # audit events the detectors have not read yet
    seconds: float  # age of the oldest unread event (0 when caught up)


def lag(session: Session, *, now: datetime | None = None) -> Lag:
    now = now or datetime.now(UTC)
    cursor = session.get(SupervisionCursor, CURSOR)
    read = cursor.seq if cursor else 0
    behind, oldest = session.execute(
        select(func.count(), func.min(AuditEvent.ts)).where(AuditEvent.seq > read)
    ).one()
    seconds = (now - parse_ts(oldest)).total_seconds() if oldest else 0.0
    return Lag(int(behind), max(seconds, 0.0))


def forget_expired(session: Session, *, now: datetime) -> None:
    session.execute(delete(DetectorMemory).where(DetectorMemory.expires_at <= now))
