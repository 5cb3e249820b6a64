"""Extraction end to end: source in, quarantine and an age package out, opened by `age`."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import select

from ecluse.audit import Action
from ecluse.audit.records import verify_database
from ecluse.crypto.envelope import package_trace_aad
from ecluse.crypto.interfaces import WrappedKey
from ecluse.db.models import Alert, AuditEvent, Blob, Extraction, Instruction, Package
from ecluse.errors import IntegrityError, PolicyViolation, StorageError, ValidationError
from ecluse.instance.platform import Platform
from ecluse.mandates import instructions as ins
from ecluse.packages.digests import FORMAT as DIGESTS_FORMAT
from ecluse.packages.digests import RowDigester, as_matrix
from ecluse.packages.extract import Outcome, RevokedDuringExtraction
from ecluse.packages.manifest import verify_manifest
from ecluse.policy import CredentialsRefused, VolumeExceeded
from ecluse.store.local import LocalWriter
from tests.age_tools import Identity, age_decrypt
from tests.packages.conftest import FIELDS, Migration


def _blob(platform: Platform, blob_id: str) -> bytes:
    with platform.db.transaction() as s:
        return b"".join(platform.store.open(s, blob_id))


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


@dataclass(frozen=True)
class Packaged:
    outcome: Outcome
    package: Package
    quarantine: Blob
    plaintext: bytes  # as the recipient's `age -d` gives it
    rows: pl.DataFrame


@pytest.fixture
def packaged(migration: Migration, identity: Identity) -> Packaged:
    platform, export = migration.platform, migration.export
    expected = export.in_scope()
    iid = migration.instruct(expected_rows=expected.height, tolerance_percent=0)
    outcome = migration.run("olga", iid)
    assert outcome.findings.rows_read == export.frame.height
    assert outcome.findings.rows_in_scope == expected.height
    assert outcome.canaries == 3 and outcome.rows == expected.height + 3
    with platform.db.transaction() as s:
        package = s.get(Package, outcome.package_id)
        assert package is not None
        extraction = s.get(Extraction, package.extraction_id)
        assert extraction is not None and extraction.state == "packaged"
        quarantine = s.get(Blob, extraction.quarantine_id)
        assert quarantine is not None
        s.expunge_all()
    done = age_decrypt(_blob(platform, package.blob_id), identity)  # the standard tool
    assert done.returncode == 0, done.stderr
    rows = pl.read_csv(io.BytesIO(done.stdout), separator=";", infer_schema=False)
    return Packaged(outcome, package, quarantine, done.stdout, rows)


def test_the_recipient_gets_what_the_instruction_allows(
    migration: Migration, packaged: Packaged
) -> None:
    export, out = migration.export, packaged.rows
    assert out.columns == [f["field"] for f in FIELDS]
    assert out.height == packaged.outcome.rows
    assert hashlib.sha256(packaged.plaintext).hexdigest() == packaged.package.plaintext_sha256
    # transforms: no source NIR, years only, departments, comments redacted, scope kept
    assert not set(out["nir"]) & set(export.frame["NIR"])
    assert out["birth_date"].str.contains(r"^\d{4}$").all()
    assert out["postcode"].str.len_chars().is_in([2, 3]).all()
    assert set(out["comment_p"]) <= {"", "[redacted]"}
    visits = out["last_visit"].str.strptime(pl.Date, "%d/%m/%Y")
    assert (visits >= datetime(2017, 5, 7).date()).all()
    assert not any(set(export.frame["MDP_PORTAIL"]) & set(out[c]) for c in out.columns)


def test_manifest_digests_and_canaries(migration: Migration, packaged: Packaged) -> None:
    platform, package = migration.platform, packaged.package
    body = package.manifest.encode()
    verify_manifest(
        public_key=platform.keys.signer().public_key, body=body, signature=package.signature
    )
    manifest = json.loads(body)
    assert manifest["instruction"]["id"] == package.instruction_id
    assert manifest["data"]["rows"] == packaged.outcome.rows
    assert "sha256" not in manifest["data"]  # the receipt's value: only decrypting gives it
    assert manifest["data"]["age_sha256"] == packaged.outcome.age_sha256
    assert manifest["canary_rows"] == 3
    dropped = {d["column"]: d["reason"] for d in manifest["findings"]["dropped"]}
    assert dropped["MDP_PORTAIL"] == dropped["LOGIN_PORTAIL"] == "credential: never transferred"
    assert dropped["COMMENTAIRE_D"] == "not instructed"
    with pytest.raises(IntegrityError):
        verify_manifest(
            public_key=platform.keys.signer().public_key,
            body=body.replace(b'"rows":', b'"rows":1'),
            signature=package.signature,
        )
    # row digests: one per row and traced field, recomputable with the package's key;
    # canaries among them
    trace_key = platform.keys.unwrap(
        WrappedKey(package.kek_version or 0, package.wrapped_trace_key or b""),
        aad=package_trace_aad(package.id),
    )
    digests = _blob(platform, package.digests_id)
    assert hashlib.sha256(digests).hexdigest() == manifest["row_digests"]["sha256"]
    fields = manifest["row_digests"]["fields"]
    assert manifest["row_digests"]["format"] == DIGESTS_FORMAT
    assert fields == ["nir", "birth_name", "first_names", "sex", "birth_date", "postcode"]
    assert digests == RowDigester(trace_key, fields).digests(packaged.rows)
    rows = {tuple(r) for r in as_matrix(digests, len(fields)).tolist()}
    marks = [tuple(r) for r in as_matrix(package.canaries, len(fields)).tolist()]
    assert len(rows) == packaged.rows.height  # no two rows alike
    assert len(marks) == 3 and set(marks) <= rows


def test_quarantine_and_nothing_readable_at_rest(migration: Migration, packaged: Packaged) -> None:
    platform, export = migration.platform, migration.export
    quarantine = packaged.quarantine
    assert quarantine.kind == "quarantine" and quarantine.expires_at is not None
    ttl = quarantine.expires_at.replace(tzinfo=UTC) - datetime.now(UTC)
    assert timedelta(hours=23) < ttl <= timedelta(hours=24)
    assert hmac.compare_digest(_blob(platform, quarantine.id), export.data)
    needles = [export.frame["NIR"][0].encode(), export.frame["NOM_NAISSANCE"][0].encode()]
    for path in _files(platform.settings.home):
        blob = path.read_bytes()
        assert not any(n in blob for n in needles), path
    assert verify_database(platform.db.engine).ok


def test_volume_beyond_the_instruction_stops_everything(
    migration: Migration,
    identity: Identity,
) -> None:
    """The incident's first lab: 6.5 % more rows than asked. Nothing leaves; the dpo hears."""
    platform, parties, export = migration.platform, migration.parties, migration.export
    allowed = int(export.in_scope().height / 1.065)
    iid = migration.instruct(expected_rows=allowed, tolerance_percent=0)
    with pytest.raises(VolumeExceeded):
        migration.run("olga", iid)
    _assert_nothing_left(platform, state="stopped")
    with platform.db.transaction() as s:
        alert = s.execute(select(Alert)).scalar_one()
        assert alert.kind == "extraction:volume-exceeded" and alert.severity == "critical"
        assert alert.organisation_id == parties["controller"]
        assert json.loads(alert.details)["rows_allowed"] == allowed


