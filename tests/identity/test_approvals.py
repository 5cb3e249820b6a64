"""The two-person rule, the way it is meant to work: a controller's first dpo approved at the
host, a recipient's security contact named by that dpo, the contact approving (or refusing)
the others; each decision audited and alerted; a pending role gives nothing; the enrolment
code reaches the person's mailbox only; a service account is its owner's."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from ecluse.config import Settings
from ecluse.db.models import Account, AccountRole, Alert, AuditEvent
from ecluse.errors import PolicyViolation
from ecluse.identity import OrgKind, Permission, Principal, Role, authenticate, create_organisation
from ecluse.identity.tokens import issue
from ecluse.instance.platform import Platform
from ecluse.services import approvals
from ecluse.services import identity as acts
from tests.mail_tools import Mailbox
from tests.totp_tools import enable_totp, fresh_code


@pytest.fixture
def mailed(platform: Platform, settings: Settings, smtp_server: Mailbox) -> Iterator[Platform]:
    opened = Platform.open(settings.model_copy(update={"alerts": smtp_server.settings}))
    yield opened
    opened.close()


def _admin(platform: Platform) -> Principal:
    """The instance's first admin (its code printed at `ecluse init`, on the host)."""
    with platform.db.transaction() as s:
        account = s.execute(
            select(Account).where(Account.email == "ada.admin@lab.example.fr")
        ).scalar_one()
        account.enrolment_code_hash, account.state = None, "active"
        return authenticate(s, issue(s, account_id=account.id, name="t", days=1).token)


def _person(  # noqa: PLR0917 - who creates whom, where, with what
    platform: Platform, box: Mailbox, admin: Principal, org: str, email: str, role: Role
) -> Principal:
    new = acts.create_person(
        platform, admin, organisation_id=org, email=email, name="Named Person", roles={role}
    )
    assert new.pending_roles == (role.value,)
    issued = acts.enrol_person(
        platform,
        email=email,
        code=box.enrolment_code(email),
        days=1,
        channel="cli",
        address="192.0.2.1",
    )
    assert issued.token  # the enrolment's token carries no second factor: log in with it
    with platform.db.transaction() as s:
        SECRETS[new.id] = enable_totp(s, platform.keys, new.id)
        token = issue(s, account_id=new.id, name="with code", days=1, second_factor=True)
        return authenticate(s, token.token)


SECRETS: dict[str, bytes] = {}  # each person's authenticator app, by account


def _code(p: Principal) -> str | None:
    """A fresh code of the person's app, for a step-up act (none for someone without TOTP)."""
    return fresh_code(SECRETS[p.account_id]) if p.account_id in SECRETS else None


def _again(platform: Platform, p: Principal) -> Principal:
    with platform.db.transaction() as s:
        token = issue(s, account_id=p.account_id, name="t", days=1, second_factor=p.second_factor)
        return authenticate(s, token.token)


def _audited_and_alerted(  # noqa: PLR0917 - the test's cast, passed through
    mailed: Platform,
    smtp_server: Mailbox,
    caplog: pytest.LogCaptureFixture,
    lab: str,
    vendor: str,
    dora: Principal,
    rita: Principal,
) -> None:
    with mailed.db.transaction() as s:
        actions = list(s.execute(select(AuditEvent.action, AuditEvent.actor)).all())
        kinds = sorted(
            s.execute(select(Alert.kind).where(Alert.organisation_id.in_([lab, vendor]))).scalars()
        )
        pending = s.execute(select(AccountRole).where(AccountRole.approved_at.is_(None))).all()
    assert ("identity:role:approve", "local:keeper") in actions
    assert ("identity:security-contact:set", f"account:{dora.email}") in actions
    assert ("identity:role:approve", f"account:{rita.email}") in actions
    assert ("identity:role:refuse", f"account:{rita.email}") in actions
    assert kinds == [
        "access:role-approved",
        "access:role-approved",
        "access:role-refused",
        "access:security-contact",
    ]
    assert pending == []
    codes = [smtp_server.enrolment_code(e) for e in ("dora@lab.example", "rita@new.example")]
    ours = " ".join(r.getMessage() for r in caplog.records if r.name.startswith("ecluse"))
    trail = " ".join(f"{a}" for a in actions) + ours
    assert not any(c in trail or c.replace("-", "") in trail for c in codes)  # no log carries it
    [text] = smtp_server.texts_to("dora@lab.example")
    assert "Lab" not in text and "dpo" not in text  # the code, and nothing else sensitive


