"""An SFTP upload: stored, encrypted, in the quarantine as it arrives; when the client closes
the file, its extraction starts in the background (its outcome is audited, alerted when policy
stops it, and shown as `/inbox/<instruction>/<extraction>.json`). A failed extraction shreds
the upload; an upload never closed is discarded."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor

from ecluse.errors import ValidationError
from ecluse.services.quarantine import Incoming
from ecluse.services.vocabulary import Platform, Principal

FLUSH, IN_FLIGHT = 1 << 20, 8


class QuarantineUpload:
    def __init__(
        self,
        platform: Platform,
        principal: Principal,
        *,
        instruction_id: str,
        name: str,
        background: set[asyncio.Future[None]],
    ) -> None:
        self.cap, self.name = platform.settings.upload_max_bytes, name
        self.incoming = Incoming(platform, principal, instruction_id=instruction_id)
        self.background = background  # extractions under way, kept referenced by the server
        self.held: list[bytes] = []  # received, not yet handed to the writer
        self.held_bytes = 0
        self.pending: collections.deque[asyncio.Future[None]] = collections.deque()
        self.encryptor = ThreadPoolExecutor(1, thread_name_prefix="sftp-upload")  # in order
        self.received = 0

    async def _run(self, fn: object, *args: object) -> object:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)  # type: ignore[arg-type]

    def write(self, offset: int, data: bytes) -> Coroutine[None, None, None] | None:
        """Hold `data`; once a piece is full, the coroutine that hands it over (await it)."""
        if offset != self.received:
            raise ValidationError("writes must come in order")
        self.received += len(data)
        if self.received > self.cap:
            raise ValidationError(f"upload refused: larger than the cap of {self.cap:,} bytes")
        self.held.append(data)
        self.held_bytes += len(data)
        return self._hand_over() if self.held_bytes >= FLUSH else None

    async def _hand_over(self) -> None:
        """Encrypt what is held on the upload's own thread (in order) while the next pieces
        arrive; at most `IN_FLIGHT` pieces wait (back-pressure on a slow disk)."""
        while len(self.pending) >= IN_FLIGHT:
            await self.pending.popleft()
        pieces, self.held, self.held_bytes = self.held, [], 0
        loop = asyncio.get_running_loop()
        self.pending.append(loop.run_in_executor(self.encryptor, self._write, pieces))

    def _write(self, pieces: list[bytes]) -> None:
        for piece in pieces:
            self.incoming.write(piece)

    async def close(self) -> str:
        """Seal and record the upload, then start its extraction; the upload's blob id."""
        await self._hand_over()
        while self.pending:
            await self.pending.popleft()
        self.encryptor.shutdown()
        blob_id: str = await self._run(self.incoming.seal)  # type: ignore[assignment]
        job = asyncio.get_running_loop().run_in_executor(None, self.incoming.extract, self.name)
        self.background.add(job)
        job.add_done_callback(self.background.discard)
        return blob_id

    def abort(self) -> None:
        """Discard the upload once the pieces in flight are written (the thread ends first)."""
        self.encryptor.submit(self.incoming.abort)
        self.encryptor.shutdown(wait=False, cancel_futures=False)
