"""GDPR Art. 28 agreements between a controller and a processor: the terms as data, and the
rules for signing them. The controller's dpo and the processor's representative each sign the
canonical terms with their personal key; one missing Art. 28(3) clause and nobody can sign.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, date, datetime
from enum import StrEnum

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from ecluse.crypto.interfaces import KeyManager
from ecluse.crypto.signatures import verify
from ecluse.db.models import Agreement, AgreementSignature, Organisation, PersonalKey
from ecluse.errors import IntegrityError, PolicyViolation, ValidationError
from ecluse.governance.dictionary import Category
from ecluse.governance.document import Document
from ecluse.identity.permissions import require
from ecluse.identity.personal import signer_for
from ecluse.identity.tokens import Principal
from ecluse.kinds import Permission, Role

#: GDPR Art. 28(3), points (a) to (h): what each clause must settle
CLAUSES = {
    "a": "processes only on documented instructions from the controller",
    "b": "persons authorised to process are bound to confidentiality",
    "c": "takes all measures required by Article 32 (security)",
    "d": "respects the conditions for engaging another processor",
    "e": "assists the controller in answering data subjects' requests",
    "f": "assists the controller with Articles 32 to 36 (security, breaches, impact)",
    "g": "deletes or returns all personal data at the end of the services",
    "h": "makes available all information needed to demonstrate compliance, allows audits",
}
MIN_CLAUSE = 30


class AgreementState(StrEnum):
    DRAFT = "draft"
    SIGNED = "signed"  # by both parties


class Party(StrEnum):
    CONTROLLER = "controller"
    PROCESSOR = "processor"


class Terms(Document):
    """What both parties sign."""

    controller_id: str
    processor_id: str
    subject_matter: str = Field(min_length=10)
    duration_start: date
    duration_end: date
    nature_and_purpose: str = Field(min_length=10)
    data_types: list[Category] = Field(min_length=1)
    data_subject_categories: list[str] = Field(min_length=1)
    clauses: dict[str, str]

    def problems(self) -> list[str]:
        """Why these terms cannot be signed; empty when they can."""
        missing = [
            f"clause ({k}) missing or too short: {what}"
            for k, what in CLAUSES.items()
            if len(self.clauses.get(k, "").strip()) < MIN_CLAUSE
        ]
        extra = [f"unknown clause ({k})" for k in self.clauses if k not in CLAUSES]
        dates = (
            [] if self.duration_end > self.duration_start else ["duration ends before it starts"]
        )
        creds = (
            ["credentials can never be a data type of an agreement"]
            if Category.CREDENTIAL in self.data_types
            else []
        )
        return missing + extra + dates + creds


def parse_terms(raw: dict[str, object]) -> Terms:
    return Terms.read(raw, what="agreement terms")


def _message(agreement_id: str, terms: bytes, party: Party) -> bytes:
    return b"ecluse-agreement-v1|" + f"{agreement_id}|{party.value}|".encode() + terms


def create(session: Session, principal: Principal, terms: Terms) -> str:
    """A draft agreement, proposed by a member of either party."""
    require(principal.permissions, Permission.AGREEMENT_SIGN)
    controller = session.get(Organisation, terms.controller_id)
    processor = session.get(Organisation, terms.processor_id)
    if controller is None or controller.kind != "controller":
        raise ValidationError("controller_id must name a controller organisation")
    if processor is None or processor.kind != "processor":
        raise ValidationError("processor_id must name a processor organisation")
    if principal.organisation_id not in {terms.controller_id, terms.processor_id}:
        raise PolicyViolation("only a party to the agreement may propose it")
    body = terms.canonical()
    agreement = Agreement(
        id=str(uuid.uuid4()),
        controller_id=terms.controller_id,
        processor_id=terms.processor_id,
        terms=body.decode(),
        terms_sha256=hashlib.sha256(body).hexdigest(),
        state=AgreementState.DRAFT,
        created_by=principal.account_id,
        created_at=datetime.now(UTC),
    )
    session.add(agreement)
    session.flush()
    return agreement.id


def _party(principal: Principal, agreement: Agreement) -> Party:
    if principal.organisation_id == agreement.controller_id:
        if Role.DPO not in principal.roles:
            raise PolicyViolation("the controller signs through its data-protection officer")
        return Party.CONTROLLER
    if principal.organisation_id == agreement.processor_id:
        return Party.PROCESSOR
    raise PolicyViolation("only the controller's dpo and the processor may sign")


def sign(session: Session, keys: KeyManager, principal: Principal, agreement_id: str) -> str:
    """Sign for one's own party; returns the agreement's state (`signed` once both have)."""
    require(principal.permissions, Permission.AGREEMENT_SIGN)
    agreement = session.get(Agreement, agreement_id)
    if agreement is None:
        raise ValidationError("no such agreement")
    party = _party(principal, agreement)
    problems = parse_terms(json.loads(agreement.terms)).problems()
    if problems:
        raise ValidationError("cannot be signed: " + "; ".join(problems))
    if session.get(AgreementSignature, (agreement_id, party.value)) is not None:
        raise ValidationError(f"already signed for the {party.value}")
    signer = signer_for(session, keys, account_id=principal.account_id)
    session.add(
        AgreementSignature(
            agreement_id=agreement_id,
            party=party.value,
            account_id=principal.account_id,
            kid=signer.key_id,
            signed_at=datetime.now(UTC),
            signature=signer.sign(_message(agreement_id, agreement.terms.encode(), party)),
        )
    )
    session.flush()
    parties = set(
        session.execute(
            select(AgreementSignature.party).where(AgreementSignature.agreement_id == agreement_id)
        ).scalars()
    )
    if parties == {p.value for p in Party}:
        agreement.state = AgreementState.SIGNED
    return agreement.state


def check_signed(session: Session, agreement_id: str) -> Agreement:
    """The agreement, if its terms are intact and both parties' signatures verify."""
    agreement = session.get(Agreement, agreement_id)
    if agreement is None or agreement.state != AgreementState.SIGNED:
        raise PolicyViolation("the agreement is not signed by both parties")
    body = agreement.terms.encode()
    if hashlib.sha256(body).hexdigest() != agreement.terms_sha256:
        raise IntegrityError("agreement terms were altered after signature")
    for party in Party:
        sig = session.get(AgreementSignature, (agreement_id, party.value))
        key = session.get(PersonalKey, sig.account_id) if sig else None
        if sig is None or key is None or key.kid != sig.kid:
            raise IntegrityError(f"the {party.value}'s signature is missing")
        verify(
            public_key=bytes(key.public_key),
            signature=bytes(sig.signature),
            message=_message(agreement_id, body, party),
        )
    return agreement
