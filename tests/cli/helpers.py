"""Running `ecluse` as a process, as a user would."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path

from ecluse.config import Settings
from ecluse.identity import totp
from ecluse.instance.platform import Platform
from tests.mail_tools import approve_all, mailbox_of
from tests.totp_tools import code, fresh_code, remember

ADMIN = ["--admin-email", "ada.admin@lab.example.fr", "--admin-name", "Ada Admin"]


def ecluse(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ecluse", *args],
        env=env,
        input=stdin,
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )


def assert_refused(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode != 0
    assert message in " ".join(result.stderr.split()), result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def last(result: subprocess.CompletedProcess[str]) -> str:
    """The last line a successful command printed (an id, a code, a token)."""
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1].strip()


def person(
    env: dict[str, str],
    admin: dict[str, str],
    org: str,
    email: str,
    role: str,
    *,
    name: str = "Named Person",
    totp_on: bool = True,
) -> dict[str, str]:
    """A named person created by the admin, their role approved, enrolled with the code from
    their own mailbox: the environment acting as them."""
    account_id = last(
        ecluse(
            "accounts", "create", "--org", org, "--email", email, "--name", name,
            "--role", role, env=admin,
        )
    )  # fmt: skip
    approve(env, account_id, role)  # before enrolment: a token's scopes are fixed when issued
    code = mailbox_of(env).enrolment_code(email)
    who = {**env, "ECLUSE_TOKEN": last(ecluse("enrol", "--email", email, "--code", code, env=env))}
    if totp_on and role in ("operator", "recipient", "dpo"):  # health data, signing: a factor
        return with_second_factor(who, email)
    return who


def approve(env: dict[str, str], account_id: str, role: str) -> None:
    """A controller's first dpo: at the host, by the key holder. Any other role (setup that is
    not about approval): as the organisation's dpo or security contact would."""
    if role == "dpo":
        done = ecluse("accounts", "approve-first-dpo", account_id, env=env)
        if done.returncode == 0:
            return
    if role in ("dpo", "operator", "recipient", "auditor"):
        settings = Settings(
            home=Path(env["ECLUSE_HOME"]), database_url=env.get("ECLUSE_DATABASE_URL")
        )
        platform = Platform.open(settings)
        try:
            with platform.db.transaction() as s:
                approve_all(s, account_id)
        finally:
            platform.close()


PASSWORD = "Quatorze caractères, et 4 sortes!"
_SECRET = "TEST_TOTP_SECRET"  # where a test keeps the person's app (never read by ecluse)


def second_factor(who: dict[str, str]) -> bytes:
    """Turn TOTP on with `ecluse totp enable|confirm`, as a person with an app would; keep
    the recovery codes it prints for later step-up codes."""
    uri = last(ecluse("totp", "enable", env=who))
    secret = totp.secret_from_uri(uri)
    confirmed = ecluse("totp", "confirm", env=who, stdin=code(secret) + "\n")
    assert confirmed.returncode == 0, confirmed.stderr
    remember(secret, [w.strip() for w in confirmed.stdout.splitlines() if w.count("-") == 2])
    return secret


def with_second_factor(who: dict[str, str], email: str) -> dict[str, str]:
    """TOTP on, a password, a login with a code, and a token issued from that session: the
    environment of a person whose token carries the second factor."""
    secret = second_factor(who)
    assert ecluse("password", "set", env=who, stdin=PASSWORD + "\n").returncode == 0
    session = last(
        ecluse("login", "--email", email, env=who, stdin=f"{PASSWORD}\n{fresh_code(secret)}\n")
    )
    token = last(ecluse("tokens", "issue", "--name", "cli", env={**who, "ECLUSE_TOKEN": session}))
    return {**who, "ECLUSE_TOKEN": token, _SECRET: base64.b32encode(secret).decode()}


def step_up(who: dict[str, str]) -> list[str]:
    """`--code` and a fresh code of the person's app, for one step-up command."""
    return ["--code", fresh_code(base64.b32decode(who[_SECRET]))]


def instance_admin(env: dict[str, str]) -> dict[str, str]:
    """A new instance, and the environment acting as its first administrator."""
    code = last(ecluse("init", *ADMIN, env=env))
    token = last(ecluse("enrol", "--email", ADMIN[1], "--code", code, env=env))
    return {**env, "ECLUSE_TOKEN": token}
