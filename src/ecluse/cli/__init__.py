"""The `ecluse` command line (Typer). Commands only call services; errors become a clear
message on stderr and a non-zero exit, never a traceback with data in it.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, BinaryIO

import typer
from rich.console import Console

from ecluse.cli import (
    approvals_cmd,  # noqa: F401 - registers its commands on `accounts` and `orgs`
    audit_cmd,
    credentials_cmd,
    db_cmd,
    demo_cmd,
    governance_cmd,
    identity_cmd,
    keys_cmd,
    packages_cmd,
    reports_cmd,
    supervision_cmd,
)
from ecluse.cli.common import (
    ConfigOpt,
    err,
    local_actor,
    open_platform,
    print_status,
    settings_from,
)
from ecluse.cli.lazy import lazy
from ecluse.errors import EcluseError, ValidationError

if TYPE_CHECKING:
    from ecluse.services import host
else:
    host = lazy("ecluse.services.host")

app = typer.Typer(
    help="Écluse: governed, encrypted, self-deleting transfers of lab data.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(keys_cmd.app, name="keys")
app.add_typer(audit_cmd.app, name="audit")
app.add_typer(db_cmd.app, name="db")
app.add_typer(identity_cmd.orgs, name="orgs")
app.add_typer(identity_cmd.accounts, name="accounts")
app.add_typer(identity_cmd.tokens, name="tokens")
app.add_typer(governance_cmd.agreements, name="agreements")
app.add_typer(governance_cmd.instructions, name="instructions")
app.add_typer(packages_cmd.packages, name="packages")
app.add_typer(packages_cmd.keys, name="recipient-keys")
app.add_typer(reports_cmd.reports, name="report")
app.add_typer(credentials_cmd.password, name="password")
app.add_typer(credentials_cmd.totp, name="totp")
app.add_typer(credentials_cmd.ssh_keys, name="ssh-keys")
app.add_typer(supervision_cmd.alerts, name="alerts")
app.add_typer(supervision_cmd.concerns, name="security-report")
app.command("supervise")(supervision_cmd.supervise)
app.command("trace")(supervision_cmd.trace_cmd)
app.command("extract")(packages_cmd.extract_cmd)
app.command("demo")(demo_cmd.demo)
app.command("enrol")(identity_cmd.enrol_cmd)
app.command("whoami")(identity_cmd.whoami)
app.command("login")(credentials_cmd.login_cmd)
app.command("logout")(credentials_cmd.logout_cmd)
out = Console()


@app.command()
def init(
    admin_email: Annotated[str, typer.Option(help="E-mail of the first administrator.")],
    admin_name: Annotated[str, typer.Option(help="First and last name of the administrator.")],
    config: ConfigOpt = None,
) -> None:
    """Create a fresh instance: home (0700), keys, database schema, first admin account."""
    settings = settings_from(config)
    result = host.init_instance(settings, admin_email=admin_email, admin_name=admin_name)
    out.print(
        f"[green]Instance created[/] in {settings.home} "
        f"(key manager: {result.key_manager}, signing key {result.signing_key_id})."
    )
    out.print(f"Administrator {result.admin_email}: one-time enrolment code, shown once:")
    out.print(f"  [bold]{result.enrolment_code}[/]")


@app.command("selfcheck")
def selfcheck_cmd(config: ConfigOpt = None) -> None:
    """Store, read back and shred 8 MiB of random bytes, then verify the audit chain."""
    with open_platform(config) as platform:
        r = host.selfcheck(platform, actor=local_actor())
    out.print(
        f"store: {r.stored_bytes >> 20} MiB encrypted in {r.encrypt_seconds:.3f} s, "
        f"decrypted in {r.decrypt_seconds:.3f} s, shredded: {r.shredded}"
    )
    out.print(f"audit: {r.audit_events} events, chain {'verified' if r.audit_ok else 'BROKEN'}")
    if not (r.shredded and r.audit_ok):
        raise typer.Exit(5)


@app.command()
def synth(
    output: Annotated[
        Path, typer.Option("-o", "--output", help="CSV file to write, - for stdout.")
    ],
    patients: Annotated[int, typer.Option(min=1, help="Number of patients.")] = 500_000,
    labs: Annotated[int, typer.Option(min=1, help="Number of laboratories.")] = 28,
    seed: Annotated[int, typer.Option(help="Same seed, same file.")] = 1,
    encoding: Annotated[str, typer.Option(help="utf-8 or latin-1.")] = "utf-8",
) -> None:
    """Write a synthetic export shaped like the leaked file (invented people, real shape)."""
    if encoding not in {"utf-8", "latin-1"}:
        raise ValidationError("--encoding is utf-8 or latin-1")

    def write(f: BinaryIO) -> None:
        host.write_synthetic(f, patients=patients, labs=labs, seed=seed, encoding=encoding)

    if str(output) == "-":
        write(sys.stdout.buffer)
        return
    try:
        f = output.open("xb")  # never overwrite: a wrong -o must not destroy a file
    except FileExistsError as e:
        raise ValidationError(f"{output} exists; refusing to overwrite it") from e
    with f:
        write(f)
    Console(stderr=True).print(
        f"{patients} synthetic patients from {labs} laboratories written to {output} ({encoding})"
    )


@app.command()
def worker(
    once: Annotated[bool, typer.Option(help="One sweep, then exit.")] = False,
    interval: Annotated[float, typer.Option(min=1, help="Seconds between sweeps.")] = 30.0,
    config: ConfigOpt = None,
) -> None:
    """Shred what has expired and sign the audit tail on time; catches up on start."""
    with open_platform(config) as platform:
        if once:
            r = host.sweep_once(platform)
            out.print(
                f"packages shredded: {r.deadlines_missed} past their deadline (alerted), "
                f"{r.retentions_ended} after retention; {r.shredded} expired objects shredded; "
                f"{r.abandoned} abandoned extractions cleaned up, {r.resumed} extracted again; "
                f"checkpoint: {r.checkpoint_seq if r.checkpoint_seq is not None else 'not due'}"
            )
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        out.print(f"worker sweeping every {interval:g} s; stop with SIGTERM or Ctrl-C")
        sweeps = host.run_worker(platform, interval=interval, stop=stop)
    out.print(f"worker stopped after {sweeps} sweeps")


@app.command()
def serve(
    interval: Annotated[float, typer.Option(min=1, help="Seconds between worker sweeps.")] = 30.0,
    config: ConfigOpt = None,
) -> None:
    """Run the HTTPS API, the SFTP server and the worker until SIGTERM or Ctrl-C."""
    from ecluse.server.run import Endpoints, run_servers  # noqa: PLC0415 - only serve needs it

    def ready(e: Endpoints) -> None:
        out.print(
            f"HTTPS  {e.https}  (TLS certificate SHA-256 {e.tls_fingerprint})", soft_wrap=True
        )
        out.print(f"SFTP   {e.sftp}  (host key {e.ssh_fingerprint})", soft_wrap=True)
        out.print("ready; stop with Ctrl-C", soft_wrap=True)

    with open_platform(config) as platform:
        run_servers(platform, worker_interval=interval, ready=ready)


@app.command()
def status(config: ConfigOpt = None) -> None:
    """Show the instance: database, key manager and key versions, store, audit head."""
    with open_platform(config) as platform:
        print_status(out, platform)


def main() -> None:
    os.umask(0o077)  # every file Écluse creates is private to its account
    try:
        app()
    except EcluseError as e:
        err.print(f"[red]error:[/] {e.diagnostics()}")
        sys.exit(e.exit_code)
    except Exception as e:
        # Unexpected: print the type only; a traceback may quote SQL parameters or data.
        if os.environ.get("ECLUSE_DEBUG") == "1":
            raise
        err.print(
            f"[red]internal error[/] ({type(e).__name__}); the change in progress was rolled back. "
            "Re-run with ECLUSE_DEBUG=1 on a test instance for details."
        )
        sys.exit(70)
