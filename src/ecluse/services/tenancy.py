"""What one organisation's people may list and audit, as every channel performs it: account
and organisation listings, the audit trail's verification and export (a verifiable slice),
and the host's grant of the platform-auditor role (docs/adr/0010-tenant-isolation.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO

from sqlalchemy import func, select

from ecluse.audit import Action, VerifyReport
from ecluse.audit.export import export
from ecluse.audit.records import iter_events, verify_database
from ecluse.audit.slice import export_slice
from ecluse.db.models import Account, AccountRole, AuditCheckpoint, Organisation
from ecluse.errors import IntegrityError, ValidationError
from ecluse.identity import Principal, Role
from ecluse.identity.accounts import directory
from ecluse.identity.tenancy import Scope, scope_of, sees_every_organisation, visible_organisations
from ecluse.instance.platform import Platform
from ecluse.kinds import OrgKind
from ecluse.services.access import refusals_audited


def list_organisations(platform: Platform, p: Principal) -> list[Organisation]:
    """Every organisation for an admin or a platform auditor; else the caller's own and its
    counterparties."""
    with platform.db.transaction() as s:
        query = select(Organisation).order_by(Organisation.name)
        if not sees_every_organisation(p):
            query = query.where(Organisation.id.in_(visible_organisations(s, p.organisation_id)))
        rows = list(s.execute(query).scalars())
        s.expunge_all()
    return rows


def list_accounts(platform: Platform, p: Principal) -> list[tuple[Account, list[str]]]:
    """Every account for an admin or a platform auditor; else the caller's organisation's."""
    org = None if sees_every_organisation(p) else p.organisation_id
    with platform.db.transaction() as s:
        rows = directory(s, organisation_id=org)
        s.expunge_all()
    return rows


# -- the audit trail ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Verified:
    ok: bool
    events: int  # the caller's organisation's, or the whole chain's
    checkpoints: int
    broken_seq: int | None
    reason: str | None


def _platform_wide(p: Principal) -> bool:
    return Role.PLATFORM_AUDITOR in p.roles


def _count(platform: Platform, scope: Scope) -> int:
    return sum(
        1 for row in iter_events(platform.db.engine) if scope.concerns(row[2], json.loads(row[4]))
    )


def verify_trail(platform: Platform, p: Principal) -> Verified:
    """The whole chain is walked (integrity is the chain's); the caller learns how many of
    its organisation's events it covers (a platform auditor: all of them)."""
    report: VerifyReport = verify_database(platform.db.engine)
    events = report.events
    if not _platform_wide(p):
        with platform.db.transaction() as s:
            events = _count(platform, scope_of(s, p.organisation_id))
    with platform.db.transaction() as s:
        platform.audit.append(
            s,
            actor=p.actor,
            action=Action.AUDIT_VERIFY,
            refs={"organisation": p.organisation_id},
            details={"ok": report.ok, "scope": "platform" if _platform_wide(p) else "own"},
        )
    return Verified(report.ok, events, report.checkpoints, report.broken_seq, report.reason)


def export_trail(platform: Platform, p: Principal, out: IO[str]) -> int:
    """The whole trail for a platform auditor; else the slice of the caller's organisation,
    sealed once the whole chain verified. The number of events written."""
    with refusals_audited(platform, p, "audit export"):
        with platform.db.transaction() as s:
            platform.audit.append(
                s,
                actor=p.actor,
                action=Action.AUDIT_EXPORT,
                refs={"organisation": p.organisation_id},
                details={"scope": "platform" if _platform_wide(p) else "own"},
            )
            platform.audit.checkpoint(s)
            through = s.execute(select(func.max(AuditCheckpoint.seq))).scalar_one()
        if _platform_wide(p):
            return export(platform.db.engine, out)
        report = verify_database(platform.db.engine)
        if not report.ok:
            raise IntegrityError(
                f"the audit chain is broken at seq {report.broken_seq}: no slice is sealed"
            )
        with platform.db.transaction() as s:
            scope = scope_of(s, p.organisation_id)
        return export_slice(
            platform.db.engine,
            out,
            signer=platform.keys.signer(),
            organisation_id=p.organisation_id,
            concerns=lambda actor, refs: scope.concerns(actor, json.loads(refs)),
            through=int(through),
        )


# -- the platform-auditor role, granted on the host only -----------------------------------------
def _platform_person(platform: Platform, email: str) -> Account:
    with platform.db.transaction() as s:
        account = s.execute(
            select(Account).where(Account.email == email.strip().lower())
        ).scalar_one_or_none()
        org = s.get(Organisation, account.organisation_id) if account else None
        if account is None or account.kind != "person" or account.state == "disabled":
            raise ValidationError("no such person's account")
        if org is None or org.kind != OrgKind.PLATFORM.value:
            raise ValidationError("a platform auditor is a person of the platform's organisation")
        s.expunge(account)
    return account


def grant_platform_auditor(platform: Platform, *, actor: str, email: str) -> str:
    """Give a person of the platform's organisation the platform-auditor role (audited)."""
    account = _platform_person(platform, email)
    with platform.db.transaction() as s:
        role = s.get(AccountRole, (account.id, Role.PLATFORM_AUDITOR.value))
        if role is None:
            s.add(  # granted by the host itself: no second approval to wait for
                AccountRole(
                    account_id=account.id,
                    role=Role.PLATFORM_AUDITOR.value,
                    approved_at=datetime.now(UTC),
                    approved_by=actor[:254],
                )
            )
        platform.audit.append(
            s,
            actor=actor,
            action=Action.PLATFORM_AUDITOR_GRANT,
            refs={"account": account.id},
            details={"already": role is not None},
        )
    return account.id


def withdraw_platform_auditor(platform: Platform, *, actor: str, email: str) -> str:
    account = _platform_person(platform, email)
    with platform.db.transaction() as s:
        role = s.get(AccountRole, (account.id, Role.PLATFORM_AUDITOR.value))
        if role is not None:
            s.delete(role)
        platform.audit.append(
            s,
            actor=actor,
            action=Action.PLATFORM_AUDITOR_WITHDRAW,
            refs={"account": account.id},
            details={"held": role is not None},
        )
    return account.id
