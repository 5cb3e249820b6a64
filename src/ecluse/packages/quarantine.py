"""A source export that reached the quarantine before its extraction (an SFTP upload is
stored, encrypted, as it arrives; its extraction starts when the file is closed).

- `Held`: stands in for the quarantine writer of an extraction, so that the source is not
  written a second time; the extraction records the held blob as its quarantine.
- `BlobSource`: the held blob, decrypted piece by piece in memory, read like a file.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy.orm import Session

from ecluse.store.interfaces import BlobInfo


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


class BlobSource:
    """`read(n)` over an iterator of decrypted pieces."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = memoryview(b"")

    def read(self, size: int = -1) -> bytes:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._pending = memoryview(chunk)
        n = len(self._pending) if size < 0 else min(size, len(self._pending))
        out, self._pending = self._pending[:n], self._pending[n:]
        return bytes(out)
