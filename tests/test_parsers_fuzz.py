"""Parsers of files an attacker could edit refuse anything malformed with our own errors."""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ecluse.audit.export import verify_export
from ecluse.crypto.local import LocalKeyManager
from ecluse.errors import EcluseError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)
keyring_like = st.fixed_dictionaries(
    {"format": st.sampled_from(["ecluse-keyring-v1", "x"]), "protected": st.booleans()},
    optional={
        "payload": json_values,
        "kdf": json_values,
        "nonce": json_values,
        "ciphertext": json_values,
    },
)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
        json_values.map(json.dumps),
        keyring_like.map(json.dumps),
    )
)
def test_key_file_reader_only_raises_our_errors(content: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "keyring.json"
        path.write_text(content, encoding="latin-1")
        path.chmod(0o600)
        # Refused cleanly with our error, or accepted; anything else fails the test.
        with contextlib.suppress(EcluseError):
            LocalKeyManager.open(path=path, passphrase="some passphrase of ours")


event_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["event", "checkpoint", "header", "other"])},
    optional={
        k: json_values
        for k in (
            "seq",
            "ts",
            "actor",
            "action",
            "refs",
            "details",
            "prev_hash",
            "hash",
            "head_hash",
            "kid",
            "signature",
            "keys",
            "format",
        )
    },
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(event_like.map(json.dumps), st.text(max_size=40)), max_size=8))
def test_export_reader_only_raises_our_errors(lines: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "audit.jsonl"
        path.write_text("\n".join(line.replace("\n", " ") for line in lines) + "\n")
        try:
            report = verify_export(path)
        except EcluseError:
            return
        assert report.ok == (report.events == 0 and report.checkpoints == 0)
