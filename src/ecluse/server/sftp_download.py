"""A package read over SFTP: the age ciphertext decrypted from the store piece by piece on a
worker thread and served in order; a read behind the current position restarts the stream
(the download is then audited twice: honest about what left)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field

from ecluse.services import packages
from ecluse.services.vocabulary import Platform, Principal


@dataclass
class PackageReader:
    platform: Platform
    principal: Principal
    package_id: str
    chunks: Iterator[bytes] | None = None
    base: int = 0  # offset of buffer[0]
    buffer: bytearray = field(default_factory=bytearray)
    done: bool = False
    sent: int = 0

    def _pull(self) -> bytes | None:
        if self.chunks is None:
            self.chunks = packages.download(self.platform, self.principal, self.package_id)
        return next(self.chunks, None)

    async def read(self, offset: int, size: int) -> bytes:
        if offset < self.base:
            self.chunks, self.base, self.buffer, self.done = None, 0, bytearray(), False
        loop = asyncio.get_running_loop()
        while not self.done and self.base + len(self.buffer) < offset + size:
            chunk = await loop.run_in_executor(None, self._pull)
            if chunk is None:
                self.done = True
                continue
            served = min(max(0, offset - self.base), len(self.buffer))  # once per chunk
            del self.buffer[:served]
            self.base += served
            self.buffer += chunk
        start = offset - self.base
        data = bytes(self.buffer[start : start + size])
        self.sent += len(data)
        return data
