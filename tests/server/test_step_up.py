"""Step-up over HTTPS: each act that commits the organisation needs a fresh code of the
person's app in the same request. Missing, wrong or replayed: 403, audited, nothing done."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from ecluse.db.models import Agreement, AuditEvent, Instruction, RecipientKey
from ecluse.identity import issue
from ecluse.instance.platform import Platform
from ecluse.server.api import create_app
from tests.age_tools import x25519_identity
from tests.mandates.conftest import content, draft, propose, sign_as, terms
from tests.packages.conftest import Migration, agreement, export, migration, parties
from tests.totp_tools import code, fresh_code

__all__ = ["agreement", "export", "migration", "parties"]
REASON = "the laboratory withdrew its request in writing"
COMMENT = "Checked scope, fields, receipt and deletion against our instruction."


def _bearer(platform: Platform, who: Any) -> dict[str, str]:
    with platform.db.transaction() as s:
        token = issue(s, account_id=who.account_id, name="api", days=1, second_factor=True)
    return {"Authorization": f"Bearer {token.token}"}


def _refusals(platform: Platform) -> int:
    with platform.db.transaction() as s:
        query = select(func.count()).where(AuditEvent.action == "identity:step-up:refused")
        return int(s.execute(query).scalar_one())


# each act: who does it, and (given the fixture) the request: method, path, body
Act = Callable[[Migration, Path], tuple[str, str, str, dict[str, Any]]]


def _sign_agreement(m: Migration, tmp: Path) -> tuple[str, str, str, dict[str, Any]]:
    aid = propose(m.platform, m.parties["olga"], terms(m.parties))
    sign_as(m.platform, m.parties["olga"], aid)
    return "dora", "POST", f"/v1/agreements/{aid}/signatures", {}


def _sign_instruction(m: Migration, tmp: Path) -> tuple[str, str, str, dict[str, Any]]:
    iid = draft(m.platform, m.parties["dora"], content(m.parties, m.agreement))
    return "dora", "POST", f"/v1/instructions/{iid}/signature", {}


def _revoke(m: Migration, tmp: Path) -> tuple[str, str, str, dict[str, Any]]:
    iid = m.instruct()
    return "dora", "POST", f"/v1/instructions/{iid}/revocation", {"reason": REASON}


def _sign_off(m: Migration, tmp: Path) -> tuple[str, str, str, dict[str, Any]]:
    iid = m.instruct()  # nothing extracted: nothing left, it may close
    return "dora", "POST", f"/v1/reports/{iid}/sign-off", {"comment": COMMENT}


def _recipient_key(m: Migration, tmp: Path) -> tuple[str, str, str, dict[str, Any]]:
    key = x25519_identity(tmp).recipient
    return "rita", "POST", "/v1/recipient-keys", {"key": key, "label": "import server"}


ACTS = {
    "sign agreement": _sign_agreement,
    "sign instruction": _sign_instruction,
    "revoke instruction": _revoke,
    "sign off": _sign_off,
    "add recipient key": _recipient_key,
}


def _state(m: Migration, path: str) -> str:
    """What the act would change: the keys' count, an agreement's or an instruction's state."""
    with m.platform.db.transaction() as s:
        if path == "/v1/recipient-keys":
            return str(s.execute(select(func.count()).select_from(RecipientKey)).scalar_one())
        kind, ident = path.split("/")[2:4]
        row = s.get(Agreement if kind == "agreements" else Instruction, ident)
        return row.state if row is not None else "none"


@pytest.mark.parametrize("act", ACTS.values(), ids=ACTS.keys())
@pytest.mark.parametrize("attempt", ["missing", "wrong", "replayed"])
def test_no_act_without_a_fresh_code(
    migration: Migration, tmp_path: Path, act: Act, attempt: str
) -> None:
    platform = migration.platform
    who, method, path, body = act(migration, tmp_path)
    secret = migration.parties["totp"][who]
    client = TestClient(create_app(platform), base_url="https://testserver")
    auth = _bearer(platform, migration.parties[who])
    if attempt == "replayed":  # a code already seen (here, by a first attempt of the act)
        seen = code(secret, steps_ahead=1)
        first = client.request(method, path, json={**body, "totp_code": seen}, headers=auth)
        assert first.status_code != 403 or "fresh code" not in first.text
        typed: str | None = seen
    else:
        typed = {"missing": None, "wrong": "000000"}[attempt]
    before = _refusals(platform)
    state_before = _state(migration, path)
    sent = body if typed is None else {**body, "totp_code": typed}
    response = client.request(method, path, json=sent, headers=auth)
    assert response.status_code == 403, response.text
    assert "fresh code" in response.json()["detail"]
    assert _refusals(platform) == before + 1
    assert _state(migration, path) == state_before


@pytest.mark.parametrize("act", ACTS.values(), ids=ACTS.keys())
def test_a_fresh_code_lets_the_act_through(migration: Migration, tmp_path: Path, act: Act) -> None:
    platform = migration.platform
    who, method, path, body = act(migration, tmp_path)
    client = TestClient(create_app(platform), base_url="https://testserver")
    auth = _bearer(platform, migration.parties[who])
    fresh = fresh_code(migration.parties["totp"][who])
    response = client.request(method, path, json={**body, "totp_code": fresh}, headers=auth)
    assert response.status_code in (200, 201), response.text
    assert _refusals(platform) == 0
