"""The `BlobStore` role: encrypted objects with a metadata row each."""

from __future__ import annotations

from collections.abc import Iterator
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
