"""The person's login session on a remote server, kept between commands in a file of their
own: `$XDG_CONFIG_HOME/ecluse/session.json` (else `~/.config/…`), the directory 0700 and the
file 0600, refused when anyone else may read it (as OpenSSH does with a private key). It
holds the server's address, the session's bearer token and its expiry; `ecluse logout` ends
the session on the server and removes the file."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ecluse.errors import AuthenticationError, ConfigurationError

_PRIVATE = 0o077  # bits nobody but the owner may hold


@dataclass(frozen=True, slots=True)
class Saved:
    server: str
    token: str
    expires_at: datetime


def session_file(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_CONFIG_HOME") or str(Path(environ.get("HOME", "~")) / ".config")
    return Path(base).expanduser() / "ecluse" / "session.json"


def save(path: Path, saved: Saved) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.parent.chmod(0o700)
    body = {
        "server": saved.server,
        "token": saved.token,
        "expires_at": saved.expires_at.isoformat(),
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(f.fileno(), 0o600)
        json.dump(body, f)


def load(path: Path, server: str) -> Saved:
    """The session kept for `server`; refused if there is none, it expired, it names another
    server, or the file is readable by others."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as e:
        raise AuthenticationError(f"not logged in to {server}: run `ecluse login`") from e
    if stat.S_IMODE(mode) & _PRIVATE:
        raise ConfigurationError(
            f"{path} may be read by others (mode {stat.S_IMODE(mode):04o}): "
            "it is not used; remove it and log in again"
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        saved = Saved(raw["server"], raw["token"], datetime.fromisoformat(raw["expires_at"]))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ConfigurationError(f"{path} is not a session file: remove it, log in again") from e
    if saved.server != server:
        raise AuthenticationError(f"not logged in to {server}: run `ecluse login`")
    if saved.expires_at <= datetime.now(UTC):
        raise AuthenticationError("your session expired: run `ecluse login` again")
    return saved


def forget(path: Path) -> None:
    path.unlink(missing_ok=True)
