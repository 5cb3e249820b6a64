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
from typing import Any

import asyncssh

from ecluse.errors import AuthenticationError
from ecluse.services import ssh
from ecluse.services.vocabulary import Platform, Principal

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
        principal = await self._run(ssh.by_key, self.platform, username, fingerprint)
        if principal is None:
            await self._run(self._refused, username, "public key", fingerprint)
            return False
        self.principal, self._key = principal, fingerprint
        self._explain(principal)
        return True

    def _explain(self, principal: Principal) -> None:
        """Why the tree will be empty, shown by the client before the session starts (an
        SSH authentication banner: OpenSSH's clients print it)."""
        if ssh.holds_back_health_data(principal) and not self._told and self._conn is not None:
            self._conn.send_auth_banner(NO_SECOND_FACTOR)
            self._told = True

    def auth_completed(self) -> None:
        """A key login is recorded once proven (a password login records itself)."""
        if self._key is None or self.principal is None:
            return
        done = asyncio.get_running_loop().run_in_executor(None, self._opened, self.principal)
        done.add_done_callback(_log_failure)

    def _opened(self, principal: Principal) -> None:
        ssh.key_opened(self.platform, principal, address=self.address, fingerprint=self._key or "")

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
        return ssh.by_password(self.platform, username, password, code, address=self.address)

    def _refused(self, username: str, method: str, fingerprint: str) -> None:
        ssh.refused(
            self.platform, username, method=method, fingerprint=fingerprint, address=self.address
        )
