"""The `BlobStore` role: encrypted objects with a metadata row each."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol

from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class BlobInfo:
    id: str
    kind: str
    state: str
    plaintext_bytes: int
    ciphertext_bytes: int
    created_at: datetime
    expires_at: datetime | None


class BlobWriter(Protocol):
    """Receives plaintext in pieces (an upload) and encrypts it as it arrives."""

    @property
    def id(self) -> str:
        """The object's id, fixed when the writer opens."""

    @property
    def plaintext_bytes(self) -> int:
        """Bytes written so far."""

    def write(self, data: bytes | bytearray | memoryview, /) -> int: ...

    def finish(self) -> None:
        """Seal and make durable; `commit` does it if not done (so may another thread)."""

    def commit(self, session: Session) -> BlobInfo: ...

    def abort(self) -> None: ...


class BlobStore(Protocol):
    def put(
        self, session: Session, source: BinaryIO, *, kind: str, expires_at: datetime | None = None
    ) -> BlobInfo: ...

    def writer(
        self, *, kind: str, expires_at: datetime | None = None, tag: str = ""
    ) -> BlobWriter: ...

    def open(self, session: Session, blob_id: str) -> Iterator[bytes]: ...

    def shred(self, session: Session, blob_id: str) -> BlobInfo: ...

    def info(self, session: Session, blob_id: str) -> BlobInfo: ...

    def holds(self, blob_id: str) -> bool:
        """Whether any bytes of the object are still stored (none once it is shredded)."""

    def writer_tags(self, pattern: str) -> set[str]:
        """The tags of the unfinished writers whose tag matches `pattern` (a glob)."""

    def remove_unfinished(self, session: Session, *, tag: str, blob_ids: Iterable[str]) -> int:
        """Remove what a dead writer tagged `tag` left, and those of `blob_ids` stored but
        never recorded; the number of pieces removed."""

    def remove_stale_temporaries(self, *, older_than: datetime) -> int:
        """Remove the pieces of unfinished writers older than `older_than`."""
