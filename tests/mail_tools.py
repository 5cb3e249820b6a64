"""A real SMTP server (aiosmtpd) that requires STARTTLS, and reading a person's enrolment code
from the e-mail it received, as the person would: the code is never in any response."""

from __future__ import annotations

import re
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from sqlalchemy import select
from sqlalchemy.orm import Session

from ecluse.config import AlertSettings
from ecluse.crypto._primitives import self_signed_tls
from ecluse.db.models import AccountRole

#: the running test servers, by port, for helpers that only hold an environment
MAILBOXES: dict[str, Mailbox] = {}
CODE = re.compile(r"\b[A-Z2-9]{5}(?:-[A-Z2-9]{5}){4}\b")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Mailbox:
    port: int
    cafile: Path
    messages: list[Envelope] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        self.messages.append(envelope)
        return "250 OK"

    @property
    def settings(self) -> AlertSettings:
        return AlertSettings(smtp_host="localhost", smtp_port=self.port, smtp_cafile=self.cafile)

    @property
    def env(self) -> dict[str, str]:
        return {
            "ECLUSE_ALERTS__SMTP_HOST": "localhost",
            "ECLUSE_ALERTS__SMTP_PORT": str(self.port),
            "ECLUSE_ALERTS__SMTP_CAFILE": str(self.cafile),
        }

    def texts_to(self, email: str) -> list[str]:
        found = []
        for envelope in list(self.messages):
            if email.lower() in [r.lower() for r in envelope.rcpt_tos]:
                mail = message_from_bytes(envelope.original_content or b"")
                payload = mail.get_payload(decode=True)
                found.append(payload.decode() if isinstance(payload, bytes) else str(payload))
        return found

    def enrolment_code(self, email: str, *, timeout: float = 10.0) -> str:
        """The code in the newest e-mail to `email` (waiting for it a little)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            codes = [m for text in self.texts_to(email) for m in CODE.findall(text)]
            if codes:
                return codes[-1]
            time.sleep(0.05)
        raise AssertionError(f"no enrolment e-mail reached {email}")


def tls_files(directory: Path) -> tuple[Path, Path]:
    cert, key = self_signed_tls(hostnames=["localhost"], addresses=["127.0.0.1"], days=30)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "tls.crt").write_bytes(cert)
    (directory / "tls.key").write_bytes(key)
    return directory / "tls.crt", directory / "tls.key"


@pytest.fixture
def smtp_server(tmp_path: Path) -> Iterator[Mailbox]:
    """An SMTP server that refuses mail until STARTTLS (aiosmtpd, a real server)."""
    cert, key = tls_files(tmp_path / "smtp")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    box = Mailbox(port=free_port(), cafile=cert)
    controller = Controller(
        box, hostname="127.0.0.1", port=box.port, tls_context=context, require_starttls=True
    )
    controller.start()
    MAILBOXES[str(box.port)] = box
    yield box
    MAILBOXES.pop(str(box.port), None)
    controller.stop()


def mailbox_of(env: dict[str, str]) -> Mailbox:
    """The SMTP server an `ecluse` environment sends to."""
    return MAILBOXES[env["ECLUSE_ALERTS__SMTP_PORT"]]


def approve_all(s: Session, account_id: str) -> None:
    """For setup that is not about approval: the account's pending roles approved, as the
    organisation's dpo or security contact would."""
    for row in s.execute(
        select(AccountRole).where(
            AccountRole.account_id == account_id, AccountRole.approved_at.is_(None)
        )
    ).scalars():
        row.approved_at, row.approved_by = datetime.now(UTC), "test:setup"
    s.flush()
