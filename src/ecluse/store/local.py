"""`LocalBlobStore`: ciphertext files under store/, one metadata row each.

Only ciphertext ever touches the disk: data is encrypted as it streams in, into a temporary
file in the object's own directory (0600, O_EXCL), fsynced, then renamed into place. If the
caller's transaction does not commit, the file is removed. A temporary file's name carries
its writer's tag (the extraction run, or the process of an upload), so that what a killed
process left half written can be found and removed at once, and only that. Shredding
destroys the wrapped data key in the database and removes the file: the ciphertext,
wherever a copy of it went, can no longer be decrypted by anything the system holds.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session

from ecluse.crypto.envelope import Envelope, object_aad
from ecluse.crypto.interfaces import WrappedKey
from ecluse.crypto.streaming import StreamEncryptor
from ecluse.db import on_rollback
from ecluse.db.models import Blob
from ecluse.errors import StorageError
from ecluse.store.interfaces import BlobInfo

STORED, SHREDDED = "stored", "shredded"


_TAG = re.compile(r"[A-Za-z0-9._@-]{0,100}")
WRITEBACK_EVERY = 32 << 20  # bytes written between starts of write-back, so commit is quick


class _OutFile:
    """Counts the ciphertext as it goes to disk, and has the kernel start writing it back
    (and drop it from the page cache) every `WRITEBACK_EVERY` bytes without waiting for it:
    the fsync before commit then has little left to do, and the writer never stalls on it."""

    def __init__(self, fd: int) -> None:
        self.file = os.fdopen(fd, "wb", buffering=0)
        self.size = self._written_back = 0

    def write(self, data: bytes | bytearray | memoryview, /) -> int:
        view = memoryview(data)
        while view:
            n = self.file.write(view)
            view = view[n or 0 :]
        self.size += len(data)
        if self.size - self._written_back >= WRITEBACK_EVERY:
            os.posix_fadvise(self.file.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
            self._written_back = self.size
        return len(data)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _info(row: Blob) -> BlobInfo:
    return BlobInfo(
        id=row.id,
        kind=row.kind,
        state=row.state,
        plaintext_bytes=row.plaintext_bytes,
        ciphertext_bytes=row.ciphertext_bytes,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


class LocalWriter:
    """A `BlobWriter` that encrypts into a temporary file and renames it on commit."""

    def __init__(
        self, store: LocalBlobStore, *, kind: str, expires_at: datetime | None, tag: str = ""
    ) -> None:
        self._store = store
        self._kind, self._expires_at = kind, expires_at
        self.id = str(uuid.uuid4())
        self._final = store.path_of(self.id)
        self._tmp = store.temporary_of(self.id, tag)
        try:
            self._final.parent.mkdir(mode=0o700, exist_ok=True)
            fd = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as e:
            raise StorageError(f"cannot create an object in the store at {store.root}") from e
        self._out = _OutFile(fd)
        self._wrapped: WrappedKey
        self._enc: StreamEncryptor
        try:
            self._wrapped, self._enc = store.envelope.encryptor(self.id, self._out)
        except BaseException:
            self.abort()
            raise
        self._done = False

    def write(self, data: bytes | bytearray | memoryview, /) -> int:
        return self._enc.write(data)

    @property
    def plaintext_bytes(self) -> int:
        return self._enc.plaintext_bytes

    def finish(self) -> None:
        """Seal the stream and make the file durable (before `commit`, from any thread)."""
        if not self._out.file.closed:
            self._enc.close()
            os.fsync(self._out.file.fileno())
            self._out.file.close()

    def commit(self, session: Session) -> BlobInfo:
        """Put the object in place and record it in `session`'s transaction (undone with it)."""
        try:
            self.finish()
            os.replace(self._tmp, self._final)
            _fsync_dir(self._final.parent)
        except OSError as e:
            self.abort()
            raise StorageError("could not write an object to the blob store") from e
        self._done = True
        on_rollback(session, self._final.unlink)
        row = Blob(
            id=self.id,
            kind=self._kind,
            state=STORED,
            plaintext_bytes=self._enc.plaintext_bytes,
            ciphertext_bytes=self._out.size,
            kek_version=self._wrapped.kek_version,
            wrapped_key=self._wrapped.ciphertext,
            created_at=datetime.now(UTC),
            expires_at=self._expires_at,
        )
        session.add(row)
        session.flush()
        return _info(row)

    def abort(self) -> None:
        if not getattr(self, "_done", False):
            self._out.file.close()
            self._tmp.unlink(missing_ok=True)
            self._done = True


