"""Alerts and their contacts, staff security reports, and the Prometheus metrics."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response

from ecluse.server.api.deps import gate, platform_of
from ecluse.server.api.models import AlertChangeIn, ConcernIn, ContactIn
from ecluse.services import supervision as acts
from ecluse.services.supervision import AlertView
from ecluse.services.vocabulary import AlertState, Concern, Permission, Platform, Principal

router = APIRouter(tags=["supervision"])
Plat = Annotated[Platform, Depends(platform_of)]
Reader = Annotated[Principal, Depends(gate(Permission.ALERT_READ))]
Handler = Annotated[Principal, Depends(gate(Permission.ALERT_HANDLE))]
Reporter = Annotated[Principal, Depends(gate(Permission.CONCERN_FILE))]


@router.get("/v1/alerts")
def list_alerts(platform: Plat, p: Reader, resolved: bool = False) -> list[AlertView]:
    """Alerts you may see (an admin: all; a dpo or auditor: its organisation's)."""
    return acts.list_alerts(platform, p, include_resolved=resolved)


@router.get("/v1/alerts/{alert_id}")
def show_alert(alert_id: str, platform: Plat, p: Reader) -> AlertView:
    return acts.show_alert(platform, p, alert_id)


@router.post("/v1/alerts/{alert_id}/{action}")
def change_alert(
    alert_id: str,
    action: Literal["acknowledge", "resolve"],
    body: AlertChangeIn,
    platform: Plat,
    p: Handler,
) -> dict[str, str]:
    """Acknowledge or resolve, with a written reason (a staff report: its dpo only)."""
    to_state = AlertState.ACKNOWLEDGED if action == "acknowledge" else AlertState.RESOLVED
    done = acts.change_alert(platform, p, alert_id, to_state=to_state, reason=body.reason)
    return {"alert": done.alert_id, "from": done.from_state, "to": done.to_state}


@router.put("/v1/organisations/{organisation_id}/alert-contacts/{level}")
def set_contact(
    organisation_id: str,
    level: Annotated[int, Path(ge=1, le=2)],
    body: ContactIn,
    platform: Plat,
    p: Handler,
) -> dict[str, str | int]:
    """Who an organisation's alerts reach first (1), or when the first does not answer (2)."""
    account = acts.set_contact(
        platform, p, organisation_id=organisation_id, level=level, email=body.email
    )
    return {"organisation": organisation_id, "level": level, "account": account}


@router.post("/v1/security-reports", status_code=201)
def file_report(body: ConcernIn, platform: Plat, p: Reporter) -> Concern:
    """File a security concern; anonymous toward everyone but the controller's dpo."""
    return acts.file_report(
        platform,
        p,
        subject=body.subject,
        text=body.text,
        anonymous=body.anonymous,
        organisation_id=body.organisation_id,
    )


@router.get("/v1/security-reports")
def list_reports(platform: Plat, p: Reporter) -> list[Concern]:
    return acts.list_reports(platform, p)


@router.get("/v1/security-reports/{report_id}")
def show_report(report_id: str, platform: Plat, p: Reporter) -> Concern:
    return acts.show_report(platform, p, report_id)


@router.get("/metrics", response_class=Response)
def metrics(
    platform: Plat, p: Annotated[Principal, Depends(gate(Permission.METRICS_READ))]
) -> Response:
    """Prometheus text format (scrape with a bearer token of an admin or auditor)."""
    text, media_type = acts.metrics(platform, p)
    return Response(text, media_type=media_type)
