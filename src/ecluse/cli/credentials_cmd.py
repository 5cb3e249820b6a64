"""`ecluse password`, `ecluse totp`, `ecluse ssh-keys`: a person's own credentials for the
servers (issue 4); `ecluse accounts unlock` for the administrator; `accounts
create-service` for a person, who owns it. Secrets are typed at a hidden prompt or read from
standard input, never taken from the command line."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from ecluse.cli import remote
from ecluse.cli.common import ConfigOpt, open_platform
from ecluse.cli.identity_cmd import accounts, login
from ecluse.cli.lazy import lazy
from ecluse.cli.listing import Col, JsonOpt, show
from ecluse.cli.step_up import CodeOpt, step_up_code
from ecluse.errors import ValidationError, present
from ecluse.kinds import Permission, Role

if TYPE_CHECKING:
    from ecluse.services import credentials
    from ecluse.services import identity as identity_acts
    from ecluse.services import lifecycle as lifecycle_acts
else:
    credentials = lazy("ecluse.services.credentials")
    identity_acts = lazy("ecluse.services.identity")
    lifecycle_acts = lazy("ecluse.services.lifecycle")

password = typer.Typer(help="Your password (for SFTP and the web).", no_args_is_help=True)
totp = typer.Typer(help="Your second factor (TOTP).", no_args_is_help=True)
ssh_keys = typer.Typer(help="Your SSH public keys (for SFTP).", no_args_is_help=True)
out = Console()


def _secret(prompt: str) -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(prompt)
    if getpass.getpass("Again: ") != first:
        raise ValidationError("the two entries differ")
    return first


def _line(prompt: str) -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass(prompt)


@password.command("set")
def password_set(config: ConfigOpt = None) -> None:
    """Set your password (12+ characters of four kinds, 14+ of three, or 7+ words). Changing
    it asks for the current one, then revokes all your tokens, sessions and SSH keys. Without
    a terminal: the current password (if one is set), then the new one, a line each."""
    with open_platform(config) as platform:
        p = login(platform, Permission.TOKEN_SELF)
        current = _line("Current password: ") if credentials.password_is_set(platform, p) else None
        secret = _secret("New password: ")
        credentials.change_password(platform, p, secret, current=current)
    if current is not None:
        out.print("password changed; all your tokens, sessions and SSH keys are revoked")
    else:
        out.print("password set")


def login_cmd(
    email: Annotated[str, typer.Option(help="Your professional e-mail.")],
    config: ConfigOpt = None,
) -> None:
    """Log in with your password and a code of your app: prints a session (use it as
    ECLUSE_TOKEN, or issue a token from it that then reaches health data); with
    ECLUSE_SERVER, keeps the session of that server in your config directory instead. Without
    a terminal: the password, then the code, a line each."""
    typed = _line("Password: ")
    code = _line("Code of your authenticator app: ").strip() or None
    where = remote.server()
    if where is not None:  # keep the session here, in the person's own 0600 file
        got = remote.log_in(where, email=email, password=typed, code=code)
        factor = "with" if got["second_factor"] else "WITHOUT"
        out.print(
            f"Logged in to {where.url} {factor} a second factor, until {got['expires_at']}; "
            f"the session is kept in {got['kept_in']}",
            soft_wrap=True,
        )
        return
    with open_platform(config) as platform:
        done = credentials.log_in(
            platform, email=email, password=typed, code=code, address="local", channel="cli"
        )
    session = present(done.session, "the new session")
    factor = "with" if done.second_factor else "WITHOUT"
    out.print(f"Session {factor} a second factor, until {session.expires_at:%Y-%m-%d %H:%M} UTC:")
    out.print(session.token, soft_wrap=True)


def logout_cmd() -> None:
    """End the session `ecluse login` kept for ECLUSE_SERVER, there and here."""
    where = remote.server()
    if where is None:
        raise ValidationError("logout ends a remote session: set ECLUSE_SERVER")
    remote.log_out(where)
    out.print(f"Logged out of {where.url}")


@accounts.command("disable")
def accounts_disable(
    account_id: Annotated[str, typer.Argument(help="Account id.")],
    reason: Annotated[str, typer.Option(help="Why, in writing.")],
    config: ConfigOpt = None,
) -> None:
    """Disable an account for good and revoke all its tokens, sessions and SSH keys, and those
    of its service accounts (the admin; a dpo for the accounts of their organisation)."""
    with open_platform(config) as platform:
        p = login(platform, Permission.DIRECTORY_READ)
        revoked = lifecycle_acts.disable(platform, p, account_id, reason=reason)
    out.print(
        f"account {account_id} disabled: {revoked.tokens} token(s), {revoked.sessions} "
        f"session(s), {revoked.ssh_keys} SSH key(s) revoked"
    )


@totp.command("enable")
def totp_enable(config: ConfigOpt = None) -> None:
    """Start TOTP: add the printed URI (or secret) to your authenticator app, then confirm."""
    with open_platform(config) as platform:
        p = login(platform, Permission.TOKEN_SELF)
        uri = credentials.begin_totp(platform, p)
    out.print("Add this to your authenticator app (shown once), then `ecluse totp confirm`:")
    out.print(uri, soft_wrap=True, markup=False)


@totp.command("confirm")
def totp_confirm(config: ConfigOpt = None) -> None:
    """Type a code from your app: TOTP is then on, and your recovery codes are printed once."""
    with open_platform(config) as platform:
        p = login(platform, Permission.TOKEN_SELF)
        code = sys.stdin.readline().strip() if not sys.stdin.isatty() else input("Code: ")
        codes = credentials.finish_totp(platform, p, code)
    out.print("TOTP is on. Recovery codes, each usable once (keep them offline):")
    for c in codes:
        out.print(f"  {c}")


@totp.command("recovery-codes")
def totp_recovery_codes(code: CodeOpt = None, config: ConfigOpt = None) -> None:
    """New recovery codes, printed once; the ones you had left stop working. With a fresh
    code of your app (or one of your recovery codes left)."""
    with open_platform(config) as platform:
        p = login(platform, Permission.TOKEN_SELF)
        codes = credentials.renew_recovery_codes(platform, p, code=step_up_code(code))
    out.print("New recovery codes, each usable once (keep them offline); the old ones are void:")
    for c in codes:
        out.print(f"  {c}")


@ssh_keys.command("add")
def ssh_add(
    key_file: Annotated[Path, typer.Argument(help="Your public key, e.g. ~/.ssh/id_ed25519.pub")],
    label: Annotated[str, typer.Option(help="Where the private key lives.")],
    config: ConfigOpt = None,
) -> None:
    """Register a public key (ed25519, ecdsa, or rsa of 3072 bits or more)."""
    try:
        line = key_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ValidationError(f"cannot read {key_file}") from e
    with open_platform(config) as platform:
        p = login(platform, Permission.TOKEN_SELF)
        parsed = credentials.add_own_ssh_key(platform, p, line, label)
    out.print(f"{parsed.algorithm} {parsed.fingerprint}")


@ssh_keys.command("list")
def ssh_list(as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Your active keys."""
    with open_platform(config) as platform:
        p = login(platform, Permission.TOKEN_SELF)
        rows = credentials.ssh_keys(platform, p)
    columns = [
        Col("fingerprint", "fingerprint", whole=True),
        Col("algorithm", "algorithm"),
        Col("label", "label"),
        Col("created_at", "added"),
    ]
    show(out, rows, columns, as_json=as_json, empty="no SSH key")


