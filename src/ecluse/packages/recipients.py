"""Recipients' public keys: the only keys a package is ever encrypted to.

A recipient account adds and revokes its own organisation's keys; nobody else can (an admin
who could add a key could redirect every package to himself). Packages go to all of the
organisation's active keys, and the manifest names their fingerprints.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ecluse.crypto.age import Recipient, parse_recipient
from ecluse.db.models import RecipientKey
from ecluse.errors import PolicyViolation, ValidationError
from ecluse.identity import Permission, Principal, require

MAX_KEYS = 10


def add_key(session: Session, principal: Principal, *, public_key: str, label: str) -> RecipientKey:
    require(principal.permissions, Permission.RECIPIENT_KEYS)
    recipient = parse_recipient(public_key)
    label = label.strip()
    if not 1 <= len(label) <= 100:  # noqa: PLR2004 - column width
        raise ValidationError("a key needs a label of 1 to 100 characters")
    if session.execute(
        select(RecipientKey.id).where(RecipientKey.fingerprint == recipient.fingerprint)
    ).first():
        raise ValidationError("this key is already registered")
    if len(active_rows(session, principal.organisation_id)) >= MAX_KEYS:
        raise ValidationError(f"an organisation holds at most {MAX_KEYS} active keys")
    row = RecipientKey(
        id=str(uuid.uuid4()),
        organisation_id=principal.organisation_id,
        kind=recipient.kind,
        public_key=recipient.text,
        fingerprint=recipient.fingerprint,
        label=label,
        added_by=principal.account_id,
        added_at=datetime.now(UTC),
    )
    session.add(row)
    session.flush()
    return row


def revoke_key(session: Session, principal: Principal, key_id: str) -> RecipientKey:
    require(principal.permissions, Permission.RECIPIENT_KEYS)
    row = session.get(RecipientKey, key_id)
    if row is None or row.organisation_id != principal.organisation_id:
        raise PolicyViolation("no such key in your organisation")
    if row.revoked_at is None:
        row.revoked_by, row.revoked_at = principal.account_id, datetime.now(UTC)
        session.flush()
    return row


def active_rows(session: Session, organisation_id: str) -> list[RecipientKey]:
    stmt = (
        select(RecipientKey)
        .where(
            RecipientKey.organisation_id == organisation_id,
            RecipientKey.revoked_at.is_(None),
        )
        .order_by(RecipientKey.added_at)
    )
    return list(session.execute(stmt).scalars())


def recipients_of(session: Session, organisation_id: str) -> list[Recipient]:
    """The organisation's active keys, parsed again (what is stored is checked, not trusted)."""
    keys = [parse_recipient(r.public_key) for r in active_rows(session, organisation_id)]
    if not keys:
        raise ValidationError(
            "the recipient organisation has no public key: one of its recipients must add one "
            "(`ecluse recipient-keys add`) before anything can be packaged for it"
        )
    return keys
