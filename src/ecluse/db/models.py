"""SQLAlchemy 2 models of the metadata database. Schema changes go through Alembic."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # platform | controller | processor | recipient
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finess: Mapped[str | None] = mapped_column(String(9))  # a controller's establishment
    siret: Mapped[str | None] = mapped_column(String(14))  # a processor's or recipient's
    # e.g. "mon-fri 07:00-20:00 Europe/Paris"; None: the instance's default
    working_hours: Mapped[str | None] = mapped_column(String(80))
    # a processor's or recipient's person who approves its health-data roles
    security_contact_id: Mapped[str | None] = mapped_column(String(36))


class Account(Base):
    """One named person, or a service account that a named person owns (and that expires
    within 90 days). Roles are rows of `account_roles`."""

    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20))  # pending | active | disabled
    enrolment_code_hash: Mapped[str | None] = mapped_column(String(64))
    enrolment_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    enrolled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(10), default="person", server_default="person")
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"))  # service accounts
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AccountRole(Base):
    __tablename__ = "account_roles"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)
    # None: pending; a role reaching health data is approved by another person with authority
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by: Mapped[str | None] = mapped_column(String(254))  # an account id, or local:user


class PersonalKey(Base):
    """A person's Ed25519 signing key, sealed by the key manager (public half in clear)."""

    __tablename__ = "personal_keys"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    kid: Mapped[str] = mapped_column(String(32), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    kek_version: Mapped[int] = mapped_column(Integer, index=True)
    wrapped_seed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Agreement(Base):
    """GDPR Art. 28 agreement between a controller and a processor; terms immutable."""

    __tablename__ = "agreements"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    controller_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    processor_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    terms: Mapped[str] = mapped_column(Text)  # canonical JSON
    terms_sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20))  # draft | signed
    created_by: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AgreementSignature(Base):
    __tablename__ = "agreement_signatures"

    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id"), primary_key=True)
    party: Mapped[str] = mapped_column(String(20), primary_key=True)  # controller | processor
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    kid: Mapped[str] = mapped_column(String(32))
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Instruction(Base):
    """A controller's documented instruction (Art. 29): immutable once its dpo signed it.

    `content` is what was signed; the id columns copy it for lookups and are checked against it.
    """

    __tablename__ = "instructions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    agreement_id: Mapped[str] = mapped_column(ForeignKey("agreements.id"), index=True)
    controller_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    recipient_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    content: Mapped[str] = mapped_column(Text)  # canonical JSON
    content_sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(20))  # draft | signed | revoked
    kek_version: Mapped[int | None] = mapped_column(Integer, index=True)
    wrapped_pseudonym_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    signed_by: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"))
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    kid: Mapped[str | None] = mapped_column(String(32))
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    revoked_by: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoke_reason: Mapped[str | None] = mapped_column(String(500))


