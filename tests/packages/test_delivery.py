"""Delivery and receipt: only the addressee downloads; a matching receipt shreds, a wrong one
deletes nothing and alerts; deadlines and revocations shred; the worker enforces on time."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from ecluse.audit import Action
from ecluse.db.models import Alert, AuditEvent, Blob, Extraction, Package
from ecluse.errors import IntegrityError, PolicyViolation
from ecluse.instance.platform import Platform
from ecluse.packages.delivery import list_packages
from ecluse.packages.extract import Outcome
from ecluse.services import delivery
from ecluse.services.worker import sweep
from tests.age_tools import Identity, age_decrypt
from tests.packages.conftest import Migration, Opened, opened, stranger


def _package(migration: Migration, **changes: Any) -> Outcome:
    iid = migration.instruct(expected_rows=migration.export.in_scope().height, **changes)
    return migration.run("olga", iid)


def _opened(migration: Migration, identity: Identity, outcome: Outcome) -> Opened:
    return opened(migration.platform, migration.parties["rita"], identity, outcome.package_id)


def _states(platform: Platform, package_id: str) -> dict[str, str]:
    """State of the package, and of its package, quarantine and digests objects."""
    with platform.db.transaction() as s:
        p = s.get(Package, package_id)
        assert p is not None
        e = s.get(Extraction, p.extraction_id)
        assert e is not None and e.quarantine_id
        blobs = {
            k: s.get(Blob, i)
            for k, i in (
                ("blob", p.blob_id),
                ("quarantine", e.quarantine_id),
                ("digests", p.digests_id),
            )
        }
        return {"package": p.state, **{k: b.state for k, b in blobs.items() if b}}


def _alerts(platform: Platform) -> list[str]:
    with platform.db.transaction() as s:
        return list(s.execute(select(Alert.kind).order_by(Alert.created_at)).scalars())


def test_the_recipient_lists_downloads_and_opens_its_package(
    migration: Migration, identity: Identity
) -> None:
    platform, rita = migration.platform, migration.parties["rita"]
    outcome = _package(migration)
    with platform.db.transaction() as s:
        listed = [p.id for p in list_packages(s, rita)]
    assert listed == [outcome.package_id]
    ciphertext = b"".join(delivery.download(platform, rita, outcome.package_id))
    plain = age_decrypt(ciphertext, identity).stdout
    with platform.db.transaction() as s:
        package = s.get(Package, outcome.package_id)
        assert package is not None and hashlib.sha256(plain).hexdigest() == package.plaintext_sha256
    assert hashlib.sha256(ciphertext).hexdigest() == outcome.age_sha256
    with platform.db.transaction() as s:
        event = s.execute(
            select(AuditEvent).where(AuditEvent.action == Action.PACKAGE_DOWNLOAD.value)
        ).scalar_one()
        assert event.actor == rita.actor and str(len(ciphertext)) in event.details


def test_nobody_else_reaches_it(migration: Migration, identity: Identity) -> None:
    platform = migration.platform
    outcome = _package(migration)
    eve = stranger(platform)
    with platform.db.transaction() as s:
        assert list_packages(s, eve) == []
    with pytest.raises(PolicyViolation, match="no such package"):
        b"".join(delivery.download(platform, eve, outcome.package_id))
    with pytest.raises(PolicyViolation, match="no such package"):
        delivery.confirm(platform, eve, outcome.package_id, rows=1, sha256="0" * 64)
    assert _alerts(platform) == ["package:other-organisation"]  # the repeat is grouped
    with platform.db.transaction() as s:
        assert s.execute(select(Alert.occurrences)).scalar_one() == 2
    for who in ("olga", "dora"):  # operator and dpo: not recipients
        with pytest.raises(PolicyViolation, match="not permitted"):
            b"".join(delivery.download(platform, migration.parties[who], outcome.package_id))


@pytest.mark.parametrize("wrong", ["rows", "sha256"])
def test_a_wrong_receipt_deletes_nothing_and_alerts(
    migration: Migration, identity: Identity, wrong: str
) -> None:
    platform, rita = migration.platform, migration.parties["rita"]
    outcome = _package(migration)
    got = _opened(migration, identity, outcome)
    rows = got.rows - 1 if wrong == "rows" else got.rows
    digest = hashlib.sha256(b"other").hexdigest() if wrong == "sha256" else got.sha256
    with pytest.raises(IntegrityError, match="nothing was deleted"):
        delivery.confirm(platform, rita, outcome.package_id, rows=rows, sha256=digest)
    assert set(_states(platform, outcome.package_id).values()) == {"ready", "stored"}
    assert _alerts(platform) == ["package:receipt-mismatch"]


def test_a_matching_receipt_shreds_package_and_quarantine(
    migration: Migration, identity: Identity
) -> None:
    platform, rita = migration.platform, migration.parties["rita"]
    outcome = _package(migration)
    got = _opened(migration, identity, outcome)
    receipt = delivery.confirm(
        platform, rita, outcome.package_id, rows=got.rows, sha256=got.sha256.upper()
    )
    assert receipt.matched and receipt.shredded
    states = _states(platform, outcome.package_id)
    assert states == {
        "package": "shredded",
        "blob": "shredded",
        "quarantine": "shredded",
        "digests": "stored",
    }
    with pytest.raises(PolicyViolation, match="shredded"):
        b"".join(delivery.download(platform, rita, outcome.package_id))
    with pytest.raises(PolicyViolation, match="shredded"):
        delivery.confirm(platform, rita, outcome.package_id, rows=got.rows, sha256=got.sha256)
    files = [p.name for p in platform.settings.store_dir.rglob("*.blob")]
    with platform.db.transaction() as s:
        digests_id = s.get(Package, outcome.package_id).digests_id  # type: ignore[union-attr]
    assert files == [f"{digests_id}.blob"]  # only the keyed digests remain, for tracing


def test_retention_after_receipt_is_enforced_by_the_worker(
    migration: Migration, identity: Identity
) -> None:
    platform, rita = migration.platform, migration.parties["rita"]
    outcome = _package(migration, retention_days_after_receipt=2)
    got = _opened(migration, identity, outcome)
    receipt = delivery.confirm(platform, rita, outcome.package_id, rows=got.rows, sha256=got.sha256)
    assert receipt.matched and not receipt.shredded
    assert sweep(platform, now=datetime.now(UTC) + timedelta(days=1)).retentions_ended == 0
    assert _states(platform, outcome.package_id)["package"] == "confirmed"
    assert (
        sweep(platform, now=datetime.now(UTC) + timedelta(days=2, minutes=1)).retentions_ended == 1
    )
    assert _states(platform, outcome.package_id)["blob"] == "shredded"
    assert _alerts(platform) == []


def test_a_missed_deadline_shreds_and_alerts(migration: Migration, identity: Identity) -> None:
    platform = migration.platform
    outcome = _package(migration, deadline_days=5)
    assert sweep(platform, now=datetime.now(UTC) + timedelta(days=4)).deadlines_missed == 0
    result = sweep(platform, now=datetime.now(UTC) + timedelta(days=5, minutes=1))
    assert result.deadlines_missed == 1
    states = _states(platform, outcome.package_id)
    assert states["package"] == states["blob"] == states["quarantine"] == "shredded"
    with platform.db.transaction() as s:
        assert s.get(Package, outcome.package_id).shred_reason == "deadline"  # type: ignore[union-attr]
    assert _alerts(platform) == ["package:deadline-missed"]


def test_revocation_shreds_what_exists(migration: Migration, identity: Identity) -> None:
    platform = migration.platform
    both = 2 * migration.export.in_scope().height  # two runs instructed, sharing the volume
    iid = migration.instruct(expected_rows=both, runs_allowed=2)
    first, second = migration.run("olga", iid), migration.run("olga", iid)
    with pytest.raises(PolicyViolation, match="not permitted"):
        delivery.revoke_instruction(
            platform, migration.parties["olga"], iid, reason="not yours to revoke"
        )
    count = delivery.revoke_instruction(
        platform, migration.parties["dora"], iid, reason="the laboratory cancelled the migration"
    )
    assert count == 2
    for outcome in (first, second):
        states = _states(platform, outcome.package_id)
        assert states["package"] == states["blob"] == states["quarantine"] == "shredded"
