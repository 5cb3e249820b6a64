"""Every route of the API, walked from the application's own table: 401 without credentials,
403 for every role that lacks the route's permission; problem details and security headers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from ecluse.identity import Permission, Role
from ecluse.identity.permissions import ROLE_PERMISSIONS
from ecluse.server.api.guard import PUBLIC
from tests.mail_tools import Mailbox
from tests.server.conftest import Person

SECURITY_HEADERS = {
    "strict-transport-security",
    "content-security-policy",
    "x-content-type-options",
    "cache-control",
}


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # an included router, prefixed at its source
            yield from _api_routes(route.original_router.routes)


def _routes(client: TestClient) -> list[tuple[str, str, str, Permission | None]]:
    found = []
    for route in _api_routes(client.app.routes):  # type: ignore[attr-defined]
        needed = [
            d.call.permission  # type: ignore[union-attr]
            for d in route.dependant.dependencies
            if hasattr(d.call, "permission")
        ]
        path = route.path_format
        for name in route.param_convertors:
            path = path.replace("{" + name + "}", str(uuid.uuid4()))
        for method in route.methods:
            found.append((method, route.path, path, needed[0] if needed else None))
    return found


def _call(client: TestClient, method: str, path: str, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    body = {} if method in ("POST", "PUT") else None
    return client.request(method, path, json=body, headers=headers or {})


def test_every_route_needs_authentication_and_the_right_role(
    app_client: TestClient, people: dict[Role, Person]
) -> None:
    routes = _routes(app_client)
    assert len(routes) >= 30  # the walk sees the whole API
    for method, template, path, needed in routes:
        public = (method, template) in PUBLIC
        if needed is None:
            assert public, f"{method} {path} has no permission and is not public"
            continue
        anonymous = _call(app_client, method, path)
        assert anonymous.status_code == 401, (method, path, anonymous.text)
        assert anonymous.headers["content-type"] == "application/problem+json"
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        for role, person in people.items():
            if needed in ROLE_PERMISSIONS[role]:
                continue
            response = _call(app_client, method, path, person.auth)
            assert response.status_code == 403, (role, method, path, response.text)
            assert needed.value in response.json()["detail"]


def test_the_admin_reaches_no_health_data(people: dict[Role, Person]) -> None:
    assert not ROLE_PERMISSIONS[Role.ADMIN] & {
        Permission.EXTRACTION_RUN,
        Permission.PACKAGE_DOWNLOAD,
        Permission.RECEIPT_CONFIRM,
        Permission.REPORT_READ,
        Permission.AUDIT_READ,
    }


@pytest.mark.parametrize(
    "credential",
    ["", "Basic dXNlcjpwYXNz", "Bearer nonsense", "Bearer ecl_0123456789abcdef_" + "A" * 43],
)
def test_unknown_paths_and_bad_credentials_answer_401_alike(
    app_client: TestClient, credential: str
) -> None:
    headers = {"Authorization": credential} if credential else {}
    for path in ("/v1/packages", "/v1/no-such-route", "/admin"):
        response = app_client.get(path, headers=headers)
        assert response.status_code == 401
        assert response.json()["status"] == 401
        assert set(response.headers) >= SECURITY_HEADERS


def test_public_routes_carry_no_data(app_client: TestClient) -> None:
    health = app_client.get("/v1/health")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    spec = app_client.get("/openapi.json")
    assert spec.status_code == 200 and "/v1/packages" in spec.json()["paths"]
    assert health.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in health.headers["content-security-policy"]
    assert app_client.get("/docs").status_code == 401  # no pages pulling scripts


def test_bad_bodies_are_refused_cleanly(app_client: TestClient, people: dict[Role, Person]) -> None:
    admin = people[Role.ADMIN].auth
    malformed = app_client.post(
        "/v1/organisations",
        content=b"{not json",
        headers={**admin, "Content-Type": "application/json"},
    )
    assert malformed.status_code == 422
    assert malformed.headers["content-type"] == "application/problem+json"
    secret_looking = "1 85 05 75 123 456 78"
    wrong = app_client.post(
        "/v1/organisations", json={"name": secret_looking, "kind": "nonsense"}, headers=admin
    )
    assert wrong.status_code == 422 and secret_looking not in wrong.text  # input never echoed
    huge = app_client.post(
        "/v1/organisations",
        content=b"{" + b" " * (2 << 20) + b"}",
        headers={**admin, "Content-Type": "application/json"},
    )
    assert huge.status_code == 413
    no_siret = app_client.post(
        "/v1/organisations", json={"name": "New vendor", "kind": "recipient"}, headers=admin
    )
    assert no_siret.status_code == 400 and "SIRET" in no_siret.json()["detail"]


def test_huge_headers_are_refused_before_anything(app_client: TestClient) -> None:
    response = app_client.get("/v1/health", headers={"X-Padding": "a" * (20 << 10)})
    assert response.status_code == 431
    assert response.headers["content-type"] == "application/problem+json"


def test_account_management_over_the_api(
    mail_client: TestClient, people: dict[Role, Person], smtp_server: Mailbox
) -> None:
    admin = people[Role.ADMIN].auth
    lab = mail_client.post(
        "/v1/organisations",
        json={"name": "Laboratoire Test", "kind": "controller", "finess": "690001235"},
        headers=admin,
    )
    assert lab.status_code == 201, lab.text
    bad_key = mail_client.post(
        "/v1/organisations",
        json={"name": "Lab", "kind": "controller", "finess": "690001236"},
        headers=admin,
    )
    assert bad_key.status_code == 400 and "key" in bad_key.json()["detail"]
    created = mail_client.post(
        "/v1/accounts",
        json={
            "organisation_id": lab.json()["done"],
            "email": "lea.dpo@lab.example",
            "full_name": "Léa Dupont",
            "roles": ["dpo"],
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    assert created.json()["pending_roles"] == ["dpo"]
    code = smtp_server.enrolment_code("lea.dpo@lab.example")  # her mailbox, not the response
    assert code not in created.text
    enrolled = mail_client.post("/v1/enrol", json={"email": "lea.dpo@lab.example", "code": code})
    assert enrolled.status_code == 201
    again = mail_client.post("/v1/enrol", json={"email": "lea.dpo@lab.example", "code": code})
    assert again.status_code == 401  # single use
    lea = {"Authorization": f"Bearer {enrolled.json()['token']}"}
    me = mail_client.get("/v1/me", headers=lea).json()
    assert me["roles"] == [] and me["email"] == "lea.dpo@lab.example"  # pending: nothing yet
    tokens = mail_client.get("/v1/me/tokens", headers=lea).json()
    assert [t["id"] for t in tokens] == [enrolled.json()["id"]]
    assert "token" not in tokens[0]  # never the secret again
    listed = mail_client.get("/v1/accounts", headers=admin).json()
    assert next(a["roles"] for a in listed if a["email"] == "lea.dpo@lab.example") == [
        "dpo (pending)"
    ]
