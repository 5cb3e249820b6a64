"""The audit trail: append-only events in a SHA-256 hash chain over canonical JSON (RFC 8785),
signed checkpoints, verification (from the database or an export), export, retention.

Every step of a migration writes one event in the same transaction as the step itself.
Details never hold patient data: values are short references, checked on append.
"""

from ecluse.audit.actions import Action
from ecluse.audit.log import AuditLog, PendingEvent
from ecluse.audit.verify import VerifyReport

__all__ = ["Action", "AuditLog", "PendingEvent", "VerifyReport"]
