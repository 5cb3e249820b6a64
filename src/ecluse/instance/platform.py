"""Assembly of one Écluse instance from its settings: database, key manager, store, audit.

Implementations are chosen by configuration; nothing here is global.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

from ecluse.audit import AuditLog
from ecluse.audit.witness import WitnessLog
from ecluse.config import Settings
from ecluse.crypto.envelope import Envelope
from ecluse.crypto.interfaces import KeyManager
from ecluse.crypto.local import LocalKeyManager
from ecluse.db import Database, current_revision, head_revision, make_engine
from ecluse.db.session import check_reachable
from ecluse.errors import ConfigurationError, KeyManagerError
from ecluse.instance.home import check_home
from ecluse.store.interfaces import BlobStore
from ecluse.store.local import LocalBlobStore


def open_key_manager(settings: Settings, *, create: bool = False) -> KeyManager:
    """The configured key manager; with `create`, provision its keys on a new instance."""
    if settings.key_manager == "local":
        secret = settings.key_passphrase
        passphrase = secret.get_secret_value() if secret else None
        if create:
            return LocalKeyManager.create(path=settings.key_file, passphrase=passphrase)
        return LocalKeyManager.open(path=settings.key_file, passphrase=passphrase)
    from ecluse.crypto.pkcs11 import Pkcs11KeyManager  # noqa: PLC0415 - loads a C module

    if settings.pkcs11_pin is None:
        raise KeyManagerError("set ECLUSE_PKCS11_PIN to log in to the PKCS#11 token")
    km = Pkcs11KeyManager(
        module=settings.pkcs11_module,
        token_label=settings.pkcs11_token_label,
        pin=settings.pkcs11_pin.get_secret_value(),
    )
    if create:
        km.provision()
    return km


def open_database(settings: Settings) -> Database:
    engine = make_engine(
        settings.resolved_database_url, sqlite_synchronous=settings.sqlite_synchronous
    )
    check_reachable(engine)
    return Database(engine)


@dataclass
class Platform:
    settings: Settings
    db: Database
    keys: KeyManager
    store: BlobStore
    audit: AuditLog

    @property
    def witness(self) -> WitnessLog | None:
        return self.audit.witness

    @classmethod
    def open(cls, settings: Settings, *, start_witness: bool = False) -> Self:
        """Open an initialised instance; refuse loudly if anything is off (a missing or
        broken audit witness too, unless `start_witness` starts a missing one)."""
        check_home(settings)
        db = open_database(settings)
        try:
            revision, head = current_revision(db.engine), head_revision()
            if revision is None:
                raise ConfigurationError("the database holds no Écluse instance: run `ecluse init`")
            if revision != head:
                raise ConfigurationError(
                    f"database schema is at {revision}, this version needs {head}: "
                    "run `ecluse db upgrade`"
                )
            witness = WitnessLog.open(settings.witness_dir, create=start_witness)
            keys = open_key_manager(settings)
        except BaseException:
            db.dispose()
            raise
        return cls.assemble(settings=settings, db=db, keys=keys, witness=witness)

    @classmethod
    def assemble(
        cls,
        *,
        settings: Settings,
        db: Database,
        keys: KeyManager,
        witness: WitnessLog | None = None,
    ) -> Self:
        audit = AuditLog(
            signer=keys.signer(),
            checkpoint_every=settings.audit_checkpoint_every,
            checkpoint_seconds=settings.audit_checkpoint_seconds,
            witness=witness,
        )
        store = LocalBlobStore(root=settings.store_dir, envelope=Envelope(keys))
        return cls(settings=settings, db=db, keys=keys, store=store, audit=audit)

    def scrub(self) -> None:
        """Push deleted key material out of SQLite's write-ahead log after a shred."""
        if self.db.dialect == "sqlite":
            raw = self.db.engine.raw_connection()  # outside any BEGIN IMMEDIATE
            try:
                raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                raw.close()

    def close(self) -> None:
        self.keys.close()
        self.db.dispose()
