"""Identity commands: enrol, whoami, organisations, accounts, API tokens.

Authentication is by API token: `ECLUSE_TOKEN`, or typed at a hidden prompt. Every refusal is
audited; the token's secret never is.
"""

from __future__ import annotations

import getpass
import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from ecluse.cli import remote
from ecluse.cli.common import ConfigOpt, open_platform
from ecluse.cli.lazy import lazy
from ecluse.cli.listing import Col, JsonOpt, show
from ecluse.errors import AuthenticationError
from ecluse.kinds import OrgKind, Permission, Role

if TYPE_CHECKING:
    from ecluse.services import access, credentials, tenancy
    from ecluse.services import identity as identity_acts
    from ecluse.services.vocabulary import Platform, Principal
else:
    credentials = lazy("ecluse.services.credentials")
    tenancy = lazy("ecluse.services.tenancy")
    identity_acts = lazy("ecluse.services.identity")
    access = lazy("ecluse.services.access")

out = Console()
orgs = typer.Typer(help="Organisations (controller, processor, recipient).", no_args_is_help=True)
accounts = typer.Typer(help="Named accounts and their roles.", no_args_is_help=True)
tokens = typer.Typer(help="Your API tokens.", no_args_is_help=True)


def _token() -> str:
    token = os.environ.get("ECLUSE_TOKEN")
    if token:
        return token
    if sys.stdin.isatty():
        return getpass.getpass("API token: ")
    raise AuthenticationError("no API token: set ECLUSE_TOKEN, or run interactively")


def login(platform: Platform, needed: Permission) -> Principal:
    """Authenticate the caller by API token and check one permission; audit any refusal."""
    principal = access.identify(platform, _token(), channel="cli")
    return access.permit(platform, principal, needed)


def enrol_cmd(
    email: Annotated[str, typer.Option(help="Your professional e-mail.")],
    code: Annotated[
        str | None, typer.Option(help="One-time enrolment code (else prompted).")
    ] = None,
    days: Annotated[int, typer.Option(help="Validity of your first API token.")] = 30,
    config: ConfigOpt = None,
) -> None:
    """Activate your account with its one-time code and receive your first API token."""
    secret = code or getpass.getpass("Enrolment code: ")
    with open_platform(config) as platform:
        issued = identity_acts.enrol_person(
            platform, email=email, code=secret, days=days, channel="cli", address="local"
        )
    out.print(f"Enrolled. Your API token (shown once, valid until {issued.expires_at:%Y-%m-%d}):")
    out.print(issued.token, soft_wrap=True)


def whoami(config: ConfigOpt = None) -> None:
    """Who the API token (or the remote session) in use belongs to, and what it permits."""
    me = remote.fetched("/me")
    if me is not None:
        out.print(
            f"{me['email']} ({', '.join(me['roles'])}) of {me['organisation_kind']} "
            f"organisation {me['organisation_id']}, on {os.environ['ECLUSE_SERVER']}",
            markup=False,
        )
        out.print("permissions: " + ", ".join(me["permissions"]))
        return
    with open_platform(config) as platform:
        p = login(platform, Permission.TOKEN_SELF)
    out.print(
        f"{p.email} ({', '.join(sorted(p.roles))}) of {p.organisation_kind} organisation "
        f"{p.organisation_id}, token {p.token_id}",
        markup=False,
    )
    out.print("permissions: " + ", ".join(sorted(p.permissions)))


