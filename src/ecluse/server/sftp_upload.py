"""An SFTP upload: stored, encrypted, in the quarantine as it arrives; when the client closes
the file, its extraction starts in the background (its outcome is audited, alerted when policy
stops it, and shown as `/inbox/<instruction>/<extraction>.json`). A failed extraction shreds
the upload; an upload never closed is discarded."""

from __future__ import annotations

import asyncio
import collections
import logging
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from ecluse.audit import Action
from ecluse.errors import EcluseError, ValidationError
from ecluse.identity import Principal
from ecluse.packages.extract import extract
from ecluse.packages.lease import process_tag
from ecluse.packages.pipe import ChunkReader
from ecluse.platform import Platform
from ecluse.store.interfaces import BlobInfo

log = logging.getLogger("ecluse.server")
FLUSH, IN_FLIGHT = 1 << 20, 8
_RUNNING: set[asyncio.Future[None]] = set()  # background extractions, kept referenced


class QuarantineUpload:
    def __init__(
        self, platform: Platform, principal: Principal, *, instruction_id: str, name: str
    ) -> None:
        self.platform, self.principal = platform, principal
        self.instruction_id, self.name = instruction_id, name
        ttl = timedelta(hours=platform.settings.quarantine_ttl_hours)
        self.writer = platform.store.writer(  # tagged: removed at once if the server dies
            kind="quarantine", expires_at=datetime.now(UTC) + ttl, tag=process_tag()
        )
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
        cap = self.platform.settings.upload_max_bytes
        if self.received > cap:
            raise ValidationError(f"upload refused: larger than the cap of {cap:,} bytes")
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
            self.writer.write(piece)

    async def close(self) -> BlobInfo:
        """Seal and record the upload, then start its extraction."""
        await self._hand_over()
        while self.pending:
            await self.pending.popleft()
        self.encryptor.shutdown()
        await self._run(self.writer.finish)
        info: BlobInfo = await self._run(self._commit)  # type: ignore[assignment]
        job = asyncio.get_running_loop().run_in_executor(None, self._extract, info)
        _RUNNING.add(job)
        job.add_done_callback(_RUNNING.discard)
        return info

    def _commit(self) -> BlobInfo:
        with self.platform.db.transaction() as s:
            info = self.writer.commit(s)
            self.platform.audit.append(
                s,
                actor=self.principal.actor,
                action=Action.BLOB_PUT,
                refs={"blob": info.id, "instruction": self.instruction_id},
                details={"kind": "quarantine", "bytes": info.plaintext_bytes, "via": "sftp"},
            )
        return info

    def _extract(self, info: BlobInfo) -> None:
        try:
            with self.platform.db.transaction() as s:
                chunks = self.platform.store.open(s, info.id)
            extract(
                self.platform,
                self.principal,
                instruction_id=self.instruction_id,
                source=ChunkReader(chunks),  # type: ignore[arg-type]  # reads like a file
                source_name=self.name,
                quarantined=info,
            )
        except EcluseError:  # recorded and audited by the extraction
            self._shred(info)
        except Exception as e:
            log.error("extraction of an SFTP upload ended by %s", type(e).__name__)
            self._shred(info)

    def _shred(self, info: BlobInfo) -> None:
        with self.platform.db.transaction() as s:
            self.platform.store.shred(s, info.id)
            self.platform.audit.append(
                s, actor="system:sftp", action=Action.BLOB_SHRED, refs={"blob": info.id}
            )
        self.platform.scrub()

    def abort(self) -> None:
        """Discard the upload once the pieces in flight are written (the thread ends first)."""
        self.encryptor.submit(self.writer.abort)
        self.encryptor.shutdown(wait=False, cancel_futures=False)
