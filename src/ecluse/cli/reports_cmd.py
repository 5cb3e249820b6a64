"""`ecluse report`: the migration report (HTML and JSON), the controller's sign-off, and the
supervision report."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from ecluse.cli.common import ConfigOpt, open_platform, writable_directory
from ecluse.cli.identity_cmd import login
from ecluse.cli.lazy import lazy
from ecluse.cli.step_up import CodeOpt, step_up_code
from ecluse.errors import StorageError
from ecluse.kinds import Permission

if TYPE_CHECKING:
    from ecluse.services import reports as acts
else:
    acts = lazy("ecluse.services.reports")

reports = typer.Typer(help="Migration reports and the controller's sign-off.", no_args_is_help=True)
out = Console()


def _write(path: Path, data: bytes) -> None:
    """Replace `path` atomically; 0600, as reports name people."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    tmp.replace(path)


def _files(directory: Path, report: dict[str, Any], signed: str | None) -> list[Path]:
    iid = report["instruction"]["id"]
    written = [directory / f"migration-{iid}.json", directory / f"migration-{iid}.html"]
    _write(written[0], json.dumps(report, indent=2, ensure_ascii=False).encode())
    _write(written[1], acts.render(report).encode())
    if signed is not None:  # the exact bytes the dpo signed
        written.append(directory / f"migration-{iid}.signed.json")
        _write(written[2], signed.encode())
    return written


def _files_after_sign_off(
    directory: Path, report: dict[str, Any], signed: str | None, instruction_id: str
) -> list[Path]:
    """The report files of a sign-off already committed: a failure says so, and how to get
    them again."""
    try:
        return _files(directory, report, signed)
    except OSError as e:
        raise StorageError(
            f"the sign-off of migration {instruction_id} is committed (the migration is "
            f"closed), but writing its report files into {directory} failed "
            f"({e.strerror or type(e).__name__}). Write them again with "
            f"`ecluse report migration {instruction_id} -o DIR`."
        ) from e


@reports.command("migration")
def migration_cmd(
    instruction_id: Annotated[str, typer.Argument(help="Instruction id of the migration.")],
    directory: Annotated[Path, typer.Option("--output", "-o", help="Directory.")] = Path("."),
    config: ConfigOpt = None,
) -> None:
    """Write the migration's report as HTML and JSON (the controller's dpo, auditors)."""
    writable_directory(directory)
    with open_platform(config) as platform:
        p = login(platform, Permission.REPORT_READ)
        m = acts.migration(platform, p, instruction_id)
    for path in _files(directory, m.report, m.signed):
        out.print(str(path))


@reports.command("supervision")
def supervision_cmd(
    since: Annotated[
        datetime, typer.Option(formats=["%Y-%m-%d"], help="First day covered (YYYY-MM-DD).")
    ],
    directory: Annotated[Path, typer.Option("--output", "-o", help="Directory.")] = Path("."),
    config: ConfigOpt = None,
) -> None:
    """Write the supervision report (HTML and JSON): transfers, alerts and their handling
    times, open security reports, key ages (a controller's dpo or auditor)."""
    with open_platform(config) as platform:
        p = login(platform, Permission.REPORT_READ)
        report = acts.supervision(platform, p, since=since.replace(tzinfo=UTC))
    stem = directory / f"supervision-{since:%Y-%m-%d}"
    _write(stem.with_suffix(".json"), json.dumps(report, indent=2, ensure_ascii=False).encode())
    _write(stem.with_suffix(".html"), acts.render_supervision(report).encode())
    out.print(str(stem.with_suffix(".html")))


@reports.command("sign-off")
def sign_off_cmd(
    instruction_id: Annotated[str, typer.Argument(help="Instruction id of the migration.")],
    comment: Annotated[str, typer.Option(help="What you checked, in writing.")],
    directory: Annotated[Path, typer.Option("--output", "-o", help="Directory.")] = Path("."),
    code: CodeOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Sign off and close the migration (a dpo of the controller, once nothing is left, with a
    fresh code of your app)."""
    writable_directory(directory)  # before committing: a sign-off is not undone
    with open_platform(config) as platform:
        p = login(platform, Permission.REPORT_SIGN_OFF)
        typed = step_up_code(code)
        m = acts.sign_off(platform, p, instruction_id, comment=comment, code=typed)
    out.print(f"[green]migration {instruction_id} signed off and closed[/]")
    for path in _files_after_sign_off(directory, m.report, m.signed, instruction_id):
        out.print(str(path))
