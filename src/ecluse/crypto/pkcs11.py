"""`Pkcs11KeyManager`: key-encryption keys and the signing key inside a PKCS#11 token.

Keys are generated in the token as sensitive and non-extractable: AES-256 KEKs labelled
`ecluse-kek-v<N>` wrap data keys with CKM_AES_GCM, and an Ed25519 pair labelled
`ecluse-signing` signs with CKM_EDDSA. Tested against SoftHSM2; a real HSM in production.
Every python-pkcs11 error is wrapped into `KeyManagerError` at this boundary.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import NoSuchToken, PinIncorrect, PKCS11Error
from pkcs11.mechanisms import GCMParams
from pkcs11.util.ec import encode_named_curve_parameters

from ecluse.crypto import _primitives as p
from ecluse.crypto.interfaces import KekState, KekVersion, WrappedKey, key_id
from ecluse.errors import IntegrityError, KeyManagerError

_KEK_LABEL = re.compile(r"^ecluse-kek-v(\d+)$")
_SIGNING_LABEL = "ecluse-signing"
_ED25519_OID = "1.3.101.112"
_WRAP_CONTEXT = b"ecluse-kek-wrap-v1|"
_T = TypeVar("_T")


class _TokenSigner:
    def __init__(self, manager: Pkcs11KeyManager, public_key: bytes) -> None:
        self._manager = manager
        self._public = public_key

    @property
    def public_key(self) -> bytes:
        return self._public

    @property
    def key_id(self) -> str:
        return key_id(self._public)

    def sign(self, message: bytes) -> bytes:
        return self._manager._sign(message)


def _find_token(lib: Any, label: str) -> Any:
    """The token labelled `label`; slots are re-scanned once, for tokens added since start."""
    for attempt in range(2):
        try:
            return lib.get_token(token_label=label)
        except NoSuchToken as e:
            if attempt:
                raise KeyManagerError(f"PKCS#11 token {label!r} not found") from e
            try:
                lib.reinitialize()
            except PKCS11Error as e2:
                raise KeyManagerError(f"PKCS#11 token {label!r} unavailable") from e2
        except PKCS11Error as e:
            raise KeyManagerError(f"PKCS#11 token {label!r} unavailable") from e
    raise KeyManagerError(f"PKCS#11 token {label!r} not found")  # pragma: no cover


class Pkcs11KeyManager:
    """Key manager backed by a PKCS#11 token. One session, serialised by a lock."""

    name = "pkcs11"

    def __init__(self, *, module: Path, token_label: str, pin: str) -> None:
        self._lock = threading.RLock()
        try:
            lib = pkcs11.lib(str(module))
        except (PKCS11Error, RuntimeError, OSError) as e:
            raise KeyManagerError(f"cannot load PKCS#11 module {module}") from e
        token = _find_token(lib, token_label)
        try:
            self._session = token.open(user_pin=pin, rw=True)
        except PinIncorrect as e:
            raise KeyManagerError(f"PKCS#11 login to {token_label!r} refused: wrong PIN") from e
        except PKCS11Error as e:
            raise KeyManagerError(f"PKCS#11 login to {token_label!r} failed") from e

    def _call(self, what: str, fn: Callable[[], _T]) -> _T:
        with self._lock:
            try:
                return fn()
            except PKCS11Error as e:
                raise KeyManagerError(f"PKCS#11 {what} failed") from e

    # -- provisioning --------------------------------------------------------------------------
    def provision(self) -> None:
        """Create KEK version 1 and the signing pair; refuse a token that already has them."""
        if self._keks() or self._find(ObjectClass.PRIVATE_KEY, _SIGNING_LABEL) is not None:
            raise KeyManagerError("PKCS#11 token already holds Écluse keys; refusing to reuse it")
        self._generate_kek(1)
        params = encode_named_curve_parameters(_ED25519_OID)
        self._call(
            "signing key generation",
            lambda: self._session.generate_keypair(
                KeyType.EC_EDWARDS,
                store=True,
                label=_SIGNING_LABEL,
                public_template={Attribute.EC_PARAMS: params},
                private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False},
            ),
        )

    def _generate_kek(self, version: int) -> None:
        created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self._call(
            "key generation",
            lambda: self._session.generate_key(
                KeyType.AES,
                256,
                label=f"ecluse-kek-v{version}",
                store=True,
                template={
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                    Attribute.ID: created.encode(),
                },
            ),
        )

    # -- lookups -------------------------------------------------------------------------------
    def _keks(self) -> dict[int, Any]:
        def scan() -> dict[int, Any]:
            found: dict[int, Any] = {}
            for obj in self._session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY}):
                m = _KEK_LABEL.match(obj.label or "")
                if m:
                    found[int(m.group(1))] = obj
            return found

        return self._call("key lookup", scan)

    def _find(self, cls: ObjectClass, label: str) -> Any:
        objs = self._call(
            "key lookup",
            lambda: list(self._session.get_objects({Attribute.CLASS: cls, Attribute.LABEL: label})),
        )
        return objs[0] if objs else None

    # -- KeyManager ----------------------------------------------------------------------------
    def versions(self) -> list[KekVersion]:
        keks = self._keks()
        if not keks:
            return []
        active = max(keks)
        out = []
        for v in range(1, active + 1):
            if v in keks:
                created = self._created(keks[v])
                state = KekState.ACTIVE if v == active else KekState.PREVIOUS
            else:
                created, state = datetime.fromtimestamp(0, UTC), KekState.DESTROYED
            out.append(KekVersion(version=v, created_at=created, state=state))
        return out

    def _created(self, kek: Any) -> datetime:
        stamp: bytes = self._call("attribute read", lambda: bytes(kek[Attribute.ID]))
        return datetime.strptime(stamp.decode(), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)

    def wrap(self, key: bytes, *, aad: bytes) -> WrappedKey:
        keks = self._keks()
        if not keks:
            raise KeyManagerError("PKCS#11 token holds no key-encryption key")
        version = max(keks)
        nonce = p.random_bytes(p.GCM_NONCE_SIZE)
        params = GCMParams(nonce, _WRAP_CONTEXT + aad)
        sealed = self._call(
            "wrap",
            lambda: keks[version].encrypt(key, mechanism=Mechanism.AES_GCM, mechanism_param=params),
        )
        return WrappedKey(kek_version=version, ciphertext=nonce + bytes(sealed))

    def unwrap(self, wrapped: WrappedKey, *, aad: bytes) -> bytes:
        kek = self._keks().get(wrapped.kek_version)
        if kek is None:
            raise KeyManagerError(
                f"key-encryption key version {wrapped.kek_version} is destroyed or unknown"
            )
        nonce, sealed = (
            wrapped.ciphertext[: p.GCM_NONCE_SIZE],
            wrapped.ciphertext[p.GCM_NONCE_SIZE :],
        )
        params = GCMParams(nonce, _WRAP_CONTEXT + aad)
        with self._lock:
            try:
                return bytes(
                    kek.decrypt(sealed, mechanism=Mechanism.AES_GCM, mechanism_param=params)
                )
            except PKCS11Error as e:
                # SoftHSM2 and most HSMs report a GCM tag mismatch as a generic failure.
                raise IntegrityError("wrapped data key does not belong to this object") from e

    def create_version(self) -> int:
        keks = self._keks()
        version = 1 + max(keks, default=0)
        self._generate_kek(version)
        return version

    def destroy_version(self, version: int) -> None:
        keks = self._keks()
        if version == max(keks, default=0):
            raise KeyManagerError("the active key-encryption key cannot be destroyed")
        if version in keks:
            self._call("key destruction", keks[version].destroy)

    def signer(self) -> _TokenSigner:
        pub = self._find(ObjectClass.PUBLIC_KEY, _SIGNING_LABEL)
        if pub is None:
            raise KeyManagerError("PKCS#11 token holds no Écluse signing key")
        point = bytes(self._call("attribute read", lambda: pub[Attribute.EC_POINT]))
        # EC_POINT is a DER OCTET STRING wrapping the raw 32-byte key.
        raw = point[2:] if len(point) == 34 and point[0] == 0x04 else point  # noqa: PLR2004 - DER OCTET STRING
        return _TokenSigner(self, raw)

    def _sign(self, message: bytes) -> bytes:
        priv = self._find(ObjectClass.PRIVATE_KEY, _SIGNING_LABEL)
        if priv is None:
            raise KeyManagerError("PKCS#11 token holds no Écluse signing key")
        return bytes(self._call("signing", lambda: priv.sign(message, mechanism=Mechanism.EDDSA)))

    def discard(self) -> None:
        for obj in [
            *self._keks().values(),
            self._find(ObjectClass.PRIVATE_KEY, _SIGNING_LABEL),
            self._find(ObjectClass.PUBLIC_KEY, _SIGNING_LABEL),
        ]:
            if obj is not None:
                self._call("key destruction", obj.destroy)

    def close(self) -> None:
        with self._lock, contextlib.suppress(PKCS11Error):
            self._session.close()
