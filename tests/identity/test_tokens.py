"""Enrolment, API tokens and permissions, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ecluse.db.models import Account, ApiToken
from ecluse.errors import AuthenticationError, PolicyViolation, ValidationError
from ecluse.identity import (
    OrgKind,
    Permission,
    Role,
    authenticate,
    create_account,
    create_organisation,
    enrol,
    issue,
    require,
    revoke,
)
from ecluse.identity.accounts import ENROL_REFUSED
from ecluse.identity.permissions import HEALTH_DATA, ROLE_PERMISSIONS
from ecluse.identity.tokens import REFUSED
from ecluse.instance.platform import Platform
from tests.mail_tools import approve_all
from tests.totp_tools import enable_totp

NOW = datetime.now(UTC)


def person(s: Session, roles: set[Role], email: str = "olga.op@vendor.example") -> tuple[str, str]:
    org = create_organisation(s, name="Old Vendor", kind=OrgKind.PROCESSOR)
    new = create_account(
        s, organisation_id=org, email=email, full_name="Olga Operator", roles=roles
    )
    approve_all(s, new.id)
    return new.id, new.enrolment_code


def test_enrolment_is_single_use(platform: Platform) -> None:
    with platform.db.transaction() as s:
        account_id, code = person(s, {Role.OPERATOR})
    with platform.db.transaction() as s:
        assert enrol(s, email="Olga.Op@vendor.example", code=code.lower()) == account_id
    with pytest.raises(AuthenticationError, match=ENROL_REFUSED), platform.db.transaction() as s:
        enrol(s, email="olga.op@vendor.example", code=code)
    with platform.db.transaction() as s:
        account = s.get(Account, account_id)
        assert account is not None and account.state == "active"
        assert account.enrolment_code_hash is None


@pytest.mark.parametrize("case", ["wrong code", "unknown e-mail", "expired code"])
def test_enrolment_refusals_look_alike(platform: Platform, case: str) -> None:
    with platform.db.transaction() as s:
        _, code = person(s, {Role.OPERATOR})
    email = "nobody@vendor.example" if case == "unknown e-mail" else "olga.op@vendor.example"
    code = "AAAAA-AAAAA-AAAAA-AAAAA-AAAAA" if case == "wrong code" else code
    now = NOW + timedelta(days=8) if case == "expired code" else NOW
    with pytest.raises(AuthenticationError) as e, platform.db.transaction() as s:
        enrol(s, email=email, code=code, now=now)
    assert str(e.value) == ENROL_REFUSED


@pytest.fixture
def operator_token(platform: Platform) -> tuple[str, str]:
    with platform.db.transaction() as s:
        account_id, code = person(s, {Role.OPERATOR})
        enrol(s, email="olga.op@vendor.example", code=code)
        return account_id, issue(s, account_id=account_id, name="cli", days=30).token


def test_token_authenticates_its_account(
    platform: Platform, operator_token: tuple[str, str]
) -> None:
    account_id, token = operator_token
    with platform.db.transaction() as s:
        p = authenticate(s, token)
        stored = s.execute(select(ApiToken.secret_hash)).scalars().all()
    assert p.account_id == account_id and p.roles == {Role.OPERATOR}
    # no health data: the token was minted without a second factor, and enabling one later
    # does not lift it (fixed at mint time); a token minted with one has everything
    assert p.permissions == ROLE_PERMISSIONS[Role.OPERATOR] - HEALTH_DATA
    with platform.db.transaction() as s:
        enable_totp(s, platform.keys, account_id)
    with platform.db.transaction() as s:
        assert authenticate(s, token).permissions == ROLE_PERMISSIONS[Role.OPERATOR] - HEALTH_DATA
        minted = issue(s, account_id=account_id, name="2fa", days=1, second_factor=True)
    with platform.db.transaction() as s:
        assert authenticate(s, minted.token).permissions == ROLE_PERMISSIONS[Role.OPERATOR]
    assert p.organisation_kind == "processor" and p.actor == "account:olga.op@vendor.example"
    secret = token.split("_", 2)[2]  # the secret itself may hold "_"
    assert len(secret) == 43 and all(secret not in h for h in stored)  # only a hash is stored


def _tamper(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


@pytest.mark.parametrize(
    "case",
    [
        "tampered secret",
        "unknown id",
        "malformed",
        "expired",
        "revoked",
        "account disabled",
        "empty",
    ],
)
def test_token_refusals_look_alike(
    platform: Platform, operator_token: tuple[str, str], case: str
) -> None:
    account_id, token = operator_token
    now = NOW
    if case == "tampered secret":
        token = _tamper(token)
    elif case == "unknown id":
        token = "ecl_" + "0" * 16 + token[20:]
    elif case == "malformed":
        token = token.replace("ecl_", "tok_")
    elif case == "empty":
        token = ""
    elif case == "expired":
        now = NOW + timedelta(days=31)
    elif case == "revoked":
        with platform.db.transaction() as s:
            revoke(s, token_id=token.split("_")[1], account_id=account_id)
    else:
        with platform.db.transaction() as s:
            s.execute(update(Account).where(Account.id == account_id).values(state="disabled"))
    with pytest.raises(AuthenticationError) as e, platform.db.transaction() as s:
        authenticate(s, token, now=now)
    assert str(e.value) == REFUSED


def test_scopes_narrow_and_never_widen(platform: Platform, operator_token: tuple[str, str]) -> None:
    account_id, _ = operator_token
    with platform.db.transaction() as s:
        narrow = issue(
            s, account_id=account_id, name="read-only", days=7, scopes={Permission.TOKEN_SELF}
        )
        p = authenticate(s, narrow.token)
        assert p.permissions == {Permission.TOKEN_SELF}
        with pytest.raises(PolicyViolation):
            require(p.permissions, Permission.EXTRACTION_RUN)
        with pytest.raises(ValidationError, match="subset"):
            issue(s, account_id=account_id, name="x", days=7, scopes={Permission.ORG_MANAGE})
        with pytest.raises(ValidationError, match="1 to 90"):
            issue(s, account_id=account_id, name="x", days=91)


def test_tokens_only_for_enrolled_accounts(platform: Platform) -> None:
    with platform.db.transaction() as s:
        account_id, _ = person(s, {Role.DPO})
        with pytest.raises(ValidationError, match="enrolled"):
            issue(s, account_id=account_id, name="x", days=7)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("permission", list(Permission))
def test_role_table_denies_by_default(role: Role, permission: Permission) -> None:
    everyone = {"token:self", "security-report:file"}  # any staff member may file a concern
    alerts = {"alert:read", "alert:handle"}
    allowed = {
        Role.ADMIN: {
            "org:manage",
            "account:manage",
            "directory:read",
            "keys:manage",
            "metrics:read",
            *alerts,
        },
        Role.DPO: {
            "directory:read",
            "token:self",
            "agreement:sign",
            "instruction:sign",
            "report:read",
            "report:sign-off",
            "audit:read",
            *alerts,
        },
        Role.OPERATOR: {"agreement:sign", "extraction:run"},
        Role.RECIPIENT: {"package:download", "receipt:confirm", "recipient-key:manage"},
        Role.AUDITOR: {"directory:read", "report:read", "audit:read", "alert:read", "metrics:read"},
        Role.PLATFORM_AUDITOR: {"directory:read", "report:read", "audit:read"},  # across orgs
    }[role] | everyone
    granted = ROLE_PERMISSIONS[role]
    if permission.value in allowed:
        require(granted, permission)
    else:
        with pytest.raises(PolicyViolation):
            require(granted, permission)


def test_admin_never_reaches_health_data() -> None:
    assert not ROLE_PERMISSIONS[Role.ADMIN] & HEALTH_DATA
