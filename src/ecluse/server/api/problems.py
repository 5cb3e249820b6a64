"""Errors as RFC 9457 problem details (`application/problem+json`). A problem carries the
error's own message, which never holds patient data or secrets, and never a request's input."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ecluse.errors import (
    AuthenticationError,
    ConfigurationError,
    EcluseError,
    IntegrityError,
    KeyManagerError,
    PolicyViolation,
    StorageError,
    ValidationError,
)

log = logging.getLogger("ecluse.server")
MEDIA_TYPE = "application/problem+json"
UNAUTHORISED = 401
_STATUS: list[tuple[type[EcluseError], int]] = [
    (AuthenticationError, 401),
    (PolicyViolation, 403),
    (ValidationError, 400),
    (IntegrityError, 409),
    (KeyManagerError, 503),
    (StorageError, 503),
    (ConfigurationError, 500),
]
_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    422: "Unprocessable content",
    431: "Request header fields too large",
    500: "Internal error",
    503: "Service unavailable",
}


def problem(status: int, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": _TITLES.get(status, "Error"), "status": status}
    body |= {"detail": detail, **extra}
    headers = {"WWW-Authenticate": 'Bearer realm="ecluse"'} if status == UNAUTHORISED else None
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def status_of(error: EcluseError) -> int:
    return next((code for kind, code in _STATUS if isinstance(error, kind)), 500)


async def _ecluse(request: Request, exc: Exception) -> JSONResponse:
    error = exc if isinstance(exc, EcluseError) else EcluseError("error")
    return problem(status_of(error), error.diagnostics())


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    fields = [
        {"location": ".".join(map(str, e.get("loc", ()))), "problem": e.get("msg", "invalid")}
        for e in errors
    ]  # the offending input is never echoed back
    return problem(422, "the request does not have the expected shape", errors=fields)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    detail = exc.detail if isinstance(exc, HTTPException) else "error"
    return problem(status, str(detail))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
    return problem(500, "internal error; the event was logged without its data")


def install(app: FastAPI) -> None:
    app.add_exception_handler(EcluseError, _ecluse)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
