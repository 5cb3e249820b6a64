"""Verification of the chain and its checkpoints, from the database or from an export.

Pure over its inputs: it needs only the events in order, the checkpoints and the public keys,
so someone who does not trust the server can run it on an export with a pinned key. A long
chain can be walked as contiguous segments (in parallel by the caller) and stitched here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ecluse.audit.actions import Action
from ecluse.audit.chain import GENESIS, CheckpointRecord, body_bytes, checkpoint_message
from ecluse.crypto.signatures import verify as verify_signature
from ecluse.errors import IntegrityError

# (seq, ts, actor, action, refs, details, prev_hash, hash), as stored
EventRow = tuple[int, str, str, str, str, str, str, str]
_PURGE = Action.AUDIT_PURGE.value


@dataclass(frozen=True, slots=True)
class VerifyReport:
    ok: bool
    events: int
    first_seq: int | None
    last_seq: int | None
    checkpoints: int
    last_checkpoint_seq: int | None
    broken_seq: int | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Segment:
    """What one contiguous run of events showed; plain data, so a worker can return it."""

    count: int
    first_seq: int | None
    first_prev: str | None
    last_seq: int | None
    last_hash: str | None
    purges: tuple[str, ...]  # details of the purge events met
    broken_seq: int | None = None
    reason: str | None = None


class _Broken(Exception):
    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(reason)
        self.seq = seq
        self.reason = reason


def walk_segment(events: Iterable[EventRow], heads: Mapping[int, str]) -> Segment:
    """Check hashes and links inside one run of events, and their signed checkpoint heads."""
    count, expected, first, first_prev, prev = 0, 0, None, None, ""
    purges: list[str] = []
    sha256, body = hashlib.sha256, body_bytes

    def result(broken: int | None = None, reason: str | None = None) -> Segment:
        return Segment(
            count=count,
            first_seq=first,
            first_prev=first_prev,
            last_seq=expected - 1 if count else None,
            last_hash=prev if count else None,
            purges=tuple(purges),
            broken_seq=broken,
            reason=reason,
        )

    for seq, ts, actor, action, refs, details, prev_hash, stored in events:
        if first is None:
            first, first_prev, expected, prev = seq, prev_hash, seq, prev_hash
        if seq != expected:
            return result(expected, f"event {expected} is missing")
        if prev_hash != prev:
            return result(seq, f"event {seq} does not link to event {seq - 1}")
        if sha256(body(seq, ts, actor, action, refs, details, prev_hash)).hexdigest() != stored:
            return result(seq, f"event {seq} was altered (hash mismatch)")
        head = heads.get(seq)
        if head is not None and head != stored:
            return result(seq, f"event {seq} differs from its signed checkpoint")
        if action == _PURGE:
            purges.append(details)
        prev, expected, count = stored, seq + 1, count + 1
    return result()


def verify_chain(
    events: Iterable[EventRow], checkpoints: Sequence[CheckpointRecord], keys: Mapping[str, bytes]
) -> VerifyReport:
    """Check every link, every hash, every checkpoint; name the first broken sequence number."""
    heads = {c.seq: c.head_hash for c in checkpoints}
    return combine([walk_segment(events, heads)], checkpoints, keys)


def combine(
    segments: Sequence[Segment], checkpoints: Sequence[CheckpointRecord], keys: Mapping[str, bytes]
) -> VerifyReport:
    """Stitch segments walked in seq order into one verdict on the whole chain."""
    cps = sorted(checkpoints, key=lambda c: c.seq)
    walked = [s for s in segments if s.first_seq is not None]
    events = sum(s.count for s in walked)
    last = walked[-1].last_seq if walked else None

    def report(broken: _Broken | None = None) -> VerifyReport:
        return VerifyReport(
            ok=broken is None,
            events=events,
            first_seq=walked[0].first_seq if walked else None,
            last_seq=last,
            checkpoints=len(cps),
            last_checkpoint_seq=cps[-1].seq if cps else None,
            broken_seq=broken.seq if broken else None,
            reason=broken.reason if broken else None,
        )

    try:
        _check_signatures(cps, keys)
        _stitch(walked, {c.seq: c.head_hash for c in cps})
    except _Broken as b:
        return report(b)
    return report()


def _check_signatures(cps: Sequence[CheckpointRecord], keys: Mapping[str, bytes]) -> None:
    for c in cps:
        public = keys.get(c.kid)
        if public is None:
            raise _Broken(c.seq, f"checkpoint at seq {c.seq} is signed by an unknown key")
        message = checkpoint_message(seq=c.seq, head_hash=c.head_hash, ts=c.ts, kid=c.kid)
        try:
            verify_signature(public_key=public, signature=c.signature, message=message)
        except IntegrityError:
            raise _Broken(c.seq, f"checkpoint at seq {c.seq} has an invalid signature") from None


def _stitch(walked: Sequence[Segment], heads: Mapping[int, str]) -> None:
    end = 0
    if walked:
        start = _check_start(walked[0], heads)
        prev_last, prev_hash = None, None
        for s in walked:
            if s.first_seq is None:  # an empty segment (filtered out by `combine`)
                continue
            if prev_last is not None and s.first_seq != prev_last + 1:
                raise _Broken(prev_last + 1, f"event {prev_last + 1} is missing")
            if prev_last is not None and s.first_prev != prev_hash:
                raise _Broken(
                    s.first_seq, f"event {s.first_seq} does not link to event {s.first_seq - 1}"
                )
            if s.broken_seq is not None:
                raise _Broken(s.broken_seq, s.reason or "broken")
            prev_last, prev_hash = s.last_seq, s.last_hash
        if start > 1 and not any(
            _names_anchor(d, start - 1, heads) for s in walked for d in s.purges
        ):
            raise _Broken(
                start - 1, f"events up to {start - 1} were removed without an audited purge"
            )
        end = prev_last or 0
    beyond = sorted(seq for seq in heads if seq > end)
    if beyond:
        raise _Broken(end + 1, f"events {end + 1}..{beyond[-1]} were signed but are missing")


def _check_start(first: Segment, heads: Mapping[int, str]) -> int:
    """The chain starts at genesis, or right after a signed anchor left by a purge."""
    start = first.first_seq or 1
    if start == 1:
        if first.first_prev != GENESIS:
            raise _Broken(1, "event 1 does not start the chain")
        return start
    if heads.get(start - 1) != first.first_prev:
        raise _Broken(
            start - 1,
            f"events up to {start - 1} are missing and no signed checkpoint anchors the rest",
        )
    return start


def _names_anchor(details: str, through: int, heads: Mapping[int, str]) -> bool:
    try:
        d = json.loads(details)
    except ValueError:
        return False
    return (
        isinstance(d, dict)
        and d.get("through_seq") == through
        and d.get("anchor_hash") == heads.get(through)
    )
