"""`ecluse security-report`, `ecluse alerts` and `ecluse supervise` as people run them."""

from __future__ import annotations

import re

from tests.cli.helpers import assert_refused, ecluse, instance_admin, last, person


def test_a_concern_filed_anonymously_reaches_the_dpo_who_answers_it(env: dict[str, str]) -> None:
    admin = instance_admin(env)
    org = ["orgs", "create", "--name", "Réseau Biolab", "--kind", "controller"]
    lab = last(ecluse(*org, "--finess", "690001235", env=admin))
    dpo = person(env, admin, lab, "dora.dpo@biolab.example", "dpo", name="Dora Dpo")
    tech = person(env, admin, lab, "tom.tech@biolab.example", "auditor", name="Tom Tech")
    filed = ecluse(
        "security-report",
        "file",
        "--subject",
        "Open FTP zone",
        "--anonymous",
        env=tech,
        stdin="The migration FTP has a public zone anyone can list.\n",
    )
    assert filed.returncode == 0, filed.stderr
    report, alert = re.findall(r"[0-9a-f-]{36}", filed.stdout)
    shown = ecluse("security-report", "show", report, env=dpo)
    assert "Tom Tech <tom.tech@biolab.example>" in shown.stdout
    assert "public zone anyone can list" in shown.stdout
    assert "tom.tech" not in ecluse("alerts", "show", alert, env=admin).stdout
    assert_refused(ecluse("security-report", "show", report, env=admin), "no such security report")
    assert_refused(
        ecluse("alerts", "resolve", alert, "--reason", "closed", env=admin), "only a dpo"
    )
    assert_refused(ecluse("alerts", "ack", alert, "--reason", " ", env=dpo), "written reason")
    done = ecluse("alerts", "resolve", alert, "--reason", "Zone closed, accounts named.", env=dpo)
    assert "open → resolved" in done.stdout, done.stderr
    assert alert not in ecluse("alerts", "list", env=dpo).stdout
    assert alert in ecluse("alerts", "list", "--resolved", env=dpo).stdout
    once = ecluse("supervise", "--once", env=env)
    assert once.returncode == 0 and "delivered:" in once.stdout, once.stderr
