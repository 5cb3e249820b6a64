"""Account lifecycle over HTTPS: disabling (the admin; a dpo in their own organisation), a
password change that needs the current password, and enrolment throttled by address in the
database (a new application, or another node, sees the same count)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ecluse.db.models import AuditEvent, LoginFailure
from ecluse.identity import OrgKind, Role, create_account, create_organisation
from ecluse.identity.throttle import ENROL_LIMIT
from ecluse.instance.platform import Platform
from ecluse.server.api import create_app
from tests.server.conftest import Person, make_person

PASSWORD = "Quatorze caractères, et 4 sortes!"
REASON = {"reason": "left the company on 30 November"}


def _org_of(client: TestClient, who: Person) -> str:
    org: str = client.get("/v1/me", headers=who.auth).json()["organisation_id"]
    return org


# who asks, whether the target is in their organisation, and the answer
CASES = {
    "the admin": (Role.ADMIN, False, 200),
    "the organisation's own dpo": (Role.DPO, True, 200),
    "a dpo of another organisation": (Role.DPO, False, 403),
    "an auditor of the same organisation": (Role.AUDITOR, True, 403),
    "an operator": (Role.OPERATOR, True, 403),
}


@pytest.mark.parametrize("case", CASES, ids=CASES)
def test_who_may_disable_an_account(
    platform: Platform, app_client: TestClient, people: dict[Role, Person], case: str
) -> None:
    role, same_org, status = CASES[case]
    caller = people[role]
    org = _org_of(app_client, caller) if same_org else _org_of(app_client, people[Role.DPO])
    if not same_org and role is Role.DPO:
        with platform.db.transaction() as s:
            org = create_organisation(s, name="Another lab", kind=OrgKind.CONTROLLER)
    target = make_person(platform, Role.RECIPIENT, org=org)
    assert app_client.get("/v1/me", headers=target.auth).status_code == 200
    response = app_client.post(
        f"/v1/accounts/{target.account_id}/disable", json=REASON, headers=caller.auth
    )
    assert response.status_code == status, response.text
    after = app_client.get("/v1/me", headers=target.auth).status_code
    assert after == (401 if status == 200 else 200)  # at once, or not at all
    with platform.db.transaction() as s:
        actions = set(s.execute(select(AuditEvent.action)).scalars())
    if status == 200:
        assert "identity:account:disable" in actions
    else:  # refused by the act, or before it by the route's gate: audited either way
        assert actions & {"cli:request:refused", "identity:permission:denied"}


def test_a_password_change_needs_the_current_one(
    app_client: TestClient, people: dict[Role, Person]
) -> None:
    me = people[Role.OPERATOR].auth
    first = app_client.put("/v1/me/password", json={"password": PASSWORD}, headers=me)
    assert first.status_code == 200, first.text  # a first password: the token is the proof
    new = "Un tout autre mot, et 4 sortes!"
    for current in (None, "", "Not the password, 4 kinds!"):
        body = {"password": new} | ({} if current is None else {"current_password": current})
        refused = app_client.put("/v1/me/password", json=body, headers=me)
        assert refused.status_code == 403 and "current password" in refused.text
    changed = app_client.put(
        "/v1/me/password", json={"password": new, "current_password": PASSWORD}, headers=me
    )
    assert changed.status_code == 200
    assert app_client.get("/v1/me", headers=me).status_code == 401  # every token revoked


def test_enrolment_is_throttled_by_address_in_the_database(platform: Platform) -> None:
    with platform.db.transaction() as s:
        org = create_organisation(s, name="Lab", kind=OrgKind.CONTROLLER)
        new = create_account(
            s,
            organisation_id=org,
            email="lea@lab.example",
            full_name="Léa Dupont",
            roles={Role.DPO},
        )
    wrong = {"email": "lea@lab.example", "code": "AAAAA-AAAAA-AAAAA-AAAAA-AAAAA"}
    with TestClient(create_app(platform), base_url="https://testserver") as client:
        for _ in range(ENROL_LIMIT):
            assert client.post("/v1/enrol", json=wrong).status_code == 401
    with platform.db.transaction() as s:
        kept = s.execute(select(func.count()).where(LoginFailure.kind == "enrol")).scalar_one()
    assert kept == ENROL_LIMIT
    right = {"email": "lea@lab.example", "code": new.enrolment_code}
    with TestClient(create_app(platform), base_url="https://testserver") as client:  # a new node
        refused = client.post("/v1/enrol", json=right)
        assert refused.status_code == 401 and "too many failed enrolments" in refused.text
    with platform.db.transaction() as s:  # another address is not throttled
        s.execute(LoginFailure.__table__.update().values(address="198.51.100.1"))
    with TestClient(create_app(platform), base_url="https://testserver") as client:
        assert client.post("/v1/enrol", json=right).status_code == 201
