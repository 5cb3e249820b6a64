"""A person's own credentials through the CLI: password, TOTP with recovery codes, SSH keys;
the administrator unlocks. Secrets come on standard input, never on the command line."""

from __future__ import annotations

import base64
import json
import subprocess
import time
import urllib.parse
from pathlib import Path

from ecluse.identity import totp
from tests.cli.helpers import assert_refused, ecluse, instance_admin, last, person

EMAIL = "olga.op@vendor.example"


def test_password_totp_and_ssh_keys(env: dict[str, str], tmp_path: Path) -> None:
    admin = instance_admin(env)
    vendor = last(
        ecluse(
            "orgs",
            "create",
            "--name",
            "Old Vendor",
            "--kind",
            "processor",
            "--siret",
            "54208626300010",
            env=admin,
        )
    )
    olga = person(
        env,
        admin,
        vendor,
        EMAIL,
        "operator",
        name="Olga Operator",
        totp_on=False,
    )

    assert_refused(ecluse("password", "set", env=olga, stdin="azerty2026!\n"), "too weak")
    assert_refused(
        ecluse("password", "set", env=olga, stdin="Olga-Operator#2026\n"), "name or your e-mail"
    )
    assert ecluse("password", "set", env=olga, stdin="Vq7#kPz2!mW4\n").returncode == 0

    uri = last(ecluse("totp", "enable", env=olga))
    text = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
    secret = base64.b32decode(text + "=" * (-len(text) % 8))
    assert_refused(ecluse("totp", "confirm", env=olga, stdin="000000\n"), "TOTP not enabled")
    now_code = totp.hotp(secret, totp.step_at(time.time()))
    confirmed = ecluse("totp", "confirm", env=olga, stdin=f"{now_code}\n")
    assert confirmed.returncode == 0, confirmed.stderr
    recovery = [line.strip() for line in confirmed.stdout.splitlines() if line.count("-") == 2]
    assert len(recovery) == 10

    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    short = tmp_path / "id_rsa"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", str(short)], check=True
    )
    added = last(ecluse("ssh-keys", "add", f"{key}.pub", "--label", "laptop", env=olga))
    fingerprint = added.split()[1]
    assert fingerprint.startswith("SHA256:")
    assert_refused(
        ecluse("ssh-keys", "add", f"{short}.pub", "--label", "old", env=olga), "3072 bits"
    )
    assert fingerprint in " ".join(ecluse("ssh-keys", "list", env=olga).stdout.split())
    assert ecluse("ssh-keys", "revoke", fingerprint, env=olga).returncode == 0
    assert fingerprint not in ecluse("ssh-keys", "list", env=olga).stdout

    # health data needs a credential made with the second factor: a login with a code
    login = f"Vq7#kPz2!mW4\n{recovery[0]}\n"
    olga = {**olga, "ECLUSE_TOKEN": last(ecluse("login", "--email", EMAIL, env=olga, stdin=login))}
    # a service account that olga creates for herself, and its token; never the admin
    created = ecluse(
        "accounts", "create-service", "--name", "nightly export",
        "--role", "operator", "--days", "30", env={**olga, "COLUMNS": "400"},
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    service = {**env, "ECLUSE_TOKEN": created.stdout.strip().splitlines()[-1].strip()}
    assert "operator" in ecluse("whoami", env=service).stdout
    assert_refused(
        ecluse(
            "accounts", "create-service", "--name", "x", "--role", "dpo", "--days", "30", env=olga
        ),
        "only roles you hold",
    )
    assert_refused(
        ecluse(
            "accounts", "create-service", "--name", "x", "--role", "operator", "--days", "30",
            env=admin,
        ),
        "never an admin",
    )  # fmt: skip

    nobody = "0b5f0000-0000-4000-8000-000000000000"
    assert_refused(ecluse("accounts", "unlock", nobody, env=olga), "not permitted: account:manage")
    assert_refused(ecluse("accounts", "unlock", nobody, env=admin), "no active account")

    # audited, and no secret in the trail
    export = tmp_path / "audit.jsonl"
    assert ecluse("audit", "export", "-o", str(export), env=env).returncode == 0
    trail = export.read_text()
    actions = [json.loads(line).get("action") for line in trail.splitlines()]
    for action in ("identity:password:set", "identity:totp:enable", "identity:ssh-key:add"):
        assert action in actions
    assert actions.count("cli:request:refused") == 7
    for secret_text in ("Vq7#kPz2!mW4", "azerty2026!", text, *recovery):
        assert secret_text not in trail
