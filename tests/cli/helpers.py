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
