"""Running `ecluse` as a process, as a user would."""

from __future__ import annotations

import subprocess
import sys

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
) -> dict[str, str]:
    """A named person created by the admin and enrolled: the environment acting as them."""
    code = last(
        ecluse(
            "accounts",
            "create",
            "--org",
            org,
            "--email",
            email,
            "--name",
            name,
            "--role",
            role,
            env=admin,
        )
    )
    return {
        **env,
        "ECLUSE_TOKEN": last(ecluse("enrol", "--email", email, "--code", code, env=env)),
    }


def instance_admin(env: dict[str, str]) -> dict[str, str]:
    """A new instance, and the environment acting as its first administrator."""
    code = last(ecluse("init", *ADMIN, env=env))
    token = last(ecluse("enrol", "--email", ADMIN[1], "--code", code, env=env))
    return {**env, "ECLUSE_TOKEN": token}
