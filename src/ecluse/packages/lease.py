"""A running extraction's lease: who runs it, and until when unless renewed.

The owner is `host:pid:nonce` (the nonce tells two lives of one pid apart). While the run
works, a thread renews the lease every third of `extraction_lease_seconds` (30 s by default),
only while the run is still `running` and still its own; once a renewal finds it taken away
(recorded as abandoned), the run stops at its next batch and cannot commit. A run is dead when
its lease has ended, or at once when its owner is a process of this host that is gone (a
server restarted after a kill -9 recognises its runs on start, not 30 s later).

The objects a run writes are tagged `run-<extraction id>` (their temporary files' names), and
their ids recorded on the run, so that what it half wrote can be found and removed. The pieces
of an SFTP upload not yet closed are tagged with their process, `pid<pid>@<host>`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update

from ecluse.clock import as_utc
from ecluse.crypto._primitives import random_bytes
from ecluse.db import Database
from ecluse.db.models import Extraction
from ecluse.errors import ValidationError
from ecluse.packages.states import ExtractionState

log = logging.getLogger("ecluse.packages")
HOST = socket.gethostname()[:60] or "localhost"


class RunAbandoned(ValidationError):
    """The run's lease was taken away: it was recorded as abandoned."""


def new_owner() -> str:
    return f"{HOST}:{os.getpid()}:{random_bytes(8).hex()}"


def run_tag(extraction_id: str) -> str:
    return f"run-{extraction_id}"


def process_tag(pid: int | None = None) -> str:
    return f"pid{os.getpid() if pid is None else pid}@{HOST}"


def pid_alive(pid: int) -> bool:
    """Whether process `pid` of this host still runs (a zombie, killed but not yet reaped by
    its parent, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another account's process
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return not Path("/proc/self/stat").exists()  # gone, unless there is no /proc
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


@dataclass(frozen=True, slots=True)
class Holder:
    host: str
    pid: int

    @classmethod
    def parse(cls, owner: str) -> Holder | None:
        host, _, rest = owner.partition(":")
        pid = rest.partition(":")[0]
        return cls(host, int(pid)) if pid.isdigit() else None

    def gone(self) -> bool:
        """Known to have ended: a process of this host that no longer runs."""
        return self.host == HOST and not pid_alive(self.pid)


def death(row: Extraction, *, now: datetime, legacy_cutoff: datetime) -> str | None:
    """Why a `running` run has nobody running it any more, or None if it may be alive."""
    if row.lease_owner is None or row.lease_expires_at is None:  # a run from before leases
        return "started before leases" if as_utc(row.started_at) < legacy_cutoff else None
    holder = Holder.parse(row.lease_owner)
    if holder is not None and holder.gone():
        return "process gone"
    return "lease ended" if as_utc(row.lease_expires_at) < now else None


class Lease:
    """Renews the lease of run `extraction_id` held by `owner` from `start` to `stop`."""

    def __init__(self, db: Database, extraction_id: str, owner: str, *, seconds: float) -> None:
        self._db, self._id, self._owner, self._seconds = db, extraction_id, owner, seconds
        self._stop = threading.Event()
        self._lost = False
        self._thread = threading.Thread(
            target=self._renew_until_stopped, name="run-lease", daemon=True
        )

    def start(self, *, holding: list[str]) -> Lease:
        """Record the objects the run writes (for whoever cleans up after it), and renew the
        lease on a thread until `stop`."""
        with self._db.transaction() as s:
            s.execute(
                update(Extraction)
                .where(Extraction.id == self._id, Extraction.lease_owner == self._owner)
                .values(writing=" ".join(holding))
                .execution_options(synchronize_session=False)
            )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def check(self) -> None:
        """Raise if the run was recorded as abandoned meanwhile (a renewal came too late)."""
        if self._lost:
            raise RunAbandoned("the run was recorded as abandoned: everything was discarded")

    def _renew_until_stopped(self) -> None:
        while not self._stop.wait(self._seconds / 3):
            try:
                if not self._renew():
                    self._lost = True
                    return
            except Exception as e:  # the database away for a moment: try again
                log.error("renewing an extraction's lease failed (%s)", type(e).__name__)

    def _renew(self) -> bool:
        until = datetime.now(UTC) + timedelta(seconds=self._seconds)
        with self._db.transaction() as s:
            done = s.execute(
                update(Extraction)
                .where(
                    Extraction.id == self._id,
                    Extraction.state == ExtractionState.RUNNING,
                    Extraction.lease_owner == self._owner,
                )
                .values(lease_expires_at=until)
                .execution_options(synchronize_session=False)
            )
            return bool(done.rowcount)  # type: ignore[attr-defined]
