"""`ecluse demo`: the incident replayed; what each instruction allows and nothing else leaves,
the recipient opens the packages with `age`, everything is shredded, reports are signed off."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.cli.helpers import assert_refused, ecluse


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ECLUSE_")}
    env.update({"ECLUSE_HOME": str(tmp_path / "home"), "TMPDIR": str(tmp_path), "COLUMNS": "200"})
    return env


def test_demo_json(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    done = ecluse(
        "demo",
        "--json",
        "--patients",
        "6000",
        "--labs",
        "4",
        "-o",
        str(reports),
        env=_env(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    a, b = summary["instructions"]["A"], summary["instructions"]["B"]
    assert a["rows_read"] == b["rows_read"] == 6000
    assert 0 < a["rows_in_scope"] < a["rows_read"] and a["rows_left_out"] > 0
    assert a["rows_packaged"] == a["rows_in_scope"] + a["canary_rows"] == a["recipient_rows"]
    assert {"comment_p", "comment_d"} <= set(a["columns_sent"])
    assert not {"comment_p", "comment_d"} & set(b["columns_sent"])
    for result in (a, b):
        assert result["sha256_matches"]
        assert result["columns_dropped"]["MDP_PORTAIL"] == "credential: never transferred"
        assert result["columns_dropped"]["LOGIN_PORTAIL"] == "credential: never transferred"
    assert a["screening"]["comment_p"]["health_terms"] > 0
    assert summary["objects_left"] == 0 and summary["audit_chain_ok"]
    assert len(summary["reports"]) == 2 and all(Path(p).exists() for p in summary["reports"])
    assert not (tmp_path / "home").exists()  # the demo ran in a throwaway home
    assert not list(tmp_path.glob("ecluse-demo-*"))  # and removed it


def test_demo_keep_then_refuses_a_used_home(tmp_path: Path) -> None:
    env = _env(tmp_path)
    args = ("demo", "--keep", "--patients", "3000", "--labs", "3", "-o", str(tmp_path / "r"))
    done = ecluse(*args, env=env)
    assert done.returncode == 0, done.stderr
    assert "What left" in done.stdout and "objects left in the store: 0" in done.stdout
    assert ecluse("audit", "verify", env=env).returncode == 0
    assert_refused(ecluse(*args, env=env), "already holds an Écluse instance")
