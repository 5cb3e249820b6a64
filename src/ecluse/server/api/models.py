"""Request and response bodies. Extra fields are refused; strings are bounded."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ecluse.services.vocabulary import OrgKind, Permission, Role

Short = Annotated[str, Field(min_length=1, max_length=254)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]


class In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(In):
    email: Short
    password: Annotated[str, Field(min_length=1, max_length=1024)]
    code: Annotated[str | None, Field(max_length=32)] = None


class SessionOut(BaseModel):
    session: str
    expires_at: datetime
    second_factor: bool
    recovery_codes_left: int | None = None


class EnrolIn(In):
    email: Short
    code: Annotated[str, Field(min_length=1, max_length=64)]
    days: Annotated[int, Field(ge=1, le=90)] = 30


class TokenOut(BaseModel):
    token: str
    id: str
    expires_at: datetime
    scopes: list[str]


class TokenInfo(BaseModel):
    id: str
    name: str
    expires_at: datetime
    revoked_at: datetime | None


class TokenIn(In):
    name: Short
    days: Annotated[int, Field(ge=1, le=90)] = 30
    scopes: list[Permission] | None = None


class MeOut(BaseModel):
    account_id: str
    email: str
    organisation_id: str
    organisation_kind: str
    roles: list[str]
    permissions: list[str]
    via: str


class OrganisationIn(In):
    name: Short
    kind: OrgKind
    finess: Annotated[str | None, Field(max_length=12)] = None
    siret: Annotated[str | None, Field(max_length=20)] = None


class OrganisationOut(BaseModel):
    id: str
    name: str
    kind: str
    finess: str | None
    siret: str | None


class AccountIn(In):
    organisation_id: Short
    email: Short
    full_name: Short
    roles: Annotated[list[Role], Field(min_length=1, max_length=5)]


class AccountOut(BaseModel):
    id: str
    email: str
    full_name: str
    kind: str
    state: str
    organisation_id: str
    roles: list[str]


class NewAccountOut(BaseModel):
    """The enrolment code is not here: it was e-mailed to the person only."""

    id: str
    email: str
    pending_roles: list[str]  # waiting for approval by a person with authority


class PendingGrantOut(BaseModel):
    account_id: str
    email: str
    full_name: str
    role: str
    organisation_id: str


class SecurityContactIn(In):
    account_id: Short
    totp_code: Annotated[str | None, Field(max_length=32)] = None  # step-up


class ServiceAccountIn(In):
    """Owned by the caller, in the caller's organisation."""

    name: Short
    roles: Annotated[list[Role], Field(min_length=1, max_length=3)]
    days: Annotated[int, Field(ge=1, le=90)] = 30


class PasswordIn(In):
    password: Annotated[str, Field(min_length=1, max_length=1024)]
    # required once a password is set: a change needs the current one
    current_password: Annotated[str | None, Field(max_length=1024)] = None


class CodeIn(In):
    code: Annotated[str, Field(min_length=1, max_length=32)]


class PublicKeyIn(In):
    key: Annotated[str, Field(min_length=1, max_length=16384)]
    label: Short


class SshKeyOut(BaseModel):
    fingerprint: str
    algorithm: str
    label: str | None = None


class ReasonIn(In):
    reason: Text


class CommentIn(In):
    comment: Text


StepUpCode = Annotated[str | None, Field(max_length=32)]


class StepUpIn(In):
    """A fresh code of your authenticator app (or a recovery code), for an act that needs one."""

    totp_code: StepUpCode = None


class RevokeIn(ReasonIn):
    totp_code: StepUpCode = None


class SignOffIn(CommentIn):
    totp_code: StepUpCode = None


class RecipientKeyIn(PublicKeyIn):
    totp_code: StepUpCode = None


class DisableIn(In):
    reason: Text


class DisabledOut(BaseModel):
    account_id: str
    tokens: int
    sessions: int
    ssh_keys: int


class ReceiptIn(In):
    rows: Annotated[int, Field(ge=0)]
    sha256: Annotated[str, Field(min_length=64, max_length=64, pattern="^[0-9a-fA-F]{64}$")]


class Created(BaseModel):
    id: str
    state: str | None = None
    problems: list[str] = []


class InstructionRowOut(BaseModel):
    """An instruction as its listing shows it: who one is to it, whether it is open today."""

    id: str
    state: str
    side: str  # controller, processor or recipient
    purpose: str
    recipient_id: str
    expected_rows: int
    valid_from: date
    valid_until: date
    open_today: bool
    runs_left: int | None
    created_at: datetime


class PackageOut(BaseModel):
    id: str
    state: str
    rows: int
    instruction_id: str
    created_at: datetime
    deadline_at: datetime  # no plaintext digest: a receipt presents it, only who decrypts knows


class ExtractionOut(BaseModel):
    package_id: str
    rows_read: int
    rows_in_scope: int
    rows_packaged: int
    canaries: int
    age_sha256: str
    manifest_sha256: str
    dropped: dict[str, str]
    transforms: dict[str, str]
    screening: dict[str, dict[str, int]]
    neutralised: dict[str, int]  # field -> cells prefixed against CSV formula injection
    blanked: dict[str, int]  # field -> values a date transform left blank (no date in them)
    volume: dict[str, int | bool]  # the instruction's rows once this run is counted


class RecipientKeyOut(BaseModel):
    id: str
    kind: str
    fingerprint: str
    label: str


class Done(BaseModel):
    done: str


class AlertChangeIn(In):
    reason: Text


class ContactIn(In):
    email: Short


class ConcernIn(In):
    subject: Annotated[str, Field(min_length=1, max_length=200)]
    text: Annotated[str, Field(min_length=1, max_length=20_000)]
    anonymous: bool = False
    organisation_id: Annotated[str | None, Field(max_length=36)] = None
