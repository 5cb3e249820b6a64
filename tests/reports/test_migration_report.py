"""The migration report and its sign-off: the controller's dpo alone closes a migration, and
only once nothing of it is left."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest

from ecluse.crypto.signatures import verify
from ecluse.db.models import MigrationSignOff
from ecluse.errors import PolicyViolation
from ecluse.identity import Principal
from ecluse.identity.personal import public_key_of
from ecluse.instance.platform import Platform
from ecluse.reports.html import render
from ecluse.reports.signoff import signoff_message
from ecluse.services import delivery, reports
from tests.age_tools import Identity
from tests.mail_tools import approve_all
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


def write_report(platform: Platform, p: Principal, iid: str) -> dict[str, Any]:
    return reports.migration(platform, p, iid).report


def sign_off(platform: Platform, p: Principal, iid: str, **how: Any) -> dict[str, Any]:
    return reports.sign_off(platform, p, iid, **how).report


def _code(parties: dict[str, Any]) -> str:
    """A fresh code of dora's app: signing off is a step-up act."""
    return fresh_code(parties["totp"]["dora"])


def _migrated(migration: Migration, identity: Identity) -> tuple[str, str]:
    """An instruction whose package was downloaded, confirmed and shredded."""
    platform, rita = migration.platform, migration.parties["rita"]
    iid = migration.instruct(expected_rows=migration.export.frame.height)
    outcome = migration.run("olga", iid)
    got = opened(platform, rita, identity, outcome.package_id)
    delivery.confirm(platform, rita, outcome.package_id, rows=got.rows, sha256=got.sha256)
    return iid, outcome.package_id


def test_the_report_tells_the_whole_migration(migration: Migration, identity: Identity) -> None:
    iid, package_id = _migrated(migration, identity)
    report = write_report(migration.platform, migration.parties["dora"], iid)
    assert report["instruction"]["signed_by"] == migration.parties["dora"].email
    assert [s["party"] for s in report["agreement"]["signatures"]] == ["processor", "controller"]
    (extraction,) = report["extractions"]
    assert extraction["operator"] == migration.parties["olga"].email
    assert extraction["findings"]["rows_read"] == migration.export.frame.height
    (package,) = report["packages"]
    assert package["id"] == package_id and package["state"] == "shredded"
    assert package["downloads"][0]["by"] == migration.parties["rita"].actor
    assert package["receipt"]["by"] == migration.parties["rita"].email
    assert package["shred_reason"] == "receipt"
    actions = [e["action"] for e in report["audit"]["events"]]
    for expected in (
        "packages:extraction:start",
        "packages:extraction:done",
        "packages:package:download",
        "packages:receipt:confirm",
        "packages:package:shred",
        "governance:migration:report",
    ):
        assert expected in actions
    assert report["audit"]["checkpoint"]["seq"] >= report["audit"]["events"][-1]["seq"]
    html = render(report)
    assert "Content-Security-Policy" in html and "<script" not in html
    text = json.dumps(report) + html  # no patient datum, whatever the format
    assert not any(v in text for v in migration.export.frame["NIR"].head(50))
    assert not any(v in text for v in migration.export.frame["NOM_NAISSANCE"].head(50))


def test_only_the_controllers_dpo_signs_off(migration: Migration, identity: Identity) -> None:
    platform, parties = migration.platform, migration.parties
    iid, _ = _migrated(migration, identity)
    for who in ("rita", "olga", "carl"):  # recipient, processor's and controller's operators
        with pytest.raises(PolicyViolation, match="not permitted"):
            sign_off(platform, parties[who], iid, comment=COMMENT, code=None)
    with pytest.raises(PolicyViolation):
        write_report(platform, parties["rita"], iid)
    signed = sign_off(platform, parties["dora"], iid, comment=COMMENT, code=_code(parties))
    assert signed["instruction"]["state"] == "closed"
    assert signed["sign_off"]["by"] == parties["dora"].email
    with platform.db.transaction() as s:
        row = s.get(MigrationSignOff, iid)
        assert row is not None
        key = public_key_of(s, parties["dora"].account_id)
    assert hashlib.sha256(row.report.encode()).hexdigest() == row.report_sha256
    verify(
        public_key=key,
        signature=base64.b64decode(signed["sign_off"]["signature"]),
        message=signoff_message(iid, row.report_sha256),
    )
    with pytest.raises(PolicyViolation, match="already signed off"):
        sign_off(platform, parties["dora"], iid, comment=COMMENT, code=_code(parties))
    with pytest.raises(PolicyViolation, match="closed"):
        migration.run("olga", iid)


