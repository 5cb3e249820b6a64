"""`LocalKeyManager`: key-encryption keys and the signing seed in one key file under keys/.

The file is JSON, mode 0600, written atomically; optionally sealed with a passphrase (scrypt +
AES-256-GCM). It lives in keys/, never beside the blobs in store/. Other processes notice a
rotation because the file is re-read whenever it changes on disk.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ecluse.crypto import _primitives as p
from ecluse.crypto.interfaces import KekState, KekVersion, WrappedKey
from ecluse.crypto.signatures import SeedSigner
from ecluse.errors import ConfigurationError, IntegrityError, KeyManagerError

FORMAT = "ecluse-keyring-v1"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 1 << 17, 8, 1
_WRAP_CONTEXT = b"ecluse-kek-wrap-v1|"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _new_version(version: int) -> dict[str, Any]:
    return {
        "version": version,
        "created_at": datetime.now(UTC).isoformat(),
        "state": KekState.ACTIVE.value,
        "key": _b64(p.random_bytes(p.AES256_KEY_SIZE)),
    }


class LocalKeyManager:
    """Key manager backed by a key file. Create one with `create()`, open it with `open()`."""

    name = "local"

    def __init__(self, *, path: Path, passphrase: str | None) -> None:
        self._path = path
        self._passphrase = passphrase
        self._stamp: tuple[int, int] | None = None
        self._payload: dict[str, Any] = {}
        self._reload()

    # -- creation and persistence ------------------------------------------------------------
    @classmethod
    def create(cls, *, path: Path, passphrase: str | None) -> LocalKeyManager:
        """Write a new key file with KEK version 1 and a signing key; refuse to overwrite."""
        if path.exists():
            raise ConfigurationError(f"key file {path} already exists; refusing to overwrite it")
        payload = {
            "keks": [_new_version(1)],
            "signing": {"seed": _b64(p.random_bytes(p.ED25519_SEED_SIZE))},
        }
        _write(path, payload, passphrase)
        return cls(path=path, passphrase=passphrase)

    @classmethod
    def open(cls, *, path: Path, passphrase: str | None) -> LocalKeyManager:
        return cls(path=path, passphrase=passphrase)

    def _reload(self) -> None:
        try:
            st = self._path.stat()
        except FileNotFoundError as e:
            raise KeyManagerError(
                f"key file {self._path} is missing: restore it from its backup, or run "
                "`ecluse init` on a new home"
            ) from e
        if stat.S_IMODE(st.st_mode) & 0o077:
            raise ConfigurationError(
                f"key file {self._path} is readable by others "
                f"(mode {stat.S_IMODE(st.st_mode):04o}); run: chmod 600 {self._path}"
            )
        stamp = (st.st_ino, st.st_mtime_ns)
        if stamp != self._stamp:
            self._payload = _read(self._path, self._passphrase)
            self._stamp = stamp

    @contextlib.contextmanager
    def _mutate(self) -> Iterator[dict[str, Any]]:
        lock_path = self._path.with_suffix(".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._stamp = None
            self._reload()
            yield self._payload
            _write(self._path, self._payload, self._passphrase, replace=True)
            self._stamp = None
            self._reload()
        finally:
            os.close(fd)

    # -- KeyManager --------------------------------------------------------------------------
    def _keks(self) -> list[dict[str, Any]]:
        self._reload()
        keks: list[dict[str, Any]] = self._payload["keks"]
        return keks

    def versions(self) -> list[KekVersion]:
        return [
            KekVersion(
                version=int(k["version"]),
                created_at=datetime.fromisoformat(k["created_at"]),
                state=KekState(k["state"]),
            )
            for k in self._keks()
        ]

    def wrap(self, key: bytes, *, aad: bytes) -> WrappedKey:
        active = [k for k in self._keks() if k["state"] == KekState.ACTIVE]
        if len(active) != 1:
            raise KeyManagerError("key file has no single active key-encryption key")
        kek = active[0]
        nonce = p.random_bytes(p.GCM_NONCE_SIZE)
        sealed = p.Gcm(_unb64(kek["key"])).seal(nonce, key, _WRAP_CONTEXT + aad)
        return WrappedKey(kek_version=int(kek["version"]), ciphertext=nonce + sealed)

    def unwrap(self, wrapped: WrappedKey, *, aad: bytes) -> bytes:
        kek = next((k for k in self._keks() if k["version"] == wrapped.kek_version), None)
        if kek is None or kek["state"] == KekState.DESTROYED:
            raise KeyManagerError(
                f"key-encryption key version {wrapped.kek_version} is destroyed or unknown"
            )
        nonce, sealed = (
            wrapped.ciphertext[: p.GCM_NONCE_SIZE],
            wrapped.ciphertext[p.GCM_NONCE_SIZE :],
        )
        try:
            return p.Gcm(_unb64(kek["key"])).open(nonce, sealed, _WRAP_CONTEXT + aad)
        except IntegrityError as e:
            raise IntegrityError("wrapped data key does not belong to this object") from e

    def create_version(self) -> int:
        with self._mutate() as payload:
            version = 1 + max(int(k["version"]) for k in payload["keks"])
            for k in payload["keks"]:
                if k["state"] == KekState.ACTIVE:
                    k["state"] = KekState.PREVIOUS.value
            payload["keks"].append(_new_version(version))
        return version

    def destroy_version(self, version: int) -> None:
        with self._mutate() as payload:
            for k in payload["keks"]:
                if k["version"] == version:
                    if k["state"] == KekState.ACTIVE:
                        raise KeyManagerError("the active key-encryption key cannot be destroyed")
                    k["state"] = KekState.DESTROYED.value
                    k.pop("key", None)
                    k["destroyed_at"] = datetime.now(UTC).isoformat()

    def signer(self) -> SeedSigner:
        self._reload()
        return SeedSigner(seed=_unb64(self._payload["signing"]["seed"]))

    def discard(self) -> None:
        self.close()
        self._path.unlink(missing_ok=True)
        self._path.with_suffix(".lock").unlink(missing_ok=True)

    def close(self) -> None:
        self._payload = {}
        self._stamp = None


# -- file format -----------------------------------------------------------------------------
def _seal(payload: dict[str, Any], passphrase: str) -> dict[str, Any]:
    salt, nonce = p.random_bytes(16), p.random_bytes(p.GCM_NONCE_SIZE)
    kdf = {"name": "scrypt", "salt": _b64(salt), "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P}
    key = p.scrypt_key(
        passphrase=passphrase.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P
    )
    body = json.dumps(payload).encode()
    sealed = p.Gcm(key).seal(nonce, body, FORMAT.encode())
    return {
        "format": FORMAT,
        "protected": True,
        "kdf": kdf,
        "nonce": _b64(nonce),
        "ciphertext": _b64(sealed),
    }


def _write(
    path: Path, payload: dict[str, Any], passphrase: str | None, *, replace: bool = False
) -> None:
    doc = (
        _seal(payload, passphrase)
        if passphrase
        else {"format": FORMAT, "protected": False, "payload": payload}
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    if not replace and path.exists():
        tmp.unlink()
        raise ConfigurationError(f"key file {path} already exists; refusing to overwrite it")
    tmp.replace(path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _read(path: Path, passphrase: str | None) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text())
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError("unknown format")
        if not doc["protected"]:
            payload: dict[str, Any] = doc["payload"]
            _check_payload(payload)
            return payload
        kdf = doc["kdf"]
        salt, nonce, sealed = _unb64(kdf["salt"]), _unb64(doc["nonce"]), _unb64(doc["ciphertext"])
        n, r, par = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise KeyManagerError(f"key file {path} is corrupt or not an Écluse key file") from e
    if not passphrase:
        raise KeyManagerError(f"key file {path} is passphrase-protected: set ECLUSE_KEY_PASSPHRASE")
    key = p.scrypt_key(passphrase=passphrase.encode(), salt=salt, n=n, r=r, p=par)
    try:
        payload = json.loads(p.Gcm(key).open(nonce, sealed, FORMAT.encode()))
    except IntegrityError as e:
        raise KeyManagerError(
            f"wrong passphrase for key file {path} (or the file was altered)"
        ) from e
    try:
        _check_payload(payload)
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise KeyManagerError(f"key file {path} is corrupt") from e
    return payload


def _check_payload(payload: dict[str, Any]) -> None:
    if not isinstance(payload, dict):
        raise TypeError("payload is not an object")
    keks = payload["keks"]
    if not isinstance(keks, list) or not keks:
        raise ValueError("no key-encryption keys")
    for k in keks:
        KekState(k["state"])
        if k["state"] != KekState.DESTROYED and len(_unb64(k["key"])) != p.AES256_KEY_SIZE:
            raise ValueError("bad key length")
    if len(_unb64(payload["signing"]["seed"])) != p.ED25519_SEED_SIZE:
        raise ValueError("bad signing seed")
