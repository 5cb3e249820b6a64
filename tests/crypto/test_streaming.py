"""Properties of the streaming AEAD: any alteration of a ciphertext raises IntegrityError."""

from __future__ import annotations

import io
import os
import tempfile
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecluse.crypto.streaming import HEADER_SIZE, AesGcmHkdfStreaming
from ecluse.errors import IntegrityError

SEG = 256  # small segments: many of them in a few hundred bytes
KEY = bytes(range(32))
AEAD = AesGcmHkdfStreaming(KEY, segment_size=SEG)


def encrypt(plaintext: bytes, aad: bytes = b"ad") -> bytes:
    out = io.BytesIO()
    AEAD.encrypt(io.BytesIO(plaintext), out, aad=aad)
    return out.getvalue()


def decrypt(ciphertext: bytes, aad: bytes = b"ad") -> bytes:
    """Decrypt through both paths (stream, mapped file); they must agree."""
    streamed = _outcome(lambda: b"".join(AEAD.decrypt(io.BytesIO(ciphertext), aad=aad)))
    with tempfile.TemporaryFile() as f:
        f.write(ciphertext)
        f.seek(0)
        mapped = _outcome(lambda: b"".join(AEAD.decrypt(f, aad=aad)))
    assert streamed == mapped
    if streamed[0] == "error":
        raise IntegrityError(streamed[1])
    return streamed[1]


def _outcome(fn: Callable[[], bytes]) -> tuple[str, bytes] | tuple[str, str]:
    try:
        return ("ok", fn())
    except IntegrityError as e:
        return ("error", str(e))


@given(st.binary(max_size=3000))
def test_roundtrip_and_exact_size(plaintext: bytes) -> None:
    ct = encrypt(plaintext)
    assert len(ct) == AEAD.ciphertext_size(len(plaintext))
    assert decrypt(ct) == plaintext


@given(st.binary(max_size=2000), st.lists(st.integers(1, 300), min_size=1))
def test_push_encryptor_matches_any_chunking(plaintext: bytes, cuts: list[int]) -> None:
    out = io.BytesIO()
    enc = AEAD.encryptor(out, aad=b"ad")
    i, k = 0, 0
    while i < len(plaintext):
        enc.write(plaintext[i : i + cuts[k % len(cuts)]])
        i, k = i + cuts[k % len(cuts)], k + 1
    enc.close()
    assert len(out.getvalue()) == AEAD.ciphertext_size(len(plaintext))
    assert decrypt(out.getvalue()) == plaintext


@given(st.binary(min_size=0, max_size=1500), st.data())
def test_any_bit_flip_is_detected(plaintext: bytes, data: st.DataObject) -> None:
    ct = bytearray(encrypt(plaintext))
    bit = data.draw(st.integers(0, len(ct) * 8 - 1))
    ct[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(IntegrityError):
        decrypt(bytes(ct))


@given(st.binary(min_size=1, max_size=1500), st.data())
def test_any_truncation_is_detected(plaintext: bytes, data: st.DataObject) -> None:
    ct = encrypt(plaintext)
    cut = data.draw(st.integers(0, len(ct) - 1))
    with pytest.raises(IntegrityError):
        decrypt(ct[:cut])


@given(st.binary(max_size=1500), st.binary(min_size=1, max_size=600))
def test_any_extension_is_detected(plaintext: bytes, tail: bytes) -> None:
    with pytest.raises(IntegrityError):
        decrypt(encrypt(plaintext) + tail)


@given(st.binary(min_size=3 * SEG, max_size=2000), st.data())
def test_segment_reorder_is_detected(plaintext: bytes, data: st.DataObject) -> None:
    ct = encrypt(plaintext)
    first = SEG  # the first ciphertext segment includes the header
    body = [ct[first + i : first + i + SEG] for i in range(0, len(ct) - first, SEG)]
    full = [i for i, s in enumerate(body) if len(s) == SEG]
    i, j = data.draw(st.sampled_from(full)), data.draw(st.sampled_from(range(len(body))))
    if body[i] == body[j]:
        j = (i + 1) % len(body)
    body[i], body[j] = body[j], body[i]
    with pytest.raises(IntegrityError):
        decrypt(ct[:first] + b"".join(body))


@settings(max_examples=50)
@given(st.binary(max_size=1000), st.binary(max_size=1000))
def test_header_swap_is_detected(a: bytes, b: bytes) -> None:
    ct_a, ct_b = encrypt(a), encrypt(b)
    with pytest.raises(IntegrityError):
        decrypt(ct_b[:HEADER_SIZE] + ct_a[HEADER_SIZE:])


def test_associated_data_and_key_are_bound() -> None:
    ct = encrypt(b"some bytes")
    with pytest.raises(IntegrityError):
        decrypt(ct, aad=b"other object")
    other = AesGcmHkdfStreaming(os.urandom(32), segment_size=SEG)
    with pytest.raises(IntegrityError):
        b"".join(other.decrypt(io.BytesIO(ct), aad=b"ad"))


class _Zeros(io.RawIOBase):
    def __init__(self, n: int) -> None:
        self.left = n

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        n = min(len(b), self.left)  # the buffer's bytes are the data; no copy needed
        self.left -= n
        return n


class _Sink:
    def __init__(self) -> None:
        self.n = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self.n += len(data)
        return len(data)


def test_memory_is_constant_whatever_the_size(tmp_path: Path) -> None:
    """128 MiB through encrypt, then decrypt, each within a few 1 MiB segments of memory."""
    size = 128 << 20
    aead = AesGcmHkdfStreaming(KEY)
    ct_file = tmp_path / "ct"
    tracemalloc.start()
    with ct_file.open("wb") as f:
        aead.encrypt(_Zeros(size), f, aad=b"")
    _, enc_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    sink = _Sink()
    with ct_file.open("rb") as f:
        aead.decrypt_to(f, sink, aad=b"")
    _, dec_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert ct_file.stat().st_size == aead.ciphertext_size(size)
    assert sink.n == size
    assert enc_peak < 6 << 20, f"encrypt peak {enc_peak} bytes"
    assert dec_peak < 6 << 20, f"decrypt peak {dec_peak} bytes"
