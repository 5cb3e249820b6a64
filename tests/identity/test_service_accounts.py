"""Service accounts: a named owner, roles that never sign, 90 days at most; their tokens
die with them or with their owner's account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ecluse.db.models import Account
from ecluse.errors import AuthenticationError, ValidationError
from ecluse.identity import (
    OrgKind,
    Role,
    authenticate,
    create_account,
    create_organisation,
    enrol,
    issue,
)
from ecluse.identity.accounts import create_service_account
from ecluse.instance.platform import Platform
from tests.identity.test_tokens import person


def _owner(platform: Platform) -> str:
    with platform.db.transaction() as s:
        owner, code = person(s, {Role.OPERATOR, Role.RECIPIENT})
        enrol(s, email="olga.op@vendor.example", code=code)
    return owner


def test_a_service_account_and_its_token(platform: Platform) -> None:
    owner = _owner(platform)
    with platform.db.transaction() as s:
        svc = create_service_account(
            s, owner_id=owner, name="nightly export job", roles={Role.OPERATOR}, days=30
        )
        token = issue(s, account_id=svc, name="job", days=90)  # capped at the account's life
        account = s.get(Account, svc)
        assert account is not None and account.kind == "service" and account.owner_id == owner
        assert account.expires_at is not None
        assert token.expires_at <= account.expires_at.replace(tzinfo=UTC)
    with platform.db.transaction() as s:
        assert authenticate(s, token.token).account_id == svc
    later = datetime.now(UTC) + timedelta(days=31)
    with pytest.raises(AuthenticationError), platform.db.transaction() as s:
        authenticate(s, token.token, now=later)


def test_it_dies_with_its_owner(platform: Platform) -> None:
    owner = _owner(platform)
    with platform.db.transaction() as s:
        svc = create_service_account(s, owner_id=owner, name="sync", roles={Role.RECIPIENT}, days=7)
        token = issue(s, account_id=svc, name="job", days=7)
    with platform.db.transaction() as s:
        row = s.get(Account, owner)
        assert row is not None
        row.state = "disabled"  # the person left
    with pytest.raises(AuthenticationError), platform.db.transaction() as s:
        authenticate(s, token.token)


@pytest.mark.parametrize(
    ("roles", "days", "match"),
    [
        ({Role.DPO}, 30, "operator, recipient or auditor"),
        ({Role.ADMIN}, 30, "operator, recipient or auditor"),
        ({Role.OPERATOR}, 91, "1 to 90 days"),
        ({Role.OPERATOR}, 0, "1 to 90 days"),
        ({Role.AUDITOR}, 30, "only roles its owner holds"),  # not the owner's
    ],
)
def test_limits(platform: Platform, roles: set[Role], days: int, match: str) -> None:
    owner = _owner(platform)
    with pytest.raises(ValidationError, match=match), platform.db.transaction() as s:
        create_service_account(s, owner_id=owner, name="job", roles=roles, days=days)


def test_a_pending_role_of_the_owner_gives_its_service_account_nothing(
    platform: Platform,
) -> None:
    with platform.db.transaction() as s:
        org = create_organisation(s, name="Vendor", kind=OrgKind.PROCESSOR)
        new = create_account(
            s,
            organisation_id=org,
            email="p@v.example",
            full_name="Pat Pending",
            roles={Role.OPERATOR},
        )
        enrol(s, email=new.email, code=new.enrolment_code)
    with (
        pytest.raises(ValidationError, match="only roles its owner holds"),
        platform.db.transaction() as s,
    ):
        create_service_account(s, owner_id=new.id, name="job", roles={Role.OPERATOR}, days=7)


def test_the_owner_is_an_enrolled_person(platform: Platform) -> None:
    with platform.db.transaction() as s:
        pending, _ = person(s, {Role.OPERATOR})
    with pytest.raises(ValidationError, match="named person"), platform.db.transaction() as s:
        create_service_account(s, owner_id=pending, name="job", roles={Role.OPERATOR}, days=7)
    with platform.db.transaction() as s:
        owner, code = person(s, {Role.OPERATOR}, email="other@vendor.example")
        enrol(s, email="other@vendor.example", code=code)
        svc = create_service_account(s, owner_id=owner, name="a", roles={Role.OPERATOR}, days=7)
    with pytest.raises(ValidationError, match="named person"), platform.db.transaction() as s:
        create_service_account(s, owner_id=svc, name="b", roles={Role.OPERATOR}, days=7)
