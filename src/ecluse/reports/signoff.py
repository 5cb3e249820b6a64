"""Writing a migration report, and the sign-off that closes the migration.

Only a dpo of the controller signs off (in the incident, the "validation" came from the
receiving vendor). A migration closes only when nothing of it is left: every package
shredded, no extraction running. The dpo signs the SHA-256 of the report's canonical JSON
with its personal key; the instruction is then closed for good.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ecluse.acts.step_up import confirm_presence
from ecluse.audit import Action
from ecluse.canonical import encode
from ecluse.db.models import Extraction, Instruction, MigrationSignOff, Package
from ecluse.errors import PolicyViolation, ValidationError, present
from ecluse.identity import Permission, Principal, Role, require
from ecluse.identity.personal import signer_for
from ecluse.packages.states import ExtractionState, PackageState
from ecluse.platform import Platform
from ecluse.reports.migration import build

MAX_COMMENT = 1000


def report_bytes(report: dict[str, Any]) -> bytes:
    """Canonical JSON of a report (RFC 8785, UTF-8)."""
    return encode(report)


def signoff_message(instruction_id: str, report_sha256: str) -> bytes:
    return f"ecluse-migration-signoff-v1|{instruction_id}|{report_sha256}".encode()


def _may_read(principal: Principal, instruction: Instruction) -> None:
    require(principal.permissions, Permission.REPORT_READ)
    if principal.organisation_id == instruction.controller_id:
        return
    if Role.PLATFORM_AUDITOR in principal.roles:  # granted on the host only
        return
    raise PolicyViolation(
        "reports are for the controller's dpo and auditors, or a platform auditor"
    )


def _instruction(platform: Platform, instruction_id: str) -> Instruction:
    with platform.db.transaction() as s:
        row = s.get(Instruction, instruction_id)
        if row is None:
            raise ValidationError("no such instruction")
        s.expunge(row)
    return row


def write_report(platform: Platform, principal: Principal, instruction_id: str) -> dict[str, Any]:
    """The report, its writing audited and covered by a fresh signed checkpoint."""
    _may_read(principal, _instruction(platform, instruction_id))
    with platform.db.transaction() as s:
        platform.audit.append(
            s,
            actor=principal.actor,
            action=Action.MIGRATION_REPORT,
            refs={"instruction": instruction_id},
        )
        platform.audit.checkpoint(s)
        return build(s, instruction_id)


def _refuse(platform: Platform, principal: Principal, instruction_id: str, why: str) -> None:
    with platform.db.transaction() as s:
        platform.audit.append(
            s,
            actor=principal.actor,
            action=Action.PERMISSION_DENIED,
            refs={"instruction": instruction_id},
            details={"permission": Permission.REPORT_SIGN_OFF.value},
        )
    raise PolicyViolation(why)


def sign_off(
    platform: Platform,
    principal: Principal,
    instruction_id: str,
    *,
    comment: str,
    code: str | None,
) -> dict[str, Any]:
    """Close the migration (with a fresh second-factor `code`); returns the report as signed,
    with its sign-off."""
    require(principal.permissions, Permission.REPORT_SIGN_OFF)
    instruction = _instruction(platform, instruction_id)
    if principal.organisation_id != instruction.controller_id or Role.DPO not in principal.roles:
        _refuse(platform, principal, instruction_id, "only a dpo of the controller signs off")
    comment = comment.strip()
    if not 10 <= len(comment) <= MAX_COMMENT:  # noqa: PLR2004 - a written sentence
        raise ValidationError(f"a sign-off needs a written comment (10 to {MAX_COMMENT} chars)")
    confirm_presence(
        platform, principal, code, command="report sign-off", instruction=instruction_id
    )
    with platform.db.transaction() as s:
        row = present(s.get(Instruction, instruction_id, with_for_update=True), "instruction")
        if row.state == "closed":
            raise PolicyViolation("this migration is already signed off")
        _check_nothing_left(s, instruction_id)
        platform.audit.checkpoint(s)
        body = report_bytes(build(s, instruction_id))
        digest = hashlib.sha256(body).hexdigest()
        signer = signer_for(s, platform.keys, account_id=principal.account_id)
        s.add(
            MigrationSignOff(
                instruction_id=instruction_id,
                account_id=principal.account_id,
                kid=signer.key_id,
                report_sha256=digest,
                report=body.decode(),
                signature=signer.sign(signoff_message(instruction_id, digest)),
                comment=comment,
                signed_at=datetime.now(UTC),
            )
        )
        row.state = "closed"
        platform.audit.append(
            s,
            actor=principal.actor,
            action=Action.MIGRATION_SIGN_OFF,
            refs={"instruction": instruction_id},
            details={"report_sha256": digest},
        )
        platform.audit.checkpoint(s)
        return build(s, instruction_id)


def _check_nothing_left(s: Session, instruction_id: str) -> None:
    live = s.execute(
        select(Package.id, Package.state).where(
            Package.instruction_id == instruction_id, Package.state != PackageState.SHREDDED
        )
    ).first()
    if live is not None:
        raise PolicyViolation(
            f"package {live.id} is still {live.state}: a migration closes once nothing is left"
        )
    running = s.execute(
        select(Extraction.id).where(
            Extraction.instruction_id == instruction_id, Extraction.state == ExtractionState.RUNNING
        )
    ).first()
    if running is not None:
        raise PolicyViolation(f"extraction {running.id} is still running")
