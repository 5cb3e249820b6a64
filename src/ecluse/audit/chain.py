"""The hash chain and checkpoint formats: pure functions, no I/O.

    hash_n = SHA-256( JCS({"action", "actor", "details", "prev": hash_{n-1}, "refs", "seq", "ts"}) )
    hash_0 = "0" repeated 64 times

A checkpoint signs JCS({"hash": hash_n, "kid", "seq": n, "ts"}) with the platform key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from json.encoder import encode_basestring as _q

from ecluse.audit.canonical import dumps

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class EventRecord:
    seq: int
    ts: str
    actor: str
    action: str
    refs: str  # canonical JSON text
    details: str  # canonical JSON text
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class CheckpointRecord:
    seq: int
    head_hash: str
    ts: str
    kid: str
    signature: bytes


def event_body(
    *, seq: int, ts: str, actor: str, action: str, refs: str, details: str, prev_hash: str
) -> bytes:
    """The canonical bytes hashed for one event (JCS with keys in sorted order)."""
    return body_bytes(seq, ts, actor, action, refs, details, prev_hash)


def body_bytes(  # noqa: PLR0917 - positional: the verification loop calls it a million times
    seq: int, ts: str, actor: str, action: str, refs: str, details: str, prev_hash: str, /
) -> bytes:
    """`event_body` with positional arguments, for the verification loop."""
    return (
        f'{{"action":{_q(action)},"actor":{_q(actor)},"details":{details},'
        f'"prev":{_q(prev_hash)},"refs":{refs},"seq":{seq},"ts":{_q(ts)}}}'
    ).encode()


def seal_event(
    *, seq: int, ts: str, actor: str, action: str, refs: str, details: str, prev_hash: str
) -> EventRecord:
    """The next link: the event with its hash over the canonical body."""
    digest = hashlib.sha256(body_bytes(seq, ts, actor, action, refs, details, prev_hash))
    return EventRecord(
        seq=seq,
        ts=ts,
        actor=actor,
        action=action,
        refs=refs,
        details=details,
        prev_hash=prev_hash,
        hash=digest.hexdigest(),
    )


def checkpoint_message(*, seq: int, head_hash: str, ts: str, kid: str) -> bytes:
    return dumps({"hash": head_hash, "kid": kid, "seq": seq, "ts": ts}).encode()
