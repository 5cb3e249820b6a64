"""The quarantine: where a raw source export waits, encrypted, for its extraction, and for
how long.

A source reaches an extraction as a `Readable`. One streamed as it arrives (the CLI, HTTPS)
is encrypted into the quarantine by the extraction as it reads; one already there (SFTP) is
read back with `ecluse.chunks.ChunkReader` over the store's decrypted pieces, in memory, and
the extraction records that blob as its quarantine instead of writing it a second time.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from ecluse.config import Settings


def time_to_live(settings: Settings) -> timedelta:
    """How long a raw source may stay in the quarantine (encrypted) before it is shredded,
    and after which a run or upload that still holds one is dead."""
    return timedelta(hours=settings.quarantine_ttl_hours)


class Readable(Protocol):
    """What a source export is read from, whichever channel brought it: a file (the CLI),
    the pipe of an HTTPS upload, or the quarantine's own decrypted pieces (an SFTP upload)."""

    def read(self, size: int = -1, /) -> bytes: ...
