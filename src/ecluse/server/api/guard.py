"""The ASGI layer in front of every route: authentication before anything else is read,
request-size limits, and the security headers on every response.

- Every path but the public ones needs `Authorization: Bearer <API token or session>`, checked
  before routing (an unknown path answers 401 too, so routes cannot be probed anonymously).
- Request headers: at most `HEADERS_MAX` bytes in all. Request bodies: at most `JSON_MAX`
  bytes, except the streaming upload routes, capped by the settings in the route itself.
- Headers: HSTS, a CSP that allows nothing but inline styles of the HTML reports, no sniffing,
  no referrer, no framing, and `Cache-Control: no-store` (every response may carry health data
  or ids of it).
"""

from __future__ import annotations

import re
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ecluse.errors import AuthenticationError, EcluseError
from ecluse.server.api.problems import problem, status_of
from ecluse.services.access import identify
from ecluse.services.vocabulary import Platform

PUBLIC = {
    ("GET", "/v1/health"),
    ("GET", "/openapi.json"),
    ("POST", "/v1/session"),
    ("POST", "/v1/enrol"),
}
STREAMED = re.compile(r"^/v1/instructions/[^/]+/source$")
JSON_MAX = 1 << 20
HEADERS_MAX = 16 << 10
HEADERS = [
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
        b"base-uri 'none'; form-action 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cache-control", b"no-store"),
]


class _TooLarge(Exception):
    pass


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            text: str = value.decode("latin-1")
            scheme, _, credential = text.partition(" ")
            if scheme.lower() == "bearer" and credential.strip():
                return credential.strip()
    return None


def _declared_length(scope: Scope) -> int:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return int(value) if value.isdigit() else JSON_MAX + 1
    return 0


class Guard:
    def __init__(self, app: ASGIApp, *, platform: Platform) -> None:
        self.app = app
        self.platform = platform

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = self._with_headers(send)
        headers = sum(len(k) + len(v) for k, v in scope.get("headers", []))
        if headers > HEADERS_MAX:
            await problem(431, f"request headers are at most {HEADERS_MAX:,} bytes")(
                scope, receive, send
            )
            return
        path, method = scope["path"], scope["method"]
        if (method, path) not in PUBLIC:
            credential = _bearer(scope)
            try:
                if credential is None:
                    raise AuthenticationError("authentication required: a bearer token or session")
                principal = await anyio.to_thread.run_sync(
                    lambda: identify(self.platform, credential, channel="https")
                )
            except EcluseError as e:
                await problem(status_of(e), e.diagnostics())(scope, receive, send)
                return
            scope.setdefault("state", {})["principal"] = principal
        if not STREAMED.match(path):
            if _declared_length(scope) > JSON_MAX:
                await problem(413, f"a request body is at most {JSON_MAX:,} bytes")(
                    scope, receive, send
                )
                return
            receive = self._capped(receive)  # a body without a length is counted as it comes
        try:
            await self.app(scope, receive, send)
        except _TooLarge:
            await problem(413, f"a request body is at most {JSON_MAX:,} bytes")(
                scope, receive, send
            )

    @staticmethod
    def _with_headers(send: Send) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in HEADERS if k not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        return wrapped

    @staticmethod
    def _capped(receive: Receive) -> Receive:
        seen = 0

        async def wrapped() -> Message:
            nonlocal seen
            message: dict[str, Any] = dict(await receive())
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > JSON_MAX:
                    raise _TooLarge
            return message

        return wrapped
