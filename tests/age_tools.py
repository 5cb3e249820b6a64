"""Debian's `age` and OpenSSH's `ssh-keygen`, as a recipient uses them (installed by
scripts/system-deps.sh): identities made by the real tools, packages opened by the real CLI.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass(frozen=True)
class Identity:
    path: Path  # private key file, as `age -i` takes it
    recipient: str  # public key, as the recipient hands it over


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        pytest.fail(f"{tool} is not installed: run `make dev` (scripts/system-deps.sh)")


def x25519_identity(directory: Path, name: str = "age") -> Identity:
    _need("age-keygen")
    path = directory / f"{name}.key"
    subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
    public = subprocess.run(
        ["age-keygen", "-y", str(path)], check=True, capture_output=True, text=True
    ).stdout.strip()
    return Identity(path, public)


def ssh_identity(directory: Path, name: str = "id_ed25519") -> Identity:
    _need("ssh-keygen")
    path = directory / name
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "import@vendor", "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return Identity(path, path.with_suffix(".pub").read_text().strip())


def age_decrypt(ciphertext: bytes, identity: Identity) -> subprocess.CompletedProcess[bytes]:
    """Run `age -d`; the caller checks returncode (non-zero on any tampering)."""
    _need("age")
    return subprocess.run(
        ["age", "-d", "-i", str(identity.path)], input=ciphertext, capture_output=True, check=False
    )
