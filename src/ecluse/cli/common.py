"""Helpers shared by the CLI commands."""

from __future__ import annotations

import contextlib
import getpass
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from ecluse.config import Settings, load_settings
from ecluse.db import current_revision, safe_url
from ecluse.db.models import AuditCheckpoint, AuditEvent, Blob
from ecluse.platform import Platform

err = Console(stderr=True)
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="TOML settings file.")]


def local_actor() -> str:
    """Who acts from this shell: the operating-system account with access to the home."""
    return f"local:{getpass.getuser()}"


def settings_from(config: Path | None) -> Settings:
    return load_settings(config_file=config)


@contextlib.contextmanager
def open_platform(config: Path | None) -> Iterator[Platform]:
    platform = Platform.open(settings_from(config))
    try:
        yield platform
    finally:
        platform.close()


def print_status(out: Console, platform: Platform) -> None:
    s = platform.settings
    table = Table(show_header=False, box=None)
    table.add_row("home", str(s.home.resolve()))
    table.add_row(
        "database",
        f"{safe_url(s.resolved_database_url)} (schema {current_revision(platform.db.engine)})",
    )
    table.add_row("key manager", platform.keys.name)
    for v in platform.keys.versions():
        table.add_row(f"  KEK v{v.version}", f"{v.state} since {v.created_at:%Y-%m-%d}")
    signer = platform.keys.signer()
    table.add_row("signing key", signer.key_id)
    with platform.db.transaction() as session:
        blobs = session.execute(select(Blob.state, func.count()).group_by(Blob.state)).all()
        head = session.execute(select(func.max(AuditEvent.seq))).scalar()
        cp = session.execute(select(func.max(AuditCheckpoint.seq))).scalar()
    table.add_row("store", ", ".join(f"{n} {state}" for state, n in blobs) or "empty")
    table.add_row("audit", f"head seq {head}, last signed checkpoint at seq {cp}")
    out.print(table)