def test_credentials_are_refused_even_when_mapped(
    migration: Migration,
    identity: Identity,
) -> None:
    platform, export = migration.platform, migration.export
    iid = migration.instruct(expected_rows=export.frame.height)
    mapping = {"MDP_PORTAIL": "comment_p"}  # a password column passed off as a comment
    with pytest.raises(CredentialsRefused):
        migration.run("olga", iid, mapping=mapping)
    _assert_nothing_left(platform, state="stopped")
    with platform.db.transaction() as s:
        assert s.execute(select(Alert.kind)).scalar_one() == "extraction:credentials-refused"


def test_revocation_during_the_run_discards_it(
    migration: Migration,
    identity: Identity,
) -> None:
    platform, parties, export = migration.platform, migration.parties, migration.export
    iid = migration.instruct(expected_rows=export.frame.height)

    def revoke_midway(_: int) -> None:
        with platform.db.transaction() as s:
            ins.revoke(s, parties["dora"], iid, reason="the lab withdrew its consent")

    with pytest.raises(RevokedDuringExtraction):
        migration.run("olga", iid, progress=revoke_midway)
    _assert_nothing_left(platform, state="stopped")
    with platform.db.transaction() as s:
        assert s.execute(select(Alert.kind)).scalar_one() == "extraction:revoked-during-run"


@pytest.mark.parametrize(
    ("who", "error", "match"),
    [
        ("carl", PolicyViolation, "processor"),  # an operator, but of the controller
        ("rita", PolicyViolation, "not permitted"),  # the recipient cannot extract
        ("dora", PolicyViolation, "not permitted"),
    ],
)
def test_only_the_processors_operator_extracts(
    migration: Migration,
    identity: Identity,
    who: str,
    error: type[Exception],
    match: str,
) -> None:
    platform, parties, export = migration.platform, migration.parties, migration.export
    iid = migration.instruct(expected_rows=export.frame.height)
    with pytest.raises(error, match=match):
        migration.run(who, iid)
    _assert_nothing_left(platform, state=None)
    with platform.db.transaction() as s:
        refused = s.execute(
            select(AuditEvent).where(AuditEvent.action == Action.EXTRACTION_FAILED.value)
        ).scalar_one()
        assert refused.actor == parties[who].actor


