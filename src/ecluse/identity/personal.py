"""Each person's signing key: made at enrolment, sealed by the key manager, used to sign."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from ecluse.crypto.interfaces import KeyManager, WrappedKey, key_id
from ecluse.crypto.personal import new_personal_key, personal_signer
from ecluse.crypto.signatures import SeedSigner
from ecluse.db.models import PersonalKey
from ecluse.errors import ValidationError


def create_personal_key(session: Session, keys: KeyManager, *, account_id: str) -> str:
    """A new signing key for the account (one per person); returns its key id."""
    if session.get(PersonalKey, account_id) is not None:
        raise ValidationError("this account already has a signing key")
    sealed = new_personal_key(keys, owner=account_id)
    kid = key_id(sealed.public_key)
    session.add(
        PersonalKey(
            account_id=account_id,
            kid=kid,
            public_key=sealed.public_key,
            kek_version=sealed.wrapped.kek_version,
            wrapped_seed=sealed.wrapped.ciphertext,
            created_at=datetime.now(UTC),
        )
    )
    session.flush()
    return kid


def signer_for(session: Session, keys: KeyManager, *, account_id: str) -> SeedSigner:
    row = session.get(PersonalKey, account_id)
    if row is None:
        raise ValidationError("this account has no signing key: enrol first")
    return personal_signer(
        keys, WrappedKey(row.kek_version, bytes(row.wrapped_seed)), owner=account_id
    )


def public_key_of(session: Session, account_id: str) -> bytes:
    row = session.get(PersonalKey, account_id)
    if row is None:
        raise ValidationError("this account has no signing key")
    return bytes(row.public_key)
