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
from ecluse.identity.personal import public_key_of
from ecluse.packages import delivery
from ecluse.reports.html import render
from ecluse.reports.signoff import sign_off, signoff_message, write_report
from tests.age_tools import Identity
from tests.packages.conftest import Migration, agreement, export, identity, migration, parties
from tests.totp_tools import fresh_code

__all__ = ["agreement", "export", "identity", "migration", "parties"]
COMMENT = "Checked scope, fields, receipt and deletion against our instruction."


def _code(parties: dict[str, Any]) -> str:
    """A fresh code of dora's app: signing off is a step-up act."""
    return fresh_code(parties["totp"]["dora"])


def _migrated(migration: Migration) -> tuple[str, str]:
    """An instruction whose package was downloaded, confirmed and shredded."""
    platform, rita = migration.platform, migration.parties["rita"]
    iid = migration.instruct(expected_rows=migration.export.frame.height)
    outcome = migration.run("olga", iid)
    b"".join(delivery.download(platform, rita, outcome.package_id))
    delivery.confirm(
        platform, rita, outcome.package_id, rows=outcome.rows, sha256=outcome.plaintext_sha256
    )
    return iid, outcome.package_id


def test_the_report_tells_the_whole_migration(migration: Migration, identity: Identity) -> None:
    iid, package_id = _migrated(migration)
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
    iid, _ = _migrated(migration)
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
    iid, _ = _migrated(migration)
    with platform.db.transaction() as s:  # the recipient's own dpo: not the controller
        new = create_account(
            s,
            organisation_id=migration.parties["recipient"],
            email="vera@recipient.example",
            full_name="Vera Vendor",
            roles={Role.DPO},
        )
        enrol(s, email=new.email, code=new.enrolment_code)
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
