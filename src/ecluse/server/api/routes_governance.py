"""Agreements (Art. 28) and instructions (Art. 29): create, sign, revoke, read."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from ecluse.server.api.deps import gate, platform_of
from ecluse.server.api.models import Created, InstructionRowOut, RevokeIn, StepUpIn
from ecluse.services import governance as acts
from ecluse.services.vocabulary import (
    AgreementState,
    InstructionState,
    Permission,
    Platform,
    Principal,
)

router = APIRouter(prefix="/v1", tags=["governance"])
Plat = Annotated[Platform, Depends(platform_of)]
Document = Annotated[dict[str, Any], Body(description="As the CLI's TOML/JSON files.")]
StepUpBody = Annotated[StepUpIn | None, Body()]


def _code(body: StepUpIn | None) -> str | None:
    return body.totp_code if body is not None else None


@router.post("/agreements", status_code=201)
def propose_agreement(
    body: Document,
    platform: Plat,
    p: Annotated[Principal, Depends(gate(Permission.AGREEMENT_SIGN))],
) -> Created:
    """Propose an agreement; `problems` lists what keeps it from being signed."""
    agreement_id, problems = acts.propose_agreement(platform, p, body)
    return Created(id=agreement_id, state=AgreementState.DRAFT, problems=problems)


@router.post("/agreements/{agreement_id}/signatures", status_code=201)
def sign_agreement(
    agreement_id: str,
    platform: Plat,
    p: Annotated[Principal, Depends(gate(Permission.AGREEMENT_SIGN))],
    body: StepUpBody = None,
) -> Created:
    """Sign for your party with your personal key; `totp_code`: a fresh code (step-up)."""
    state = acts.sign_agreement(platform, p, agreement_id, code=_code(body))
    return Created(id=agreement_id, state=state)


@router.get("/agreements/{agreement_id}/verification")
def verify_agreement(
    agreement_id: str,
    platform: Plat,
    p: Annotated[Principal, Depends(gate(Permission.DIRECTORY_READ))],
) -> Created:
    """Terms intact and both signatures valid, or 409."""
    agreement = acts.verify_agreement(platform, p, agreement_id)
    return Created(id=agreement.id, state=agreement.state)


@router.post("/instructions", status_code=201)
def draft_instruction(
    body: Document,
    platform: Plat,
    p: Annotated[Principal, Depends(gate(Permission.INSTRUCTION_SIGN))],
) -> Created:
    """Draft an instruction under a signed agreement (the controller's dpo)."""
    return Created(id=acts.draft_instruction(platform, p, body), state=InstructionState.DRAFT)


@router.post("/instructions/{instruction_id}/signature", status_code=201)
def sign_instruction(
    instruction_id: str,
    platform: Plat,
    p: Annotated[Principal, Depends(gate(Permission.INSTRUCTION_SIGN))],
    body: StepUpBody = None,
) -> Created:
    """Sign a draft: from then on it cannot change. `totp_code`: a fresh code (step-up)."""
    acts.sign_instruction(platform, p, instruction_id, code=_code(body))
    return Created(id=instruction_id, state=InstructionState.SIGNED)


@router.post("/instructions/{instruction_id}/revocation")
def revoke_instruction(
    instruction_id: str,
    body: RevokeIn,
    platform: Plat,
    p: Annotated[Principal, Depends(gate(Permission.INSTRUCTION_SIGN))],
) -> Created:
    """Revoke for good: a running extraction stops, packages and quarantines are shredded.
    `totp_code`: a fresh code (step-up)."""
    shredded = acts.revoke_instruction(
        platform, p, instruction_id, body.reason, code=body.totp_code
    )
    return Created(
        id=instruction_id,
        state=InstructionState.REVOKED,
        problems=[f"{shredded} package(s) shredded"],
    )


@router.get("/instructions")
def list_instructions(
    platform: Plat, p: Annotated[Principal, Depends(gate(Permission.TOKEN_SELF))]
) -> list[InstructionRowOut]:
    """The instructions the caller acts on: instructed by their organisation (dpo, auditors),
    to extract under (operators of the processor: `open_today`, `runs_left`), or addressed to
    it (recipients). Refused to whoever acts on none (an admin)."""
    return [
        InstructionRowOut(
            id=i.id,
            state=i.state,
            side=i.side,
            purpose=i.purpose,
            recipient_id=i.recipient_id,
            expected_rows=i.expected_rows,
            valid_from=i.valid_from,
            valid_until=i.valid_until,
            open_today=i.open_today,
            runs_left=i.runs_left,
            created_at=i.created_at,
        )
        for i in acts.list_instructions(platform, p)
    ]


@router.get("/instructions/{instruction_id}")
def show_instruction(
    instruction_id: str,
    platform: Plat,
    p: Annotated[Principal, Depends(gate(Permission.REPORT_READ))],
) -> dict[str, Any]:
    """The instruction as signed, and its state (the controller's dpo and auditors)."""
    row = acts.show_instruction(platform, p, instruction_id)
    return {
        "id": row.id,
        "state": row.state,
        "sha256": row.sha256,
        "content": json.loads(row.content),
    }
