"""A person's password and second factor, and the throttling of logins.

- `set_password`: the CNIL 2022-100 rules, then Argon2id. No expiry by age.
- `start_totp` / `confirm_totp`: a secret sealed by the key manager, enabled only once the
  person has typed a code from it; confirming gives ten single-use recovery codes, shown once.
- `login`: e-mail, password and (once enabled) a TOTP or recovery code. After 5 consecutive
  failures each attempt waits 2^(n-5) seconds after the last failure (at most 15 minutes);
  after 10 the account is locked until an administrator unlocks it. Across accounts, an
  address with 50 failures in 15 minutes is refused. Unknown e-mails cost the same work as
  known ones. A failure is returned, not raised, so that the caller commits the counters
  before refusing; every message is the same whatever failed, except waits and locks.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ecluse.crypto.interfaces import KeyManager, WrappedKey
from ecluse.db.models import Account, Credential, LoginFailure, RecoveryCode
from ecluse.errors import ValidationError
from ecluse.identity import totp
from ecluse.identity.accounts import as_utc
from ecluse.identity.passwords import check_password, hash_password, verify_password

DELAY_AFTER, LOCK_AFTER, MAX_DELAY = 5, 10, timedelta(minutes=15)
ADDRESS_WINDOW, ADDRESS_LIMIT = timedelta(minutes=15), 50
REFUSED = "login refused: wrong e-mail, password or code"


@functools.cache
def _dummy_hash() -> str:
    """Checked when the e-mail is unknown: the same Argon2 work either way."""
    return hash_password("not a password of anyone: equal work for unknown e-mails")


def totp_aad(account_id: str) -> bytes:
    """Binds a sealed TOTP secret to its account."""
    return f"ecluse-totp-v1|{account_id}".encode()


@dataclass(frozen=True, slots=True)
class LoginResult:
    account_id: str | None  # set when the login succeeded
    reason: str  # for the person: REFUSED, a wait, a lock, or "ok"
    second_factor: bool = False  # a TOTP or recovery code was checked
    recovery_codes_left: int | None = None  # after a recovery code was used

    @property
    def ok(self) -> bool:
        return self.account_id is not None


def _account(session: Session, account_id: str) -> Account:
    account = session.get(Account, account_id)
    if account is None or account.state != "active":
        raise ValidationError("no active account")
    return account


def _credential(session: Session, account_id: str) -> Credential:
    row = session.get(Credential, account_id, with_for_update=True)
    if row is None:
        row = Credential(account_id=account_id, failures=0)
        session.add(row)
    return row


def set_password(session: Session, account_id: str, password: str) -> None:
    account = _account(session, account_id)
    check_password(password, full_name=account.full_name, email=account.email)
    row = _credential(session, account_id)
    row.password_hash, row.password_set_at = hash_password(password), datetime.now(UTC)
    session.flush()


def start_totp(session: Session, keys: KeyManager, account_id: str) -> str:
    """A new secret, not yet enabled; the `otpauth://` URI to show once (as a QR code)."""
    account = _account(session, account_id)
    row = _credential(session, account_id)
    if row.totp_enabled_at is not None:
        raise ValidationError("TOTP is already enabled: an administrator resets it")
    secret = totp.new_secret()
    wrapped = keys.wrap(secret, aad=totp_aad(account_id))
    row.kek_version, row.wrapped_totp_secret = wrapped.kek_version, wrapped.ciphertext
    session.flush()
    return totp.provisioning_uri(secret, account=account.email)


def _secret(keys: KeyManager, row: Credential) -> bytes | None:
    if row.wrapped_totp_secret is None or row.kek_version is None:
        return None
    wrapped = WrappedKey(row.kek_version, bytes(row.wrapped_totp_secret))
    return keys.unwrap(wrapped, aad=totp_aad(row.account_id))


def confirm_totp(session: Session, keys: KeyManager, account_id: str, code: str) -> list[str]:
    """Enable TOTP with a first code; return the recovery codes (shown once)."""
    row = _credential(session, account_id)
    secret = _secret(keys, row)
    if secret is None or row.totp_enabled_at is not None:
        raise ValidationError("no TOTP set-up waiting for confirmation")
    try:
        row.totp_last_step = totp.verify(secret, code, last_step=None)
    except ValueError as e:
        raise ValidationError(f"TOTP not enabled: {e}") from e
    row.totp_enabled_at = datetime.now(UTC)
    codes = totp.new_recovery_codes()
    session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account_id))
    session.add_all(
        RecoveryCode(account_id=account_id, digest=totp.recovery_digest(c)) for c in codes
    )
    session.flush()
    return codes


def _wait(row: Credential, now: datetime) -> timedelta:
    if row.failures < DELAY_AFTER or row.last_failure_at is None:
        return timedelta(0)
    delay = min(timedelta(seconds=2 ** (row.failures - DELAY_AFTER)), MAX_DELAY)
    return max(as_utc(row.last_failure_at) + delay - now, timedelta(0))


def _second_factor(
    session: Session, keys: KeyManager, row: Credential, code: str | None, now: datetime
) -> tuple[bool, int | None]:
    """Whether the code passes (TOTP, else a recovery code), and recovery codes left."""
    secret = _secret(keys, row)
    if secret is None or code is None:
        return False, None
    try:
        row.totp_last_step = totp.verify(
            secret, code, last_step=row.totp_last_step, now=now.timestamp()
        )
    except ValueError:
        stored = (
            session.execute(
                select(RecoveryCode.digest).where(RecoveryCode.account_id == row.account_id)
            )
            .scalars()
            .all()
        )
        try:
            left = totp.use_recovery_code([bytes(d) for d in stored], code)
        except ValueError:
            return False, None
        used = set(map(bytes, stored)) - set(left)
        session.execute(
            delete(RecoveryCode).where(
                RecoveryCode.account_id == row.account_id, RecoveryCode.digest.in_(used)
            )
        )
        return True, len(left)
    return True, None


def _fail(session: Session, row: Credential | None, address: str, now: datetime) -> None:
    session.add(LoginFailure(address=address[:64], at=now))
    if row is not None:
        row.failures += 1
        row.last_failure_at = now
        if row.failures >= LOCK_AFTER and row.locked_at is None:
            row.locked_at = now
    session.flush()


def _gate(session: Session, row: Credential | None, address: str, now: datetime) -> str | None:
    """Why no attempt is even checked now: the address's limit, a lock, or a wait."""
    recent = session.execute(
        select(func.count()).where(
            LoginFailure.address == address[:64], LoginFailure.at > now - ADDRESS_WINDOW
        )
    ).scalar_one()
    if recent >= ADDRESS_LIMIT:
        return "too many failed logins from this address: try again later"
    if row is not None and row.locked_at is not None:
        return "this account is locked: ask your administrator"
    if row is not None and (wait := _wait(row, now)):
        return f"too many failures: wait {int(wait.total_seconds()) + 1} s"
    return None


