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

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from ecluse.audit.canonical import canonical
from ecluse.crypto.age import Recipient
from ecluse.db.models import Agreement, Extraction
from ecluse.errors import PolicyViolation, ValidationError, present
from ecluse.kinds import Encoding
from ecluse.mandates.instructions import Content
from ecluse.packages import digests as row_digests
from ecluse.packages.allowance import Allowance
from ecluse.packages.canaries import Canaries, mix
from ecluse.packages.lease import Lease
from ecluse.packages.manifest import FORMAT, findings_json
from ecluse.packages.output import CSV_SEPARATOR, PackageWriter
from ecluse.packages.quarantine import Readable
from ecluse.packages.source import SourceReader
from ecluse.packages.stage import Stage
from ecluse.policy import Engine, Findings, Rules
from ecluse.store.interfaces import BlobInfo, BlobWriter

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
class Plan:
    extraction_id: str
    instruction_id: str
    content: Content
    rules: Rules
    agreement: Agreement
    content_sha256: str
    recipients: list[Recipient]
    allowance: Allowance  # what the instruction still allowed when the run started


@dataclass
class Output:
    quarantine: BlobWriter | None  # None: the source is already in the quarantine (`held`)
    package: BlobWriter
    digests: BlobWriter
    trace_key: bytes
    held: BlobInfo | None = None
    engine: Engine | None = None
    writer: PackageWriter | None = None
    canary_digests: bytes = b""
    canary_rows: int = 0
    lease: Lease | None = None

    @property
    def writers(self) -> list[BlobWriter]:
        """The objects this run writes (not an upload it reads from the quarantine)."""
        return [w for w in (self.quarantine, self.package, self.digests) if w is not None]

    def abort(self) -> None:
        for writer in self.writers:
            writer.abort()

    @property
    def source_bytes(self) -> int:
        if self.held is not None:
            return self.held.plaintext_bytes
        return present(self.quarantine, "quarantine").plaintext_bytes


def check_uuid(value: str, what: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError as e:
        raise ValidationError(f"{what} must be an id such as 0b5f…-…") from e


def stream(
    plan: Plan,
    out: Output,
    *,
    still_signed: Callable[[], None],
    canary_rows: int,
    source: Readable,
    encoding: Encoding,
    mapping: Mapping[str, str] | None,
    progress: Progress | None,
) -> None:
    """Reading here; governing, the quarantine and the package on background stages, so
    that the four overlap (the reader's byte work holds the GIL, the others mostly not)."""
    quarantine = (
        Stage[bytes]("quarantine", out.quarantine.write, finish=out.quarantine.finish, depth=64)
        if out.quarantine is not None
        else None  # already in the quarantine: read from there
    )
    stages: list[Stage[Any]] = [quarantine] if quarantine else []
    try:
        sink = quarantine.put if quarantine else _already_there
        reader = SourceReader(source, sink=sink, encoding=encoding)
        govern, package = _stages(plan, out, reader.headers, mapping, canary_rows=canary_rows)
        stages += [govern, package]  # a stage is stopped before the one it feeds
        engine = present(out.engine, "engine")
        for batch in reader.batches(engine.needed):
            still_signed()
            if out.lease is not None:
                out.lease.check()
            govern.put(batch)
            if progress:
                progress(reader.bytes_read)
        if quarantine:
            quarantine.end()
        govern.close()  # every batch governed and handed to the package
        package.end()
        if quarantine:
            quarantine.close()
        package.close()
    except BaseException:
        for stage in stages:
            stage.stop()
        raise


def _stages(
    plan: Plan,
    out: Output,
    headers: Sequence[str],
    mapping: Mapping[str, str] | None,
    *,
    canary_rows: int,
) -> tuple[Stage[pl.DataFrame], Stage[pl.DataFrame]]:
    """The governing stage and the package stage it feeds, their engine and writer kept in
    `out`."""
    engine = out.engine = Engine(
        plan.rules, headers=headers, mapping=mapping, max_rows=plan.allowance.rows_left
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
    governor = Governor(engine, writer, package, canaries=Canaries(canary_rows), out=out)
    return Stage[pl.DataFrame]("govern", governor), package


def _already_there(data: bytes) -> None:
    """The reader's sink when the source is read back from the quarantine."""


class Governor:
    """Applies the policy to each batch, mixes the canary rows into the first one with rows,
    and hands the result to the package stage."""

    def __init__(
        self,
        engine: Engine,
        writer: PackageWriter,
        package: Stage[pl.DataFrame],
        *,
        canaries: Canaries,
        out: Output,
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


def manifest(plan: Plan, out: Output, package_id: str, deadline: datetime) -> dict[str, Any]:
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


def finish_run(
    s: Session, extraction_id: str, state: str, out: Output, *, quarantine_id: str | None = None
) -> Extraction:
    row = present(s.get(Extraction, extraction_id), "extraction")
    row.state, row.finished_at = state, datetime.now(UTC)
    row.source_bytes = out.source_bytes
    row.quarantine_id = quarantine_id or row.quarantine_id
    if out.engine is not None:
        row.findings = canonical(findings_json(out.engine.findings))
    s.flush()
    return row
