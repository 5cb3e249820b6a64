"""Agreements and instructions through the CLI: TOML files, signatures, revocation."""

from __future__ import annotations

import json
from pathlib import Path

from ecluse.mandates.agreements import CLAUSES
from tests.cli.helpers import assert_refused, ecluse, instance_admin, last, person, step_up


def test_agreement_signed_by_the_dpo_and_the_processor(env: dict[str, str], tmp_path: Path) -> None:
    admin = instance_admin(env)
    lab = last(
        ecluse(
            "orgs",
            "create",
            "--name",
            "Réseau Biolab",
            "--kind",
            "controller",
            "--finess",
            "690001235",
            env=admin,
        )
    )
    vendor = last(
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
    dpo = person(env, admin, lab, "dora.dpo@biolab.example", "dpo")
    operator = person(env, admin, vendor, "olga.op@vendor.example", "operator")

    clauses = "\n".join(f'{k} = "The processor {v}, see annex {k}."' for k, v in CLAUSES.items())
    terms = tmp_path / "terms.toml"
    terms.write_text(
        f'''controller_id = "{lab}"
processor_id = "{vendor}"
subject_matter = "Migration of the laboratory information system"
duration_start = 2026-11-01
duration_end = 2027-01-31
nature_and_purpose = "Extraction and transfer of patient records to the new vendor"
data_types = ["identity", "contact", "visit", "clinical"]
data_subject_categories = ["patients of the laboratories"]

[clauses]
{clauses}
''',
        encoding="utf-8",
    )
    agreement = last(ecluse("agreements", "create", "--file", str(terms), env=operator))
    assert_refused(ecluse("agreements", "verify", agreement, env=dpo), "not signed")
    assert (
        "draft" in ecluse("agreements", "sign", agreement, *step_up(operator), env=operator).stdout
    )
    assert "signed" in ecluse("agreements", "sign", agreement, *step_up(dpo), env=dpo).stdout
    verified = ecluse("agreements", "verify", agreement, env=dpo)
    assert verified.returncode == 0 and "signed by both parties" in verified.stdout
    assert agreement in ecluse("agreements", "list", env=operator).stdout
    assert_refused(
        ecluse("agreements", "sign", agreement, env=admin), "not permitted: agreement:sign"
    )

    # the dpo instructs under the signed agreement; the processor cannot
    recipient = last(
        ecluse(
            "orgs",
            "create",
            "--name",
            "New Vendor",
            "--kind",
            "recipient",
            "--siret",
            "44182078900010",
            env=admin,
        )
    )
    instruction = tmp_path / "instruction.toml"
    instruction.write_text(
        f"""agreement_id = "{agreement}"
recipient_id = "{recipient}"
purpose = "Patients of one laboratory seen since 7 May 2017"
source = "old LIS export"
scope = "last_visit >= '2017-05-07' and laboratory = 'LBM 03 LYON'"
expected_rows = 2000
tolerance_percent = 5
valid_from = 2026-11-01
valid_until = 2026-12-31
fields = [
  {{ field = "nir", transform = "pseudonymise" }},
  {{ field = "birth_name", transform = "keep" }},
  {{ field = "comment_p", transform = "drop" }},
]
""",
        encoding="utf-8",
    )
    assert_refused(
        ecluse("instructions", "create", "--file", str(instruction), env=operator),
        "not permitted: instruction:sign",
    )
    iid = last(ecluse("instructions", "create", "--file", str(instruction), env=dpo))
    assert "signed" in ecluse("instructions", "sign", iid, *step_up(dpo), env=dpo).stdout
    # listings show ids whole, even on a narrow terminal, and as JSON for scripts
    for who in (dpo, operator):
        narrow = ecluse("instructions", "list", env={**who, "COLUMNS": "60"})
        assert narrow.returncode == 0 and iid in narrow.stdout
    (listed,) = json.loads(ecluse("instructions", "list", "--json", env=dpo).stdout)
    assert (listed["id"], listed["state"], listed["side"]) == (iid, "signed", "controller")
    (seen,) = json.loads(ecluse("instructions", "list", "--json", env=operator).stdout)
    assert (seen["id"], seen["side"], seen["recipient_id"]) == (iid, "processor", recipient)
    assert agreement in ecluse("agreements", "list", env={**operator, "COLUMNS": "50"}).stdout
    shown = ecluse("instructions", "show", iid, env=dpo)
    assert "state: signed" in shown.stdout and "LBM 03 LYON" in shown.stdout
    assert_refused(
        ecluse("instructions", "revoke", iid, "--reason", "too short", *step_up(dpo), env=dpo),
        "written reason",
    )
    reason = "the new vendor asked for more than the lab needs"
    assert (
        ecluse("instructions", "revoke", iid, "--reason", reason, *step_up(dpo), env=dpo).returncode
        == 0
    )
    assert "state: revoked" in ecluse("instructions", "show", iid, env=dpo).stdout

    # bad input: a clear refusal, nothing written, and an audit event each
    text, bad = instruction.read_text(encoding="utf-8"), tmp_path / "bad.toml"
    for mangled, message in [
        (text.replace("last_visit >= '2017-05-07' and", "last_visit >= and ("), "scope"),
        (text.replace('field = "birth_name"', 'field = "shoe_size"'), "shoe_size"),
        (text.replace('transform = "drop"', 'transform = "keep"') + "[oops\n", "TOML"),
    ]:
        bad.write_text(mangled, encoding="utf-8")
        assert_refused(ecluse("instructions", "create", "--file", str(bad), env=dpo), message)
    assert_refused(ecluse("instructions", "sign", iid, *step_up(dpo), env=dpo), "not a draft")
    export = tmp_path / "audit.jsonl"
    assert ecluse("audit", "export", "-o", str(export), env=env).returncode == 0
    lines = [json.loads(line) for line in export.read_text().splitlines()]
    events = [e for e in lines if e["type"] == "event"]
    refused = [
        json.loads(e["refs"])["command"] for e in events if e["action"] == "cli:request:refused"
    ]
    assert refused == [
        "agreements verify",  # not signed yet
        "instructions revoke",  # the reason was too short
        *["instructions create"] * 3,
        "instructions sign",
    ]
    assert [e["action"] for e in events].count("governance:instruction:create") == 1


EXAMPLES = Path(__file__).parents[2] / "docs" / "examples"


def test_the_example_files_are_accepted_and_signed(env: dict[str, str], tmp_path: Path) -> None:
    """docs/examples/ as a newcomer uses them: the ids on the command line, nothing edited."""
    admin = instance_admin(env)
    orgs = {
        kind: last(ecluse("orgs", "create", "--name", f"{kind} org", "--kind", kind,
                          *(("--finess", "690001235") if kind == "controller"
                            else ("--siret", "54208626300010")), env=admin))
        for kind in ("controller", "processor", "recipient")
    }  # fmt: skip
    dpo = person(env, admin, orgs["controller"], "dora.dpo@biolab.example", "dpo")
    operator = person(env, admin, orgs["processor"], "olga.op@vendor.example", "operator")
    ids = ["--controller", orgs["controller"], "--processor", orgs["processor"]]
    made = ecluse(
        "agreements", "create", "--file", str(EXAMPLES / "agreement.toml"), *ids, env=operator
    )
    agreement = last(made)
    assert "cannot be signed yet" not in made.stdout  # every clause of Art. 28(3) is there
    ecluse("agreements", "sign", agreement, *step_up(operator), env=operator)
    assert "signed" in ecluse("agreements", "sign", agreement, *step_up(dpo), env=dpo).stdout
    drafted = ecluse(
        "instructions", "create", "--file", str(EXAMPLES / "instruction.toml"),
        "--agreement", agreement, "--recipient", orgs["recipient"], env=dpo,
    )  # fmt: skip
    iid = last(drafted)
    assert "signed" in ecluse("instructions", "sign", iid, *step_up(dpo), env=dpo).stdout
    # a file naming other ids than the command line is refused
    named = tmp_path / "named.toml"
    named.write_text(
        f'controller_id = "{orgs["processor"]}"\n'
        + (EXAMPLES / "agreement.toml").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    assert_refused(
        ecluse("agreements", "create", "--file", str(named), *ids, env=operator),
        "not the one given on the command line",
    )
