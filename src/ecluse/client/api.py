"""Calls of the HTTPS API, authenticated by the person's session (or `ECLUSE_TOKEN`), each
answer's RFC 9457 problem turned back into the Écluse error the server raised (an
authentication error, a refusal, bad input…): the command line then reports it as it does
on the host."""

from __future__ import annotations

from typing import Any

import httpx

from ecluse.client.connection import Server, tls_context
from ecluse.errors import (
    AuthenticationError,
    ConfigurationError,
    EcluseError,
    IntegrityError,
    PolicyViolation,
    StorageError,
    ValidationError,
)

_ERRORS: dict[int, type[EcluseError]] = {
    400: ValidationError,
    401: AuthenticationError,
    403: PolicyViolation,
    404: ValidationError,
    409: IntegrityError,
    413: ValidationError,
    422: ValidationError,
    503: StorageError,
}
TIMEOUT = 60.0


def _raise_for(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        detail = str(response.json().get("detail", ""))
    except ValueError:
        detail = ""
    kind = _ERRORS.get(response.status_code, EcluseError)
    raise kind(detail or f"the server answered {response.status_code}")


class Api:
    """One server, one bearer token (None before logging in)."""

    def __init__(self, server: Server, token: str | None = None) -> None:
        self.server = server
        headers = {"authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=f"{server.url}/v1",
            verify=tls_context(server),
            headers=headers,
            timeout=TIMEOUT,
            follow_redirects=False,
        )

    def __enter__(self) -> Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON answer of `method path`; an Écluse error if the server refused."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as e:
            raise ConfigurationError(f"cannot reach {self.server.url} ({type(e).__name__})") from e
        _raise_for(response)
        return response.json()
