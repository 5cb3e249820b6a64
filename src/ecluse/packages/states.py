"""The lifecycle states of extractions and packages, as stored (the values are the columns'
text; a StrEnum compares equal to it, so rows read back compare with these)."""

from __future__ import annotations

from enum import StrEnum


class ExtractionState(StrEnum):
    RUNNING = "running"
    PACKAGED = "packaged"
    FAILED = "failed"
    STOPPED = "stopped"  # by policy (credentials, volume) or a revocation
    ABANDONED = "abandoned"  # its process ended before it finished


class PackageState(StrEnum):
    READY = "ready"  # waiting for its recipient's receipt
    CONFIRMED = "confirmed"  # received; shredded once its retention ends
    SHREDDED = "shredded"
