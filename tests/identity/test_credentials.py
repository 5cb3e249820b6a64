"""Passwords, TOTP and throttled logins on both databases, with the real key manager."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ecluse.db.models import Credential, RecoveryCode
from ecluse.errors import ValidationError
from ecluse.identity import Role, enrol, totp
from ecluse.identity.credentials import (
    REFUSED,
    LoginResult,
    confirm_totp,
    login,
    prune_failures,
    set_password,
    start_totp,
)
from ecluse.identity.throttle import ADDRESS_LIMIT
from ecluse.instance.platform import Platform
from ecluse.services.host import rotate_keys
from tests.identity.test_tokens import person

PASSWORD = "Vq7#kPz2!mW4"
EMAIL = "olga.op@vendor.example"


def _enrolled(platform: Platform) -> str:
    with platform.db.transaction() as s:
        account_id, code = person(s, {Role.OPERATOR}, email=EMAIL)
    with platform.db.transaction() as s:
        enrol(s, email=EMAIL, code=code)
        set_password(s, account_id, PASSWORD)
    return account_id


def _login(platform: Platform, password: str = PASSWORD, **kwargs: object) -> LoginResult:
    options: dict[str, object] = {"code": None, "address": "192.0.2.7", **kwargs}
    with platform.db.transaction() as s:
        return login(s, platform.keys, email=EMAIL, password=password, **options)  # type: ignore[arg-type]


def test_password_then_totp_with_replay_refused(platform: Platform) -> None:
    account_id = _enrolled(platform)
    assert _login(platform).account_id == account_id  # password alone: no second factor yet
    assert not _login(platform).second_factor
    with platform.db.transaction() as s:
        uri = start_totp(s, platform.keys, account_id)
    secret = totp.secret_from_uri(uri)
    with pytest.raises(ValidationError, match="TOTP not enabled"), platform.db.transaction() as s:
        confirm_totp(s, platform.keys, account_id, "000000")
    now = datetime.now(UTC)
    with platform.db.transaction() as s:
        codes = confirm_totp(
            s, platform.keys, account_id, totp.hotp(secret, totp.step_at(now.timestamp()))
        )
    assert len(codes) == 10

    assert _login(platform).reason == REFUSED  # the password alone no longer does
    later = now + timedelta(seconds=30)
    code = totp.hotp(secret, totp.step_at(later.timestamp()))
    result = _login(platform, code=code, now=later)
    assert result.ok and result.second_factor
    assert _login(platform, code=code, now=later).reason == REFUSED  # replayed

    # a recovery code works once
    result = _login(platform, code=codes[0], now=later)
    assert result.ok and result.recovery_codes_left == 9
    assert not _login(platform, code=codes[0], now=later).ok
    with platform.db.transaction() as s:
        left = s.execute(select(RecoveryCode).where(RecoveryCode.account_id == account_id))
        assert len(left.all()) == 9
        row = s.get(Credential, account_id)
        assert row is not None and row.wrapped_totp_secret is not None
        assert secret not in bytes(row.wrapped_totp_secret)  # sealed, not stored


def test_rotation_rewraps_the_totp_secret(platform: Platform) -> None:
    account_id = _enrolled(platform)
    with platform.db.transaction() as s:
        secret = totp.secret_from_uri(start_totp(s, platform.keys, account_id))
    now = datetime.now(UTC)
    with platform.db.transaction() as s:
        confirm_totp(s, platform.keys, account_id, totp.hotp(secret, totp.step_at(now.timestamp())))
    result = rotate_keys(platform, actor="local:test")
    assert result.destroyed  # the old key-encryption key is gone
    later = now + timedelta(seconds=30)
    code = totp.hotp(secret, totp.step_at(later.timestamp()))
    assert _login(platform, code=code, now=later).ok


def test_an_address_is_limited_across_accounts(platform: Platform) -> None:
    _enrolled(platform)
    now = datetime.now(UTC)
    for i in range(ADDRESS_LIMIT):
        with platform.db.transaction() as s:
            result = login(
                s, platform.keys, email=f"nobody{i}@x.example", password="x", code=None,
                address="198.51.100.9", now=now,
            )  # fmt: skip
        assert result.reason == REFUSED
    assert _login(platform, address="198.51.100.9", now=now).reason.startswith("too many failed")
    assert _login(platform, address="192.0.2.8", now=now).ok  # another address is not
    assert _login(platform, address="198.51.100.9", now=now + timedelta(minutes=16)).ok
    with platform.db.transaction() as s:
        assert prune_failures(s, now=now + timedelta(minutes=16)) == 0  # kept 24 hours
        assert prune_failures(s, now=now + timedelta(hours=24)) == ADDRESS_LIMIT


def test_unknown_and_wrong_look_alike(platform: Platform) -> None:
    _enrolled(platform)
    with platform.db.transaction() as s:
        unknown = login(
            s, platform.keys, email="who@x.example", password=PASSWORD, code=None, address="a"
        )
    assert unknown.reason == _login(platform, "Wrong#pass1234").reason == REFUSED


def test_a_weak_password_is_not_set(platform: Platform) -> None:
    with platform.db.transaction() as s:
        account_id, code = person(s, {Role.OPERATOR}, email=EMAIL)
    with platform.db.transaction() as s:
        enrol(s, email=EMAIL, code=code)
    with pytest.raises(ValidationError, match="too weak"), platform.db.transaction() as s:
        set_password(s, account_id, "password")
    with (
        pytest.raises(ValidationError, match="name or your e-mail"),
        platform.db.transaction() as s,
    ):
        set_password(s, account_id, "Olga#Operator2026")
