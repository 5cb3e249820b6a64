"""`ecluse worker`: what must happen on time even when nobody is looking.

Each sweep shreds the packages whose deadline passed without a receipt (and alerts the
controller) or whose retention after receipt ended, then every stored object whose time to
live has passed (quarantines first of all), records extractions whose process died as
abandoned (removing what they half wrote, and extracting an SFTP upload again from its
quarantine: `ecluse.services.recovery`), forgets failed logins that no longer count, and signs the
audit chain's head when unsigned events have waited longer than the checkpoint interval. On
start it catches up on everything overdue.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from ecluse.audit import Action
from ecluse.db.models import Blob
from ecluse.identity.credentials import prune_failures
from ecluse.instance.platform import Platform
from ecluse.services.delivery import enforce
from ecluse.services.recovery import recover

log = logging.getLogger("ecluse.worker")

ACTOR = "system:worker"
_BATCH = 200


@dataclass(frozen=True, slots=True)
class Sweep:
    shredded: int  # objects past their time to live
    checkpoint_seq: int | None
    deadlines_missed: int = 0  # packages shredded unconfirmed, alerted
    retentions_ended: int = 0  # confirmed packages shredded
    abandoned: int = 0  # extractions whose process died, recorded as abandoned
    resumed: int = 0  # of their uploads, extracted again from the quarantine and packaged


def sweep(platform: Platform, *, now: datetime | None = None) -> Sweep:
    """One pass over every duty; safe to run from several nodes at once."""
    now = now or datetime.now(UTC)
    # packages first: a package's object expires at its deadline, and the package must know
    missed, ended = enforce(platform, now=now)
    recovered = recover(platform, now=now, actor=ACTOR)
    shredded = 0
    while True:
        with platform.db.transaction() as s:
            due = (
                s.execute(
                    select(Blob.id)
                    .where(Blob.state == "stored", Blob.expires_at <= now)
                    .order_by(Blob.expires_at)
                    .limit(_BATCH)
                    .with_for_update(skip_locked=True)  # another node's sweep takes the rest
                )
                .scalars()
                .all()
            )
            for blob_id in due:
                platform.store.shred(s, blob_id)
                platform.audit.append(
                    s,
                    actor=ACTOR,
                    action=Action.BLOB_SHRED,
                    refs={"blob": blob_id},
                    details={"reason": "expired"},
                )
        shredded += len(due)
        if len(due) < _BATCH:
            break
    if shredded or missed or ended:
        platform.scrub()
    with platform.db.transaction() as s:
        prune_failures(s, now=now)
        checkpoint = platform.audit.checkpoint_if_due(s)
    return Sweep(
        shredded=shredded,
        checkpoint_seq=checkpoint.seq if checkpoint else None,
        deadlines_missed=missed,
        retentions_ended=ended,
        abandoned=recovered.abandoned,
        resumed=recovered.resumed,
    )


def run(platform: Platform, *, interval: float, stop: threading.Event) -> int:
    """Sweep every `interval` seconds until `stop` is set; return the number of sweeps. A
    sweep that fails (the database or key manager unreachable, say) is logged by its error's
    type and tried again at the next interval: deadlines must still be enforced after."""
    sweeps = 0
    while True:
        try:
            sweep(platform)
            sweeps += 1
        except Exception as e:
            log.error("worker sweep failed (%s); retrying in %g s", type(e).__name__, interval)
        if stop.wait(interval):
            return sweeps
