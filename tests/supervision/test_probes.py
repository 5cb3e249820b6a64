"""Probes: a tampered audit chain, an unreachable key manager, a full store and an expiring
certificate each alert the platform's admins."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select, update

from ecluse.config import DetectorSettings
from ecluse.crypto._primitives import self_signed_tls
from ecluse.db.models import Alert, AuditEvent
from ecluse.instance.platform import Platform
from ecluse.services.watch.probes import probe
from ecluse.supervision.alerts import AlertKind
from tests.supervision.conftest import People, people

__all__ = ["people"]


def _kinds(platform: Platform) -> dict[str, dict[str, object]]:
    with platform.db.transaction() as s:
        return {a.kind: json.loads(a.details) for a in s.execute(select(Alert)).scalars()}


def _with(platform: Platform, **detect: object) -> Platform:
    settings = platform.settings.model_copy(
        update={"detect": DetectorSettings.model_validate(detect)}
    )
    return Platform.assemble(settings=settings, db=platform.db, keys=platform.keys)


def test_a_healthy_instance_raises_nothing(platform: Platform, people: People) -> None:
    done = probe(platform, now=datetime.now(UTC))
    assert done.chain_checked and done.problems == []
    assert probe(platform, now=datetime.now(UTC)).chain_checked is False  # not due again yet
    assert _kinds(platform) == {}


def test_a_tampered_audit_chain_is_found_and_alerted(platform: Platform, people: People) -> None:
    with platform.db.transaction() as s:
        seq = s.execute(select(AuditEvent.seq).order_by(AuditEvent.seq).limit(1)).scalar_one()
        s.execute(update(AuditEvent).where(AuditEvent.seq == seq).values(actor="account:nobody"))
    assert probe(platform, now=datetime.now(UTC)).problems == [AlertKind.AUDIT_CHAIN_BROKEN]
    assert _kinds(platform)[AlertKind.AUDIT_CHAIN_BROKEN.value]["broken_seq"] == seq


def test_an_unreachable_key_manager_is_alerted(platform: Platform, people: People) -> None:
    key_file = platform.settings.key_file
    saved = key_file.read_bytes()
    key_file.write_bytes(b"{}")  # the key manager can no longer read its keys
    try:
        found = probe(platform, now=datetime.now(UTC)).problems
    finally:
        key_file.write_bytes(saved)
    assert AlertKind.KEY_MANAGER_DOWN in found


def test_a_nearly_full_store_is_alerted(platform: Platform, people: People) -> None:
    busy = _with(platform, store_full_percent=0.001)
    assert probe(busy, now=datetime.now(UTC)).problems == [AlertKind.STORE_NEARLY_FULL]
    assert _kinds(platform)[AlertKind.STORE_NEARLY_FULL.value]["used_percent"] >= 0  # type: ignore[operator]


def test_an_expiring_certificate_is_alerted_a_fresh_one_is_not(
    platform: Platform, people: People
) -> None:
    server = platform.settings.server_dir
    server.mkdir(parents=True, exist_ok=True)
    for days, expected in ((200, []), (10, [AlertKind.TLS_EXPIRING])):
        cert, _ = self_signed_tls(hostnames=["localhost"], addresses=[], days=days)
        (server / "tls.crt").write_bytes(cert)
        assert probe(platform, now=datetime.now(UTC)).problems == expected
    assert _kinds(platform)[AlertKind.TLS_EXPIRING.value] == {"days_left": 9}
