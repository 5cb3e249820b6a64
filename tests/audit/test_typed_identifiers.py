"""Nothing typed into a credential field reaches the audit trail as typed: a refused login,
enrolment or SSH authentication names the account by its id when the identifier matches one,
else by a keyed digest (HMAC-SHA256 under a key derived from the platform key) — never the
e-mail itself, nor a plain hash of it, which anyone could recompute by guessing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select

from ecluse.audit import Action
from ecluse.crypto.identifiers import PREFIX, identifier_digest, identifier_key
from ecluse.crypto.local import LocalKeyManager
from ecluse.db.models import AuditEvent
from ecluse.errors import AuthenticationError
from ecluse.identity import OrgKind, Role, create_account, create_organisation
from ecluse.instance.platform import Platform
from ecluse.server.ssh_auth import Gatekeeper
from ecluse.services import credentials
from ecluse.services import identity as acts

KNOWN = "Lea.Known@Lab.Example.fr"


def _login(platform: Platform, email: str) -> None:
    credentials.log_in(
        platform, email=email, password="wrong", code=None, address="192.0.2.1", channel="https"
    )


def _enrol(platform: Platform, email: str) -> None:
    acts.enrol_person(
        platform,
        email=email,
        code="AAAAA-BBBBB-CCCCC-DDDDD-EEEEE",
        days=1,
        channel="https",
        address="192.0.2.1",
    )


def _ssh(platform: Platform, email: str) -> None:
    gate = Gatekeeper(platform)
    gate.address = "192.0.2.1"
    gate._refused(email, "public key", "SHA256:" + "A" * 43)  # what a refused key records
    raise AuthenticationError("refused")


ATTEMPTS: list[tuple[str, Callable[[Platform, str], None], Action]] = [
    ("login", _login, Action.LOGIN_REFUSED),
    ("enrolment", _enrol, Action.ENROL_REFUSED),
    ("ssh", _ssh, Action.AUTH_REFUSED),
]


def _account(platform: Platform) -> str:
    with platform.db.transaction() as s:
        org = create_organisation(s, name="Lab", kind=OrgKind.CONTROLLER)
        return create_account(
            s, organisation_id=org, email=KNOWN, full_name="Lea Known", roles={Role.DPO}
        ).id


def _last(platform: Platform, action: Action) -> dict[str, Any]:
    with platform.db.transaction() as s:
        row = s.execute(
            select(AuditEvent)
            .where(AuditEvent.action == action.value)
            .order_by(AuditEvent.seq.desc())
            .limit(1)
        ).scalar_one()
        return {"refs": json.loads(row.refs), "details": json.loads(row.details), "raw": row}


def _text(event: dict[str, Any]) -> str:
    raw = event["raw"]
    return f"{raw.actor} {raw.refs} {raw.details}".lower()


@pytest.mark.parametrize(("what", "attempt", "action"), ATTEMPTS, ids=[a[0] for a in ATTEMPTS])
def test_a_refusal_names_a_known_account_by_its_id_and_an_unknown_one_by_a_keyed_digest(
    platform: Platform, what: str, attempt: Callable[[Platform, str], None], action: Action
) -> None:
    account = _account(platform)
    with pytest.raises(AuthenticationError):
        attempt(platform, f"  {KNOWN.upper()} ")
    known = _last(platform, action)
    assert known["refs"]["account"] == account
    assert "identifier" not in known["details"] and KNOWN.lower() not in _text(known)
    digests = []
    for typed in ("nobody@lab.example.fr", " NOBODY@lab.example.fr", "other@lab.example.fr"):
        with pytest.raises(AuthenticationError):
            attempt(platform, typed)
        unknown = _last(platform, action)
        assert "account" not in unknown["refs"] and typed.strip().lower() not in _text(unknown)
        digests.append(unknown["details"]["identifier"])
    plain = hashlib.sha256(b"nobody@lab.example.fr").hexdigest()
    assert digests[0] == digests[1] != digests[2]  # the same identifier, the same digest
    assert digests[0].startswith(PREFIX) and plain[:32] not in digests[0]
    if what == "login":  # the address and the reason are still there for the detectors
        assert unknown["details"]["address"] == "192.0.2.1" and unknown["details"]["reason"]


def test_the_digest_key_is_the_platforms_own_and_stable(platform: Platform, tmp_path: Any) -> None:
    key = identifier_key(platform.keys.signer())
    assert key == identifier_key(platform.keys.signer())  # Ed25519 is deterministic
    other = LocalKeyManager.create(path=tmp_path / "other.json", passphrase=None)
    assert identifier_key(other.signer()) != key  # another instance: other digests
    assert identifier_digest(key, "a@b.fr") != identifier_digest(
        identifier_key(other.signer()), "a@b.fr"
    )
