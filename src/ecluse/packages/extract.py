"""An extraction: a source export through the policy engine into a package for the recipient.

1. Checks, in one transaction: the operator may extract, belongs to the agreement's processor,
   the instruction is signed, intact and valid today, the recipient has public keys, and,
   the instruction locked, it still allows a run (see `allowance`): the run is recorded there.
2. Streams, holding no transaction: the raw bytes go to the quarantine (encrypted, with a time
   to live) as they are read; each batch goes through the engine; canary rows are mixed into
   the first rows in scope; the governed CSV is hashed, encrypted to the recipient with age,
   and stored encrypted again by the blob store; keyed row digests go to their own object.
   Before each batch the instruction is read again: revoked, the run stops.
3. Commits, in one transaction, with the instruction row locked: the three objects, the
   signed manifest, the package, the audit event. A revocation that won the lock wins; rows
   beyond what the instruction allows for all its runs together stop the run; far fewer rows
   than expected are packaged, flagged in the findings and alerted to the controller.

Any failure leaves nothing: every object is aborted or rolled back with the transaction, the
run is recorded as failed or stopped with the reason, and the controller is alerted when the
policy stopped it (volume beyond the instruction, credentials, revocation).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import PurePath
from typing import Any, BinaryIO

import polars as pl
from sqlalchemy.orm import Session

from ecluse.audit import Action
from ecluse.audit.canonical import JsonValue, canonical
from ecluse.crypto._primitives import random_bytes
from ecluse.crypto.age import Recipient
from ecluse.crypto.envelope import package_trace_aad
from ecluse.db.models import Agreement, Extraction, Instruction, Package
from ecluse.errors import EcluseError, PolicyViolation, ValidationError, present
from ecluse.governance.instructions import Content, InstructionState, governed_rules
from ecluse.identity import Permission, Principal, require
from ecluse.packages import digests as row_digests
from ecluse.packages.allowance import Allowance, RunsExhausted, reserve, settle
from ecluse.packages.canaries import Canaries, mix
from ecluse.packages.lease import Lease, new_owner, run_tag
from ecluse.packages.manifest import FORMAT, findings_json, sha256_hex, sign_manifest
from ecluse.packages.output import CSV_SEPARATOR, PackageWriter
from ecluse.packages.quarantine import Held, time_to_live
from ecluse.packages.recipients import recipients_of
from ecluse.packages.source import Encoding, SourceReader
from ecluse.packages.stage import Stage
from ecluse.packages.states import ExtractionState, PackageState
from ecluse.platform import Platform
from ecluse.policy import CredentialsRefused, Engine, Findings, Rules, VolumeExceeded
from ecluse.store.interfaces import BlobInfo
from ecluse.store.local import LocalWriter
from ecluse.supervision import AlertKind, Severity, raise_alert

Progress = Callable[[int], None]


class RevokedDuringExtraction(PolicyViolation):
    """The instruction was revoked while the extraction ran: everything is discarded."""


@dataclass(frozen=True, slots=True)
class Outcome:
    extraction_id: str
    package_id: str
    rows: int  # rows in the package, canaries included
    canaries: int
    findings: Findings
    age_sha256: str  # of the age file (the plaintext's is known only by decrypting it)
    manifest_sha256: str


@dataclass(frozen=True, slots=True)
class _Plan:
    extraction_id: str
    instruction_id: str
    content: Content
    rules: Rules
    agreement: Agreement
    content_sha256: str
    recipients: list[Recipient]
    allowance: Allowance  # what the instruction still allowed when the run started


@dataclass
class _Output:
    quarantine: LocalWriter | Held
    package: LocalWriter
    digests: LocalWriter
    trace_key: bytes
    engine: Engine | None = None
    writer: PackageWriter | None = None
    canary_digests: bytes = b""
    canary_rows: int = 0
    lease: Lease | None = None

    def abort(self) -> None:
        for writer in (self.quarantine, self.package, self.digests):
            writer.abort()

    def own_ids(self) -> list[str]:
        """The objects this run writes (not an upload it reads from the quarantine)."""
        writers = (self.quarantine, self.package, self.digests)
        return [w.id for w in writers if isinstance(w, LocalWriter)]


def _check_uuid(value: str, what: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError as e:
        raise ValidationError(f"{what} must be an id such as 0b5f…-…") from e


def _start(
    platform: Platform,
    principal: Principal,
    instruction_id: str,
    name: str,
    *,
    owner: str,
    held: BlobInfo | None,
) -> _Plan:
    with platform.db.transaction() as s:
        require(principal.permissions, Permission.EXTRACTION_RUN)
        content, rules = governed_rules(s, platform.keys, instruction_id)
        agreement = s.get(Agreement, content.agreement_id)
        if agreement is None or principal.organisation_id != agreement.processor_id:
            raise PolicyViolation("only an operator of the agreement's processor extracts")
        recipients = recipients_of(s, content.recipient_id)
        instruction = present(s.get(Instruction, instruction_id), "instruction")
        allowance = reserve(s, instruction_id, content=content)
        row = Extraction(
            id=str(uuid.uuid4()),
            instruction_id=instruction_id,
            operator_id=principal.account_id,
            state=ExtractionState.RUNNING,
            source_name=PurePath(name).name[:255] or "source",
            started_at=datetime.now(UTC),
            quarantine_id=held.id if held else None,  # an upload: extracted again if cut short
            lease_owner=owner,
            lease_expires_at=datetime.now(UTC)
            + timedelta(seconds=platform.settings.extraction_lease_seconds),
        )
        s.add(row)
        s.flush()
        platform.audit.append(
            s,
            actor=principal.actor,
            action=Action.EXTRACTION_START,
            refs={"extraction": row.id, "instruction": instruction_id},
            # the credential it runs on: a run cut short resumes only while it is live
            details={"via": principal.via, "credential": principal.token_id[:60]},
        )
        return _Plan(
            extraction_id=row.id,
            instruction_id=instruction_id,
            content=content,
            rules=rules,
            agreement=agreement,
            content_sha256=instruction.content_sha256,
            recipients=recipients,
            allowance=allowance,
        )


def _still_signed(platform: Platform, instruction_id: str) -> None:
    with platform.db.transaction() as s:
        row = s.get(Instruction, instruction_id)
        if row is None or row.state != InstructionState.SIGNED:
            raise RevokedDuringExtraction(
                "the instruction was revoked during the extraction: everything was discarded"
            )


def _stream(
    platform: Platform,
    plan: _Plan,
    out: _Output,
    *,
    source: BinaryIO,
    encoding: Encoding,
    mapping: Mapping[str, str] | None,
    progress: Progress | None,
) -> None:
    """Reading here; governing, the quarantine and the package on background stages, so
    that the four overlap (the reader's byte work holds the GIL, the others mostly not)."""
    quarantine = Stage[bytes](
        "quarantine", out.quarantine.write, finish=out.quarantine.finish, depth=64
    )
    stages: list[Stage[Any]] = [quarantine]
    try:
        reader = SourceReader(source, sink=quarantine.put, encoding=encoding)
        engine = out.engine = Engine(
            plan.rules,
            headers=reader.headers,
            mapping=mapping,
            max_rows=plan.allowance.rows_left,
        )
        writer = out.writer = PackageWriter(
            [r.field for r in plan.rules.output_fields],
            recipients=plan.recipients,
            package=out.package,
            digests=out.digests,
            trace_key=out.trace_key,
        )
        engine.findings.neutralised = writer.neutralised  # counted as the package is written
        package = Stage[pl.DataFrame]("package", writer.write, finish=writer.finish)
        stages.append(package)
        governor = _Governor(
            engine, writer, package, canaries=Canaries(platform.settings.canary_rows), out=out
        )
        govern = Stage[pl.DataFrame]("govern", governor)
        stages.insert(1, govern)  # stopped before the package it feeds
        for batch in reader.batches(engine.needed):
            _still_signed(platform, plan.instruction_id)
            if out.lease is not None:
                out.lease.check()
            govern.put(batch)
            if progress:
                progress(reader.bytes_read)
        quarantine.end()
        govern.close()  # every batch governed and handed to the package
        package.end()
        quarantine.close()
        package.close()
    except BaseException:
        for stage in stages:
            stage.stop()
        raise


class _Governor:
    """Applies the policy to each batch, mixes the canary rows into the first one with rows,
    and hands the result to the package stage."""

    def __init__(
        self,
        engine: Engine,
        writer: PackageWriter,
        package: Stage[pl.DataFrame],
        *,
        canaries: Canaries,
        out: _Output,
    ) -> None:
        self.engine, self.writer, self.package = engine, writer, package
        self.canaries: Canaries | None = canaries if canaries.count else None
        self.out = out

    def __call__(self, batch: pl.DataFrame) -> None:
        rows = self.engine.apply(batch)
        if self.canaries is not None and rows.height:
            canaries = self.canaries.rows(self.engine, batch)
            self.out.canary_digests = self.writer.digester.digests(canaries)
            self.out.canary_rows = canaries.height
            self.canaries = None
            rows = mix(rows, canaries)
        self.package.put(rows)


def _manifest(plan: _Plan, out: _Output, package_id: str, deadline: datetime) -> dict[str, Any]:
    findings = present(out.engine, "engine").findings
    written = present(out.writer, "package writer")
    return {
        "format": FORMAT,
        "package_id": package_id,
        "extraction_id": plan.extraction_id,
        "instruction": {"id": plan.instruction_id, "sha256": plan.content_sha256},
        "agreement_id": plan.agreement.id,
        "controller_id": plan.agreement.controller_id,
        "processor_id": plan.agreement.processor_id,
        "recipient": {
            "organisation_id": plan.content.recipient_id,
            "keys": [r.fingerprint for r in plan.recipients],
        },
        "data": {
            "media_type": "text/csv; charset=utf-8; header=present",
            "separator": CSV_SEPARATOR,
            "encryption": "age-encryption.org/v1",
            "rows": written.rows,
            "quoting": "every cell; formula-like cells prefixed with ' (OWASP)",
            "age_sha256": written.age_sha256,
            "columns": [
                {"name": r.field, "transform": r.transform.value} for r in plan.rules.output_fields
            ],
        },
        "canary_rows": out.canary_rows,
        "findings": findings_json(findings),
        "row_digests": {
            "format": row_digests.FORMAT,
            "algorithm": row_digests.ALGORITHM,
            "fields": list(written.digester.fields),
            "sha256": written.digests_sha256,
        },
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "deadline": deadline.isoformat(timespec="seconds"),
        "retention_days_after_receipt": plan.content.retention_days_after_receipt,
    }


def _commit(platform: Platform, principal: Principal, plan: _Plan, out: _Output) -> Outcome:
    with platform.db.transaction() as s:
        instruction = s.get(Instruction, plan.instruction_id, with_for_update=True)
        if instruction is None or instruction.state != InstructionState.SIGNED:
            raise RevokedDuringExtraction("the instruction was revoked: everything was discarded")
        run = s.get(Extraction, plan.extraction_id, with_for_update=True)
        if run is None or run.state != ExtractionState.RUNNING:
            raise ValidationError("the run was recorded as abandoned: everything was discarded")
        findings = present(out.engine, "engine").findings
        findings.volume = settle(
            s,
            plan.instruction_id,
            content=plan.content,
            run_id=plan.extraction_id,
            rows=findings.rows_in_scope,
        )
        quarantine, package, digests = (
            w.commit(s) for w in (out.quarantine, out.package, out.digests)
        )
        package_id = str(uuid.uuid4())
        written = present(out.writer, "package writer")
        deadline = present(package.expires_at, "package deadline")
        manifest = _manifest(plan, out, package_id, deadline)
        body, signature = sign_manifest(platform.keys.signer(), manifest)
        wrapped = platform.keys.wrap(out.trace_key, aad=package_trace_aad(package_id))
        s.add(
            Package(
                id=package_id,
                extraction_id=plan.extraction_id,
                instruction_id=plan.instruction_id,
                recipient_id=plan.content.recipient_id,
                blob_id=package.id,
                digests_id=digests.id,
                state=PackageState.READY,
                rows=written.rows,
                plaintext_sha256=written.sha256,
                manifest=body.decode(),
                manifest_sha256=sha256_hex(body),
                kid=platform.audit.register_signer(s),
                signature=signature,
                kek_version=wrapped.kek_version,
                wrapped_trace_key=wrapped.ciphertext,
                canaries=out.canary_digests,
                created_at=datetime.now(UTC),
                deadline_at=deadline,
            )
        )
        _finish(s, plan.extraction_id, ExtractionState.PACKAGED, out, quarantine_id=quarantine.id)
        f = findings
        platform.audit.append(
            s,
            actor=principal.actor,
            action=Action.EXTRACTION_DONE,
            refs={
                "extraction": plan.extraction_id,
                "instruction": plan.instruction_id,
                "package": package_id,
                "quarantine": quarantine.id,
            },
            details={
                "rows_read": f.rows_read,
                "rows_in_scope": f.rows_in_scope,
                "rows_packaged": written.rows,
                "columns_dropped": len(f.dropped),
                "cells_neutralised": sum(f.neutralised.values()),
                "manifest_sha256": sha256_hex(body),
            },
        )
        if f.volume["below_expected"]:
            _below_expected(platform, s, plan, package_id, f.volume)
    return Outcome(
        extraction_id=plan.extraction_id,
        package_id=package_id,
        rows=written.rows,
        canaries=out.canary_rows,
        findings=f,
        age_sha256=written.age_sha256,
        manifest_sha256=sha256_hex(body),
    )


def _below_expected(
    platform: Platform, s: Session, plan: _Plan, package_id: str, volume: dict[str, int | bool]
) -> None:
    """Packaged, but far fewer rows than instructed: the controller should know."""
    raise_alert(
        s,
        platform.audit,
        kind=AlertKind.VOLUME_LOW,
        severity=Severity.WARNING,
        organisation_id=plan.agreement.controller_id,
        refs={
            "extraction": plan.extraction_id,
            "instruction": plan.instruction_id,
            "package": package_id,
        },
        details={k: volume[k] for k in ("instruction_rows", "rows_minimum", "runs_counted")},
    )


def _finish(
    s: Session, extraction_id: str, state: str, out: _Output, *, quarantine_id: str | None = None
) -> Extraction:
    row = present(s.get(Extraction, extraction_id), "extraction")
    row.state, row.finished_at = state, datetime.now(UTC)
    row.source_bytes = out.quarantine.plaintext_bytes
    row.quarantine_id = quarantine_id or row.quarantine_id
    if out.engine is not None:
        row.findings = canonical(findings_json(out.engine.findings))
    s.flush()
    return row


_ALERTS: dict[type[PolicyViolation], tuple[AlertKind, Severity]] = {
    VolumeExceeded: (AlertKind.VOLUME_EXCEEDED, Severity.CRITICAL),
    CredentialsRefused: (AlertKind.CREDENTIALS_REFUSED, Severity.WARNING),
    RevokedDuringExtraction: (AlertKind.REVOKED_DURING_EXTRACTION, Severity.WARNING),
}


def _fail(
    platform: Platform, principal: Principal, plan: _Plan, out: _Output, error: BaseException
) -> None:
    """Record why the run ended without a package; alert the controller if policy stopped it."""
    stopped = isinstance(error, PolicyViolation)
    reason = str(error) if isinstance(error, EcluseError) else "internal error"
    refs = {"extraction": plan.extraction_id, "instruction": plan.instruction_id}
    counts: dict[str, JsonValue] = {}
    if out.engine is not None:
        f = out.engine.findings
        counts = {"rows_read": f.rows_read, "rows_in_scope": f.rows_in_scope}
    with platform.db.transaction() as s:
        current = s.get(Extraction, plan.extraction_id, with_for_update=True)
        if current is None or current.state != ExtractionState.RUNNING:
            return  # recorded as abandoned by whoever found its lease ended
        row = _finish(
            s,
            plan.extraction_id,
            ExtractionState.STOPPED if stopped else ExtractionState.FAILED,
            out,
        )
        row.error = reason[:500]
        platform.audit.append(
            s,
            actor=principal.actor,
            action=Action.EXTRACTION_FAILED,
            refs=refs,
            details={"reason": type(error).__name__, **counts},
        )
        alert = next((a for t, a in _ALERTS.items() if isinstance(error, t)), None)
        if alert is not None:
            if isinstance(error, VolumeExceeded):
                counts["rows_allowed"] = error.allowed
            raise_alert(
                s,
                platform.audit,
                kind=alert[0],
                severity=alert[1],
                organisation_id=plan.agreement.controller_id,
                refs=refs,
                details=counts,
            )


def _refused(
    platform: Platform, principal: Principal, instruction_id: str, error: Exception
) -> None:
    """Audit a run refused before it started; one more run than instructed is alerted."""
    with platform.db.transaction() as s:
        platform.audit.append(
            s,
            actor=principal.actor,
            action=Action.EXTRACTION_FAILED,
            refs={"instruction": instruction_id},
            details={"reason": type(error).__name__},
        )
        instruction = s.get(Instruction, instruction_id)
        if isinstance(error, RunsExhausted) and instruction is not None:
            raise_alert(
                s,
                platform.audit,
                kind=AlertKind.RUNS_EXHAUSTED,
                severity=Severity.WARNING,
                organisation_id=instruction.controller_id,
                refs={"instruction": instruction_id},
                details={"account": principal.account_id},
            )


def _open_output(platform: Platform, plan: _Plan, held: BlobInfo | None) -> _Output:
    now, store = datetime.now(UTC), platform.store
    deadline, tag = now + timedelta(days=plan.content.deadline_days), run_tag(plan.extraction_id)
    opened: list[LocalWriter] = []
    try:
        if held is None:
            expires = now + time_to_live(platform.settings)
            opened.append(store.writer(kind="quarantine", expires_at=expires, tag=tag))
        opened.append(store.writer(kind="package", expires_at=deadline, tag=tag))
        opened.append(store.writer(kind="row-digests", tag=tag))
    except BaseException:
        for w in opened:
            w.abort()
        raise
    *quarantine, package, digests = opened
    sink = Held(held) if held is not None else quarantine[0]
    return _Output(sink, package, digests, trace_key=random_bytes(32))


def extract(
    platform: Platform,
    principal: Principal,
    *,
    instruction_id: str,
    source: BinaryIO,
    source_name: str,
    encoding: Encoding = "auto",
    mapping: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    quarantined: BlobInfo | None = None,
) -> Outcome:
    """Run one extraction; raise (having recorded why, and left nothing) if it cannot finish.
    `quarantined`: the source is that blob, already in the quarantine (`source` reads it)."""
    instruction_id, owner = _check_uuid(instruction_id, "the instruction"), new_owner()
    try:
        plan = _start(
            platform, principal, instruction_id, source_name, owner=owner, held=quarantined
        )
    except EcluseError as e:
        _refused(platform, principal, instruction_id, e)
        raise
    out = _open_output(platform, plan, quarantined)
    try:
        out.lease = Lease(platform, plan.extraction_id, owner).start(holding=out.own_ids())
        _stream(
            platform,
            plan,
            out,
            source=source,
            encoding=encoding,
            mapping=mapping,
            progress=progress,
        )
        return _commit(platform, principal, plan, out)
    except BaseException as e:
        out.abort()
        with contextlib.suppress(EcluseError):  # the first error is the one to report
            _fail(platform, principal, plan, out, e)
        raise
    finally:
        if out.lease is not None:
            out.lease.stop()
