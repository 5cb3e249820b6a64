"""Step-up and account lifecycle through the CLI: `--code` on the acts that need one (refused
without it, with a wrong or a replayed code), `ecluse login`, `password set` asking for the
current password, and `accounts disable`."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

from tests.age_tools import x25519_identity
from tests.cli.helpers import PASSWORD, assert_refused, ecluse, instance_admin, last, person
from tests.totp_tools import code, fresh_code

STEP_UP = "needs a fresh code"


def _org(admin: dict[str, str], name: str, kind: str, flag: str, number: str) -> str:
    return last(ecluse("orgs", "create", "--name", name, "--kind", kind, flag, number, env=admin))


def test_step_up_and_the_end_of_an_account(env: dict[str, str], tmp_path: Path) -> None:
    admin = instance_admin(env)
    vendor = _org(admin, "New Vendor", "recipient", "--siret", "44182078900010")
    rita = person(env, admin, vendor, "rita.rec@vendor.example", "recipient")
    secret = base64.b32decode(rita["TEST_TOTP_SECRET"])
    keys = [x25519_identity(tmp_path, name=f"k{i}").recipient for i in range(3)]

    def add(key: str, *code_option: str) -> subprocess.CompletedProcess[str]:
        return ecluse(
            "recipient-keys", "add", "--key", key, "--label", "srv", *code_option, env=rita
        )

    # no code (and no terminal to ask on), a wrong code, then a right one and its replay
    assert_refused(add(keys[0]), STEP_UP)
    assert_refused(add(keys[0], "--code", "000000"), STEP_UP)
    fresh = code(secret, steps_ahead=1)  # the login of `person` spent a recovery code
    assert add(keys[1], "--code", fresh).returncode == 0
    assert_refused(add(keys[2], "--code", fresh), STEP_UP)
    listed = ecluse("recipient-keys", "list", env=rita).stdout
    assert listed.count("srv") == 1

    # a password change needs the current one, then every credential of rita stops
    assert_refused(
        ecluse("password", "set", env=rita, stdin="\nUn tout autre mot, et 4 sortes!\n"),
        "current password",
    )
    changed = ecluse(
        "password", "set", env=rita, stdin=f"{PASSWORD}\nUn tout autre mot, et 4 sortes!\n"
    )
    assert changed.returncode == 0 and "revoked" in changed.stdout, changed.stderr
    assert_refused(ecluse("whoami", env=rita), "invalid, expired or revoked")

    # she logs in again; the admin disables her account: the new session stops at once
    session = last(
        ecluse(
            "login",
            "--email",
            "rita.rec@vendor.example",
            env=rita,
            stdin=f"Un tout autre mot, et 4 sortes!\n{fresh_code(secret)}\n",
        )
    )
    again = {**rita, "ECLUSE_TOKEN": session}
    assert "rita.rec@vendor.example" in ecluse("whoami", env=again).stdout
    rita_id = next(
        line.split()[1]
        for line in ecluse("accounts", "list", env={**admin, "COLUMNS": "400"}).stdout.splitlines()
        if "rita.rec@" in line
    )
    assert_refused(ecluse("accounts", "disable", rita_id, "--reason", "x", env=admin), "in writing")
    disabled = ecluse("accounts", "disable", rita_id, "--reason", "left the company", env=admin)
    assert disabled.returncode == 0 and "disabled" in disabled.stdout, disabled.stderr
    assert_refused(ecluse("whoami", env=again), "session invalid")
