"""A person's own credentials, as every channel performs them: logins and sessions, password,
TOTP, SSH keys and API tokens; unlocking an account locked by failed logins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ecluse.audit import Action
from ecluse.db.models import ApiToken
from ecluse.errors import AuthenticationError
from ecluse.identity import Permission, Principal, issue, revoke
from ecluse.identity.credentials import (
    LoginResult,
    confirm_totp,
    has_password,
    login,
    start_totp,
    unlock,
)
from ecluse.identity.credentials import change_password as set_new_password
from ecluse.identity.credentials import (
    renew_recovery_codes as renew_codes,
)
from ecluse.identity.sessions import OpenedSession, close_session, open_session
from ecluse.identity.ssh_keys import ParsedKey, active_keys, add_ssh_key, revoke_ssh_key
from ecluse.identity.throttle import Throttle
from ecluse.identity.tokens import IssuedToken
from ecluse.instance.platform import Platform
from ecluse.services.access import permit, refusals_audited, unauthenticated
from ecluse.services.step_up import confirm_presence
from ecluse.services.typed import typed_identifier


@dataclass(frozen=True, slots=True)
class TokenRow:
    """One of a person's API tokens, never its secret."""

    id: str
    name: str
    expires_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class SshKeyRow:
    fingerprint: str
    algorithm: str
    label: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class LoggedIn:
    account_id: str
    session: OpenedSession | None  # None for a channel that keeps its own connection (SFTP)
    second_factor: bool
    recovery_codes_left: int | None


def _refused(
    platform: Platform, s: Session, result: LoginResult, *, email: str, address: str, channel: str
) -> None:
    """Audit a refused login (by the identifier typed, never a password), and the lock it
    caused."""
    typed = typed_identifier(platform, s, email)
    platform.audit.append(
        s,
        actor=unauthenticated(channel),
        action=Action.LOGIN_REFUSED,
        refs=typed.refs,
        details={**typed.details, "address": address[:64], "reason": result.reason},
    )
    if result.locked_now:
        platform.audit.append(
            s,
            actor=unauthenticated(channel),
            action=Action.CREDENTIALS_REVOKE,
            refs=typed.refs,  # a lock names a known account: by its id
            details={"why": "locked after failed logins"},
        )


def _opened(
    platform: Platform,
    s: Session,
    result: LoginResult,
    account_id: str,
    *,
    email: str,
    address: str,
    channel: str,
    open_new_session: bool,
) -> OpenedSession | None:
    """Open the session a login earned (unless the channel keeps its own), audited."""
    opened = None
    if open_new_session:
        opened = open_session(
            s,
            account_id=account_id,
            second_factor=result.second_factor,
            address=address,
            lifetime=timedelta(hours=platform.settings.session_hours),
        )
    platform.audit.append(
        s,
        actor=f"account:{email}",
        action=Action.SESSION_OPEN,
        refs={"account": account_id, "session": opened.id if opened else "none"},
        details={
            "via": channel,
            "address": address[:64],
            "second_factor": result.second_factor,
            "recovery_codes_left": result.recovery_codes_left,
        },
    )
    return opened


def log_in(
    platform: Platform,
    *,
    email: str,
    password: str,
    code: str | None,
    address: str,
    channel: str,
    open_new_session: bool = True,
) -> LoggedIn:
    """Password (and TOTP or a recovery code) → a session; the counters are committed and the
    refusal audited before `AuthenticationError` is raised."""
    email = email.strip().lower()[:254]
    with platform.db.transaction() as s:
        result = login(
            s,
            platform.keys,
            email=email,
            password=password,
            code=code,
            address=address,
            mode=Throttle(platform.settings.login_throttle),
        )
        account_id = result.account_id if result.ok else None
        if account_id is None:
            _refused(platform, s, result, email=email, address=address, channel=channel)
        else:
            opened = _opened(
                platform,
                s,
                result,
                account_id,
                email=email,
                address=address,
                channel=channel,
                open_new_session=open_new_session,
            )
    if account_id is None:
        raise AuthenticationError(result.reason)
    return LoggedIn(account_id, opened, result.second_factor, result.recovery_codes_left)


def log_out(platform: Platform, p: Principal) -> None:
    with platform.db.transaction() as s:
        close_session(s, p.token_id)
        platform.audit.append(
            s, actor=p.actor, action=Action.SESSION_CLOSE, refs={"session": p.token_id}
        )


def password_is_set(platform: Platform, p: Principal) -> bool:
    with platform.db.transaction() as s:
        return has_password(s, p.account_id)


def change_password(
    platform: Platform, p: Principal, password: str, *, current: str | None
) -> None:
    """A first password, or a new one with the current one; replacing one revokes every token,
    session and SSH key of the account at once (the caller logs in again)."""
    with refusals_audited(platform, p, "password set"), platform.db.transaction() as s:
        now = datetime.now(UTC)
        replaced = set_new_password(s, p.account_id, current=current, new=password, now=now)
        platform.audit.append(
            s,
            actor=p.actor,
            action=Action.PASSWORD_SET,
            refs={"account": p.account_id},
            details={"replaced": replaced},
        )


