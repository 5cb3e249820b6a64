"""A source export received over SFTP: encrypted into the quarantine as it arrives, recorded
(audited) when the client closes the file, then extracted from there; a failed extraction
shreds it (audited). An upload never closed is discarded, nothing recorded."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from ecluse.audit import Action
from ecluse.chunks import ChunkReader
from ecluse.errors import EcluseError
from ecluse.identity import Principal
from ecluse.instance.platform import Platform
from ecluse.packages.lease import process_tag
from ecluse.packages.quarantine import time_to_live
from ecluse.services.extraction import extract
from ecluse.store.interfaces import BlobInfo

log = logging.getLogger("ecluse.server")


class Incoming:
    """One upload, as the SFTP server feeds it: `write` (in order, on one thread), `seal`,
    then `extract`; or `abort`."""

    def __init__(self, platform: Platform, p: Principal, *, instruction_id: str) -> None:
        self.platform, self.principal, self.instruction_id = platform, p, instruction_id
        self.writer = platform.store.writer(  # tagged: removed at once if the server dies
            kind="quarantine",
            expires_at=datetime.now(UTC) + time_to_live(platform.settings),
            tag=process_tag(),
        )
        self.info: BlobInfo | None = None

    def write(self, data: bytes) -> None:
        self.writer.write(data)

    def abort(self) -> None:
        self.writer.abort()

    def seal(self) -> str:
        """Finish the encrypted blob and record it (audited); its id."""
        self.writer.finish()
        with self.platform.db.transaction() as s:
            info = self.writer.commit(s)
            self.platform.audit.append(
                s,
                actor=self.principal.actor,
                action=Action.BLOB_PUT,
                refs={"blob": info.id, "instruction": self.instruction_id},
                details={"kind": "quarantine", "bytes": info.plaintext_bytes, "via": "sftp"},
            )
        self.info = info
        return info.id

    def extract(self, name: str) -> None:
        """Extract the sealed upload; its outcome is recorded and audited by the extraction,
        and a failure shreds the upload. Raises nothing: it runs in the background."""
        info = self.info
        if info is None:
            raise RuntimeError("seal the upload before extracting it")
        try:
            with self.platform.db.transaction() as s:
                chunks = self.platform.store.open(s, info.id)
            extract(
                self.platform,
                self.principal,
                instruction_id=self.instruction_id,
                source=ChunkReader(chunks),
                source_name=name,
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
