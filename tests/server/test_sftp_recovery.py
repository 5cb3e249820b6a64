"""`ecluse serve` killed (kill -9) while it extracts an upload sent with OpenSSH's `sftp`:
restarted, it recognises the run at once (its process is gone), removes what it half wrote,
records it as abandoned and extracts the upload again from its committed quarantine; the
operator sees both runs in the inbox. Nothing of it is ever in clear on disk."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import polars as pl
from sqlalchemy import select

from ecluse.db.models import AuditEvent, Blob, Extraction, Package
from ecluse.identity.ssh_keys import add_ssh_key
from ecluse.instance.platform import Platform
from tests.age_tools import Identity, ssh_identity
from tests.packages.conftest import Migration, agreement, export, identity, migration, parties
from tests.recovery_tools import (
    PATIENTS,
    files_in_clear,
    kill,
    plaintext_markers,
    running_runs,
    synthetic,
    temporaries,
    wait_for,
)
from tests.server.harness import running, sftp

__all__ = ["agreement", "export", "identity", "migration", "parties", "synthetic"]


def _packaged(platform: Platform) -> bool:
    with platform.db.transaction() as s:
        return s.execute(select(Package)).first() is not None


def test_a_killed_server_extracts_the_upload_again_from_its_quarantine(
    migration: Migration,
    identity: Identity,
    tmp_path: Path,
    synthetic: tuple[Path, pl.DataFrame],
) -> None:
    platform = migration.platform
    source, rows = synthetic
    iid = migration.instruct(expected_rows=PATIENTS)
    olga = migration.parties["olga"]
    key = ssh_identity(tmp_path, name="id_olga")
    with platform.db.transaction() as s:
        add_ssh_key(s, olga.account_id, key.recipient, label="laptop", second_factor=True)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    put = f"put {source} /inbox/{iid}/export.csv\n"

    with running(platform.settings, tmp_path, TMPDIR=str(scratch)) as server:
        upload = threading.Thread(
            target=sftp,
            args=(server, olga.email, put),
            kwargs={"key": key.path, "directory": tmp_path},
        )
        upload.start()
        wait_for(
            "the upload's extraction under way",
            lambda: bool(running_runs(platform)) and len(temporaries(platform)) == 2,
        )
        os.kill(server.pid, signal.SIGSTOP)  # frozen where it was (maybe holding the
        assert len(temporaries(platform)) == 2  # database), then killed: package, digests
        kill(server.pid)
        upload.join(60)
    assert [r.state for r in running_runs(platform)] == ["running"]
    [cut] = _runs(platform)
    assert cut.quarantine_id is not None  # the upload was committed to the quarantine

    with running(platform.settings, tmp_path, TMPDIR=str(scratch)) as server:
        try:
            wait_for("the upload extracted again", lambda: _packaged(platform), seconds=30)
        except AssertionError:
            states = [(r.state, r.error) for r in _runs(platform)]
            raise AssertionError(f"{states}\n{server.output.read_text()[-2000:]}") from None
        listing = sftp(
            server,
            olga.email,
            f"get /inbox/{iid}/{cut.id}.json {tmp_path}/cut.json\n",
            key=key.path,
            directory=tmp_path,
        )
        assert listing.returncode == 0, listing.stderr
    seen = json.loads((tmp_path / "cut.json").read_text())
    assert seen["state"] == "abandoned" and "extracted again" in seen["error"]

    old, new = _runs(platform)
    assert old.id == cut.id and old.state == "abandoned"
    assert new.state == "packaged" and new.quarantine_id == cut.quarantine_id
    assert new.id in (old.error or "")
    assert temporaries(platform) == []
    with platform.db.transaction() as s:
        event = s.execute(
            select(AuditEvent).where(AuditEvent.action == "packages:extraction:abandoned")
        ).scalar_one()
        assert '"process gone"' in event.details and '"files_removed":2' in event.details
        kinds = sorted(s.execute(select(Blob.kind).where(Blob.state == "stored")).scalars())
    assert kinds == ["package", "quarantine", "row-digests"]  # one of each, no more
    assert files_in_clear([platform.settings.home, scratch], plaintext_markers(rows)) == []


def _runs(platform: Platform) -> list[Extraction]:
    with platform.db.transaction() as s:
        return list(s.execute(select(Extraction).order_by(Extraction.started_at)).scalars())
