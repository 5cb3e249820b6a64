"""The identity flow through the CLI: enrol, organisations, accounts, tokens, refusals."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.helpers import ADMIN, approve, assert_refused, ecluse, last
from tests.mail_tools import mailbox_of


def test_people_enrol_and_act_within_their_roles(env: dict[str, str], tmp_path: Path) -> None:
    code = last(ecluse("init", *ADMIN, env=env))
    admin = {
        **env,
        "ECLUSE_TOKEN": last(
            ecluse("enrol", "--email", "ada.admin@lab.example.fr", "--code", code, env=env)
        ),
    }
    who = ecluse("whoami", env=admin)
    assert "ada.admin@lab.example.fr (admin) of platform organisation" in who.stdout

    org = last(
        ecluse(
            "orgs",
            "create",
            "--name",
            "Old Vendor",
            "--kind",
            "processor",
            "--siret",
            "54208626300010",
            env=admin,
        )
    )
    olga_id = last(
        ecluse(
            "accounts",
            "create",
            "--org",
            org,
            "--email",
            "olga.op@vendor.example",
            "--name",
            "Olga Operator",
            "--role",
            "operator",
            env=admin,
        )
    )
    op_code = mailbox_of(env).enrolment_code("olga.op@vendor.example")
    approve(env, olga_id, "operator")
    operator = {
        **env,
        "ECLUSE_TOKEN": last(
            ecluse("enrol", "--email", "olga.op@vendor.example", "--code", op_code, env=env)
        ),
    }

    # deny by default: an operator manages nothing, and a code enrols once
    assert_refused(
        ecluse("orgs", "create", "--name", "X", "--kind", "recipient", env=operator),
        "not permitted: org:manage",
    )
    assert_refused(ecluse("accounts", "list", env=operator), "not permitted: directory:read")
    assert_refused(
        ecluse("enrol", "--email", "olga.op@vendor.example", "--code", op_code, env=env),
        "enrolment refused",
    )

    # tokens: narrower scopes, listing, revocation
    narrow = last(
        ecluse(
            "tokens", "issue", "--name", "ci", "--days", "7", "--scope", "token:self", env=operator
        )
    )
    assert "extraction:run" not in ecluse("whoami", env={**env, "ECLUSE_TOKEN": narrow}).stdout
    assert_refused(
        ecluse("tokens", "issue", "--name", "x", "--scope", "org:manage", env=operator), "subset"
    )
    narrow_id = narrow.split("_")[1]
    assert narrow_id in ecluse("tokens", "list", env=operator).stdout
    assert ecluse("tokens", "revoke", narrow_id, env=operator).returncode == 0
    assert_refused(
        ecluse("whoami", env={**env, "ECLUSE_TOKEN": narrow}),
        "API token invalid, expired or revoked",
    )
    assert_refused(ecluse("whoami", env=env), "set ECLUSE_TOKEN")

    # every refusal is in the audit trail, and no secret is
    export = tmp_path / "audit.jsonl"
    assert ecluse("audit", "export", "-o", str(export), env=env).returncode == 0
    text = export.read_text()
    actions = [json.loads(line).get("action") for line in text.splitlines()]
    assert actions.count("identity:token:refused") == 1
    assert actions.count("identity:account:enrol-refused") == 1
    assert actions.count("identity:permission:denied") == 2  # org:manage, directory:read
    for secret in (code, op_code, narrow, admin["ECLUSE_TOKEN"], operator["ECLUSE_TOKEN"]):
        assert secret not in text and secret.split("_", 2)[-1] not in text
