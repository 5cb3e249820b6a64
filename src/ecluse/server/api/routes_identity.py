"""Sessions, enrolment, the caller's own credentials, and (for the admin) organisations and
accounts. No route here returns any health data."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request

from ecluse.errors import present
from ecluse.server.api.deps import client_address, gate, platform_of
from ecluse.server.api.models import (
    AccountIn,
    AccountOut,
    CodeIn,
    DisabledOut,
    DisableIn,
    Done,
    EnrolIn,
    LoginIn,
    MeOut,
    NewAccountOut,
    OrganisationIn,
    OrganisationOut,
    PasswordIn,
    PendingGrantOut,
    PublicKeyIn,
    SecurityContactIn,
    ServiceAccountIn,
    SessionOut,
    SshKeyOut,
    StepUpIn,
    TokenIn,
    TokenInfo,
    TokenOut,
)
from ecluse.services import approvals, credentials, tenancy
from ecluse.services import identity as acts
from ecluse.services import lifecycle as lifecycle_acts
from ecluse.services.vocabulary import IssuedToken, Permission, Platform, Principal, Role

router = APIRouter(prefix="/v1")
Plat = Annotated[Platform, Depends(platform_of)]


def _token_out(issued: IssuedToken) -> TokenOut:
    return TokenOut(
        token=issued.token,
        id=issued.id,
        expires_at=issued.expires_at,
        scopes=sorted(p.value for p in issued.scopes),
    )


@router.post("/session", status_code=201, tags=["session"])
def log_in(body: LoginIn, request: Request, platform: Plat) -> SessionOut:
    """Password, and the TOTP (or a recovery code) once enabled: a session that ends after
    the idle timeout. Health data only when the second factor was given."""
    done = credentials.log_in(
        platform,
        email=body.email,
        password=body.password,
        code=body.code,
        address=client_address(request),
        channel="https",
    )
    session = present(done.session, "the new session")
    return SessionOut(
        session=session.token,
        expires_at=session.expires_at,
        second_factor=done.second_factor,
        recovery_codes_left=done.recovery_codes_left,
    )


@router.delete("/session", tags=["session"])
def log_out(platform: Plat, p: Annotated[Principal, Depends(gate(Permission.TOKEN_SELF))]) -> Done:
    credentials.log_out(platform, p)
    return Done(done="logged out")


@router.post("/enrol", status_code=201, tags=["session"])
def enrol(body: EnrolIn, request: Request, platform: Plat) -> TokenOut:
    """Activate an account with its one-time code: its first API token, shown once (it never
    reaches health data: log in with your code and issue another). Failed attempts are
    throttled by address."""
    issued = acts.enrol_person(
        platform,
        email=body.email,
        code=body.code,
        days=body.days,
        channel="https",
        address=client_address(request),
    )
    return _token_out(issued)


@router.get("/me", tags=["session"])
def me(p: Annotated[Principal, Depends(gate(Permission.TOKEN_SELF))]) -> MeOut:
    return MeOut(
        account_id=p.account_id,
        email=p.email,
        organisation_id=p.organisation_id,
        organisation_kind=p.organisation_kind,
        roles=sorted(p.roles),
        permissions=sorted(p.permissions),
        via=p.via,
    )


@router.put("/me/password", tags=["credentials"])
def set_password(
    body: PasswordIn, platform: Plat, p: Annotated[Principal, Depends(gate(Permission.TOKEN_SELF))]
) -> Done:
    """A first password, or a new one with `current_password`: every token, session and SSH
    key of yours is then revoked (log in again)."""
    credentials.change_password(platform, p, body.password, current=body.current_password)
    return Done(done="password set")


@router.post("/me/totp", tags=["credentials"])
def start_totp(
    platform: Plat, p: Annotated[Principal, Depends(gate(Permission.TOKEN_SELF))]
) -> Done:
    """The `otpauth://` URI for an authenticator app, shown once; then confirm a code."""
    return Done(done=credentials.begin_totp(platform, p))


@router.post("/me/totp/confirm", tags=["credentials"])
def confirm_totp(
    body: CodeIn, platform: Plat, p: Annotated[Principal, Depends(gate(Permission.TOKEN_SELF))]
) -> list[str]:
    """TOTP on: the single-use recovery codes, shown once."""
    return credentials.finish_totp(platform, p, body.code)


@router.post("/me/tokens", status_code=201, tags=["credentials"])
def issue_token(
    body: TokenIn, platform: Plat, p: Annotated[Principal, Depends(gate(Permission.TOKEN_SELF))]
) -> TokenOut:
    scopes = set(body.scopes) if body.scopes else None
    return _token_out(
        credentials.issue_token(platform, p, name=body.name, days=body.days, scopes=scopes)
    )


@router.get("/me/tokens", tags=["credentials"])
def list_tokens(
    platform: Plat, p: Annotated[Principal, Depends(gate(Permission.TOKEN_SELF))]
) -> list[TokenInfo]:
    """Your tokens, never their secrets."""
    return [
        TokenInfo(id=t.id, name=t.name, expires_at=t.expires_at, revoked_at=t.revoked_at)
        for t in credentials.tokens(platform, p)
    ]


@router.delete("/me/tokens/{token_id}", tags=["credentials"])
def revoke_token(
    token_id: str, platform: Plat, p: Annotated[Principal, Depends(gate(Permission.TOKEN_SELF))]
) -> Done:
    credentials.revoke_token(platform, p, token_id)
    return Done(done="revoked")


@router.post("/me/ssh-keys", status_code=201, tags=["credentials"])
def add_ssh_key(
    body: PublicKeyIn, platform: Plat, p: Annotated[Principal, Depends(gate(Permission.TOKEN_SELF))]
) -> SshKeyOut:
    parsed = credentials.add_own_ssh_key(platform, p, body.key, body.label)
    return SshKeyOut(fingerprint=parsed.fingerprint, algorithm=parsed.algorithm, label=body.label)


@router.get("/me/ssh-keys", tags=["credentials"])
def list_ssh_keys(
    platform: Plat, p: Annotated[Principal, Depends(gate(Permission.TOKEN_SELF))]
) -> list[SshKeyOut]:
    return [
        SshKeyOut(fingerprint=k.fingerprint, algorithm=k.algorithm, label=k.label)
        for k in credentials.ssh_keys(platform, p)
    ]


@router.post("/me/ssh-keys/revocation", tags=["credentials"])
def revoke_ssh_key(
    body: SshKeyOut, platform: Plat, p: Annotated[Principal, Depends(gate(Permission.TOKEN_SELF))]
) -> Done:
    credentials.revoke_own_ssh_key(platform, p, body.fingerprint)
    return Done(done="revoked")


@router.post("/organisations", status_code=201, tags=["admin"])
def create_organisation(
    body: OrganisationIn,
    platform: Plat,
    p: Annotated[Principal, Depends(gate(Permission.ORG_MANAGE))],
) -> Done:
    org_id = acts.register_organisation(
        platform, p, name=body.name, kind=body.kind, finess=body.finess, siret=body.siret
    )
    return Done(done=org_id)


@router.get("/organisations", tags=["admin"])
def list_organisations(
    platform: Plat, p: Annotated[Principal, Depends(gate(Permission.DIRECTORY_READ))]
) -> list[OrganisationOut]:
    """Every organisation (admin, platform auditor); else yours and your counterparties."""
    return [
        OrganisationOut(id=o.id, name=o.name, kind=o.kind, finess=o.finess, siret=o.siret)
        for o in tenancy.list_organisations(platform, p)
    ]


@router.post("/accounts", status_code=201, tags=["admin"])
def create_account(
    body: AccountIn,
    platform: Plat,
    p: Annotated[Principal, Depends(gate(Permission.ACCOUNT_MANAGE))],
) -> NewAccountOut:
    """A named person's account. Its one-time enrolment code is e-mailed to the person, never
    returned; its health-data roles wait for approval."""
    new = acts.create_person(
        platform,
        p,
        organisation_id=body.organisation_id,
        email=body.email,
        name=body.full_name,
        roles=set(body.roles),
    )
    return NewAccountOut(id=new.id, email=new.email, pending_roles=list(new.pending_roles))


@router.post("/service-accounts", status_code=201, tags=["credentials"])
def create_service_account(
    body: ServiceAccountIn,
    platform: Plat,
    p: Annotated[Principal, Depends(gate(Permission.TOKEN_SELF))],
) -> TokenOut:
    """A service account owned by you, with roles you hold; its token, shown once."""
    _, issued = acts.create_service(
        platform, p, name=body.name, roles=set(body.roles), days=body.days
    )
    return _token_out(issued)


@router.get("/accounts/pending", tags=["approvals"])
def list_pending(
    platform: Plat, p: Annotated[Principal, Depends(gate(Permission.TOKEN_SELF))]
) -> list[PendingGrantOut]:
    """Roles of your organisation waiting for your approval (dpo or security contact)."""
    return [
        PendingGrantOut(
            account_id=g.account_id,
            email=g.email,
            full_name=g.full_name,
            role=g.role,
            organisation_id=g.organisation_id,
        )
        for g in approvals.list_pending(platform, p)
    ]


@router.post("/accounts/{account_id}/roles/{role}/approval", tags=["approvals"])
def approve_role(
    account_id: str,
    role: Role,
    platform: Plat,
    p: Annotated[Principal, Depends(gate(Permission.TOKEN_SELF))],
    body: Annotated[StepUpIn | None, Body()] = None,
) -> Done:
    """Approve another person's pending role; `totp_code`: a fresh code (step-up)."""
    code = body.totp_code if body is not None else None
    approvals.decide_role(platform, p, account_id=account_id, role=role, approve=True, code=code)
    return Done(done="approved")