class ApiToken(Base):
    """A bearer token of one account: stored as a SHA-256 of its secret, scoped, expiring."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # public part of the token
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(Text)  # canonical JSON list of permissions
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # minted from a principal that passed a second factor: fixed for the token's life
    second_factor: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Blob(Base):
    """One encrypted object of the blob store. A shredded blob keeps its row, not its key."""

    __tablename__ = "blobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(20), index=True)  # stored | shredded
    plaintext_bytes: Mapped[int] = mapped_column(BigInteger)
    ciphertext_bytes: Mapped[int] = mapped_column(BigInteger)
    kek_version: Mapped[int | None] = mapped_column(Integer, index=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    shredded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SigningKey(Base):
    """Public half of every platform signing key ever used, for offline verification."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(32), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(20))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditEvent(Base):
    """One link of the hash chain. `refs` and `details` hold canonical JSON text."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ts: Mapped[str] = mapped_column(String(32), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(80), index=True)
    refs: Mapped[str] = mapped_column(Text)
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """A platform signature over the chain head at `seq`."""

    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    head_hash: Mapped[str] = mapped_column(String(64))
    ts: Mapped[str] = mapped_column(String(32))
    kid: Mapped[str] = mapped_column(ForeignKey("signing_keys.kid"))
    signature: Mapped[bytes] = mapped_column(LargeBinary)


class RecipientKey(Base):
    """A public key (age X25519 or ssh-ed25519) a recipient organisation's packages go to.

    Added by a recipient of that organisation only: an admin cannot redirect packages.
    """

    __tablename__ = "recipient_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # X25519 | ssh-ed25519
    public_key: Mapped[str] = mapped_column(Text)  # canonical text form
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    added_by: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Extraction(Base):
    """One run of the policy engine over a source, under a signed instruction."""

    __tablename__ = "extractions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instruction_id: Mapped[str] = mapped_column(ForeignKey("instructions.id"), index=True)
    operator_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    # running | packaged | failed | stopped | abandoned (its process ended before it finished)
    state: Mapped[str] = mapped_column(String(20), index=True)
    source_name: Mapped[str] = mapped_column(String(255))
    source_bytes: Mapped[int | None] = mapped_column(BigInteger)
    quarantine_id: Mapped[str | None] = mapped_column(ForeignKey("blobs.id"))
    findings: Mapped[str | None] = mapped_column(Text)  # canonical JSON: counts and names only
    error: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the process running it (host:pid:nonce), renewing its lease while it works
    lease_owner: Mapped[str | None] = mapped_column(String(120))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    writing: Mapped[str | None] = mapped_column(String(120))  # ids of the objects it writes


class Package(Base):
    """A governed output, encrypted to its recipient (age), with the platform's signed manifest.

    The tracing key (per package, sealed by the KEK) keys the row digests kept after the
    package is shredded, so a leaked sample can later be traced to it.
    """

    __tablename__ = "packages"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    extraction_id: Mapped[str] = mapped_column(ForeignKey("extractions.id"), unique=True)
    instruction_id: Mapped[str] = mapped_column(ForeignKey("instructions.id"), index=True)
    recipient_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)
    blob_id: Mapped[str] = mapped_column(ForeignKey("blobs.id"))
    digests_id: Mapped[str] = mapped_column(ForeignKey("blobs.id"))
    state: Mapped[str] = mapped_column(String(20), index=True)  # ready|confirmed|shredded
    rows: Mapped[int] = mapped_column(BigInteger)
    plaintext_sha256: Mapped[str] = mapped_column(String(64))
    manifest: Mapped[str] = mapped_column(Text)  # canonical JSON
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    kid: Mapped[str] = mapped_column(ForeignKey("signing_keys.kid"))
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    kek_version: Mapped[int | None] = mapped_column(Integer, index=True)
    wrapped_trace_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    canaries: Mapped[bytes] = mapped_column(LargeBinary)  # digests of the canary rows
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deadline_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    receipt_by: Mapped[str | None] = mapped_column(ForeignKey("accounts.id"))
    receipt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    receipt_rows: Mapped[int | None] = mapped_column(BigInteger)
    receipt_sha256: Mapped[str | None] = mapped_column(String(64))
    shred_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    shredded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    shred_reason: Mapped[str | None] = mapped_column(String(40))


class MigrationSignOff(Base):
    """The controller's dpo closing a migration (one instruction) over its report's digest."""

    __tablename__ = "migration_signoffs"

    instruction_id: Mapped[str] = mapped_column(ForeignKey("instructions.id"), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    kid: Mapped[str] = mapped_column(String(32))
    report_sha256: Mapped[str] = mapped_column(String(64))
    report: Mapped[str] = mapped_column(Text)  # the canonical JSON that was signed
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    comment: Mapped[str] = mapped_column(String(1000))
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Credential(Base):
    """How a person logs in beyond an API token: an Argon2id password hash, a TOTP secret
    sealed by the key manager, and the throttling state. One row per account, made when the
    person first sets a password."""

    __tablename__ = "credentials"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    password_set_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    kek_version: Mapped[int | None] = mapped_column(Integer)
    wrapped_totp_secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_enabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # consecutive
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RecoveryCode(Base):
    """A single-use TOTP recovery code, as its SHA-256 (60 random bits each)."""

    __tablename__ = "recovery_codes"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)


class LoginFailure(Base):
    """A failed attempt: a login (by address, and by the keyed digest of the e-mail typed, known or
    not), an enrolment (by address) or a step-up code (by account). Kept 24 hours."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    kind: Mapped[str] = mapped_column(String(10), default="login", server_default="login")
    subject: Mapped[str | None] = mapped_column(String(64), index=True)


class SshKey(Base):
    """A person's SSH public key for the SFTP server (ed25519, ecdsa, or rsa of 3072 bits+)."""

    __tablename__ = "ssh_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    algorithm: Mapped[str] = mapped_column(String(40))
    public_key: Mapped[str] = mapped_column(Text)  # OpenSSH one-line form, without comment
    fingerprint: Mapped[str] = mapped_column(String(60), unique=True)  # SHA256:…
    label: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # added by a principal that passed a second factor: fixed for the key's life
    second_factor: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class LoginSession(Base):
    """A person's session after a password (and TOTP) login: the SHA-256 of its secret, its
    last use (for the idle timeout) and an absolute end."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    secret_hash: Mapped[str] = mapped_column(String(64))
    second_factor: Mapped[bool] = mapped_column(Boolean)
    address: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


# Supervision's tables live beside, on the same metadata (imported last: they use `Base`).
from ecluse.db import supervision_models as _supervision  # noqa: E402 - needs Base, defined above

Alert = _supervision.Alert
AlertChange = _supervision.AlertChange
AlertContact = _supervision.AlertContact
AlertDelivery = _supervision.AlertDelivery
DetectorMemory = _supervision.DetectorMemory
SecurityReport = _supervision.SecurityReport
SupervisionCursor = _supervision.SupervisionCursor
