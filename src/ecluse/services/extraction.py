"""An extraction, as every channel (and the recovery sweep) performs it: the checks and the
run recorded in one transaction and audited, the governed stream (`ecluse.packages.extract`),
the package committed with its signed manifest and audited, and any failure recorded,
audited, and alerted to the controller when the policy stopped it. Any failure leaves
nothing: every object is aborted or rolled back with its transaction."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import PurePath

from sqlalchemy.orm import Session

from ecluse.audit import Action
from ecluse.audit.canonical import JsonValue
from ecluse.crypto._primitives import random_bytes
from ecluse.crypto.envelope import package_trace_aad
from ecluse.db.models import Agreement, Extraction, Instruction, Package
from ecluse.errors import EcluseError, PolicyViolation, ValidationError, present
from ecluse.identity import Permission, Principal, require
from ecluse.instance.platform import Platform
from ecluse.kinds import Encoding
from ecluse.mandates.instructions import InstructionState, governed_rules
from ecluse.packages.allowance import RunsExhausted, reserve, settle
from ecluse.packages.extract import (
    Outcome,
    Output,
    Plan,
    Progress,
    RevokedDuringExtraction,
    check_uuid,
    finish_run,
    manifest,
    stream,
)
from ecluse.packages.lease import Lease, new_owner, run_tag
from ecluse.packages.manifest import sha256_hex, sign_manifest
from ecluse.packages.quarantine import Readable, time_to_live
from ecluse.packages.recipients import recipients_of
from ecluse.packages.states import ExtractionState, PackageState
from ecluse.policy import CredentialsRefused, VolumeExceeded
from ecluse.services.alerting import raise_alert
from ecluse.store.interfaces import BlobInfo, BlobWriter
from ecluse.supervision import AlertKind, Severity

__all__ = ["Outcome", "RevokedDuringExtraction", "extract"]


def _start(
    platform: Platform,
    principal: Principal,
    instruction_id: str,
    name: str,
    *,
    owner: str,
    held: BlobInfo | None,
) -> Plan:
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
        return Plan(
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
    """Read before each batch: a revoked instruction stops the run."""
    with platform.db.transaction() as s:
        row = s.get(Instruction, instruction_id)
        if row is None or row.state != InstructionState.SIGNED:
            raise RevokedDuringExtraction(
                "the instruction was revoked during the extraction: everything was discarded"
            )


def _locked_run(s: Session, plan: Plan) -> None:
    """Lock the instruction and the run; refuse if either changed under the extraction."""
    instruction = s.get(Instruction, plan.instruction_id, with_for_update=True)
    if instruction is None or instruction.state != InstructionState.SIGNED:
        raise RevokedDuringExtraction("the instruction was revoked: everything was discarded")
    run = s.get(Extraction, plan.extraction_id, with_for_update=True)
    if run is None or run.state != ExtractionState.RUNNING:
        raise ValidationError("the run was recorded as abandoned: everything was discarded")


def _package_row(
    platform: Platform, s: Session, plan: Plan, out: Output, *, package: BlobInfo, digests: BlobInfo
) -> Package:
    """The package's row: its objects, its signed manifest, its wrapped tracing key."""
    package_id = str(uuid.uuid4())
    written = present(out.writer, "package writer")
    deadline = present(package.expires_at, "package deadline")
    body, signature = sign_manifest(
        platform.keys.signer(), manifest(plan, out, package_id, deadline)
    )
    wrapped = platform.keys.wrap(out.trace_key, aad=package_trace_aad(package_id))
    return Package(
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


def _commit(platform: Platform, principal: Principal, plan: Plan, out: Output) -> Outcome:
    with platform.db.transaction() as s:
        _locked_run(s, plan)
        f = present(out.engine, "engine").findings
        f.volume = settle(
            s,
            plan.instruction_id,
            content=plan.content,
            run_id=plan.extraction_id,
            rows=f.rows_in_scope,
        )
        quarantine = out.quarantine.commit(s) if out.quarantine else present(out.held, "source")
        row = _package_row(
            platform, s, plan, out, package=out.package.commit(s), digests=out.digests.commit(s)
        )
        s.add(row)
        finish_run(
            s, plan.extraction_id, ExtractionState.PACKAGED, out, quarantine_id=quarantine.id
        )
        platform.audit.append(
            s,
            actor=principal.actor,
            action=Action.EXTRACTION_DONE,
            refs={
                "extraction": plan.extraction_id,
                "instruction": plan.instruction_id,
                "package": row.id,
                "quarantine": quarantine.id,
            },
            details={
                "rows_read": f.rows_read,
                "rows_in_scope": f.rows_in_scope,
                "rows_packaged": row.rows,
                "columns_dropped": len(f.dropped),
                "cells_neutralised": sum(f.neutralised.values()),
                "manifest_sha256": row.manifest_sha256,
            },
        )
        if f.volume["below_expected"]:
            _below_expected(platform, s, plan, row.id, f.volume)
    return Outcome(
        extraction_id=plan.extraction_id,
        package_id=row.id,
        rows=row.rows,
        canaries=out.canary_rows,
        findings=f,
        age_sha256=present(out.writer, "package writer").age_sha256,
        manifest_sha256=row.manifest_sha256,
    )


def _below_expected(
    platform: Platform, s: Session, plan: Plan, package_id: str, volume: dict[str, int | bool]
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


_ALERTS: dict[type[PolicyViolation], tuple[AlertKind, Severity]] = {
    VolumeExceeded: (AlertKind.VOLUME_EXCEEDED, Severity.CRITICAL),
    CredentialsRefused: (AlertKind.CREDENTIALS_REFUSED, Severity.WARNING),
    RevokedDuringExtraction: (AlertKind.REVOKED_DURING_EXTRACTION, Severity.WARNING),
}


def _fail(
    platform: Platform, principal: Principal, plan: Plan, out: Output, error: BaseException
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
        row = finish_run(
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


def _open_output(platform: Platform, plan: Plan, held: BlobInfo | None) -> Output:
    now, store = datetime.now(UTC), platform.store
    deadline, tag = now + timedelta(days=plan.content.deadline_days), run_tag(plan.extraction_id)
    opened: list[BlobWriter] = []
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
    return Output(
        quarantine[0] if quarantine else None,
        package,
        digests,
        trace_key=random_bytes(32),
        held=held,
    )


def extract(
    platform: Platform,
    principal: Principal,
    *,
    instruction_id: str,
    source: Readable,
    source_name: str,
    encoding: Encoding = "auto",
    mapping: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    quarantined: BlobInfo | None = None,
) -> Outcome:
    """Run one extraction; raise (having recorded why, and left nothing) if it cannot finish.
    `quarantined`: the source is that blob, already in the quarantine (`source` reads it)."""
    instruction_id, owner = check_uuid(instruction_id, "the instruction"), new_owner()
    try:
        plan = _start(
            platform, principal, instruction_id, source_name, owner=owner, held=quarantined
        )
    except EcluseError as e:
        _refused(platform, principal, instruction_id, e)
        raise
    out = _open_output(platform, plan, quarantined)
    try:
        out.lease = Lease(
            platform.db,
            plan.extraction_id,
            owner,
            seconds=platform.settings.extraction_lease_seconds,
        ).start(holding=[w.id for w in out.writers])
        stream(
            plan,
            out,
            still_signed=lambda: _still_signed(platform, plan.instruction_id),
            canary_rows=platform.settings.canary_rows,
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
