"""Login throttling after CNIL deliberation 2022-100, on both databases: by default a delay of
more than a minute after 5 consecutive failures and at most 25 failures in 24 hours (the
option nobody can turn into a denial of service); a lock after 10 as a setting. A known and an
unknown e-mail get the same answers, after the same failures, in about the same time."""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ecluse.db.models import Credential
from ecluse.identity import Role, enrol
from ecluse.identity.credentials import REFUSED, LoginResult, login, set_password, unlock
from ecluse.identity.throttle import HELD, LOCKED, Throttle
from ecluse.instance.platform import Platform
from tests.identity.test_tokens import person

PASSWORD = "Vq7#kPz2!mW4"
KNOWN, UNKNOWN = "olga.op@vendor.example", "nobody@vendor.example"
T0 = datetime.now(UTC)


@pytest.fixture
def olga(platform: Platform) -> str:
    with platform.db.transaction() as s:
        account_id, code = person(s, {Role.OPERATOR}, email=KNOWN)
    with platform.db.transaction() as s:
        enrol(s, email=KNOWN, code=code)
        set_password(s, account_id, PASSWORD)
    return account_id


def _try(
    platform: Platform,
    email: str,
    password: str,
    at: timedelta,
    mode: Throttle = Throttle.DELAY,
    *,
    address: str | None = None,
) -> LoginResult:
    with platform.db.transaction() as s:
        return login(
            s,
            platform.keys,
            email=email,
            password=password,
            code=None,
            address=address or f"192.0.2.{int(at.total_seconds()) % 250}",
            mode=mode,
            now=T0 + at,
        )


S = timedelta(seconds=1)
# (seconds after the first failure, password, expected answer): the same for both e-mails
DELAY_SCRIPT = [
    *[(i, "wrong", REFUSED) for i in range(5)],  # five failures in a row
    (5, PASSWORD, "wait"),  # even the right password waits: not checked at all
    (4 + 60, PASSWORD, "wait"),  # a minute is not enough
    (4 + 62, "wrong", REFUSED),  # more than a minute after the 5th: checked again
    (4 + 62 + 100, PASSWORD, "wait"),  # after the 6th: a longer delay (122 s)
]


def _answer(result: LoginResult) -> str:
    return "wait" if result.reason.startswith("too many failures: wait") else result.reason


@pytest.mark.usefixtures("olga")
def test_a_delay_after_five_failures_the_same_for_known_and_unknown(platform: Platform) -> None:
    answers = {
        email: [_answer(_try(platform, email, pw, at * S)) for at, pw, _ in DELAY_SCRIPT]
        for email in (KNOWN, UNKNOWN)
    }
    assert answers[KNOWN] == answers[UNKNOWN] == [a for _, _, a in DELAY_SCRIPT]
    assert _try(platform, KNOWN, PASSWORD, (4 + 62 + 123) * S).ok  # the delay passed


def _fail_spaced(platform: Platform, email: str, n: int) -> timedelta:
    """`n` failures, each once the delay before it has passed; the time of the last."""
    at = timedelta(0)
    for i in range(n):
        at = i * timedelta(minutes=16)  # the delay never exceeds 15 minutes
        assert _try(platform, email, "wrong", at).reason == REFUSED
    return at


@pytest.mark.parametrize("email", [KNOWN, UNKNOWN])
@pytest.mark.usefixtures("olga")
def test_at_most_25_failures_in_24_hours(platform: Platform, email: str) -> None:
    last = _fail_spaced(platform, email, 25)
    assert _try(platform, email, PASSWORD, last + timedelta(minutes=16)).reason == HELD
    # the oldest failure leaves the 24-hour window: one attempt counts again
    after = timedelta(hours=24, seconds=1)
    result = _try(platform, email, PASSWORD, after)
    assert result.ok if email == KNOWN else result.reason == REFUSED


def test_an_administrator_ends_a_hold(platform: Platform, olga: str) -> None:
    last = _fail_spaced(platform, KNOWN, 25)
    with platform.db.transaction() as s:
        unlock(s, platform.keys, olga)
    assert _try(platform, KNOWN, PASSWORD, last + timedelta(minutes=16)).ok


@pytest.mark.parametrize("email", [KNOWN, UNKNOWN])
@pytest.mark.usefixtures("olga")
def test_the_lock_setting_locks_after_ten(platform: Platform, email: str) -> None:
    for i in range(10):
        assert _try(platform, email, "wrong", i * S, Throttle.LOCK).reason == REFUSED
    assert _try(platform, email, PASSWORD, 11 * S, Throttle.LOCK).reason == LOCKED
    with platform.db.transaction() as s:
        row = s.execute(
            select(Credential).where(Credential.password_hash.is_not(None))
        ).scalar_one()
        assert (row.locked_at is not None) is (email == KNOWN)  # a lock only for an account


@pytest.mark.usefixtures("olga")
def test_unknown_and_known_e_mails_take_the_same_time(platform: Platform) -> None:
    """Argon2 runs for both (against a dummy hash for an unknown e-mail)."""
    _try(platform, UNKNOWN, "warm up", 0 * S)  # the dummy hash is made once
    spent: dict[str, list[float]] = {KNOWN: [], UNKNOWN: []}
    for i in range(4):  # fewer than 5: no delay yet
        for email in (KNOWN, UNKNOWN):
            start = time.perf_counter()
            assert _try(platform, email, f"Wrong#{i}pass12", (i + 1) * S).reason == REFUSED
            spent[email].append(time.perf_counter() - start)
    known, unknown = statistics.median(spent[KNOWN]), statistics.median(spent[UNKNOWN])
    assert abs(known - unknown) < 0.5 * max(known, unknown), spent
