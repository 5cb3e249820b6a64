"""`instructions list`: each person sees the instructions their organisation stands to, on
the side they act on, and nobody else's; a person acting on no side is refused and audited."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from ecluse.audit import Action
from ecluse.db.models import AuditEvent
from ecluse.errors import PolicyViolation
from ecluse.identity import Permission, Role
from ecluse.identity.permissions import ROLE_PERMISSIONS
from ecluse.instance.platform import Platform
from ecluse.services.governance import list_instructions
from tests.mandates.conftest import agreement, content, draft, parties, signed

__all__ = ["agreement", "parties"]


def _today(days: int = 0) -> str:
    return str((datetime.now(UTC) + timedelta(days=days)).date())


def test_each_side_sees_its_own_instructions(
    platform: Platform, parties: dict[str, Any], agreement: str
) -> None:
    now = signed(platform, parties, agreement, valid_from=_today(-1), valid_until=_today(10))
    later = signed(platform, parties, agreement, valid_from=_today(5), valid_until=_today(10))
    pending = draft(platform, parties["dora"], content(parties, agreement))
    seen = {who: list_instructions(platform, parties[who]) for who in ("dora", "olga", "rita")}

    assert [(i.id, i.side, i.state) for i in seen["dora"]] == [
        (now, "controller", "signed"),
        (later, "controller", "signed"),
        (pending, "controller", "draft"),
    ]
    assert {i.side for i in seen["olga"]} == {"processor"}
    assert {i.side for i in seen["rita"]} == {"recipient"}
    # open today: signed, and today within its validity; only that one may be acted on now
    assert [i.id for i in seen["olga"] if i.open_today] == [now]
    assert all(i.purpose.startswith("Migrate the patients") for i in seen["rita"])
    # the controller's operator acts for no processor of this agreement: nothing of it
    assert list_instructions(platform, parties["carl"]) == []


def test_someone_acting_on_no_side_is_refused_and_audited(
    platform: Platform, parties: dict[str, Any], agreement: str
) -> None:
    signed(platform, parties, agreement)
    for permissions in (ROLE_PERMISSIONS[Role.ADMIN], frozenset({Permission.TOKEN_SELF})):
        nobody = replace(parties["dora"], permissions=permissions)  # e.g. an admin
        with pytest.raises(PolicyViolation):
            list_instructions(platform, nobody)
    with platform.db.transaction() as s:
        last = s.execute(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar_one()
        assert last.action == Action.PERMISSION_DENIED.value
        assert json.loads(last.details)["permission"] == Permission.REPORT_READ.value
