"""`ecluse demo`: the incident's migration replayed with Écluse in the way."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ecluse.cli.common import ConfigOpt, settings_from
from ecluse.cli.lazy import lazy
from ecluse.config import load_settings

if TYPE_CHECKING:
    from ecluse.services import host
else:
    host = lazy("ecluse.services.host")

out = Console()


def _screened(result: dict[str, Any]) -> str:
    found = [
        f"{field}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items() if v)
        for field, counts in result["screening"].items()
    ]
    return "; ".join(found) or "nothing"


def _print(summary: dict[str, Any]) -> None:
    table = Table("", "instruction A", "instruction B", title="What left, and what did not")
    a, b = summary["instructions"]["A"], summary["instructions"]["B"]
    rows = [
        ("scope", a["scope"], b["scope"]),
        ("rows exported by the old vendor", f"{a['rows_read']:,}", f"{b['rows_read']:,}"),
        ("rows in scope", f"{a['rows_in_scope']:,}", f"{b['rows_in_scope']:,}"),
        ("rows left out", f"{a['rows_left_out']:,}", f"{b['rows_left_out']:,}"),
        ("rows packaged (with canaries)", f"{a['rows_packaged']:,}", f"{b['rows_packaged']:,}"),
        ("columns sent", str(len(a["columns_sent"])), str(len(b["columns_sent"]))),
        ("columns dropped", str(len(a["columns_dropped"])), str(len(b["columns_dropped"]))),
        (
            "credential columns refused",
            str(sum("credential" in r for r in a["columns_dropped"].values())),
            str(sum("credential" in r for r in b["columns_dropped"].values())),
        ),
        ("free text screened (A)", _screened(a), "no free text sent"),
        ("opened with age, receipt matches", str(a["sha256_matches"]), str(b["sha256_matches"])),
    ]
    for row in rows:
        table.add_row(*row)
    out.print(table)
    for name in ("A", "B"):
        dropped = ", ".join(summary["instructions"][name]["columns_dropped"])
        out.print(f"[bold]{name}[/] dropped: {dropped}")
    out.print(
        f"objects left in the store: {summary['objects_left']}; audit chain verified: "
        f"{summary['audit_chain_ok']}; {summary['seconds']} s"
    )
    for path in summary["reports"]:
        out.print(f"report: {path}")
    if summary["enrolment"]:
        out.print("Accounts kept for you to try, with their one-time enrolment codes (shown once):")
        for role, account in summary["enrolment"].items():
            out.print(f"  {role}: {account['email']}  {account['enrolment_code']}", soft_wrap=True)
        out.print("Enrol with `ecluse enrol --email …` or POST /v1/enrol; `ecluse serve` to serve.")
    if summary.get("ready"):
        _next_steps(summary["ready"], summary["enrolment"])


def _next_steps(ready: dict[str, Any], accounts: dict[str, dict[str, str]]) -> None:
    """What each kept account can do first, under the instruction left open."""
    iid = ready["instruction"]
    out.print(
        f"\n[bold]Ready to act on[/]: instruction {iid}, signed by the dpo, valid until "
        f"{ready['valid_until']}: {ready['scope']}, {ready['expected_rows']:,} rows expected.",
        soft_wrap=True,
    )
    steps = {
        "recipient": [
            "age-keygen -o me.agekey   # then, with a code of your app:",
            'ecluse recipient-keys add --key "$(age-keygen -y me.agekey)" --label mine',
            "ecluse packages list; ecluse packages download <package id>",
        ],
        "operator": [
            f"ecluse synth {ready['synth']} -o export.csv   # the old vendor's same export",
            f"ecluse extract --instruction {iid} --source export.csv",
            f"or over SFTP, once a second factor is set: put export.csv into /inbox/{iid}/",
        ],
        "dpo": ["ecluse instructions list", f"ecluse report migration {iid} -o ."],
        "auditor": ["ecluse instructions list", "ecluse alerts list"],
        "admin": ["ecluse accounts list", "ecluse orgs list"],
    }
    out.print(
        "Each person, in their own shell: `ecluse enrol`, export the token it prints as "
        "ECLUSE_TOKEN, `ecluse password set`, `ecluse totp enable` and `ecluse totp confirm`, "
        "then:",
        soft_wrap=True,
    )
    for role, lines in steps.items():
        if role in accounts:
            out.print(f"  [bold]{role}[/] ({accounts[role]['email']})")
            for line in lines:
                out.print(f"    {line}", soft_wrap=True)


def demo(
    *,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")] = False,
    keep: Annotated[
        bool, typer.Option(help="Play it in the configured (fresh) home and keep it.")
    ] = False,
    patients: Annotated[int, typer.Option(min=1000, help="Patients in the export.")] = 500_000,
    labs: Annotated[int, typer.Option(min=2, help="Laboratories in the network.")] = 28,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic export.")] = 1,
    output: Annotated[Path, typer.Option("--output", "-o", help="Where reports go.")] = Path(
        "demo-reports"
    ),
    config: ConfigOpt = None,
) -> None:
    """Replay the 2020-21 migration with Écluse in the way, and print what left."""
    say = Console(stderr=True).print
    if keep:
        summary = host.run_demo(
            settings_from(config),
            patients=patients,
            labs=labs,
            seed=seed,
            output=output,
            say=say,
            guests=True,
        )
    else:  # a throwaway home on the embedded default, removed afterwards
        home = Path(tempfile.mkdtemp(prefix="ecluse-demo-home-"))
        try:
            settings = load_settings(
                config_file=config, home=home, database_url=None, key_manager="local"
            )
            summary = host.run_demo(
                settings, patients=patients, labs=labs, seed=seed, output=output, say=say
            )
        finally:
            shutil.rmtree(home, ignore_errors=True)
    if as_json:
        print(json.dumps(summary, ensure_ascii=False))
    else:
        _print(summary)
