"""`AuditLog`: appends events to the hash chain inside the caller's transaction.

The append runs in the same transaction as the action it records, so if the event cannot be
written the action does not happen (fail closed). Appends are serialised across threads and
processes: SQLite transactions start with BEGIN IMMEDIATE (see `ecluse.db.session`);
PostgreSQL takes a transaction-scoped advisory lock before reading the chain head.

With a witness (`ecluse.audit.witness`), every checkpoint is published to it once the
transaction that signed it has committed (never before: a rolled-back checkpoint is never
witnessed). Fail closed: a checkpoint is not signed, so its transaction and the act it records
do not happen, while the witness cannot be written, or while the database is behind or differs
from what the witness saw (the chain was cut or rewritten). A publication that fails after the
commit is logged as critical, and the next checkpoint is refused until a retry succeeds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, event, insert, select, text
from sqlalchemy.orm import Session

from ecluse.audit import canonical
from ecluse.audit.actions import Action
from ecluse.audit.chain import (
    GENESIS,
    CheckpointRecord,
    EventRecord,
    checkpoint_message,
    seal_event,
)
from ecluse.audit.witness import WitnessLog
from ecluse.crypto.interfaces import Signer
from ecluse.db.models import AuditCheckpoint, AuditEvent, SigningKey
from ecluse.errors import AuditWriteError, EcluseError, ValidationError

log = logging.getLogger("ecluse.audit")
_HOOKED = "ecluse.witness.hooked"
_PENDING = "ecluse.witness.pending"

ADVISORY_LOCK_KEY = 0x45434C55534531  # "ECLUSE1"
# Statements built once (immutable): an append runs them on every transaction.
_HEAD = select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
_LAST_CHECKPOINT = (
    select(AuditCheckpoint.seq, AuditCheckpoint.ts).order_by(AuditCheckpoint.seq.desc()).limit(1)
)
_LOCK = text("SELECT pg_advisory_xact_lock(:k)")
MAX_ACTOR = 200


def utcnow() -> datetime:
    return datetime.now(UTC)


def format_ts(moment: datetime) -> str:
    """UTC timestamp with microseconds, fixed width: 2026-11-23T01:02:03.000004Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_ts(value: str) -> datetime:
    """The inverse of `format_ts` (aware, UTC)."""
    return datetime.fromisoformat(value)


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """An event to append: who did what, to which objects, with which (non-patient) details."""

    actor: str
    action: Action
    refs: Mapping[str, str] = field(default_factory=dict)
    details: Mapping[str, canonical.JsonValue] = field(default_factory=dict)


