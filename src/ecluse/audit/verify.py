"""Verification of the chain and its checkpoints, from the database or from an export.

Pure over its inputs: it needs only the events in order, the checkpoints and the public keys,
so someone who does not trust the server can run it on an export with a pinned key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ecluse.audit.actions import Action
from ecluse.audit.chain import GENESIS, CheckpointRecord, checkpoint_message, event_body
from ecluse.crypto.signatures import verify as verify_signature
from ecluse.errors import IntegrityError

# (seq, ts, actor, action, refs, details, prev_hash, hash), as stored
EventRow = tuple[int, str, str, str, str, str, str, str]


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


class _Broken(Exception):
    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(reason)
        self.seq = seq
        self.reason = reason


def verify_chain(
    events: Iterable[EventRow], checkpoints: Sequence[CheckpointRecord], keys: Mapping[str, bytes]
) -> VerifyReport:
    """Check every link, every hash, every checkpoint; name the first broken sequence number."""
    cps = sorted(checkpoints, key=lambda c: c.seq)
    state = _Walk()
    try:
        _check_signatures(cps, keys)
        by_seq = {c.seq: c for c in cps}
        state.walk(events, by_seq)
        state.finish(cps, by_seq)
    except _Broken as b:
        return state.report(cps, broken=b)
    return state.report(cps)


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


class _Walk:
    def __init__(self) -> None:
        self.count = 0
        self.first: int | None = None
        self.last: int | None = None
        self.anchor_named = False

    def walk(self, events: Iterable[EventRow], by_seq: Mapping[int, CheckpointRecord]) -> None:
        expected, prev = 0, ""
        sha256 = hashlib.sha256
        for seq, ts, actor, action, refs, details, prev_hash, stored in events:
            if self.first is None:
                self.first = expected = seq
                prev = self._anchor(seq, prev_hash, by_seq)
            if seq != expected:
                raise _Broken(expected, f"event {expected} is missing")
            if prev_hash != prev:
                raise _Broken(seq, f"event {seq} does not link to event {seq - 1}")
            body = event_body(
                seq=seq,
                ts=ts,
                actor=actor,
                action=action,
                refs=refs,
                details=details,
                prev_hash=prev_hash,
            )
            if sha256(body).hexdigest() != stored:
                raise _Broken(seq, f"event {seq} was altered (hash mismatch)")
            cp = by_seq.get(seq)
            if cp is not None and cp.head_hash != stored:
                raise _Broken(seq, f"event {seq} differs from its signed checkpoint")
            if action == Action.AUDIT_PURGE and self.first > 1:
                self.anchor_named |= _names_anchor(details, self.first - 1, by_seq)
            prev, expected = stored, seq + 1
            self.count += 1
            self.last = seq

    def _anchor(self, seq: int, prev_hash: str, by_seq: Mapping[int, CheckpointRecord]) -> str:
        if seq == 1:
            return GENESIS
        cp = by_seq.get(seq - 1)
        if cp is None or cp.head_hash != prev_hash:
            raise _Broken(
                seq - 1,
                f"events up to {seq - 1} are missing and no signed checkpoint anchors the rest",
            )
        return prev_hash

    def finish(
        self, cps: Sequence[CheckpointRecord], by_seq: Mapping[int, CheckpointRecord]
    ) -> None:
        if self.first is not None and self.first > 1 and not self.anchor_named:
            raise _Broken(
                self.first - 1,
                f"events up to {self.first - 1} were removed without an audited purge",
            )
        end = self.last or 0
        beyond = [c.seq for c in cps if c.seq > end]
        if beyond:
            raise _Broken(end + 1, f"events {end + 1}..{beyond[-1]} were signed but are missing")

    def report(
        self, cps: Sequence[CheckpointRecord], broken: _Broken | None = None
    ) -> VerifyReport:
        return VerifyReport(
            ok=broken is None,
            events=self.count,
            first_seq=self.first,
            last_seq=self.last,
            checkpoints=len(cps),
            last_checkpoint_seq=cps[-1].seq if cps else None,
            broken_seq=broken.seq if broken else None,
            reason=broken.reason if broken else None,
        )


def _names_anchor(details: str, through: int, by_seq: Mapping[int, CheckpointRecord]) -> bool:
    try:
        d = json.loads(details)
    except ValueError:
        return False
    cp = by_seq.get(through)
    return (
        isinstance(d, dict)
        and d.get("through_seq") == through
        and cp is not None
        and d.get("anchor_hash") == cp.head_hash
    )
