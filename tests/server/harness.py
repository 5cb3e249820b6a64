"""`ecluse serve` as a process on free ports, and Debian's OpenSSH `sftp` client driving it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from ecluse.config import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class Running:
    https_port: int
    sftp_port: int
    output: Path
    home: Path
    pid: int = 0  # the server process (a test may kill it)

    def known_hosts(self, directory: Path) -> Path:
        """The server's host key, pinned as a user would after checking its fingerprint."""
        key = (self.home / "server" / "ssh_host_ed25519_key").read_bytes()
        public = (
            subprocess.run(
                ["ssh-keygen", "-y", "-f", "/dev/stdin"], input=key, capture_output=True, check=True
            )
            .stdout.decode()
            .strip()
        )
        path = directory / "known_hosts"
        path.write_text(f"[127.0.0.1]:{self.sftp_port} {public}\n")
        return path


def server_env(settings: Settings, https_port: int, sftp_port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECLUSE_")}
    env |= {
        "ECLUSE_HOME": str(settings.home),
        "ECLUSE_HTTPS_PORT": str(https_port),
        "ECLUSE_SFTP_PORT": str(sftp_port),
        "ECLUSE_CLIENT_TIMEOUT_SECONDS": "20",
    }
    if settings.database_url:
        env["ECLUSE_DATABASE_URL"] = settings.database_url
    return env


@contextmanager
def running(settings: Settings, tmp: Path, **extra_env: str) -> Iterator[Running]:
    https_port, sftp_port = free_port(), free_port()
    output = tmp / "serve.log"
    env = server_env(settings, https_port, sftp_port) | extra_env
    with output.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ecluse", "serve"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while b"ready" not in output.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"ecluse serve did not start: {output.read_text()}")
            time.sleep(0.1)
        yield Running(https_port, sftp_port, output, settings.home, proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def sftp(
    server: Running,
    user: str,
    batch: str,
    *,
    key: Path | None,
    directory: Path,
    password_and_code: tuple[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run OpenSSH's `sftp` with a batch of commands (as `sftp -b`), non-interactively."""
    if shutil.which("sftp") is None:
        pytest.fail("OpenSSH's sftp client is missing: run `make dev` (scripts/system-deps.sh)")
    script = directory / "batch"
    script.write_text(batch)
    options = [
        "-o", f"UserKnownHostsFile={server.known_hosts(directory)}",
        "-o", "StrictHostKeyChecking=yes",
        "-o", "ConnectTimeout=10",
        "-o", "NumberOfPasswordPrompts=1",
    ]  # fmt: skip
    if key is not None:
        options += [
            "-o",
            "PreferredAuthentications=publickey",
            "-o",
            "IdentitiesOnly=yes",
            "-i",
            str(key),
        ]
    else:
        options += [
            "-o",
            "PreferredAuthentications=keyboard-interactive",
            "-o",
            "PubkeyAuthentication=no",
        ]
    command = [
        "sftp",
        "-b",
        str(script),
        "-P",
        str(server.sftp_port),
        *options,
        f"{user}@127.0.0.1",
    ]
    if password_and_code is not None:  # `-b` forbids prompts: commands on stdin instead
        command = ["sftp", *command[3:]]
        return _with_askpass(command, password_and_code, directory, batch)
    return subprocess.run(
        command, capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL
    )


def sftp_session(
    server: Running, user: str, *, key: Path, directory: Path
) -> subprocess.Popen[str]:
    """OpenSSH's `sftp` kept open, reading its commands from standard input (`-b -`) as the
    test writes them: one connection across acts of others."""
    if shutil.which("sftp") is None:
        pytest.fail("OpenSSH's sftp client is missing: run `make dev` (scripts/system-deps.sh)")
    command = [
        "sftp", "-b", "-", "-P", str(server.sftp_port),
        "-o", f"UserKnownHostsFile={server.known_hosts(directory)}",
        "-o", "StrictHostKeyChecking=yes", "-o", "ConnectTimeout=10",
        "-o", "PreferredAuthentications=publickey", "-o", "IdentitiesOnly=yes",
        "-i", str(key), f"{user}@127.0.0.1",
    ]  # fmt: skip
    return subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _with_askpass(
    command: list[str], answers: tuple[str, str], directory: Path, batch: str
) -> subprocess.CompletedProcess[str]:
    """OpenSSH asks each prompt through SSH_ASKPASS when it has no terminal: answer the
    password prompt, then the code prompt."""
    askpass = directory / "askpass"
    state = directory / "askpass.n"
    askpass.write_text(
        "#!/bin/sh\n"
        f'n=$(cat "{state}" 2>/dev/null || echo 0); echo $((n+1)) > "{state}"\n'
        f'if [ "$n" = 0 ]; then cat "{directory}/answer0"; else cat "{directory}/answer1"; fi\n'
    )
    askpass.chmod(0o700)
    (directory / "answer0").write_text(answers[0] + "\n")
    (directory / "answer1").write_text(answers[1] + "\n")
    env = {
        **os.environ,
        "SSH_ASKPASS": str(askpass),
        "SSH_ASKPASS_REQUIRE": "force",
        "DISPLAY": ":0",
    }
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
        input=batch,
    )
