"""Alerts: grouping of repeats, answers only by named people with a reason, escalation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ecluse.audit import Action
from ecluse.config import AlertSettings
from ecluse.db.models import Alert, AlertChange, AlertDelivery, AuditEvent
from ecluse.errors import PolicyViolation, ValidationError
from ecluse.identity import Role
from ecluse.instance.platform import Platform
from ecluse.services.alerting import escalate, raise_alert
from ecluse.services.supervision import change_alert
from ecluse.supervision.alerts import AlertKind, Severity
from ecluse.supervision.contacts import addresses, set_contact
from tests.server.conftest import make_person
from tests.supervision.conftest import People

__all__ = ["people"]
from tests.supervision.conftest import people


def _raise(platform: Platform, org: str, **refs: str) -> str:
    with platform.db.transaction() as s:
        return raise_alert(
            s,
            platform.audit,
            kind=AlertKind.NEW_NETWORK,
            severity=Severity.CRITICAL,
            organisation_id=org,
            refs=refs or {"account": "a1"},
        )


def _change(
    platform: Platform, people: People, who: str, alert: str, *, to: str, reason: str
) -> None:
    principal = people.principal(platform, getattr(people, who))
    change_alert(platform, principal, alert, to_state=to, reason=reason)


def test_repeats_of_an_unresolved_cause_count_on_one_alert(
    platform: Platform, people: People
) -> None:
    first = _raise(platform, people.controller)
    assert _raise(platform, people.controller) == first
    assert _raise(platform, people.controller, account="a2") != first  # another cause
    with platform.db.transaction() as s:
        assert s.get(Alert, first).occurrences == 2
        notices = s.execute(select(AlertDelivery.event).where(AlertDelivery.alert_id == first))
        assert list(notices.scalars()) == ["raised"]  # the repeat is counted, not re-sent
    _change(
        platform, people, "dpo", first, to="resolved", reason="checked with the vendor: their VPN"
    )
    assert _raise(platform, people.controller) != first  # after resolution, a new one


@pytest.mark.parametrize(
    ("reason", "error"),
    [
        ("", "a written reason is required"),
        ("   ", "a written reason is required"),
        ("x" * 2001, "at most"),
        ("patient 1 84 12 75 108 123 47 called", "must not name a patient"),  # a NIR
        ("called her at 06 12 34 56 78", "must not name a patient"),
        ("password: Tr0ub4dor&3xyz", "must not name a patient"),
    ],
)
def test_a_change_needs_a_reason_that_names_nobody(
    platform: Platform, people: People, reason: str, error: str
) -> None:
    alert = _raise(platform, people.controller)
    with pytest.raises(ValidationError, match=error):
        _change(platform, people, "dpo", alert, to="acknowledged", reason=reason)


def test_only_the_organisations_dpo_answers_not_an_admin_of_the_platform(
    platform: Platform, people: People
) -> None:
    alert = _raise(platform, people.controller)
    for who in ("operator", "auditor"):
        with pytest.raises(PolicyViolation):
            _change(platform, people, who, alert, to="acknowledged", reason="seen")
    other_dpo = make_person(platform, Role.DPO)  # another laboratory's dpo
    with pytest.raises(PolicyViolation, match="no such alert"):
        principal_alert = people.principal(platform, other_dpo)
        change_alert(platform, principal_alert, alert, to_state="acknowledged", reason="x")
    with pytest.raises(PolicyViolation, match="only a dpo"):  # another organisation's alert
        _change(platform, people, "admin", alert, to="acknowledged", reason="looking into it")
    _change(platform, people, "dpo", alert, to="acknowledged", reason="looking into it")
    with pytest.raises(ValidationError, match="cannot become acknowledged"):
        _change(platform, people, "dpo", alert, to="acknowledged", reason="again")
    _change(platform, people, "dpo", alert, to="resolved", reason="the vendor's new office")
    with pytest.raises(ValidationError, match="cannot become"):
        _change(platform, people, "dpo", alert, to="acknowledged", reason="reopen?")
    with platform.db.transaction() as s:
        changes = s.execute(select(AlertChange).order_by(AlertChange.at)).scalars().all()
        assert [(c.from_state, c.to_state, c.account_id) for c in changes] == [
            ("open", "acknowledged", people.dpo.account_id),
            ("acknowledged", "resolved", people.dpo.account_id),
        ]
        assert [c.reason for c in changes] == ["looking into it", "the vendor's new office"]
        audited = s.execute(
            select(AuditEvent.action, AuditEvent.actor).where(
                AuditEvent.action.in_([Action.ALERT_ACKNOWLEDGE, Action.ALERT_RESOLVE])
            )
        ).all()
        assert audited == [
            (Action.ALERT_ACKNOWLEDGE.value, f"account:{people.dpo.email}"),
            (Action.ALERT_RESOLVE.value, f"account:{people.dpo.email}"),
        ]
        events = s.execute(select(AlertDelivery.event).where(AlertDelivery.alert_id == alert))
        assert list(events.scalars()) == ["raised", "acknowledged", "resolved"]


def test_unanswered_alerts_climb_to_the_second_contact_then_the_dpo_and_admin(
    platform: Platform, people: People
) -> None:
    settings = AlertSettings(ack_minutes_critical=30)
    with platform.db.transaction() as s:
        set_contact(s, organisation_id=people.controller, level=1, email=people.auditor.email)
    alert = _raise(platform, people.controller)
    level = {}
    for minutes in (10, 31, 45, 62, 200):
        now = datetime.now(UTC) + timedelta(minutes=minutes)
        with platform.db.transaction() as s:
            escalate(s, platform.audit, settings, now=now)
            row = s.get(Alert, alert)
            level[minutes] = (row.level, addresses(s, row))
    assert level[10] == (0, [people.auditor.email])  # the named first contact
    # no second contact named: straight to the controller's dpo and the admins
    assert level[31] == (2, sorted([people.dpo.email, people.admin.email]))
    assert level[200][0] == 2


def test_a_second_contact_comes_before_the_top_and_acknowledging_stops_the_climb(
    platform: Platform, people: People
) -> None:
    settings = AlertSettings(ack_minutes_critical=30)
    with platform.db.transaction() as s:
        set_contact(s, organisation_id=people.controller, level=2, email=people.auditor.email)
        with pytest.raises(PolicyViolation):  # not of the organisation, not an admin
            set_contact(s, organisation_id=people.controller, level=1, email=people.operator.email)
    climbing, answered = (
        _raise(platform, people.controller),
        _raise(platform, people.controller, x="2"),
    )
    _change(platform, people, "dpo", answered, to="acknowledged", reason="on it")
    start = datetime.now(UTC)
    with platform.db.transaction() as s:
        assert addresses(s, s.get(Alert, climbing)) == [people.dpo.email]  # no first contact: dpo
        escalate(s, platform.audit, settings, now=start + timedelta(minutes=31))
        assert (s.get(Alert, climbing).level, s.get(Alert, answered).level) == (1, 0)
        assert addresses(s, s.get(Alert, climbing)) == [people.auditor.email]
        escalate(s, platform.audit, settings, now=start + timedelta(minutes=62))
        assert s.get(Alert, climbing).level == 2
        audited = s.execute(
            select(AuditEvent.details).where(AuditEvent.action == Action.ALERT_ESCALATE)
        ).scalars()
        assert ['"level":1' in d for d in audited] == [True, False]
