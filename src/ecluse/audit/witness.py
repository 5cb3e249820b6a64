"""The witness log: every signed checkpoint, copied to a file outside the database.

`<witness dir>/audit-witness.jsonl` holds one JSON object per line (keys sorted, compact):

    {"format": "ecluse-audit-witness-v1", "n": 7, "prev": sha256(line 6).hex,
     "seq": …, "head_hash": …, "ts": …, "kid": …, "signature": hex}

`prev` is the SHA-256 of the previous line's bytes (without its newline), 64 zeros on line 1,
so an edited or removed line breaks the chain from there on. Lines are appended through a
descriptor opened with O_APPEND, under an exclusive `flock` (several processes of one instance
share the file), then the file and its directory are fsynced. Checkpoints go in increasing
`seq` order; each one is written after the database transaction that signed it commits
(`ecluse.audit.log`), so the witness never claims a checkpoint that was rolled back.

Nothing in the file is patient data: a checkpoint is a sequence number, a hash, a time, a key
id and a signature.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ecluse.audit.chain import GENESIS, CheckpointRecord
from ecluse.canonical import encode
from ecluse.errors import ConfigurationError, IntegrityError

FORMAT = "ecluse-audit-witness-v1"
FILE_NAME = "audit-witness.jsonl"
MAX_LINE = 4096


@dataclass(frozen=True, slots=True)
class WitnessState:
    """Where the witness file ends: its size, last line number and hash, last checkpoint."""

    offset: int = 0
    lines: int = 0
    line_hash: str = GENESIS
    last_seq: int = 0
    last_hash: str | None = None


def line_for(cp: CheckpointRecord, *, n: int, prev: str) -> bytes:
    """The canonical bytes of witness line `n` (without its newline)."""
    doc = {
        "format": FORMAT,
        "head_hash": cp.head_hash,
        "kid": cp.kid,
        "n": n,
        "prev": prev,
        "seq": cp.seq,
        "signature": cp.signature.hex(),
        "ts": cp.ts,
    }
    return encode(doc)


def checkpoint_of(doc: dict[str, Any]) -> CheckpointRecord:
    """A checkpoint from a parsed line; `KeyError`/`TypeError`/`ValueError` if incomplete."""
    seq, head, ts, kid = doc["seq"], doc["head_hash"], doc["ts"], doc["kid"]
    if type(seq) is not int or not all(type(v) is str for v in (head, ts, kid)):
        raise TypeError("checkpoint fields have the wrong types")
    return CheckpointRecord(
        seq=seq, head_hash=head, ts=ts, kid=kid, signature=bytes.fromhex(str(doc["signature"]))
    )


def read_lines(
    raw: Iterable[bytes], *, start: WitnessState, source: str
) -> Iterator[tuple[WitnessState, CheckpointRecord]]:
    """Check each line continues the chain from `start`; yield the state after it."""
    state = start
    for line in raw:
        n = state.lines + 1
        if not line.endswith(b"\n"):
            raise IntegrityError(f"witness {source} line {n} is cut short (no end of line)")
        body = line[:-1]
        try:
            doc = json.loads(body)
            if not isinstance(doc, dict) or doc.get("format") != FORMAT:
                raise ValueError("not a witness line")
            cp = checkpoint_of(doc)
        except (KeyError, TypeError, ValueError) as e:
            raise IntegrityError(f"witness {source} line {n} is malformed") from e
        if doc.get("n") != n or doc.get("prev") != state.line_hash:
            raise IntegrityError(
                f"witness {source} line {n} does not follow line {n - 1}: the witness was edited"
            )
        if cp.seq <= state.last_seq:
            raise IntegrityError(f"witness {source} line {n} goes back to seq {cp.seq}")
        state = WitnessState(
            offset=state.offset + len(line),
            lines=n,
            line_hash=hashlib.sha256(body).hexdigest(),
            last_seq=cp.seq,
            last_hash=cp.head_hash,
        )
        yield state, cp


class WitnessLog:
    """The append-only, hash-chained witness file of one instance."""

    def __init__(self, *, directory: Path) -> None:
        self.directory = directory
        self.path = directory / FILE_NAME
        self.state = WitnessState()

    @classmethod
    def open(cls, directory: Path, *, create: bool = False) -> WitnessLog:
        """Open and check the whole witness; refuse a missing, loose or broken one."""
        if create:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(directory, 0o700)
            fd = os.open(directory / FILE_NAME, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.fsync(fd)
            os.close(fd)
            _fsync_dir(directory)
        witness = cls(directory=directory)
        witness._check_files()
        for state, _ in witness.read():
            witness.state = state
        return witness

    def _check_files(self) -> None:
        if not self.path.is_file():
            raise ConfigurationError(
                f"the audit witness {self.path} is missing: refusing to start (an instance "
                "that never had one starts it with `ecluse audit witness-start`)"
            )
        for path, wanted in ((self.directory, 0o700), (self.path, 0o600)):
            mode = stat.S_IMODE(path.stat().st_mode)
            if mode & 0o077:
                raise ConfigurationError(
                    f"{path} has loose permissions ({mode:04o}); Écluse needs {wanted:04o}"
                )

    def read(self) -> Iterator[tuple[WitnessState, CheckpointRecord]]:
        """Every line from the start, checked; `IntegrityError` where the chain breaks."""
        try:
            with self.path.open("rb") as f:
                yield from read_lines(_bounded(f), start=WitnessState(), source=str(self.path))
        except OSError as e:
            raise IntegrityError(f"the audit witness {self.path} cannot be read") from e

    def checkpoints(self) -> list[CheckpointRecord]:
        return [cp for _, cp in self.read()]

    def check_writable(self) -> None:
        """Raise `OSError` unless a line could be appended now."""
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        os.close(fd)

    def publish(self, checkpoints: Iterable[CheckpointRecord]) -> int:
        """Append the checkpoints newer than the witness (in seq order); fsync; return how many.

        Another process may have appended since this one last looked: the new lines are read
        and checked first. A witnessed seq whose hash differs is refused (`IntegrityError`).
        """
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            seen = self._catch_up()
            state, lines = self.state, []
            for cp in sorted(checkpoints, key=lambda c: c.seq):
                if cp.seq <= state.last_seq:
                    if seen.get(cp.seq, cp.head_hash) != cp.head_hash:
                        raise IntegrityError(f"checkpoint {cp.seq} differs from its witness")
                    continue
                body = line_for(cp, n=state.lines + 1, prev=state.line_hash)
                lines.append(body + b"\n")
                state = WitnessState(
                    offset=state.offset + len(body) + 1,
                    lines=state.lines + 1,
                    line_hash=hashlib.sha256(body).hexdigest(),
                    last_seq=cp.seq,
                    last_hash=cp.head_hash,
                )
            if lines:
                os.write(fd, b"".join(lines))
                os.fsync(fd)
                _fsync_dir(self.directory)
            self.state = state
            return len(lines)
        finally:
            os.close(fd)  # releases the lock

    def _catch_up(self) -> dict[int, str]:
        """Read what other processes appended since `self.state`; the heads seen there."""
        size = os.stat(self.path).st_size
        if size < self.state.offset:
            raise IntegrityError(f"the audit witness {self.path} was truncated")
        seen = {self.state.last_seq: self.state.last_hash or ""}
        if size == self.state.offset:
            return seen
        with self.path.open("rb") as f:
            f.seek(self.state.offset)
            for state, cp in read_lines(_bounded(f), start=self.state, source=str(self.path)):
                self.state, seen[cp.seq] = state, cp.head_hash
        return seen


def _bounded(f: Any) -> Iterator[bytes]:
    while line := f.readline(MAX_LINE):
        yield line


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
