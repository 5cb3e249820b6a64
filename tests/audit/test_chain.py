"""Tampering with the stored chain is found, and the first broken sequence number named."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from ecluse.audit import Action
from ecluse.audit.log import AuditLog
from ecluse.audit.records import verify_database
from ecluse.crypto.local import LocalKeyManager
from ecluse.db.models import AuditCheckpoint, AuditEvent
from ecluse.errors import AuditWriteError
from ecluse.instance.platform import Platform
from tests.audit.helpers import append, verify


@pytest.fixture
def chain(platform: Platform) -> Platform:
    """A log of 2 init events + 300, with a checkpoint every 50 events."""
    platform.audit = AuditLog(signer=platform.keys.signer(), checkpoint_every=50)
    append(platform, 300, batch=25)
    return platform


def test_untouched_chain_verifies(chain: Platform) -> None:
    for report in (verify(chain), verify_database(chain.db.engine, workers=3)):
        assert report.ok and report.events == 302 and report.first_seq == 1
        assert report.last_seq == 302 and report.checkpoints >= 7


Tamper = Callable[[Session], None]


def _set(seq: int, **values: object) -> Tamper:
    return lambda s: s.execute(update(AuditEvent).where(AuditEvent.seq == seq).values(**values))


def _delete(lo: int, hi: int) -> Tamper:
    return lambda s: s.execute(delete(AuditEvent).where(AuditEvent.seq.between(lo, hi)))


def _forge_checkpoint(s: Session) -> None:
    s.execute(
        update(AuditCheckpoint).where(AuditCheckpoint.seq == 102).values(signature=b"\x00" * 64)
    )


ATTACKS: list[tuple[str, Tamper, int]] = [
    ("details changed", _set(77, details='{"i":9999}'), 77),
    ("actor changed", _set(150, actor="someone:else"), 150),
    ("timestamp changed", _set(3, ts="2020-01-01T00:00:00.000000Z"), 3),
    ("action changed", _set(200, action="store:blob:put"), 200),
    ("hash recomputed without the chain", _set(120, details='{"i":1}', hash="a" * 64), 120),
    ("one event deleted", _delete(90, 90), 90),
    ("a range deleted", _delete(10, 40), 10),
    ("prefix deleted without purge", _delete(1, 152), 152),
    ("signed tail deleted", _delete(260, 302), 260),
    ("checkpoint signature forged", _forge_checkpoint, 102),
]


@pytest.mark.parametrize(("name", "tamper", "broken"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_tampering_is_detected(chain: Platform, name: str, tamper: Tamper, broken: int) -> None:
    with chain.db.transaction() as s:
        tamper(s)
    report = verify(chain)
    assert not report.ok, name
    assert report.broken_seq == broken, report.reason


BOUNDARY_ATTACKS: list[tuple[str, Tamper, int]] = [
    ("last event of a range deleted", _delete(101, 101), 101),
    ("first event of a range altered", _set(102, details='{"i":7}'), 102),
    ("range start deleted", _delete(102, 110), 102),
    ("link across ranges forged", _set(203, prev_hash="c" * 64), 203),
    ("signed tail deleted", _delete(290, 302), 290),
]


@pytest.mark.parametrize(
    ("name", "tamper", "broken"), BOUNDARY_ATTACKS, ids=[a[0] for a in BOUNDARY_ATTACKS]
)
def test_parallel_walk_finds_the_same_break(
    chain: Platform, name: str, tamper: Tamper, broken: int
) -> None:
    """Three worker processes walk 1-101, 102-202, 203-302; the parent stitches them."""
    with chain.db.transaction() as s:
        tamper(s)
    parallel = verify_database(chain.db.engine, workers=3)
    assert (parallel.ok, parallel.broken_seq) == (False, broken), parallel.reason
    assert verify(chain).broken_seq == broken


def test_checkpoint_by_another_key_is_refused(chain: Platform, tmp_path: Path) -> None:
    intruder = LocalKeyManager.create(path=tmp_path / "k.json", passphrase=None)
    forged = AuditLog(signer=intruder.signer(), checkpoint_every=1)
    with chain.db.transaction() as s:
        s.execute(update(AuditEvent).where(AuditEvent.seq == 302).values(details='{"i":0}'))
        forged.append(s, actor="intruder:x", action=Action.BLOB_READ)
    report = verify(chain)
    assert not report.ok and report.broken_seq in {302, 303}


def test_emptied_log_refuses_new_writes(chain: Platform) -> None:
    with chain.db.transaction() as s:
        s.execute(delete(AuditEvent))
    with pytest.raises(AuditWriteError, match="tampered"):
        append(chain, 1)
    assert not verify(chain).ok


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_any_single_field_alteration_names_its_event(chain: Platform, data: st.DataObject) -> None:
    with chain.db.transaction() as s:
        top = s.execute(select(func.max(AuditEvent.seq))).scalar() or 0
        seq = data.draw(st.integers(1, top))
        field = data.draw(st.sampled_from(["actor", "details", "refs", "ts", "prev_hash"]))
        original = s.execute(
            select(getattr(AuditEvent, field)).where(AuditEvent.seq == seq)
        ).scalar()
        forged = {
            "actor": "x:y",
            "details": '{"z":1}',
            "refs": '{"blob":"other"}',
            "ts": "2001-01-01T00:00:00.000000Z",
            "prev_hash": "f" * 64,
        }[field]
        s.execute(update(AuditEvent).where(AuditEvent.seq == seq).values({field: forged}))
    try:
        report = verify(chain)
        assert not report.ok and report.broken_seq == seq
    finally:
        with chain.db.transaction() as s:
            s.execute(update(AuditEvent).where(AuditEvent.seq == seq).values({field: original}))
    assert verify(chain).ok
