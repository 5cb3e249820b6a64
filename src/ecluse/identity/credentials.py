"""A person's password and second factor, and the throttling of logins.

- `set_password`: the CNIL 2022-100 rules, then Argon2id. No expiry by age.
- `start_totp` / `confirm_totp`: a secret sealed by the key manager, enabled only once the
  person has typed a code from it; confirming gives ten single-use recovery codes, shown once.
- `login`: e-mail, password and (once enabled) a TOTP or recovery code, throttled as
  `throttle` says (a delay after 5 failures and 25 in 24 hours by default, or a lock after
  10). Across accounts, an address with 50 failures in 15 minutes is refused. Unknown e-mails
  cost the same work as known ones and get the same answers. A failure is returned, not
  raised, so that the caller commits the counters before refusing.
- `step_up`: a fresh code for an act that needs one (signing, revoking, adding a recipient
  key), checked and spent like a login's.
- `change_password`: only with the current password; every credential is then revoked.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ecluse.crypto.interfaces import KeyManager, WrappedKey
from ecluse.db.models import Account, Credential, RecoveryCode
from ecluse.errors import PolicyViolation, ValidationError
from ecluse.identity import throttle, totp
from ecluse.identity.lifecycle import revoke_credentials
from ecluse.identity.passwords import check_password, hash_password, verify_password
from ecluse.identity.throttle import Throttle

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
    locked_now: bool = False  # this failure locked the account (its credentials revoked)

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
    return _new_recovery_codes(session, account_id)


def _new_recovery_codes(session: Session, account_id: str) -> list[str]:
    """Recovery codes in place of any left (only their digests are kept)."""
    codes = totp.new_recovery_codes()
    session.execute(delete(RecoveryCode).where(RecoveryCode.account_id == account_id))
    session.add_all(
        RecoveryCode(account_id=account_id, digest=totp.recovery_digest(c)) for c in codes
    )
    session.flush()
    return codes


def renew_recovery_codes(session: Session, account_id: str) -> list[str]:
    """New recovery codes (shown once), the ones left void; TOTP must be on. The caller has
    checked a fresh second-factor code."""
    if _credential(session, account_id).totp_enabled_at is None:
        raise ValidationError("TOTP is not on: there are no recovery codes to renew")
    return _new_recovery_codes(session, account_id)


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


def _fail(
    session: Session,
    row: Credential | None,
    *,
    subject: str,
    address: str,
    mode: Throttle,
    now: datetime,
) -> bool:
    """Count a failure; whether it locked the account."""
    throttle.record(session, kind="login", address=address, subject=subject, now=now)
    if row is None:
        return False
    row.failures += 1
    row.last_failure_at = now
    locks = (
        mode is Throttle.LOCK
        and row.locked_at is None
        and throttle.failures(session, subject, now) >= throttle.LOCK_AFTER
    )
    if locks:
        row.locked_at = now  # locked: its credentials stop at once
        revoke_credentials(session, row.account_id, now=now)
    session.flush()
    return locks


def _succeed(session: Session, row: Credential, subject: str) -> None:
    row.failures, row.last_failure_at = 0, None
    throttle.clear(session, kind="login", subject=subject)
    session.flush()


def login(
    session: Session,
    keys: KeyManager,
    *,
    email: str,
    password: str,
    code: str | None,
    address: str,
    mode: Throttle = Throttle.DELAY,
    now: datetime | None = None,
) -> LoginResult:
    """Check a login; the caller commits (the counters) and refuses when not `ok`."""
    now = now or datetime.now(UTC)
    subject = throttle.subject_of(keys, email)
    account = session.execute(
        select(Account).where(Account.email == email.strip().lower())
    ).scalar_one_or_none()
    row = session.get(Credential, account.id, with_for_update=True) if account else None
    locked = row is not None and row.locked_at is not None
    gate = throttle.login_gate
    if closed := gate(session, subject=subject, address=address, mode=mode, locked=locked, now=now):
        return LoginResult(None, closed)
    known = row.password_hash if row is not None and row.password_hash else None
    password_ok = verify_password(known or _dummy_hash(), password) and known is not None
    passed, left = False, None
    if account is not None and row is not None and account.state == "active" and password_ok:
        if row.totp_enabled_at is None:  # password alone: no health data before TOTP
            _succeed(session, row, subject)
            return LoginResult(account.id, "ok")
        passed, left = _second_factor(session, keys, row, code, now)
    if not passed or account is None or row is None:
        locked = _fail(session, row, subject=subject, address=address, mode=mode, now=now)
        return LoginResult(None, REFUSED, locked_now=locked)
    _succeed(session, row, subject)
    return LoginResult(account.id, "ok", second_factor=True, recovery_codes_left=left)


def step_up(
    session: Session, keys: KeyManager, account_id: str, code: str | None, *, now: datetime
) -> bool:
    """Whether `code` is a fresh TOTP (or an unused recovery) code of the account's enabled
    second factor; a code passes once. Wrong codes are counted: after 5 in 15 minutes none
    is checked. The caller commits either way."""
    row = session.get(Credential, account_id, with_for_update=True)
    if row is None or row.totp_enabled_at is None or not code:
        return False
    if throttle.step_up_refused(session, account_id=account_id, now=now):
        return False
    passed, _ = _second_factor(session, keys, row, code, now)
    if not passed:
        throttle.record(session, kind="step-up", address="", subject=account_id, now=now)
    session.flush()
    return passed


def has_password(session: Session, account_id: str) -> bool:
    row = session.get(Credential, account_id)
    return row is not None and row.password_hash is not None


def change_password(
    session: Session, account_id: str, *, current: str | None, new: str, now: datetime
) -> bool:
    """Set a new password; once one is set, only with the current one. Whether an old one was
    replaced (then every credential of the account is revoked, as a thief's would be)."""
    row = session.get(Credential, account_id, with_for_update=True)
    known = row.password_hash if row is not None else None
    if known is not None and not verify_password(known, current or ""):
        raise PolicyViolation("a password change needs your current password, typed right")
    set_password(session, account_id, new)
    if known is not None:
        revoke_credentials(session, account_id, now=now)
    return known is not None


def unlock(session: Session, keys: KeyManager, account_id: str) -> None:
    """An administrator's decision, audited by the caller: a lock or a 24-hour hold ends."""
    account = _account(session, account_id)
    row = _credential(session, account_id)
    row.failures, row.last_failure_at, row.locked_at = 0, None, None
    throttle.clear(session, kind="login", subject=throttle.subject_of(keys, account.email))
    session.flush()


prune_failures = throttle.prune
