"""Failed attempts, counted in the database (every node of a cluster sees the same counts):
logins by the e-mail typed and by address, enrolments by address, step-up codes by account.

Logins follow CNIL deliberation 2022-100. By default (`delay`, the option that resists denial
of service: nobody can lock a person out by typing their e-mail): after 5 consecutive failures
the next attempt is accepted only after a delay of more than a minute (61 s, doubling to 15
minutes), and at most 25 failures count in 24 hours, after which the account is held until the
oldest of them leaves the 24-hour window or an administrator unlocks it. `lock`: locked after
10 consecutive failures, until an administrator unlocks it.

The count is kept by a digest of the e-mail as typed, whether or not an account has it: a
known and an unknown e-mail get the same answers after the same failures. Successes clear it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ecluse.clock import as_utc
from ecluse.crypto.identifiers import identifier_digest, identifier_key
from ecluse.crypto.interfaces import KeyManager
from ecluse.db.models import LoginFailure

WINDOW = timedelta(hours=24)
DELAY_AFTER, FIRST_DELAY, MAX_DELAY, DAILY_LIMIT = (
    5,
    timedelta(seconds=61),
    timedelta(minutes=15),
    25,
)
LOCK_AFTER = 10
ADDRESS_WINDOW, ADDRESS_LIMIT = timedelta(minutes=15), 50
ENROL_WINDOW, ENROL_LIMIT = timedelta(minutes=15), 10
STEP_UP_WINDOW, STEP_UP_LIMIT = timedelta(minutes=15), 5

LOCKED = "this account is locked: ask your administrator"
HELD = "too many failures in 24 hours: try again later, or ask your administrator to unlock"
BY_ADDRESS = "too many failed logins from this address: try again later"
ENROL_THROTTLED = "too many failed enrolments from this address: try again later"


class Throttle(StrEnum):
    DELAY = "delay"  # CNIL 2022-100: a delay after 5 failures, at most 25 in 24 hours
    LOCK = "lock"  # CNIL 2022-100: locked after 10 failures


def subject_of(keys: KeyManager, email: str) -> str:
    """What the count of an e-mail's failures is kept under (rows live 24 hours at most): its
    keyed digest, never a plain hash (an e-mail, or a password typed in its place, is
    guessable)."""
    return identifier_digest(identifier_key(keys.signer()), email)


def record(
    session: Session, *, kind: str, address: str, subject: str | None, now: datetime
) -> None:
    session.add(LoginFailure(kind=kind, address=address[:64], subject=subject, at=now))
    session.flush()


def clear(session: Session, *, kind: str, subject: str) -> None:
    session.execute(
        delete(LoginFailure).where(LoginFailure.kind == kind, LoginFailure.subject == subject)
    )


def _count(
    session: Session,
    *,
    kind: str,
    since: datetime,
    address: str | None = None,
    subject: str | None = None,
) -> tuple[int, datetime | None]:
    """How many failures of `kind` since `since`, and the latest."""
    query = select(func.count(), func.max(LoginFailure.at)).where(
        LoginFailure.kind == kind, LoginFailure.at > since
    )
    if address is not None:
        query = query.where(LoginFailure.address == address[:64])
    if subject is not None:
        query = query.where(LoginFailure.subject == subject)
    n, latest = session.execute(query).one()
    return int(n), latest


def failures(session: Session, subject: str, now: datetime) -> int:
    return _count(session, kind="login", since=now - WINDOW, subject=subject)[0]


def login_gate(
    session: Session, *, subject: str, address: str, mode: Throttle, locked: bool, now: datetime
) -> str | None:
    """Why no login attempt is even checked now (the same for a known and an unknown e-mail),
    or None."""
    if (
        _count(session, kind="login", since=now - ADDRESS_WINDOW, address=address)[0]
        >= ADDRESS_LIMIT
    ):
        return BY_ADDRESS
    n, latest = _count(session, kind="login", since=now - WINDOW, subject=subject)
    if locked or (mode is Throttle.LOCK and n >= LOCK_AFTER):
        return LOCKED
    if mode is Throttle.LOCK:
        return None
    if n >= DAILY_LIMIT:
        return HELD
    if n >= DELAY_AFTER and latest is not None:
        delay = min(FIRST_DELAY * 2 ** (n - DELAY_AFTER), MAX_DELAY)
        wait = as_utc(latest) + delay - now
        if wait > timedelta(0):
            return f"too many failures: wait {int(wait.total_seconds()) + 1} s"
    return None


def enrol_refused(session: Session, *, address: str, now: datetime) -> bool:
    """Whether this address has failed too many enrolments lately."""
    n, _ = _count(session, kind="enrol", since=now - ENROL_WINDOW, address=address)
    return n >= ENROL_LIMIT


def step_up_refused(session: Session, *, account_id: str, now: datetime) -> bool:
    """Whether this account has typed too many wrong step-up codes lately."""
    n, _ = _count(session, kind="step-up", since=now - STEP_UP_WINDOW, subject=account_id)
    return n >= STEP_UP_LIMIT


def prune(session: Session, *, now: datetime) -> int:
    """Forget failures once they no longer count (the worker does it)."""
    result = session.execute(delete(LoginFailure).where(LoginFailure.at <= now - WINDOW))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