def begin_totp(platform: Platform, p: Principal) -> str:
    """The `otpauth://` URI to show once."""
    with refusals_audited(platform, p, "totp enable"), platform.db.transaction() as s:
        uri = start_totp(s, platform.keys, p.account_id)
        platform.audit.append(
            s, actor=p.actor, action=Action.TOTP_START, refs={"account": p.account_id}
        )
    return uri


def finish_totp(platform: Platform, p: Principal, code: str) -> list[str]:
    """TOTP on; the recovery codes to show once."""
    with refusals_audited(platform, p, "totp confirm"), platform.db.transaction() as s:
        codes = confirm_totp(s, platform.keys, p.account_id, code)
        platform.audit.append(
            s, actor=p.actor, action=Action.TOTP_ENABLE, refs={"account": p.account_id}
        )
    return codes


def renew_recovery_codes(platform: Platform, p: Principal, *, code: str | None) -> list[str]:
    """New recovery codes, the old ones void, with a fresh code of the person's app (or one
    of their recovery codes left); shown once."""
    permit(platform, p, Permission.TOKEN_SELF)
    confirm_presence(platform, p, code, command="totp recovery-codes")
    with refusals_audited(platform, p, "totp recovery-codes"), platform.db.transaction() as s:
        codes = renew_codes(s, p.account_id)
        platform.audit.append(
            s, actor=p.actor, action=Action.RECOVERY_RENEW, refs={"account": p.account_id}
        )
    return codes


def add_own_ssh_key(platform: Platform, p: Principal, line: str, label: str) -> ParsedKey:
    with refusals_audited(platform, p, "ssh-keys add"), platform.db.transaction() as s:
        parsed = add_ssh_key(s, p.account_id, line, label=label, second_factor=p.second_factor)
        platform.audit.append(
            s,
            actor=p.actor,
            action=Action.SSH_KEY_ADD,
            refs={"account": p.account_id},
            details={
                "fingerprint": parsed.fingerprint,
                "algorithm": parsed.algorithm,
                "second_factor": p.second_factor,
            },
        )
    return parsed


def revoke_own_ssh_key(platform: Platform, p: Principal, fingerprint: str) -> None:
    with refusals_audited(platform, p, "ssh-keys revoke"), platform.db.transaction() as s:
        revoke_ssh_key(s, p.account_id, fingerprint)
        platform.audit.append(
            s,
            actor=p.actor,
            action=Action.SSH_KEY_REVOKE,
            refs={"account": p.account_id},
            details={"fingerprint": fingerprint[:60]},
        )


def unlock_account(platform: Platform, p: Principal, account_id: str) -> None:
    with (
        refusals_audited(platform, p, "accounts unlock", account=account_id),
        platform.db.transaction() as s,
    ):
        unlock(s, platform.keys, account_id)
        platform.audit.append(
            s, actor=p.actor, action=Action.ACCOUNT_UNLOCK, refs={"account": account_id}
        )


def issue_token(
    platform: Platform, p: Principal, *, name: str, days: int, scopes: set[Permission] | None
) -> IssuedToken:
    with refusals_audited(platform, p, "tokens issue"), platform.db.transaction() as s:
        issued = issue(
            s,
            account_id=p.account_id,
            name=name,
            days=days,
            scopes=scopes,
            second_factor=p.second_factor,  # fixed now: never lifted later
        )
        platform.audit.append(
            s,
            actor=p.actor,
            action=Action.TOKEN_ISSUE,
            refs={"token": issued.id},
            details={
                "days": days,
                "scopes": sorted(x.value for x in issued.scopes),
                "second_factor": p.second_factor,
            },
        )
    return issued


def revoke_token(platform: Platform, p: Principal, token_id: str) -> None:
    with refusals_audited(platform, p, "tokens revoke"), platform.db.transaction() as s:
        revoke(s, token_id=token_id, account_id=p.account_id)
        platform.audit.append(
            s, actor=p.actor, action=Action.TOKEN_REVOKE, refs={"token": token_id[:16]}
        )


def tokens(platform: Platform, p: Principal) -> list[TokenRow]:
    """The caller's own tokens, revoked ones too, oldest first."""
    permit(platform, p, Permission.TOKEN_SELF)
    with platform.db.transaction() as s:
        rows = s.execute(
            select(ApiToken)
            .where(ApiToken.account_id == p.account_id)
            .order_by(ApiToken.created_at)
        ).scalars()
        return [TokenRow(t.id, t.name, t.expires_at, t.revoked_at) for t in rows]


def ssh_keys(platform: Platform, p: Principal) -> list[SshKeyRow]:
    """The caller's own live SSH keys."""
    permit(platform, p, Permission.TOKEN_SELF)
    with platform.db.transaction() as s:
        return [
            SshKeyRow(k.fingerprint, k.algorithm, k.label, k.created_at)
            for k in active_keys(s, p.account_id)
        ]
