"""The command line on a person's own machine: no database, no key file, only the HTTPS API of
a real `ecluse serve`, its certificate pinned by fingerprint (or trusted through a CA file),
the session kept in a 0600 file of the person's own. Attack cases: a wrong pin sends nothing,
a session file others may read is not used, a plain-HTTP server is refused."""

from __future__ import annotations

import base64
import hashlib
import json
import ssl
from pathlib import Path

import pytest

from ecluse.config import Settings
from tests.cli.helpers import (
    _SECRET,
    PASSWORD,
    assert_refused,
    ecluse,
    instance_admin,
    last,
    person,
)
from tests.server.harness import running
from tests.totp_tools import fresh_code

EMAIL = "rita.recipient@newvendor.example"


def _fingerprint(certificate: Path) -> str:
    der = ssl.PEM_cert_to_DER_cert(certificate.read_text())
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())  # as `serve` prints it


def _client(tmp: Path, port: int, **trust: str) -> dict[str, str]:
    """A person's shell on another machine: a home of its own holding no instance."""
    home = tmp / "laptop"
    (home / "nothing-here").mkdir(parents=True, exist_ok=True)
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "ECLUSE_HOME": str(home / "nothing-here"),  # no database, no key file
        "ECLUSE_SERVER": f"https://127.0.0.1:{port}",
        "COLUMNS": "200",
        **trust,
    }


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_person_works_from_their_own_machine(env: dict[str, str], tmp_path: Path) -> None:
    admin = instance_admin(env)
    org = last(
        ecluse("orgs", "create", "--name", "New vendor", "--kind", "recipient",
               "--siret", "44182078900010", env=admin)
    )  # fmt: skip
    rita = person(env, admin, org, EMAIL, "recipient")
    secret = base64.b32decode(rita[_SECRET])
    settings = Settings(home=Path(env["ECLUSE_HOME"]))
    with running(settings, tmp_path) as server:
        cert = settings.home / "server" / "tls.crt"
        pinned = _client(tmp_path, server.https_port, ECLUSE_SERVER_FINGERPRINT=_fingerprint(cert))

        # a wrong pin: refused before anything is sent (the password never leaves)
        wrong = {**pinned, "ECLUSE_SERVER_FINGERPRINT": "00" * 32}
        assert_refused(
            ecluse("login", "--email", EMAIL, env=wrong, stdin=f"{PASSWORD}\n123456\n"),
            "another fingerprint than the one pinned",
        )
        assert_refused(ecluse("whoami", env=pinned), "not logged in")

        done = ecluse(
            "login", "--email", EMAIL, env=pinned, stdin=f"{PASSWORD}\n{fresh_code(secret)}\n"
        )
        assert done.returncode == 0 and "with a second factor" in done.stdout, done.stderr
        kept = Path(pinned["XDG_CONFIG_HOME"]) / "ecluse" / "session.json"
        assert kept.stat().st_mode & 0o777 == 0o600
        assert kept.parent.stat().st_mode & 0o777 == 0o700
        assert "ecl_" not in done.stdout  # the session is kept, never printed

        who = ecluse("whoami", env=pinned)
        assert who.returncode == 0 and EMAIL in who.stdout and "recipient" in who.stdout
        assert json.loads(ecluse("packages", "list", "--json", env=pinned).stdout) == []
        listed = ecluse("instructions", "list", "--json", env=pinned)
        assert listed.returncode == 0 and json.loads(listed.stdout) == []
        assert not (Path(pinned["ECLUSE_HOME"]) / "ecluse.key").exists()

        # the same session through the server's certificate as a CA file
        by_ca = _client(tmp_path, server.https_port, ECLUSE_SERVER_CA=str(cert))
        assert EMAIL in ecluse("whoami", env=by_ca).stdout

        # a session file others may read is not used
        kept.chmod(0o644)
        assert_refused(ecluse("whoami", env=pinned), "may be read by others")
        kept.chmod(0o600)

        assert ecluse("logout", env=pinned).returncode == 0
        assert not kept.exists()
        assert_refused(ecluse("whoami", env=pinned), "not logged in")

    plain = {**pinned, "ECLUSE_SERVER": f"http://127.0.0.1:{server.https_port}"}
    assert_refused(ecluse("whoami", env=plain), "must be an https:// address")
