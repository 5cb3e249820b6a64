"""Helpers shared by the CLI commands."""

from __future__ import annotations

import contextlib
import getpass
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from ecluse.cli.lazy import lazy
from ecluse.config import Settings, load_settings
from ecluse.errors import ValidationError

if TYPE_CHECKING:
    from ecluse.services import host
    from ecluse.services.host import Platform
else:
    host = lazy("ecluse.services.host")

err = Console(stderr=True)
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="TOML settings file.")]


def local_actor() -> str:
    """Who acts from this shell: the operating-system account with access to the home."""
    return f"local:{getpass.getuser()}"


def writable_directory(directory: Path) -> Path:
    """`directory`, if a command can write its files there; else refused before anything is
    done (a missing directory too: a mistyped path makes no new one)."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".ecluse-probe-", dir=directory)
    except OSError as e:
        raise ValidationError(
            f"cannot write into {directory} ({e.strerror or type(e).__name__}): "
            "nothing was done; choose another --output directory"
        ) from e
    os.close(fd)
    os.unlink(probe)
    return directory


def settings_from(config: Path | None) -> Settings:
    return load_settings(config_file=config)


@contextlib.contextmanager
def open_platform(config: Path | None) -> Iterator[Platform]:
    with host.open_platform(settings_from(config)) as platform:
        yield platform


def print_status(out: Console, platform: Platform) -> None:
    st = host.status(platform)
    table = Table(show_header=False, box=None)
    table.add_row("home", st.home)
    table.add_row("database", f"{st.database} (schema {st.schema})")
    table.add_row("key manager", st.keys.manager)
    for v in st.keys.versions:
        table.add_row(f"  KEK v{v.version}", f"{v.state} since {v.created_at:%Y-%m-%d}")
    table.add_row("signing key", st.keys.signing_key_id)
    table.add_row("store", ", ".join(f"{n} {state}" for state, n in st.blobs) or "empty")
    table.add_row(
        "audit", f"head seq {st.audit_head}, last signed checkpoint at seq {st.last_checkpoint}"
    )
    out.print(table)
