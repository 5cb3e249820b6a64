"""Every model of the metadata database, declared per domain on `ecluse.db.base.Base`, in one
place for the code that reads them and for Alembic. Schema changes go through Alembic."""

from ecluse.db.audit_models import AuditCheckpoint, AuditEvent, SigningKey
from ecluse.db.base import Base
from ecluse.db.identity_models import (
    Account,
    AccountRole,
    ApiToken,
    Credential,
    LoginFailure,
    LoginSession,
    Organisation,
    PersonalKey,
    RecoveryCode,
    SshKey,
)
from ecluse.db.mandate_models import Agreement, AgreementSignature, Instruction
from ecluse.db.package_models import Extraction, MigrationSignOff, Package, RecipientKey
from ecluse.db.store_models import Blob
from ecluse.db.supervision_models import (
    Alert,
    AlertChange,
    AlertContact,
    AlertDelivery,
    DetectorMemory,
    SecurityReport,
    SupervisionCursor,
)

__all__ = [
    "Account",
    "AccountRole",
    "Agreement",
    "AgreementSignature",
    "Alert",
    "AlertChange",
    "AlertContact",
    "AlertDelivery",
    "ApiToken",
    "AuditCheckpoint",
    "AuditEvent",
    "Base",
    "Blob",
    "Credential",
    "DetectorMemory",
    "Extraction",
    "Instruction",
    "LoginFailure",
    "LoginSession",
    "MigrationSignOff",
    "Organisation",
    "Package",
    "PersonalKey",
    "RecipientKey",
    "RecoveryCode",
    "SecurityReport",
    "SigningKey",
    "SshKey",
    "SupervisionCursor",
]