class LocalBlobStore:
    """Encrypted blobs on the local filesystem."""

    def __init__(self, *, root: Path, envelope: Envelope) -> None:
        self.root = root
        self.envelope = envelope

    def path_of(self, blob_id: str) -> Path:
        return self.root / blob_id[:2] / f"{blob_id}.blob"

    def temporary_of(self, blob_id: str, tag: str = "") -> Path:
        """Where an object is written before its commit: `.<id>[.<tag>].tmp` beside it."""
        if not _TAG.fullmatch(tag):
            raise StorageError("a writer's tag is letters, digits and . _ @ - only")
        return self.path_of(blob_id).with_name(f".{blob_id}{'.' if tag else ''}{tag}.tmp")

    def writer(
        self, *, kind: str, expires_at: datetime | None = None, tag: str = ""
    ) -> LocalWriter:
        """An encrypting writer; nothing is recorded until `commit(session)`, so a long write
        holds no transaction open. `tag` names who writes it (see `remove_temporaries`)."""
        return LocalWriter(self, kind=kind, expires_at=expires_at, tag=tag)

    def put(
        self, session: Session, source: BinaryIO, *, kind: str, expires_at: datetime | None = None
    ) -> BlobInfo:
        w = self.writer(kind=kind, expires_at=expires_at)
        try:
            buf = bytearray(1 << 20)
            view = memoryview(buf)
            while n := source.readinto(view):  # type: ignore[attr-defined]
                w.write(view[:n])
        except BaseException:
            w.abort()
            raise
        return w.commit(session)

    def _row(self, session: Session, blob_id: str) -> Blob:
        row = session.get(Blob, blob_id)
        if row is None:
            raise StorageError(f"no object {blob_id} in the blob store")
        return row

    def info(self, session: Session, blob_id: str) -> BlobInfo:
        return _info(self._row(session, blob_id))

    def open(self, session: Session, blob_id: str) -> Iterator[bytes]:
        """Authenticated plaintext, segment by segment. Raises `IntegrityError` if tampered."""
        row = self._row(session, blob_id)
        if row.state != STORED or row.wrapped_key is None or row.kek_version is None:
            raise StorageError(f"object {blob_id} was shredded")
        aead = self.envelope.aead_for(blob_id, WrappedKey(row.kek_version, row.wrapped_key))
        try:
            f = self.path_of(blob_id).open("rb")
        except FileNotFoundError as e:
            raise StorageError(f"file of object {blob_id} is missing from the store") from e
        return _closing(f, aead.decrypt(f, aad=object_aad(blob_id)))

    def shred(self, session: Session, blob_id: str) -> BlobInfo:
        """Destroy the data key, then the file. Idempotent on an already shredded object."""
        row = self._row(session, blob_id)
        row.wrapped_key = None
        row.kek_version = None
        row.state = SHREDDED
        row.shredded_at = row.shredded_at or datetime.now(UTC)
        session.flush()
        self.path_of(blob_id).unlink(missing_ok=True)
        return _info(row)

    def temporaries(self, tag: str) -> list[Path]:
        """The temporary files of the writers whose tag matches `tag` (a glob pattern)."""
        return list(self.root.glob(f"*/.*.{tag}.tmp"))

    def writer_tags(self, pattern: str) -> set[str]:
        return {p.name.removesuffix(".tmp").split(".", 2)[-1] for p in self.temporaries(pattern)}

    def holds(self, blob_id: str) -> bool:
        return self.path_of(blob_id).exists()

    def remove_unfinished(self, session: Session, *, tag: str, blob_ids: Iterable[str]) -> int:
        """Remove what a dead writer left: its temporary files (found by its tag), and those
        of `blob_ids` that reached their place in the store but not its table (the process
        died between the rename and the commit). The number of files removed."""
        found = self.temporaries(tag)
        for blob_id in blob_ids:
            if session.get(Blob, blob_id) is None:
                found += [self.path_of(blob_id), self.temporary_of(blob_id)]
        removed = 0
        for path in found:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
        return removed

    def remove_stale_temporaries(self, *, older_than: datetime) -> int:
        """Remove what a writer cut short by a crash left behind: ciphertext whose data key
        was never saved, so unreadable, but not to be kept either."""
        removed = 0
        for tmp in self.root.glob("*/.*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                if datetime.fromtimestamp(tmp.stat().st_mtime, UTC) < older_than:
                    tmp.unlink()
                    removed += 1
        return removed


def _closing(f: BinaryIO, chunks: Iterator[bytes]) -> Iterator[bytes]:
    with f:
        yield from chunks
