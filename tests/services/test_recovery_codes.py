"""Renewing one's recovery codes: with a fresh second factor only; the old codes stop
working, the new ones work once each; a refusal is audited."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from ecluse.audit import Action
from ecluse.db.models import AuditEvent
from ecluse.errors import PolicyViolation
from ecluse.instance.platform import Platform
from ecluse.services import credentials
from ecluse.services.step_up import confirm_presence
from tests.mandates.conftest import parties
from tests.totp_tools import fresh_code

__all__ = ["parties"]


def _last_action(platform: Platform) -> str:
    with platform.db.transaction() as s:
        return s.execute(select(AuditEvent.action).order_by(AuditEvent.seq.desc())).first()[0]


def test_new_recovery_codes_void_the_old_ones(platform: Platform, parties: dict[str, Any]) -> None:
    dora, secret = parties["dora"], parties["totp"]["dora"]
    with pytest.raises(PolicyViolation):
        credentials.renew_recovery_codes(platform, dora, code=None)
    assert _last_action(platform) == Action.STEP_UP_REFUSED.value
    first = credentials.renew_recovery_codes(platform, dora, code=fresh_code(secret))
    assert _last_action(platform) == Action.RECOVERY_RENEW.value
    second = credentials.renew_recovery_codes(platform, dora, code=first[0])  # a code left
    assert len(second) == len(first) == 10 and not set(first) & set(second)
    with pytest.raises(PolicyViolation):  # the first set is void now
        confirm_presence(platform, dora, first[1], command="test")
    confirm_presence(platform, dora, second[0], command="test")
    with pytest.raises(PolicyViolation):  # each works once
        confirm_presence(platform, dora, second[0], command="test")
