"""Our AES-GCM-HKDF-Streaming against Tink's reference implementation, both ways."""

from __future__ import annotations

import io
import os

import pytest
import tink

from ecluse.crypto.streaming import HEADER_SIZE, AesGcmHkdfStreaming
from tests.crypto.tink_helpers import tink_decrypt, tink_encrypt, tink_streaming_aead

MIB = 1 << 20
FIRST = MIB - HEADER_SIZE - 16  # plaintext bytes in the first 1 MiB segment
NEXT = MIB - 16
SIZES = [0, 1, 4095, FIRST - 1, FIRST, FIRST + 1, FIRST + NEXT, FIRST + NEXT + 1, 3 * MIB + 17]


@pytest.mark.parametrize("size", SIZES)
def test_ours_encrypts_tink_decrypts(size: int) -> None:
    key, aad, plaintext = os.urandom(32), b"object:42", os.urandom(size)
    out = io.BytesIO()
    AesGcmHkdfStreaming(key).encrypt(io.BytesIO(plaintext), out, aad=aad)
    assert tink_decrypt(tink_streaming_aead(key), out.getvalue(), aad) == plaintext


@pytest.mark.parametrize("size", SIZES)
def test_tink_encrypts_ours_decrypts(size: int) -> None:
    key, aad, plaintext = os.urandom(32), b"object:42", os.urandom(size)
    ciphertext = tink_encrypt(tink_streaming_aead(key), plaintext, aad)
    ours = AesGcmHkdfStreaming(key)
    assert len(ciphertext) == ours.ciphertext_size(size)
    assert b"".join(ours.decrypt(io.BytesIO(ciphertext), aad=aad)) == plaintext


@pytest.mark.parametrize("segment_size", [4096, 65536])
def test_other_segment_sizes_interoperate(segment_size: int) -> None:
    key, plaintext = os.urandom(32), os.urandom(10 * segment_size + 123)
    ours = AesGcmHkdfStreaming(key, segment_size=segment_size)
    theirs = tink_streaming_aead(key, segment_size)
    out = io.BytesIO()
    enc = ours.encryptor(out, aad=b"")
    for i in range(0, len(plaintext), 999):  # pieces that straddle segment boundaries
        enc.write(plaintext[i : i + 999])
    enc.close()
    assert tink_decrypt(theirs, out.getvalue(), b"") == plaintext
    tink_ct = tink_encrypt(theirs, plaintext, b"")
    assert b"".join(ours.decrypt(io.BytesIO(tink_ct), aad=b"")) == plaintext


def test_tink_rejects_our_ciphertext_under_other_associated_data() -> None:
    key = os.urandom(32)
    out = io.BytesIO()
    AesGcmHkdfStreaming(key).encrypt(io.BytesIO(b"payload"), out, aad=b"object:1")
    with pytest.raises(tink.TinkError):
        tink_decrypt(tink_streaming_aead(key), out.getvalue(), b"object:2")
