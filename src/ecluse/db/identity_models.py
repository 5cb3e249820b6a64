"""Organisations, accounts and their credentials: roles, personal signing keys, API tokens,
passwords and TOTP, recovery codes, failed logins, SSH keys, login sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from ecluse.db.base import Base


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
