"""Detectors: each reads audit events and returns findings, with a shared memory for what it
must remember between events (recent failures, known networks) and a directory to look up
who an actor is. No detector does I/O of its own; the runner feeds them in order.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from ecluse.audit import Action
from ecluse.audit.canonical import JsonValue
from ecluse.config import DetectorSettings
from ecluse.supervision.alerts import AlertKind, Severity
from ecluse.supervision.hours import WorkingHours


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    ts: datetime
    actor: str
    action: str
    refs: Mapping[str, str]
    details: Mapping[str, JsonValue]


@dataclass(frozen=True, slots=True)
class Finding:
    kind: AlertKind
    severity: Severity
    organisation_id: str | None  # None: the platform's own
    refs: dict[str, str]
    details: dict[str, JsonValue] = field(default_factory=dict)


class Memory(Protocol):
    def get(self, detector: str, key: str) -> JsonValue: ...
    def put(self, detector: str, key: str, value: JsonValue, *, until: datetime) -> None: ...


class Directory(Protocol):
    """Who is behind an actor, a token or a package (cached by the runner)."""

    def account(self, *, email: str | None = None, token: str | None = None) -> str | None: ...
    def organisation_of(self, account_id: str) -> str | None: ...
    def working_hours(self, organisation_id: str) -> WorkingHours: ...
    def controller_of_package(self, package_id: str) -> str | None: ...


class Detector(Protocol):
    name: str
    actions: frozenset[Action]

    def observe(self, event: Event, memory: Memory, directory: Directory) -> list[Finding]: ...


_REMEMBERED = 1000  # occurrences kept per key: a flood counts as "at least this many"


def _window(memory: Memory, name: str, key: str, at: datetime, span: timedelta) -> int:
    """Record an occurrence at `at` under `key`; return how many fall within `span`."""
    start = int((at - span).timestamp())
    kept: list[JsonValue] = [t for t in _ints(memory.get(name, key)) if t > start]
    kept = [*kept[-(_REMEMBERED - 1) :], int(at.timestamp())]
    memory.put(name, key, kept, until=at + span)
    return len(kept)


def _ints(value: JsonValue) -> list[int]:
    """Remembered seconds since the epoch (canonical JSON holds integers, not floats)."""
    return [v for v in value if isinstance(v, int)] if isinstance(value, list) else []


def _email_of(actor: str) -> str | None:
    return actor.removeprefix("account:") if actor.startswith("account:") else None


_FAILURES = frozenset({Action.AUTH_REFUSED, Action.LOGIN_REFUSED, Action.ENROL_REFUSED})


class AuthFailures:
    """Bursts of failed authentications per account and per address."""

    name, actions = "auth-failures", _FAILURES

    def __init__(self, settings: DetectorSettings) -> None:
        self.span = timedelta(minutes=settings.failure_window_minutes)
        self.per_account = settings.failures_per_account
        self.per_address = settings.failures_per_address

    def observe(self, event: Event, memory: Memory, directory: Directory) -> list[Finding]:
        # The account a refusal names (by id since the typed identifier is no longer written
        # as typed; by e-mail in events written before), or the token's.
        email = event.details.get("email") or event.details.get("user")
        account = event.refs.get("account") or directory.account(
            email=email if isinstance(email, str) else None, token=event.refs.get("token")
        )
        address = event.details.get("address")
        found = []
        if account is not None:
            org = directory.organisation_of(account)
            found.append(self._burst(event, memory, "account", account, org))
        if isinstance(address, str) and address:
            found.append(self._burst(event, memory, "address", address, None))
        return [f for f in found if f is not None]

    def _burst(
        self, event: Event, memory: Memory, what: str, who: str, org: str | None
    ) -> Finding | None:
        """A finding once `who` (an account, an address) failed often enough in the window."""
        n = _window(memory, self.name, f"{what}:{who}", event.ts, self.span)
        account = what == "account"
        if n < (self.per_account if account else self.per_address):
            return None
        return Finding(
            AlertKind.AUTH_BURST_ACCOUNT if account else AlertKind.AUTH_BURST_ADDRESS,
            Severity.WARNING if account else Severity.CRITICAL,
            org,
            {what: who},
            {"failures": n, "minutes": int(self.span.total_seconds()) // 60},
        )


def network_of(address: str, settings: DetectorSettings) -> str | None:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    prefix = settings.ipv4_prefix if ip.version == 4 else settings.ipv6_prefix  # noqa: PLR2004 - IPv4
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


class NewNetwork:
    """A login from a network this person never logged in from (after the first one)."""

    name, actions = "new-network", frozenset({Action.SESSION_OPEN})
    remember = timedelta(days=365)

    def __init__(self, settings: DetectorSettings) -> None:
        self.settings = settings

    def observe(self, event: Event, memory: Memory, directory: Directory) -> list[Finding]:
        account, address = event.refs.get("account"), event.details.get("address")
        if account is None or not isinstance(address, str):
            return []
        network = network_of(address, self.settings)
        if network is None:
            return []
        known = memory.get(self.name, account)
        networks = [n for n in known if isinstance(n, str)] if isinstance(known, list) else []
        recent: list[JsonValue] = [*(n for n in networks if n != network), network]
        memory.put(self.name, account, recent[-50:], until=event.ts + self.remember)  # LRU
        if not networks or network in networks:
            return []
        return [
            Finding(
                AlertKind.NEW_NETWORK,
                Severity.WARNING,
                directory.organisation_of(account),
                {"account": account},
                {"network": network, "via": str(event.details.get("via", ""))},
            )
        ]


_ACCESS = frozenset(
    {
        Action.SESSION_OPEN,
        Action.SFTP_OPEN,
        Action.PACKAGE_LIST,
        Action.PACKAGE_DOWNLOAD,
        Action.EXTRACTION_START,
        Action.AUDIT_EXPORT,
    }
)


class OffHours:
    """Access by a person outside its organisation's working hours."""

    name, actions = "off-hours", _ACCESS

    def observe(self, event: Event, memory: Memory, directory: Directory) -> list[Finding]:
        email = _email_of(event.actor)
        account = event.refs.get("account") or (email and directory.account(email=email))
        org = directory.organisation_of(account) if account else None
        if not account or org is None or directory.working_hours(org).covers(event.ts):
            return []
        return [
            Finding(
                AlertKind.OFF_HOURS,
                Severity.WARNING,
                org,
                {"account": account},
                {"action": event.action, "at": event.ts.isoformat(timespec="minutes")},
            )
        ]


