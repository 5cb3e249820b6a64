"""`ecluse audit`: verify (the chain, and the database against its witnesses), export,
checkpoint, purge, witness-start; grant the platform-auditor role.

Host-level commands: whoever runs them has the home. People audit over the HTTPS API
(`GET /v1/audit/export`: their organisation's slice, which `verify --export` checks)."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from ecluse.cli.common import ConfigOpt, local_actor, open_platform, settings_from
from ecluse.cli.lazy import lazy

if TYPE_CHECKING:
    from ecluse.services import host, tenancy, trail
    from ecluse.services.trail import VerifyReport, WitnessFinding
else:
    host = lazy("ecluse.services.host")
    tenancy = lazy("ecluse.services.tenancy")
    trail = lazy("ecluse.services.trail")

app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)
out = Console()


def _show(
    report: VerifyReport,
    as_json: bool,
    findings: list[WitnessFinding] | None = None,
    refused: str | None = None,
) -> None:
    findings = findings or []
    ok = report.ok and all(f.ok for f in findings) and refused is None
    if as_json:
        doc = asdict(report) | {
            "ok": ok,
            "chain_ok": report.ok,
            "witnesses": [asdict(f) for f in findings],
            "refused": refused,
        }
        out.print_json(json.dumps(doc))
    else:
        _print_text(report, findings, refused)
    if not ok:
        raise typer.Exit(5)


def _print_text(report: VerifyReport, findings: list[WitnessFinding], refused: str | None) -> None:
    if report.ok:
        out.print(
            f"[green]audit chain verified[/]: events {report.first_seq}..{report.last_seq} "
            f"({report.events}), {report.checkpoints} signed checkpoints, last at seq "
            f"{report.last_checkpoint_seq}"
        )
    else:
        out.print(f"[red]audit chain BROKEN at seq {report.broken_seq}[/]: {report.reason}")
    for f in findings:
        if f.ok:
            out.print(
                f"[green]witness agrees[/]: {f.witness} ({f.checkpoints} checkpoints, last at "
                f"seq {f.last_seq})" + "".join(f"; {n}" for n in f.notes)
            )
        for problem in f.problems:
            out.print(f"[red]witness {f.witness} DISAGREES[/]: {problem}")
    if refused:
        out.print(f"[red]this verification could not be audited[/]: {refused}")


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
    witness: Annotated[
        list[Path] | None,
        typer.Option(
            "--witness",
            help="Also check against this file: a copy of a witness log, or what the syslog or "
            "webhook sink received (one message a line). Repeatable.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check every hash link and checkpoint signature, then the database against its witness
    log and every `--witness` file; name the first broken seq and any missing range."""
    pinned = trail.pinned_key(public_key)
    if export_file is not None:
        _show(trail.verify_export(export_file, pinned=pinned), as_json)
        return
    with open_platform(config) as platform:
        v = trail.verify(platform, actor=local_actor(), captures=witness or [], pinned=pinned)
    _show(v.report, as_json, v.findings, v.refused)


@app.command()
def export(
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File to write (default: stdout).")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Write the trail, its checkpoints and public keys as JSON lines."""
    with open_platform(config) as platform:
        if output is None:
            n = trail.export(platform, actor=local_actor(), out=sys.stdout)
        else:
            with output.open("w", encoding="utf-8") as f:
                n = trail.export(platform, actor=local_actor(), out=f)
    Console(stderr=True).print(f"{n} events exported")


def _published(published: int) -> None:
    if published < 0:
        out.print("[red]the audit witness could not be written[/] (see the log)")
        raise typer.Exit(5)


@app.command()
def checkpoint(config: ConfigOpt = None) -> None:
    """Sign the current head of the chain now."""
    with open_platform(config) as platform:
        seq, published = trail.checkpoint(platform)
    out.print(f"checkpoint at seq {seq}" if seq is not None else "head already signed")
    _published(published)
    if published:
        out.print(f"{published} checkpoints published to the witness")


@app.command()
def purge(config: ConfigOpt = None) -> None:
    """Remove events older than the retention period (audited, chain stays verifiable)."""
    with open_platform(config) as platform:
        r = trail.purge(platform, actor=local_actor())
    out.print(
        f"purged {r.removed} events older than {r.cutoff}"
        + (f" (through seq {r.through_seq})" if r.through_seq else "")
    )


@app.command("witness-start")
def witness_start(config: ConfigOpt = None) -> None:
    """Start the witness log of an instance that has none (one made before witnesses, or
    after a database restore, the old witness kept aside), and publish every checkpoint."""
    settings = settings_from(config)
    with host.open_platform(settings, start_witness=True) as platform:
        published = trail.start_witness(platform, actor=local_actor())
    _published(published)
    out.print(f"witness {settings.witness_dir}: {published} checkpoints published")


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
