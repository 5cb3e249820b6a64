"""People to alert, and real servers for the sinks: an aiosmtpd SMTP server that requires
STARTTLS, a webhook receiver and syslog listeners, all on 127.0.0.1."""

from __future__ import annotations

import http.server
import json
import socketserver
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from ecluse.db.models import Organisation
from ecluse.identity import OrgKind, Role, authenticate
from ecluse.identity.tokens import Principal
from ecluse.instance.platform import Platform
from tests.mail_tools import Mailbox, free_port, smtp_server, tls_files
from tests.server.conftest import Person, make_person

__all__ = ["Mailbox", "free_port", "smtp_server", "tls_files"]


@dataclass(frozen=True)
class People:
    dpo: Person
    auditor: Person
    admin: Person
    operator: Person
    controller: str  # organisation ids
    platform_org: str

    def principal(self, platform: Platform, person: Person) -> Principal:
        with platform.db.transaction() as s:
            return authenticate(s, person.token)


@pytest.fixture
def people(platform: Platform) -> People:
    dpo = make_person(platform, Role.DPO)
    with platform.db.transaction() as s:
        controller = s.execute(
            select(Organisation.id).where(Organisation.kind == OrgKind.CONTROLLER.value)
        ).scalar_one()
        platform_org = s.execute(
            select(Organisation.id).where(Organisation.kind == OrgKind.PLATFORM.value)
        ).scalar_one()
    return People(
        dpo=dpo,
        auditor=make_person(platform, Role.AUDITOR, org=controller),
        admin=make_person(platform, Role.ADMIN, org=platform_org),
        operator=make_person(platform, Role.OPERATOR),
        controller=controller,
        platform_org=platform_org,
    )


@dataclass
class Receiver:
    url: str
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    status: int = 204


@pytest.fixture
def webhook_receiver() -> Iterator[Receiver]:
    receiver = Receiver(url="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            receiver.requests.append((dict(self.headers.items()), body))
            self.send_response(receiver.status)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_port}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@dataclass
class SyslogListener:
    address: str
    frames: list[bytes] = field(default_factory=list)


@pytest.fixture(params=["udp", "tcp"])
def syslog_listener(request: pytest.FixtureRequest) -> Iterator[SyslogListener]:
    listener = SyslogListener(address="")

    class Udp(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            listener.frames.append(self.request[0])

    class Tcp(socketserver.StreamRequestHandler):
        def handle(self) -> None:  # RFC 6587 octet counting: "LEN SP MSG"
            while length := self._length():
                listener.frames.append(self.rfile.read(length))

        def _length(self) -> int:
            digits = b""
            while (c := self.rfile.read(1)) not in (b" ", b""):
                digits += c
            return int(digits) if digits else 0

    kind = request.param
    server: socketserver.BaseServer = (
        socketserver.ThreadingUDPServer(("127.0.0.1", 0), Udp)
        if kind == "udp"
        else socketserver.ThreadingTCPServer(("127.0.0.1", 0), Tcp)
    )
    host, port = server.server_address[:2]
    listener.address = f"{kind}://{host!s}:{port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield listener
    server.shutdown()
    server.server_close()


def as_json(body: bytes) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(body)
    return value
