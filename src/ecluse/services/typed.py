"""How a refused login, enrolment or SSH authentication names what was typed: the account's id
when the identifier matches one, else its keyed digest (`ecluse.crypto.identifiers`). Never
the identifier as typed. The digest is computed either way, so both take the same work."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ecluse.crypto.identifiers import identifier_digest, identifier_key
from ecluse.db.models import Account
from ecluse.instance.platform import Platform


@dataclass(frozen=True, slots=True)
class Typed:
    refs: dict[str, str]  # {"account": id} when it names an account
    details: dict[str, str]  # {"identifier": digest} when it names none


def typed_identifier(platform: Platform, session: Session, identifier: str) -> Typed:
    """The audit references and details for an identifier typed at a credential prompt."""
    normalised = identifier.strip().lower()[:254]
    digest = identifier_digest(identifier_key(platform.keys.signer()), normalised)
    account_id = session.execute(
        select(Account.id).where(Account.email == normalised)
    ).scalar_one_or_none()
    if account_id is not None:
        return Typed(refs={"account": account_id}, details={})
    return Typed(refs={}, details={"identifier": digest})
