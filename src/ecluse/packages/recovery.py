"""Extractions a crash cut short: recorded as failed, their half-written objects removed.

A run still `running` after the quarantine's time to live cannot be alive (a run takes
minutes). Its objects never reached the store's table: their temporary files hold
ciphertext under data keys that were never saved; they go, with any other temporary file of
the store as old. The worker does this on every sweep, so a crashed run neither lingers nor
blocks the controller's sign-off.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from ecluse.audit import Action
from ecluse.db.models import Extraction
from ecluse.platform import Platform

ABANDONED = "abandoned: the process running it ended before it finished"


def recover(platform: Platform, *, now: datetime, actor: str) -> int:
    """Mark abandoned runs failed (audited) and remove stale temporaries; the runs' count."""
    cutoff = now - timedelta(hours=platform.settings.quarantine_ttl_hours)
    with platform.db.transaction() as s:
        rows = (
            s.execute(
                select(Extraction)
                .where(Extraction.state == "running", Extraction.started_at < cutoff)
                .with_for_update(skip_locked=True)
            )
            .scalars()
            .all()
        )
        for row in rows:
            row.state, row.finished_at, row.error = "failed", now, ABANDONED
            platform.audit.append(
                s,
                actor=actor,
                action=Action.EXTRACTION_FAILED,
                refs={"extraction": row.id, "instruction": row.instruction_id},
                details={"reason": "Abandoned"},
            )
    platform.store.remove_stale_temporaries(older_than=cutoff)
    return len(rows)
