"""Supervision: audit events judged per second by all detectors together, beside reading
the same events through the same cursor with no detector; and the delay from a refused login
to its alert's e-mail reaching an SMTP server (aiosmtpd, STARTTLS) through the supervision
loop `ecluse serve` runs, beside sending the same e-mail directly to the same server.

    python -m bench.detect [--events 100000] [--trials 40] [--database-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import random
import smtplib
import ssl
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from sqlalchemy import select
from tests.supervision.conftest import free_port, tls_files

from bench.common import closing_line
from ecluse.audit import Action
from ecluse.config import AlertSettings, DetectorSettings, Settings
from ecluse.db.models import AuditEvent, SupervisionCursor
from ecluse.errors import AuthenticationError
from ecluse.identity import OrgKind, Role, create_account, create_organisation, enrol
from ecluse.instance.platform import Platform
from ecluse.services import credentials
from ecluse.services.setup import init_instance
from ecluse.services.watch.loop import Supervisor
from ecluse.services.watch.runner import CURSOR, Acquaintances, run_detectors
from ecluse.supervision.detectors import all_detectors

ADMIN = "ada.admin@lab.example.fr"


class Inbox:
    """Arrival time of each message, by the address its alert is about."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}

    async def handle_DATA(self, server: object, session: object, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd's hook
        text = (envelope.original_content or b"").decode(errors="replace")
        for line in text.splitlines():
            if line.startswith("address: "):
                self.arrived.setdefault(line.removeprefix("address: ").strip(), time.monotonic())
        return "250 OK"


def _people(platform: Platform) -> dict[str, str]:
    """400 named people (e-mail → account id) of 28 laboratories."""
    people: dict[str, str] = {}
    with platform.db.transaction() as s:
        labs = [
            create_organisation(s, name=f"Laboratoire {i}", kind=OrgKind.CONTROLLER)
            for i in range(28)
        ]
        for i in range(400):
            email = f"p{i}@lab{i % 28}.example.fr"
            new = create_account(
                s,
                organisation_id=labs[i % 28],
                email=email,
                full_name=f"Person Number{i}",
                roles={Role.AUDITOR},
            )
            people[email] = new.id
    return people


def _events(platform: Platform, n: int) -> None:
    """Mixed events of 400 people: sessions (1 % from an unusual network), listings,
    downloads, SFTP, refused logins (1 %), and actions no detector watches."""
    rng = random.Random(5)  # noqa: S311 - a reproducible workload, not a secret
    people = _people(platform)
    emails = sorted(people)
    home = {who: f"10.{i % 4}.{i % 250}" for i, who in enumerate(emails)}  # each one's network
    mix = [
        (Action.SESSION_OPEN, 20),
        (Action.PACKAGE_LIST, 15),
        (Action.PACKAGE_DOWNLOAD, 5),
        (Action.SFTP_OPEN, 10),
        (Action.LOGIN_REFUSED, 1),
        (Action.BLOB_PUT, 29),
        (Action.TOKEN_ISSUE, 20),
    ]
    actions = [a for a, w in mix for _ in range(w)]
    batch = 2000
    for start in range(0, n, batch):
        with platform.db.transaction() as s:
            for _ in range(min(batch, n - start)):
                who, action = rng.choice(emails), rng.choice(actions)
                network = home[who] if rng.random() < 0.99 else f"172.16.{rng.randrange(256)}"
                address = f"{network}.{rng.randrange(1, 255)}"
                platform.audit.append(
                    s,
                    actor=f"account:{who}",
                    action=action,
                    refs={"account": people[who]},
                    details={"email": who, "address": address, "via": "https"},
                )


def _rewind(platform: Platform, seq: int) -> None:
    with platform.db.transaction() as s:
        cursor = s.get(SupervisionCursor, CURSOR)
        if cursor is not None:
            cursor.seq = seq


def _throughput(platform: Platform, n: int) -> tuple[float, float]:
    """(events/s with every detector, events/s reading alone), best of two each."""
    with platform.db.transaction() as s:
        start = s.execute(
            select(SupervisionCursor.seq).where(SupervisionCursor.name == CURSOR)
        ).scalar_one()
    _events(platform, n)
    rates: dict[str, float] = {}
    for name, detectors in (("read", []), ("detect", all_detectors(platform.settings.detect))) * 2:
        _rewind(platform, start)
        t0, judged, known = time.perf_counter(), 0, Acquaintances()
        while (done := run_detectors(platform, detectors, known=known)).events and judged < n:
            judged += done.events
        rates[name] = max(rates.get(name, 0.0), judged / (time.perf_counter() - t0))
    return rates["detect"], rates["read"]


def _direct(port: int, cafile: Path, trials: int) -> list[float]:
    """Seconds to send one alert-sized e-mail over STARTTLS, straight."""
    context = ssl.create_default_context(cafile=str(cafile))
    delays = []
    for _ in range(trials):
        t0 = time.monotonic()
        with smtplib.SMTP("localhost", port, timeout=10) as smtp:
            smtp.starttls(context=context)
            smtp.sendmail("ecluse@localhost", [ADMIN], b"Subject: x\r\n\r\n" + b"x" * 600)
        delays.append(time.monotonic() - t0)
    return delays


def _latency(platform: Platform, inbox: Inbox, trials: int) -> list[float]:
    supervisor = Supervisor(platform)
    supervisor.slow_duties()  # the chain's first self-check is due at start: not during trials
    while (t := supervisor.tick()).delivered.sent or t.delivered.expanded:
        pass  # first deliver what the throughput run raised: the trials start from an empty outbox
    stop = threading.Event()
    loop = threading.Thread(target=supervisor.run, kwargs={"stop": stop}, daemon=True)
    loop.start()
    delays = []
    try:
        for i in range(trials):
            address = f"192.0.2.{i + 1}"
            for _ in range(platform.settings.detect.failures_per_address):
                with contextlib.suppress(AuthenticationError):
                    credentials.log_in(
                        platform,
                        email=f"ghost{i}@example.org",
                        password="wrong",  # noqa: S106 - a refused login is the point
                        code=None,
                        address=address,
                        channel="https",
                    )
            t0 = time.monotonic()
            deadline = t0 + 30
            while address not in inbox.arrived and time.monotonic() < deadline:
                time.sleep(0.005)
            if address in inbox.arrived:
                delays.append(inbox.arrived[address] - t0)
            else:
                print(f"no e-mail for trial {i} within 30 s")
    finally:
        stop.set()
        loop.join(10)
    return delays


def _pct(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]
        if len(values) > 1
        else values[0]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ecluse-bench-detect-") as tmp:
        work = Path(tmp)
        cert, key = tls_files(work / "smtp")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        inbox, port = Inbox(), free_port()
        smtp = Controller(
            inbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True
        )
        smtp.start()
        settings = Settings(
            home=work / "home",
            database_url=args.database_url,
            alerts=AlertSettings(smtp_host="localhost", smtp_port=port, smtp_cafile=cert),
            detect=DetectorSettings(failures_per_address=3),
        )
        made = init_instance(settings, admin_email=ADMIN, admin_name="Ada Admin")
        platform = Platform.open(settings)
        try:
            with platform.db.transaction() as s:
                enrol(s, email=ADMIN, code=made.enrolment_code)
            detect, read = _throughput(platform, args.events)
            print(
                f"{args.events:,} audit events: all detectors {detect:,.0f} events/s; "
                f"reading alone {read:,.0f} events/s ({platform.db.dialect})"
            )
            with platform.db.transaction() as s:  # the alert loop starts after the bulk
                head = s.execute(
                    select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)
                ).scalar_one()
            _rewind(platform, head)
            delays = _latency(platform, inbox, args.trials)
            direct = _direct(port, cert, args.trials)
        finally:
            platform.close()
            smtp.stop()
    p50, p99 = _pct(delays, 50), _pct(delays, 99)
    d50, d99 = _pct(direct, 50), _pct(direct, 99)
    print(
        f"refused login → alert e-mail received ({len(delays)}/{args.trials}): "
        f"p50 {p50 * 1000:,.0f} ms, p99 {p99 * 1000:,.0f} ms; direct STARTTLS send "
        f"p50 {d50 * 1000:,.1f} ms, p99 {d99 * 1000:,.1f} ms "
        f"(the supervision loop ticks every 0.5 s) at {datetime.now(UTC):%H:%M}"
    )
    closing_line(name="detect.events_per_s", value=detect, unit="events/s", baseline=read)
    closing_line(name="detect.alert_p50_ms", value=p50 * 1000, unit="ms", baseline=d50 * 1000)
    closing_line(name="detect.alert_p99_ms", value=p99 * 1000, unit="ms", baseline=d99 * 1000)


if __name__ == "__main__":
    main()
