"""The product's closed vocabularies that every layer names, channels included: roles,
organisation kinds, permissions, alert states, source encodings. Plain enumerations with no
import of their own, so that a channel (the command line's `--help`, say) can name them
without loading the product. Each is re-exported where its domain lives."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

Encoding = Literal["auto", "utf-8", "latin-1"]


class Role(StrEnum):
    DPO = "dpo"
    OPERATOR = "operator"
    RECIPIENT = "recipient"
    AUDITOR = "auditor"
    ADMIN = "admin"
    # audits every organisation (never health data); granted only on the host, audited:
    # `ecluse audit grant-platform-auditor`, never by an account's creation
    PLATFORM_AUDITOR = "platform-auditor"


class OrgKind(StrEnum):
    PLATFORM = "platform"
    CONTROLLER = "controller"
    PROCESSOR = "processor"
    RECIPIENT = "recipient"


class Permission(StrEnum):
    ORG_MANAGE = "org:manage"
    ACCOUNT_MANAGE = "account:manage"
    DIRECTORY_READ = "directory:read"
    # a permission name, not a password
    TOKEN_SELF = "token:self"  # nosec B105
    KEYS_MANAGE = "keys:manage"
    AGREEMENT_SIGN = "agreement:sign"
    INSTRUCTION_SIGN = "instruction:sign"
    EXTRACTION_RUN = "extraction:run"
    PACKAGE_DOWNLOAD = "package:download"
    RECIPIENT_KEYS = "recipient-key:manage"
    RECEIPT_CONFIRM = "receipt:confirm"
    REPORT_READ = "report:read"
    REPORT_SIGN_OFF = "report:sign-off"
    AUDIT_READ = "audit:read"
    ALERT_READ = "alert:read"
    ALERT_HANDLE = "alert:handle"
    CONCERN_FILE = "security-report:file"
    METRICS_READ = "metrics:read"


class AlertState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
