"""Instructions (GDPR Art. 29): what a processor may extract, for whom, and until when.

Drafted and signed by the controller's dpo only, under a signed agreement; immutable once
signed (the signed bytes are what is stored); revocable, which destroys the instruction's
pseudonymisation key so nothing more can be produced under it. A credential field, or a
transform that does not fit its field, is refused before anything is stored.

The volume is bound to the instruction, not to a run: `expected_rows` and `tolerance_percent`
bound the rows of all its runs together, and `runs_allowed` (default 1) how many runs may
package under it. An instruction signed before `runs_allowed` existed lacks the field in its
signed bytes: it still verifies (the stored bytes are what is checked) and means one run.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import Field
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ecluse.crypto._primitives import random_bytes
from ecluse.crypto.envelope import pseudonym_key_aad
from ecluse.crypto.interfaces import KeyManager, WrappedKey
from ecluse.crypto.signatures import verify
from ecluse.db.models import Agreement, Instruction, Organisation, PersonalKey
from ecluse.errors import IntegrityError, PolicyViolation, ValidationError
from ecluse.governance.document import Document
from ecluse.governance.scope import parse_scope, to_text
from ecluse.identity.permissions import require
from ecluse.identity.personal import signer_for
from ecluse.identity.tokens import Principal
from ecluse.kinds import Permission, Role
from ecluse.mandates.agreements import check_signed
from ecluse.policy.rules import FieldRule, Rules, Transform, row_bounds


class InstructionState(StrEnum):
    DRAFT = "draft"
    SIGNED = "signed"  # in force within its validity window
    REVOKED = "revoked"


_PLACEHOLDER_KEY = bytes(32)  # only to validate rules before the real key exists
MAX_RUNS = 20


class FieldSpec(Document):
    field: str
    transform: Transform


class Content(Document):
    """What the dpo signs."""

    agreement_id: str
    recipient_id: str
    purpose: str = Field(min_length=10)
    source: str = Field(min_length=3)
    scope: str | None = None
    fields: list[FieldSpec] = Field(min_length=1)
    expected_rows: int = Field(ge=0)
    tolerance_percent: int = Field(ge=0, le=100)
    runs_allowed: int = Field(default=1, ge=1, le=MAX_RUNS)  # extractions that may package
    valid_from: date
    valid_until: date
    retention_days_after_receipt: int = Field(default=0, ge=0, le=365)
    deadline_days: int = Field(default=30, ge=1, le=90)

    def valid_on(self, day: date) -> bool:
        """Whether `day` lies in the validity window (both ends included)."""
        return self.valid_from <= day <= self.valid_until

    @property
    def tolerance(self) -> Decimal:
        return Decimal(self.tolerance_percent) / 100  # exact: 13 % is 0.13

    @property
    def row_bounds(self) -> tuple[int, int]:
        """(minimum, maximum) rows in scope of all the instruction's runs together."""
        return row_bounds(self.expected_rows, self.tolerance)

    def rules(self, key: bytes) -> Rules:
        return Rules(
            fields=tuple(FieldRule(f.field, f.transform) for f in self.fields),
            expected_rows=self.expected_rows,
            tolerance=self.tolerance,
            pseudonym_key=key,
            scope=parse_scope(self.scope) if self.scope else None,
        )


def parse_content(raw: dict[str, object]) -> Content:
    """Validated content, with its scope in canonical form; refuses what could never be signed."""
    content = Content.read(raw, what="instruction")
    if content.valid_until <= content.valid_from:
        raise ValidationError("instruction: validity ends before it starts")
    content.rules(_PLACEHOLDER_KEY)  # credential fields, unfit transforms, bad scope
    if content.scope:
        content = content.model_copy(update={"scope": to_text(parse_scope(content.scope))})
    return content


def _message(instruction_id: str, content: bytes) -> bytes:
    return b"ecluse-instruction-v1|" + instruction_id.encode() + b"|" + content


def _as_controller_dpo(principal: Principal, controller_id: str) -> None:
    require(principal.permissions, Permission.INSTRUCTION_SIGN)
    if principal.organisation_id != controller_id or Role.DPO not in principal.roles:
        raise PolicyViolation("only a dpo of the controller instructs")


