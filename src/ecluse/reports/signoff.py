"""Who reads a migration report, and the sign-off that closes the migration (the services
write and audit them: `ecluse.services.reports`).

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

from ecluse.canonical import encode
from ecluse.crypto.interfaces import KeyManager
from ecluse.db.models import Extraction, Instruction, MigrationSignOff, Package
from ecluse.errors import PolicyViolation, ValidationError, present
from ecluse.identity import Permission, Principal, Role, require
from ecluse.identity.personal import signer_for
from ecluse.packages.states import ExtractionState, PackageState
from ecluse.reports.migration import build

MAX_COMMENT = 1000


def report_bytes(report: dict[str, Any]) -> bytes:
    """Canonical JSON of a report (RFC 8785, UTF-8)."""
    return encode(report)


def signoff_message(instruction_id: str, report_sha256: str) -> bytes:
    return f"ecluse-migration-signoff-v1|{instruction_id}|{report_sha256}".encode()


def may_read(principal: Principal, instruction: Instruction) -> None:
    """Reports are for the controller's dpo and auditors, or a platform auditor."""
    require(principal.permissions, Permission.REPORT_READ)
    if principal.organisation_id == instruction.controller_id:
        return
    if Role.PLATFORM_AUDITOR in principal.roles:  # granted on the host only
        return
    raise PolicyViolation(
        "reports are for the controller's dpo and auditors, or a platform auditor"
    )


def may_sign_off(principal: Principal, instruction: Instruction) -> bool:
    """Only a dpo of the controller signs off."""
    return principal.organisation_id == instruction.controller_id and Role.DPO in principal.roles


def check_comment(comment: str) -> str:
    comment = comment.strip()
    if not 10 <= len(comment) <= MAX_COMMENT:  # noqa: PLR2004 - a written sentence
        raise ValidationError(f"a sign-off needs a written comment (10 to {MAX_COMMENT} chars)")
    return comment


def record_sign_off(
    s: Session, keys: KeyManager, principal: Principal, instruction_id: str, *, comment: str
) -> str:
    """Close the migration once nothing of it is left: the report's canonical JSON signed
    with the dpo's personal key and kept; the SHA-256 of what was signed."""
    row = present(s.get(Instruction, instruction_id, with_for_update=True), "instruction")
    if row.state == "closed":
        raise PolicyViolation("this migration is already signed off")
    check_nothing_left(s, instruction_id)
    body = report_bytes(build(s, instruction_id))
    digest = hashlib.sha256(body).hexdigest()
    signer = signer_for(s, keys, account_id=principal.account_id)
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
    return digest


def signed_report(s: Session, instruction_id: str) -> str | None:
    """The report as it was signed off (canonical JSON), if it was."""
    row = s.get(MigrationSignOff, instruction_id)
    return row.report if row else None


def check_nothing_left(s: Session, instruction_id: str) -> None:
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
