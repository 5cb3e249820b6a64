"""`ecluse alerts`, `ecluse security-report` and `ecluse supervise`: answering alerts with a
written reason, naming who receives them, filing and reading staff security reports, and
running the detectors and sinks on their own."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from ecluse.cli.common import ConfigOpt, local_actor, open_platform
from ecluse.cli.identity_cmd import login
from ecluse.cli.lazy import lazy
from ecluse.cli.listing import Col, JsonOpt, show
from ecluse.kinds import AlertState, Permission

if TYPE_CHECKING:
    from ecluse.services import host
    from ecluse.services import supervision as acts
else:
    host = lazy("ecluse.services.host")
    acts = lazy("ecluse.services.supervision")

alerts = typer.Typer(
    help="Alerts to answer: list, show, acknowledge, resolve.", no_args_is_help=True
)
concerns = typer.Typer(
    help="Staff security reports: file one (anonymously if you wish), list, read.",
    no_args_is_help=True,
)
out = Console()
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why (written; names no patient).")]


@alerts.command("list")
def list_cmd(
    resolved: Annotated[bool, typer.Option(help="Include resolved alerts.")] = False,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """The alerts you may see, newest first."""
    with open_platform(config) as platform:
        p = login(platform, Permission.ALERT_READ)
        rows = acts.list_alerts(platform, p, include_resolved=resolved)
    columns = [
        Col("id", "alert", whole=True),
        Col("kind", "kind"),
        Col("severity", "severity"),
        Col("state", "state"),
        Col("occurrences", "seen"),
        Col("level", "level"),
        Col("created_at", "since", minutes=True),
    ]
    show(out, rows, columns, as_json=as_json, empty="no alert")


@alerts.command("show")
def show_cmd(alert_id: str, config: ConfigOpt = None) -> None:
    """One alert, with what it is about and every change made to it."""
    with open_platform(config) as platform:
        p = login(platform, Permission.ALERT_READ)
        a = acts.show_alert(platform, p, alert_id)
    out.print(f"{a.id}  {a.kind}  {a.severity}  {a.state}  level {a.level}  x{a.occurrences}")
    for k, v in sorted({**a.refs, **a.details}.items()):
        out.print(f"  {k}: {v}")
    for c in a.changes:
        out.print(f"  {c['at']}  {c['from']} → {c['to']}  by {c['by']}: {c['reason']}")


def _change(alert_id: str, to_state: str, reason: str, config: ConfigOpt) -> None:
    with open_platform(config) as platform:
        p = login(platform, Permission.ALERT_HANDLE)
        done = acts.change_alert(platform, p, alert_id, to_state=to_state, reason=reason)
    out.print(f"alert {done.alert_id}: {done.from_state} → {done.to_state}")


@alerts.command("ack")
def ack_cmd(alert_id: str, reason: ReasonOpt, config: ConfigOpt = None) -> None:
    """Acknowledge: you are on it (stops the escalation)."""
    _change(alert_id, AlertState.ACKNOWLEDGED, reason, config)


@alerts.command("resolve")
def resolve_cmd(alert_id: str, reason: ReasonOpt, config: ConfigOpt = None) -> None:
    """Resolve, with what was found and done."""
    _change(alert_id, AlertState.RESOLVED, reason, config)


@alerts.command("contact")
def contact_cmd(
    organisation: Annotated[str, typer.Option(help="Organisation id.")],
    email: Annotated[str, typer.Option(help="The contact's e-mail (an active person).")],
    level: Annotated[int, typer.Option(min=1, max=2, help="1: first contact, 2: second.")] = 1,
    config: ConfigOpt = None,
) -> None:
    """Name who an organisation's alerts reach first, or when the first does not answer."""
    with open_platform(config) as platform:
        p = login(platform, Permission.ALERT_HANDLE)
        acts.set_contact(platform, p, organisation_id=organisation, level=level, email=email)
    out.print(f"level {level} contact set")


