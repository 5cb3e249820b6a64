"""Every service refuses by itself and leaves the refusal in the trail, whichever channel
calls it: the wrong role, the wrong party, an id that names nothing. A table of acts, each
run as a person who may not do it; the event names the person and the act, never what they
typed beyond an id."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from ecluse.audit import Action
from ecluse.db.models import AuditEvent
from ecluse.errors import EcluseError
from ecluse.identity import Permission
from ecluse.instance.platform import Platform
from ecluse.services import (
    credentials,
    delivery,
    extraction,
    governance,
    packages,
    reports,
    supervision,
)

NOBODY = "5b0f3c8e-0000-4000-8000-000000000000"  # an id that names nothing
Act = Callable[[Platform, dict[str, Any]], object]


def _extract(platform: Platform, people: dict[str, Any]) -> object:
    return extraction.extract(
        platform,
        people["rita"],
        instruction_id=NOBODY,
        source=io.BytesIO(b"nom;prenom\nA;B\n"),
        source_name="x.csv",
    )


# (act, who tries it, the act, the permission the refusal names)
DENIED: list[tuple[str, str, Act, Permission]] = [
    ("agreements list", "rita", lambda pl, pp: governance.list_agreements(pl, pp["rita"]),
     Permission.AGREEMENT_SIGN),
    ("agreement verify", "rita", lambda pl, pp: governance.verify_agreement(pl, pp["rita"], NOBODY),
     Permission.DIRECTORY_READ),
    ("instruction show", "olga", lambda pl, pp: governance.show_instruction(pl, pp["olga"], NOBODY),
     Permission.REPORT_READ),
    ("runs", "rita", lambda pl, pp: packages.runs(pl, pp["rita"], NOBODY),
     Permission.EXTRACTION_RUN),
    ("inbox", "dora", lambda pl, pp: packages.inbox(pl, pp["dora"]), Permission.EXTRACTION_RUN),
    ("outbox", "olga", lambda pl, pp: packages.shelf(pl, pp["olga"], listing=True),
     Permission.PACKAGE_DOWNLOAD),
    ("packages list", "olga", lambda pl, pp: packages.list_packages(pl, pp["olga"], channel="t"),
     Permission.PACKAGE_DOWNLOAD),
    ("recipient keys", "olga", lambda pl, pp: packages.recipient_keys(pl, pp["olga"]),
     Permission.RECIPIENT_KEYS),
    ("metrics", "rita", lambda pl, pp: supervision.metrics(pl, pp["rita"]),
     Permission.METRICS_READ),
]  # fmt: skip

# (act, who tries it, the act, the command the refusal names)
REFUSED: list[tuple[str, str, Act, str]] = [
    ("instruction of another", "dora",
     lambda pl, pp: governance.show_instruction(pl, pp["dora"], NOBODY), "instructions show"),
    ("report of nothing", "dora",
     lambda pl, pp: reports.migration(pl, pp["dora"], NOBODY), "report migration"),
    ("sign-off by an operator", "carl",
     lambda pl, pp: reports.sign_off(pl, pp["carl"], NOBODY, comment="x" * 20, code=None),
     "report sign-off"),
    ("another's token", "olga",
     lambda pl, pp: credentials.revoke_token(pl, pp["olga"], pp["rita"].token_id),
     "tokens revoke"),
    ("a security report not one's own", "carl",
     lambda pl, pp: supervision.show_report(pl, pp["carl"], NOBODY), "security-report show"),
]  # fmt: skip


def _events(platform: Platform) -> int:
    with platform.db.transaction() as s:
        return int(s.execute(select(func.count()).select_from(AuditEvent)).scalar_one())


def _last(platform: Platform) -> AuditEvent:
    with platform.db.transaction() as s:
        row = s.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
        s.expunge(row)
        return row


def _refused(platform: Platform, people: dict[str, Any], act: Act) -> AuditEvent:
    before = _events(platform)
    with pytest.raises(EcluseError):
        act(platform, people)
    assert _events(platform) > before, "the refusal left no trace"
    return _last(platform)


@pytest.mark.parametrize("case", DENIED, ids=[d[0] for d in DENIED])
def test_a_missing_permission_is_refused_by_the_service_and_audited(
    platform: Platform, parties: dict[str, Any], case: tuple[str, str, Act, Permission]
) -> None:
    _, who, act, needed = case
    event = _refused(platform, parties, act)
    assert event.action == Action.PERMISSION_DENIED.value
    assert event.actor == parties[who].actor
    assert json.loads(event.details)["permission"] == needed.value


@pytest.mark.parametrize("case", REFUSED, ids=[r[0] for r in REFUSED])
def test_a_refused_request_is_audited_with_its_command(
    platform: Platform, parties: dict[str, Any], case: tuple[str, str, Act, str]
) -> None:
    _, who, act, command = case
    event = _refused(platform, parties, act)
    assert event.action == Action.REQUEST_REFUSED.value
    assert event.actor == parties[who].actor
    assert json.loads(event.refs)["command"] == command


def test_what_was_typed_is_kept_only_when_it_is_an_id(
    platform: Platform, parties: dict[str, Any]
) -> None:
    typed = "mdp Bichon#77 of Jean Dupont"
    event = _refused(
        platform, parties, lambda pl, pp: governance.show_instruction(pl, pp["dora"], typed)
    )
    assert json.loads(event.refs)["instruction"] == "not an id"
    assert "Bichon" not in event.refs + event.details


def test_a_package_of_another_organisation_is_refused_audited_and_never_opened(
    platform: Platform, parties: dict[str, Any]
) -> None:
    for act in (
        lambda pl, pp: delivery.open_package(pl, pp["rita"], str(uuid.uuid4())),
        lambda pl, pp: delivery.confirm(pl, pp["rita"], str(uuid.uuid4()), rows=1, sha256="0" * 64),
    ):
        event = _refused(platform, parties, act)
        assert event.action == Action.PACKAGE_REFUSED.value
        assert event.actor == parties["rita"].actor


def test_an_extraction_refused_before_it_starts_is_audited(
    platform: Platform, parties: dict[str, Any]
) -> None:
    event = _refused(platform, parties, _extract)
    assert event.action == Action.EXTRACTION_FAILED.value
    assert json.loads(event.refs) == {"instruction": NOBODY}
    assert json.loads(event.details) == {"reason": "PolicyViolation"}
