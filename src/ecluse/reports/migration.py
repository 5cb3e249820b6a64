"""The report of one migration (one instruction), for the controller's sign-off.

What was agreed and instructed, who extracted what and when, what the engine dropped,
screened and neutralised, the volume of all runs against the instruction's bounds (flagged
when far below what was expected), the packages (manifest and age-file digests, downloads,
receipt, deletion), the alerts, and the signed audit checkpoint covering every event of it.
Built from the database and the audit trail only; it carries ids, names of people acting,
counts and digests — never patient data.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ecluse.db.models import (
    Account,
    Agreement,
    AgreementSignature,
    Alert,
    AuditCheckpoint,
    AuditEvent,
    Extraction,
    Instruction,
    MigrationSignOff,
    Organisation,
    Package,
    RecipientKey,
)
from ecluse.errors import ValidationError, present
from ecluse.mandates.instructions import Content
from ecluse.packages.allowance import allowance

FORMAT = "ecluse-migration-report-v1"


def _ts(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _email(session: Session, account_id: str | None) -> str | None:
    account = session.get(Account, account_id) if account_id else None
    return account.email if account else None


def _org(session: Session, org_id: str) -> dict[str, str]:
    org = session.get(Organisation, org_id)
    return {"id": org_id, "name": org.name if org else "?"}


def _agreement(session: Session, agreement: Agreement) -> dict[str, Any]:
    signatures = session.execute(
        select(AgreementSignature).where(AgreementSignature.agreement_id == agreement.id)
    ).scalars()
    return {
        "id": agreement.id,
        "state": agreement.state,
        "terms_sha256": agreement.terms_sha256,
        "controller": _org(session, agreement.controller_id),
        "processor": _org(session, agreement.processor_id),
        "signatures": [
            {"party": s.party, "by": _email(session, s.account_id), "at": _ts(s.signed_at)}
            for s in sorted(signatures, key=lambda s: s.signed_at)
        ],
    }


def _instruction(session: Session, row: Instruction) -> dict[str, Any]:
    return {
        "id": row.id,
        "state": row.state,
        "content": json.loads(row.content),
        "content_sha256": row.content_sha256,
        "created_by": _email(session, row.created_by),
        "signed_by": _email(session, row.signed_by),
        "signed_at": _ts(row.signed_at),
        "revoked_by": _email(session, row.revoked_by),
        "revoked_at": _ts(row.revoked_at),
        "revoke_reason": row.revoke_reason,
    }


def _extraction(session: Session, row: Extraction) -> dict[str, Any]:
    return {
        "id": row.id,
        "operator": _email(session, row.operator_id),
        "state": row.state,
        "started_at": _ts(row.started_at),
        "finished_at": _ts(row.finished_at),
        "source_bytes": row.source_bytes,
        "error": row.error,
        "findings": json.loads(row.findings) if row.findings else None,
    }


def _package(session: Session, row: Package, downloads: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": row.id,
        "extraction_id": row.extraction_id,
        "state": row.state,
        "rows": row.rows,
        "age_sha256": json.loads(row.manifest)["data"].get("age_sha256"),
        "manifest_sha256": row.manifest_sha256,
        "recipient_keys": json.loads(row.manifest)["recipient"]["keys"],
        "created_at": _ts(row.created_at),
        "deadline": _ts(row.deadline_at),
        "downloads": downloads,
        "receipt": None
        if row.receipt_at is None
        else {
            "by": _email(session, row.receipt_by),
            "at": _ts(row.receipt_at),
            "rows": row.receipt_rows,
            "sha256": row.receipt_sha256,
        },
        "shredded_at": _ts(row.shredded_at),
        "shred_reason": row.shred_reason,
    }


def _volume(session: Session, row: Instruction) -> dict[str, Any]:
    """Rows in scope of the runs still counted against the instruction's bounds."""
    content = Content.model_validate(json.loads(row.content))
    taken = allowance(session, row.id, content=content)
    return {
        "expected_rows": content.expected_rows,
        "tolerance_percent": content.tolerance_percent,
        "rows_minimum": taken.rows_minimum,
        "rows_allowed": taken.rows_allowed,
        "rows_packaged": taken.rows_packaged,
        "runs_allowed": taken.runs_allowed,
        "runs_counted": taken.runs_counted,
        "below_expected": taken.runs_left == 0 and taken.rows_packaged < taken.rows_minimum,
    }


