"""`ecluse audit`: verify, export, checkpoint, purge; grant the platform-auditor role.

Host-level commands: whoever runs them has the home. People audit over the HTTPS API
(`GET /v1/audit/export`: their organisation's slice, which `verify --export` checks)."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ecluse.acts import tenancy
from ecluse.audit import Action, VerifyReport
from ecluse.audit.export import export as export_trail
from ecluse.audit.export import verify_export
from ecluse.audit.records import verify_database
from ecluse.audit.retention import purge as purge_trail
from ecluse.cli.common import ConfigOpt, local_actor, open_platform
from ecluse.crypto.interfaces import key_id
from ecluse.errors import ValidationError

app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)
out = Console()


def _pinned(public_key: str | None) -> dict[str, bytes] | None:
    if public_key is None:
        return None
    try:
        raw = bytes.fromhex(public_key)
    except ValueError:
        raw = b""
    if len(raw) != 32:  # noqa: PLR2004 - an Ed25519 public key
        raise ValidationError("--public-key takes the 32-byte Ed25519 key in hex (64 digits)")
    return {key_id(raw): raw}


def _show(report: VerifyReport, as_json: bool) -> None:
    if as_json:
        out.print_json(json.dumps(asdict(report)))
    elif report.ok:
        out.print(
            f"[green]audit chain verified[/]: events {report.first_seq}..{report.last_seq} "
            f"({report.events}), {report.checkpoints} signed checkpoints, last at seq "
            f"{report.last_checkpoint_seq}"
        )
    else:
        out.print(f"[red]audit chain BROKEN at seq {report.broken_seq}[/]: {report.reason}")
    if not report.ok:
        raise typer.Exit(5)


@app.command()
def verify(
    config: ConfigOpt = None,
    export_file: Annotated[
        Path | None, typer.Option("--export", help="Verify this export instead of the database.")
    ] = None,
    public_key: Annotated[
        str | None,
        typer.Option(help="Trust only this Ed25519 public key (hex), e.g. from a printed record."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check every hash link and checkpoint signature; name the first broken sequence number."""
    if export_file is not None:
        _show(verify_export(export_file, pinned=_pinned(public_key)), as_json)
        return
    with open_platform(config) as platform:
        report = verify_database(platform.db.engine, pinned=_pinned(public_key))
        with platform.db.transaction() as s:
            platform.audit.append(
                s,
                actor=local_actor(),
                action=Action.AUDIT_VERIFY,
                details={"ok": report.ok, "broken_seq": report.broken_seq},
            )
    _show(report, as_json)


@app.command()
def export(
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File to write (default: stdout).")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Write the trail, its checkpoints and public keys as JSON lines."""
    with open_platform(config) as platform:
        with platform.db.transaction() as s:
            platform.audit.append(s, actor=local_actor(), action=Action.AUDIT_EXPORT)
            platform.audit.checkpoint(s)
        if output is None:
            n = export_trail(platform.db.engine, sys.stdout)
        else:
            with output.open("w", encoding="utf-8") as f:
                n = export_trail(platform.db.engine, f)
    Console(stderr=True).print(f"{n} events exported")


@app.command()
def checkpoint(config: ConfigOpt = None) -> None:
    """Sign the current head of the chain now."""
    with open_platform(config) as platform, platform.db.transaction() as s:
        cp = platform.audit.checkpoint(s)
    out.print(f"checkpoint at seq {cp.seq}" if cp else "head already signed")


@app.command()
def purge(config: ConfigOpt = None) -> None:
    """Remove events older than the retention period (audited, chain stays verifiable)."""
    with open_platform(config) as platform, platform.db.transaction() as s:
        r = purge_trail(
            s,
            platform.audit,
            actor=local_actor(),
            retention_days=platform.settings.audit_retention_days,
            now=datetime.now(UTC),
        )
    out.print(
        f"purged {r.removed} events older than {r.cutoff}"
        + (f" (through seq {r.through_seq})" if r.through_seq else "")
    )


@app.command("grant-platform-auditor")
def grant_platform_auditor(
    email: Annotated[str, typer.Argument(help="E-mail of a person of the platform organisation.")],
    config: ConfigOpt = None,
) -> None:
    """Let a person of the platform's organisation read every organisation's trail and reports
    (never health data). Only here, on the host; audited."""
    with open_platform(config) as platform:
        account = tenancy.grant_platform_auditor(platform, actor=local_actor(), email=email)
    out.print(f"account {account} is a platform auditor")


@app.command("withdraw-platform-auditor")
def withdraw_platform_auditor(
    email: Annotated[str, typer.Argument(help="E-mail of the platform auditor.")],
    config: ConfigOpt = None,
) -> None:
    """Withdraw the platform-auditor role (audited)."""
    with open_platform(config) as platform:
        account = tenancy.withdraw_platform_auditor(platform, actor=local_actor(), email=email)
    out.print(f"account {account} is no longer a platform auditor")
