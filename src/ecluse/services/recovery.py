"""Extractions whose process died: recognised within a minute, recorded as abandoned, what
they half wrote removed, and an SFTP upload's extraction run again from its quarantine.

A run is dead when its lease ended unrenewed, or at once when its owner was a process of
this host that no longer runs (`ecluse.packages.lease`); a run from before leases, when it
is older than the quarantine's time to live. Each sweep of the worker (`ecluse worker`, and
the worker of `ecluse serve`, which sweeps as the server starts) takes the dead runs
(locked, skipping those another node holds), records each as `abandoned` (audited), and
removes its temporary files (tagged with the run) and any object it had put in place but not
committed. Temporary files of uploads whose server process is gone go too.

A run that read an upload already in the quarantine (SFTP) is extracted again from it, once,
as the operator who uploaded it, if that person may still extract under the instruction; a
run abandoned twice, a quarantine gone, or a second run that fails or is refused ends with
the quarantine shredded and the reason on the abandoned run, which the operator's inbox
(`<extraction>.json`) and `GET /instructions/{id}/extractions` show.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ecluse.audit import Action
from ecluse.chunks import ChunkReader
from ecluse.clock import as_utc
from ecluse.db.models import Account, AuditEvent, Blob, Extraction
from ecluse.errors import EcluseError
from ecluse.identity import Principal
from ecluse.identity.lifecycle import still_live
from ecluse.identity.tokens import principal_of
from ecluse.instance.platform import Platform
from ecluse.packages.lease import Holder, death, run_tag
from ecluse.packages.quarantine import time_to_live
from ecluse.packages.states import ExtractionState
from ecluse.services.extraction import extract

log = logging.getLogger("ecluse.packages")


ABANDONED = "abandoned: the process running it ended before it finished"
ATTEMPTS = 2  # runs over one upload: the first, and one extracted again after it died


@dataclass(frozen=True, slots=True)
class Recovered:
    abandoned: int  # runs recorded as abandoned
    resumed: int = 0  # uploads extracted again from their quarantine, packaged


@dataclass(frozen=True, slots=True)
class _Dead:
    id: str
    instruction_id: str
    operator_id: str
    source_name: str
    quarantine_id: str | None


def recover(platform: Platform, *, now: datetime, actor: str) -> Recovered:
    """Abandon the dead runs, remove what they and dead uploads left, extract again the
    uploads whose extraction was cut short."""
    abandoned = _abandon(platform, now=now, actor=actor)
    _remove_dead_uploads(platform)
    cutoff = now - time_to_live(platform.settings)
    platform.store.remove_stale_temporaries(older_than=cutoff)
    resumed = 0
    while (dead := _claim(platform)) is not None:  # this sweep's, or one a failure left
        resumed += _resume(platform, dead, actor=actor)
    return Recovered(abandoned=abandoned, resumed=resumed)


def _abandon(platform: Platform, *, now: datetime, actor: str) -> int:
    legacy = now - time_to_live(platform.settings)
    with platform.db.transaction() as s:
        running = (
            s.execute(
                select(Extraction)
                .where(Extraction.state == ExtractionState.RUNNING)
                .with_for_update(skip_locked=True)  # a run committing holds its row: alive
            )
            .scalars()
            .all()
        )
        dead = 0
        for row in running:
            reason = death(row, now=now, legacy_cutoff=legacy)
            if reason is None:
                continue
            row.state, row.finished_at, row.error = ExtractionState.ABANDONED, now, ABANDONED
            removed = platform.store.remove_unfinished(
                s, tag=run_tag(row.id), blob_ids=(row.writing or "").split()
            )
            platform.audit.append(
                s,
                actor=actor,
                action=Action.EXTRACTION_ABANDONED,
                refs={"extraction": row.id, "instruction": row.instruction_id},
                details={"reason": reason, "files_removed": removed},
            )
            dead += 1
        return dead


def _claim(platform: Platform) -> _Dead | None:
    """An abandoned run over an upload that nobody has taken up yet, taken (by one node)."""
    with platform.db.transaction() as s:
        row = s.execute(
            select(Extraction)
            .where(
                Extraction.state == ExtractionState.ABANDONED,
                Extraction.error == ABANDONED,
                Extraction.quarantine_id.is_not(None),
            )
            .order_by(Extraction.started_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).scalar_one_or_none()
        if row is None:
            return None
        row.error = f"{ABANDONED}; being extracted again from its quarantine"
        return _Dead(
            row.id, row.instruction_id, row.operator_id, row.source_name, row.quarantine_id
        )


def _remove_dead_uploads(platform: Platform) -> None:
    """Temporary files of SFTP uploads whose server process (on this host) is gone."""
    for tag in platform.store.writer_tags("pid*"):
        pid, _, host = tag.removeprefix("pid").partition("@")
        if pid.isdigit() and Holder(host, int(pid)).gone():
            with platform.db.transaction() as s:
                platform.store.remove_unfinished(s, tag=tag, blob_ids=())


def _operator(platform: Platform, d: _Dead) -> Principal | None:
    """The person who uploaded it, acting again with the very credential of the upload (its
    key, or its password and code login), if that credential is still live: not revoked, the
    account neither disabled nor locked, the password unchanged since the run started. The
    second factor is the credential's own (the run could not start without one)."""
    with platform.db.transaction() as s:
        account = s.get(Account, d.operator_id)
        started = _started_with(s, d.id)
        if account is None or started is None:
            return None
        via, credential_id, since = started
        original = principal_of(
            s, account, credential_id=credential_id, via=via, second_factor=True
        )
        if not still_live(s, original, since=since, now=datetime.now(UTC)):
            return None
        return principal_of(
            s,
            account,
            credential_id=f"recovery:{d.id}"[:60],
            via="recovery",
            second_factor=original.second_factor,
        )


