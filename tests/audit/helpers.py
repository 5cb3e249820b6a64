"""Small helpers for audit tests."""

from __future__ import annotations

from ecluse.audit import Action, PendingEvent
from ecluse.audit.records import verify_database
from ecluse.audit.verify import VerifyReport
from ecluse.instance.platform import Platform


def append(platform: Platform, n: int, *, actor: str = "test:operator", batch: int = 1) -> None:
    for start in range(0, n, batch):
        with platform.db.transaction() as s:
            platform.audit.append_many(
                s,
                [
                    PendingEvent(
                        actor=actor,
                        action=Action.BLOB_READ,
                        refs={"blob": f"b{i}"},
                        details={"i": i},
                    )
                    for i in range(start, min(n, start + batch))
                ],
            )


def verify(platform: Platform) -> VerifyReport:
    return verify_database(platform.db.engine)
