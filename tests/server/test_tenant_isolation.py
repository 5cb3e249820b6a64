"""Tenant isolation over the API: a dpo or auditor of one laboratory lists only its own
accounts and the organisations it deals with, and exports only its slice of the audit trail —
a slice that still verifies offline, and that fails to verify once anything in it is changed.
A platform auditor sees across organisations only once the host granted the role."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ecluse.audit.chain import seal_event
from ecluse.audit.export import verify_export
from ecluse.identity import Role, authenticate
from ecluse.instance.platform import Platform
from ecluse.services import governance as acts
from tests.mandates.conftest import terms
from tests.server.conftest import Person, make_person

PASSWORD = "Lock-Keeper-Opens-9-Gates"


@dataclass(frozen=True)
class Labs:
    dpo_a: Person
    auditor_a: Person
    dpo_b: Person
    operator: Person  # the processor lab A has an agreement with
    admin: Person
    platform_auditor: Person
    org_a: str
    org_b: str
    processor: str


def _org_of(platform: Platform, person: Person) -> str:
    with platform.db.transaction() as s:
        return authenticate(s, person.token).organisation_id


@pytest.fixture
def labs(platform: Platform, app_client: TestClient) -> Labs:
    dpo_a, dpo_b = make_person(platform, Role.DPO), make_person(platform, Role.DPO)
    org_a, org_b = _org_of(platform, dpo_a), _org_of(platform, dpo_b)
    operator = make_person(platform, Role.OPERATOR)
    processor = _org_of(platform, operator)
    with platform.db.transaction() as s:
        olga = authenticate(s, operator.token)
    acts.propose_agreement(platform, olga, terms({"controller": org_a, "processor": processor}))
    labs = Labs(
        dpo_a=dpo_a,
        auditor_a=make_person(platform, Role.AUDITOR, org=org_a),
        dpo_b=dpo_b,
        operator=operator,
        admin=make_person(platform, Role.ADMIN),
        platform_auditor=make_person(platform, Role.PLATFORM_AUDITOR),
        org_a=org_a,
        org_b=org_b,
        processor=processor,
    )
    for person in (dpo_a, dpo_b):  # something of each laboratory in the trail
        issued = app_client.post(
            "/v1/me/tokens", json={"name": "x", "days": 1}, headers=person.auth
        )
        assert issued.status_code == 201, issued.text
        refused = app_client.get("/v1/packages", headers=person.auth)
        assert refused.status_code == 403
        app_client.post("/v1/session", json={"email": person.email, "password": "not it"})
    return labs


def test_a_laboratory_lists_its_own_accounts_and_the_organisations_it_deals_with(
    app_client: TestClient, labs: Labs
) -> None:
    for person in (labs.dpo_a, labs.auditor_a):
        accounts = app_client.get("/v1/accounts", headers=person.auth).json()
        assert {a["email"] for a in accounts} == {labs.dpo_a.email, labs.auditor_a.email}
        orgs = app_client.get("/v1/organisations", headers=person.auth).json()
        assert {o["id"] for o in orgs} == {labs.org_a, labs.processor}  # itself, its processor
    orgs_b = app_client.get("/v1/organisations", headers=labs.dpo_b.auth).json()
    assert [o["id"] for o in orgs_b] == [labs.org_b]
    for person in (labs.admin, labs.platform_auditor):  # across organisations
        everyone = {a["email"] for a in app_client.get("/v1/accounts", headers=person.auth).json()}
        assert {labs.dpo_a.email, labs.dpo_b.email, labs.operator.email} <= everyone
        orgs = {o["id"] for o in app_client.get("/v1/organisations", headers=person.auth).json()}
        assert {labs.org_a, labs.org_b, labs.processor} <= orgs


def test_the_platform_auditor_role_is_never_given_by_an_account_creation(
    mail_client: TestClient, labs: Labs
) -> None:
    created = mail_client.post(
        "/v1/accounts",
        json={
            "organisation_id": labs.org_a,
            "email": "pat.audit@lab.example",
            "full_name": "Pat Auditor",
            "roles": ["platform-auditor"],
        },
        headers=labs.admin.auth,
    )
    assert created.status_code == 400 and "host" in created.json()["detail"]


def _slice(app_client: TestClient, person: Person, tmp_path: Path) -> tuple[Path, list[dict]]:  # type: ignore[type-arg]
    response = app_client.get("/v1/audit/export", headers=person.auth)
    assert response.status_code == 200, response.text
    path = tmp_path / "slice.jsonl"
    path.write_text(response.text, encoding="utf-8")
    return path, [json.loads(line) for line in response.text.splitlines()]


def test_an_auditor_exports_only_its_laboratorys_slice_and_it_verifies(
    app_client: TestClient, labs: Labs, platform: Platform, tmp_path: Path
) -> None:
    path, lines = _slice(app_client, labs.auditor_a, tmp_path)
    events = [d for d in lines if d["type"] == "event"]
    assert events and any(d["type"] == "elided" for d in lines)
    with platform.db.transaction() as s:
        b = authenticate(s, labs.dpo_b.token)
    foreign = (labs.dpo_b.email, b.account_id, labs.org_b, labs.dpo_b.token.split("_")[1])
    text = path.read_text()
    assert not any(v in text for v in foreign)  # nothing of lab B, not even its ids
    mine = f"account:{labs.dpo_a.email}"
    assert any(d["actor"] == mine and "token:issue" in d["action"] for d in events)
    assert any(d["action"] == "identity:login:refused" for d in events)  # refs A's account
    report = verify_export(path, pinned={platform.keys.signer().key_id: _public(platform)})
    assert report.ok, report.reason
    assert report.events == len(events)
    verified = app_client.get("/v1/audit/verification", headers=labs.auditor_a.auth).json()
    assert verified["ok"] and 0 < verified["events"] < report.last_seq  # type: ignore[operator]


def test_a_platform_auditor_exports_the_whole_trail(
    app_client: TestClient, labs: Labs, platform: Platform, tmp_path: Path
) -> None:
    path, lines = _slice(app_client, labs.platform_auditor, tmp_path)
    assert lines[0]["format"] == "ecluse-audit-export-v1"
    assert labs.dpo_b.email in path.read_text() and labs.dpo_a.email in path.read_text()
    assert verify_export(path).ok
    # the admin manages organisations and accounts, and reads no trail
    assert app_client.get("/v1/audit/export", headers=labs.admin.auth).status_code == 403


def _public(platform: Platform) -> bytes:
    return platform.keys.signer().public_key


def _first(lines: list[dict[str, Any]], kind: str) -> int:
    return next(i for i, d in enumerate(lines) if d["type"] == kind)


def _rehash(doc: dict[str, Any]) -> None:
    fields = {k: doc[k] for k in ("seq", "ts", "actor", "action", "refs", "details", "prev_hash")}
    doc["hash"] = seal_event(**fields).hash


def _alter_details(lines: list[dict[str, Any]]) -> None:
    lines[_first(lines, "event")]["details"] = '{"ok":true}'


def _alter_and_rehash(lines: list[dict[str, Any]]) -> None:
    i = max(i for i, d in enumerate(lines) if d["type"] == "event" and i + 1 < len(lines))
    lines[i]["actor"] = "account:someone.else@example.org"
    _rehash(lines[i])
    nxt = lines[i + 1]
    if nxt["type"] in ("event", "elided"):
        nxt["prev_hash"] = lines[i]["hash"]


def _drop_event(lines: list[dict[str, Any]]) -> None:
    del lines[[i for i, d in enumerate(lines) if d["type"] == "event"][-1]]


def _move_elided(lines: list[dict[str, Any]]) -> None:
    lines[_first(lines, "elided")]["hash"] = "0" * 64


def _drop_seal(lines: list[dict[str, Any]]) -> None:
    del lines[_first(lines, "seal")]


def _other_organisation(lines: list[dict[str, Any]]) -> None:
    lines[0]["organisation"] = "00000000-0000-4000-8000-000000000000"


def _drop_checkpoints(lines: list[dict[str, Any]]) -> None:
    lines[:] = [d for d in lines if d["type"] != "checkpoint"]


@pytest.mark.parametrize(
    "tamper",
    [
        _alter_details,
        _alter_and_rehash,
        _drop_event,
        _move_elided,
        _drop_seal,
        _other_organisation,
        _drop_checkpoints,
    ],
)
def test_a_tampered_slice_fails_to_verify(
    app_client: TestClient,
    labs: Labs,
    platform: Platform,
    tmp_path: Path,
    tamper: Callable[[list[dict[str, Any]]], None],
) -> None:
    path, lines = _slice(app_client, labs.dpo_a, tmp_path)
    assert verify_export(path).ok
    tamper(lines)
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in lines))
    pinned = {platform.keys.signer().key_id: _public(platform)}
    assert not verify_export(path, pinned=pinned).ok
