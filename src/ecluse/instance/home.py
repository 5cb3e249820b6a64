"""The instance's home directory: `db/`, `store/` and `keys/` kept apart, all mode 0700."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ecluse.config import Settings
from ecluse.errors import ConfigurationError

SUBDIRS = ("db", "store", "keys")


def create_home(settings: Settings) -> list[Path]:
    """Create the home and its subdirectories 0700; return those that did not exist before."""
    created = []
    for path in (settings.home, *(settings.home / d for d in SUBDIRS)):
        if not path.exists():
            path.mkdir(mode=0o700)
            created.append(path)
        os.chmod(path, 0o700)
    return created


def check_home(settings: Settings) -> None:
    """Refuse to run on a missing home or one that others can read or enter."""
    if not settings.home.is_dir():
        raise ConfigurationError(
            f"home directory {settings.home} does not exist: run `ecluse init` first"
        )
    for path in (settings.home, *(settings.home / d for d in SUBDIRS)):
        if not path.is_dir():
            raise ConfigurationError(f"{path} is missing: the home directory is incomplete")
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise ConfigurationError(
                f"{path} has loose permissions ({mode:04o}); Écluse needs 0700: chmod 700 {path}"
            )
