"""`ecluse demo`: the incident replayed; what each instruction allows and nothing else leaves,
the recipient opens the packages with `age`, everything is shredded, reports are signed off."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from ecluse.config import Settings
from ecluse.db.models import Base
from ecluse.db.session import make_engine
from tests.age_tools import age_decrypt, x25519_identity
from tests.cli.helpers import assert_refused, ecluse, last, step_up, with_second_factor


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
    # the kept instance leaves an instruction to act on, and says what each person can do
    assert "Ready to act on" in done.stdout and "ecluse extract --instruction" in done.stdout
    assert ecluse("audit", "verify", env=env).returncode == 0
    assert_refused(ecluse(*args, env=env), "already holds an Écluse instance")


# -- every state change the demo makes has its audit event ----------------------------------------
# The id an audit event must name for each row (default: the row's own primary key); a table
# added later is checked by its primary key, so a table written without an audited act fails.
NAMED_BY = {
    "account_roles": "account_id",  # the account's creation
    "agreement_signatures": "agreement_id",  # the signature's event
    "credentials": "account_id",  # password set, TOTP enabled
    "recovery_codes": "account_id",  # TOTP enabled
    "personal_keys": "kid",  # the enrolment names the signing key
    "migration_signoffs": "instruction_id",
    "signing_keys": "kid",  # the instance's initialisation
    "alert_deliveries": "alert_id",  # the outbox of an alert, named by its raising
}
NOT_OBJECTS = {
    "audit_events": "the trail itself",
    "audit_checkpoints": "its signatures",
    "supervision_cursors": "where the detectors stopped reading the trail (bookkeeping)",
    "detector_memory": "what the detectors remember between events (bookkeeping)",
}
# Rows in a state the demo moved them to, and the action that must name each one.
CHANGES = [
    ("SELECT agreement_id FROM agreement_signatures", "governance:agreement:sign"),
    ("SELECT id FROM instructions WHERE signed_at IS NOT NULL", "governance:instruction:sign"),
    ("SELECT instruction_id FROM migration_signoffs", "governance:migration:sign-off"),
    ("SELECT id FROM packages WHERE receipt_at IS NOT NULL", "packages:receipt:confirm"),
    ("SELECT id FROM packages WHERE shredded_at IS NOT NULL", "packages:package:shred"),
    ("SELECT id FROM accounts WHERE enrolled_at IS NOT NULL", "identity:account:enrol"),
    ("SELECT account_id FROM credentials WHERE password_hash IS NOT NULL", "identity:password:set"),
    (
        "SELECT account_id FROM credentials WHERE totp_enabled_at IS NOT NULL",
        "identity:totp:enable",
    ),
    ("SELECT id FROM login_sessions", "identity:session:open"),
    ("SELECT id FROM recipient_keys", "packages:recipient-key:add"),
    ("SELECT id FROM extractions", "packages:extraction:done"),
]


def _named(engine: Any) -> tuple[set[str], dict[str, set[str]]]:
    """Every id any audit event names, and the ids named by each action."""
    every: set[str] = set()
    by_action: dict[str, set[str]] = {}
    with engine.connect() as c:
        for action, refs in c.execute(text("SELECT action, refs FROM audit_events")):
            values = {str(v) for v in json.loads(refs).values()}
            every |= values
            by_action.setdefault(action, set()).update(values)
    return every, by_action


def _blob_owner(c: Any) -> dict[str, str]:
    """A package's ciphertext and digests are named through their package."""
    rows = c.execute(text("SELECT id, blob_id, digests_id FROM packages")).all()
    return {blob: package for package, *blobs in rows for blob in blobs}