class AuditLog:
    """Appends to the chain and signs checkpoints every N events or T seconds."""

    def __init__(
        self,
        *,
        signer: Signer,
        checkpoint_every: int = 1000,
        checkpoint_seconds: float = 60.0,
        clock: Callable[[], datetime] = utcnow,
        witness: WitnessLog | None = None,
    ) -> None:
        self._signer = signer
        self.witness = witness
        self.failing: str | None = None  # why the last publication to the witness failed
        self._every = checkpoint_every
        self._interval = timedelta(seconds=checkpoint_seconds)
        self._clock = clock

    def append(
        self,
        session: Session,
        *,
        actor: str,
        action: Action,
        refs: Mapping[str, str] | None = None,
        details: Mapping[str, canonical.JsonValue] | None = None,
    ) -> EventRecord:
        event = PendingEvent(actor=actor, action=action, refs=refs or {}, details=details or {})
        return self.append_many(session, [event])[-1]

    def append_many(self, session: Session, events: Sequence[PendingEvent]) -> list[EventRecord]:
        """Append events in order, all in the caller's transaction."""
        if not events:
            raise ValidationError("nothing to append")
        prepared = [_prepare(e) for e in events]
        self.lock(session)
        seq, prev = self._head(session)
        now = format_ts(self._clock())
        records = []
        for actor, action, refs, details in prepared:
            seq += 1
            record = seal_event(
                seq=seq,
                ts=now,
                actor=actor,
                action=action,
                refs=refs,
                details=details,
                prev_hash=prev,
            )
            records.append(record)
            prev = record.hash
        # Core insert: the chain needs none of the ORM's unit-of-work bookkeeping.
        session.connection().execute(insert(AuditEvent), [_row(r) for r in records])
        self._maybe_checkpoint(session, records[-1])
        return records

    def checkpoint(self, session: Session) -> CheckpointRecord | None:
        """Sign the current head now (no-op on an empty log or an already signed head)."""
        self.lock(session)
        row = session.execute(_HEAD).first()
        if row is None:
            return None
        last = session.execute(_LAST_CHECKPOINT).first()
        if last is not None and last.seq == row.seq:
            return None
        return self.sign_checkpoint(session, seq=row.seq, head_hash=row.hash)

    def checkpoint_if_due(self, session: Session) -> CheckpointRecord | None:
        """Sign the head when unsigned events have waited longer than T seconds."""
        self.lock(session)
        head = session.execute(_HEAD).first()
        last = session.execute(_LAST_CHECKPOINT).first()
        if head is None or (last is not None and last.seq == head.seq):
            return None
        if last is not None and self._clock() - parse_ts(last.ts) < self._interval:
            return None
        return self.sign_checkpoint(session, seq=head.seq, head_hash=head.hash)

    def register_signer(self, session: Session) -> str:
        """Record the signer's public key so checkpoints can be verified offline."""
        kid = self._signer.key_id
        if session.get(SigningKey, kid) is None:
            session.add(
                SigningKey(
                    kid=kid,
                    algorithm="ed25519",
                    public_key=self._signer.public_key,
                    created_at=self._clock(),
                )
            )
            session.flush()
        return kid

    # -- internals -------------------------------------------------------------------------
    def lock(self, session: Session) -> None:
        """Serialise chain writers until the transaction ends."""
        if session.get_bind().dialect.name == "postgresql":
            session.execute(_LOCK, {"k": ADVISORY_LOCK_KEY})

    def _head(self, session: Session) -> tuple[int, str]:
        row = session.execute(_HEAD).first()
        witnessed = self.witness.state.last_seq if self.witness is not None else 0
        if (int(row.seq) if row is not None else 0) < witnessed:
            raise AuditWriteError(
                f"the audit chain ends before event {witnessed}, which its witness saw: the "
                "newest events were deleted; refusing to write (run `ecluse audit verify`)"
            )
        if row is not None:
            return int(row.seq), str(row.hash)
        if session.execute(_LAST_CHECKPOINT).first() is not None:
            raise AuditWriteError(
                "audit chain head is missing although checkpoints exist: the log was "
                "tampered with; refusing to write (run `ecluse audit verify`)"
            )
        return 0, GENESIS

    def _maybe_checkpoint(self, session: Session, head: EventRecord) -> None:
        last = session.execute(_LAST_CHECKPOINT).first()
        due = (
            last is None
            or head.seq - int(last.seq) >= self._every
            or (self._clock() - parse_ts(last.ts) >= self._interval)
        )
        if due:
            self.sign_checkpoint(session, seq=head.seq, head_hash=head.hash)

    def sign_checkpoint(self, session: Session, *, seq: int, head_hash: str) -> CheckpointRecord:
        """Sign the statement "event `seq` has hash `head_hash`" (the caller holds the lock)."""
        self._check_witness(session)
        kid = self.register_signer(session)
        ts = format_ts(self._clock())
        signature = self._signer.sign(
            checkpoint_message(seq=seq, head_hash=head_hash, ts=ts, kid=kid)
        )
        session.execute(
            insert(AuditCheckpoint),
            [{"seq": seq, "head_hash": head_hash, "ts": ts, "kid": kid, "signature": signature}],
        )
        record = CheckpointRecord(seq=seq, head_hash=head_hash, ts=ts, kid=kid, signature=signature)
        if self.witness is not None:
            self._publish_after_commit(session, record)
        return record

    # -- witness -----------------------------------------------------------------------------
    def _check_witness(self, session: Session) -> None:
        """Refuse to sign what the witness could not take, or on top of a cut chain."""
        witness = self.witness
        if witness is None:
            return
        try:
            witness.check_writable()
            if self.failing:  # the last publication failed: catch up first, or refuse
                witness.publish(_records(session, after=witness.state.last_seq))
                self.failing = None
        except (OSError, EcluseError) as e:
            log.critical("audit witness %s cannot be written (%s)", witness.path, type(e).__name__)
            raise AuditWriteError(
                f"the audit witness {witness.path} cannot be written ({type(e).__name__}): "
                "refusing audited acts until it can"
            ) from e
        state = witness.state
        head = session.execute(
            select(AuditCheckpoint.head_hash).where(AuditCheckpoint.seq == state.last_seq)
        ).scalar()
        if state.last_seq and head != state.last_hash:
            raise AuditWriteError(
                f"the checkpoint at seq {state.last_seq}, which the witness saw, is missing or "
                "different in the database; refusing to write (run `ecluse audit verify`)"
            )

    def _publish_after_commit(self, session: Session, record: CheckpointRecord) -> None:
        session.info.setdefault(_PENDING, []).append(record)
        if session.info.get(_HOOKED):
            return
        session.info[_HOOKED] = True
        engine = session.get_bind()

        def committed(s: Session) -> None:
            if s.info.pop(_PENDING, None):
                self.publish(engine)  # type: ignore[arg-type]

        def rolled_back(s: Session) -> None:
            s.info.pop(_PENDING, None)

        event.listen(session, "after_commit", committed)
        event.listen(session, "after_rollback", rolled_back)

    def publish(self, engine: Engine) -> int:
        """Publish to the witness every committed checkpoint it lacks; never raises.

        Return how many were written, or -1 when the witness could not take them (logged as
        critical; the next checkpoint is refused until a retry succeeds).
        """
        witness = self.witness
        if witness is None:
            return 0
        try:
            with Session(engine) as s:
                last = witness.state
                head = s.get(AuditCheckpoint, last.last_seq) if last.last_seq else None
                if last.last_seq and (head is None or head.head_hash != last.last_hash):
                    raise AuditWriteError("the database differs from its witness")
                pending = _records(s, after=last.last_seq)
            written = witness.publish(pending)
        except Exception as e:  # a database error too: the act committed already
            self.failing = type(e).__name__
            log.critical(
                "audit checkpoints committed but not witnessed in %s (%s)",
                witness.path,
                self.failing,
            )
            return -1
        self.failing = None
        return written


def _prepare(event: PendingEvent) -> tuple[str, str, str, str]:
    if not event.actor or len(event.actor) > MAX_ACTOR:
        raise ValidationError("an audit event needs a named actor")
    canonical.check(event.actor)
    return (
        event.actor,
        Action(event.action).value,
        canonical.canonical(dict(event.refs)),
        canonical.canonical(dict(event.details)),
    )


def _records(session: Session, *, after: int) -> list[CheckpointRecord]:
    rows = session.execute(
        select(AuditCheckpoint).where(AuditCheckpoint.seq > after).order_by(AuditCheckpoint.seq)
    ).scalars()
    return [
        CheckpointRecord(
            seq=c.seq, head_hash=c.head_hash, ts=c.ts, kid=c.kid, signature=bytes(c.signature)
        )
        for c in rows
    ]


def _row(r: EventRecord) -> dict[str, object]:
    return {
        "seq": r.seq,
        "ts": r.ts,
        "actor": r.actor,
        "action": r.action,
        "refs": r.refs,
        "details": r.details,
        "prev_hash": r.prev_hash,
        "hash": r.hash,
    }