def test_a_dpo_of_another_organisation_is_refused(migration: Migration, identity: Identity) -> None:
    from ecluse.identity import Role, authenticate, create_account, enrol, issue  # noqa: PLC0415

    platform = migration.platform
    iid, _ = _migrated(migration, identity)
    with platform.db.transaction() as s:  # the recipient's own dpo: not the controller
        new = create_account(
            s,
            organisation_id=migration.parties["recipient"],
            email="vera@recipient.example",
            full_name="Vera Vendor",
            roles={Role.DPO},
        )
        enrol(s, email=new.email, code=new.enrolment_code)
        approve_all(s, new.id)
        vera = authenticate(s, issue(s, account_id=new.id, name="t", days=1).token)
    with pytest.raises(PolicyViolation, match="only a dpo of the controller"):
        sign_off(platform, vera, iid, comment=COMMENT, code=None)


def test_nothing_closes_while_a_package_remains(migration: Migration, identity: Identity) -> None:
    iid = migration.instruct(expected_rows=migration.export.frame.height)
    migration.run("olga", iid)
    with pytest.raises(PolicyViolation, match="still ready"):
        sign_off(
            migration.platform,
            migration.parties["dora"],
            iid,
            comment=COMMENT,
            code=_code(migration.parties),
        )


@pytest.mark.parametrize(
    ("expected", "runs", "low"),
    [
        pytest.param(lambda n: n, 1, False, id="as instructed"),
        pytest.param(lambda n: 2 * n, 1, True, id="half of what was expected"),
        pytest.param(lambda n: 2 * n, 2, False, id="a run is left to make it up"),
    ],
)
def test_the_report_shows_the_volume_against_the_instruction(
    migration: Migration, identity: Identity, expected: object, runs: int, low: bool
) -> None:
    n = migration.export.in_scope().height
    rows = expected(n)  # type: ignore[operator]
    iid = migration.instruct(expected_rows=rows, tolerance_percent=10, runs_allowed=runs)
    migration.run("olga", iid)
    report = write_report(migration.platform, migration.parties["dora"], iid)
    assert report["volume"] == {
        "expected_rows": rows,
        "tolerance_percent": 10,
        "rows_minimum": -(-rows * 90 // 100),
        "rows_allowed": rows * 110 // 100,
        "rows_packaged": n,
        "runs_allowed": runs,
        "runs_counted": 1,
        "below_expected": low,
    }
    (extraction,) = report["extractions"]
    assert extraction["findings"]["volume"]["below_expected"] is low
    assert ("extraction:volume-low" in {a["kind"] for a in report["alerts"]}) is low
    html = render(report)
    assert ("Far below expected" in html) is low
    assert ("Far fewer rows than instructed" in html) is low
    assert f"{n:,} rows in scope packaged by 1 of {runs} run(s)" in html


def _auditor(platform, org_kind: str, *, grant: bool = False):  # type: ignore[no-untyped-def]
    """An auditor of an organisation of `org_kind` ("platform": the instance's own); with
    `grant`, made a platform auditor by the host."""
    from sqlalchemy import select  # noqa: PLC0415

    from ecluse.db.models import Organisation  # noqa: PLC0415
    from ecluse.identity import (  # noqa: PLC0415
        OrgKind,
        Role,
        authenticate,
        create_account,
        create_organisation,
        enrol,
        issue,
    )
    from ecluse.services import tenancy  # noqa: PLC0415

    with platform.db.transaction() as s:
        if org_kind == "platform":
            org = s.execute(
                select(Organisation.id).where(Organisation.kind == OrgKind.PLATFORM.value)
            ).scalar_one()
        else:
            org = create_organisation(s, name="Another lab", kind=OrgKind(org_kind))
        email = f"audit.{org_kind}.{grant}@example.org".lower()
        new = create_account(
            s, organisation_id=org, email=email, full_name="Aude Auditor", roles={Role.AUDITOR}
        )
        approve_all(s, new.id)  # approved by the laboratory: the scope is what is tested
        enrol(s, email=email, code=new.enrolment_code)
        token = issue(s, account_id=new.id, name="t", days=1).token
    if grant:
        tenancy.grant_platform_auditor(platform, actor="local:root", email=email)
    with platform.db.transaction() as s:
        return authenticate(s, token)


@pytest.mark.parametrize(
    ("who", "reads"),
    [
        ("an auditor of another laboratory", False),
        ("an auditor of the platform's organisation, not granted", False),
        ("a platform auditor granted on the host", True),
    ],
)
def test_reports_are_scoped_to_the_controller_or_a_granted_platform_auditor(
    migration: Migration, identity: Identity, who: str, reads: bool
) -> None:
    platform = migration.platform
    iid, _ = _migrated(migration, identity)
    kind = "controller" if "laboratory" in who else "platform"
    auditor = _auditor(platform, kind, grant=who.startswith("a platform auditor"))
    if reads:
        assert write_report(platform, auditor, iid)["instruction"]["id"] == iid
    else:
        with pytest.raises(PolicyViolation, match="reports are for"):
            write_report(platform, auditor, iid)
