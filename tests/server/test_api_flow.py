"""A migration over the HTTPS API: the operator streams the export in, the recipient logs in
with password and TOTP, downloads and opens the package with `age`, confirms; the dpo reads
the report. Also: upload cap, a wrong party, a login without its second factor."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from ecluse.db.models import AuditEvent, Blob
from ecluse.identity import issue
from ecluse.identity.credentials import set_password
from ecluse.instance.platform import Platform
from ecluse.server.api import create_app
from tests.age_tools import Identity, age_decrypt
from tests.packages.conftest import Migration, agreement, export, identity, migration, parties
from tests.totp_tools import code

__all__ = ["agreement", "export", "identity", "migration", "parties"]
PASSWORD = "Quatorze caractères, et 4 sortes!"


def _bearer(platform: Platform, who: Any) -> dict[str, str]:
    with platform.db.transaction() as s:
        token = issue(s, account_id=who.account_id, name="api", days=1, second_factor=True).token
    return {"Authorization": f"Bearer {token}"}


def _pieces(data: bytes, size: int = 64 << 10) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def test_a_migration_over_https(migration: Migration, identity: Identity) -> None:
    platform, parties = migration.platform, migration.parties
    instruction = migration.instruct(expected_rows=migration.export.frame.height)
    client = TestClient(create_app(platform), base_url="https://testserver")
    olga = _bearer(platform, parties["olga"])
    uploaded = client.put(
        f"/v1/instructions/{instruction}/source?name=export.csv",
        content=_pieces(migration.export.data),
        headers=olga,
    )
    assert uploaded.status_code == 201, uploaded.text
    result = uploaded.json()
    assert result["rows_read"] == migration.export.frame.height
    assert result["rows_in_scope"] == migration.export.in_scope().height
    assert "portal_password" in str(result["dropped"]) or result["dropped"]

    # the recipient, TOTP on: a password alone is refused; with the code, a session
    rita = parties["rita"]
    with platform.db.transaction() as s:
        set_password(s, rita.account_id, PASSWORD)
    weak = client.post("/v1/session", json={"email": rita.email, "password": PASSWORD})
    assert weak.status_code == 401 and PASSWORD not in weak.text
    secret = _totp_secret_of(migration)
    once = code(secret, steps_ahead=1)  # kept: the replay below must be this very code
    strong = client.post(
        "/v1/session", json={"email": rita.email, "password": PASSWORD, "code": once}
    )
    assert strong.status_code == 201 and strong.json()["second_factor"] is True
    auth = {"Authorization": f"Bearer {strong.json()['session']}"}
    listed = client.get("/v1/packages", headers=auth).json()
    assert [p["id"] for p in listed] == [result["package_id"]]
    download = client.get(f"/v1/packages/{result['package_id']}/content", headers=auth)
    assert download.status_code == 200
    assert download.headers["cache-control"] == "no-store"
    plain = age_decrypt(download.content, identity).stdout
    digest = hashlib.sha256(plain).hexdigest()
    assert "plaintext_sha256" not in result and "plaintext_sha256" not in listed[0]
    assert hashlib.sha256(download.content).hexdigest() == result["age_sha256"]

    # not the operator's to download; a wrong receipt deletes nothing
    assert client.get("/v1/packages", headers=olga).status_code == 403
    wrong = client.post(
        f"/v1/packages/{result['package_id']}/receipt",
        json={"rows": 1, "sha256": digest},
        headers=auth,
    )
    assert wrong.status_code >= 400
    rows = result["rows_packaged"]
    ok = client.post(
        f"/v1/packages/{result['package_id']}/receipt",
        json={"rows": rows, "sha256": digest},
        headers=auth,
    )
    assert ok.status_code == 200, ok.text
    replayed = client.post(  # the code of the session above, seen once, never again
        "/v1/session",
        json={"email": rita.email, "password": PASSWORD, "code": once},
    )
    assert replayed.status_code == 401
    runs = client.get(f"/v1/instructions/{instruction}/extractions", headers=olga).json()
    assert [r["state"] for r in runs] == ["packaged"]
    assert client.delete("/v1/session", headers=auth).status_code == 200
    assert client.get("/v1/packages", headers=auth).status_code == 401

    dora = _bearer(platform, parties["dora"])
    report = client.get(f"/v1/reports/{instruction}", headers=dora)
    assert report.status_code == 200 and report.json()["instruction"]["id"] == instruction
    html = client.get(f"/v1/reports/{instruction}/html", headers=dora)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")


def _totp_secret_of(migration: Migration) -> bytes:
    secret: bytes = migration.parties["totp"]["rita"]
    return secret


def test_an_upload_over_the_cap_leaves_nothing(migration: Migration, identity: Identity) -> None:
    platform = migration.platform
    instruction = migration.instruct(expected_rows=migration.export.frame.height)
    capped = platform.settings.model_copy(update={"upload_max_bytes": 100_000})
    platform.settings = capped
    client = TestClient(create_app(platform), base_url="https://testserver")
    response = client.put(
        f"/v1/instructions/{instruction}/source",
        content=_pieces(migration.export.data),
        headers=_bearer(platform, migration.parties["olga"]),
    )
    assert response.status_code == 400, response.text
    assert "cap" in response.json()["detail"] or "interrupted" in response.json()["detail"]
    with platform.db.transaction() as s:
        assert s.execute(select(Blob).where(Blob.state != "shredded")).scalars().all() == []
        failed = s.execute(
            select(AuditEvent.action).where(AuditEvent.action == "packages:extraction:failed")
        ).all()
    assert failed


def test_an_expired_token_is_refused(migration: Migration) -> None:
    platform, olga = migration.platform, migration.parties["olga"]
    with platform.db.transaction() as s:
        token = issue(
            s,
            account_id=olga.account_id,
            name="old",
            days=1,
            now=datetime.now(UTC) - timedelta(days=2),
        ).token
    client = TestClient(create_app(platform), base_url="https://testserver")
    response = client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and token not in response.text


def test_a_client_gone_silent_is_dropped_and_leaves_nothing(
    migration: Migration, identity: Identity
) -> None:
    platform = migration.platform
    instruction = migration.instruct(expected_rows=migration.export.frame.height)
    platform.settings = platform.settings.model_copy(update={"client_timeout_seconds": 0.3})
    headers = _bearer(platform, migration.parties["olga"])

    async def slow() -> AsyncIterator[bytes]:
        yield migration.export.data[: 1 << 16]
        await asyncio.sleep(3)  # then nothing for longer than the timeout
        yield migration.export.data[1 << 16 :]

    async def upload() -> httpx.Response:
        transport = httpx.ASGITransport(app=create_app(platform))
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            return await c.put(
                f"/v1/instructions/{instruction}/source", content=slow(), headers=headers
            )

    response = asyncio.run(upload())
    assert response.status_code == 400 and "TimeoutError" in response.json()["detail"]
    with platform.db.transaction() as s:
        assert s.execute(select(Blob).where(Blob.state != "shredded")).scalars().all() == []
