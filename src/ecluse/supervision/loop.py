"""The supervision loop run by `ecluse serve` (and `ecluse supervise`): every second, read
the audit stream through the detectors and deliver the outbox; every minute, escalate what
nobody answered, run the probes and forget expired detector memory. Safe on several nodes."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ecluse.platform import Platform
from ecluse.supervision.detectors import Detector, all_detectors
from ecluse.supervision.dispatch import Dispatched, dispatch
from ecluse.supervision.handling import escalate
from ecluse.supervision.probes import probe
from ecluse.supervision.runner import Pass, forget_expired, run_detectors
from ecluse.supervision.sinks import AlertSink, configured_sinks

log = logging.getLogger("ecluse.supervision")


@dataclass(frozen=True, slots=True)
class Tick:
    read: Pass
    delivered: Dispatched
    escalated: int = 0


class Supervisor:
    """Detectors and sinks chosen once from the settings."""

    def __init__(
        self,
        platform: Platform,
        *,
        detectors: Sequence[Detector] | None = None,
        sinks: Sequence[AlertSink] | None = None,
    ) -> None:
        self.platform = platform
        self.detectors = list(detectors or all_detectors(platform.settings.detect))
        self.sinks = list(sinks or configured_sinks(platform.settings.alerts))

    def tick(self, *, slow: bool = False, now: datetime | None = None) -> Tick:
        """Read until caught up, then deliver; with `slow`, also escalate and probe."""
        now = now or datetime.now(UTC)
        read = run_detectors(self.platform, self.detectors)
        while read.events == self.platform.settings.detect.batch:  # more waiting
            read = run_detectors(self.platform, self.detectors)
        escalated = 0
        if slow:
            with self.platform.db.transaction() as s:
                escalated = escalate(s, self.platform.audit, self.platform.settings.alerts, now=now)
                forget_expired(s, now=now)
            probe(self.platform, now=now)
        return Tick(
            read=read, delivered=dispatch(self.platform, self.sinks, now=now), escalated=escalated
        )

    def run(
        self, *, stop: threading.Event, interval: float = 1.0, slow_every: float = 60.0
    ) -> None:
        """Tick until `stop` is set. A failing tick (database or sink down) is logged by its
        error's type and tried again: nothing is lost, the outbox and cursor wait."""
        last_slow = 0.0
        while not stop.is_set():
            slow = time.monotonic() - last_slow >= slow_every
            try:
                self.tick(slow=slow)
                if slow:
                    last_slow = time.monotonic()
            except Exception as e:
                log.error("supervision tick failed (%s); retrying", type(e).__name__)
            stop.wait(interval)
