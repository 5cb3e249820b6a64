"""One organisation's slice of the audit trail, verifiable by someone who trusts only the
platform's public key (docs/adr/0010-tenant-isolation.md).

JSON lines: a header (format, organisation, public keys); then, in chain order, each event
that concerns the organisation in full, and each run of other events as one `elided` line
(`first`, `last`, the `prev_hash` of its first event, the `hash` of its last), a run being cut
at every signed checkpoint; then the checkpoints; then a `seal`: the platform key's signature
over JCS({"first_seq", "format", "head_hash", "kid", "last_seq", "lines_sha256",
"organisation", "ts"}), where `lines_sha256` is the SHA-256 of the event and elided lines as
written (each with its newline).

A verifier recomputes the hash of every event it holds, follows every link (an elided run
links its neighbours), checks each checkpoint head at its sequence number and every
signature, and the seal. The seal is what binds an elided run's two hashes to each other: the
exporter signs it only after walking the whole chain (`ecluse.services.tenancy`). Purge events
are in every slice: they anchor a chain whose oldest events were removed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ecluse.audit.actions import Action
from ecluse.audit.canonical import dumps
from ecluse.audit.chain import GENESIS, CheckpointRecord, body_bytes
from ecluse.audit.log import format_ts, utcnow
from ecluse.audit.records import checkpoints, iter_events, public_keys
from ecluse.audit.verify import EventRow, VerifyReport, _Broken, _check_signatures, _names_anchor
from ecluse.crypto.interfaces import Signer
from ecluse.crypto.signatures import verify as verify_signature
from ecluse.errors import IntegrityError

FORMAT = "ecluse-audit-slice-v1"
_FIELDS = ("seq", "ts", "actor", "action", "refs", "details", "prev_hash", "hash")
_PURGE = Action.AUDIT_PURGE.value
Concerns = Callable[[str, str], bool]  # (actor, refs as canonical JSON) -> in the slice


def seal_message(seal: Mapping[str, Any]) -> bytes:
    keys = ("first_seq", "format", "head_hash", "kid", "last_seq", "lines_sha256")
    return dumps({**{k: seal[k] for k in keys}, "organisation": seal["organisation"],
                  "ts": seal["ts"]}).encode()  # fmt: skip


@dataclass
class _Writer:
    out: IO[str]
    digest: Any = field(default_factory=hashlib.sha256)
    gap: dict[str, Any] | None = None
    events: int = 0

    def line(self, doc: dict[str, Any], *, sealed: bool = True) -> None:
        text = json.dumps(doc, ensure_ascii=False) + "\n"
        if sealed:
            self.digest.update(text.encode())
        self.out.write(text)

    def close_gap(self) -> None:
        if self.gap is not None:
            self.line(self.gap)
            self.gap = None


def export_slice(
    engine: Engine,
    out: IO[str],
    *,
    signer: Signer,
    organisation_id: str,
    concerns: Concerns,
    through: int,
) -> int:
    """Write the slice of events 1..`through` (a signed checkpoint); return the events kept.
    The caller has verified the whole chain first."""
    with Session(engine) as session:
        cps = [c for c in checkpoints(session) if c.seq <= through]
        keys = public_keys(session)
    heads = {c.seq for c in cps}
    w = _Writer(out)
    listed = [{"kid": k, "alg": "ed25519", "public_key": v.hex()} for k, v in sorted(keys.items())]
    header = {"type": "header", "format": FORMAT, "organisation": organisation_id}
    w.line({**header, "keys": listed, "exported_at": format_ts(utcnow())}, sealed=False)
    first = last = None
    head = GENESIS
    for row in iter_events(engine, until=through):
        seq, actor, action, refs, prev, stored = row[0], row[2], row[3], row[4], row[6], row[7]
        first = seq if first is None else first
        if action == _PURGE or concerns(actor, refs):
            w.close_gap()
            w.line({"type": "event", **dict(zip(_FIELDS, row, strict=True))})
            w.events += 1
        elif w.gap is None:
            w.gap = {"type": "elided", "first": seq, "last": seq, "prev_hash": prev, "hash": stored}
        else:
            w.gap.update(last=seq, hash=stored)
        if seq in heads:
            w.close_gap()
        last, head = seq, stored
    w.close_gap()
    for c in cps:
        w.line({"type": "checkpoint", "seq": c.seq, "head_hash": c.head_hash, "ts": c.ts,
                "kid": c.kid, "signature": c.signature.hex()}, sealed=False)  # fmt: skip
    _seal(w, signer, organisation_id, first=first, last=last, head=head)
    return w.events


def _seal(
    w: _Writer,
    signer: Signer,
    organisation_id: str,
    *,
    first: int | None,
    last: int | None,
    head: str,
) -> None:
    """The signed last line: the span kept, the chain's head there, the lines' digest."""
    seal: dict[str, Any] = {
        "format": FORMAT,
        "organisation": organisation_id,
        "first_seq": first,
        "last_seq": last,
        "head_hash": head,
        "lines_sha256": w.digest.hexdigest(),
        "ts": format_ts(utcnow()),
        "kid": signer.key_id,
    }
    signature = signer.sign(seal_message(seal))
    w.line({"type": "seal", **seal, "signature": signature.hex()}, sealed=False)


# -- verification ------------------------------------------------------------------------------
@dataclass
class _Read:
    keys: dict[str, bytes] = field(default_factory=dict)
    cps: list[CheckpointRecord] = field(default_factory=list)
    seal: dict[str, Any] | None = None
    organisation: str = ""


def _docs(path: Path) -> Iterator[tuple[int, str, dict[str, Any]]]:
    with path.open(encoding="utf-8") as f:
        for number, text in enumerate(f, 1):
            try:
                doc = json.loads(text)
            except ValueError as e:
                raise IntegrityError(f"slice line {number} is not valid JSON") from e
            if not isinstance(doc, dict):
                raise IntegrityError(f"slice line {number} is not an object")
            yield number, text, doc


def _read_frame(path: Path) -> _Read:
    """Header keys, checkpoints and seal (a first pass: they sit around the events)."""
    r = _Read()
    for number, _, doc in _docs(path):
        try:
            if doc.get("type") == "header":
                r.organisation = str(doc["organisation"])
                r.keys.update({k["kid"]: bytes.fromhex(k["public_key"]) for k in doc["keys"]})
            elif doc.get("type") == "checkpoint":
                r.cps.append(
                    CheckpointRecord(
                        seq=int(doc["seq"]),
                        head_hash=str(doc["head_hash"]),
                        ts=str(doc["ts"]),
                        kid=str(doc["kid"]),
                        signature=bytes.fromhex(doc["signature"]),
                    )
                )
            elif doc.get("type") == "seal":
                r.seal = doc
        except (KeyError, TypeError, ValueError) as e:
            raise IntegrityError(f"slice line {number} is malformed") from e
    return r


@dataclass
class _Walk:
    heads: Mapping[int, str]
    expected: int | None = None
    first: int | None = None
    prev: str = ""
    events: int = 0
    purges: list[str] = field(default_factory=list)

    def start(self, seq: int, prev_hash: str) -> None:
        if self.expected is None:
            self.first, self.expected, self.prev = seq, seq, prev_hash
        if seq != self.expected:
            raise _Broken(self.expected, f"event {self.expected} is missing")
        if prev_hash != self.prev:
            raise _Broken(seq, f"event {seq} does not link to event {seq - 1}")

    def event(self, row: EventRow) -> None:
        seq, ts, actor, action, refs, details, prev_hash, stored = row
        self.start(seq, prev_hash)
        body = body_bytes(seq, ts, actor, action, refs, details, prev_hash)
        if hashlib.sha256(body).hexdigest() != stored:
            raise _Broken(seq, f"event {seq} was altered (hash mismatch)")
        self.end(seq, seq, stored)
        self.events += 1
        if action == _PURGE:
            self.purges.append(details)

    def elided(self, first: int, last: int, prev_hash: str, stored: str) -> None:
        if last < first:
            raise _Broken(first, f"elided run {first}..{last} is malformed")
        self.start(first, prev_hash)
        self.end(first, last, stored)

    def end(self, first: int, last: int, stored: str) -> None:
        inside = [s for s in self.heads if first <= s < last]
        if inside:
            raise _Broken(inside[0], f"checkpoint at seq {inside[0]} falls inside an elided run")
        if self.heads.get(last, stored) != stored:
            raise _Broken(last, f"event {last} differs from its signed checkpoint")
        self.prev, self.expected = stored, last + 1


def _walk(path: Path, walk: _Walk) -> str:
    """Walk the event and elided lines; the SHA-256 of those lines as written."""
    digest = hashlib.sha256()
    for number, text, doc in _docs(path):
        kind = doc.get("type")
        if kind not in {"event", "elided"}:
            continue
        digest.update(text.encode())
        try:
            if kind == "event":
                walk.event(_row(doc))
            else:
                walk.elided(int(doc["first"]), int(doc["last"]), str(doc["prev_hash"]),
                            str(doc["hash"]))  # fmt: skip
        except (KeyError, TypeError, ValueError) as e:
            raise IntegrityError(f"slice line {number} is not a complete record") from e
    return digest.hexdigest()


def _row(doc: dict[str, Any]) -> EventRow:
    ts, actor, action, refs, details, prev, stored = (str(doc[k]) for k in _FIELDS[1:])
    return int(doc["seq"]), ts, actor, action, refs, details, prev, stored


def _check_seal(r: _Read, walk: _Walk, lines: str, keys: Mapping[str, bytes]) -> None:
    seal = r.seal
    if seal is None or seal.get("format") != FORMAT:
        raise _Broken(0, "the slice carries no seal")
    public = keys.get(str(seal.get("kid")))
    if public is None:
        raise _Broken(0, "the slice is sealed by an unknown key")
    try:
        message = seal_message(seal)
        verify_signature(public_key=public, signature=bytes.fromhex(seal["signature"]),
                         message=message)  # fmt: skip
    except (KeyError, TypeError, ValueError, IntegrityError):
        raise _Broken(0, "the slice's seal is invalid") from None
    last = walk.expected - 1 if walk.expected is not None else None
    if seal["organisation"] != r.organisation or seal["lines_sha256"] != lines:
        raise _Broken(0, "the slice's lines differ from what was sealed")
    if (seal["first_seq"], seal["last_seq"], seal["head_hash"]) != (walk.first, last, walk.prev):
        raise _Broken(last or 0, "the slice's range differs from what was sealed")


def _check_ends(walk: _Walk, heads: Mapping[int, str]) -> None:
    if walk.first is None:
        return
    last = (walk.expected or 1) - 1
    if heads.get(last) is None:
        raise _Broken(last, f"the slice ends at event {last}, which no checkpoint signs")
    beyond = sorted(s for s in heads if s > last)
    if beyond:
        raise _Broken(last + 1, f"events {last + 1}..{beyond[-1]} were signed but are missing")


def _check_start(path: Path, walk: _Walk, heads: Mapping[int, str]) -> None:
    for _, _, doc in _docs(path):
        if doc.get("type") in {"event", "elided"}:
            first, prev = int(doc.get("seq", doc.get("first", 0))), str(doc["prev_hash"])
            break
    else:
        return
    if first == 1:
        if prev != GENESIS:
            raise _Broken(1, "event 1 does not start the chain")
        return
    if heads.get(first - 1) != prev or not any(
        _names_anchor(d, first - 1, heads) for d in walk.purges
    ):
        raise _Broken(first - 1, f"events up to {first - 1} were removed without an audited purge")


def verify_slice(path: Path, *, pinned: dict[str, bytes] | None = None) -> VerifyReport:
    """Verify a slice, trusting only `pinned` keys when given, else the slice's own."""
    r = _read_frame(path)
    keys = pinned if pinned is not None else r.keys
    cps = sorted(r.cps, key=lambda c: c.seq)
    walk = _Walk(heads={c.seq: c.head_hash for c in cps})

    def report(broken: _Broken | None = None) -> VerifyReport:
        done = walk.expected is not None
        return VerifyReport(
            ok=broken is None,
            events=walk.events,
            first_seq=walk.first,
            last_seq=(walk.expected or 1) - 1 if done else None,
            checkpoints=len(cps),
            last_checkpoint_seq=cps[-1].seq if cps else None,
            broken_seq=broken.seq if broken else None,
            reason=broken.reason if broken else None,
        )

    try:
        _check_signatures(cps, keys)
        lines = _walk(path, walk)
        _check_start(path, walk, walk.heads)
        _check_ends(walk, walk.heads)
        _check_seal(r, walk, lines, keys)
    except _Broken as b:
        return report(b)
    return report()


def is_slice(path: Path) -> bool:
    """Whether the file's header names the slice format."""
    with path.open(encoding="utf-8") as f:
        first = f.readline()
    try:
        doc = json.loads(first)
    except ValueError:
        return False
    return isinstance(doc, dict) and doc.get("format") == FORMAT
