"""Tink keysets built around a known main key, to compare Tink with our implementation."""

from __future__ import annotations

import io

import tink
from tink import secret_key_access, streaming_aead
from tink.proto import aes_gcm_hkdf_streaming_pb2, common_pb2, tink_pb2

TYPE_URL = "type.googleapis.com/google.crypto.tink.AesGcmHkdfStreamingKey"


class KeepOpen(io.BytesIO):
    """Tink closes its destination; keep the bytes readable afterwards."""

    def close(self) -> None:
        pass


def tink_streaming_aead(key: bytes, segment_size: int = 1 << 20) -> streaming_aead.StreamingAead:
    streaming_aead.register()
    params = aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingParams(
        ciphertext_segment_size=segment_size, derived_key_size=32, hkdf_hash_type=common_pb2.SHA256
    )
    proto_key = aes_gcm_hkdf_streaming_pb2.AesGcmHkdfStreamingKey(
        version=0, key_value=key, params=params
    )
    keyset = tink_pb2.Keyset(
        primary_key_id=1,
        key=[
            tink_pb2.Keyset.Key(
                key_data=tink_pb2.KeyData(
                    type_url=TYPE_URL,
                    value=proto_key.SerializeToString(),
                    key_material_type=tink_pb2.KeyData.SYMMETRIC,
                ),
                status=tink_pb2.ENABLED,
                key_id=1,
                output_prefix_type=tink_pb2.RAW,
            )
        ],
    )
    handle = tink.proto_keyset_format.parse(keyset.SerializeToString(), secret_key_access.TOKEN)
    return handle.primitive(streaming_aead.StreamingAead)


def tink_encrypt(primitive: streaming_aead.StreamingAead, plaintext: bytes, aad: bytes) -> bytes:
    out = KeepOpen()
    with primitive.new_encrypting_stream(out, aad) as enc:
        enc.write(plaintext)
    return out.getvalue()


def tink_decrypt(primitive: streaming_aead.StreamingAead, ciphertext: bytes, aad: bytes) -> bytes:
    with primitive.new_decrypting_stream(io.BytesIO(ciphertext), aad) as dec:
        data: bytes = dec.read()
    return data
