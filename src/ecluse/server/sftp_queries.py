"""What the SFTP tree shows one person: the instructions of their inbox, their runs under
one (as `<id>.json` files), their organisation's packages. Read-only, through the services;
run off the event loop by the server."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from ecluse.services import packages, ssh
from ecluse.services.vocabulary import Platform, Principal


@dataclass(frozen=True, slots=True)
class TreeQueries:
    platform: Platform
    principal: Principal

    def still_live(self, since: datetime) -> bool:
        return ssh.live(self.platform, self.principal, since=since)

    def processed_here(self, instruction_id: str) -> bool:
        return packages.processed_here(self.platform, self.principal, instruction_id)

    def inbox(self) -> list[str]:
        return packages.inbox(self.platform, self.principal)

    def runs(self, instruction_id: str) -> dict[str, bytes]:
        """The caller's extractions under an instruction, as `<id>.json`: state and counts."""
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
            for r in packages.runs(self.platform, self.principal, instruction_id)
        }

    def outbox(self, *, listing: bool = False) -> list[packages.Shelved]:
        """The organisation's packages; a listing is audited, a look at one file is not."""
        return packages.shelf(self.platform, self.principal, listing=listing)
