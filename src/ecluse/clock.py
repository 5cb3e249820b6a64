"""Time as Écluse keeps it: every moment it stores or compares is UTC. SQLite hands back
naive datetimes; `as_utc` gives them their zone again, in one place for every domain."""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(moment: datetime) -> datetime:
    """`moment` with its zone: a naive one (as SQLite returns them) is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
