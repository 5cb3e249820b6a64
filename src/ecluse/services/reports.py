"""Reports, as every channel performs them: a migration's report (its writing audited and
covered by a fresh signed checkpoint), the supervision report, and the sign-off that closes
a migration. A refusal is audited with the command that was refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ecluse.audit import Action
from ecluse.db.models import Instruction
from ecluse.errors import PolicyViolation, ValidationError
from ecluse.identity import Permission, Principal, require
from ecluse.instance.platform import Platform
from ecluse.reports.html import render
from ecluse.reports.migration import build
from ecluse.reports.signoff import (
    check_comment,
    may_read,
    may_sign_off,
    record_sign_off,
    signed_report,
)
from ecluse.reports.supervision import may_read as may_read_supervision
from ecluse.reports.supervision import render_supervision, supervision_report
from ecluse.services.access import refusals_audited
from ecluse.services.step_up import confirm_presence

__all__ = ["render", "render_supervision"]


@dataclass(frozen=True, slots=True)
class Migration:
    report: dict[str, Any]  # as built now
    signed: str | None  # as signed off (canonical JSON), once it is


def _instruction(platform: Platform, instruction_id: str) -> Instruction:
    with platform.db.transaction() as s:
        row = s.get(Instruction, instruction_id)
        if row is None:
            raise ValidationError("no such instruction")
        s.expunge(row)
    return row


def _signed(platform: Platform, instruction_id: str) -> str | None:
    with platform.db.transaction() as s:
        return signed_report(s, instruction_id)


def _write(platform: Platform, p: Principal, instruction_id: str) -> dict[str, Any]:
    may_read(p, _instruction(platform, instruction_id))
    with platform.db.transaction() as s:
        platform.audit.append(
            s, actor=p.actor, action=Action.MIGRATION_REPORT, refs={"instruction": instruction_id}
        )
        platform.audit.checkpoint(s)
        return build(s, instruction_id)


def migration(platform: Platform, p: Principal, instruction_id: str) -> Migration:
    """The migration's report (the controller's dpo and auditors, a platform auditor)."""
    with refusals_audited(platform, p, "report migration", instruction=instruction_id):
        report = _write(platform, p, instruction_id)
    return Migration(report, _signed(platform, instruction_id))


def supervision(platform: Platform, p: Principal, *, since: datetime) -> dict[str, Any]:
    """Transfers, alerts and their handling times, open security reports, key ages."""
    with refusals_audited(platform, p, "report supervision"):
        may_read_supervision(p)
        versions = platform.keys.versions()
        with platform.db.transaction() as s:
            report = supervision_report(s, versions, p, since=since)
            platform.audit.append(
                s,
                actor=p.actor,
                action=Action.SUPERVISION_REPORT,
                refs={"organisation": p.organisation_id},
                details={"since": since.isoformat(timespec="seconds")},
            )
        return report


def _refuse(platform: Platform, p: Principal, instruction_id: str, why: str) -> None:
    with platform.db.transaction() as s:
        platform.audit.append(
            s,
            actor=p.actor,
            action=Action.PERMISSION_DENIED,
            refs={"instruction": instruction_id},
            details={"permission": Permission.REPORT_SIGN_OFF.value},
        )
    raise PolicyViolation(why)


def _sign_off(
    platform: Platform, p: Principal, instruction_id: str, *, comment: str, code: str | None
) -> dict[str, Any]:
    require(p.permissions, Permission.REPORT_SIGN_OFF)
    if not may_sign_off(p, _instruction(platform, instruction_id)):
        _refuse(platform, p, instruction_id, "only a dpo of the controller signs off")
    comment = check_comment(comment)
    confirm_presence(platform, p, code, command="report sign-off", instruction=instruction_id)
    with platform.db.transaction() as s:
        platform.audit.checkpoint(s)
        digest = record_sign_off(s, platform.keys, p, instruction_id, comment=comment)
        platform.audit.append(
            s,
            actor=p.actor,
            action=Action.MIGRATION_SIGN_OFF,
            refs={"instruction": instruction_id},
            details={"report_sha256": digest},
        )
        platform.audit.checkpoint(s)
        return build(s, instruction_id)


def sign_off(
    platform: Platform, p: Principal, instruction_id: str, *, comment: str, code: str | None
) -> Migration:
    """Close the migration (a dpo of the controller, with a fresh second-factor `code`, once
    nothing of it is left): the report after the sign-off, and as signed."""
    with refusals_audited(platform, p, "report sign-off", instruction=instruction_id):
        report = _sign_off(platform, p, instruction_id, comment=comment, code=code)
    return Migration(report, _signed(platform, instruction_id))
