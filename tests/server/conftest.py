"""An HTTPS API application on a fresh instance, and bearer tokens of one person per role
(each with TOTP on, so that only roles, never a missing factor, decide what they may do)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from ecluse.config import Settings
from ecluse.db.models import AccountRole, Organisation
from ecluse.identity import OrgKind, Role, create_account, create_organisation, enrol, issue
from ecluse.identity.personal import create_personal_key
from ecluse.instance.platform import Platform
from ecluse.server.api import create_app
from tests.mail_tools import Mailbox, approve_all
from tests.totp_tools import enable_totp

ORG_OF = {
    Role.ADMIN: OrgKind.PLATFORM,
    Role.DPO: OrgKind.CONTROLLER,
    Role.OPERATOR: OrgKind.PROCESSOR,
    Role.RECIPIENT: OrgKind.RECIPIENT,
    Role.AUDITOR: OrgKind.CONTROLLER,
    Role.PLATFORM_AUDITOR: OrgKind.PLATFORM,
}


@dataclass(frozen=True)
class Person:
    account_id: str
    email: str
    token: str
    totp_secret: bytes

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def make_person(platform: Platform, role: Role, *, org: str | None = None) -> Person:
    """A platform auditor is made as the host makes one: an auditor, then the role swapped."""
    host_granted = role is Role.PLATFORM_AUDITOR
    with platform.db.transaction() as s:
        if host_granted and org is None:  # the instance's own organisation
            org = s.execute(
                select(Organisation.id)
                .where(Organisation.kind == OrgKind.PLATFORM.value)
                .order_by(Organisation.created_at)
                .limit(1)
            ).scalar_one()
        org = org or create_organisation(s, name=f"{role.value} org", kind=ORG_OF[role])
        email = f"{role.value}.{org[:8]}@example.org"
        new = create_account(
            s,
            organisation_id=org,
            email=email,
            full_name=f"{role.value.title()} Person",
            roles={Role.AUDITOR if host_granted else role},
        )
        if host_granted:
            s.execute(delete(AccountRole).where(AccountRole.account_id == new.id))
            s.add(AccountRole(account_id=new.id, role=role.value))
            s.flush()
        enrol(s, email=email, code=new.enrolment_code)
        approve_all(s, new.id)
        create_personal_key(s, platform.keys, account_id=new.id)
        secret = enable_totp(s, platform.keys, new.id)
        token = issue(s, account_id=new.id, name="test", days=1, second_factor=True).token
    return Person(new.id, email, token, secret)


@pytest.fixture
def app_client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform), base_url="https://testserver") as client:
        yield client


@pytest.fixture
def mail_platform(
    platform: Platform, settings: Settings, smtp_server: Mailbox
) -> Iterator[Platform]:
    """The same instance, with e-mail: enrolment codes go to the real SMTP server."""
    mailed = Platform.open(settings.model_copy(update={"alerts": smtp_server.settings}))
    yield mailed
    mailed.close()


@pytest.fixture
def mail_client(mail_platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(mail_platform), base_url="https://testserver") as client:
        yield client


@pytest.fixture
def people(platform: Platform) -> dict[Role, Person]:
    return {role: make_person(platform, role) for role in Role}
