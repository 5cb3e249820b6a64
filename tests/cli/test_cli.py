"""The `ecluse` command, run as a process: the happy path and every refusal of issue 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from ecluse.cli import app
from tests.cli.helpers import ADMIN, assert_refused, ecluse
from tests.conftest import SOFTHSM_MODULE


def test_lifecycle(env: dict[str, str], tmp_path: Path) -> None:
    init = ecluse("init", *ADMIN, env=env)
    assert init.returncode == 0, init.stderr
    code = init.stdout.split("shown once:")[1].split()[0]
    assert len(code) == 29 and code.count("-") == 4
    home = Path(env["ECLUSE_HOME"])
    for d in (home, home / "db", home / "store", home / "keys"):
        assert d.stat().st_mode & 0o777 == 0o700
    assert (home / "keys" / "keyring.json").stat().st_mode & 0o777 == 0o600

    again = ecluse("init", *ADMIN, env=env)
    assert_refused(again, "already holds an Écluse instance")

    check = ecluse("selfcheck", env=env)
    assert check.returncode == 0 and "chain verified" in check.stdout, check.stderr
    rotate = ecluse("keys", "rotate", env=env)
    assert rotate.returncode == 0 and "destroyed versions: 1" in rotate.stdout
    status = ecluse("status", env=env)
    assert "KEK v2" in status.stdout and "active" in status.stdout

    export = tmp_path / "audit.jsonl"
    assert ecluse("audit", "export", "-o", str(export), env=env).returncode == 0
    verified = ecluse("audit", "verify", "--json", env=env)
    assert verified.returncode == 0 and json.loads(verified.stdout)["ok"] is True
    offline = ecluse("audit", "verify", "--export", str(export), env=env)
    assert offline.returncode == 0, offline.stdout
    purge = ecluse("audit", "purge", env=env)
    assert purge.returncode == 0 and "purged 0 events" in purge.stdout


def test_verify_names_the_broken_event(env: dict[str, str]) -> None:
    assert ecluse("init", *ADMIN, env=env).returncode == 0
    assert ecluse("selfcheck", env=env).returncode == 0
    url = env.get("ECLUSE_DATABASE_URL") or f"sqlite:///{env['ECLUSE_HOME']}/db/ecluse.sqlite3"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'nobody:x' WHERE seq = 3"))
    engine.dispose()
    result = ecluse("audit", "verify", env=env)
    assert result.returncode == 5 and "BROKEN at seq 3" in result.stdout


def _command_paths() -> list[list[str]]:
    """Every command and group of the app, walked from its own command tree."""
    paths: list[list[str]] = []

    def walk(cmd: Any, path: list[str]) -> None:
        paths.append(path)
        for name, sub in getattr(cmd, "commands", {}).items():  # groups have subcommands
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return paths


@pytest.mark.parametrize("cmd", _command_paths(), ids=lambda p: " ".join(p) or "ecluse")
def test_every_command_has_help(cmd: list[str]) -> None:
    result = CliRunner().invoke(app, [*cmd, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output, cmd


class TestRefusals:
    def test_loose_home_permissions(self, env: dict[str, str]) -> None:
        assert ecluse("init", *ADMIN, env=env).returncode == 0
        Path(env["ECLUSE_HOME"]).chmod(0o755)
        assert_refused(ecluse("status", env=env), "loose permissions (0755)")

    @pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # fails before any database
    def test_missing_home(self, env: dict[str, str]) -> None:
        assert_refused(ecluse("status", env=env), "run `ecluse init` first")

    @pytest.mark.parametrize("content", ["{not json", ""])
    def test_corrupt_key_file(self, env: dict[str, str], content: str) -> None:
        assert ecluse("init", *ADMIN, env=env).returncode == 0
        (Path(env["ECLUSE_HOME"]) / "keys" / "keyring.json").write_text(content)
        assert_refused(ecluse("status", env=env), "is corrupt")

    def test_missing_key_file(self, env: dict[str, str]) -> None:
        assert ecluse("init", *ADMIN, env=env).returncode == 0
        (Path(env["ECLUSE_HOME"]) / "keys" / "keyring.json").unlink()
        assert_refused(ecluse("status", env=env), "keyring.json is missing")

    def test_wrong_passphrase(self, env: dict[str, str]) -> None:
        protected = {**env, "ECLUSE_KEY_PASSPHRASE": "seven words make a good long passphrase"}
        assert ecluse("init", *ADMIN, env=protected).returncode == 0
        assert_refused(ecluse("status", env=env), "passphrase-protected")
        wrong = {**env, "ECLUSE_KEY_PASSPHRASE": "not the right one at all"}
        assert_refused(ecluse("status", env=wrong), "wrong passphrase")
        assert ecluse("selfcheck", env=protected).returncode == 0

    @pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # its own database URL
    def test_database_unreachable(self, env: dict[str, str]) -> None:
        bad = {
            **env,
            "ECLUSE_DATABASE_URL": "postgresql+psycopg://ecluse:s3cret-pw@127.0.0.1:1/ecluse",
        }
        result = ecluse("init", *ADMIN, env=bad)
        assert_refused(result, "database unreachable")
        assert "s3cret-pw" not in result.stderr + result.stdout
        assert not Path(env["ECLUSE_HOME"]).exists()  # nothing half-written

    @pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # fails before any database
    def test_invalid_setting(self, env: dict[str, str]) -> None:
        result = ecluse("status", env={**env, "ECLUSE_KEY_MANAGER": "vault"})
        assert_refused(result, "key_manager")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
class TestHsm:
    @pytest.fixture
    def hsm_env(
        self, env: dict[str, str], hsm_token: tuple[str, str], softhsm_conf: Path
    ) -> dict[str, str]:
        return {
            **env,
            "ECLUSE_KEY_MANAGER": "pkcs11",
            "ECLUSE_PKCS11_TOKEN_LABEL": hsm_token[0],
            "ECLUSE_PKCS11_PIN": hsm_token[1],
            "ECLUSE_PKCS11_MODULE": str(SOFTHSM_MODULE),
            "SOFTHSM2_CONF": str(softhsm_conf),
        }

    def test_hsm_lifecycle(self, hsm_env: dict[str, str]) -> None:
        assert ecluse("init", *ADMIN, env=hsm_env).returncode == 0
        assert not (Path(hsm_env["ECLUSE_HOME"]) / "keys" / "keyring.json").exists()
        check = ecluse("selfcheck", env=hsm_env)
        assert check.returncode == 0, check.stderr
        rotate = ecluse("keys", "rotate", env=hsm_env)
        assert rotate.returncode == 0 and "active version 2" in rotate.stdout
        assert ecluse("audit", "verify", env=hsm_env).returncode == 0

    def test_failed_init_discards_the_token_keys(self, hsm_env: dict[str, str]) -> None:
        bad = ["--admin-email", "not-an-address", "--admin-name", "Ada Admin"]
        assert_refused(ecluse("init", *bad, env=hsm_env), "professional e-mail")
        assert ecluse("init", *ADMIN, env=hsm_env).returncode == 0  # token reusable

    def test_wrong_pin_and_missing_token(self, hsm_env: dict[str, str]) -> None:
        assert ecluse("init", *ADMIN, env=hsm_env).returncode == 0
        assert_refused(ecluse("status", env={**hsm_env, "ECLUSE_PKCS11_PIN": "0000"}), "wrong PIN")
        assert_refused(
            ecluse("status", env={**hsm_env, "ECLUSE_PKCS11_TOKEN_LABEL": "gone"}),
            "token 'gone' not found",
        )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_verify_against_a_pinned_public_key(env: dict[str, str]) -> None:
    assert ecluse("init", *ADMIN, env=env).returncode == 0
    listing = ecluse("keys", "list", env=env)
    public = listing.stdout.strip().splitlines()[-1]
    assert len(bytes.fromhex(public)) == 32
    assert ecluse("audit", "verify", "--public-key", public, env=env).returncode == 0
    other = ecluse("audit", "verify", "--public-key", "ab" * 32, env=env)
    assert other.returncode == 5 and "unknown key" in other.stdout
    assert_refused(ecluse("audit", "verify", "--public-key", "abcd", env=env), "64 digits")


def test_failed_init_leaves_nothing(env: dict[str, str]) -> None:
    bad = ["--admin-email", "not-an-address", "--admin-name", "Ada Admin"]
    assert_refused(ecluse("init", *bad, env=env), "professional e-mail")
    assert not Path(env["ECLUSE_HOME"]).exists()
    assert ecluse("init", *ADMIN, env=env).returncode == 0


def test_help_loads_nothing_of_the_product() -> None:
    """`ecluse --help`, a subcommand's help and a mistyped option answer without the database,
    the cryptography or Polars: the command modules load their services at first use."""
    probe = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from ecluse.cli import app\n"
        "runner = CliRunner()\n"
        "for args in (['--help'], ['instructions', '--help'], ['packages', 'list', '--nope']):\n"
        "    runner.invoke(app, args)\n"
        "heavy = ('sqlalchemy', 'polars', 'cryptography', 'ecluse.db', 'ecluse.identity')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy))\n"
    )
    done = subprocess.run(  # a fresh interpreter: this one has loaded everything already
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
