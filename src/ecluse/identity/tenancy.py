"""Tenant isolation: which organisations, accounts and objects one organisation may see.

An organisation sees itself and its counterparties (the other party of its agreements, the
parties of the instructions it is party to). Its objects are its accounts (their tokens,
sessions and signing keys), the agreements and instructions it is party to (an instruction's
parties: its controller, its recipient, its agreement's processor) with their extractions,
packages and blobs, its recipient keys, alerts and security reports. An audit event concerns
it when its actor is one of its accounts or its references name one of its objects
(docs/adr/0010-tenant-isolation.md). Only an admin (organisations and accounts) and a
platform auditor (everything but health data) see across organisations.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from ecluse.db.models import (
    Account,
    Agreement,
    Alert,
    ApiToken,
    Extraction,
    Instruction,
    LoginSession,
    Package,
    PersonalKey,
    RecipientKey,
    SecurityReport,
)
from ecluse.identity.tokens import Principal
from ecluse.kinds import Role


def sees_every_organisation(p: Principal) -> bool:
    """The admin manages every organisation and account; a platform auditor audits them."""
    return bool({Role.ADMIN, Role.PLATFORM_AUDITOR} & p.roles)


def instructions_of(session: Session, org: str) -> list[Instruction]:
    """The instructions `org` is party to: as controller, recipient or processor."""
    processed = select(Agreement.id).where(Agreement.processor_id == org)
    return list(
        session.execute(
            select(Instruction).where(
                or_(
                    Instruction.controller_id == org,
                    Instruction.recipient_id == org,
                    Instruction.agreement_id.in_(processed),
                )
            )
        ).scalars()
    )


def visible_organisations(session: Session, org: str) -> set[str]:
    """`org` and its counterparties."""
    seen = {org}
    for a in session.execute(
        select(Agreement).where(or_(Agreement.controller_id == org, Agreement.processor_id == org))
    ).scalars():
        seen |= {a.controller_id, a.processor_id}
    agreements = dict(session.execute(select(Agreement.id, Agreement.processor_id)).all())
    for i in instructions_of(session, org):
        seen |= {i.controller_id, i.recipient_id, agreements.get(i.agreement_id, org)}
    return seen


@dataclass(frozen=True, slots=True)
class Scope:
    """What names an organisation in the audit trail: its accounts as actors, and the ids of
    its objects as references."""

    organisation_id: str
    actors: frozenset[str]
    ids: frozenset[str]

    def concerns(self, actor: str, refs: dict[str, str]) -> bool:
        return actor in self.actors or any(v in self.ids for v in refs.values())


def _ids(session: Session, stmt: Select[str]) -> set[str]:
    return set(session.execute(stmt).scalars())


def scope_of(session: Session, org: str) -> Scope:
    """The actors and object ids that attribute an audit event to `org`."""
    people = dict(
        session.execute(
            select(Account.id, Account.email).where(Account.organisation_id == org)
        ).all()
    )
    ids = {org, *people}
    ids |= _ids(session, select(ApiToken.id).where(ApiToken.account_id.in_(people)))
    ids |= _ids(session, select(LoginSession.id).where(LoginSession.account_id.in_(people)))
    ids |= _ids(session, select(PersonalKey.kid).where(PersonalKey.account_id.in_(people)))
    ids |= _ids(
        session,
        select(Agreement.id).where(
            or_(Agreement.controller_id == org, Agreement.processor_id == org)
        ),
    )
    instructions = {i.id for i in instructions_of(session, org)}
    ids |= instructions
    for e in session.execute(
        select(Extraction).where(Extraction.instruction_id.in_(instructions))
    ).scalars():
        ids |= {e.id, *([e.quarantine_id] if e.quarantine_id else [])}
    for pk in session.execute(
        select(Package).where(Package.instruction_id.in_(instructions))
    ).scalars():
        ids |= {pk.id, pk.blob_id, pk.digests_id}
    ids |= _ids(session, select(RecipientKey.id).where(RecipientKey.organisation_id == org))
    ids |= _ids(session, select(Alert.id).where(Alert.organisation_id == org))
    ids |= _ids(session, select(SecurityReport.id).where(SecurityReport.organisation_id == org))
    return Scope(
        organisation_id=org,
        actors=frozenset(f"account:{e}" for e in people.values()),
        ids=frozenset(ids),
    )