@orgs.command("create")
def orgs_create(
    name: Annotated[str, typer.Option(help="Legal name.")],
    kind: Annotated[OrgKind, typer.Option(help="controller, processor or recipient.")],
    finess: Annotated[str | None, typer.Option(help="A controller's FINESS number.")] = None,
    siret: Annotated[str | None, typer.Option(help="A processor's or recipient's SIRET.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Create an organisation (admin)."""
    with open_platform(config) as platform:
        p = login(platform, Permission.ORG_MANAGE)
        org_id = identity_acts.register_organisation(
            platform, p, name=name, kind=kind, finess=finess, siret=siret
        )
    out.print(org_id)


@orgs.command("list")
def orgs_list(as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """List organisations: every one (admin, platform auditor), else yours and your
    counterparties."""
    with open_platform(config) as platform:
        p = login(platform, Permission.DIRECTORY_READ)
        rows = tenancy.list_organisations(platform, p)
    columns = [
        Col("id", "id", whole=True),
        Col("kind", "kind"),
        Col("name", "name"),
        Col("finess", "FINESS", whole=True),
        Col("siret", "SIRET", whole=True),
    ]
    show(out, rows, columns, as_json=as_json, empty="no organisation")


@accounts.command("create")
def accounts_create(
    org: Annotated[str, typer.Option(help="Organisation id.")],
    email: Annotated[str, typer.Option(help="Professional e-mail of the person.")],
    name: Annotated[str, typer.Option(help="First and last name.")],
    role: Annotated[list[Role], typer.Option(help="Role(s); repeat the option.")],
    config: ConfigOpt = None,
) -> None:
    """Create a named person's account (admin): its one-time enrolment code is e-mailed to
    the person (never shown here); its health-data roles wait for approval."""
    with open_platform(config) as platform:
        p = login(platform, Permission.ACCOUNT_MANAGE)
        new = identity_acts.create_person(
            platform, p, organisation_id=org, email=email, name=name, roles=set(role)
        )
    out.print(f"Account {new.email} created; its enrolment code was e-mailed to the person.")
    if new.pending_roles:
        out.print(
            f"Pending approval by the organisation's dpo or security contact: "
            f"{', '.join(new.pending_roles)}"
        )
    out.print(new.id)


@accounts.command("list")
def accounts_list(as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """List accounts and their roles: every one (admin, platform auditor), else your
    organisation's."""
    with open_platform(config) as platform:
        p = login(platform, Permission.DIRECTORY_READ)
        rows = tenancy.list_accounts(platform, p)
    columns = [
        Col("id", "id", whole=True),
        Col("email", "e-mail"),
        Col("full_name", "name"),
        Col("roles", "roles"),
        Col("state", "state"),
        Col("organisation_id", "organisation", whole=True),
    ]
    found = [
        {
            "id": a.id,
            "email": a.email,
            "full_name": a.full_name,
            "roles": list(roles),
            "state": a.state,
            "organisation_id": a.organisation_id,
        }
        for a, roles in rows
    ]
    show(out, found, columns, as_json=as_json, empty="no account")


@tokens.command("issue")
def tokens_issue(
    name: Annotated[str, typer.Option(help="What the token is for.")],
    days: Annotated[int, typer.Option(help="Validity, 1 to 90 days.")] = 30,
    scope: Annotated[
        list[Permission] | None,
        typer.Option(help="Restrict to these permissions; repeat the option."),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Issue yourself another token (within your permissions)."""
    with open_platform(config) as platform:
        p = login(platform, Permission.TOKEN_SELF)
        issued = credentials.issue_token(
            platform, p, name=name, days=days, scopes=set(scope) if scope else None
        )
    out.print(f"Token {issued.id} (shown once, valid until {issued.expires_at:%Y-%m-%d}):")
    out.print(issued.token, soft_wrap=True)


@tokens.command("list")
def tokens_list(as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Your tokens (never their secrets)."""
    with open_platform(config) as platform:
        p = login(platform, Permission.TOKEN_SELF)
        rows = credentials.tokens(platform, p)
    columns = [
        Col("id", "id", whole=True),
        Col("name", "name"),
        Col("expires_at", "expires"),
        Col("revoked_at", "revoked"),
    ]
    show(out, rows, columns, as_json=as_json, empty="no token")


@tokens.command("revoke")
def tokens_revoke(
    token_id: Annotated[str, typer.Argument(help="Token id.")], config: ConfigOpt = None
) -> None:
    """Revoke one of your tokens."""
    with open_platform(config) as platform:
        p = login(platform, Permission.TOKEN_SELF)
        credentials.revoke_token(platform, p, token_id)
    out.print(f"token {token_id} revoked")