def test_the_two_person_rule_end_to_end(
    mailed: Platform, smtp_server: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="ecluse")
    admin = _admin(mailed)
    with mailed.db.transaction() as s:
        lab = create_organisation(s, name="Lab", kind=OrgKind.CONTROLLER)
        vendor = create_organisation(s, name="New", kind=OrgKind.RECIPIENT)
    dora = _person(mailed, smtp_server, admin, lab, "dora@lab.example", Role.DPO)
    assert dora.roles == frozenset() and Permission.INSTRUCTION_SIGN not in dora.permissions
    with pytest.raises(PolicyViolation):  # not by herself, not by the admin
        approvals.decide_role(
            mailed, dora, account_id=dora.account_id, role=Role.DPO, approve=True, code=_code(dora)
        )
    with pytest.raises(PolicyViolation):
        approvals.decide_role(
            mailed,
            admin,
            account_id=dora.account_id,
            role=Role.DPO,
            approve=True,
            code=_code(admin),
        )
    approvals.approve_first_dpo_at_host(mailed, account_id=dora.account_id, actor="local:keeper")
    dora = _again(mailed, dora)
    assert Permission.INSTRUCTION_SIGN in dora.permissions

    rita = _person(mailed, smtp_server, admin, vendor, "rita@new.example", Role.RECIPIENT)
    ravi = _person(mailed, smtp_server, admin, vendor, "ravi@new.example", Role.RECIPIENT)
    rose = _person(mailed, smtp_server, admin, vendor, "rose@new.example", Role.RECIPIENT)
    with pytest.raises(PolicyViolation):  # the admin names no security contact
        approvals.name_security_contact(
            mailed, admin, organisation_id=vendor, account_id=rita.account_id, code=_code(admin)
        )
    approved = approvals.name_security_contact(
        mailed, dora, organisation_id=vendor, account_id=rita.account_id, code=_code(dora)
    )
    assert approved == ["recipient"]
    rita = _again(mailed, rita)
    assert Permission.PACKAGE_DOWNLOAD in rita.permissions
    with pytest.raises(PolicyViolation):
        approvals.list_pending(mailed, ravi)
    assert [g.email for g in approvals.list_pending(mailed, rita)] == [
        "ravi@new.example",
        "rose@new.example",
    ]
    with pytest.raises(PolicyViolation):
        approvals.decide_role(
            mailed,
            ravi,
            account_id=ravi.account_id,
            role=Role.RECIPIENT,
            approve=True,
            code=_code(ravi),
        )
    approvals.decide_role(
        mailed,
        rita,
        account_id=ravi.account_id,
        role=Role.RECIPIENT,
        approve=True,
        code=_code(rita),
    )
    approvals.decide_role(
        mailed, rita, account_id=rose.account_id, role=Role.RECIPIENT, approve=False, code=None
    )
    assert Permission.PACKAGE_DOWNLOAD in _again(mailed, ravi).permissions
    assert _again(mailed, rose).roles == frozenset()

    # a service account: its owner's, with the owner's roles; never the admin's
    _, token = acts.create_service(mailed, rita, name="import job", roles={Role.RECIPIENT}, days=7)
    with mailed.db.transaction() as s:
        assert Permission.PACKAGE_DOWNLOAD in authenticate(s, token.token).permissions
    with pytest.raises(PolicyViolation):
        acts.create_service(mailed, admin, name="job", roles={Role.RECIPIENT}, days=7)
    with pytest.raises(PolicyViolation):
        acts.create_service(mailed, rita, name="job", roles={Role.OPERATOR}, days=7)

    _audited_and_alerted(mailed, smtp_server, caplog, lab, vendor, dora, rita)


def test_a_controller_with_a_dpo_approves_its_next_dpo_itself(
    mailed: Platform, smtp_server: Mailbox
) -> None:
    admin = _admin(mailed)
    with mailed.db.transaction() as s:
        lab = create_organisation(s, name="Lab", kind=OrgKind.CONTROLLER)
    dora = _person(mailed, smtp_server, admin, lab, "dora@lab.example", Role.DPO)
    approvals.approve_first_dpo_at_host(mailed, account_id=dora.account_id, actor="local:keeper")
    dan = _person(mailed, smtp_server, admin, lab, "dan@lab.example", Role.DPO)
    with pytest.raises(PolicyViolation, match="has a dpo"):
        approvals.approve_first_dpo_at_host(mailed, account_id=dan.account_id, actor="local:keeper")
    dora = _again(mailed, dora)
    approvals.decide_role(
        mailed, dora, account_id=dan.account_id, role=Role.DPO, approve=True, code=_code(dora)
    )
    assert Role.DPO in _again(mailed, dan).roles


@pytest.mark.parametrize(
    ("credential", "with_code", "approved"),
    [
        ("made with the second factor", True, True),
        ("made with the second factor", False, False),  # no fresh code: step-up refused
        ("the enrolment's token, no second factor", True, False),
    ],
)
def test_an_approval_needs_the_second_factor_and_a_fresh_code(
    mailed: Platform, smtp_server: Mailbox, credential: str, with_code: bool, approved: bool
) -> None:
    admin = _admin(mailed)
    with mailed.db.transaction() as s:
        lab = create_organisation(s, name="Lab", kind=OrgKind.CONTROLLER)
    dora = _person(mailed, smtp_server, admin, lab, "dora@lab.example", Role.DPO)
    approvals.approve_first_dpo_at_host(mailed, account_id=dora.account_id, actor="local:keeper")
    dan = _person(mailed, smtp_server, admin, lab, "dan@lab.example", Role.DPO)
    dora = _again(mailed, dora)
    if not credential.startswith("made with"):
        with mailed.db.transaction() as s:
            token = issue(s, account_id=dora.account_id, name="t", days=1, second_factor=False)
            dora = authenticate(s, token.token)
    code = fresh_code(SECRETS[dora.account_id]) if with_code else None
    if approved:
        approvals.decide_role(
            mailed, dora, account_id=dan.account_id, role=Role.DPO, approve=True, code=code
        )
    else:
        with pytest.raises(PolicyViolation):
            approvals.decide_role(
                mailed, dora, account_id=dan.account_id, role=Role.DPO, approve=True, code=code
            )
    assert (Role.DPO in _again(mailed, dan).roles) is approved
