"""Agreements and instructions, as every channel performs them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ecluse.audit import Action
from ecluse.db.models import Agreement, Instruction
from ecluse.errors import ValidationError
from ecluse.identity import Permission, Principal
from ecluse.instance.platform import Platform
from ecluse.mandates import agreements
from ecluse.mandates import instructions as ins
from ecluse.packages.allowance import allowance
from ecluse.services import delivery
from ecluse.services.access import permit, refusals_audited
from ecluse.services.step_up import confirm_presence


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


@dataclass(frozen=True, slots=True)
class AgreementRow:
    id: str
    state: str
    controller_id: str
    processor_id: str
    created_at: datetime
    terms_sha256: str


@dataclass(frozen=True, slots=True)
class InstructionView:
    id: str
    state: str
    sha256: str
    content: str  # the signed JSON, as stored


def _row(a: Agreement) -> AgreementRow:
    return AgreementRow(
        a.id, a.state, a.controller_id, a.processor_id, a.created_at, a.terms_sha256
    )


def verify_agreement(platform: Platform, p: Principal, agreement_id: str) -> AgreementRow:
    """The agreement, if its terms are intact and both signatures verify; else refused."""
    permit(platform, p, Permission.DIRECTORY_READ)
    with (
        refusals_audited(platform, p, "agreements verify", agreement=agreement_id),
        platform.db.transaction() as s,
    ):
        return _row(agreements.check_signed(s, agreement_id))


def list_agreements(platform: Platform, p: Principal) -> list[AgreementRow]:
    """Agreements the caller's organisation is a party to, oldest first."""
    permit(platform, p, Permission.AGREEMENT_SIGN)
    with platform.db.transaction() as s:
        rows = s.execute(
            select(Agreement)
            .where(
                or_(
                    Agreement.controller_id == p.organisation_id,
                    Agreement.processor_id == p.organisation_id,
                )
            )
            .order_by(Agreement.created_at)
        ).scalars()
        return [_row(a) for a in rows]


def show_instruction(platform: Platform, p: Principal, instruction_id: str) -> InstructionView:
    """An instruction of the caller's organisation (its controller), as signed."""
    permit(platform, p, Permission.REPORT_READ)
    with (
        refusals_audited(platform, p, "instructions show", instruction=instruction_id),
        platform.db.transaction() as s,
    ):
        row = s.get(Instruction, instruction_id)
        if row is None or p.organisation_id != row.controller_id:
            raise ValidationError("no such instruction of your organisation")
        return InstructionView(row.id, row.state, row.content_sha256, row.content)


_SIDES = (  # what each side's listing needs: the permission of the people on that side
    (Permission.REPORT_READ, ins.Side.CONTROLLER),
    (Permission.EXTRACTION_RUN, ins.Side.PROCESSOR),
    (Permission.PACKAGE_DOWNLOAD, ins.Side.RECIPIENT),
)


def list_instructions(platform: Platform, p: Principal) -> list[ins.Listed]:
    """The instructions the caller's organisation stands to on a side the caller acts on:
    its dpo and auditors see what it instructed, its operators what they may extract under,
    its recipients what is addressed to it (never their content beyond the purpose)."""
    sides = [side for needed, side in _SIDES if needed in p.permissions]
    if not sides:
        permit(platform, p, Permission.REPORT_READ)  # refused, and audited
    with platform.db.transaction() as s:
        found = ins.listed_for(s, p.organisation_id, sides=sides, today=datetime.now(UTC).date())
        return [_with_runs(s, i) for i in found]


def _with_runs(s: Session, listed: ins.Listed) -> ins.Listed:
    """`listed` with the runs it has left: open today only if one is."""
    left = allowance(s, listed.id, content=listed.content).runs_left
    return replace(listed, runs_left=left, open_today=listed.open_today and left > 0)
