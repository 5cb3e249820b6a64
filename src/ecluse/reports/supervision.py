"""`ecluse report supervision --since …`: for a controller's dpo, what left its laboratory,
which alerts were raised and how fast they were answered, the security reports still open,
and how old its keys are. Ids, counts and times only; never who filed a security report."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ecluse.clock import as_utc
from ecluse.crypto.interfaces import KekVersion
from ecluse.db.models import (
    Account,
    Alert,
    ApiToken,
    Instruction,
    Organisation,
    Package,
    PersonalKey,
    SecurityReport,
    SigningKey,
    SshKey,
)
from ecluse.errors import PolicyViolation
from ecluse.identity import Principal
from ecluse.kinds import AlertState, Role
from ecluse.reports.html import page, pairs, table


def _minutes(start: datetime, end: datetime | None) -> float | None:
    return round((as_utc(end) - as_utc(start)).total_seconds() / 60, 1) if end else None


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 1) if present else None


def _days(moment: datetime, now: datetime) -> int:
    return (now - as_utc(moment)).days


def _keys(
    s: Session, versions: Sequence[KekVersion], org: str, now: datetime
) -> list[dict[str, Any]]:
    """Every key the organisation's data depends on, with its age (and expiry for tokens)."""
    ages: list[dict[str, Any]] = []

    def add(name: str, created: datetime, expires: datetime | None = None) -> None:
        left = (as_utc(expires) - now).days if expires else None
        ages.append({"key": name, "age_days": _days(created, now), "expires_in_days": left})

    people = dict(
        s.execute(select(Account.id, Account.email).where(Account.organisation_id == org)).all()
    )
    for signing in s.execute(select(SigningKey)).scalars():
        add(f"platform signing key {signing.kid[:12]}", signing.created_at)
    mine = PersonalKey.account_id.in_(people)
    for personal in s.execute(select(PersonalKey).where(mine)).scalars():
        add(f"signing key of {people[personal.account_id]}", personal.created_at)
    live = ApiToken.account_id.in_(people), ApiToken.revoked_at.is_(None)
    for token in s.execute(select(ApiToken).where(*live)).scalars():
        add(
            f"API token {token.id} of {people[token.account_id]}",
            token.created_at,
            token.expires_at,
        )
    for ssh in s.execute(
        select(SshKey).where(SshKey.account_id.in_(people), SshKey.revoked_at.is_(None))
    ).scalars():
        add(f"SSH {ssh.algorithm} key of {people[ssh.account_id]}", ssh.created_at)
    for version in versions:
        add(f"key-encryption key v{version.version} ({version.state})", version.created_at)
    return ages


def _transfers(s: Session, org: str, since: datetime) -> list[dict[str, Any]]:
    packages = s.execute(
        select(Package, Organisation.name)
        .join(Instruction, Instruction.id == Package.instruction_id)
        .join(Organisation, Organisation.id == Package.recipient_id)
        .where(Instruction.controller_id == org, Package.created_at >= since)
        .order_by(Package.created_at)
    ).all()
    return [
        {
            "package": pk.id,
            "recipient": recipient,
            "rows": pk.rows,
            "state": pk.state,
            "created": pk.created_at.isoformat(timespec="minutes"),
            "receipt": pk.receipt_at.isoformat(timespec="minutes") if pk.receipt_at else None,
        }
        for pk, recipient in packages
    ]


def _alerts(s: Session, org: str, since: datetime) -> list[dict[str, Any]]:
    alerts = s.execute(
        select(Alert)
        .where(Alert.organisation_id == org, Alert.created_at >= since)
        .order_by(Alert.created_at)
    ).scalars()
    return [
        {
            "alert": a.id,
            "kind": a.kind,
            "severity": a.severity,
            "state": a.state,
            "occurrences": a.occurrences,
            "level": a.level,
            "raised": a.created_at.isoformat(timespec="minutes"),
            "minutes_to_acknowledge": _minutes(a.created_at, a.acknowledged_at),
            "minutes_to_resolve": _minutes(a.created_at, a.resolved_at),
        }
        for a in alerts
    ]


def _open_reports(s: Session, org: str, now: datetime) -> list[dict[str, Any]]:
    concerns = s.execute(
        select(SecurityReport, Alert.state, Alert.level)
        .join(Alert, Alert.id == SecurityReport.alert_id)
        .where(SecurityReport.organisation_id == org, Alert.state != AlertState.RESOLVED)
        .order_by(SecurityReport.created_at)
    ).all()
    return [
        {
            "report": r.id,
            "filed": r.created_at.isoformat(timespec="minutes"),
            "state": state,
            "level": level,
            "days_open": _days(r.created_at, now),
        }
        for r, state, level in concerns
    ]


def may_read(p: Principal) -> None:
    if not {Role.DPO, Role.AUDITOR} & p.roles:
        raise PolicyViolation("the supervision report is for a controller's dpo or auditor")


def supervision_report(
    s: Session,
    versions: Sequence[KekVersion],
    p: Principal,
    *,
    since: datetime,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The report of the caller's organisation (a controller's dpo or auditor) since `since`;
    `versions`: the key manager's key-encryption keys."""
    may_read(p)
    now, org = now or datetime.now(UTC), p.organisation_id
    own = s.get(Organisation, org)
    transfers, handled = _transfers(s, org, since), _alerts(s, org, since)
    return {
        "organisation": {"id": org, "name": own.name if own else org},
        "since": since.isoformat(timespec="seconds"),
        "generated_at": now.isoformat(timespec="seconds"),
        "transfers": transfers,
        "rows_transferred": sum(t["rows"] for t in transfers),
        "alerts": handled,
        "alerts_by_kind": dict(Counter(a["kind"] for a in handled)),
        "alerts_open": sum(1 for a in handled if a["state"] != AlertState.RESOLVED),
        "median_minutes_to_acknowledge": _median([a["minutes_to_acknowledge"] for a in handled]),
        "median_minutes_to_resolve": _median([a["minutes_to_resolve"] for a in handled]),
        "open_security_reports": _open_reports(s, org, now),
        "keys": _keys(s, versions, org, now),
    }


def render_supervision(report: dict[str, Any]) -> str:
    summary = {
        k: report[k]
        for k in (
            "since",
            "generated_at",
            "rows_transferred",
            "alerts_open",
            "median_minutes_to_acknowledge",
            "median_minutes_to_resolve",
        )
    }
    t, a = report["transfers"], report["alerts"]
    sections = [
        f"<h1>Supervision report — {escape(report['organisation']['name'])}</h1>",
        pairs(summary),
        "<h2>Transfers</h2>",
        table(
            ("package", "recipient", "rows", "state", "created", "receipt"),
            [list(x.values()) for x in t],
        ),
        "<h2>Alerts and their handling</h2>",
        table(("kind", "count"), list(report["alerts_by_kind"].items())),
        table(
            (
                "alert",
                "kind",
                "severity",
                "state",
                "seen",
                "level",
                "raised",
                "min. to ack",
                "min. to resolve",
            ),
            [list(x.values()) for x in a],
        ),
        "<h2>Open security reports</h2>",
        table(
            ("report", "filed", "state", "level", "days open"),
            [list(x.values()) for x in report["open_security_reports"]],
        ),
        "<h2>Key ages</h2>",
        table(
            ("key", "age (days)", "expires in (days)"),
            [list(k.values()) for k in report["keys"]],
        ),
    ]
    return page(f"Écluse supervision report {report['organisation']['name']}", sections)
