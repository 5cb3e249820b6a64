"""Host-level services: what whoever holds the home does on the server itself (open the
instance, create it, check it, show its status, rotate its keys, upgrade its schema, run the
worker, write synthetic exports). No person's principal: the actor is the host account."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from sqlalchemy import func, select

from ecluse.audit import Action
from ecluse.config import Settings
from ecluse.crypto._primitives import certificate_sha256, self_signed_tls
from ecluse.db import current_revision, head_revision, migrate, safe_url
from ecluse.db.models import AuditCheckpoint, AuditEvent, Blob
from ecluse.errors import ConfigurationError
from ecluse.instance.home import check_home
from ecluse.instance.platform import Platform, open_database
from ecluse.services.setup import InitResult, SelfCheck, init_instance, selfcheck
from ecluse.services.worker import Sweep
from ecluse.services.worker import run as run_worker
from ecluse.services.worker import sweep as sweep_once
from ecluse.store import rotation
from ecluse.store.rotation import RotationResult

if TYPE_CHECKING:
    from ecluse.services.watch.loop import Supervisor

__all__ = [
    "InitResult",
    "Platform",
    "RotationResult",
    "SelfCheck",
    "Sweep",
    "init_instance",
    "open_platform",
    "run_worker",
    "selfcheck",
    "sweep_once",
]


@contextlib.contextmanager
def open_platform(settings: Settings, *, start_witness: bool = False) -> Iterator[Platform]:
    """The instance, closed on the way out."""
    platform = Platform.open(settings, start_witness=start_witness)
    try:
        yield platform
    finally:
        platform.close()


@dataclass(frozen=True, slots=True)
class KeyVersion:
    version: int
    state: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Keys:
    manager: str
    versions: list[KeyVersion]
    signing_key_id: str
    signing_public_key: bytes


@dataclass(frozen=True, slots=True)
class Status:
    home: str
    database: str
    schema: str | None
    keys: Keys
    blobs: list[tuple[str, int]]  # (state, count)
    audit_head: int | None
    last_checkpoint: int | None


def keys(platform: Platform) -> Keys:
    signer = platform.keys.signer()
    return Keys(
        manager=platform.keys.name,
        versions=[
            KeyVersion(v.version, v.state.value, v.created_at) for v in platform.keys.versions()
        ],
        signing_key_id=signer.key_id,
        signing_public_key=signer.public_key,
    )


def status(platform: Platform) -> Status:
    s = platform.settings
    with platform.db.transaction() as session:
        blobs = session.execute(select(Blob.state, func.count()).group_by(Blob.state)).all()
        head = session.execute(select(func.max(AuditEvent.seq))).scalar()
        cp = session.execute(select(func.max(AuditCheckpoint.seq))).scalar()
    return Status(
        home=str(s.home.resolve()),
        database=safe_url(s.resolved_database_url),
        schema=current_revision(platform.db.engine),
        keys=keys(platform),
        blobs=[(state, n) for state, n in blobs],
        audit_head=head,
        last_checkpoint=cp,
    )


def rotate_keys(platform: Platform, *, actor: str) -> RotationResult:
    """A new key-encryption key; every data key rewrapped; old versions destroyed."""
    r = rotation.rewrap_all(db=platform.db, keys=platform.keys)
    with platform.db.transaction() as s:
        rotation.check_unused(s, r.destroyed)
        platform.audit.append(
            s,
            actor=actor,
            action=Action.KEK_ROTATE,
            details={
                "new_version": r.new_version,
                "rewrapped": r.rewrapped,
                "destroyed": r.destroyed,
                "key_manager": platform.keys.name,
            },
        )
    rotation.destroy(platform.keys, r.destroyed)
    platform.scrub()
    return r


def schema_upgrade(settings: Settings) -> tuple[str | None, str | None]:
    """Apply pending migrations; (revision before, revision after)."""
    check_home(settings)
    db = open_database(settings)
    try:
        before = current_revision(db.engine)
        migrate(db.engine)
        return before, current_revision(db.engine)
    finally:
        db.dispose()


def schema_revision(settings: Settings) -> tuple[str | None, str | None]:
    """(the database's schema revision, the one this version expects)."""
    check_home(settings)
    db = open_database(settings)
    try:
        return current_revision(db.engine), head_revision()
    finally:
        db.dispose()


def write_synthetic(out: BinaryIO, *, patients: int, labs: int, seed: int, encoding: str) -> None:
    """A synthetic export shaped like the leaked file (invented people, real shape)."""
    from ecluse.synth import synthesise, write_export  # noqa: PLC0415 - heavy, only here

    write_export(synthesise(patients=patients, labs=labs, seed=seed), out, encoding=encoding)


def run_demo(settings: Settings, *, output: Path, **options: Any) -> dict[str, Any]:
    """The incident's migration replayed with Écluse in the way (`ecluse.demo`)."""
    from ecluse.demo import run_demo as play  # noqa: PLC0415 - heavy, only here

    return play(settings, output=output, **options)


def supervisor(platform: Platform) -> Supervisor:
    """The detectors, escalation, probes and alert delivery, as one loop."""
    from ecluse.services.watch.loop import Supervisor  # noqa: PLC0415 - only serve and supervise

    return Supervisor(platform)


def server_started(platform: Platform, *, https: int, sftp: int, bind: str) -> None:
    with platform.db.transaction() as session:
        platform.audit.append(
            session,
            actor="system:serve",
            action=Action.SERVER_START,
            details={"https": https, "sftp": sftp, "bind": bind},
        )


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def tls_certificate(settings: Settings) -> tuple[Path, Path, str]:
    """The HTTPS server's certificate: the one configured, or one made on first start in the
    home (self-signed, for localhost): (certificate file, key file, SHA-256 fingerprint)."""
    if settings.tls_cert or settings.tls_key:
        if not (settings.tls_cert and settings.tls_key):
            raise ConfigurationError("set both ECLUSE_TLS_CERT and ECLUSE_TLS_KEY, or neither")
        cert, key = settings.tls_cert, settings.tls_key
    else:
        settings.server_dir.mkdir(mode=0o700, exist_ok=True)
        cert, key = settings.server_dir / "tls.crt", settings.server_dir / "tls.key"
        if not cert.exists():
            pem, key_pem = self_signed_tls(
                hostnames=["localhost"], addresses=["127.0.0.1", "::1"], days=397
            )
            key.unlink(missing_ok=True)
            _write_private(key, key_pem)
            cert.write_bytes(pem)
    try:
        return cert, key, certificate_sha256(cert.read_bytes())
    except (OSError, ValueError) as e:
        raise ConfigurationError(f"cannot read the TLS certificate {cert}") from e