@ssh_keys.command("revoke")
def ssh_revoke(
    fingerprint: Annotated[str, typer.Argument(help="SHA256:… as `ssh-keys list` shows it.")],
    config: ConfigOpt = None,
) -> None:
    """Revoke one of your keys."""
    with open_platform(config) as platform:
        p = login(platform, Permission.TOKEN_SELF)
        credentials.revoke_own_ssh_key(platform, p, fingerprint)
    out.print(f"revoked {fingerprint}")


@accounts.command("unlock")
def accounts_unlock(
    account_id: Annotated[str, typer.Argument(help="Account id.")], config: ConfigOpt = None
) -> None:
    """Unlock an account locked (or held for 24 hours) after failed logins (admin)."""
    with open_platform(config) as platform:
        p = login(platform, Permission.ACCOUNT_MANAGE)
        credentials.unlock_account(platform, p, account_id)
    out.print(f"account {account_id} unlocked")


@accounts.command("create-service")
def accounts_create_service(
    name: Annotated[str, typer.Option(help="What it runs.")],
    role: Annotated[list[Role], typer.Option(help="operator, recipient or auditor (yours).")],
    days: Annotated[int, typer.Option(help="Lifetime, 90 days at most.")] = 30,
    config: ConfigOpt = None,
) -> None:
    """A service account that you own, in your organisation, with roles you hold (TOTP on
    for health data), and its API token (shown once). Never an admin's."""
    with open_platform(config) as platform:
        p = login(platform, Permission.TOKEN_SELF)
        account_id, issued = identity_acts.create_service(
            platform, p, name=name, roles=set(role), days=days
        )
    out.print(
        f"service account {account_id}; its API token (shown once, until "
        f"{issued.expires_at:%Y-%m-%d}):"
    )
    out.print(issued.token, soft_wrap=True)
