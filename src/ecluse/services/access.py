"""The one gate every channel (CLI, HTTPS, SFTP) goes through: who is calling, whether they
may do what they ask, and the audit of every refusal. The credential's secret never is.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import timedelta

from ecluse.audit import Action
from ecluse.errors import AuthenticationError, EcluseError, PolicyViolation
from ecluse.identity import Permission, Principal, authenticate, require
from ecluse.identity.sessions import authenticate_session, is_session_token, session_id_of
from ecluse.identity.tokens import token_id_of
from ecluse.instance.platform import Platform


def unauthenticated(channel: str) -> str:
    """The audit trail's name for a caller nobody has identified yet."""
    return f"unauthenticated:{channel}"


def identify(platform: Platform, credential: str, *, channel: str) -> Principal:
    """The principal behind an API token or a login session; audit a refusal."""
    idle = timedelta(minutes=platform.settings.session_idle_minutes)
    try:
        with platform.db.transaction() as s:
            if is_session_token(credential):
                return authenticate_session(s, credential, idle=idle)
            return authenticate(s, credential)
    except AuthenticationError:
        session = is_session_token(credential)
        ref = session_id_of(credential) if session else token_id_of(credential)
        with platform.db.transaction() as s:
            platform.audit.append(
                s,
                actor=unauthenticated(channel),
                action=Action.AUTH_REFUSED,
                refs={
                    "session" if session else "token": ref if ref and ref.isalnum() else "malformed"
                },
            )
        raise


def permit(platform: Platform, principal: Principal, needed: Permission) -> Principal:
    """`principal` if it holds `needed`; else audit and refuse (deny by default)."""
    try:
        require(principal.permissions, needed)
    except PolicyViolation:
        with platform.db.transaction() as s:
            platform.audit.append(
                s,
                actor=principal.actor,
                action=Action.PERMISSION_DENIED,
                refs={"token": principal.token_id},
                details={"permission": needed.value, "via": principal.via},
            )
        raise
    return principal


def _is_id(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@contextlib.contextmanager
def refusals_audited(
    platform: Platform, principal: Principal, command: str, **refs: str
) -> Iterator[None]:
    """A request refused inside (bad input, wrong state, wrong party) is audited, with the
    error's type and never its text, in a transaction of its own; then raised."""
    try:
        yield
    except EcluseError as e:
        ids = {k: v if _is_id(v) else "not an id" for k, v in refs.items()}  # typed by a user
        with platform.db.transaction() as s:
            platform.audit.append(
                s,
                actor=principal.actor,
                action=Action.REQUEST_REFUSED,
                refs={"command": command, **ids},
                details={"reason": type(e).__name__},
            )
        raise