def login(
    session: Session,
    keys: KeyManager,
    *,
    email: str,
    password: str,
    code: str | None,
    address: str,
    now: datetime | None = None,
) -> LoginResult:
    """Check a login; the caller commits (the counters) and refuses when not `ok`."""
    now = now or datetime.now(UTC)
    account = session.execute(
        select(Account).where(Account.email == email.strip().lower())
    ).scalar_one_or_none()
    row = session.get(Credential, account.id, with_for_update=True) if account else None
    if (closed := _gate(session, row, address, now)) is not None:
        return LoginResult(None, closed)
    known = row.password_hash if row is not None and row.password_hash else None
    password_ok = verify_password(known or _dummy_hash(), password) and known is not None
    passed, left = False, None
    if account is not None and row is not None and account.state == "active" and password_ok:
        if row.totp_enabled_at is None:  # password alone: no health data before TOTP
            row.failures, row.last_failure_at = 0, None
            session.flush()
            return LoginResult(account.id, "ok")
        passed, left = _second_factor(session, keys, row, code, now)
    if not passed or account is None or row is None:
        _fail(session, row, address, now)
        return LoginResult(None, REFUSED)
    row.failures, row.last_failure_at = 0, None
    session.flush()
    return LoginResult(account.id, "ok", second_factor=True, recovery_codes_left=left)


def unlock(session: Session, account_id: str) -> None:
    """An administrator's decision, audited by the caller."""
    _account(session, account_id)
    row = _credential(session, account_id)
    row.failures, row.last_failure_at, row.locked_at = 0, None, None
    session.flush()


def prune_failures(session: Session, *, now: datetime) -> int:
    """Forget failed logins by address once they no longer count (the worker does it)."""
    result = session.execute(delete(LoginFailure).where(LoginFailure.at <= now - ADDRESS_WINDOW))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