def _started_with(s: Session, extraction_id: str) -> tuple[str, str, datetime] | None:
    """The channel and credential the run started with (its audit event), and when."""
    event = s.execute(
        select(AuditEvent.details, AuditEvent.ts).where(
            AuditEvent.action == Action.EXTRACTION_START.value,
            AuditEvent.refs.contains(f'"{extraction_id}"'),
        )
    ).first()
    if event is None:
        return None
    details = json.loads(event.details or "{}")
    via, credential = details.get("via"), details.get("credential")
    if not isinstance(via, str) or not isinstance(credential, str):
        return None  # a run started before credentials were recorded: not resumed
    return via, credential, as_utc(datetime.fromisoformat(event.ts))


def _resume(platform: Platform, d: _Dead, *, actor: str) -> bool:
    """Extract the upload again from its quarantine; on any failure, shred it and say why."""
    quarantine_id = d.quarantine_id or ""
    with platform.db.transaction() as s:
        blob = s.get(Blob, quarantine_id)
        attempts = s.execute(
            select(func.count())
            .select_from(Extraction)
            .where(
                Extraction.quarantine_id == quarantine_id,
                Extraction.state == ExtractionState.ABANDONED,
            )
        ).scalar_one()
        info = platform.store.info(s, quarantine_id) if blob is not None else None
    expired = (
        info is not None
        and info.expires_at is not None
        and as_utc(info.expires_at) <= datetime.now(UTC)
    )
    if info is None or info.state != "stored" or expired:
        _note(platform, d, "its upload is no longer in the quarantine")
        return False
    if attempts >= ATTEMPTS:
        _give_up(platform, d, f"its process ended {attempts} times", actor=actor)
        return False
    principal = _operator(platform, d)
    if principal is None:
        _give_up(platform, d, "the person who uploaded it can no longer extract", actor=actor)
        return False
    try:
        with platform.db.transaction() as s:
            chunks = platform.store.open(s, quarantine_id)
        outcome = extract(
            platform,
            principal,
            instruction_id=d.instruction_id,
            source=ChunkReader(chunks),
            source_name=d.source_name,
            quarantined=info,
        )
    except Exception as e:  # recorded and audited by the extraction when it started
        why = str(e) if isinstance(e, EcluseError) else "internal error"
        log.error("extracting an upload again ended by %s", type(e).__name__)
        _give_up(platform, d, f"extracting it again failed ({why})", actor=actor)
        return False
    _note(platform, d, f"extracted again from its quarantine as {outcome.extraction_id}")
    return True


def _give_up(platform: Platform, d: _Dead, why: str, *, actor: str) -> None:
    """Shred the upload (nothing of it waits for a time to live) and say why on the run."""
    with platform.db.transaction() as s:
        blob = s.get(Blob, d.quarantine_id or "")
        if blob is not None and blob.state == "stored":
            platform.store.shred(s, blob.id)
            platform.audit.append(
                s,
                actor=actor,
                action=Action.BLOB_SHRED,
                refs={"blob": blob.id, "extraction": d.id},
                details={"reason": "abandoned"},
            )
    platform.scrub()
    _note(platform, d, f"not extracted again: {why}; upload it again")


def _note(platform: Platform, d: _Dead, what: str) -> None:
    with platform.db.transaction() as s:
        row = s.get(Extraction, d.id)
        if row is not None:
            row.error = f"{ABANDONED}; {what}"[:500]
