"""A bounded one-way byte channel from a server's event loop (an upload arriving over HTTPS or
SFTP) to the extraction thread that reads it as a file: back-pressure, a size cap, and a
failure on either side seen by the other. Bytes stay in memory, never on disk."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Iterator

from ecluse.chunks import ChunkReader
from ecluse.errors import EcluseError, ValidationError

_END = b""


class PipeClosed(EcluseError):
    """The reading side stopped (the extraction finished or failed)."""


class Pipe:
    def __init__(self, *, max_bytes: int, depth: int = 32) -> None:
        self._queue: queue.Queue[bytes] = queue.Queue(depth)
        self._reader = ChunkReader(self._arrivals())
        self._error: BaseException | None = None
        self._closed = threading.Event()
        self.max_bytes = max_bytes
        self.received = 0

    # writer side
    def put(self, data: bytes) -> None:
        """Queue `data`, waiting while the reader is behind; refuse past the cap."""
        if not data:
            return
        self.received += len(data)
        if self.received > self.max_bytes:
            error = ValidationError(
                f"upload refused: larger than the cap of {self.max_bytes:,} bytes"
            )
            self.fail(error)
            raise error
        while not self._closed.is_set():
            try:
                self._queue.put(data, timeout=0.2)
            except queue.Full:
                continue
            return
        raise PipeClosed("the extraction reading this upload has stopped")

    async def aput(self, data: bytes) -> None:
        """`put` from an event loop: without a thread hop unless the reader is behind."""
        if data and self.received + len(data) <= self.max_bytes and not self._closed.is_set():
            try:
                self._queue.put_nowait(data)
            except queue.Full:
                pass
            else:
                self.received += len(data)
                return
        await asyncio.get_running_loop().run_in_executor(None, self.put, data)

    def finish(self) -> None:
        """No more data: the reader sees the end of input."""
        while not self._closed.is_set():
            try:
                self._queue.put(_END, timeout=0.2)
            except queue.Full:
                continue
            return

    def fail(self, error: BaseException) -> None:
        """The upload broke (a cap, a timeout, a disconnect): the reader raises `error`."""
        if self._error is None:
            self._error = error

    # reader side
    def read(self, size: int = -1) -> bytes:
        return self._reader.read(size)

    def _arrivals(self) -> Iterator[bytes]:
        """Chunks as they arrive, until the end (an empty chunk); a failure is raised."""
        while True:
            if self._error is not None:
                raise self._error
            try:
                chunk = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            if not chunk:
                return
            yield chunk

    def close(self) -> None:
        """The reader is done; a writer still sending gets `PipeClosed`."""
        self._closed.set()