def test_every_row_the_demo_makes_is_named_by_an_audit_event(settings: Settings) -> None:
    from ecluse.demo import run_demo  # noqa: PLC0415 - heavy

    summary = run_demo(
        settings, patients=3000, labs=3, seed=2, output=settings.home / "r", say=lambda _: None,
        guests=True,
    )  # fmt: skip
    assert summary["audit_chain_ok"] and summary["objects_left"] == 0
    engine = make_engine(settings.resolved_database_url)
    with engine.connect() as c:  # left to act on: signed, valid today, no key of the demo's
        ready = summary["ready"]
        state, content = c.execute(
            text("SELECT state, content FROM instructions WHERE id = :i"),
            {"i": ready["instruction"]},
        ).one()
        valid = json.loads(content)
        assert (
            state == "signed" and valid["valid_from"] <= str(date.today()) <= valid["valid_until"]
        )
        live = text("SELECT count(*) FROM recipient_keys WHERE revoked_at IS NULL")
        assert c.execute(live).scalar() == 0
    try:
        every, by_action = _named(engine)
        unnamed: dict[str, list[str]] = {}
        with engine.connect() as c:
            owners = _blob_owner(c)
            for table in Base.metadata.sorted_tables:
                if table.name in NOT_OBJECTS:
                    continue
                column = NAMED_BY.get(table.name) or table.primary_key.columns.values()[0].name
                ids = {str(v) for (v,) in c.execute(select(table.c[column]))}
                missing = [i for i in ids if i not in every and owners.get(i) not in every]
                if missing:
                    unnamed[table.name] = missing
            assert not unnamed, f"rows without an audit event naming them: {unnamed}"
            for query, action in CHANGES:
                ids = {str(v) for (v,) in c.execute(text(query))}
                assert ids, f"the demo made no {action}"
                assert ids <= by_action.get(action, set()), (action, ids - by_action[action])
            counts = dict(
                c.execute(text("SELECT action, count(*) FROM audit_events GROUP BY action")).all()
            )
    finally:
        engine.dispose()
    assert counts["identity:organisation:create"] == 3  # the platform's own: at init
    assert counts["governance:agreement:sign"] == 2
    assert counts["identity:account:create"] == 1 + 3 + 5  # init's admin, people, guests


def test_a_newcomer_reaches_the_first_download_from_what_the_demo_prints(tmp_path: Path) -> None:
    """What `make run` prints is enough: the kept accounts enrol, the recipient registers its
    own age key, the operator makes the same export with `ecluse synth` and extracts under the
    instruction left open, and the recipient downloads and opens the package."""
    env = _env(tmp_path)
    args = ("--patients", "3000", "--labs", "3", "--seed", "4", "-o", str(tmp_path / "r"))
    done = ecluse("demo", "--keep", "--json", *args, env=env)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    ready, kept = summary["ready"], summary["enrolment"]

    def guest(role: str) -> dict[str, str]:
        email, code = kept[role]["email"], kept[role]["enrolment_code"]
        token = last(ecluse("enrol", "--email", email, "--code", code, env=env))
        return with_second_factor({**env, "ECLUSE_TOKEN": token}, email)

    recipient, operator = guest("recipient"), guest("operator")
    me = x25519_identity(tmp_path, "me")
    added = ecluse(
        "recipient-keys", "add", "--key", me.recipient, "--label", "mine", *step_up(recipient),
        env=recipient,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    (open_now,) = [i for i in json.loads(last_json(operator)) if i["open_today"]]
    assert open_now["id"] == ready["instruction"]

    export = tmp_path / "export.csv"
    assert ecluse("synth", *ready["synth"].split(), "-o", str(export), env=env).returncode == 0
    extracted = ecluse(
        "extract", "--instruction", ready["instruction"], "--source", str(export), env=operator
    )
    assert extracted.returncode == 0, extracted.stderr
    listed = json.loads(ecluse("packages", "list", "--json", env=recipient).stdout)
    (package,) = [p for p in listed if p["state"] == "ready"]  # the demo's are shredded
    out = tmp_path / "download"
    missing = ecluse("packages", "download", package["id"], "-o", str(out), env=recipient)
    assert missing.returncode == 2 and "nothing was done" in " ".join(missing.stderr.split())
    out.mkdir()
    got = ecluse("packages", "download", package["id"], "-o", str(out), env=recipient)
    assert got.returncode == 0, got.stderr
    opened = age_decrypt((out / f"{package['id']}.csv.age").read_bytes(), me)
    assert opened.returncode == 0
    lines = opened.stdout.decode().splitlines()
    assert len(lines) - 1 == package["rows"] >= ready["expected_rows"]  # with its canaries


def last_json(who: dict[str, str]) -> str:
    listed = ecluse("instructions", "list", "--json", env=who)
    assert listed.returncode == 0, listed.stderr
    return listed.stdout
