"""Separation of duties on the command line: every command an admin's token reaches is
analysed (the list comes from the Typer app, so a new command fails the test until it is), and
the attack chains through them yield no credential that reaches health data."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from typing import Any

import typer

from ecluse.cli import app
from ecluse.identity import Permission, Role
from ecluse.identity.permissions import ROLE_PERMISSIONS
from tests.cli.helpers import assert_refused, ecluse, instance_admin, last
from tests.mail_tools import CODE, mailbox_of
from tests.server.test_admin_reach import FORBIDDEN

_LOGIN = re.compile(r"login\(platform, Permission\.(\w+)\)")
#: what the admin's token reaches (or what needs no token), and why no health data follows
ANALYSED = {
    "whoami": "reads the caller's own principal",
    "enrol": "needs the code, which only the person's mailbox receives",
    "login": "a session of the caller's own account, with its approved roles only",
    "logout": "ends the caller's own remote session",
    "orgs create": "an organisation holds no person",
    "orgs list": "a directory",
    "orgs security-contact": "a controller's approved dpo only (then the contact)",
    "accounts create": "pending health roles; the code is e-mailed to the person only",
    "accounts list": "a directory",
    "accounts pending": "the organisation's approver only",
    "accounts approve": "the approver, never the grantee nor an admin",
    "accounts refuse": "removes a pending role",
    "accounts unlock": "unlocks, grants nothing",
    "accounts disable": "revokes every credential, grants none",
    "accounts create-service": "its owner's, with roles it holds approved; never an admin",
    "tokens issue": "within the caller's own approved permissions",
    "tokens list": "never a secret",
    "tokens revoke": "the caller's own",
    "agreements verify": "verifies signatures",
    "instructions list": "refused: an admin stands to no instruction (tests/services)",
    "password set": "the caller's own",
    "totp enable": "the caller's own",
    "totp confirm": "the caller's own",
    "totp recovery-codes": "the caller's own, with a fresh code of its own app",
    "ssh-keys add": "the caller's own account",
    "ssh-keys list": "the caller's own",
    "ssh-keys revoke": "the caller's own",
    "alerts list": "alerts, no patient data",
    "alerts show": "an alert",
    "alerts ack": "its own organisation's alerts only",
    "alerts resolve": "its own organisation's alerts only",
    "alerts contact": "its own organisation only",
    "security-report file": "files a report",
    "security-report list": "its own",
    "security-report show": "its own",
}
#: host-level commands: no account's token, run by the OS account that holds the keys
HOST = {
    "supervise", "trace", "demo", "init", "selfcheck", "synth", "worker", "serve", "status",
    "keys list", "keys rotate", "audit verify", "audit export", "audit checkpoint",
    "audit purge", "audit witness-start", "audit grant-platform-auditor",
    "audit withdraw-platform-auditor", "db upgrade", "db revision", "accounts approve-first-dpo",
}  # fmt: skip
INDIRECT = {"alerts ack": Permission.ALERT_HANDLE, "alerts resolve": Permission.ALERT_HANDLE}


def _commands(command: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    if hasattr(command, "commands"):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*prefix, name))
    else:
        yield " ".join(prefix), command.callback


def test_every_command_an_admin_reaches_is_analysed() -> None:
    admin = ROLE_PERMISSIONS[Role.ADMIN]
    reachable, host = set(), set()
    for name, callback in _commands(typer.main.get_command(app)):
        needed = [Permission[p] for p in _LOGIN.findall(inspect.getsource(callback))]
        needed += [INDIRECT[name]] if name in INDIRECT else []
        if not needed:
            host.add(name)
        elif needed[0] in admin:
            reachable.add(name)
    people = {"enrol", "login", "logout"}  # no token on the host: their own checks
    assert host - people == HOST
    assert reachable | people == set(ANALYSED)


def test_the_attack_chains_fail_on_the_command_line(env: dict[str, str]) -> None:
    admin = instance_admin(env)
    vendor = last(
        ecluse(
            "orgs", "create", "--name", "New", "--kind", "recipient", "--siret",
            "44182078900010", env=admin,
        )
    )  # fmt: skip
    no_mail = {k: v for k, v in admin.items() if not k.startswith("ECLUSE_ALERTS__")}
    create = ["accounts", "create", "--org", vendor, "--name", "Pup Pet", "--role", "recipient"]
    assert_refused(
        ecluse(*create, "--email", "pup0@admin.example", env=no_mail), "ECLUSE_ALERTS__SMTP_HOST"
    )
    made = ecluse(*create, "--email", "pup@admin.example", env=admin)
    assert made.returncode == 0 and not CODE.search(made.stdout + made.stderr)
    assert "recipient" in made.stdout  # pending, said so
    pup_id = last(made)
    code = mailbox_of(env).enrolment_code("pup@admin.example")  # a mailbox the admin reads
    pup = {
        **env,
        "ECLUSE_TOKEN": last(
            ecluse("enrol", "--email", "pup@admin.example", "--code", code, env=env)
        ),
    }
    for who in (admin, pup):
        assert_refused(
            ecluse("accounts", "approve", pup_id, "--role", "recipient", env=who), "approves"
        )
        assert_refused(
            ecluse("orgs", "security-contact", vendor, "--account", pup_id, env=who), "dpo"
        )
        assert_refused(ecluse("accounts", "pending", env=who), "approves")
        assert_refused(
            ecluse("accounts", "create-service", "--name", "job", "--role", "recipient", env=who),
            "service account",
        )
        contact = ["alerts", "contact", "--organisation", vendor, "--email", "pup@admin.example"]
        assert_refused(
            ecluse(*contact, env=who),
            "security contact names" if who is admin else "not permitted: alert:handle",
        )
        shown = ecluse("whoami", env=who).stdout
        assert not any(p.value in shown for p in FORBIDDEN), shown
