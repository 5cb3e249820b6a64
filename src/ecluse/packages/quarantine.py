"""A source export that reached the quarantine before its extraction (an SFTP upload is
stored, encrypted, as it arrives; its extraction starts when the file is closed).

`Held` stands in for the quarantine writer of an extraction, so that the source is not
written a second time; the extraction records the held blob as its quarantine. The blob is
read back with `ecluse.chunks.ChunkReader` over the store's decrypted pieces, in memory.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from ecluse.config import Settings
from ecluse.store.interfaces import BlobInfo


def time_to_live(settings: Settings) -> timedelta:
    """How long a raw source may stay in the quarantine (encrypted) before it is shredded,
    and after which a run or upload that still holds one is dead."""
    return timedelta(hours=settings.quarantine_ttl_hours)


class Held:
    def __init__(self, info: BlobInfo) -> None:
        self.info = info

    def write(self, data: bytes | bytearray | memoryview, /) -> int:
        return len(data)  # already there

    @property
    def plaintext_bytes(self) -> int:
        return self.info.plaintext_bytes

    def finish(self) -> None:
        pass

    def commit(self, session: Session) -> BlobInfo:
        return self.info

    def abort(self) -> None:
        pass  # the owner of the upload shreds it when the extraction fails
