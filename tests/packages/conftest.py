"""A migration ready to extract: parties, a signed agreement, the recipient's age key, a
synthetic leak-shaped export, and signed instructions over it."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from ecluse.instance.platform import Platform
from ecluse.packages.extract import Outcome
from ecluse.packages.recipients import add_key
from ecluse.services import delivery
from ecluse.services.extraction import extract
from ecluse.synth import synthesise, write_export
from tests.age_tools import Identity, age_decrypt, x25519_identity
from tests.mail_tools import approve_all
from tests.mandates.conftest import agreement, content, parties, signed
from tests.totp_tools import enable_totp

__all__ = ["agreement", "parties"]

LAST_VISIT = "2017-05-07"
FIELDS = [
    {"field": "nir", "transform": "pseudonymise"},
    {"field": "birth_name", "transform": "keep"},
    {"field": "first_names", "transform": "keep"},
    {"field": "sex", "transform": "keep"},
    {"field": "birth_date", "transform": "year"},
    {"field": "postcode", "transform": "department"},
    {"field": "last_visit", "transform": "keep"},
    {"field": "laboratory", "transform": "keep"},
    {"field": "blood_group", "transform": "keep"},
    {"field": "comment_p", "transform": "redact"},
]


@dataclass(frozen=True)
class Export:
    frame: pl.DataFrame
    data: bytes

    def in_scope(self) -> pl.DataFrame:
        visit = pl.col("DATE_DERNIERE_VISITE").str.strptime(pl.Date, "%d/%m/%Y")
        return self.frame.filter(visit >= datetime.fromisoformat(LAST_VISIT).date())


@pytest.fixture(scope="session")
def export() -> Export:
    frame = synthesise(patients=3000, labs=4, seed=7)
    buf = io.BytesIO()
    write_export(frame, buf)
    return Export(frame, buf.getvalue())


@pytest.fixture
def identity(platform: Platform, parties: dict[str, Any], tmp_path: Path) -> Identity:
    """The recipient's age key, registered by its own recipient account."""
    ident = x25519_identity(tmp_path)
    with platform.db.transaction() as s:
        add_key(s, parties["rita"], public_key=ident.recipient, label="import server")
    return ident


def instruct(platform: Platform, parties: dict[str, Any], agreement: str, **changes: Any) -> str:
    today = datetime.now(UTC).date()
    base = {
        "scope": f"last_visit >= '{LAST_VISIT}'",
        "fields": FIELDS,
        "valid_from": str(today - timedelta(days=7)),
        "valid_until": str(today + timedelta(days=60)),
    }
    return signed(platform, parties, agreement, **{**base, **changes})


def run(platform: Platform, who: Any, instruction: str, data: bytes, **options: Any) -> Outcome:
    return extract(
        platform,
        who,
        instruction_id=instruction,
        source=io.BytesIO(data),
        source_name="export.csv",
        **options,
    )


@dataclass(frozen=True)
class Migration:
    """Everything an extraction test needs, ready: who, under what, from which export."""

    platform: Platform
    parties: dict[str, Any]
    agreement: str
    export: Export

    def instruct(self, **changes: Any) -> str:
        return instruct(self.platform, self.parties, self.agreement, **changes)

    def run(self, who: str, instruction: str, data: bytes | None = None, **options: Any) -> Outcome:
        source = self.export.data if data is None else data
        return run(self.platform, self.parties[who], instruction, source, **options)


@pytest.fixture
def migration(
    platform: Platform, parties: dict[str, Any], agreement: str, export: Export
) -> Migration:
    """Without the recipient's key: request `identity` as well for that."""
    return Migration(platform, parties, agreement, export)


__all__ += ["content", "instruct", "run"]


@dataclass(frozen=True)
class Opened:
    """A package as its recipient has it: downloaded, then decrypted by the `age` CLI."""

    ciphertext: bytes
    plaintext: bytes
    rows: int  # data rows, the header line not counted
    sha256: str  # of the plaintext: what the receipt presents


def opened(platform: Platform, who: Any, identity: Identity, package_id: str) -> Opened:
    ciphertext = b"".join(delivery.download(platform, who, package_id))
    done = age_decrypt(ciphertext, identity)
    assert done.returncode == 0, done.stderr
    rows = pl.read_csv(io.BytesIO(done.stdout), separator=";", infer_schema=False).height
    return Opened(ciphertext, done.stdout, rows, hashlib.sha256(done.stdout).hexdigest())


def stranger(platform: Platform, name: str = "eve") -> Any:
    """A recipient of another organisation (say, a competing vendor)."""
    from ecluse.identity import (  # noqa: PLC0415 - only this helper needs them
        OrgKind,
        Role,
        authenticate,
        create_account,
        create_organisation,
        enrol,
        issue,
    )

    with platform.db.transaction() as s:
        org = create_organisation(s, name="Other vendor", kind=OrgKind.RECIPIENT)
        new = create_account(
            s,
            organisation_id=org,
            email=f"{name}@other.example",
            full_name=f"{name.title()} Other",
            roles={Role.RECIPIENT},
        )
        enrol(s, email=new.email, code=new.enrolment_code)
        approve_all(s, new.id)
        enable_totp(s, platform.keys, new.id)
        return authenticate(
            s, issue(s, account_id=new.id, name="t", days=1, second_factor=True).token
        )
