"""Login sessions: idle timeout, absolute end, logout, health data only after TOTP, and the
registry numbers organisations are known by."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ecluse.db.models import Credential, LoginSession
from ecluse.errors import AuthenticationError, ValidationError
from ecluse.identity import OrgKind, Role, enrol
from ecluse.identity.accounts import check_finess, check_registration, check_siret
from ecluse.identity.permissions import HEALTH_DATA, ROLE_PERMISSIONS
from ecluse.identity.sessions import (
    REFUSED,
    authenticate_session,
    close_session,
    open_session,
)
from ecluse.instance.platform import Platform
from tests.identity.test_tokens import person

IDLE = timedelta(minutes=15)
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def _opened(platform: Platform, *, second_factor: bool) -> tuple[str, str]:
    with platform.db.transaction() as s:
        account_id, code = person(s, {Role.OPERATOR})
        enrol(s, email="olga.op@vendor.example", code=code)
        s.add(Credential(account_id=account_id, failures=0, password_hash="x"))
        opened = open_session(
            s,
            account_id=account_id,
            second_factor=second_factor,
            address="127.0.0.1",
            lifetime=timedelta(hours=12),
            now=NOW,
        )
        stored = s.execute(select(LoginSession.secret_hash)).scalar_one()
    assert opened.token.split("_", 2)[2] not in stored  # only a hash is kept
    return account_id, opened.token


def _auth(platform: Platform, token: str, at: datetime) -> set[str]:
    with platform.db.transaction() as s:
        return set(authenticate_session(s, token, idle=IDLE, now=at).permissions)


def test_idle_timeout_restarts_with_each_use(platform: Platform) -> None:
    _, token = _opened(platform, second_factor=True)
    at = NOW
    for _ in range(4):  # used every 14 minutes: alive for nearly an hour
        at += timedelta(minutes=14)
        assert _auth(platform, token, at) == set(ROLE_PERMISSIONS[Role.OPERATOR])
    with pytest.raises(AuthenticationError, match=REFUSED):
        _auth(platform, token, at + IDLE)


def test_absolute_end_logout_lock_and_tampering(platform: Platform) -> None:
    account_id, token = _opened(platform, second_factor=True)
    with pytest.raises(AuthenticationError, match=REFUSED):
        _auth(platform, token[:-1] + ("A" if token[-1] != "A" else "B"), NOW)
    with platform.db.transaction() as s:  # an administrator-visible lock ends it at once
        row = s.get(Credential, account_id)
        assert row is not None
        row.locked_at = NOW
    with pytest.raises(AuthenticationError, match=REFUSED):
        _auth(platform, token, NOW)
    with platform.db.transaction() as s:
        row = s.get(Credential, account_id)
        assert row is not None
        row.locked_at = None
    assert _auth(platform, token, NOW)
    with platform.db.transaction() as s:
        close_session(s, token[4:20])
    with pytest.raises(AuthenticationError, match=REFUSED):
        _auth(platform, token, NOW)


def test_no_health_data_without_a_second_factor(platform: Platform) -> None:
    _, token = _opened(platform, second_factor=False)
    granted = _auth(platform, token, NOW)
    assert granted == set(ROLE_PERMISSIONS[Role.OPERATOR] - HEALTH_DATA)
    assert not granted & HEALTH_DATA


def test_registry_numbers() -> None:
    assert check_siret("542 086 263 00010") == "54208626300010"
    assert check_siret("35600000000001") == "35600000000001"  # La Poste: digits sum % 5
    assert check_finess("690001235") == "690001235"
    assert check_finess("2a0000016") == "2A0000016"
    for bad in ("54208626300011", "5420862630001", "35600000000002"):
        with pytest.raises(ValidationError):
            check_siret(bad)
    for bad in ("690001236", "69000123", "2C0000016"):
        with pytest.raises(ValidationError):
            check_finess(bad)
    with pytest.raises(ValidationError, match="FINESS"):
        check_registration(OrgKind.CONTROLLER, finess=None, siret="54208626300010")
    with pytest.raises(ValidationError, match="SIRET"):
        check_registration(OrgKind.RECIPIENT, finess="690001235", siret=None)
