"""The upload pipe: order kept, back-pressure, the cap, and failures on either side."""

from __future__ import annotations

import asyncio
import threading

import pytest

from ecluse.errors import ValidationError
from ecluse.server.pipe import Pipe, PipeClosed


def _drain(pipe: Pipe, into: list[bytes], size: int = 7) -> None:
    while chunk := pipe.read(size):
        into.append(chunk)


def test_bytes_arrive_in_order_through_a_small_queue() -> None:
    pipe = Pipe(max_bytes=1 << 20, depth=2)
    got: list[bytes] = []
    reader = threading.Thread(target=_drain, args=(pipe, got))
    reader.start()

    async def send() -> None:
        for i in range(500):
            await pipe.aput(f"{i};".encode())
        pipe.finish()

    asyncio.run(send())
    reader.join(5)
    assert b"".join(got) == b"".join(f"{i};".encode() for i in range(500))
    assert pipe.received == sum(len(f"{i};") for i in range(500))


def test_over_the_cap_both_sides_fail() -> None:
    pipe = Pipe(max_bytes=10)
    pipe.put(b"0123456789")
    with pytest.raises(ValidationError, match="larger than the cap"):
        pipe.put(b"x")
    with pytest.raises(ValidationError, match="larger than the cap"):
        pipe.read()  # the reader never sees a clean end of a refused upload


def test_a_writer_fails_when_the_reader_stops() -> None:
    pipe = Pipe(max_bytes=1 << 20, depth=1)
    pipe.put(b"a")
    pipe.close()
    with pytest.raises(PipeClosed):
        pipe.put(b"b")  # would wait for room forever otherwise


def test_a_broken_upload_reaches_the_reader() -> None:
    pipe = Pipe(max_bytes=1 << 20)
    pipe.put(b"partial")
    pipe.fail(TimeoutError("client silent"))
    with pytest.raises(TimeoutError):
        pipe.read()
