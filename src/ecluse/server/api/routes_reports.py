"""Migration reports and the controller's sign-off; the audit trail for auditors."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response

from ecluse.clock import as_utc
from ecluse.server.api.deps import gate, platform_of
from ecluse.server.api.models import SignOffIn
from ecluse.services import reports as acts
from ecluse.services import tenancy
from ecluse.services.reports import render, render_supervision
from ecluse.services.vocabulary import Permission, Platform, Principal

router = APIRouter(prefix="/v1", tags=["reports"])
Plat = Annotated[Platform, Depends(platform_of)]


def _report(platform: Platform, p: Principal, instruction_id: str) -> dict[str, Any]:
    return acts.migration(platform, p, instruction_id).report


@router.get("/supervision-report")
def supervision(
    since: datetime,
    platform: Plat,
    p: Annotated[Principal, Depends(gate(Permission.REPORT_READ))],
    html: bool = False,
) -> Response:
    """Transfers, alerts and their handling times, open security reports, key ages."""
    report = acts.supervision(platform, p, since=as_utc(since))
    if html:
        return HTMLResponse(render_supervision(report))
    return JSONResponse(jsonable_encoder(report))


@router.get("/reports/{instruction_id}")
def report(
    instruction_id: str,
    platform: Plat,
    p: Annotated[Principal, Depends(gate(Permission.REPORT_READ))],
) -> dict[str, Any]:
    """The migration's report (the controller's dpo, auditors)."""
    return _report(platform, p, instruction_id)


@router.get("/reports/{instruction_id}/html", response_class=HTMLResponse)
def report_html(
    instruction_id: str,
    platform: Plat,
    p: Annotated[Principal, Depends(gate(Permission.REPORT_READ))],
) -> HTMLResponse:
    return HTMLResponse(render(_report(platform, p, instruction_id)))


@router.post("/reports/{instruction_id}/sign-off")
def sign_off_migration(
    instruction_id: str,
    body: SignOffIn,
    platform: Plat,
    p: Annotated[Principal, Depends(gate(Permission.REPORT_SIGN_OFF))],
) -> dict[str, Any]:
    """Sign off and close the migration (a dpo of the controller, once nothing is left);
    `totp_code`: a fresh code (step-up)."""
    return acts.sign_off(
        platform, p, instruction_id, comment=body.comment, code=body.totp_code
    ).report


@router.get("/audit/verification")
def verify_audit(
    platform: Plat, p: Annotated[Principal, Depends(gate(Permission.AUDIT_READ))]
) -> dict[str, Any]:
    """Walk the whole hash chain and check every signed checkpoint; `events` counts your
    organisation's (a platform auditor's: all)."""
    result = tenancy.verify_trail(platform, p)
    return {
        "ok": result.ok,
        "events": result.events,
        "checkpoints": result.checkpoints,
        "broken_seq": result.broken_seq,
        "reason": result.reason,
    }


@router.get("/audit/export", response_class=PlainTextResponse)
def export_audit(
    platform: Plat, p: Annotated[Principal, Depends(gate(Permission.AUDIT_READ))]
) -> PlainTextResponse:
    """Your organisation's slice of the trail as JSON lines (a platform auditor: the whole
    trail), verifiable offline with `ecluse audit verify --export`."""
    buffer = io.StringIO()  # events hold ids and counts, never patient data
    tenancy.export_trail(platform, p, buffer)
    return PlainTextResponse(buffer.getvalue(), media_type="application/x-ndjson")
