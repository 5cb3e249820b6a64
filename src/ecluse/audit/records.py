"""Reading the chain back from the database, in order and in bounded memory."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ecluse.audit.chain import CheckpointRecord
from ecluse.audit.verify import EventRow, Segment, VerifyReport, combine, walk_segment
from ecluse.audit.witness import FILE_NAME, WitnessLog
from ecluse.audit.witnessing import DatabaseView, WitnessFinding, compare, read_capture
from ecluse.db.models import AuditCheckpoint, AuditEvent, SigningKey
from ecluse.db.session import make_engine
from ecluse.errors import EcluseError

_BATCH = 20_000
PARALLEL_FROM = 200_000  # events; below this a worker's start-up costs more than it saves


# One page of the chain, with bound parameters in each driver's own style (no input in it).
_PAGE = {
    "sqlite": "SELECT seq, ts, actor, action, refs, details, prev_hash, hash FROM audit_events"
    " WHERE seq > :after AND seq <= :until ORDER BY seq LIMIT :n",
    "postgresql": "SELECT seq, ts, actor, action, refs, details, prev_hash, hash FROM audit_events"
    " WHERE seq > %(after)s AND seq <= %(until)s ORDER BY seq LIMIT %(n)s",
}


def iter_events(engine: Engine, *, after: int = 0, until: int = 2**62) -> Iterator[EventRow]:
    """Events `after + 1`..`until`, in pages read straight from the driver's cursor.

    Verification reads millions of rows; SQLAlchemy's row processing would double its time.
    """
    sql = _PAGE[engine.dialect.name]
    last = after
    while True:
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute(sql, {"after": last, "until": until, "n": _BATCH})
            rows = cur.fetchall()
            raw.commit()  # ends the read transaction; nothing was written
        finally:
            raw.close()
        if not rows:
            return
        yield from rows
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


def verify_database(
    engine: Engine, *, pinned: dict[str, bytes] | None = None, workers: int | None = None
) -> VerifyReport:
    """Verify the whole chain stored in the database (optionally against pinned keys only).

    Long chains are split into contiguous ranges walked by worker processes, then stitched.
    """
    with Session(engine) as session:
        cps = checkpoints(session)
        keys = pinned if pinned is not None else public_keys(session)
        lo, hi = session.execute(select(func.min(AuditEvent.seq), func.max(AuditEvent.seq))).one()
    heads = {c.seq: c.head_hash for c in cps}
    if lo is None:
        return combine([], cps, keys)
    n = workers or (min(os.cpu_count() or 1, 4) if hi - lo >= PARALLEL_FROM else 1)
    if n <= 1:
        return combine([walk_segment(iter_events(engine), heads)], cps, keys)
    step = -(-(hi - lo + 1) // n)
    bounds = [(a, min(a + step - 1, hi)) for a in range(lo, hi + 1, step)]
    url = engine.url.render_as_string(hide_password=False)
    with ProcessPoolExecutor(len(bounds), mp_context=get_context("spawn")) as pool:
        segments = list(pool.map(_walk_range, [url] * len(bounds), bounds, [heads] * len(bounds)))
    # Checkpoints were read before `hi`, so each is covered; later appends are not walked.
    return combine(segments, cps, keys)


def _walk_range(url: str, bounds: tuple[int, int], heads: dict[int, str]) -> Segment:
    """Runs in a worker process: its own engine, one range of the chain."""
    engine = make_engine(url)
    try:
        return walk_segment(iter_events(engine, after=bounds[0] - 1, until=bounds[1]), heads)
    finally:
        engine.dispose()


def database_view(engine: Engine, witnessed: Iterable[CheckpointRecord]) -> DatabaseView:
    """The database's checkpoints and bounds, and the events at witnessed seqs that lost
    their checkpoint (to tell a deleted checkpoint from a rewritten event)."""
    with Session(engine) as session:
        cps = {c.seq: c for c in checkpoints(session)}
        lo, hi = session.execute(select(func.min(AuditEvent.seq), func.max(AuditEvent.seq))).one()
        orphans = [c.seq for c in witnessed if c.seq not in cps]
        hashes: dict[int, str] = {}
        for start in range(0, len(orphans), 500):
            rows = session.execute(
                select(AuditEvent.seq, AuditEvent.hash).where(
                    AuditEvent.seq.in_(orphans[start : start + 500])
                )
            )
            hashes.update({int(r.seq): str(r.hash) for r in rows})
    return DatabaseView(checkpoints=cps, first_seq=lo, last_seq=hi, event_hashes=hashes)


def check_witnesses(
    engine: Engine,
    *,
    witness_dir: Path | None,
    captures: Sequence[Path] = (),
    pinned: dict[str, bytes] | None = None,
    tolerate_since: str | None = None,
) -> list[WitnessFinding]:
    """The database against its witness log (complete) and each capture given (partial)."""
    sources: list[tuple[str, bool, Callable[[], list[CheckpointRecord]]]] = []
    if witness_dir is not None:
        path = witness_dir / FILE_NAME
        sources.append((str(path), True, lambda: WitnessLog.open(witness_dir).checkpoints()))
    sources += [(str(p), False, lambda p=p: read_capture(p)) for p in captures]  # type: ignore[misc]
    with Session(engine) as session:
        keys = pinned if pinned is not None else public_keys(session)
    findings = []
    for name, complete, read in sources:
        try:
            witnessed = read()
        except EcluseError as e:
            findings.append(
                WitnessFinding(name, ok=False, checkpoints=0, last_seq=None, problems=(str(e),))
            )
            continue
        view = database_view(engine, witnessed)
        findings.append(
            compare(name, witnessed, view, keys, complete=complete, tolerate_since=tolerate_since)
        )
    return findings
