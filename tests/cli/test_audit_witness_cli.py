"""`ecluse audit verify` against the witness log, as a user runs it: a tail deleted from the
database fails it with the missing range named (text and JSON); `witness-start` starts one."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.cli.helpers import ADMIN, assert_refused, ecluse


def _sql(env: dict[str, str], statement: str) -> None:
    url = env.get("ECLUSE_DATABASE_URL") or f"sqlite:///{env['ECLUSE_HOME']}/db/ecluse.sqlite3"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(statement))
    engine.dispose()


def test_verify_names_a_tail_deleted_from_the_database(env: dict[str, str]) -> None:
    assert ecluse("init", *ADMIN, env=env).returncode == 0
    assert ecluse("selfcheck", env=env).returncode == 0
    signed = ecluse("audit", "checkpoint", env=env)
    assert signed.returncode == 0 and "checkpoint at seq" in signed.stdout, signed.stderr
    head = int(signed.stdout.split("checkpoint at seq ")[1].split()[0])
    assert ecluse("audit", "verify", env=env).returncode == 0
    _sql(env, "DELETE FROM audit_checkpoints WHERE seq > 2")
    _sql(env, "DELETE FROM audit_events WHERE seq > 2")
    result = ecluse("audit", "verify", env=env)
    assert result.returncode == 5, result.stdout + result.stderr
    said = " ".join(result.stdout.split())
    assert f"events 3\u2013{head} and 1 signed checkpoint (at seq {head})" in said
    assert "witnessed but missing from the database" in said
    report = json.loads(ecluse("audit", "verify", "--json", env=env).stdout)
    assert report["ok"] is False and report["chain_ok"] is True
    assert report["witnesses"][0]["missing_events"] == [3, head]
    assert "refusing to write" in report["refused"]


def test_a_missing_witness_is_refused_until_started_again(
    env: dict[str, str], tmp_path: Path
) -> None:
    assert ecluse("init", *ADMIN, env=env).returncode == 0
    witness = Path(env["ECLUSE_HOME"]) / "witness" / "audit-witness.jsonl"
    assert witness.stat().st_size > 0
    witness.rename(tmp_path / "kept-aside.jsonl")
    assert_refused(ecluse("audit", "verify", env=env), "witness-start")
    started = ecluse("audit", "witness-start", env=env)
    assert started.returncode == 0 and " checkpoints published" in started.stdout
    assert ecluse("audit", "verify", env=env).returncode == 0
    old = ecluse("audit", "verify", "--witness", str(tmp_path / "kept-aside.jsonl"), env=env)
    assert old.returncode == 0, old.stdout  # the copy kept aside still agrees
