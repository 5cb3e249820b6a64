"""The HTTPS API: `create_app(platform)` gives the FastAPI application.

Every route needs a bearer credential (an API token, or a session from `POST /v1/session`)
except the health check, the OpenAPI document (which carries no data), login and enrolment.
Errors are RFC 9457 problem details; every response carries the security headers.
"""

from __future__ import annotations

from fastapi import FastAPI

from ecluse.server.api import (
    problems,
    routes_governance,
    routes_identity,
    routes_packages,
    routes_reports,
    routes_supervision,
)
from ecluse.server.api.guard import Guard
from ecluse.services.vocabulary import Platform

VERSION = "1"


def create_app(platform: Platform) -> FastAPI:
    app = FastAPI(
        title="Écluse",
        version=VERSION,
        description="Governed, encrypted, self-deleting transfers of laboratory data.",
        docs_url=None,  # no pages pulling scripts from elsewhere
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.platform = platform

    @app.get("/v1/health", tags=["health"])
    def health() -> dict[str, str]:
        """Liveness; no data, no authentication."""
        return {"status": "ok"}

    for module in (
        routes_identity,
        routes_governance,
        routes_packages,
        routes_reports,
        routes_supervision,
    ):
        app.include_router(module.router)
    problems.install(app)
    app.add_middleware(Guard, platform=platform)
    return app
