"""Sinks against real servers: SMTP with STARTTLS (aiosmtpd), a webhook receiver checking the
HMAC, syslog listeners (UDP and TCP); a failing sink is retried and alerted on, never lost."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from ecluse.config import AlertSettings
from ecluse.db.models import Alert, AlertDelivery
from ecluse.errors import ConfigurationError
from ecluse.instance.platform import Platform
from ecluse.services.alerting import raise_alert
from ecluse.services.watch.dispatch import dispatch
from ecluse.supervision.alerts import AlertKind, Severity
from ecluse.supervision.sinks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    LogSink,
    SmtpSink,
    SyslogSink,
    WebhookSink,
)
from tests.supervision.conftest import (
    Mailbox,
    People,
    Receiver,
    SyslogListener,
    as_json,
    free_port,
    people,
    smtp_server,
    syslog_listener,
    webhook_receiver,
)

__all__ = ["people", "smtp_server", "syslog_listener", "webhook_receiver"]
SECRET = "a-webhook-secret-of-some-length"


def _alert(platform: Platform, org: str) -> str:
    with platform.db.transaction() as s:
        return raise_alert(
            s,
            platform.audit,
            kind=AlertKind.FOREIGN_PACKAGE,
            severity=Severity.CRITICAL,
            organisation_id=org,
            refs={"package": "p-1", "account": "a-1"},
            details={"rows": 3},
        )


def test_mail_reaches_the_first_contact_over_starttls(
    platform: Platform, people: People, smtp_server: Mailbox
) -> None:
    settings = AlertSettings(
        smtp_host="localhost", smtp_port=smtp_server.port, smtp_cafile=smtp_server.cafile
    )
    alert = _alert(platform, people.controller)
    done = dispatch(platform, [LogSink(), SmtpSink(settings=settings)])
    assert (done.expanded, done.sent, done.failed) == (1, 2, 0)
    [mail] = smtp_server.messages
    assert mail.rcpt_tos == [people.dpo.email]  # no contact named: the controller's dpo
    parsed = message_from_bytes(mail.original_content or b"", policy=policy.default)
    assert parsed["Subject"] == "[Écluse critical] package:other-organisation — raised"
    body = parsed.get_body().get_content()  # type: ignore[attr-defined]
    assert alert in body and "rows: 3" in body
    with platform.db.transaction() as s:
        states = s.execute(select(AlertDelivery.sink, AlertDelivery.state)).all()
        assert sorted(states) == [("*", "expanded"), ("log", "sent"), ("smtp", "sent")]


def test_mail_is_not_sent_in_clear_to_a_server_without_starttls(
    platform: Platform, people: People
) -> None:
    from aiosmtpd.controller import Controller  # noqa: PLC0415 - this test's plain server

    port = free_port()
    box = Mailbox(port=port, cafile=Path("unused"))
    plain = Controller(box, hostname="127.0.0.1", port=port)
    plain.start()
    try:
        _alert(platform, people.controller)
        sink = SmtpSink(settings=AlertSettings(smtp_host="127.0.0.1", smtp_port=port))
        assert dispatch(platform, [sink]).failed == 1
    finally:
        plain.stop()
    assert box.messages == []


def test_the_webhook_body_is_signed(
    platform: Platform, people: People, webhook_receiver: Receiver
) -> None:
    alert = _alert(platform, people.controller)
    settings = AlertSettings(webhook_url=webhook_receiver.url, webhook_secret=SecretStr(SECRET))
    assert dispatch(platform, [WebhookSink(settings=settings)]).sent == 1
    [(headers, body)] = [(h, b) for h, b in webhook_receiver.requests if b'"alert_id"' in b]
    stamp = headers[TIMESTAMP_HEADER]
    expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers[SIGNATURE_HEADER], f"sha256={expected}")
    payload = as_json(body)
    assert (payload["alert_id"], payload["event"], payload["kind"]) == (
        alert,
        "raised",
        "package:other-organisation",
    )
    assert abs(int(stamp) - datetime.now(UTC).timestamp()) < 60


@pytest.mark.parametrize(
    "settings",
    [
        {"webhook_url": "file:///etc/passwd", "webhook_secret": SECRET},
        {"webhook_url": "https://example.org/hook", "webhook_secret": "short"},
        {"webhook_url": "https://example.org/hook"},
    ],
)
def test_a_webhook_needs_http_and_a_real_secret(settings: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        WebhookSink(settings=AlertSettings.model_validate(settings))


def test_syslog_frames_follow_rfc5424(
    platform: Platform, people: People, syslog_listener: SyslogListener
) -> None:
    alert = _alert(platform, people.controller)
    sink = SyslogSink(settings=AlertSettings(syslog=syslog_listener.address))
    assert dispatch(platform, [sink]).sent == 1
    deadline = time.monotonic() + 5
    while len(syslog_listener.frames) < 2 and time.monotonic() < deadline:  # alert, checkpoint
        time.sleep(0.01)
    [frame] = [f for f in syslog_listener.frames if b"[ecluse@32473 " in f]
    header = (
        rb"<34>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z \S+ ecluse - package:other-organisation "
    )
    assert re.match(header, frame), frame  # security facility (4) * 8 + critical (2)
    assert f'[ecluse@32473 alert="{alert}" kind="package:other-organisation"'.encode() in frame
    message = f"alert {alert} raised: package:other-organisation (critical)"
    assert frame.endswith(b"] \xef\xbb\xbf" + message.encode())  # BOM, then UTF-8


def test_a_failing_sink_is_retried_alerted_on_and_loses_nothing(
    platform: Platform, people: People, webhook_receiver: Receiver
) -> None:
    alert = _alert(platform, people.controller)
    settings = AlertSettings(
        webhook_url=webhook_receiver.url,
        webhook_secret=SecretStr(SECRET),
        retry_seconds=60,
        failing_after=2,
    )
    platform = Platform.assemble(
        settings=platform.settings.model_copy(update={"alerts": settings}),
        db=platform.db,
        keys=platform.keys,
    )
    sinks = [LogSink(), WebhookSink(settings=settings)]
    webhook_receiver.status = 503
    now = datetime.now(UTC)
    assert dispatch(platform, sinks, now=now).failed == 1
    assert dispatch(platform, sinks, now=now + timedelta(seconds=30)).failed == 0  # waiting
    assert dispatch(platform, sinks, now=now + timedelta(seconds=61)).failed == 1  # retried
    with platform.db.transaction() as s:
        kinds = sorted(s.execute(select(Alert.kind)).scalars())
        assert kinds == ["package:other-organisation", "platform:sink-failing"]
        delivery = s.execute(
            select(AlertDelivery).where(
                AlertDelivery.alert_id == alert, AlertDelivery.sink == "webhook"
            )
        ).scalar_one()
        assert (delivery.state, delivery.attempts, delivery.last_error) == (
            "pending",
            2,
            "webhook: HTTPError",
        )
    webhook_receiver.status = 200
    later = dispatch(platform, sinks, now=now + timedelta(minutes=10))
    assert later.failed == 0
    received = [as_json(body).get("alert_id") for _, body in webhook_receiver.requests]
    assert received.count(alert) == 3
    with platform.db.transaction() as s:
        pending = s.execute(select(AlertDelivery).where(AlertDelivery.state == "pending"))
        # the sink-failure alert went to the log only: the webhook is the one failing
        assert [(d.sink, d.alert_id) for d in pending.scalars()] == []
