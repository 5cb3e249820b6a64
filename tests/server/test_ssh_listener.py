"""The SFTP listener hands asyncssh large reads in packet-sized slices, in order, whole."""

from __future__ import annotations

import asyncio
import os

from ecluse.server.ssh_listener import SLICE, SlicedListener, _Sliced


class _Recorder(asyncio.Protocol):
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.calls.append(("made", transport))

    def data_received(self, data: bytes) -> None:
        self.calls.append(("data", bytes(data)))

    def eof_received(self) -> bool | None:
        self.calls.append(("eof", None))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.calls.append(("lost", exc))


def test_a_large_read_arrives_in_slices_in_order() -> None:
    inner = _Recorder()
    sliced = _Sliced(inner)
    big, small = os.urandom(5 * SLICE + 123), b"ssh-packet"
    sliced.data_received(big)
    sliced.data_received(small)
    pieces = [data for kind, data in inner.calls if kind == "data"]
    assert b"".join(pieces) == big + small
    assert all(len(p) <= SLICE for p in pieces)  # type: ignore[arg-type]
    assert len(pieces) == 6 + 1


def test_everything_else_is_passed_through_over_a_real_socket() -> None:
    async def exchange() -> list[tuple[str, object]]:
        inner = _Recorder()
        server = await SlicedListener().create_server(lambda _h, _p: inner, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        payload = os.urandom(3 * SLICE)
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(payload)
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        for _ in range(200):
            if inner.calls and inner.calls[-1][0] == "lost":
                break
            await asyncio.sleep(0.01)
        server.close()
        await server.wait_closed()
        received = b"".join(d for k, d in inner.calls if k == "data")  # type: ignore[misc]
        assert received == payload
        return inner.calls

    calls = asyncio.run(exchange())
    kinds = [kind for kind, _ in calls]
    assert kinds[0] == "made" and kinds[-2:] == ["eof", "lost"]
