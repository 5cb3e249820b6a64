"""The HTTPS listener: uvicorn's HTTP/1.1 protocol (h11) with the limits it lacks.

- **Headers on time.** uvicorn closes a connection idle between requests (its keep-alive
  timeout), but waits forever for the first request's headers, and for any request's once
  its first byte came: a client sending a header a byte at a time holds a connection as long
  as it likes (slowloris). Here a connection whose request headers are not complete
  `https_header_timeout_seconds` after it was accepted (TLS handshake included), or after the
  first byte of a later request on it, is closed.
- **Connections per address.** At most `https_max_connections_per_address` open at once from
  one client address; more are closed as soon as their handshake ends. A trusted proxy is not
  counted (every client behind it shares its address).
- **Forwarded addresses.** `X-Forwarded-For` is read only from a configured trusted proxy
  (`ECLUSE_TRUSTED_PROXIES`, none by default; uvicorn's own default trusts the loopback).
  `Forwarded` and `X-Real-IP` are never read. The address so found is the one throttling,
  detectors and the audit trail use.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Sequence
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from ecluse.config import Settings

HEADER_LIMIT = 16 << 10  # bytes of request line and headers; more is refused
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Admission:
    """Open connections per client address. Used on the event loop's thread only."""

    def __init__(self, *, per_address: int, trusted: Sequence[Network]) -> None:
        self.per_address = per_address
        self.trusted = tuple(trusted)
        self._open: dict[str, int] = {}

    def _exempt(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted)

    def admit(self, address: str) -> bool:
        if self._exempt(address):
            return True
        count = self._open.get(address, 0)
        if count >= self.per_address:
            return False
        self._open[address] = count + 1
        return True

    def release(self, address: str) -> None:
        if address in self._open:
            self._open[address] -= 1
            if not self._open[address]:
                del self._open[address]

    def open_from(self, address: str) -> int:
        return self._open.get(address, 0)


class GuardedH11(H11Protocol):
    """uvicorn's h11 protocol, with a deadline on request headers and the admission count."""

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        *,
        admission: Admission,
        header_seconds: float,
    ) -> None:
        super().__init__(config=config, server_state=server_state, app_state=app_state)
        self._admission = admission
        self._header_seconds = header_seconds
        self._accepted = self.loop.time()  # made when the TCP connection is accepted
        self._header_timer: asyncio.TimerHandle | None = None
        self._counted: str | None = None  # the address admitted, until the connection ends

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if peer else "unknown"
        if not self._admission.admit(address):
            transport.abort()  # nothing was read: no response, no state to unwind
            return
        self._counted = address
        super().connection_made(transport)
        self._arm(self._accepted + self._header_seconds)

    def data_received(self, data: bytes) -> None:
        if self.conn.their_state is h11.IDLE and self._header_timer is None:
            self._arm(self.loop.time() + self._header_seconds)  # a later request begins
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm()  # its headers are in

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._counted is None:
            return  # refused at connection_made
        self._admission.release(self._counted)
        self._counted = None
        super().connection_lost(exc)

    def _arm(self, when: float) -> None:
        self._disarm()
        self._header_timer = self.loop.call_at(when, self._headers_late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.abort()


class HardenedServer(uvicorn.Server):
    """uvicorn's server on our own listener: our TLS context, a bound on the TLS handshake
    (the header deadline) and the guarded protocol."""

    def __init__(self, config: uvicorn.Config, *, settings: Settings, context: ssl.SSLContext):
        super().__init__(config)
        self._context = context
        self._header_seconds = settings.https_header_timeout_seconds
        self.admission = Admission(
            per_address=settings.https_max_connections_per_address,
            trusted=settings.trusted_proxies,
        )

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await self.lifespan.startup()
        config = self.config

        def protocol() -> asyncio.Protocol:
            return GuardedH11(
                config=config,
                server_state=self.server_state,
                app_state=self.lifespan.state,
                admission=self.admission,
                header_seconds=self._header_seconds,
            )

        server = await asyncio.get_running_loop().create_server(
            protocol,
            host=config.host,
            port=config.port,
            ssl=self._context,
            ssl_handshake_timeout=self._header_seconds,
            backlog=config.backlog,
        )
        self.servers = [server]
        self.started = True


def https_server(app: Any, settings: Settings, context: ssl.SSLContext) -> HardenedServer:
    trusted = [str(network) for network in settings.trusted_proxies]
    config = uvicorn.Config(
        app,
        host=settings.bind,
        port=settings.https_port,
        log_level="warning",
        access_log=False,  # the audit trail records who did what; no query strings in logs
        timeout_keep_alive=5,
        timeout_graceful_shutdown=10,
        http="h11",  # its header limit applies (httptools has none to set)
        h11_max_incomplete_event_size=HEADER_LIMIT,
        server_header=False,
        lifespan="off",
        proxy_headers=bool(trusted),  # X-Forwarded-For from trusted proxies only
        forwarded_allow_ips=trusted,
    )
    return HardenedServer(config, settings=settings, context=context)
