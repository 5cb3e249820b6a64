"""`ecluse report sign-off` tells the truth about its output directory: one it cannot write
into is refused before anything is committed; a failure to write the files once the sign-off
is committed says that it is, and how to write them again."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from ecluse.db.models import AuditEvent, Instruction
from ecluse.identity import issue
from ecluse.instance.platform import Platform
from ecluse.services import delivery
from tests.age_tools import Identity
from tests.cli.helpers import ecluse
from tests.packages.conftest import (
    Migration,
    agreement,
    export,
    identity,
    migration,
    opened,
    parties,
)
from tests.totp_tools import fresh_code

__all__ = ["agreement", "export", "identity", "migration", "parties"]
COMMENT = "Checked scope, fields, receipt and deletion against our instruction."


def _migrated(migration: Migration, identity: Identity) -> str:
    """An instruction whose package was downloaded, decrypted, confirmed and shredded."""
    platform, rita = migration.platform, migration.parties["rita"]
    iid = migration.instruct(expected_rows=migration.export.frame.height)
    outcome = migration.run("olga", iid)
    got = opened(platform, rita, identity, outcome.package_id)
    delivery.confirm(platform, rita, outcome.package_id, rows=got.rows, sha256=got.sha256)
    return iid


def _code(migration: Migration) -> list[str]:
    """`--code` and a fresh code of dora's app: signing off is a step-up act."""
    return ["--code", fresh_code(migration.parties["totp"]["dora"])]


def _as_dora(migration: Migration, env: dict[str, str]) -> dict[str, str]:
    with migration.platform.db.transaction() as s:
        token = issue(s, account_id=migration.parties["dora"].account_id, name="cli", days=1)
    return {**env, "ECLUSE_TOKEN": token.token}


def _state(platform: Platform, iid: str) -> tuple[str, int]:
    """The instruction's state, and how many sign-offs the audit trail records."""
    with platform.db.transaction() as s:
        row = s.get(Instruction, iid)
        assert row is not None
        signed = s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "governance:migration:sign-off")
        )
        return row.state, int(signed or 0)


def _missing(tmp: Path) -> Path:
    return tmp / "no" / "such" / "directory"


def _a_file(tmp: Path) -> Path:
    path = tmp / "a-file"
    path.write_text("not a directory")
    return path


def _proc(tmp: Path) -> Path:
    return Path("/proc")  # nobody creates files there, root included


@pytest.mark.parametrize("unwritable", [_missing, _a_file, _proc])
def test_an_unwritable_directory_is_refused_before_anything_is_committed(
    migration: Migration,
    identity: Identity,
    env: dict[str, str],
    tmp_path: Path,
    unwritable: Callable[[Path], Path],
) -> None:
    iid = _migrated(migration, identity)
    dora = _as_dora(migration, env)
    before = _state(migration.platform, iid)
    refused = ecluse(
        "report", "sign-off", iid, "--comment", COMMENT, "-o", str(unwritable(tmp_path)),
        *_code(migration), env=dora,
    )  # fmt: skip
    assert refused.returncode == 2, refused.stderr  # a usage error
    said = " ".join(refused.stderr.split())
    assert "nothing was done" in said and "Traceback" not in said
    assert _state(migration.platform, iid) == before  # not closed, no sign-off recorded
    good = tmp_path / "reports"
    good.mkdir()
    done = ecluse(
        "report", "sign-off", iid, "--comment", COMMENT, "-o", str(good), *_code(migration),
        env=dora,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (good / f"migration-{iid}.signed.json").is_file()
    assert _state(migration.platform, iid) == ("closed", before[1] + 1)


def test_a_write_failing_after_the_commit_says_it_is_committed(
    migration: Migration, identity: Identity, env: dict[str, str], tmp_path: Path
) -> None:
    iid = _migrated(migration, identity)
    dora = _as_dora(migration, env)
    out = tmp_path / "reports"
    out.mkdir()
    blocker = out / f"migration-{iid}.json"
    blocker.mkdir()  # the directory is writable, the report's own file cannot be replaced
    failed = ecluse(
        "report", "sign-off", iid, "--comment", COMMENT, "-o", str(out), *_code(migration),
        env=dora,
    )  # fmt: skip
    said = " ".join(failed.stderr.split())
    assert failed.returncode != 0
    assert "is committed" in said and "nothing was committed" not in said
    assert f"ecluse report migration {iid} -o DIR" in said
    assert _state(migration.platform, iid)[0] == "closed"
    blocker.rmdir()
    again = ecluse("report", "migration", iid, "-o", str(out), env=dora)
    assert again.returncode == 0, again.stderr
    assert (out / f"migration-{iid}.signed.json").is_file()
    assert (out / f"migration-{iid}.html").is_file()
