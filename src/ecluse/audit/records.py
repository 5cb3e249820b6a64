"""Reading the chain back from the database, in order and in bounded memory."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ecluse.audit.chain import CheckpointRecord
from ecluse.audit.verify import EventRow, VerifyReport, verify_chain
from ecluse.db.models import AuditCheckpoint, AuditEvent, SigningKey

_BATCH = 20_000


def iter_events(engine: Engine, *, after: int = 0) -> Iterator[EventRow]:
    """Every event from `after + 1` on, by keyset pagination (no long-held cursor)."""
    cols = (
        AuditEvent.seq,
        AuditEvent.ts,
        AuditEvent.actor,
        AuditEvent.action,
        AuditEvent.refs,
        AuditEvent.details,
        AuditEvent.prev_hash,
        AuditEvent.hash,
    )
    last = after
    while True:
        with engine.connect() as conn:
            rows = conn.execute(
                select(*cols).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(_BATCH)
            ).all()
        if not rows:
            return
        for r in rows:
            yield (r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7])
        last = rows[-1][0]


def checkpoints(session: Session) -> list[CheckpointRecord]:
    rows = session.execute(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).scalars()
    return [
        CheckpointRecord(
            seq=c.seq, head_hash=c.head_hash, ts=c.ts, kid=c.kid, signature=bytes(c.signature)
        )
        for c in rows
    ]


def public_keys(session: Session) -> dict[str, bytes]:
    return {k.kid: bytes(k.public_key) for k in session.execute(select(SigningKey)).scalars()}


def verify_database(engine: Engine, *, pinned: dict[str, bytes] | None = None) -> VerifyReport:
    """Verify the whole chain stored in the database (optionally against pinned keys only)."""
    with Session(engine) as session:
        cps = checkpoints(session)
        keys = pinned if pinned is not None else public_keys(session)
    return verify_chain(iter_events(engine), cps, keys)
