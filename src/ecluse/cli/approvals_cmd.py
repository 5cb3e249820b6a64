"""The two-person rule on the command line: `ecluse accounts pending|approve|refuse` (by
your organisation's dpo or security contact, with your API token), `ecluse orgs
security-contact` (a processor's or recipient's), and `ecluse accounts approve-first-dpo`,
a host-level command run by the operating-system account that holds the keys."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from ecluse.cli.common import ConfigOpt, local_actor, open_platform
from ecluse.cli.identity_cmd import accounts, login, orgs
from ecluse.cli.lazy import lazy
from ecluse.cli.listing import Col, JsonOpt, show
from ecluse.cli.step_up import CodeOpt, step_up_code
from ecluse.errors import PolicyViolation
from ecluse.kinds import Permission, Role

if TYPE_CHECKING:
    from ecluse.services import approvals
else:
    approvals = lazy("ecluse.services.approvals")

out = Console()
AccountArg = Annotated[str, typer.Argument(help="Account id.")]
RoleOpt = Annotated[Role, typer.Option(help="The pending role: dpo, operator or recipient.")]


@accounts.command("pending")
def accounts_pending(as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Roles of your organisation waiting for your approval (dpo or security contact)."""
    with open_platform(config) as platform:
        p = login(platform, Permission.TOKEN_SELF)
        rows = approvals.list_pending(platform, p)
    columns = [
        Col("account_id", "account", whole=True),
        Col("email", "e-mail"),
        Col("full_name", "name"),
        Col("role", "role"),
    ]
    show(out, rows, columns, as_json=as_json, empty="no role waits")


@accounts.command("approve")
def accounts_approve(
    account_id: AccountArg, role: RoleOpt, code: CodeOpt = None, config: ConfigOpt = None
) -> None:
    """Approve another person's pending role, with a fresh code of your app (audited, alerted
    to your organisation)."""
    with open_platform(config) as platform:
        p = login(platform, Permission.TOKEN_SELF)
        typed = step_up_code(code)
        approvals.decide_role(
            platform, p, account_id=account_id, role=role, approve=True, code=typed
        )
    out.print(f"role {role.value} of {account_id} approved")


@accounts.command("refuse")
def accounts_refuse(account_id: AccountArg, role: RoleOpt, config: ConfigOpt = None) -> None:
    """Refuse (remove) another person's pending role (audited, alerted)."""
    with open_platform(config) as platform:
        p = login(platform, Permission.TOKEN_SELF)
        approvals.decide_role(
            platform, p, account_id=account_id, role=role, approve=False, code=None
        )
    out.print(f"role {role.value} of {account_id} refused")


@accounts.command("approve-first-dpo")
def accounts_approve_first_dpo(account_id: AccountArg, config: ConfigOpt = None) -> None:
    """At the host, as the key holder: approve the dpo role of a controller that has no
    dpo yet. No API token: this is not an account's act, and no admin can do it."""
    actor = local_actor()
    with open_platform(config) as platform:
        key_file = platform.settings.key_file
        if key_file.exists() and key_file.stat().st_uid != os.getuid():
            raise PolicyViolation("run this as the operating-system account that holds the keys")
        done = approvals.approve_first_dpo_at_host(platform, account_id=account_id, actor=actor)
    out.print(f"role dpo of {done.account_id} approved by {actor}")


@orgs.command("security-contact")
def orgs_security_contact(
    organisation_id: Annotated[str, typer.Argument(help="The processor's or recipient's id.")],
    account: Annotated[str, typer.Option(help="Account id of its security contact.")],
    code: CodeOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Name a processor's or recipient's security contact (the first by a controller's dpo,
    then by the contact), with a fresh code of your app; their pending roles are approved
    with it."""
    with open_platform(config) as platform:
        p = login(platform, Permission.TOKEN_SELF)
        typed = step_up_code(code)
        approved = approvals.name_security_contact(
            platform, p, organisation_id=organisation_id, account_id=account, code=typed
        )
    out.print(f"security contact {account} named; roles approved: {', '.join(approved) or 'none'}")
