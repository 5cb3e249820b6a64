"""`ecluse db`: schema migrations."""

from __future__ import annotations

import typer
from rich.console import Console

from ecluse.cli.common import ConfigOpt, settings_from
from ecluse.db import current_revision, head_revision, migrate
from ecluse.home import check_home
from ecluse.platform import open_database

app = typer.Typer(help="Database schema: show, upgrade.", no_args_is_help=True)
out = Console()


@app.command()
def upgrade(config: ConfigOpt = None) -> None:
    """Apply pending migrations (run once per release, from one node)."""
    settings = settings_from(config)
    check_home(settings)
    db = open_database(settings)
    try:
        before = current_revision(db.engine)
        migrate(db.engine)
        out.print(f"schema {before} -> {current_revision(db.engine)}")
    finally:
        db.dispose()


@app.command()
def revision(config: ConfigOpt = None) -> None:
    """Show the database's schema revision and the one this version expects."""
    settings = settings_from(config)
    check_home(settings)
    db = open_database(settings)
    try:
        out.print(f"database: {current_revision(db.engine)}, expected: {head_revision()}")
    finally:
        db.dispose()