def create(session: Session, principal: Principal, content: Content) -> str:
    agreement = check_signed(session, content.agreement_id)
    _as_controller_dpo(principal, agreement.controller_id)
    recipient = session.get(Organisation, content.recipient_id)
    if recipient is None or recipient.kind != "recipient":
        raise ValidationError("recipient_id must name a recipient organisation")
    body = content.canonical()
    row = Instruction(
        id=str(uuid.uuid4()),
        agreement_id=agreement.id,
        controller_id=agreement.controller_id,
        recipient_id=recipient.id,
        content=body.decode(),
        content_sha256=hashlib.sha256(body).hexdigest(),
        state=InstructionState.DRAFT,
        created_by=principal.account_id,
        created_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    return row.id


def _get(session: Session, instruction_id: str) -> Instruction:
    row = session.get(Instruction, instruction_id)
    if row is None:
        raise ValidationError("no such instruction")
    return row


def sign(session: Session, keys: KeyManager, principal: Principal, instruction_id: str) -> None:
    """The dpo's signature; the instruction's pseudonymisation key is made and sealed here."""
    row = _get(session, instruction_id)
    _as_controller_dpo(principal, row.controller_id)
    if row.state != InstructionState.DRAFT:
        raise ValidationError(f"instruction is {row.state}, not a draft")
    parse_content(json.loads(row.content))  # what is signed must still be signable
    check_signed(session, row.agreement_id)
    signer = signer_for(session, keys, account_id=principal.account_id)
    wrapped = keys.wrap(random_bytes(32), aad=pseudonym_key_aad(row.id))
    row.kek_version, row.wrapped_pseudonym_key = wrapped.kek_version, wrapped.ciphertext
    row.signature = signer.sign(_message(row.id, row.content.encode()))
    row.kid, row.signed_by, row.signed_at = signer.key_id, principal.account_id, datetime.now(UTC)
    row.state = InstructionState.SIGNED
    session.flush()


def revoke(session: Session, principal: Principal, instruction_id: str, *, reason: str) -> None:
    """Stop the instruction for good: its pseudonymisation key is destroyed."""
    row = _get(session, instruction_id)
    _as_controller_dpo(principal, row.controller_id)
    if row.state == InstructionState.REVOKED:
        raise ValidationError("instruction already revoked")
    if len(reason.strip()) < 10:  # noqa: PLR2004 - a written reason, not a word
        raise ValidationError("a revocation needs a written reason")
    row.state, row.revoked_by, row.revoked_at = (
        InstructionState.REVOKED,
        principal.account_id,
        datetime.now(UTC),
    )
    row.revoke_reason = reason.strip()[:500]
    row.kek_version = row.wrapped_pseudonym_key = None
    session.flush()


def governed_rules(
    session: Session, keys: KeyManager, instruction_id: str, *, today: date | None = None
) -> tuple[Content, Rules]:
    """What an extraction may apply now: signed, intact, not revoked, within its validity."""
    row = _get(session, instruction_id)
    if (
        row.state != InstructionState.SIGNED
        or row.wrapped_pseudonym_key is None
        or row.kek_version is None
    ):
        raise PolicyViolation(f"instruction is {row.state}: nothing may be extracted under it")
    key = session.get(PersonalKey, row.signed_by) if row.signed_by else None
    if key is None or row.signature is None or key.kid != row.kid:
        raise IntegrityError("instruction signature missing")
    verify(
        public_key=bytes(key.public_key),
        signature=bytes(row.signature),
        message=_message(row.id, row.content.encode()),
    )
    content = Content.model_validate(json.loads(row.content))
    agreement = check_signed(session, content.agreement_id)
    if (row.agreement_id, row.recipient_id, row.controller_id) != (
        content.agreement_id,
        content.recipient_id,
        agreement.controller_id,
    ):  # the columns are lookup copies of the signed content; decisions trust the content
        raise IntegrityError("instruction columns disagree with what was signed")
    today = today or datetime.now(UTC).date()
    if not content.valid_on(today):
        raise PolicyViolation("instruction is outside its validity window")
    pseudonym_key = keys.unwrap(
        WrappedKey(row.kek_version, bytes(row.wrapped_pseudonym_key)), aad=pseudonym_key_aad(row.id)
    )
    return content, content.rules(pseudonym_key)


def processed_by(session: Session, instruction_id: str, organisation_id: str) -> bool:
    """Whether the instruction, in any state, is of an agreement `organisation_id` processes."""
    found = session.execute(
        select(Instruction.id)
        .join(Agreement, Agreement.id == Instruction.agreement_id)
        .where(Instruction.id == instruction_id, Agreement.processor_id == organisation_id)
    ).first()
    return found is not None


def open_for(session: Session, organisation_id: str, *, today: date) -> list[str]:
    """The signed instructions, valid `today`, of the agreements `organisation_id` processes:
    what its operators may extract under now."""
    rows = session.execute(
        select(Instruction.id, Instruction.content)
        .join(Agreement, Agreement.id == Instruction.agreement_id)
        .where(
            Agreement.processor_id == organisation_id,
            Instruction.state == InstructionState.SIGNED,
        )
        .order_by(Instruction.id)
    ).all()
    return [i for i, raw in rows if Content.model_validate(json.loads(raw)).valid_on(today)]


class Side(StrEnum):
    """How an organisation stands to an instruction."""

    CONTROLLER = "controller"  # its dpo signed it
    PROCESSOR = "processor"  # its operators extract under it
    RECIPIENT = "recipient"  # it receives the package


@dataclass(frozen=True, slots=True)
class Listed:
    id: str
    state: str
    side: Side
    purpose: str
    recipient_id: str
    expected_rows: int
    valid_from: date
    valid_until: date
    open_today: bool  # signed and within its validity (and, once counted, runs left)
    created_at: datetime
    content: Content
    runs_left: int | None = None  # counted by the caller, which knows the runs


def listed_for(
    session: Session, organisation_id: str, *, sides: Collection[Side], today: date
) -> list[Listed]:
    """The instructions `organisation_id` stands to on any of `sides`, oldest first."""
    on = {
        Side.CONTROLLER: Instruction.controller_id == organisation_id,
        Side.PROCESSOR: Agreement.processor_id == organisation_id,
        Side.RECIPIENT: Instruction.recipient_id == organisation_id,
    }
    rows = session.execute(
        select(Instruction, Agreement.processor_id)
        .join(Agreement, Agreement.id == Instruction.agreement_id)
        .where(or_(*(on[side] for side in sides)))
        .order_by(Instruction.created_at)
    ).all()
    found = []
    for row, processor_id in rows:
        content = Content.model_validate(json.loads(row.content))
        side = Side.RECIPIENT
        if row.controller_id == organisation_id:
            side = Side.CONTROLLER
        elif processor_id == organisation_id:
            side = Side.PROCESSOR
        found.append(
            Listed(
                id=row.id,
                state=row.state,
                side=side,
                purpose=content.purpose,
                recipient_id=row.recipient_id,
                expected_rows=content.expected_rows,
                valid_from=content.valid_from,
                valid_until=content.valid_until,
                open_today=row.state == InstructionState.SIGNED and content.valid_on(today),
                created_at=row.created_at,
                content=content,
            )
        )
    return found
