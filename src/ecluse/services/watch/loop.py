"""The supervision loop run by `ecluse serve` (and `ecluse supervise`): every half second,
read the audit stream through the detectors and deliver the outbox; every minute, on another
thread, escalate what nobody answered, run the probes and forget expired detector memory.
Safe on several nodes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from ecluse.instance.platform import Platform
from ecluse.services.alerting import escalate
from ecluse.services.watch.dispatch import Dispatched, dispatch
from ecluse.services.watch.probes import probe
from ecluse.services.watch.runner import Acquaintances, Pass, forget_expired, run_detectors
from ecluse.supervision.detectors import Detector, all_detectors
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
        self.known = Acquaintances()

    def tick(self, *, slow: bool = False, now: datetime | None = None) -> Tick:
        """Read until caught up and deliver; with `slow`, first escalate and probe as well."""
        escalated = self.slow_duties(now=now) if slow else 0
        read = run_detectors(self.platform, self.detectors, known=self.known)
        while read.events == self.platform.settings.detect.batch:  # more waiting
            read = run_detectors(self.platform, self.detectors, known=self.known)
        delivered = dispatch(self.platform, self.sinks, now=now)
        return Tick(read=read, delivered=delivered, escalated=escalated)

    def slow_duties(self, *, now: datetime | None = None) -> int:
        """Escalate what nobody answered, forget expired memory, probe; return escalations."""
        now = now or datetime.now(UTC)
        with self.platform.db.transaction() as s:
            escalated = escalate(s, self.platform.audit, self.platform.settings.alerts, now=now)
            forget_expired(s, now=now)
        probe(self.platform, now=now)
        return escalated

    def run(
        self, *, stop: threading.Event, interval: float = 0.5, slow_every: float = 60.0
    ) -> None:
        """Until `stop` is set: read and deliver every `interval` seconds; escalate and probe
        every `slow_every` seconds on a thread of their own, so that a long audit-chain
        verification never delays an alert."""
        slow = threading.Thread(
            target=_every,
            args=(stop, slow_every, self.slow_duties),
            name="ecluse-supervision-probes",
            daemon=True,
        )
        slow.start()
        _every(stop, interval, self.tick)
        slow.join(30)


def _every(stop: threading.Event, interval: float, duty: Callable[[], object]) -> None:
    """Run `duty` every `interval` seconds until `stop`. A failing run (database or sink
    down) is logged by its error's type and tried again: nothing is lost, the outbox and the
    cursor wait."""
    while not stop.is_set():
        try:
            duty()
        except Exception as e:
            log.error("supervision duty failed (%s); retrying", type(e).__name__)
        stop.wait(interval)
