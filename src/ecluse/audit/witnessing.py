"""Checking the database against what its witnesses saw: a tail cut, a rewrite, a forgery.

A witness is a list of signed checkpoints kept where the database's writer cannot rewrite
it: the witness log (`ecluse.audit.witness`), or a capture of what the syslog or webhook
sinks received. Each witnessed checkpoint must still be in the database with the same head
hash (and its event, while not purged, with that hash). Signatures are checked with the
database's keys (or pinned ones), so a forged witness line is reported, never believed.

The witness log is complete by construction (every committed checkpoint, in order), so for
it a database checkpoint it lacks is a finding too; a capture may have lost messages (UDP).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ecluse.audit.chain import CheckpointRecord, checkpoint_message
from ecluse.audit.witness import FORMAT as WITNESS_FORMAT
from ecluse.audit.witness import WitnessState, checkpoint_of, read_lines
from ecluse.crypto.signatures import verify as verify_signature
from ecluse.errors import IntegrityError

CHECKPOINT_TYPE = "ecluse:audit:checkpoint"  # a webhook body's `type`
SYSLOG_SD_ID = "ecluse-checkpoint@32473"
_SD = re.compile(re.escape(f"[{SYSLOG_SD_ID} ") + r'((?:[a-z_]+="[^"\\\]]*" ?)+)\]')
_DASH = "\u2013"  # an en dash between the ends of a range
_PARAM = re.compile(r'([a-z_]+)="([^"]*)"')


@dataclass(frozen=True, slots=True)
class DatabaseView:
    """What the database holds, as far as the witnesses need it."""

    checkpoints: Mapping[int, CheckpointRecord]
    first_seq: int | None
    last_seq: int | None
    event_hashes: Mapping[int, str]  # the events at witnessed seqs whose checkpoint is gone


@dataclass(frozen=True, slots=True)
class WitnessFinding:
    witness: str
    ok: bool
    checkpoints: int  # witnessed checkpoints read
    last_seq: int | None  # the newest witnessed
    problems: tuple[str, ...] = ()
    missing_events: tuple[int, int] | None = None  # witnessed but gone from the database
    missing_checkpoints: tuple[int, ...] = ()
    rewritten: tuple[int, ...] = ()
    unwitnessed: tuple[int, ...] = ()  # database checkpoints the witness lacks
    notes: tuple[str, ...] = field(default=())


def compare(
    witness: str,
    witnessed: Sequence[CheckpointRecord],
    db: DatabaseView,
    keys: Mapping[str, bytes],
    *,
    complete: bool,
    tolerate_since: str | None = None,
) -> WitnessFinding:
    """The findings of one witness against the database (see the module docstring)."""
    problems = [*_bad_signatures(witnessed, keys)]
    last = db.last_seq or 0
    tail = sorted(c.seq for c in witnessed if c.seq > last)
    missing = sorted(c.seq for c in witnessed if c.seq not in db.checkpoints)
    rewritten = sorted(
        c.seq
        for c in witnessed
        if ((d := db.checkpoints.get(c.seq)) is not None and d.head_hash != c.head_hash)
        or (c.seq in db.event_hashes and db.event_hashes[c.seq] != c.head_hash)
    )
    missing_events = (last + 1, tail[-1]) if tail else None
    if missing_events is not None:
        kept = [s for s in missing if s > last]
        problems.append(
            f"events {missing_events[0]}{_DASH}{missing_events[1]} and {len(kept)} signed "
            f"checkpoint{'s' if len(kept) != 1 else ''} (at seq {_list(kept)}) are witnessed "
            "but missing from the database"
        )
    inner = [s for s in missing if s <= last and s not in rewritten]
    if inner:
        problems.append(f"the checkpoints at seq {_list(inner)} are witnessed but were deleted")
    if rewritten:
        problems.append(
            f"the events at seq {_list(rewritten)} differ from their witnessed checkpoints: "
            "the database was rewritten"
        )
    unwitnessed, notes = _unwitnessed(witnessed, db, complete, tolerate_since, problems)
    return WitnessFinding(
        witness=witness,
        ok=not problems,
        checkpoints=len(witnessed),
        last_seq=max((c.seq for c in witnessed), default=None),
        problems=tuple(problems),
        missing_events=missing_events,
        missing_checkpoints=tuple(missing),
        rewritten=tuple(rewritten),
        unwitnessed=tuple(unwitnessed),
        notes=tuple(notes),
    )


def _unwitnessed(
    witnessed: Sequence[CheckpointRecord],
    db: DatabaseView,
    complete: bool,
    tolerate_since: str | None,
    problems: list[str],
) -> tuple[list[int], list[str]]:
    seen = {c.seq for c in witnessed}
    top = max(seen, default=0)
    lacking = sorted(s for s in db.checkpoints if s not in seen)
    notes: list[str] = []
    if not lacking:
        return lacking, notes
    inner = [s for s in lacking if s < top]
    newer = [
        s
        for s in lacking
        if s > top and (tolerate_since is None or db.checkpoints[s].ts < tolerate_since)
    ]
    if not complete:
        notes.append(f"{len(lacking)} database checkpoints are not in this capture")
    elif inner:
        problems.append(
            f"the checkpoints at seq {_list(inner)} are in the database but not in the witness: "
            "they were forged, or the witness was edited"
        )
    if complete and newer:
        problems.append(
            f"the checkpoints at seq {_list(newer)} are not witnessed: the witness was truncated, "
            "or the process stopped before publishing them (`ecluse audit checkpoint` does)"
        )
    return lacking, notes


def _list(seqs: Sequence[int], limit: int = 6) -> str:
    if len(seqs) <= limit:
        return ", ".join(map(str, seqs))
    return f"{', '.join(map(str, seqs[: limit - 1]))}, … {seqs[-1]} ({len(seqs)} in all)"


def _bad_signatures(cps: Iterable[CheckpointRecord], keys: Mapping[str, bytes]) -> list[str]:
    bad = []
    for c in cps:
        public = keys.get(c.kid)
        message = checkpoint_message(seq=c.seq, head_hash=c.head_hash, ts=c.ts, kid=c.kid)
        try:
            if public is None:
                raise IntegrityError("unknown key")
            verify_signature(public_key=public, signature=c.signature, message=message)
        except IntegrityError:
            bad.append(c.seq)
    if not bad:
        return []
    return [f"the witnessed checkpoints at seq {_list(bad)} carry no valid platform signature"]


# -- captures of what the sinks received -----------------------------------------------------
def read_capture(path: Path) -> list[CheckpointRecord]:
    """Checkpoints from a file: a witness log (its chain checked), or captured webhook bodies
    (JSON lines) and syslog messages (one per line); other lines are skipped."""
    try:
        with path.open("rb") as f:
            first = f.readline()
            f.seek(0)
            if _is_witness_line(first):
                return [cp for _, cp in read_lines(f, start=WitnessState(), source=str(path))]
            return [cp for n, line in enumerate(f, 1) if (cp := _captured(line, n)) is not None]
    except OSError as e:
        raise IntegrityError(f"the witness file {path} cannot be read") from e


def _is_witness_line(line: bytes) -> bool:
    try:
        doc = json.loads(line)
    except ValueError:
        return False
    return isinstance(doc, dict) and doc.get("format") == WITNESS_FORMAT


def _captured(line: bytes, number: int) -> CheckpointRecord | None:
    text = line.decode("utf-8", errors="replace")
    try:
        match = _SD.search(text)
        if match is not None:
            params = dict(_PARAM.findall(match.group(1)))
            return checkpoint_of({**params, "seq": int(params["seq"])})
        doc = json.loads(text)
        if isinstance(doc, dict) and doc.get("type") == CHECKPOINT_TYPE:
            return checkpoint_of(doc)
    except ValueError:
        return None
    except (KeyError, TypeError) as e:
        raise IntegrityError(f"line {number} is an incomplete checkpoint") from e
    return None