def _download_started(event: Event) -> bool:
    """One count per download, whatever the channel: SFTP counts the opening of a package
    file (a download cut short counts too), the others their completed download."""
    if event.action == Action.SFTP_OPEN:
        return event.details.get("file") == "package"
    return event.action == Action.PACKAGE_DOWNLOAD and event.details.get("via") != "ssh"


class MassAccess:
    """Listing or downloading packages faster than a person plausibly needs."""

    name = "mass-access"
    actions = frozenset({Action.PACKAGE_LIST, Action.PACKAGE_DOWNLOAD, Action.SFTP_OPEN})
    hour = timedelta(hours=1)

    def __init__(self, settings: DetectorSettings) -> None:
        self.listings, self.downloads = settings.listings_per_hour, settings.downloads_per_hour

    def observe(self, event: Event, memory: Memory, directory: Directory) -> list[Finding]:
        email = _email_of(event.actor)
        package = event.refs.get("package")
        download = _download_started(event)
        if email is None or (event.action != Action.PACKAGE_LIST and not download):
            return []
        kind = "download" if download else "listing"
        n = _window(memory, self.name, f"{kind}:{email}", event.ts, self.hour)
        limit = self.downloads if download else self.listings
        if n < limit:
            return []
        account = directory.account(email=email) or email
        org = directory.controller_of_package(package) if download and package else None
        return [
            Finding(
                AlertKind.MASS_DOWNLOAD if download else AlertKind.MASS_LISTING,
                Severity.CRITICAL if download else Severity.WARNING,
                org,
                {"account": account},
                {"per_hour": n, "limit": limit},
            )
        ]


def all_detectors(settings: DetectorSettings) -> list[Detector]:
    return [AuthFailures(settings), NewNetwork(settings), OffHours(), MassAccess(settings)]
