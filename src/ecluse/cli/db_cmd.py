"""`ecluse db`: schema migrations."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.console import Console

from ecluse.cli.common import ConfigOpt, settings_from
from ecluse.cli.lazy import lazy

if TYPE_CHECKING:
    from ecluse.services import host
else:
    host = lazy("ecluse.services.host")

app = typer.Typer(help="Database schema: show, upgrade.", no_args_is_help=True)
out = Console()


@app.command()
def upgrade(config: ConfigOpt = None) -> None:
    """Apply pending migrations (run once per release, from one node)."""
    before, after = host.schema_upgrade(settings_from(config))
    out.print(f"schema {before} -> {after}")


@app.command()
def revision(config: ConfigOpt = None) -> None:
    """Show the database's schema revision and the one this version expects."""
    current, expected = host.schema_revision(settings_from(config))
    out.print(f"database: {current}, expected: {expected}")
