"""The second factor is checked when a credential is made, and fixed on it: a token, session
or SSH key made before TOTP was enabled never reaches health data, whatever happens since."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from ecluse.identity import Principal, Role, totp
from ecluse.identity.permissions import HEALTH_DATA
from ecluse.instance.platform import Platform
from ecluse.services import credentials, ssh
from ecluse.services import identity as acts
from ecluse.services.access import identify
from tests.identity.test_tokens import person
from tests.totp_tools import code

EMAIL = "olga.op@vendor.example"
PASSWORD = "Quatorze caractères, et 4 sortes!"


class Olga:
    """An operator who enrols, sets a password, and later turns TOTP on."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        with platform.db.transaction() as s:
            _, enrolment = person(s, {Role.OPERATOR}, email=EMAIL)
        first = acts.enrol_person(
            platform, email=EMAIL, code=enrolment, days=1, channel="test", address="192.0.2.1"
        )
        self.first_token = first.token
        credentials.change_password(platform, self.as_(first.token), PASSWORD, current=None)
        self.secret: bytes | None = None
        self.pre_session = self.pre_token = ""  # made before TOTP is on

    def as_(self, credential: str) -> Principal:
        return identify(self.platform, credential, channel="test")

    def enable_totp(self) -> None:
        p = self.as_(self.first_token)
        self.secret = totp.secret_from_uri(credentials.begin_totp(self.platform, p))
        credentials.finish_totp(self.platform, p, code(self.secret))

    def session(self, *, with_code: bool) -> str:
        typed = code(self.secret, steps_ahead=1) if with_code and self.secret else None
        done = credentials.log_in(
            self.platform,
            email=EMAIL,
            password=PASSWORD,
            code=typed,
            address="192.0.2.1",
            channel="test",
        )
        assert done.session is not None
        return done.session.token

    def token_from(self, credential: str) -> str:
        return credentials.issue_token(
            self.platform, self.as_(credential), name="from", days=1, scopes=None
        ).token


def _health(p: Principal) -> bool:
    return bool(p.permissions & HEALTH_DATA)


# how the credential is made, relative to TOTP being enabled; whether it may reach health data
Make = Callable[[Olga], str]
CASES: dict[str, tuple[Make, bool]] = {
    "first token from enrolment": (lambda o: o.first_token, False),
    "session opened before TOTP": (lambda o: o.pre_session, False),
    "token minted before TOTP": (lambda o: o.pre_token, False),
    "token minted after TOTP from a no-code token": (lambda o: o.token_from(o.first_token), False),
    "session opened after TOTP with its code": (lambda o: o.session(with_code=True), True),
    "token minted from a second-factor session": (
        lambda o: o.token_from(o.session(with_code=True)),
        True,
    ),
    "token minted from a second-factor token": (
        lambda o: o.token_from(o.token_from(o.session(with_code=True))),
        True,
    ),
}


@pytest.mark.parametrize("case", CASES, ids=CASES)
def test_health_data_only_for_credentials_made_with_a_second_factor(
    platform: Platform, case: str
) -> None:
    olga = Olga(platform)
    olga.pre_session = olga.session(with_code=False)
    olga.pre_token = olga.token_from(olga.first_token)
    olga.enable_totp()
    make, health = CASES[case]
    assert _health(olga.as_(make(olga))) is health


def _public_key(directory: Path, name: str) -> tuple[str, str]:
    path = directory / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    line = (directory / f"{name}.pub").read_text()
    fingerprint = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(directory / f"{name}.pub")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[1]
    return line, fingerprint


def test_an_ssh_key_added_before_totp_never_reaches_health_data(
    platform: Platform, tmp_path: Path
) -> None:
    olga = Olga(platform)
    before, before_fp = _public_key(tmp_path, "before")
    credentials.add_own_ssh_key(platform, olga.as_(olga.first_token), before, "laptop")
    olga.enable_totp()
    after, after_fp = _public_key(tmp_path, "after")
    credentials.add_own_ssh_key(platform, olga.as_(olga.first_token), after, "no factor")
    with_factor, with_fp = _public_key(tmp_path, "with")
    credentials.add_own_ssh_key(
        platform, olga.as_(olga.session(with_code=True)), with_factor, "new"
    )
    for fingerprint, health in ((before_fp, False), (after_fp, False), (with_fp, True)):
        p = ssh.by_key(platform, EMAIL, fingerprint)
        assert p is not None and _health(p) is health, fingerprint
