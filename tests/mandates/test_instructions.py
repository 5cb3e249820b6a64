"""Instructions (Art. 29): signed by the controller's dpo only, immutable, revocable, and the
only source of the rules an extraction applies."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import update

from ecluse.db.models import Instruction
from ecluse.errors import IntegrityError, PolicyViolation, ValidationError
from ecluse.instance.platform import Platform
from ecluse.mandates import instructions as ins
from ecluse.policy import Engine
from ecluse.services.host import rotate_keys
from ecluse.synth import synthesise
from tests.mandates.conftest import content, draft, propose, signed, terms


def rules_now(platform: Platform, iid: str, today: date = date(2026, 11, 23)) -> Any:
    with platform.db.transaction() as s:
        return ins.governed_rules(s, platform.keys, iid, today=today)


def test_signed_instruction_drives_the_engine(
    platform: Platform, parties: dict[str, Any], agreement: str
) -> None:
    iid = signed(platform, parties, agreement, expected_rows=3000)
    export = synthesise(patients=3000, labs=3, seed=4)
    _, rules = rules_now(platform, iid)
    first = Engine(rules, headers=export.columns).apply(export)
    assert first.columns == ["nir", "birth_name", "birth_date"] and first.height > 0
    # pseudonyms are stable for the instruction, across a KEK rotation too
    rotate_keys(platform, actor="test:admin")
    _, rules = rules_now(platform, iid)
    assert Engine(rules, headers=export.columns).apply(export)["nir"].equals(first["nir"])


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("carl", "not permitted: instruction:sign"),  # the controller's operator
        ("olga", "not permitted: instruction:sign"),  # the processor cannot instruct itself
        ("rita", "not permitted: instruction:sign"),  # nor can the receiving vendor
    ],
)
def test_only_the_controllers_dpo_instructs(
    platform: Platform, parties: dict[str, Any], agreement: str, who: str, message: str
) -> None:
    with pytest.raises(PolicyViolation, match=message):
        draft(platform, parties[who], content(parties, agreement))
    iid = draft(platform, parties["dora"], content(parties, agreement))
    with pytest.raises(PolicyViolation, match=message), platform.db.transaction() as s:
        ins.sign(s, platform.keys, parties[who], iid)


def test_unsigned_agreement_refused(platform: Platform, parties: dict[str, Any]) -> None:
    aid = propose(platform, parties["olga"], terms(parties))
    with pytest.raises(PolicyViolation, match="not signed by both"):
        draft(platform, parties["dora"], content(parties, aid))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"fields": [{"field": "portal_password", "transform": "keep"}]},
            "can never be instructed",
        ),
        ({"fields": [{"field": "portal_login", "transform": "drop"}]}, "can never be instructed"),
        ({"fields": [{"field": "nir", "transform": "year"}]}, "does not apply"),
        ({"scope": "portal_password = 'x'"}, "credential field"),
        ({"scope": "__import__('os')"}, "not a field"),
        ({"scope": "sex = 'F'; drop table instructions"}, "unexpected character"),
        ({"valid_until": "2026-10-01"}, "ends before"),
        ({"tolerance_percent": 150}, "tolerance_percent"),
        ({"surprise": 1}, "Extra inputs"),
    ],
)
def test_unsignable_content_is_refused(
    parties: dict[str, Any], agreement: str, changes: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        ins.parse_content(content(parties, agreement, **changes))


def test_immutable_once_signed(platform: Platform, parties: dict[str, Any], agreement: str) -> None:
    iid = signed(platform, parties, agreement)
    with pytest.raises(ValidationError, match="not a draft"), platform.db.transaction() as s:
        ins.sign(s, platform.keys, parties["dora"], iid)
    with platform.db.transaction() as s:
        row = s.get(Instruction, iid)
        assert row is not None
        forged = json.loads(row.content)
        forged["expected_rows"] = 10_000_000  # a bigger extraction than signed
        s.execute(
            update(Instruction)
            .where(Instruction.id == iid)
            .values(content=json.dumps(forged, sort_keys=True, separators=(",", ":")))
        )
    with pytest.raises(IntegrityError):
        rules_now(platform, iid)


def test_readdressed_instruction_is_refused(
    platform: Platform, parties: dict[str, Any], agreement: str
) -> None:
    """Pointing a signed instruction at another organisation, column only, is caught."""
    iid = signed(platform, parties, agreement)
    with platform.db.transaction() as s:
        s.execute(
            update(Instruction)
            .where(Instruction.id == iid)
            .values(recipient_id=parties["processor"])
        )
    with pytest.raises(IntegrityError, match="disagree"):
        rules_now(platform, iid)


def test_validity_window(platform: Platform, parties: dict[str, Any], agreement: str) -> None:
    iid = signed(platform, parties, agreement)
    for day in (date(2026, 10, 31), date(2027, 1, 1)):
        with pytest.raises(PolicyViolation, match="validity window"):
            rules_now(platform, iid, today=day)


def test_revocation_stops_everything(
    platform: Platform, parties: dict[str, Any], agreement: str
) -> None:
    iid = signed(platform, parties, agreement)
    with pytest.raises(ValidationError, match="written reason"), platform.db.transaction() as s:
        ins.revoke(s, parties["dora"], iid, reason="no")
    with pytest.raises(PolicyViolation), platform.db.transaction() as s:
        ins.revoke(s, parties["olga"], iid, reason="the processor cannot revoke this")
    with platform.db.transaction() as s:
        ins.revoke(s, parties["dora"], iid, reason="scope was wrong: older patients included")
        row = s.get(Instruction, iid)
        assert row is not None and row.wrapped_pseudonym_key is None and row.state == "revoked"
    with pytest.raises(PolicyViolation, match="revoked"):
        rules_now(platform, iid)


def test_draft_gives_no_rules(platform: Platform, parties: dict[str, Any], agreement: str) -> None:
    iid = draft(platform, parties["dora"], content(parties, agreement))
    with pytest.raises(PolicyViolation, match="draft"):
        rules_now(platform, iid)


def test_scope_is_stored_canonically(parties: dict[str, Any], agreement: str) -> None:
    parsed = ins.parse_content(
        content(parties, agreement, scope="last_visit>='2017-05-07' AND sex == 'F'")
    )
    assert parsed.scope == "(last_visit >= '2017-05-07') and (sex = 'F')"
