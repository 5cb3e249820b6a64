"""Parties of a migration, enrolled through the real services, and agreement helpers."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from ecluse.db.models import Instruction
from ecluse.identity import (
    OrgKind,
    Principal,
    Role,
    authenticate,
    create_account,
    create_organisation,
    enrol,
    issue,
)
from ecluse.identity.personal import create_personal_key
from ecluse.instance.platform import Platform
from ecluse.mandates import instructions as ins
from ecluse.mandates.agreements import CLAUSES, create, parse_terms, sign
from tests.mail_tools import approve_all
from tests.totp_tools import enable_totp

PEOPLE = {  # name: (organisation, roles)
    "dora": ("controller", {Role.DPO}),
    "carl": ("controller", {Role.OPERATOR}),
    "olga": ("processor", {Role.OPERATOR}),
    "rita": ("recipient", {Role.RECIPIENT}),
}


@pytest.fixture
def parties(platform: Platform) -> dict[str, Any]:
    """Three organisations and four enrolled people, each with a key, TOTP on (secrets under
    "totp") and a principal."""
    out: dict[str, Any] = {}
    with platform.db.transaction() as s:
        orgs = {
            k: create_organisation(s, name=f"{k.title()} org", kind=OrgKind(k))
            for k in ("controller", "processor", "recipient")
        }
        out.update(orgs)
        for name, (org, roles) in PEOPLE.items():
            new = create_account(
                s,
                organisation_id=orgs[org],
                email=f"{name}@{org}.example",
                full_name=f"{name.title()} Person",
                roles=roles,
            )
            enrol(s, email=new.email, code=new.enrolment_code)
            approve_all(s, new.id)
            create_personal_key(s, platform.keys, account_id=new.id)
            out.setdefault("totp", {})[name] = enable_totp(s, platform.keys, new.id)
            token = issue(s, account_id=new.id, name="t", days=1, second_factor=True).token
            out[name] = authenticate(s, token)
    return out


def terms(parties: dict[str, Any], **changes: Any) -> dict[str, Any]:
    base = {
        "controller_id": parties["controller"],
        "processor_id": parties["processor"],
        "subject_matter": "Migration of the laboratory information system",
        "duration_start": "2026-11-01",
        "duration_end": "2027-01-31",
        "nature_and_purpose": "Extraction and transfer of patient records to the new vendor",
        "data_types": ["identity", "contact", "visit", "clinical"],
        "data_subject_categories": ["patients of the laboratories"],
        "clauses": {
            k: f"The processor {v}, as detailed in annex {k.upper()}." for k, v in CLAUSES.items()
        },
    }
    return {**base, **changes}


def propose(platform: Platform, who: Principal, raw: dict[str, Any]) -> str:
    with platform.db.transaction() as s:
        return create(s, who, parse_terms(raw))


def sign_as(platform: Platform, who: Principal, agreement_id: str) -> str:
    with platform.db.transaction() as s:
        return sign(s, platform.keys, who, agreement_id)


@pytest.fixture
def agreement(platform: Platform, parties: dict[str, Any]) -> str:
    aid = propose(platform, parties["olga"], terms(parties))
    sign_as(platform, parties["olga"], aid)
    sign_as(platform, parties["dora"], aid)
    return aid


def content(parties: dict[str, Any], agreement: str, **changes: Any) -> dict[str, Any]:
    base = {
        "agreement_id": agreement,
        "recipient_id": parties["recipient"],
        "purpose": "Migrate the patients of one laboratory to the new software",
        "source": "old LIS export",
        "scope": "last_visit >= '2017-05-07'",
        "fields": [
            {"field": "nir", "transform": "pseudonymise"},
            {"field": "birth_name", "transform": "keep"},
            {"field": "birth_date", "transform": "year"},
        ],
        "expected_rows": 1000,
        "tolerance_percent": 5,
        "valid_from": "2026-11-01",
        "valid_until": "2026-12-31",
    }
    return {**base, **changes}


def draft(platform: Platform, who: Any, raw: dict[str, Any]) -> str:
    with platform.db.transaction() as s:
        return ins.create(s, who, ins.parse_content(raw))


def signed(platform: Platform, parties: dict[str, Any], agreement: str, **changes: Any) -> str:
    iid = draft(platform, parties["dora"], content(parties, agreement, **changes))
    with platform.db.transaction() as s:
        ins.sign(s, platform.keys, parties["dora"], iid)
    return iid


def signed_as_before_runs(
    platform: Platform, parties: dict[str, Any], agreement: str, **changes: Any
) -> str:
    """An instruction signed as before `runs_allowed` existed: its signed bytes lack it."""
    iid = draft(platform, parties["dora"], content(parties, agreement, **changes))
    with platform.db.transaction() as s:
        row = s.get(Instruction, iid)
        assert row is not None
        old = json.loads(row.content)
        del old["runs_allowed"]
        row.content = json.dumps(old, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        row.content_sha256 = hashlib.sha256(row.content.encode()).hexdigest()
    with platform.db.transaction() as s:
        ins.sign(s, platform.keys, parties["dora"], iid)
    return iid
