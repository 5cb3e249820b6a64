"""Separation of duties: whatever an admin does with every route its credential reaches, in
any order, and even reading the mailbox of every account it creates (it picks their e-mail),
no credential it obtains ever holds a permission that reaches health data.

The route table comes from the application itself (as in test_routes.py): a new route an
admin reaches fails `test_every_route_an_admin_reaches_is_analysed` until it is analysed here.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ecluse.db.models import AccountRole
from ecluse.identity import Permission, Role
from ecluse.identity.accounts import HEALTH_ROLES
from ecluse.identity.permissions import HEALTH_DATA, ROLE_PERMISSIONS
from ecluse.instance.platform import Platform
from ecluse.services.alerting import raise_alert
from ecluse.supervision.alerts import AlertKind, Severity
from tests.mail_tools import CODE, Mailbox
from tests.server.conftest import Person
from tests.server.test_routes import _routes
from tests.totp_tools import code as totp_code

P = Permission
#: what the health-data roles may and the admin may not: reading, moving or signing for data
FORBIDDEN = HEALTH_DATA | {
    P.RECIPIENT_KEYS,
    P.AGREEMENT_SIGN,
    P.INSTRUCTION_SIGN,
    P.REPORT_SIGN_OFF,
}
TOKEN = re.compile(r"\becl_[0-9a-f]{16}_[A-Za-z0-9_-]{43}\b")

#: every route an admin's credential reaches, and why it yields no health-data credential
ADMIN_ROUTES = {
    ("GET", "/v1/health"): "public, no data",
    ("POST", "/v1/session"): "public: a session of an account, with its approved roles only",
    ("POST", "/v1/enrol"): "public: needs the code, which only the person's e-mail receives",
    ("DELETE", "/v1/session"): "closes the caller's own session",
    ("GET", "/v1/me"): "reads the caller's own principal",
    ("PUT", "/v1/me/password"): "the caller's own password",
    ("POST", "/v1/me/totp"): "the caller's own second factor",
    ("POST", "/v1/me/totp/confirm"): "the caller's own second factor",
    ("POST", "/v1/me/tokens"): "a token within the caller's own (approved) permissions",
    ("GET", "/v1/me/tokens"): "lists, never shows a secret",
    ("DELETE", "/v1/me/tokens/{token_id}"): "revokes the caller's own token",
    ("POST", "/v1/me/ssh-keys"): "an SSH key for the caller's own account",
    ("GET", "/v1/me/ssh-keys"): "lists the caller's own keys",
    ("POST", "/v1/me/ssh-keys/revocation"): "revokes the caller's own key",
    ("POST", "/v1/organisations"): "an organisation holds no person",
    ("GET", "/v1/organisations"): "a directory",
    ("POST", "/v1/accounts"): "pending health roles; the code goes to the person's e-mail only",
    ("GET", "/v1/accounts"): "a directory",
    ("POST", "/v1/accounts/{account_id}/unlock"): "unlocks, grants nothing",
    ("POST", "/v1/accounts/{account_id}/disable"): "revokes every credential, grants none",
    ("POST", "/v1/service-accounts"): "owner only, roles it holds approved; never an admin",
    ("GET", "/v1/accounts/pending"): "only for the organisation's approver",
    ("POST", "/v1/accounts/{account_id}/roles/{role}/approval"): "the approver, not the grantee",
    ("POST", "/v1/accounts/{account_id}/roles/{role}/refusal"): "removes a role, grants none",
    ("PUT", "/v1/organisations/{organisation_id}/security-contact"): "a controller's dpo",
    ("GET", "/v1/agreements/{agreement_id}/verification"): "verifies signatures, no data",
    ("GET", "/v1/instructions"): "refused by the service: an admin stands to no instruction",
    ("GET", "/v1/alerts"): "reads alerts (no patient data)",
    ("GET", "/v1/alerts/{alert_id}"): "reads an alert",
    ("POST", "/v1/alerts/{alert_id}/{action}"): "its own organisation's alerts only",
    ("PUT", "/v1/organisations/{organisation_id}/alert-contacts/{level}"): "its own org only",
    ("POST", "/v1/security-reports"): "files a report",
    ("GET", "/v1/security-reports"): "its own reports",
    ("GET", "/v1/security-reports/{report_id}"): "its own reports",
    ("GET", "/metrics"): "counters, no data",
}


def test_every_route_an_admin_reaches_is_analysed(app_client: TestClient) -> None:
    admin = ROLE_PERMISSIONS[Role.ADMIN]
    reachable = {
        (method, template)
        for method, template, _, needed in _routes(app_client)
        if needed is None or needed in admin
    }
    assert reachable == set(ADMIN_ROUTES)


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Attacker:
    """The admin, recording every response and every credential it ever gets hold of."""

    def __init__(self, client: TestClient, admin: Person, mailbox: Mailbox) -> None:
        self.client, self.mailbox = client, mailbox
        self.tokens = [admin.token]
        self.puppets: dict[str, str] = {}  # e-mail -> account id
        self.enrolled: dict[str, str] = {}  # e-mail -> its token
        self.seen: list[str] = []

    def call(self, method: str, path: str, token: str, body: Any = None) -> Any:
        response = self.client.request(method, path, json=body, headers=_auth(token))
        self.seen.append(response.text)
        self.tokens += TOKEN.findall(response.text)
        return response

    @property
    def admin(self) -> str:
        return self.tokens[0]

    def enrol_puppet(self, email: str) -> str:
        """The admin reads the mailbox it chose, enrols, and turns a second factor on."""
        if email in self.enrolled:
            return self.enrolled[email]
        code = self.mailbox.enrolment_code(email)
        token = self.client.post("/v1/enrol", json={"email": email, "code": code}).json()["token"]
        self.tokens.append(token)
        uri = self.call("POST", "/v1/me/totp", token).json()["done"]
        secret = re.search(r"secret=([A-Z2-7]+)", uri)
        assert secret is not None
        import base64  # noqa: PLC0415 - only here

        raw = base64.b32decode(secret.group(1) + "=" * (-len(secret.group(1)) % 8))
        assert self.call("POST", "/v1/me/totp/confirm", token, {"code": totp_code(raw)}).is_success
        self.enrolled[email] = token
        return token


def _organisations(a: Attacker) -> dict[str, str]:
    bodies = {
        "controller": {"name": "Lab", "kind": "controller", "finess": "690001235"},
        "processor": {"name": "Vendor", "kind": "processor", "siret": "54208626300010"},
        "recipient": {"name": "New", "kind": "recipient", "siret": "44182078900010"},
    }
    orgs = {
        k: a.call("POST", "/v1/organisations", a.admin, b).json()["done"] for k, b in bodies.items()
    }
    listed = a.call("GET", "/v1/organisations", a.admin).json()
    orgs["platform"] = next(o["id"] for o in listed if o["kind"] == "platform")
    return orgs


def _create_puppets(a: Attacker, orgs: dict[str, str]) -> None:
    """Every role set an admin might give, in every organisation, to mailboxes it reads."""
    for n, (kind, roles) in enumerate(
        itertools.product(orgs, [["dpo"], ["operator"], ["recipient"], ["admin", "recipient"]])
    ):
        email = f"puppet{n}@admin-owned.example"
        body = {
            "organisation_id": orgs[kind],
            "email": email,
            "full_name": "Pup Pet",
            "roles": roles,
        }
        created = a.call("POST", "/v1/accounts", a.admin, body)
        assert not CODE.search(created.text)  # never the code in a response
        if kind == "platform" or "admin" in roles:  # no health role there; no admin elsewhere
            assert created.status_code == 400, created.text
            continue
        assert created.status_code == 201, created.text
        assert created.json()["pending_roles"] == roles
        a.puppets[email] = created.json()["id"]


def _try_every_grant(a: Attacker, orgs: dict[str, str]) -> None:
    """Every approval, designation, service account, token scope and contact, by the admin
    and by each of its enrolled puppets, on every puppet."""
    actors = [a.admin, *(a.enrol_puppet(e) for e in a.puppets)]
    for token, (email, account) in itertools.product(actors, a.puppets.items()):
        for role in ("dpo", "operator", "recipient"):
            approval = a.call("POST", f"/v1/accounts/{account}/roles/{role}/approval", token)
            assert approval.status_code in (400, 403), approval.text
        for kind in ("processor", "recipient"):
            named = a.call(
                "PUT",
                f"/v1/organisations/{orgs[kind]}/security-contact",
                token,
                {"account_id": account},
            )
            assert named.status_code in (400, 403), named.text
            for level in (1, 2):
                contact = a.call(
                    "PUT",
                    f"/v1/organisations/{orgs[kind]}/alert-contacts/{level}",
                    token,
                    {"email": email},
                )
                assert contact.status_code in (400, 403), contact.text
    for token, role in itertools.product(actors, ["operator", "recipient", "auditor"]):
        service = a.call("POST", "/v1/service-accounts", token, {"name": "job", "roles": [role]})
        assert service.status_code in (400, 403), service.text
        foreign = {"owner_id": next(iter(a.puppets.values())), "name": "job", "roles": [role]}
        assert a.call("POST", "/v1/service-accounts", token, foreign).status_code == 422
        scoped = a.call("POST", "/v1/me/tokens", token, {"name": "x", "scopes": sorted(FORBIDDEN)})
        assert scoped.status_code in (400, 403, 422), scoped.text
        assert a.call("GET", "/v1/accounts/pending", token).status_code == 403
    key = {"key": "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p", "label": "x"}
    for token in actors:
        assert a.call("POST", "/v1/recipient-keys", token, key).status_code == 403


def test_no_sequence_of_admin_routes_yields_a_health_data_credential(
    mail_client: TestClient,
    mail_platform: Platform,
    people: dict[Role, Person],
    smtp_server: Mailbox,
) -> None:
    a = Attacker(mail_client, people[Role.ADMIN], smtp_server)
    orgs = _organisations(a)
    _create_puppets(a, orgs)
    assert len(a.puppets) == 9  # 3 organisations x 3 health roles, all pending
    _try_every_grant(a, orgs)
    _try_every_grant(a, orgs)  # again, after whatever the first pass changed
    for token in set(a.tokens):  # every credential the admin ever held
        me = a.call("GET", "/v1/me", token).json()
        assert not set(me["permissions"]) & set(FORBIDDEN), me
        assert not set(me["roles"]) & {r.value for r in HEALTH_ROLES}, me
    assert not any(CODE.search(text) for text in a.seen)
    with mail_platform.db.transaction() as s:
        rows = s.execute(
            select(AccountRole).where(AccountRole.account_id.in_(a.puppets.values()))
        ).scalars()
        assert {r.approved_at for r in rows} == {None}


def test_an_admin_answers_only_its_own_organisations_alerts(
    mail_client: TestClient, mail_platform: Platform, people: dict[Role, Person]
) -> None:
    admin = people[Role.ADMIN]
    orgs = {}
    with mail_platform.db.transaction() as s:
        from ecluse.db.models import Account  # noqa: PLC0415 - only here

        for role in (Role.DPO, Role.RECIPIENT, Role.ADMIN):
            account = s.get(Account, people[role].account_id)
            assert account is not None
            orgs[role] = account.organisation_id
        alerts = {
            role: raise_alert(
                s,
                mail_platform.audit,
                kind=AlertKind.NEW_NETWORK,
                severity=Severity.WARNING,
                organisation_id=org,
                refs={"account": org},
            )
            for role, org in orgs.items()
        }
    for role in (Role.DPO, Role.RECIPIENT):  # another organisation's: refused, both ways
        for action in ("acknowledge", "resolve"):
            refused = mail_client.post(
                f"/v1/alerts/{alerts[role]}/{action}",
                json={"reason": "mine now"},
                headers=admin.auth,
            )
            assert refused.status_code == 403, refused.text
        contact = mail_client.put(
            f"/v1/organisations/{orgs[role]}/alert-contacts/1",
            json={"email": admin.email},
            headers=admin.auth,
        )
        assert contact.status_code == 403, contact.text
    own = mail_client.post(
        f"/v1/alerts/{alerts[Role.ADMIN]}/acknowledge", json={"reason": "on it"}, headers=admin.auth
    )
    assert own.status_code == 200, own.text  # the platform's own alert: the admin's to answer


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_without_e_mail_creating_a_person_is_refused(
    app_client: TestClient, people: dict[Role, Person]
) -> None:
    listed = app_client.get("/v1/organisations", headers=people[Role.ADMIN].auth).json()
    body = {
        "organisation_id": listed[0]["id"],
        "email": "someone@lab.example",
        "full_name": "Some One",
        "roles": ["auditor"],
    }
    refused = app_client.post("/v1/accounts", json=body, headers=people[Role.ADMIN].auth)
    assert refused.status_code == 403
    assert "ECLUSE_ALERTS__SMTP_HOST" in refused.json()["detail"]
    emails = [
        a["email"] for a in app_client.get("/v1/accounts", headers=people[Role.ADMIN].auth).json()
    ]
    assert "someone@lab.example" not in emails  # nothing created
