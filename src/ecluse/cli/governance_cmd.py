"""`ecluse agreements` (Art. 28) and `ecluse instructions` (Art. 29): from files, signed with
personal keys, verified, revoked."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from ecluse.cli import remote
from ecluse.cli.common import ConfigOpt, open_platform
from ecluse.cli.identity_cmd import login
from ecluse.cli.lazy import lazy
from ecluse.cli.listing import Col, JsonOpt, show
from ecluse.cli.step_up import CodeOpt, step_up_code
from ecluse.errors import ValidationError
from ecluse.kinds import Permission

if TYPE_CHECKING:
    from ecluse.services import access
    from ecluse.services import governance as acts
else:
    acts = lazy("ecluse.services.governance")
    access = lazy("ecluse.services.access")

agreements = typer.Typer(help="GDPR Art. 28 agreements.", no_args_is_help=True)
instructions = typer.Typer(
    help="GDPR Art. 29 instructions of the controller's dpo.", no_args_is_help=True
)
out = Console()


def _read_document(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        raw = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (OSError, ValueError) as e:
        raise ValidationError(f"cannot read {path} as TOML or JSON") from e
    if not isinstance(raw, dict):
        raise ValidationError(f"{path} must hold a table/object")
    return raw


def _with_ids(raw: dict[str, Any], **ids: str | None) -> dict[str, Any]:
    """The document with the ids given on the command line (a file can then serve any
    instance, as docs/examples/ does); refused if the file names other ones."""
    for key, value in ids.items():
        if value is None:
            continue
        if raw.get(key, value) != value:
            raise ValidationError(f"the file's {key} is not the one given on the command line")
        raw[key] = value
    return raw


IdOpt = Annotated[str | None, typer.Option(help="Its id, if the file does not name it.")]


@agreements.command("create")
def create_cmd(
    file: Annotated[Path, typer.Option("--file", help="Terms as TOML or JSON.")],
    controller: IdOpt = None,
    processor: IdOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Propose an agreement (a member of the controller or the processor); the parties'
    organisation ids come from the file or from --controller and --processor."""
    with open_platform(config) as platform:
        p = login(platform, Permission.AGREEMENT_SIGN)
        with access.refusals_audited(platform, p, "agreements create"):
            ids = {"controller_id": controller, "processor_id": processor}
            raw = _with_ids(_read_document(file), **ids)
        agreement_id, problems = acts.propose_agreement(platform, p, raw)
    out.print(agreement_id)
    for problem in problems:
        out.print(f"[yellow]cannot be signed yet:[/] {problem}")


@agreements.command("sign")
def sign_cmd(
    agreement_id: Annotated[str, typer.Argument(help="Agreement id.")],
    code: CodeOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Sign for your party with your personal key (with a fresh code of your app)."""
    with open_platform(config) as platform:
        p = login(platform, Permission.AGREEMENT_SIGN)
        state = acts.sign_agreement(platform, p, agreement_id, code=step_up_code(code))
    out.print(f"agreement {agreement_id}: {state}")


@agreements.command("verify")
def verify_cmd(
    agreement_id: Annotated[str, typer.Argument(help="Agreement id.")], config: ConfigOpt = None
) -> None:
    """Check that the terms are intact and both signatures verify."""
    with open_platform(config) as platform:
        p = login(platform, Permission.DIRECTORY_READ)
        agreement = acts.verify_agreement(platform, p, agreement_id)
    out.print(
        f"[green]agreement {agreement.id} signed by both parties[/], terms sha256 "
        f"{agreement.terms_sha256}"
    )


@agreements.command("list")
def list_cmd(as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Agreements your organisation is a party to."""
    with open_platform(config) as platform:
        p = login(platform, Permission.AGREEMENT_SIGN)
        rows = acts.list_agreements(platform, p)
    columns = [
        Col("id", "id", whole=True),
        Col("state", "state"),
        Col("controller_id", "controller", whole=True),
        Col("processor_id", "processor", whole=True),
        Col("created_at", "created"),
    ]
    show(out, rows, columns, as_json=as_json, empty="no agreement")


@instructions.command("create")
def instruction_create(
    file: Annotated[Path, typer.Option("--file", help="Instruction as TOML or JSON.")],
    agreement: IdOpt = None,
    recipient: IdOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Draft an instruction under a signed agreement (the controller's dpo); the agreement's
    and the recipient's ids come from the file or from --agreement and --recipient."""
    with open_platform(config) as platform:
        p = login(platform, Permission.INSTRUCTION_SIGN)
        with access.refusals_audited(platform, p, "instructions create"):
            ids = {"agreement_id": agreement, "recipient_id": recipient}
            raw = _with_ids(_read_document(file), **ids)
        instruction_id = acts.draft_instruction(platform, p, raw)
    out.print(instruction_id)


@instructions.command("sign")
def instruction_sign(
    instruction_id: Annotated[str, typer.Argument(help="Instruction id.")],
    code: CodeOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Sign a draft instruction (with a fresh code of your app): from then on it cannot
    change."""
    with open_platform(config) as platform:
        p = login(platform, Permission.INSTRUCTION_SIGN)
        acts.sign_instruction(platform, p, instruction_id, code=step_up_code(code))
    out.print(f"instruction {instruction_id}: signed")


@instructions.command("revoke")
def instruction_revoke(
    instruction_id: Annotated[str, typer.Argument(help="Instruction id.")],
    reason: Annotated[str, typer.Option(help="Why, in writing.")],
    code: CodeOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Revoke an instruction for good (with a fresh code of your app): nothing more is
    extracted under it, a running extraction stops, and its packages and quarantines are
    shredded."""
    with open_platform(config) as platform:
        p = login(platform, Permission.INSTRUCTION_SIGN)
        shredded = acts.revoke_instruction(
            platform, p, instruction_id, reason, code=step_up_code(code)
        )
    out.print(f"instruction {instruction_id}: revoked; {shredded} package(s) shredded")


@instructions.command("list")
def instruction_list(as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """The instructions you act on: a dpo's or auditor's organisation instructed them, an
    operator may extract under them (`open` today), a recipient receives their packages."""
    rows = remote.fetched("/instructions")
    if rows is None:  # on the host
        with open_platform(config) as platform:
            p = login(platform, Permission.TOKEN_SELF)
            rows = acts.list_instructions(platform, p)
    columns = [
        Col("id", "id", whole=True),
        Col("state", "state"),
        Col("open_today", "open"),
        Col("runs_left", "runs left"),
        Col("side", "you are"),
        Col("purpose", "purpose"),
        Col("expected_rows", "rows"),
        Col("valid_from", "from"),
        Col("valid_until", "until"),
        Col("recipient_id", "recipient", whole=True),
    ]
    show(out, rows, columns, as_json=as_json, empty="no instruction for you")


@instructions.command("show")
def instruction_show(
    instruction_id: Annotated[str, typer.Argument(help="Instruction id.")], config: ConfigOpt = None
) -> None:
    """The instruction as signed, and its state (the controller's dpo and auditors)."""
    with open_platform(config) as platform:
        p = login(platform, Permission.REPORT_READ)
        row = acts.show_instruction(platform, p, instruction_id)
    out.print(f"state: {row.state}; content sha256 {row.sha256}")
    out.print_json(row.content)
