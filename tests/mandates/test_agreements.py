"""Art. 28 agreements: complete terms, the right signatories, signatures that verify."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from sqlalchemy import update

from ecluse.db.models import Agreement
from ecluse.errors import IntegrityError, PolicyViolation, ValidationError
from ecluse.instance.platform import Platform
from ecluse.mandates.agreements import CLAUSES, check_signed, parse_terms
from ecluse.services.host import rotate_keys
from tests.mandates.conftest import PEOPLE, propose, sign_as, terms


def test_both_parties_sign_and_it_verifies(platform: Platform, parties: dict[str, Any]) -> None:
    aid = propose(platform, parties["olga"], terms(parties))
    assert sign_as(platform, parties["olga"], aid) == "draft"
    assert sign_as(platform, parties["dora"], aid) == "signed"
    with platform.db.transaction() as s:
        assert check_signed(s, aid).state == "signed"
    with pytest.raises(ValidationError, match="already signed"):
        sign_as(platform, parties["dora"], aid)


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("carl", "through its data-protection officer"),  # the controller, but not its dpo
        ("rita", "not permitted: agreement:sign"),  # the receiving vendor validates nothing
    ],
)
def test_wrong_signatories_are_refused(
    platform: Platform, parties: dict[str, Any], who: str, message: str
) -> None:
    aid = propose(platform, parties["dora"], terms(parties))
    with pytest.raises(PolicyViolation, match=message):
        sign_as(platform, parties[who], aid)


@pytest.mark.parametrize("clause", sorted(CLAUSES))
def test_one_missing_clause_and_nobody_signs(
    platform: Platform, parties: dict[str, Any], clause: str
) -> None:
    raw = terms(parties)
    raw["clauses"] = {k: v for k, v in raw["clauses"].items() if k != clause}
    aid = propose(platform, parties["dora"], raw)
    with pytest.raises(ValidationError, match=rf"clause \({clause}\) missing"):
        sign_as(platform, parties["dora"], aid)


def test_credentials_are_never_a_data_type(platform: Platform, parties: dict[str, Any]) -> None:
    aid = propose(platform, parties["dora"], terms(parties, data_types=["identity", "credential"]))
    with pytest.raises(ValidationError, match="credentials can never"):
        sign_as(platform, parties["dora"], aid)


def test_altered_terms_fail_verification(platform: Platform, parties: dict[str, Any]) -> None:
    aid = propose(platform, parties["olga"], terms(parties))
    sign_as(platform, parties["olga"], aid)
    sign_as(platform, parties["dora"], aid)
    with platform.db.transaction() as s:
        row = s.get(Agreement, aid)
        assert row is not None
        forged = json.loads(row.terms)
        forged["data_subject_categories"].append("laboratory staff")
        body = json.dumps(forged, sort_keys=True, separators=(",", ":"))
        s.execute(
            update(Agreement)
            .where(Agreement.id == aid)
            .values(terms=body, terms_sha256=hashlib.sha256(body.encode()).hexdigest())
        )
    with pytest.raises(IntegrityError), platform.db.transaction() as s:
        check_signed(s, aid)


def test_outsiders_and_bad_terms_are_refused(platform: Platform, parties: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="processor_id must name a processor"):
        propose(platform, parties["dora"], terms(parties, processor_id=parties["recipient"]))
    with pytest.raises(ValidationError, match="subject_matter"):
        parse_terms(terms(parties, subject_matter=""))
    with pytest.raises(ValidationError, match="Extra inputs"):
        parse_terms(terms(parties, surprise="x"))
    other = propose(platform, parties["olga"], terms(parties, duration_end="2026-01-01"))
    with pytest.raises(ValidationError, match="ends before"):
        sign_as(platform, parties["olga"], other)


def test_signing_keys_survive_rotation(platform: Platform, parties: dict[str, Any]) -> None:
    result = rotate_keys(platform, actor="test:admin")
    assert result.rewrapped >= len(PEOPLE) and result.destroyed == [1]
    aid = propose(platform, parties["olga"], terms(parties))
    sign_as(platform, parties["olga"], aid)
    assert sign_as(platform, parties["dora"], aid) == "signed"
    with platform.db.transaction() as s:
        check_signed(s, aid)
