"""Tink's AES-GCM-HKDF-Streaming format (AES-256, HKDF-SHA256), built on AES-GCM.

Published format, reimplemented byte for byte and tested against Tink itself:

    ciphertext = header || segment_0 || segment_1 || ... || segment_n
    header     = header_length (1 byte, = 1 + 32 + 7) || salt (32) || nonce_prefix (7)
    key        = HKDF-SHA256(ikm = main key, salt = salt, info = associated data, 32 bytes)
    segment_i  = AES-256-GCM(key, nonce_prefix || BE32(i) || last?, plaintext_i), no GCM AAD

Every ciphertext segment is `segment_size` bytes (the first one counts the header) except the
last, which may be shorter. Memory stays at two segments whatever the size of the object.
"""

from __future__ import annotations

import contextlib
import io
import mmap
import os
import stat
from collections.abc import Iterator
from typing import BinaryIO, Protocol

from ecluse.crypto._primitives import (
    AES256_KEY_SIZE,
    GCM_TAG_SIZE,
    Gcm,
    hkdf_sha256,
    random_bytes,
)
from ecluse.errors import IntegrityError

NONCE_PREFIX_SIZE = 7
HEADER_SIZE = 1 + AES256_KEY_SIZE + NONCE_PREFIX_SIZE
DEFAULT_SEGMENT_SIZE = 1 << 20
MAX_SEGMENTS = 1 << 32
_MIN_SEGMENT_SIZE = HEADER_SIZE + GCM_TAG_SIZE + 1


class Writable(Protocol):
    def write(self, data: bytes | bytearray | memoryview, /) -> int | None: ...


def _read_full(src: BinaryIO, buf: memoryview) -> int:
    """Fill `buf` from `src` until full or end of stream; return the number of bytes read."""
    filled = 0
    while filled < len(buf):
        n = src.readinto(buf[filled:])  # type: ignore[attr-defined]
        if not n:
            break
        filled += n
    return filled


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    if index >= MAX_SEGMENTS:
        raise IntegrityError("stream has more segments than the format allows")
    return prefix + index.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


