"""A trail nobody can cut: the newest events deleted with their checkpoints, straight in the
database, are named from the witness log; a rewrite too; the witness itself resists edits."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select, text

from ecluse.audit import Action
from ecluse.audit.log import AuditLog
from ecluse.audit.records import check_witnesses, verify_database
from ecluse.audit.witness import FILE_NAME, WitnessLog
from ecluse.audit.witnessing import WitnessFinding
from ecluse.db.models import AuditCheckpoint, AuditEvent
from ecluse.errors import AuditWriteError, ConfigurationError, IntegrityError
from ecluse.instance.platform import Platform
from tests.audit.helpers import append


@pytest.fixture
def chain(platform: Platform) -> Platform:
    """2 init events + 300, a checkpoint every 50 events, each one witnessed."""
    platform.audit = AuditLog(
        signer=platform.keys.signer(), checkpoint_every=50, witness=platform.witness
    )
    append(platform, 300, batch=25)
    return platform


def _witnessed(platform: Platform) -> list[int]:
    return [c.seq for c in WitnessLog.open(platform.settings.witness_dir).checkpoints()]


def _db_checkpoints(platform: Platform) -> list[int]:
    with platform.db.transaction() as s:
        return list(s.execute(select(AuditCheckpoint.seq).order_by(AuditCheckpoint.seq)).scalars())


def _cut(platform: Platform, after: int) -> None:
    """What an intruder with the database's credentials does: plain SQL, no Écluse code."""
    with platform.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_checkpoints WHERE seq > :n"), {"n": after})
        conn.execute(text("DELETE FROM audit_events WHERE seq > :n"), {"n": after})


def _finding(platform: Platform, *captures: Path) -> WitnessFinding:
    findings = check_witnesses(
        platform.db.engine, witness_dir=platform.settings.witness_dir, captures=captures
    )
    return findings[0]


def test_every_checkpoint_is_witnessed_in_order(chain: Platform) -> None:
    assert _witnessed(chain) == _db_checkpoints(chain) and len(_witnessed(chain)) >= 7
    finding = _finding(chain)
    assert finding.ok and finding.problems == ()
    path = chain.settings.witness_dir / FILE_NAME
    assert path.stat().st_mode & 0o777 == 0o600
    assert chain.settings.witness_dir.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("keep", [2, 100, 200, 280])
def test_a_cut_tail_is_named_with_its_range(chain: Platform, keep: int) -> None:
    witnessed = _witnessed(chain)
    _cut(chain, keep)
    assert verify_database(chain.db.engine).ok  # the database alone cannot tell
    finding = _finding(chain)
    gone = [s for s in witnessed if s > keep]
    assert not finding.ok and finding.missing_events == (keep + 1, witnessed[-1])
    assert finding.missing_checkpoints == tuple(gone)
    plural = "s" if len(gone) > 1 else ""
    named = f"events {keep + 1}\u2013{witnessed[-1]} and {len(gone)} signed checkpoint{plural} "
    assert finding.problems[0].startswith(named)
    assert "witnessed but missing from the database" in finding.problems[0]


def test_nothing_more_is_written_on_top_of_a_cut_chain(chain: Platform) -> None:
    _cut(chain, 200)
    with pytest.raises(AuditWriteError, match="which its witness saw"):
        append(chain, 1)
    reopened = Platform.open(chain.settings)  # a restart reads the witness again
    try:
        with pytest.raises(AuditWriteError, match="which its witness saw"):
            append(reopened, 1)
    finally:
        reopened.close()


def test_a_tail_replaced_by_another_history_is_a_rewrite(chain: Platform) -> None:
    """The tail cut, then rewritten by a writer that skips the witness: every checkpoint is
    genuinely signed and the database verifies, but the witness saw other hashes."""
    witnessed = _witnessed(chain)
    _cut(chain, 200)
    chain.audit = AuditLog(signer=chain.keys.signer(), checkpoint_every=50)  # no witness
    append(chain, 102, actor="test:forger", batch=25)
    assert verify_database(chain.db.engine).ok
    finding = _finding(chain)
    assert not finding.ok and finding.missing_events is None
    rewritten = [s for s in witnessed if s > 200]
    assert set(rewritten) >= set(finding.rewritten) and finding.rewritten
    assert any("the database was rewritten" in p for p in finding.problems)


def test_a_checkpoint_that_rolls_back_is_never_witnessed(chain: Platform) -> None:
    before = _witnessed(chain)
    chain.audit = AuditLog(signer=chain.keys.signer(), checkpoint_every=1, witness=chain.witness)
    with pytest.raises(RuntimeError), chain.db.transaction() as s:
        chain.audit.append(s, actor="test:operator", action=Action.BLOB_READ)
        raise RuntimeError("the act failed after its event was written")
    assert _witnessed(chain) == before
    append(chain, 1)  # the same seq, another hash: witnessed without conflict
    assert _witnessed(chain) == [*before, before[-1] + 1] and _finding(chain).ok


