"""People's commands from another machine: when `ECLUSE_SERVER` names a server, a command
calls its HTTPS API (`ecluse.client`) instead of this machine's services, authenticated by
the session `ecluse login` kept (or by `ECLUSE_TOKEN`). The host's own verbs (init, status,
keys, serve…) never take this path."""

from __future__ import annotations

import os
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ecluse.cli.lazy import lazy

if TYPE_CHECKING:
    from ecluse.client import api, connection, session
else:
    api = lazy("ecluse.client.api")
    connection = lazy("ecluse.client.connection")
    session = lazy("ecluse.client.session")


def server() -> connection.Server | None:
    """The remote server this shell talks to, or None on the host."""
    return connection.server_from(os.environ)


def client(where: connection.Server) -> api.Api:
    """The API of `where`, as the person this shell acts for."""
    token = (
        os.environ.get("ECLUSE_TOKEN")
        or session.load(session.session_file(os.environ), where.url).token
    )
    return api.Api(where, token)


def fetched(path: str) -> Any:
    """The JSON answer of `GET path` on the remote server; None on the host."""
    where = server()
    if where is None:
        return None
    with client(where) as a:
        return a.call("GET", path)


def log_in(where: connection.Server, *, email: str, password: str, code: str | None) -> Any:
    """Open a session on `where` and keep it in the person's session file; its summary."""
    with api.Api(where) as anonymous:
        got = anonymous.call(
            "POST", "/session", json={"email": email, "password": password, "code": code}
        )
    path = session.session_file(os.environ)
    expires = datetime.fromisoformat(got["expires_at"])
    session.save(path, session.Saved(where.url, got["session"], expires))
    return {**got, "kept_in": str(path)}


def log_out(where: connection.Server) -> None:
    """End the session on the server, and forget it here."""
    with client(where) as a:
        a.call("DELETE", "/session")
    session.forget(session.session_file(os.environ))
