"""Over HTTPS: staff security reports (anonymous toward all but the controller's dpo, closed
by that dpo only, never deleted, escalated when left), alert handling, and the metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import delete, select

from ecluse.audit import Action
from ecluse.config import AlertSettings
from ecluse.db.models import AuditEvent, SecurityReport
from ecluse.instance.platform import Platform
from ecluse.services.alerting import escalate
from tests.server.conftest import app_client
from tests.supervision.conftest import People, people

__all__ = ["app_client", "people"]
CONCERN = {
    "subject": "Shared account on the migration server",
    "text": "Three of us log in as 'migration' to the old FTP zone; I raised it twice.",
}


def _file(client: TestClient, who: object, **extra: object) -> dict[str, object]:
    r = client.post("/v1/security-reports", json={**CONCERN, **extra}, headers=who.auth)  # type: ignore[attr-defined]
    assert r.status_code == 201, r.text
    body: dict[str, object] = r.json()
    return body


def test_an_anonymous_report_names_its_reporter_to_the_dpo_alone(
    platform: Platform, people: People, app_client: TestClient
) -> None:
    filed = _file(app_client, people.operator, anonymous=True, organisation_id=people.controller)
    report, alert = filed["id"], filed["alert_id"]
    as_dpo = app_client.get(f"/v1/security-reports/{report}", headers=people.dpo.auth).json()
    assert as_dpo["reporter"] == f"Operator Person <{people.operator.email}>"
    assert (as_dpo["subject"], as_dpo["text"]) == (CONCERN["subject"], CONCERN["text"])
    for other in (people.admin, people.auditor):
        assert (
            app_client.get(f"/v1/security-reports/{report}", headers=other.auth).status_code == 403
        )
        assert app_client.get("/v1/security-reports", headers=other.auth).json() == []
    shown = app_client.get(f"/v1/alerts/{alert}", headers=people.admin.auth).json()
    assert shown["kind"] == "staff:security-report" and people.operator.email not in str(shown)
    with platform.db.transaction() as s:
        trail = " ".join(
            f"{e.actor} {e.refs} {e.details}"
            for e in s.execute(
                select(AuditEvent).where(AuditEvent.refs.contains(str(report)))
            ).scalars()
        )
    assert "reporter:anonymous" in trail and people.operator.email not in trail
    assert people.operator.account_id not in trail


def test_only_the_controllers_dpo_closes_a_report_with_a_resolution(
    platform: Platform, people: People, app_client: TestClient
) -> None:
    alert = _file(app_client, people.dpo)["alert_id"]
    resolve = {"reason": "Shared account removed; named accounts for the three engineers."}
    assert (
        app_client.post(
            f"/v1/alerts/{alert}/resolve", json=resolve, headers=people.admin.auth
        ).status_code
        == 403
    )
    refused = app_client.post(  # the controller's alert: not the platform admin's to answer
        f"/v1/alerts/{alert}/acknowledge", json={"reason": "read"}, headers=people.admin.auth
    )
    assert refused.status_code == 403
    ack = app_client.post(
        f"/v1/alerts/{alert}/acknowledge", json={"reason": "read"}, headers=people.dpo.auth
    )
    assert ack.json() == {"alert": alert, "from": "open", "to": "acknowledged"}
    assert (
        app_client.post(f"/v1/alerts/{alert}/resolve", json={}, headers=people.dpo.auth).status_code
        == 422
    )
    done = app_client.post(f"/v1/alerts/{alert}/resolve", json=resolve, headers=people.dpo.auth)
    assert done.json()["to"] == "resolved"
    changes = app_client.get(f"/v1/alerts/{alert}", headers=people.dpo.auth).json()["changes"]
    assert [c["reason"] for c in changes] == ["read", resolve["reason"]]


def test_a_report_cannot_be_deleted_even_by_sql(
    platform: Platform, people: People, app_client: TestClient
) -> None:
    _file(app_client, people.dpo)
    with pytest.raises(Exception, match="never deleted"), platform.db.transaction() as s:
        s.execute(delete(SecurityReport))
    with platform.db.transaction() as s:
        assert len(s.execute(select(SecurityReport)).all()) == 1


def test_an_unresolved_report_escalates_after_n_days_even_acknowledged(
    platform: Platform, people: People, app_client: TestClient
) -> None:
    alert = _file(app_client, people.dpo)["alert_id"]
    app_client.post(
        f"/v1/alerts/{alert}/acknowledge", json={"reason": "later"}, headers=people.dpo.auth
    )
    settings = AlertSettings(report_escalate_days=7)
    now = datetime.now(UTC)
    with platform.db.transaction() as s:
        assert escalate(s, platform.audit, settings, now=now + timedelta(days=6)) == 0
        assert escalate(s, platform.audit, settings, now=now + timedelta(days=8)) == 1
    assert app_client.get(f"/v1/alerts/{alert}", headers=people.dpo.auth).json()["level"] == 2


def test_alert_routes_refuse_the_roles_without_them(people: People, app_client: TestClient) -> None:
    assert app_client.get("/v1/alerts", headers=people.operator.auth).status_code == 403
    assert app_client.get("/metrics").status_code == 401
    assert app_client.get("/metrics", headers=people.dpo.auth).status_code == 403


def test_metrics_in_prometheus_format(
    platform: Platform, people: People, app_client: TestClient
) -> None:
    _file(app_client, people.dpo)
    app_client.post("/v1/session", json={"email": "nobody@example.org", "password": "x"})
    r = app_client.get("/metrics", headers=people.auditor.auth)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    alerts = {
        (s.labels["kind"], s.labels["state"]): s.value for s in families["ecluse_alerts"].samples
    }
    assert alerts == {("staff:security-report", "open"): 1.0}
    assert families["ecluse_auth_failures"].samples[0].value == 1.0
    assert families["ecluse_audit_events"].samples[0].value > 0
    assert families["ecluse_detector_lag_events"].samples[0].value > 0  # nobody ran them yet
    with platform.db.transaction() as s:
        assert s.execute(
            select(AuditEvent).where(AuditEvent.action == Action.LOGIN_REFUSED)
        ).first()


def test_the_supervision_report_for_the_dpo(
    platform: Platform, people: People, app_client: TestClient
) -> None:
    filed = _file(app_client, people.operator, anonymous=True, organisation_id=people.controller)
    alert = _file(app_client, people.dpo)["alert_id"]
    app_client.post(
        f"/v1/alerts/{alert}/acknowledge", json={"reason": "seen"}, headers=people.dpo.auth
    )
    since = {"since": (datetime.now(UTC) - timedelta(days=1)).isoformat()}
    report = app_client.get("/v1/supervision-report", params=since, headers=people.dpo.auth).json()
    open_reports = [r["report"] for r in report["open_security_reports"]]
    assert filed["id"] in open_reports and len(open_reports) == 2
    assert report["alerts_by_kind"] == {"staff:security-report": 2}
    assert report["median_minutes_to_acknowledge"] is not None
    assert any(k["key"].startswith("key-encryption key v1") for k in report["keys"])
    page = app_client.get(
        "/v1/supervision-report", params={**since, "html": "true"}, headers=people.auditor.auth
    )
    assert page.status_code == 200 and "Open security reports" in page.text
    assert people.operator.email not in page.text  # never who filed a report
    refused = app_client.get("/v1/supervision-report", params=since, headers=people.operator.auth)
    assert refused.status_code == 403