def test_an_unwritable_witness_refuses_the_act(chain: Platform) -> None:
    chain.audit = AuditLog(signer=chain.keys.signer(), checkpoint_every=1, witness=chain.witness)
    path = chain.settings.witness_dir / FILE_NAME
    saved = path.read_bytes()
    path.unlink()
    path.mkdir()  # root ignores modes: a directory in its place cannot be appended to
    with chain.db.transaction() as s:
        count = s.execute(select(func.count()).select_from(AuditEvent)).scalar()
    with pytest.raises(AuditWriteError, match="cannot be written"):
        append(chain, 1)
    with chain.db.transaction() as s:
        assert s.execute(select(func.count()).select_from(AuditEvent)).scalar() == count
    path.rmdir()
    path.write_bytes(saved)
    os.chmod(path, 0o600)
    append(chain, 1)
    assert _finding(chain).ok


def test_a_witness_truncated_behind_the_writer_stops_the_next_checkpoint(chain: Platform) -> None:
    chain.audit = AuditLog(signer=chain.keys.signer(), checkpoint_every=1, witness=chain.witness)
    path = chain.settings.witness_dir / FILE_NAME
    os.truncate(path, 0)
    append(chain, 1)  # committed; its publication fails and is logged as critical
    assert chain.audit.failing == "IntegrityError"
    with pytest.raises(AuditWriteError, match="cannot be written"):
        append(chain, 1)


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def _drop_last_two(path: Path) -> None:
    path.write_bytes(b"".join(_lines(path)[:-2]))


def _cut_mid_line(path: Path) -> None:
    os.truncate(path, path.stat().st_size - 20)


def _edit_middle(path: Path) -> None:
    lines = _lines(path)
    lines[2] = lines[2].replace(b'"head_hash":"', b'"head_hash":"0', 1)
    path.write_bytes(b"".join(lines))


def _edit_last_hash(path: Path) -> None:
    lines = _lines(path)
    start = lines[-1].index(b'"head_hash":"') + 13
    flipped = b"0" if lines[-1][start : start + 1] != b"0" else b"1"
    lines[-1] = lines[-1][:start] + flipped + lines[-1][start + 1 :]
    path.write_bytes(b"".join(lines))


def _remove_middle(path: Path) -> None:
    lines = _lines(path)
    path.write_bytes(b"".join(lines[:3] + lines[4:]))


WITNESS_ATTACKS = [
    ("truncated at a line", _drop_last_two, "the witness was truncated"),
    ("cut in the middle of a line", _cut_mid_line, "cut short"),
    ("a middle line edited", _edit_middle, "does not follow line"),
    ("the last line's hash edited", _edit_last_hash, "no valid platform signature"),
    ("a middle line removed", _remove_middle, "does not follow line"),
]


@pytest.mark.parametrize(("name", "tamper", "found"), WITNESS_ATTACKS)
def test_tampering_with_the_witness_is_found(
    chain: Platform, name: str, tamper: object, found: str
) -> None:
    tamper(chain.settings.witness_dir / FILE_NAME)  # type: ignore[operator]
    finding = _finding(chain)
    assert not finding.ok and any(found in p for p in finding.problems), finding.problems


@pytest.mark.parametrize(
    "tamper", [_cut_mid_line, _edit_middle, _remove_middle], ids=["cut", "edit", "remove"]
)
def test_a_broken_witness_refuses_to_start(chain: Platform, tamper: object) -> None:
    tamper(chain.settings.witness_dir / FILE_NAME)  # type: ignore[operator]
    with pytest.raises(IntegrityError, match="witness"):
        Platform.open(chain.settings)


def test_a_missing_witness_refuses_to_start(chain: Platform) -> None:
    (chain.settings.witness_dir / FILE_NAME).unlink()
    with pytest.raises(ConfigurationError, match="witness-start"):
        Platform.open(chain.settings)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(keep=st.integers(min_value=0, max_value=305))
def test_any_cut_point_is_found(chain: Platform, keep: int) -> None:
    witnessed = _witnessed(chain)
    with chain.db.engine.begin() as conn:
        events = conn.execute(select(AuditEvent.__table__).where(AuditEvent.seq > keep)).all()
        cps = conn.execute(
            select(AuditCheckpoint.__table__).where(AuditCheckpoint.seq > keep)
        ).all()
    _cut(chain, keep)
    try:
        finding = _finding(chain)
        last = min(keep, 302)
        if last >= witnessed[-1]:
            assert finding.ok
        else:
            assert not finding.ok and finding.missing_events == (last + 1, witnessed[-1])
    finally:
        with chain.db.engine.begin() as conn:
            if events:
                conn.execute(insert(AuditEvent.__table__), [r._asdict() for r in events])
            if cps:
                conn.execute(insert(AuditCheckpoint.__table__), [r._asdict() for r in cps])