def _events(session: Session, ids: list[str]) -> list[AuditEvent]:
    """Audit events that name any of `ids` in their references."""
    clauses = [AuditEvent.refs.contains(f'"{i}"') for i in ids]
    stmt = select(AuditEvent).where(or_(*clauses)).order_by(AuditEvent.seq)
    return list(session.execute(stmt).scalars())


def _checkpoint(session: Session, last_seq: int) -> dict[str, Any] | None:
    row = session.execute(
        select(AuditCheckpoint)
        .where(AuditCheckpoint.seq >= last_seq)
        .order_by(AuditCheckpoint.seq)
        .limit(1)
    ).scalar_one_or_none()
    if row is None:
        return None
    return {"seq": row.seq, "head_hash": row.head_hash, "kid": row.kid, "ts": row.ts}


def _downloads(
    events: list[AuditEvent], packages: list[Package]
) -> dict[str, list[dict[str, Any]]]:
    downloads: dict[str, list[dict[str, Any]]] = {p.id: [] for p in packages}
    for e in events:
        if e.action == "packages:package:download":
            refs = json.loads(e.refs)
            downloads[refs["package"]].append(
                {"by": e.actor, "at": e.ts, "bytes": json.loads(e.details).get("bytes")}
            )
    return downloads


def _alerts(session: Session, events: list[AuditEvent]) -> list[dict[str, Any]]:
    """The alerts the migration's events name."""
    alert_ids = {json.loads(e.refs).get("alert") for e in events} - {None}
    alerts = session.execute(
        select(Alert).where(Alert.id.in_(alert_ids)).order_by(Alert.created_at)
    ).scalars()
    return [
        {
            "id": a.id,
            "kind": a.kind,
            "severity": a.severity,
            "state": a.state,
            "created_at": _ts(a.created_at),
            "details": json.loads(a.details),
        }
        for a in alerts
    ]


def _recipient(session: Session, organisation_id: str) -> dict[str, Any]:
    keys = session.execute(
        select(RecipientKey).where(RecipientKey.organisation_id == organisation_id)
    ).scalars()
    return {
        **_org(session, organisation_id),
        "keys": [
            {"fingerprint": k.fingerprint, "label": k.label, "revoked": k.revoked_at is not None}
            for k in keys
        ],
    }


def _sign_off(session: Session, instruction_id: str) -> dict[str, Any] | None:
    sign_off = session.get(MigrationSignOff, instruction_id)
    if sign_off is None:
        return None
    return {
        "by": _email(session, sign_off.account_id),
        "at": _ts(sign_off.signed_at),
        "report_sha256": sign_off.report_sha256,
        "comment": sign_off.comment,
        "kid": sign_off.kid,
        "signature": base64.b64encode(sign_off.signature).decode(),
    }


def build(session: Session, instruction_id: str) -> dict[str, Any]:
    """The report as data; `sign_off` is filled once the dpo has signed it off."""
    instruction = session.get(Instruction, instruction_id)
    if instruction is None:
        raise ValidationError("no such instruction")
    agreement = present(session.get(Agreement, instruction.agreement_id), "agreement")
    of_it = Extraction.instruction_id == instruction_id
    extractions = list(
        session.execute(select(Extraction).where(of_it).order_by(Extraction.started_at)).scalars()
    )
    packages = list(
        session.execute(
            select(Package)
            .where(Package.instruction_id == instruction_id)
            .order_by(Package.created_at)
        ).scalars()
    )
    events = _events(
        session, [instruction_id, *(e.id for e in extractions), *(p.id for p in packages)]
    )
    downloads = _downloads(events, packages)
    return {
        "format": FORMAT,
        "agreement": _agreement(session, agreement),
        "instruction": _instruction(session, instruction),
        "volume": _volume(session, instruction),
        "recipient": _recipient(session, instruction.recipient_id),
        "extractions": [_extraction(session, e) for e in extractions],
        "packages": [_package(session, p, downloads[p.id]) for p in packages],
        "alerts": _alerts(session, events),
        "audit": {
            "events": [
                {"seq": e.seq, "ts": e.ts, "actor": e.actor, "action": e.action} for e in events
            ],
            "checkpoint": _checkpoint(session, events[-1].seq) if events else None,
        },
        "sign_off": _sign_off(session, instruction_id),
    }
