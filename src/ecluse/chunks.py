"""Reading an iterator of byte chunks as a file is read (the store's decrypted pieces, an
upload's arrivals), in memory."""

from __future__ import annotations

from collections.abc import Iterator


class ChunkReader:
    """`read(n)` over an iterator of byte chunks, as a file is read."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = memoryview(b"")

    def read(self, size: int = -1) -> bytes:
        while not self._pending:
            chunk = next(self._chunks, b"")
            if not chunk:
                return b""
            self._pending = memoryview(chunk)
        n = len(self._pending) if size < 0 else min(size, len(self._pending))
        out, self._pending = self._pending[:n], self._pending[n:]
        return bytes(out)
