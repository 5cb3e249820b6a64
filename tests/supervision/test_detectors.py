"""Detectors read the audit stream the real services write: refused logins, sessions from
new networks, access outside working hours, mass downloads. Several processes sharing one
database judge every event exactly once."""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context

import pytest
from sqlalchemy import select

from ecluse.audit import Action
from ecluse.config import DetectorSettings, Settings
from ecluse.db.models import Alert, AuditEvent, Instruction, Organisation, SupervisionCursor
from ecluse.errors import AuthenticationError, ConfigurationError
from ecluse.identity import Role, create_account, enrol
from ecluse.identity.credentials import set_password
from ecluse.instance.platform import Platform
from ecluse.services import credentials, delivery
from ecluse.services.watch.runner import lag, run_detectors
from ecluse.supervision.alerts import AlertKind
from ecluse.supervision.detectors import AuthFailures, MassAccess, NewNetwork, OffHours
from ecluse.supervision.hours import DAYS, parse_hours
from tests.age_tools import Identity
from tests.mail_tools import approve_all
from tests.packages.conftest import Migration, agreement, export, identity, migration, parties
from tests.supervision.conftest import People, people

__all__ = ["agreement", "export", "identity", "migration", "parties", "people"]
PASSWORD = "Lock-Keeper-Opens-9-Gates"
DEFAULTS = DetectorSettings()


def _login_person(platform: Platform, org: str, email: str) -> str:
    with platform.db.transaction() as s:
        new = create_account(
            s, organisation_id=org, email=email, full_name="Lea Login", roles={Role.OPERATOR}
        )
        enrol(s, email=email, code=new.enrolment_code)
        approve_all(s, new.id)
        set_password(s, new.id, PASSWORD)
    return new.id


def _log_in(platform: Platform, email: str, *, password: str = PASSWORD, address: str) -> bool:
    try:
        credentials.log_in(
            platform, email=email, password=password, code=None, address=address, channel="https"
        )
    except AuthenticationError:
        return False
    return True


def _alerts(platform: Platform) -> list[tuple[str, str, int, dict[str, str]]]:
    with platform.db.transaction() as s:
        rows = s.execute(select(Alert).order_by(Alert.created_at)).scalars().all()
        return [(a.kind, a.organisation_id, a.occurrences, json.loads(a.refs)) for a in rows]


def test_a_burst_of_failures_on_one_account_alerts_its_organisation(
    platform: Platform, people: People
) -> None:
    account = _login_person(platform, people.controller, "lea@lab.example.fr")
    for _ in range(DEFAULTS.failures_per_account + 1):
        assert not _log_in(platform, "lea@lab.example.fr", password="wrong", address="198.51.100.7")
    run_detectors(platform, [AuthFailures(DEFAULTS)])
    [(kind, org, occurrences, refs)] = _alerts(platform)
    assert (kind, org, refs) == (
        AlertKind.AUTH_BURST_ACCOUNT.value,
        people.controller,
        {"account": account},
    )
    assert occurrences == 2


def test_a_burst_from_one_address_across_accounts_alerts_the_platform(
    platform: Platform, people: People
) -> None:
    settings = DetectorSettings(failures_per_address=4)
    for i in range(4):
        _log_in(platform, f"nobody{i}@example.org", password="x", address="203.0.113.9")
    _log_in(platform, "other@example.org", password="x", address="203.0.113.10")
    run_detectors(platform, [AuthFailures(settings)])
    assert _alerts(platform) == [
        (AlertKind.AUTH_BURST_ADDRESS.value, people.platform_org, 1, {"address": "203.0.113.9"})
    ]


def test_a_login_from_a_new_network_alerts_but_not_the_first_or_a_neighbour(
    platform: Platform, people: People
) -> None:
    account = _login_person(platform, people.controller, "lea@lab.example.fr")
    for address in ("192.0.2.10", "192.0.2.77", "2001:db8::1", "2001:db8:0:1::5"):
        assert _log_in(platform, "lea@lab.example.fr", address=address)
        run_detectors(platform, [NewNetwork(DEFAULTS)])
    alerts = _alerts(platform)
    assert [(k, o, n) for k, o, n, _ in alerts] == [
        (AlertKind.NEW_NETWORK.value, people.controller, 1)
    ]
    with platform.db.transaction() as s:
        details = json.loads(s.execute(select(Alert.details)).scalar_one())
    assert details == {"network": "2001:db8::/48", "via": "https"}  # the /24 neighbour passed
    assert alerts[0][3] == {"account": account}


def test_access_outside_the_organisations_hours_alerts(platform: Platform, people: People) -> None:
    today = datetime.now(UTC).weekday()
    other_day = DAYS[(today + 3) % 7]
    with platform.db.transaction() as s:
        s.get(Organisation, people.controller).working_hours = f"{other_day} 08:00-18:00 UTC"
    _login_person(platform, people.controller, "lea@lab.example.fr")
    assert _log_in(platform, "lea@lab.example.fr", address="192.0.2.10")
    run_detectors(platform, [OffHours()])
    assert [a[0] for a in _alerts(platform)] == [AlertKind.OFF_HOURS.value]