@router.post("/accounts/{account_id}/roles/{role}/refusal", tags=["approvals"])
def refuse_role(
    account_id: str,
    role: Role,
    platform: Plat,
    p: Annotated[Principal, Depends(gate(Permission.TOKEN_SELF))],
) -> Done:
    approvals.decide_role(platform, p, account_id=account_id, role=role, approve=False, code=None)
    return Done(done="refused")


@router.put("/organisations/{organisation_id}/security-contact", tags=["approvals"])
def name_security_contact(
    organisation_id: str,
    body: SecurityContactIn,
    platform: Plat,
    p: Annotated[Principal, Depends(gate(Permission.TOKEN_SELF))],
) -> list[str]:
    """A processor's or recipient's security contact (first by a controller's dpo, then by
    the contact); the roles of theirs this approved. `totp_code`: a fresh code (step-up)."""
    return approvals.name_security_contact(
        platform,
        p,
        organisation_id=organisation_id,
        account_id=body.account_id,
        code=body.totp_code,
    )


@router.get("/accounts", tags=["admin"])
def list_accounts(
    platform: Plat, p: Annotated[Principal, Depends(gate(Permission.DIRECTORY_READ))]
) -> list[AccountOut]:
    """Every account (admin, platform auditor); else your organisation's."""
    return [
        AccountOut(
            id=a.id,
            email=a.email,
            full_name=a.full_name,
            kind=a.kind,
            state=a.state,
            organisation_id=a.organisation_id,
            roles=roles,
        )
        for a, roles in tenancy.list_accounts(platform, p)
    ]


@router.post("/accounts/{account_id}/unlock", tags=["admin"])
def unlock_account(
    account_id: str,
    platform: Plat,
    p: Annotated[Principal, Depends(gate(Permission.ACCOUNT_MANAGE))],
) -> Done:
    credentials.unlock_account(platform, p, account_id)
    return Done(done="unlocked")


@router.post("/accounts/{account_id}/disable", tags=["admin"])
def disable_account(
    account_id: str,
    body: DisableIn,
    platform: Plat,
    p: Annotated[Principal, Depends(gate(Permission.DIRECTORY_READ))],
) -> DisabledOut:
    """Disable an account for good and revoke all its credentials at once, with those of the
    service accounts it owns (the admin; an organisation's dpo for its own accounts)."""
    revoked = lifecycle_acts.disable(platform, p, account_id, reason=body.reason)
    return DisabledOut(
        account_id=account_id,
        tokens=revoked.tokens,
        sessions=revoked.sessions,
        ssh_keys=revoked.ssh_keys,
    )
