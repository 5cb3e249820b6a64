"""What the SFTP tree shows one person: the instructions of their inbox, their runs under
one, their organisation's packages. Read-only queries, run off the event loop by the server."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from ecluse import acts
from ecluse.db.models import Agreement, Blob, Extraction, Instruction
from ecluse.governance.instructions import InstructionState
from ecluse.identity import Principal
from ecluse.identity.lifecycle import still_live
from ecluse.packages import delivery
from ecluse.packages.states import PackageState
from ecluse.platform import Platform


@dataclass(frozen=True, slots=True)
class TreeQueries:
    platform: Platform
    principal: Principal

    def still_live(self, since: datetime) -> bool:
        with self.platform.db.transaction() as s:
            return still_live(s, self.principal, since=since, now=datetime.now(UTC))

    def processed_here(self, instruction_id: str) -> bool:
        with self.platform.db.transaction() as s:
            found = s.execute(
                select(Instruction.id)
                .join(Agreement, Agreement.id == Instruction.agreement_id)
                .where(
                    Instruction.id == instruction_id,
                    Agreement.processor_id == self.principal.organisation_id,
                )
            ).first()
        return found is not None

    def inbox(self) -> list[str]:
        """Signed instructions, valid today, of agreements the caller's organisation
        processes."""
        today = datetime.now(UTC).date().isoformat()
        with self.platform.db.transaction() as s:
            rows = s.execute(
                select(Instruction.id, Instruction.content)
                .join(Agreement, Agreement.id == Instruction.agreement_id)
                .where(
                    Agreement.processor_id == self.principal.organisation_id,
                    Instruction.state == InstructionState.SIGNED,
                )
                .order_by(Instruction.id)
            ).all()
        valid = []
        for instruction_id, content in rows:
            window = json.loads(content)
            if window["valid_from"] <= today <= window["valid_until"]:
                valid.append(instruction_id)
        return valid

    def runs(self, instruction_id: str) -> dict[str, bytes]:
        """The caller's extractions under an instruction, as `<id>.json`: state and counts."""
        with self.platform.db.transaction() as s:
            rows = s.execute(
                select(Extraction)
                .where(
                    Extraction.instruction_id == instruction_id,
                    Extraction.operator_id == self.principal.account_id,
                )
                .order_by(Extraction.started_at)
            ).scalars()
            return {
                f"{r.id}.json": json.dumps(
                    {
                        "extraction": r.id,
                        "state": r.state,
                        "started_at": r.started_at.isoformat(),
                        "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                        "source_bytes": r.source_bytes,
                        "error": r.error,
                    },
                    indent=1,
                ).encode()
                for r in rows
            }

    def outbox(self, *, listing: bool = False) -> list[tuple[str, int, float, int]]:
        """(id, size, time, manifest size) of the organisation's packages; a listing is
        audited, a look at one file's attributes is not."""
        if listing:
            packages = acts.list_packages(self.platform, self.principal, channel="sftp")
        else:
            with self.platform.db.transaction() as s:
                packages = delivery.list_packages(s, self.principal)
        out = []
        with self.platform.db.transaction() as s:
            for p in packages:
                blob = s.get(Blob, p.blob_id)
                if p.state != PackageState.SHREDDED and blob is not None:
                    created = p.created_at.timestamp()
                    out.append((p.id, blob.plaintext_bytes, created, len(p.manifest.encode())))
        return out