@pytest.mark.parametrize(
    ("spec", "moment", "covered"),
    [
        ("mon-fri 07:00-20:00 Europe/Paris", datetime(2026, 11, 23, 6, 30, tzinfo=UTC), True),
        ("mon-fri 07:00-20:00 Europe/Paris", datetime(2026, 11, 23, 5, 59, tzinfo=UTC), False),
        ("mon-fri 07:00-20:00 Europe/Paris", datetime(2026, 11, 22, 12, 0, tzinfo=UTC), False),
        ("mon,sat 08:00-12:30 UTC", datetime(2026, 11, 28, 12, 29, tzinfo=UTC), True),
        ("always", datetime(2026, 11, 22, 3, 0, tzinfo=UTC), True),
    ],
)
def test_working_hours(spec: str, moment: datetime, covered: bool) -> None:
    assert parse_hours(spec).covers(moment) is covered


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "weekdays",
        "fri-mon 07:00-20:00 UTC",
        "mon 20:00-07:00 UTC",
        "mon 07:00-20:00 Mars/Olympus",
    ],
)
def test_malformed_working_hours_are_refused(spec: str) -> None:
    with pytest.raises(ConfigurationError):
        parse_hours(spec)


def test_mass_listing_alerts_the_platform(platform: Platform, people: People) -> None:
    email = people.operator.email
    with platform.db.transaction() as s:
        for _ in range(3):
            platform.audit.append(
                s, actor=f"account:{email}", action=Action.PACKAGE_LIST, refs={}, details={}
            )
    run_detectors(platform, [MassAccess(DetectorSettings(listings_per_hour=3))])
    assert [(a[0], a[1]) for a in _alerts(platform)] == [
        (AlertKind.MASS_LISTING.value, people.platform_org)
    ]


def _pass_until_caught_up(settings: Settings) -> int:
    """In a separate process: detector passes until nothing is left; events judged."""
    platform = Platform.open(settings)
    judged = 0
    try:
        while (done := run_detectors(platform, [AuthFailures(DEFAULTS)])).events:
            judged += done.events
    finally:
        platform.close()
    return judged


def test_processes_sharing_the_database_judge_each_event_once(
    platform: Platform, people: People
) -> None:
    settings = platform.settings.model_copy(update={"detect": DetectorSettings(batch=7)})
    _login_person(platform, people.controller, "lea@lab.example.fr")
    failures = 40
    for _ in range(failures):
        _log_in(platform, "lea@lab.example.fr", password="wrong", address="198.51.100.7")
    with platform.db.transaction() as s:
        head = s.execute(select(AuditEvent.seq).order_by(AuditEvent.seq.desc()).limit(1)).scalar()
        start = s.get(SupervisionCursor, "detectors")
        unread = head - (start.seq if start else 0)
    with ProcessPoolExecutor(3, mp_context=get_context("spawn")) as pool:
        judged = sum(pool.map(_pass_until_caught_up, [settings] * 3))
    assert judged >= unread  # plus the alerts' own events, read by whoever came next
    occurrences = {k: n for k, _, n, _ in _alerts(platform)}
    per_account = failures - DEFAULTS.failures_per_account + 1  # once per failure from the 5th
    per_address = failures - DEFAULTS.failures_per_address + 1
    assert occurrences == {
        AlertKind.AUTH_BURST_ACCOUNT.value: per_account,
        AlertKind.AUTH_BURST_ADDRESS.value: per_address,
    }
    with platform.db.transaction() as s:
        behind = lag(s, now=datetime.now(UTC) + timedelta(seconds=1))
    assert behind.events >= 0


def test_mass_downloads_alert_the_controller_of_the_package(
    migration: Migration, identity: Identity
) -> None:
    platform = migration.platform
    iid = migration.instruct(expected_rows=migration.export.in_scope().height)
    package = migration.run("olga", iid).package_id
    rita = migration.parties["rita"]
    for _ in range(3):
        b"".join(delivery.download(platform, rita, package))
    run_detectors(platform, [MassAccess(DetectorSettings(downloads_per_hour=3))])
    with platform.db.transaction() as s:
        alert = s.execute(select(Alert)).scalar_one()
        controller = s.execute(
            select(Instruction.controller_id).where(Instruction.id == iid)
        ).scalar_one()
    assert (alert.kind, alert.organisation_id) == (AlertKind.MASS_DOWNLOAD.value, controller)


def test_an_sftp_download_counts_once(platform: Platform, people: People) -> None:
    """SFTP records the opening of the file, then the completed download: one download."""
    actor = f"account:{people.operator.email}"
    with platform.db.transaction() as s:
        for _ in range(2):
            refs = {"package": "p-1"}
            platform.audit.append(
                s, actor=actor, action=Action.SFTP_OPEN, refs=refs, details={"file": "manifest"}
            )
            platform.audit.append(
                s, actor=actor, action=Action.SFTP_OPEN, refs=refs, details={"file": "package"}
            )
            platform.audit.append(
                s, actor=actor, action=Action.PACKAGE_DOWNLOAD, refs=refs, details={"via": "ssh"}
            )
    run_detectors(platform, [MassAccess(DetectorSettings(downloads_per_hour=3))])
    assert _alerts(platform) == []  # two downloads, not four or six
