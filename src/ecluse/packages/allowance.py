"""What an instruction still allows: its runs and its rows, shared by all of its runs.

An instruction bounds what leaves under it, not what one run takes: the rows in scope packaged
by all its runs together never exceed expected x (1 + tolerance), and at most `runs_allowed`
runs (default 1) may package. Canary rows, invented patients, are not counted. A run counts
while it runs and once it has packaged; it gives its run and its rows back when it fails, is
stopped or abandoned, or when its package is shredded without a receipt before anyone fetched
it (a package the recipient downloaded, or opened over SFTP, has left: receipt or not, it
keeps counting).

Serialised per instruction: the caller holds the instruction's row locked (SELECT … FOR UPDATE
on PostgreSQL; on SQLite every transaction is BEGIN IMMEDIATE, one writer at a time) while it
counts and records the run or its package, so two runs started at once, on two nodes, cannot
both take the last allowance, nor two commits both take the last rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ecluse.audit import Action
from ecluse.db.models import AuditEvent, Extraction, Instruction, Package
from ecluse.errors import PolicyViolation
from ecluse.mandates.instructions import Content
from ecluse.packages.states import ExtractionState, PackageState
from ecluse.policy import VolumeExceeded

#: a download counts from its first byte (a client that hangs up early still got rows)
_SENT = (Action.PACKAGE_DOWNLOAD_START.value, Action.PACKAGE_DOWNLOAD.value)
_FETCHED = (*_SENT, Action.SFTP_OPEN.value)


class RunsExhausted(PolicyViolation):
    """Every run the instruction allows is running or has packaged: no other may start."""


@dataclass(frozen=True, slots=True)
class Allowance:
    runs_allowed: int
    runs_counted: int  # running, or packaged and still counted
    rows_allowed: int  # expected x (1 + tolerance), exactly
    rows_minimum: int  # fewer than this is far below what was expected
    rows_packaged: int  # rows in scope of the counted packages (canaries not counted)

    @property
    def runs_left(self) -> int:
        return max(0, self.runs_allowed - self.runs_counted)

    @property
    def rows_left(self) -> int:
        return max(0, self.rows_allowed - self.rows_packaged)


def lock(session: Session, instruction_id: str) -> None:
    """Hold the instruction's row until the transaction ends (a no-op if there is none)."""
    session.get(Instruction, instruction_id, with_for_update=True)


def _fetched(session: Session, package_id: str) -> bool:
    """Whether the package was ever sent, or opened for reading over SFTP."""
    events = session.execute(
        select(AuditEvent.action, AuditEvent.details).where(
            AuditEvent.action.in_(_FETCHED), AuditEvent.refs.contains(f'"{package_id}"')
        )
    ).all()
    return any(
        action in _SENT or json.loads(details).get("file") == "package"
        for action, details in events
    )


def _counts(session: Session, package: Package | None) -> bool:
    if package is None:  # packaged without a package: cannot be, count it to fail closed
        return True
    if package.state != PackageState.SHREDDED or package.receipt_at is not None:
        return True
    return _fetched(session, package.id)


def allowance(
    session: Session, instruction_id: str, *, content: Content, excluding: str = ""
) -> Allowance:
    """What the instruction's runs have taken so far (`excluding` one run of them)."""
    runs = session.execute(
        select(Extraction.id, Extraction.state, Package)
        .outerjoin(Package, Package.extraction_id == Extraction.id)
        .where(
            Extraction.instruction_id == instruction_id,
            Extraction.state.in_((ExtractionState.RUNNING, ExtractionState.PACKAGED)),
            Extraction.id != excluding,
        )
    ).all()
    counted = rows = 0
    for _, state, package in runs:
        if state == ExtractionState.RUNNING:
            counted += 1
        elif _counts(session, package):
            counted += 1
            if package is not None:
                rows += package.rows - json.loads(package.manifest)["canary_rows"]
    minimum, maximum = content.row_bounds
    return Allowance(
        runs_allowed=content.runs_allowed,
        runs_counted=counted,
        rows_allowed=maximum,
        rows_minimum=minimum,
        rows_packaged=rows,
    )


def reserve(session: Session, instruction_id: str, *, content: Content) -> Allowance:
    """Check that one more run may start, the instruction locked; the caller records the run
    in the same transaction (the run it records is what holds the allowance)."""
    lock(session, instruction_id)
    left = allowance(session, instruction_id, content=content)
    if left.runs_left == 0:
        raise RunsExhausted(
            f"the instruction allows {left.runs_allowed} run(s) and none is left "
            "(a run gives its allowance back only if it fails, or its package is shredded "
            "unconfirmed and never fetched): ask the controller for a new instruction"
        )
    return left


def settle(
    session: Session,
    instruction_id: str,
    *,
    content: Content,
    run_id: str,
    rows: int,
) -> dict[str, int | bool]:
    """At a run's commit, the instruction locked: refuse (`VolumeExceeded`) if its `rows` in
    scope and those of the instruction's other counted runs exceed the bound; else the
    instruction's volume as this run leaves it, for its findings. It is `below_expected` when
    no run is left and the instruction's rows are fewer than expected x (1 - tolerance)."""
    lock(session, instruction_id)
    others = allowance(session, instruction_id, content=content, excluding=run_id)
    total, runs = others.rows_packaged + rows, others.runs_counted + 1
    if total > others.rows_allowed:
        raise VolumeExceeded(in_scope=total, allowed=others.rows_allowed)
    return {
        "rows_in_scope": rows,
        "instruction_rows": total,
        "rows_allowed": others.rows_allowed,
        "rows_minimum": others.rows_minimum,
        "runs_allowed": others.runs_allowed,
        "runs_counted": runs,
        "below_expected": runs >= others.runs_allowed and total < others.rows_minimum,
    }
