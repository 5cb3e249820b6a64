"""The webhook and syslog sinks witness the audit trail: real receivers get every signed
checkpoint (and nothing else of it), and what they captured names a tail cut from the database.
The chain probe compares the database with the witness log and alerts."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import select, text

from ecluse.audit.log import AuditLog
from ecluse.audit.records import check_witnesses
from ecluse.config import AlertSettings
from ecluse.db.models import AuditCheckpoint
from ecluse.instance.platform import Platform
from ecluse.services.watch.dispatch import dispatch
from ecluse.services.watch.probes import check_chain
from ecluse.supervision.sinks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    SyslogSink,
    WebhookSink,
)
from tests.audit.helpers import append
from tests.supervision.conftest import (
    Receiver,
    SyslogListener,
    as_json,
    syslog_listener,
    webhook_receiver,
)

__all__ = ["syslog_listener", "webhook_receiver"]
SECRET = "a-webhook-secret-of-some-length"
CHECKPOINT_KEYS = {"type", "seq", "head_hash", "ts", "kid", "signature"}


def _grow(platform: Platform) -> list[int]:
    platform.audit = AuditLog(
        signer=platform.keys.signer(), checkpoint_every=20, witness=platform.witness
    )
    append(platform, 100, batch=10)
    with platform.db.transaction() as s:
        return list(s.execute(select(AuditCheckpoint.seq).order_by(AuditCheckpoint.seq)).scalars())


def _cut(platform: Platform, after: int) -> None:
    with platform.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_checkpoints WHERE seq > :n"), {"n": after})
        conn.execute(text("DELETE FROM audit_events WHERE seq > :n"), {"n": after})


def _from_capture(platform: Platform, capture: Path) -> tuple[int, int] | None:
    [finding] = check_witnesses(platform.db.engine, witness_dir=None, captures=[capture])
    assert not finding.ok or finding.missing_events is None
    return finding.missing_events


def test_the_webhook_receives_every_checkpoint_signed(
    platform: Platform, webhook_receiver: Receiver, tmp_path: Path
) -> None:
    seqs = _grow(platform)
    sink = WebhookSink(
        settings=AlertSettings(webhook_url=webhook_receiver.url, webhook_secret=SecretStr(SECRET))
    )
    assert dispatch(platform, [sink]).checkpoints == len(seqs)
    assert dispatch(platform, [sink]).checkpoints == 0  # the cursor moved on
    bodies = []
    for headers, body in webhook_receiver.requests:
        stamp = headers[TIMESTAMP_HEADER]
        mac = hmac.new(SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        assert hmac.compare_digest(headers[SIGNATURE_HEADER], "sha256=" + mac.hexdigest())
        assert set(as_json(body)) == CHECKPOINT_KEYS  # the checkpoint, nothing else
        bodies.append(body)
    assert [as_json(b)["seq"] for b in bodies] == seqs
    capture = tmp_path / "webhook.jsonl"
    capture.write_bytes(b"\n".join(bodies) + b"\n")
    assert _from_capture(platform, capture) is None  # agrees
    _cut(platform, 50)
    assert _from_capture(platform, capture) == (51, seqs[-1])


def test_syslog_receives_every_checkpoint(
    platform: Platform, syslog_listener: SyslogListener, tmp_path: Path
) -> None:
    seqs = _grow(platform)
    sink = SyslogSink(settings=AlertSettings(syslog=syslog_listener.address))
    assert dispatch(platform, [sink]).checkpoints == len(seqs)
    deadline = time.monotonic() + 5
    while len(syslog_listener.frames) < len(seqs) and time.monotonic() < deadline:
        time.sleep(0.01)
    # one message a connection (TCP) or datagram (UDP): they may arrive out of order
    frames = sorted(syslog_listener.frames, key=lambda f: int(re.findall(rb'seq="(\d+)"', f)[0]))
    assert len(frames) == len(seqs)
    for frame, seq in zip(frames, seqs, strict=True):
        assert frame.startswith(b"<37>1 ")  # security facility (4) * 8 + notice (5)
        assert f'[ecluse-checkpoint@32473 seq="{seq}" head_hash="'.encode() in frame
    capture = tmp_path / "syslog.log"
    capture.write_bytes(b"".join(f + b"\n" for f in frames))
    _cut(platform, 30)
    assert _from_capture(platform, capture) == (31, seqs[-1])


def test_the_chain_probe_compares_with_the_witness_and_alerts(
    platform: Platform, webhook_receiver: Receiver
) -> None:
    seqs = _grow(platform)
    settings = platform.settings.model_copy(
        update={
            "alerts": AlertSettings(
                webhook_url=webhook_receiver.url, webhook_secret=SecretStr(SECRET)
            )
        }
    )
    probing = Platform.assemble(
        settings=settings, db=platform.db, keys=platform.keys, witness=platform.witness
    )
    assert check_chain(probing)
    _cut(platform, 40)
    assert not check_chain(probing)
    # The database refuses to record on a cut chain: the alert goes straight to the sinks.
    [alert] = [as_json(b) for _, b in webhook_receiver.requests]
    assert alert["kind"] == "platform:audit-chain" and alert["severity"] == "critical"
    assert f"events 41\u2013{seqs[-1]}" in json.dumps(alert["details"], ensure_ascii=False)
    assert abs(datetime.fromisoformat(alert["at"]) - datetime.now(UTC)).total_seconds() < 60
