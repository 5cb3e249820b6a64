"""Who connects over SSH: a registered public key of a named person, or their password and
TOTP code by keyboard-interactive. No password-only method, no shell, no forwarding.

A key gives health data only when it was added by a principal that had passed a second factor
(fixed on the key when added, as for an API token); a password login only when the code was
given. Each refusal is audited with the address and the key's fingerprint, never a password
or code; the user name as the account's id, or its keyed digest when it names no account.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncssh
from sqlalchemy import select

from ecluse.access import unauthenticated
from ecluse.acts import identity as acts
from ecluse.acts.typed import typed_identifier
from ecluse.audit import Action
from ecluse.db.models import Account, Credential, SshKey
from ecluse.errors import AuthenticationError
from ecluse.identity import Principal
from ecluse.identity.accounts import usable
from ecluse.identity.lifecycle import SSH_PASSWORD_LOGIN
from ecluse.identity.permissions import HEALTH_DATA, permissions_of
from ecluse.identity.tokens import principal_of
from ecluse.platform import Platform

CHANNEL = "sftp"
NO_SECOND_FACTOR = (
    "Ecluse: this login has no second factor, so your inbox and outbox (health data) stay\r\n"
    "hidden and the tree you see is empty. Turn TOTP on (`ecluse totp enable`, then\r\n"
    "`ecluse totp confirm`), then log in with your password and the code of your\r\n"
    "authenticator app, or with a key added from a session opened with that code\r\n"
    "(a key added before carries no second factor).\r\n"
)
log = logging.getLogger("ecluse.sftp")


def _log_failure(done: asyncio.Future[None]) -> None:
    if not done.cancelled() and done.exception() is not None:
        log.error("recording an SSH login failed (%s)", type(done.exception()).__name__)


class Gatekeeper(asyncssh.SSHServer):
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.principal: Principal | None = None
        self.address = "unknown"
        self._key: str | None = None  # the fingerprint of the key that logged in
        self._conn: asyncssh.SSHServerConnection | None = None
        self._told = False

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        peer = conn.get_extra_info("peername")
        self.address = str(peer[0]) if peer else "unknown"

    def begin_auth(self, username: str) -> bool:
        return True  # always authenticate

    def password_auth_supported(self) -> bool:
        return False  # a password comes with its code, by keyboard-interactive

    def public_key_auth_supported(self) -> bool:
        return True

    def kbdint_auth_supported(self) -> bool:
        return True

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    async def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        fingerprint = key.get_fingerprint("sha256")
        principal = await self._run(self._by_key, username, fingerprint)
        if principal is None:
            await self._run(self._refused, username, "public key", fingerprint)
            return False
        self.principal, self._key = principal, fingerprint
        self._explain(principal)
        return True

    def _explain(self, principal: Principal) -> None:
        """Why the tree will be empty, shown by the client before the session starts (an
        SSH authentication banner: OpenSSH's clients print it)."""
        held_back = (permissions_of(principal.roles) & HEALTH_DATA) - principal.permissions
        if held_back and not self._told and self._conn is not None:
            self._conn.send_auth_banner(NO_SECOND_FACTOR)
            self._told = True

    def auth_completed(self) -> None:
        """A key login is recorded once proven (a password login records itself)."""
        if self._key is None or self.principal is None:
            return
        done = asyncio.get_running_loop().run_in_executor(None, self._opened, self.principal)
        done.add_done_callback(_log_failure)

    def _opened(self, principal: Principal) -> None:
        with self.platform.db.transaction() as s:
            self.platform.audit.append(
                s,
                actor=principal.actor,
                action=Action.SESSION_OPEN,
                refs={"account": principal.account_id, "session": "none"},
                details={"via": CHANNEL, "address": self.address[:64], "key": self._key or ""},
            )

    def _by_key(self, username: str, fingerprint: str) -> Principal | None:
        now = datetime.now(UTC)
        with self.platform.db.transaction() as s:
            row = s.execute(
                select(SshKey).where(SshKey.fingerprint == fingerprint, SshKey.revoked_at.is_(None))
            ).scalar_one_or_none()
            account = s.get(Account, row.account_id) if row else None
            if row is None or account is None or account.email != username.strip().lower():
                return None
            credential = s.get(Credential, account.id)
            if not usable(s, account, now) or (credential and credential.locked_at):
                return None
            return principal_of(
                s,
                account,
                credential_id=fingerprint[:60],
                via="ssh",
                second_factor=row.second_factor,
            )

    def get_kbdint_challenge(
        self, username: str, lang: str, submethods: str
    ) -> tuple[str, str, str, list[tuple[str, bool]]]:
        return (
            "Écluse",
            "Your password, then the code of your authenticator app.",
            "",
            [("Password: ", False), ("Code: ", False)],
        )

    async def validate_kbdint_response(self, username: str, responses: Sequence[str]) -> bool:
        password_and_code = 2
        if len(responses) != password_and_code:
            return False
        try:
            done = await self._run(self._log_in, username, responses[0], responses[1])
        except AuthenticationError:
            return False  # audited by the login itself
        self.principal, self._key = done, None
        self._explain(done)
        return True

    def _log_in(self, username: str, password: str, code: str) -> Principal:
        done = acts.log_in(
            self.platform,
            email=username,
            password=password,
            code=code or None,
            address=self.address,
            channel=CHANNEL,
            open_new_session=False,
        )
        with self.platform.db.transaction() as s:
            account = s.get(Account, done.account_id)
            if account is None:
                raise AuthenticationError("login refused")
            return principal_of(
                s,
                account,
                credential_id=SSH_PASSWORD_LOGIN,
                via="ssh",
                second_factor=done.second_factor,
            )

    def _refused(self, username: str, method: str, fingerprint: str) -> None:
        with self.platform.db.transaction() as s:
            typed = typed_identifier(self.platform, s, username)
            self.platform.audit.append(
                s,
                actor=unauthenticated(CHANNEL),
                action=Action.AUTH_REFUSED,
                refs={"key": fingerprint[:60], **typed.refs},
                details={"method": method, "address": self.address[:64], **typed.details},
            )