def test_no_recipient_key_no_package(migration: Migration) -> None:
    platform, export = migration.platform, migration.export
    platform, export = migration.platform, migration.export
    iid = migration.instruct(expected_rows=export.frame.height)
    with pytest.raises(ValidationError, match="no public key"):
        migration.run("olga", iid)
    _assert_nothing_left(platform, state=None)


@pytest.mark.parametrize(
    ("name", "mangle", "match"),
    [
        ("NUL bytes", lambda d: d[:5000] + b"\x00" + d[5000:], "NUL"),
        ("ragged row", lambda d: d + b"1;2;3\n", "wrong number of fields"),
        ("100 MB line", lambda d: d + b"x" * (100 << 20), "longer than"),
        ("latin-1 mid-file", lambda d: d + "Zoé;".encode("latin-1") * 27 + b"\n", "UTF-8"),
        ("garbled mid-file", lambda d: d + "AgnÃ¨s;".encode() * 27 + b"\n", "garbled"),
        ("quote never closed", lambda d: d + b'"' + b"Zoe;" * 27 + b"\n", "never closed"),
        ("duplicate header", lambda d: b"NIR;NIR\n1;2\n", "duplicate"),
        ("unknown columns only", lambda d: b"A;B\n1;2\n", "lacks instructed fields"),
        ("empty file", lambda d: b"", "header"),
    ],
)
def test_bad_sources_leave_nothing(
    migration: Migration,
    identity: Identity,
    name: str,
    mangle: Any,
    match: str,
) -> None:
    platform, export = migration.platform, migration.export
    iid = migration.instruct(expected_rows=export.frame.height)
    with pytest.raises(ValidationError, match=match):
        migration.run("olga", iid, mangle(migration.export.data))
    _assert_nothing_left(platform, state="failed")


@pytest.mark.parametrize("stage", ["quarantine", "package"])
def test_a_failing_write_stage_leaves_nothing(
    migration: Migration,
    identity: Identity,
    monkeypatch: pytest.MonkeyPatch,
    stage: str,
) -> None:
    """The disk fails under a background stage: the run stops, every object is removed."""
    platform, export = migration.platform, migration.export
    iid = migration.instruct(expected_rows=export.frame.height)
    kinds: dict[int, str] = {}
    real_init, real_write = LocalWriter.__init__, LocalWriter.write

    def init(self: LocalWriter, *args: Any, **kwargs: Any) -> None:
        real_init(self, *args, **kwargs)
        kinds[id(self)] = kwargs["kind"]

    def write(self: LocalWriter, data: Any) -> int:
        if kinds.get(id(self)) == stage:
            raise StorageError("the disk is full")
        return real_write(self, data)

    monkeypatch.setattr(LocalWriter, "__init__", init)
    monkeypatch.setattr(LocalWriter, "write", write)
    with pytest.raises(StorageError, match="disk is full"):
        migration.run("olga", iid)
    _assert_nothing_left(platform, state="failed")


def test_revoked_or_expired_instruction_is_refused(
    migration: Migration,
    identity: Identity,
) -> None:
    platform, parties = migration.platform, migration.parties
    today = datetime.now(UTC).date()
    old = migration.instruct(
        expected_rows=10,
        valid_from=str(today - timedelta(days=30)),
        valid_until=str(today - timedelta(days=1)),
    )
    with pytest.raises(PolicyViolation, match="validity"):
        migration.run("olga", old)
    revoked = migration.instruct(expected_rows=10)
    with platform.db.transaction() as s:
        ins.revoke(s, parties["dora"], revoked, reason="wrong laboratory chosen")
        assert s.get(Instruction, revoked) is not None
    with pytest.raises(PolicyViolation, match="revoked"):
        migration.run("olga", revoked)
    _assert_nothing_left(platform, state=None)


def _assert_nothing_left(platform: Platform, *, state: str | None) -> None:
    """No object stored (not even a temporary file), no package; the run recorded as `state`."""
    assert _files(platform.settings.store_dir) == []
    with platform.db.transaction() as s:
        assert s.execute(select(Blob.kind).where(Blob.kind != "selfcheck")).all() == []
        assert s.execute(select(Package)).all() == []
        states = s.execute(select(Extraction.state)).scalars().all()
    assert states == ([state] if state else [])
    assert verify_database(platform.db.engine).ok