class AesGcmHkdfStreaming:
    """Streaming AEAD keyed by one 32-byte main key (a data key of the envelope)."""

    __slots__ = ("_key", "segment_size")

    def __init__(self, key: bytes, *, segment_size: int = DEFAULT_SEGMENT_SIZE) -> None:
        if len(key) != AES256_KEY_SIZE:
            raise ValueError("AES-GCM-HKDF-Streaming here uses a 32-byte main key")
        if segment_size < _MIN_SEGMENT_SIZE:
            raise ValueError("segment size too small")
        self._key = key
        self.segment_size = segment_size

    @property
    def first_plaintext_size(self) -> int:
        return self.segment_size - HEADER_SIZE - GCM_TAG_SIZE

    @property
    def plaintext_size(self) -> int:
        return self.segment_size - GCM_TAG_SIZE

    def ciphertext_size(self, plaintext_size: int) -> int:
        """Exact ciphertext length for a plaintext of `plaintext_size` bytes."""
        rest = max(0, plaintext_size - self.first_plaintext_size)
        segments = 1 + -(-rest // self.plaintext_size)
        return HEADER_SIZE + plaintext_size + segments * GCM_TAG_SIZE

    def _derive(self, salt: bytes, aad: bytes) -> Gcm:
        return Gcm(hkdf_sha256(ikm=self._key, salt=salt, info=aad, length=AES256_KEY_SIZE))

    def encrypt(self, src: BinaryIO, dst: Writable, *, aad: bytes) -> int:
        """Encrypt everything `src` yields into `dst`; return the plaintext byte count."""
        salt, prefix = random_bytes(AES256_KEY_SIZE), random_bytes(NONCE_PREFIX_SIZE)
        gcm = self._derive(salt, aad)
        dst.write(bytes([HEADER_SIZE]) + salt + prefix)
        cur = memoryview(bytearray(self.plaintext_size))
        nxt = memoryview(bytearray(self.plaintext_size))
        out = bytearray(self.segment_size)
        cap = self.first_plaintext_size
        n = _read_full(src, cur[:cap])
        total, index = 0, 0
        while True:
            m = _read_full(src, nxt) if n == cap else 0
            last = m == 0
            w = gcm.seal_into(_nonce(prefix, index, last), cur[:n], out)
            dst.write(memoryview(out)[:w])
            total += n
            if last:
                return total
            cur, nxt, n, cap, index = nxt, cur, m, self.plaintext_size, index + 1

    def encryptor(self, dst: Writable, *, aad: bytes) -> StreamEncryptor:
        """A push-style writer for data that arrives in pieces (uploads, SFTP writes)."""
        return StreamEncryptor(self, dst, aad=aad)

    def decrypt(self, src: BinaryIO, *, aad: bytes) -> Iterator[bytes]:
        """Yield authenticated plaintext segment by segment.

        A segment is only yielded once its tag verified; a truncated or extended stream raises
        `IntegrityError` at the end, so consumers must discard what they wrote if it raises.
        """
        for view in self._segments(src, aad):
            yield bytes(view)

    def decrypt_to(self, src: BinaryIO, dst: Writable, *, aad: bytes) -> int:
        """Decrypt `src` into `dst` without copying; return the plaintext byte count."""
        total = 0
        for view in self._segments(src, aad):
            dst.write(view)
            total += len(view)
        return total

    def _segments(self, src: BinaryIO, aad: bytes) -> Iterator[memoryview]:
        """Views into one reused buffer: each is valid until the next one is produced."""
        with _whole_view(src) as view:
            if view is not None:
                try:
                    yield from self._view_segments(view, aad)
                finally:
                    view.release()  # the mapping cannot close while a view is exported
                return
        yield from self._stream_segments(src, aad)

    def _open_header(self, header: bytes, aad: bytes) -> tuple[Gcm, bytes]:
        """The segment cipher and nonce prefix from a stream's header."""
        if len(header) != HEADER_SIZE or header[0] != HEADER_SIZE:
            raise IntegrityError("ciphertext header missing or malformed")
        return self._derive(header[1 : 1 + AES256_KEY_SIZE], aad), header[1 + AES256_KEY_SIZE :]

    def _view_segments(self, view: memoryview, aad: bytes) -> Iterator[memoryview]:
        """Zero-copy path: the whole ciphertext is addressable (a mapped file)."""
        gcm, prefix = self._open_header(bytes(view[:HEADER_SIZE]), aad)
        out = bytearray(self.plaintext_size)
        pos, cap, index, total = HEADER_SIZE, self.segment_size - HEADER_SIZE, 0, len(view)
        while True:
            end = min(pos + cap, total)
            last = end == total
            w = gcm.open_into(_nonce(prefix, index, last), view[pos:end], out)
            yield memoryview(out)[:w]
            if last:
                return
            pos, cap, index = end, self.segment_size, index + 1

    def _stream_segments(self, src: BinaryIO, aad: bytes) -> Iterator[memoryview]:
        gcm, prefix = self._open_header(src.read(HEADER_SIZE), aad)
        cur = memoryview(bytearray(self.segment_size))
        nxt = memoryview(bytearray(self.segment_size))
        out = bytearray(self.plaintext_size)
        cap = self.segment_size - HEADER_SIZE
        n = _read_full(src, cur[:cap])
        index = 0
        while True:
            m = _read_full(src, nxt) if n == cap else 0
            last = m == 0
            w = gcm.open_into(_nonce(prefix, index, last), cur[:n], out)
            yield memoryview(out)[:w]
            if last:
                return
            cur, nxt, n, cap, index = nxt, cur, m, self.segment_size, index + 1


@contextlib.contextmanager
def _whole_view(src: BinaryIO) -> Iterator[memoryview | None]:
    """The rest of `src` as one read-only mapped view when it is a regular file, else None.

    Decrypting from the page cache through the mapping saves a copy per segment.
    """
    try:
        fd, offset = src.fileno(), src.tell()
        st = os.fstat(fd)
    except (AttributeError, OSError, io.UnsupportedOperation):
        yield None
        return
    if not stat.S_ISREG(st.st_mode) or st.st_size <= offset:
        yield None
        return
    mapped = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
    whole = memoryview(mapped)
    try:
        yield whole[offset:]
    finally:
        # After an error its traceback may still hold a slice: the mapping is then unmapped
        # when that last view is freed.
        with contextlib.suppress(BufferError):
            whole.release()
            mapped.close()


class StreamEncryptor:
    """Push-style encryption: `write()` pieces of any size, then `close()` exactly once."""

    def __init__(self, aead: AesGcmHkdfStreaming, dst: Writable, *, aad: bytes) -> None:
        salt, self._prefix = random_bytes(AES256_KEY_SIZE), random_bytes(NONCE_PREFIX_SIZE)
        self._gcm = aead._derive(salt, aad)
        self._dst = dst
        self._buf = memoryview(bytearray(aead.plaintext_size))  # assigned through a view: one copy
        self._cap = aead.first_plaintext_size
        self._full_cap = aead.plaintext_size
        self._fill = 0
        self._index = 0
        self._out = bytearray(aead.segment_size)
        self._closed = False
        self.plaintext_bytes = 0
        dst.write(bytes([HEADER_SIZE]) + salt + self._prefix)

    def _emit(self, *, last: bool) -> None:
        nonce = _nonce(self._prefix, self._index, last)
        w = self._gcm.seal_into(nonce, self._buf[: self._fill], self._out)
        self._dst.write(memoryview(self._out)[:w])
        self._index += 1
        self._fill = 0
        self._cap = self._full_cap

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if self._closed:
            raise ValueError("write after close")
        view = memoryview(data).cast("B")
        size = len(view)
        while view:
            if self._fill == self._cap:
                self._emit(last=False)
            take = min(self._cap - self._fill, len(view))
            self._buf[self._fill : self._fill + take] = view[:take]
            self._fill += take
            view = view[take:]
        self.plaintext_bytes += size
        return size

    def close(self) -> None:
        """Seal the final segment. Without it the stream does not verify."""
        if not self._closed:
            self._closed = True
            self._emit(last=True)
