"""People's SSH public keys, for the SFTP server: ed25519, ecdsa (P-256, P-384, P-521), or
rsa of at least 3072 bits. DSA and short RSA keys are refused. A key belongs to one person
only (its fingerprint is unique), and a revoked key stays recorded for the audit trail.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ecluse.crypto._primitives import ssh_public_key
from ecluse.db.models import Account, Credential, SshKey
from ecluse.errors import ValidationError
from ecluse.identity.accounts import usable
from ecluse.identity.tokens import Principal, principal_of

MIN_RSA_BITS = 3072
_KINDS = f"ed25519, ecdsa, or rsa of {MIN_RSA_BITS} bits or more"
_MAX_LINE = 16_384


@dataclass(frozen=True, slots=True)
class ParsedKey:
    algorithm: str  # ssh-ed25519 | ecdsa-sha2-nistp256 | … | ssh-rsa
    openssh: str  # "<algorithm> <base64>", without the comment
    fingerprint: str  # SHA256:<base64, unpadded>, as `ssh-keygen -lf` prints it


def parse_ssh_key(line: str) -> ParsedKey:
    """A public key line as in `id_ed25519.pub`; raise `ValidationError` if not acceptable."""
    if len(line) > _MAX_LINE:
        raise ValidationError("not an SSH public key")
    try:
        openssh, rsa_bits = ssh_public_key(line.strip().encode())
    except ValueError as e:
        raise ValidationError(f"not an SSH public key of a kind accepted: {_KINDS}") from e
    if rsa_bits and rsa_bits < MIN_RSA_BITS:
        raise ValidationError(f"an RSA key needs at least {MIN_RSA_BITS} bits")
    algorithm, blob = openssh.split(" ", 1)
    digest = hashlib.sha256(base64.b64decode(blob)).digest()
    fingerprint = "SHA256:" + base64.b64encode(digest).decode().rstrip("=")
    return ParsedKey(algorithm=algorithm, openssh=openssh, fingerprint=fingerprint)


def add_ssh_key(
    session: Session, account_id: str, line: str, *, label: str, second_factor: bool = False
) -> ParsedKey:
    """Register a key; `second_factor`: whether the principal adding it passed one, fixed for
    the key's life (a key added before TOTP never reaches health data)."""
    parsed = parse_ssh_key(line)
    if not label.strip():
        raise ValidationError("say where the private key lives (a label)")
    taken = session.execute(
        select(SshKey.id).where(SshKey.fingerprint == parsed.fingerprint)
    ).first()
    if taken:
        raise ValidationError("this key is already registered (a key belongs to one person)")
    session.add(
        SshKey(
            id=str(uuid.uuid4()),
            account_id=account_id,
            algorithm=parsed.algorithm,
            public_key=parsed.openssh,
            fingerprint=parsed.fingerprint,
            label=label.strip()[:100],
            created_at=datetime.now(UTC),
            second_factor=second_factor,
        )
    )
    session.flush()
    return parsed


def revoke_ssh_key(session: Session, account_id: str, fingerprint: str) -> None:
    row = session.execute(
        select(SshKey).where(
            SshKey.account_id == account_id,
            SshKey.fingerprint == fingerprint,
            SshKey.revoked_at.is_(None),
        )
    ).scalar_one_or_none()
    if row is None:
        raise ValidationError("no such active key of yours")
    row.revoked_at = datetime.now(UTC)
    session.flush()


def active_keys(session: Session, account_id: str) -> list[SshKey]:
    return list(
        session.execute(
            select(SshKey)
            .where(SshKey.account_id == account_id, SshKey.revoked_at.is_(None))
            .order_by(SshKey.created_at)
        ).scalars()
    )


def key_principal(
    session: Session, username: str, fingerprint: str, *, now: datetime
) -> Principal | None:
    """Who logs in with the live key `fingerprint` as `username`: its owner, if the name is
    theirs and their account usable and unlocked; the second factor is the key's own."""
    row = session.execute(
        select(SshKey).where(SshKey.fingerprint == fingerprint, SshKey.revoked_at.is_(None))
    ).scalar_one_or_none()
    account = session.get(Account, row.account_id) if row else None
    if row is None or account is None or account.email != username.strip().lower():
        return None
    credential = session.get(Credential, account.id)
    if not usable(session, account, now) or (credential and credential.locked_at):
        return None
    return principal_of(
        session, account, credential_id=fingerprint[:60], via="ssh", second_factor=row.second_factor
    )
