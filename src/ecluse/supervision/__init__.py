"""Supervision: every anomaly reaches a named person who must answer it.

Owns alerts (raising with grouping, handling with written reasons, escalation), who they reach
(`contacts`), the delivery outbox and its sinks (SMTP, webhook, syslog), the detectors that
read the audit stream and the probes of what it cannot show, staff security reports, and the
metrics. It never holds patient data: alerts carry ids, kinds and counts.
"""

from ecluse.supervision.alerts import AlertKind, Severity

__all__ = ["AlertKind", "Severity"]
