"""Route dependencies: the permission each route needs (the caller was authenticated by the
guard), and the platform. `gate(P)` carries `P` so tests can walk the route table."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from ecluse.errors import AuthenticationError
from ecluse.services.access import permit
from ecluse.services.vocabulary import Permission, Platform, Principal


def platform_of(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def caller(request: Request) -> Principal:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:  # the guard lets no such request through; fail closed anyway
        raise AuthenticationError("authentication required")
    return principal


def gate(needed: Permission) -> Callable[[Request], Principal]:
    def dependency(request: Request) -> Principal:
        return permit(platform_of(request), caller(request), needed)

    dependency.permission = needed  # type: ignore[attr-defined]
    dependency.__name__ = f"needs_{needed.name.lower()}"
    return dependency


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
