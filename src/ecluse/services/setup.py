"""Creating an instance (`ecluse init`) and the end-to-end self-check (`ecluse selfcheck`)."""

from __future__ import annotations

import io
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from ecluse.audit import Action
from ecluse.audit.records import verify_database
from ecluse.audit.witness import FILE_NAME, WitnessLog
from ecluse.config import Settings
from ecluse.crypto._primitives import random_bytes
from ecluse.db import migrate
from ecluse.db.models import AuditEvent
from ecluse.errors import ConfigurationError
from ecluse.identity.accounts import create_account, create_organisation
from ecluse.instance.home import create_home
from ecluse.instance.platform import Platform, open_database, open_key_manager
from ecluse.kinds import OrgKind, Role

INIT_ACTOR = "system:init"


@dataclass(frozen=True, slots=True)
class InitResult:
    admin_email: str
    enrolment_code: str
    signing_key_id: str
    key_manager: str


def _refuse_existing(settings: Settings) -> None:
    """Never initialise over an instance, nor beside another instance's witness."""
    if settings.key_file.exists() or (settings.db_dir / "ecluse.sqlite3").exists():
        raise ConfigurationError(
            f"{settings.home} already holds an Écluse instance; refusing to initialise it again"
        )
    witnessed = settings.witness_dir / FILE_NAME
    if witnessed.is_file() and witnessed.stat().st_size:
        raise ConfigurationError(
            f"the audit witness {witnessed} already holds another instance's checkpoints: "
            "give this instance its own witness directory"
        )


def _first_admin(platform: Platform, *, admin_email: str, admin_name: str) -> InitResult:
    """The platform's organisation and its first admin, in the trail's first events."""
    with platform.db.transaction() as s:
        org = create_organisation(s, name="Écluse platform", kind=OrgKind.PLATFORM)
        admin = create_account(
            s, organisation_id=org, email=admin_email, full_name=admin_name, roles={Role.ADMIN}
        )
        kid = platform.audit.register_signer(s)
        platform.audit.append(
            s,
            actor=INIT_ACTOR,
            action=Action.INSTANCE_INIT,
            refs={"signing_key": kid, "organisation": org},
            details={"key_manager": platform.keys.name, "database": platform.db.dialect},
        )
        platform.audit.append(
            s,
            actor=INIT_ACTOR,
            action=Action.ACCOUNT_CREATE,
            refs={"account": admin.id},
            details={"roles": ["admin"]},
        )
        platform.audit.checkpoint(s)
    return InitResult(
        admin_email=admin.email,
        enrolment_code=admin.enrolment_code,
        signing_key_id=kid,
        key_manager=platform.keys.name,
    )


def init_instance(settings: Settings, *, admin_email: str, admin_name: str) -> InitResult:
    """Create home, keys, schema and the first admin; undo it all if any step fails."""
    _refuse_existing(settings)
    created = create_home(settings)
    db = keys = None
    try:
        db = open_database(settings)
        migrate(db.engine)
        with db.transaction() as s:
            if s.execute(select(func.count()).select_from(AuditEvent)).scalar():
                raise ConfigurationError("the database already holds an Écluse instance")
        keys = open_key_manager(settings, create=True)
        witness = WitnessLog.open(settings.witness_dir, create=True)
        platform = Platform.assemble(settings=settings, db=db, keys=keys, witness=witness)
        return _first_admin(platform, admin_email=admin_email, admin_name=admin_name)
    except BaseException:
        if keys is not None:
            keys.discard()
        _undo(settings, created)
        raise
    finally:
        if keys is not None:
            keys.close()
        if db is not None:
            db.dispose()


def _undo(settings: Settings, created: Sequence[Path]) -> None:
    if settings.home in created:
        shutil.rmtree(settings.home, ignore_errors=True)
    elif (settings.db_dir / "ecluse.sqlite3").exists() and settings.database_url is None:
        for suffix in ("", "-wal", "-shm"):
            (settings.db_dir / f"ecluse.sqlite3{suffix}").unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class SelfCheck:
    stored_bytes: int
    encrypt_seconds: float
    decrypt_seconds: float
    shredded: bool
    audit_events: int
    audit_ok: bool


def selfcheck(platform: Platform, *, actor: str, size: int = 8 << 20) -> SelfCheck:
    """Store random (non-patient) bytes, read them back, shred them, verify the audit chain."""
    sample = random_bytes(size)
    t0 = time.perf_counter()
    with platform.db.transaction() as s:
        info = platform.store.put(s, io.BytesIO(sample), kind="selfcheck")
        platform.audit.append(
            s,
            actor=actor,
            action=Action.BLOB_PUT,
            refs={"blob": info.id},
            details={"kind": "selfcheck", "bytes": info.plaintext_bytes},
        )
    t1 = time.perf_counter()
    with platform.db.transaction() as s:
        back = b"".join(platform.store.open(s, info.id))
        platform.audit.append(s, actor=actor, action=Action.BLOB_READ, refs={"blob": info.id})
    t2 = time.perf_counter()
    with platform.db.transaction() as s:
        platform.store.shred(s, info.id)
        platform.audit.append(s, actor=actor, action=Action.BLOB_SHRED, refs={"blob": info.id})
        platform.audit.append(
            s, actor=actor, action=Action.SELFCHECK, details={"roundtrip": back == sample}
        )
    platform.scrub()
    report = verify_database(platform.db.engine)
    with platform.db.transaction() as s:
        events = int(s.execute(select(func.count()).select_from(AuditEvent)).scalar() or 0)
    return SelfCheck(
        stored_bytes=size,
        encrypt_seconds=t1 - t0,
        decrypt_seconds=t2 - t1,
        shredded=not platform.store.holds(info.id) and back == sample,
        audit_events=events,
        audit_ok=report.ok,
    )
