"""The SFTP server's TCP listener: hands asyncssh what it reads in slices of about one SSH
packet.

asyncssh keeps received bytes in one `bytes` buffer and, for each packet it takes off the
front, copies what remains. The event loop reads up to 256 KiB at a time while OpenSSH's
client sends 32 KiB packets, so an upload's bytes were copied about eight times over before
being decrypted. Given one packet's worth at a time, asyncssh copies each byte about once.
Nothing else changes: the same transport, the same protocol, every byte in order.

asyncssh takes this listener through its `tunnel` argument, whose one method is
`create_server(session_factory, host, port)`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

SLICE = 48 << 10  # bytes handed over at a time: one 32 KiB packet and the next one's head


class _Sliced(asyncio.Protocol):
    """Forwards everything to asyncssh's connection, received data in slices."""

    __slots__ = ("_conn",)

    def __init__(self, conn: asyncio.Protocol) -> None:
        self._conn = conn

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._conn.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if len(data) <= SLICE:
            self._conn.data_received(data)
            return
        view = memoryview(data)
        for start in range(0, len(view), SLICE):
            self._conn.data_received(view[start : start + SLICE])  # type: ignore[arg-type]

    def eof_received(self) -> bool | None:
        return self._conn.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._conn.connection_lost(exc)

    def pause_writing(self) -> None:
        self._conn.pause_writing()

    def resume_writing(self) -> None:
        self._conn.resume_writing()


class SlicedListener:
    """Listens on TCP like asyncssh would, wrapping each connection in `_Sliced`."""

    async def create_server(
        self, session_factory: Callable[[str, int], Any], host: str, port: int
    ) -> asyncio.Server:
        loop = asyncio.get_running_loop()
        return await loop.create_server(lambda: _Sliced(session_factory(host, port)), host, port)
