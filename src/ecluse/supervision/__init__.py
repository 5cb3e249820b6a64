"""Supervision: alerts raised for a named organisation to answer.

Owns the alert record and how one is raised (stored and audited in the caller's transaction).
Detectors, escalation and sinks build on it.
"""

from ecluse.supervision.alerts import AlertKind, Severity, raise_alert

__all__ = ["AlertKind", "Severity", "raise_alert"]