@concerns.command("file")
def file_cmd(
    subject: Annotated[str, typer.Option(help="In a few words.")],
    text: Annotated[str | None, typer.Option(help="The concern (else read from stdin).")] = None,
    anonymous: Annotated[
        bool, typer.Option(help="Hide your name from everyone but the controller's dpo.")
    ] = False,
    organisation: Annotated[
        str | None, typer.Option(help="The controller concerned (default: your own).")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """File a security concern; it cannot be deleted, only the controller's dpo closes it."""
    body = text if text is not None else typer.get_text_stream("stdin").read()
    with open_platform(config) as platform:
        p = login(platform, Permission.CONCERN_FILE)
        c = acts.file_report(
            platform,
            p,
            subject=subject,
            text=body,
            anonymous=anonymous,
            organisation_id=organisation,
        )
    out.print(f"security report {c.id} filed (alert {c.alert_id}); anonymous: {c.anonymous}")


@concerns.command("list")
def concerns_list_cmd(as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Your organisation's reports (a dpo), or the ones you filed."""
    with open_platform(config) as platform:
        p = login(platform, Permission.CONCERN_FILE)
        rows = acts.list_reports(platform, p)
    columns = [
        Col("id", "report", whole=True),
        Col("created_at", "filed", minutes=True),
        Col("state", "state"),
        Col("anonymous", "anonymous"),
        Col("reporter", "reporter"),
    ]
    show(out, rows, columns, as_json=as_json, empty="no security report")


@concerns.command("show")
def concerns_show_cmd(report_id: str, config: ConfigOpt = None) -> None:
    """Read one report (the controller's dpo, or its reporter); the reading is audited."""
    with open_platform(config) as platform:
        p = login(platform, Permission.CONCERN_FILE)
        c = acts.show_report(platform, p, report_id)
    out.print(f"{c.id}  {c.state}  filed {c.created_at:%Y-%m-%d %H:%M}  by {c.reporter or '—'}")
    out.print(f"[bold]{c.subject}[/]", soft_wrap=True)
    out.print(c.text or "", soft_wrap=True, markup=False)


def trace_cmd(
    sample: Annotated[Path, typer.Argument(help="Leaked lines (CSV, with a header row).")],
    columns: Annotated[
        str | None, typer.Option(help="Comma-separated headers, for lines without a header row.")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Name the packages a leaked sample came from (keyed row digests, canary rows) and
    alert each controller concerned. Run on the instance; nothing of the sample is kept."""
    from ecluse.services import breach  # noqa: PLC0415 - loads Polars, only this command

    with open_platform(config) as platform:
        lines, found = breach.trace_file(
            platform, sample, columns=columns.split(",") if columns else None, actor=local_actor()
        )
    if not found:
        out.print(f"{lines} lines: no package matches")
        return
    table = Table(
        "package",
        "recipient",
        "extracted",
        "state",
        "lines",
        "canaries",
        "score",
        "fields",
        "alert",
    )
    for m in found:
        table.add_row(
            m.package_id,
            m.recipient,
            f"{m.extracted_at:%Y-%m-%d %H:%M}",
            m.package_state,
            f"{m.rows_matched}/{lines}",
            str(m.canaries_matched),
            f"{m.score} %",
            ", ".join(f"{f} {n}" for f, n in sorted(m.fields.items())),
            m.alert_id or "",
        )
    out.print(table)


def supervise(
    once: Annotated[bool, typer.Option(help="One pass, then exit.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Run the detectors, escalation, probes and alert delivery (`ecluse serve` runs them too)."""
    with open_platform(config) as platform:
        supervisor = host.supervisor(platform)
        if once:
            t = supervisor.tick(slow=True)
            out.print(
                f"events read: {t.read.events}, findings: {t.read.findings}, escalated: "
                f"{t.escalated}, delivered: {t.delivered.sent}, failed: {t.delivered.failed}"
            )
            return
        stop = threading.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        out.print("supervising; stop with SIGTERM or Ctrl-C")
        supervisor.run(stop=stop)
