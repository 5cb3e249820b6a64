"""`ecluse serve` supervises: refused logins over HTTPS reach the admins by e-mail through
the SMTP server named in the environment, within seconds, and a key login over SFTP is
recorded with its address for the detectors."""

from __future__ import annotations

import ssl
import time
from pathlib import Path

import httpx
from sqlalchemy import select

from ecluse.audit import Action
from ecluse.db.models import AuditEvent
from ecluse.instance.platform import Platform
from tests.server.harness import running
from tests.supervision.conftest import Mailbox, People, people, smtp_server

__all__ = ["people", "smtp_server"]


def test_refused_logins_reach_the_admin_by_mail(
    platform: Platform, people: People, smtp_server: Mailbox, tmp_path: Path
) -> None:
    env = {
        "ECLUSE_ALERTS__SMTP_HOST": "localhost",
        "ECLUSE_ALERTS__SMTP_PORT": str(smtp_server.port),
        "ECLUSE_ALERTS__SMTP_CAFILE": str(smtp_server.cafile),
        "ECLUSE_DETECT__FAILURES_PER_ADDRESS": "3",
    }
    with running(platform.settings, tmp_path, **env) as server:
        cert = platform.settings.server_dir / "tls.crt"
        trust = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(base_url=f"https://127.0.0.1:{server.https_port}", verify=trust) as c:
            for i in range(3):
                r = c.post("/v1/session", json={"email": f"who{i}@example.org", "password": "no"})
                assert r.status_code == 401
        deadline = time.monotonic() + 20
        while not smtp_server.messages and time.monotonic() < deadline:
            time.sleep(0.1)
    [mail] = smtp_server.messages
    assert mail.rcpt_tos == [people.admin.email]  # the platform's alert: its admins
    text = (mail.original_content or b"").decode()
    assert "access:failures-address" in text and "address: 127.0.0.1" in text
    with platform.db.transaction() as s:
        delivered = s.execute(
            select(AuditEvent.details).where(AuditEvent.action == Action.ALERT_DELIVER)
        ).scalars()
        assert any('"sink":"smtp"' in d for d in delivered)
