"""Agreements, instructions, packages and recipient keys, as every channel performs them."""

from __future__ import annotations

from typing import Any

from ecluse.access import refusals_audited
from ecluse.acts.step_up import confirm_presence
from ecluse.audit import Action
from ecluse.db.models import Package, RecipientKey
from ecluse.governance import agreements
from ecluse.governance import instructions as ins
from ecluse.identity import Principal
from ecluse.packages import delivery
from ecluse.packages.recipients import add_key, revoke_key
from ecluse.platform import Platform


def propose_agreement(
    platform: Platform, p: Principal, raw: dict[str, Any]
) -> tuple[str, list[str]]:
    """A new agreement, and what still keeps it from being signed."""
    with refusals_audited(platform, p, "agreements create"), platform.db.transaction() as s:
        terms = agreements.parse_terms(raw)
        agreement_id = agreements.create(s, p, terms)
        platform.audit.append(
            s, actor=p.actor, action=Action.AGREEMENT_CREATE, refs={"agreement": agreement_id}
        )
    return agreement_id, terms.problems()


def sign_agreement(platform: Platform, p: Principal, agreement_id: str, *, code: str | None) -> str:
    """Sign for the caller's party (with a fresh second-factor `code`); the agreement's state
    afterwards."""
    confirm_presence(platform, p, code, command="agreements sign", agreement=agreement_id)
    with (
        refusals_audited(platform, p, "agreements sign", agreement=agreement_id),
        platform.db.transaction() as s,
    ):
        state = agreements.sign(s, platform.keys, p, agreement_id)
        platform.audit.append(
            s,
            actor=p.actor,
            action=Action.AGREEMENT_SIGN,
            refs={"agreement": agreement_id},
            details={"state": state},
        )
    return state


def draft_instruction(platform: Platform, p: Principal, raw: dict[str, Any]) -> str:
    with refusals_audited(platform, p, "instructions create"), platform.db.transaction() as s:
        content = ins.parse_content(raw)
        instruction_id = ins.create(s, p, content)
        platform.audit.append(
            s,
            actor=p.actor,
            action=Action.INSTRUCTION_CREATE,
            refs={"instruction": instruction_id, "agreement": content.agreement_id},
        )
    return instruction_id


def sign_instruction(
    platform: Platform, p: Principal, instruction_id: str, *, code: str | None
) -> None:
    confirm_presence(platform, p, code, command="instructions sign", instruction=instruction_id)
    with (
        refusals_audited(platform, p, "instructions sign", instruction=instruction_id),
        platform.db.transaction() as s,
    ):
        ins.sign(s, platform.keys, p, instruction_id)
        platform.audit.append(
            s, actor=p.actor, action=Action.INSTRUCTION_SIGN, refs={"instruction": instruction_id}
        )


def revoke_instruction(
    platform: Platform, p: Principal, instruction_id: str, reason: str, *, code: str | None
) -> int:
    """Revoke for good; the number of packages shredded."""
    confirm_presence(platform, p, code, command="instructions revoke", instruction=instruction_id)
    with refusals_audited(platform, p, "instructions revoke", instruction=instruction_id):
        return delivery.revoke_instruction(platform, p, instruction_id, reason=reason)


def list_packages(platform: Platform, p: Principal, *, channel: str) -> list[Package]:
    with platform.db.transaction() as s:
        rows = delivery.list_packages(s, p)
        platform.audit.append(
            s,
            actor=p.actor,
            action=Action.PACKAGE_LIST,
            details={"packages": len(rows), "via": channel},
        )
    return rows


def add_recipient_key(
    platform: Platform, p: Principal, public_key: str, label: str, *, code: str | None
) -> RecipientKey:
    confirm_presence(platform, p, code, command="recipient-keys add")
    with refusals_audited(platform, p, "recipient-keys add"), platform.db.transaction() as s:
        row = add_key(s, p, public_key=public_key, label=label)
        platform.audit.append(
            s,
            actor=p.actor,
            action=Action.RECIPIENT_KEY_ADD,
            refs={"key": row.id},
            details={"fingerprint": row.fingerprint, "kind": row.kind},
        )
    return row


def revoke_recipient_key(platform: Platform, p: Principal, key_id: str) -> None:
    with (
        refusals_audited(platform, p, "recipient-keys revoke", key=key_id),
        platform.db.transaction() as s,
    ):
        row = revoke_key(s, p, key_id)
        platform.audit.append(
            s, actor=p.actor, action=Action.RECIPIENT_KEY_REVOKE, refs={"key": row.id}
        )
