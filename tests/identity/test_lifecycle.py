"""An account's end stops every credential at once: disabled (by the admin, or by its own
organisation's dpo), locked after failed logins, or its password changed. Its tokens, its
sessions, its SSH keys and its service accounts' tokens are refused from the next request."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from ecluse.db.models import Account, AuditEvent, Organisation
from ecluse.errors import AuthenticationError, PolicyViolation
from ecluse.identity import (
    OrgKind,
    Principal,
    Role,
    create_account,
    create_organisation,
    enrol,
    issue,
)
from ecluse.identity.accounts import create_service_account
from ecluse.instance.platform import Platform
from ecluse.services import credentials, lifecycle, ssh
from ecluse.services.access import identify
from tests.identity.test_second_factor import EMAIL, PASSWORD, Olga
from tests.mail_tools import approve_all

REASON = "left the company on 30 November"


def _someone(platform: Platform, olga: Olga, role: Role, *, same_org: bool) -> Principal:
    with platform.db.transaction() as s:
        org = s.execute(select(Account.organisation_id).where(Account.email == EMAIL)).scalar_one()
        if not same_org and role == Role.ADMIN:  # admins are of the platform's organisation
            org = s.execute(
                select(Organisation.id).where(Organisation.kind == OrgKind.PLATFORM.value)
            ).scalar_one()
        elif not same_org:
            org = create_organisation(s, name="Elsewhere", kind=OrgKind.CONTROLLER)
        email = f"{role.value}.{'in' if same_org else 'out'}@vendor.example"
        new = create_account(
            s, organisation_id=org, email=email, full_name="Some One", roles={role}
        )
        approve_all(s, new.id)  # approval is not what this test is about
        enrol(s, email=email, code=new.enrolment_code)
        token = issue(s, account_id=new.id, name="t", days=1).token
    return identify(platform, token, channel="test")


class Credentials:
    """Everything olga holds: tokens, a session, an SSH key, a service account's token."""

    def __init__(self, platform: Platform, olga: Olga, tmp: Path) -> None:
        self.tokens = [olga.first_token, olga.token_from(olga.first_token)]
        self.session = olga.session(with_code=False)
        key = tmp / "id"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        parsed = credentials.add_own_ssh_key(
            platform, olga.as_(olga.first_token), (tmp / "id.pub").read_text(), "laptop"
        )
        self.fingerprint = parsed.fingerprint
        with platform.db.transaction() as s:
            owner = s.execute(select(Account.id).where(Account.email == EMAIL)).scalar_one()
            svc = create_service_account(
                s, owner_id=owner, name="nightly export", roles={Role.OPERATOR}, days=7
            )
            self.service_token = issue(s, account_id=svc, name="job", days=7).token

    def live(self, platform: Platform) -> list[str]:
        """Which of them still authenticate."""
        out = []
        for name, credential in [
            *[(f"token {i}", t) for i, t in enumerate(self.tokens)],
            ("session", self.session),
            ("service token", self.service_token),
        ]:
            try:
                identify(platform, credential, channel="test")
                out.append(name)
            except AuthenticationError:
                pass
        if ssh.by_key(platform, EMAIL, self.fingerprint) is not None:
            out.append("ssh key")
        return out


ALL = ["token 0", "token 1", "session", "service token", "ssh key"]


def _disable_by_admin(platform: Platform, olga: Olga) -> None:
    admin = _someone(platform, olga, Role.ADMIN, same_org=False)
    lifecycle.disable(platform, admin, olga.as_(olga.first_token).account_id, reason=REASON)


def _disable_by_own_dpo(platform: Platform, olga: Olga) -> None:
    dpo = _someone(platform, olga, Role.DPO, same_org=True)
    lifecycle.disable(platform, dpo, olga.as_(olga.first_token).account_id, reason=REASON)


def _change_password(platform: Platform, olga: Olga) -> None:
    credentials.change_password(
        platform, olga.as_(olga.first_token), "Un tout autre mot, et 4 sortes!", current=PASSWORD
    )


def _lock(platform: Platform, olga: Olga) -> None:
    locking = Platform.assemble(
        settings=platform.settings.model_copy(update={"login_throttle": "lock"}),
        db=platform.db,
        keys=platform.keys,
    )
    for _ in range(10):
        with pytest.raises(AuthenticationError):
            credentials.log_in(
                locking, email=EMAIL, password="wrong", code=None, address="a", channel="t"
            )


ENDS: dict[str, Callable[[Platform, Olga], None]] = {
    "disabled by the admin": _disable_by_admin,
    "disabled by its organisation's dpo": _disable_by_own_dpo,
    "password changed": _change_password,
    "locked after 10 failures (lock setting)": _lock,
}


@pytest.mark.parametrize("end", ENDS, ids=ENDS)
def test_every_credential_stops_at_once(platform: Platform, tmp_path: Path, end: str) -> None:
    olga = Olga(platform)
    held = Credentials(platform, olga, tmp_path)
    assert held.live(platform) == ALL
    ENDS[end](platform, olga)
    assert held.live(platform) == []


REFUSED: dict[str, tuple[Role, bool]] = {
    "a dpo of another organisation": (Role.DPO, False),
    "an auditor of the same organisation": (Role.AUDITOR, True),
    "an operator of the same organisation": (Role.OPERATOR, True),
}


@pytest.mark.parametrize("who", REFUSED, ids=REFUSED)
def test_only_the_admin_or_the_own_dpo_disables(
    platform: Platform, tmp_path: Path, who: str
) -> None:
    olga = Olga(platform)
    held = Credentials(platform, olga, tmp_path)
    role, same_org = REFUSED[who]
    caller = _someone(platform, olga, role, same_org=same_org)
    with pytest.raises(PolicyViolation):
        lifecycle.disable(platform, caller, olga.as_(olga.first_token).account_id, reason=REASON)
    assert held.live(platform) == ALL
    with platform.db.transaction() as s:
        refused = s.execute(
            select(AuditEvent.refs).where(AuditEvent.action == "cli:request:refused")
        ).scalars()
        assert any("accounts disable" in r for r in refused)


@pytest.mark.parametrize("current", [None, "", "Not the password, 4 kinds!"])
def test_a_password_change_needs_the_current_password(
    platform: Platform, tmp_path: Path, current: str | None
) -> None:
    olga = Olga(platform)
    held = Credentials(platform, olga, tmp_path)
    with pytest.raises(PolicyViolation, match="current password"):
        credentials.change_password(
            platform, olga.as_(olga.first_token), "Un tout autre mot, et 4 sortes!", current=current
        )
    assert held.live(platform) == ALL
    done = credentials.log_in(
        platform, email=EMAIL, password=PASSWORD, code=None, address="a", channel="t"
    )
    assert done.account_id  # the old password still works
