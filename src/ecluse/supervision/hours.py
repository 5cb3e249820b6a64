"""Working hours: `"mon-fri 07:00-20:00 Europe/Paris"`, `"mon,wed,sat 08:00-12:30 UTC"`, or
`"always"`. Parsed strictly; a malformed value is a configuration error, not "always"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ecluse.errors import ConfigurationError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPEC = re.compile(
    r"^(?P<days>[A-Za-z,-]+)\s+(?P<start>\d{2}:\d{2})-(?P<end>\d{2}:\d{2})\s+(?P<tz>[A-Za-z_/+-]+)$"
)


@dataclass(frozen=True, slots=True)
class WorkingHours:
    days: frozenset[int]  # 0 = Monday
    start: time
    end: time
    zone: ZoneInfo | None  # None: always

    def covers(self, moment: datetime) -> bool:
        if self.zone is None:
            return True
        local = moment.astimezone(self.zone)
        return local.weekday() in self.days and self.start <= local.time() < self.end


def _days(spec: str) -> frozenset[int]:
    days: set[int] = set()
    for part in spec.split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ConfigurationError(f"working hours: unknown day in {spec!r}")
        a, b = DAYS.index(first), DAYS.index(last or first)
        if b < a:
            raise ConfigurationError(f"working hours: days run backwards in {spec!r}")
        days.update(range(a, b + 1))
    return frozenset(days)


def parse_hours(spec: str) -> WorkingHours:
    spec = spec.strip()
    if spec.lower() == "always":
        return WorkingHours(frozenset(range(7)), time(0), time(23, 59, 59), None)
    m = _SPEC.match(spec)
    if m is None:
        raise ConfigurationError(
            f"working hours {spec!r}: expected e.g. 'mon-fri 07:00-20:00 Europe/Paris'"
        )
    try:
        start, end = time.fromisoformat(m["start"]), time.fromisoformat(m["end"])
        zone = ZoneInfo(m["tz"])
    except (ValueError, ZoneInfoNotFoundError) as e:
        raise ConfigurationError(f"working hours {spec!r}: {type(e).__name__}") from e
    if end <= start:
        raise ConfigurationError(f"working hours {spec!r}: the day ends before it starts")
    return WorkingHours(_days(m["days"].lower()), start, end, zone)
