"""LocalBlobStore on SQLite and PostgreSQL: ciphertext only, atomic, fail closed, shredding."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from ecluse.audit import Action
from ecluse.crypto.envelope import object_aad
from ecluse.crypto.interfaces import WrappedKey
from ecluse.crypto.streaming import AesGcmHkdfStreaming
from ecluse.db.models import AuditEvent, Blob
from ecluse.errors import (
    AuditWriteError,
    IntegrityError,
    KeyManagerError,
    StorageError,
    ValidationError,
)
from ecluse.instance.platform import Platform
from ecluse.services.host import rotate_keys

MARKER = b"NIR 1 84 12 76 451 089 46 DUPONT Jeanne VIH+"


def sample(size: int = 3 << 20) -> bytes:
    """Random bytes with a recognisable plaintext marker every 64 KiB."""
    data = bytearray(os.urandom(size))
    for i in range(0, size - len(MARKER), 65536):
        data[i : i + len(MARKER)] = MARKER
    return bytes(data)


def put(platform: Platform, data: bytes, kind: str = "quarantine") -> str:
    with platform.db.transaction() as s:
        info = platform.store.put(s, io.BytesIO(data), kind=kind)
        platform.audit.append(
            s, actor="test:operator", action=Action.BLOB_PUT, refs={"blob": info.id}
        )
    return info.id


def read(platform: Platform, blob_id: str) -> bytes:
    with platform.db.transaction() as s:
        return b"".join(platform.store.open(s, blob_id))


def files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_roundtrip_and_only_ciphertext_on_disk(platform: Platform) -> None:
    data = sample()
    blob_id = put(platform, data)
    assert read(platform, blob_id) == data
    files = files_under(platform.settings.store_dir)
    assert [f.name for f in files] == [f"{blob_id}.blob"]  # no temporary file left
    raw = files[0].read_bytes()
    assert MARKER not in raw and b"DUPONT" not in raw
    assert files[0].stat().st_mode & 0o777 == 0o600
    with platform.db.transaction() as s:
        row = s.get(Blob, blob_id)
        assert row is not None and row.plaintext_bytes == len(data)
        assert row.ciphertext_bytes == len(raw)


def test_streaming_writer_accepts_pieces(platform: Platform) -> None:
    data = sample(2 << 20)
    w = platform.store.writer(kind="upload")  # a long write holds no transaction open
    for i in range(0, len(data), 12345):
        w.write(data[i : i + 12345])
    with platform.db.transaction() as s:
        blob_id = w.commit(s).id
    assert read(platform, blob_id) == data


@pytest.mark.parametrize("cause", ["patient datum in details", "audit chain emptied"])
def test_failed_audit_write_leaves_nothing(platform: Platform, cause: str) -> None:
    """Fail closed: the event cannot be written, so the blob (row and file) never existed."""
    patient = cause.startswith("patient")
    details = {"note": "1 84 12 76 451 089 46"} if patient else {}
    expected: type[Exception] = ValidationError if patient else AuditWriteError
    if cause == "audit chain emptied":
        with platform.db.transaction() as s:
            s.execute(delete(AuditEvent))
    with pytest.raises(expected), platform.db.transaction() as s:
        info = platform.store.put(s, io.BytesIO(sample(1 << 20)), kind="quarantine")
        platform.audit.append(s, actor="test:operator", action=Action.BLOB_PUT, details=details)
    with platform.db.transaction() as s:
        assert s.get(Blob, info.id) is None
    assert files_under(platform.settings.store_dir) == []


def test_aborted_upload_leaves_nothing(platform: Platform) -> None:
    w = platform.store.writer(kind="upload")
    w.write(sample(1 << 20))
    w.abort()
    assert files_under(platform.settings.store_dir) == []


@pytest.mark.parametrize("attack", ["flip", "truncate", "append", "swap"])
def test_tampered_blob_is_refused(platform: Platform, attack: str) -> None:
    a, b = put(platform, sample()), put(platform, sample())
    path = platform.store.path_of(a)
    raw = bytearray(path.read_bytes())
    if attack == "flip":
        raw[len(raw) // 2] ^= 0x01
    elif attack == "truncate":
        raw = raw[: 1 << 20]
    elif attack == "append":
        raw += b"\x00" * 100
    else:  # another object's ciphertext under this object's name
        raw = bytearray(platform.store.path_of(b).read_bytes())
    path.write_bytes(bytes(raw))
    with pytest.raises(IntegrityError):
        read(platform, a)


def test_shredded_blob_cannot_be_decrypted_by_any_means(platform: Platform, tmp_path: Path) -> None:
    data = sample()
    blob_id = put(platform, data)
    copy = tmp_path / "stolen.blob"
    shutil.copy(platform.store.path_of(blob_id), copy)
    with platform.db.transaction() as s:
        row = s.get(Blob, blob_id)
        assert row is not None and row.wrapped_key is not None
        wrapped = WrappedKey(row.kek_version or 0, bytes(row.wrapped_key))
        platform.store.shred(s, blob_id)
    platform.scrub()

    assert not platform.store.path_of(blob_id).exists()
    with pytest.raises(StorageError, match="shredded"):
        read(platform, blob_id)
    with platform.db.transaction() as s:
        row = s.get(Blob, blob_id)
        assert row is not None and row.state == "shredded" and row.wrapped_key is None
        assert s.execute(select(Blob.wrapped_key).where(Blob.wrapped_key.is_not(None))).all() == []
    if platform.db.dialect == "sqlite":  # not even in freed pages or the write-ahead log
        for f in platform.settings.db_dir.iterdir():
            assert wrapped.ciphertext not in f.read_bytes(), f.name

    # An attacker with a backup of the wrapped key: rotation destroys the KEK it needs.
    rotate_keys(platform, actor="test:admin")
    with pytest.raises(KeyManagerError):
        platform.keys.unwrap(wrapped, aad=object_aad(blob_id))
    # And no key the system holds opens the stolen copy.
    for version in platform.keys.versions():
        with pytest.raises((KeyManagerError, IntegrityError)):
            key = platform.keys.unwrap(
                WrappedKey(version.version, wrapped.ciphertext), aad=object_aad(blob_id)
            )
            with copy.open("rb") as f:
                b"".join(AesGcmHkdfStreaming(key).decrypt(f, aad=object_aad(blob_id)))


def test_rotation_rewraps_without_touching_blobs(platform: Platform) -> None:
    datas = [sample(1 << 20) for _ in range(5)]
    ids = [put(platform, d) for d in datas]
    before = {i: platform.store.path_of(i).read_bytes() for i in ids}
    with platform.db.transaction() as s:
        old = {i: bytes(s.get(Blob, i).wrapped_key) for i in ids}  # type: ignore[union-attr, arg-type]
    result = rotate_keys(platform, actor="test:admin")
    assert result.new_version == 2 and result.rewrapped == 5 and result.destroyed == [1]
    for i, d in zip(ids, datas, strict=True):
        assert platform.store.path_of(i).read_bytes() == before[i]
        assert read(platform, i) == d
        with pytest.raises(KeyManagerError):
            platform.keys.unwrap(WrappedKey(1, old[i]), aad=object_aad(i))
    with platform.db.transaction() as s:
        assert {r.kek_version for r in s.execute(select(Blob)).scalars()} == {2}
