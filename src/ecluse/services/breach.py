"""Tracing a leaked sample, as the host performs it: which packages it came from (see
`ecluse.breach.trace`), audited, and an incident alert for each controller concerned. The
sample stays in memory; the trail and the alerts carry ids, field names, counts and scores."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import polars as pl

from ecluse.audit import Action
from ecluse.breach.trace import (
    TraceMatch,
    candidates,
    match_package,
    read_sample,
    stored_digests,
)
from ecluse.db.models import Package
from ecluse.instance.platform import Platform
from ecluse.services.alerting import raise_alert
from ecluse.supervision.alerts import AlertKind, Severity

__all__ = ["TraceMatch", "read_sample", "trace", "trace_file"]


def _loader(platform: Platform, package: Package) -> Callable[[], bytes | None]:
    def load() -> bytes | None:
        with platform.db.transaction() as s:
            return stored_digests(s, platform.store, package)

    return load


def trace(platform: Platform, sample: pl.DataFrame, *, actor: str) -> list[TraceMatch]:
    """Match `sample` against every package; open an incident alert per controller concerned."""
    with platform.db.transaction() as s:
        packages = candidates(s)
    matches = [
        m
        for c in packages
        if (m := match_package(c, sample, keys=platform.keys, load=_loader(platform, c[0])))
    ]  # matched outside any transaction; each package's digests read in a short one
    recorded: list[TraceMatch] = []
    with platform.db.transaction() as s:
        platform.audit.append(
            s,
            actor=actor,
            action=Action.LEAK_TRACE,
            details={"sample_rows": sample.height, "packages_matched": len(matches)},
        )
        for m in matches:
            alert = raise_alert(
                s,
                platform.audit,
                kind=AlertKind.LEAK_TRACED,
                severity=Severity.CRITICAL,
                organisation_id=m.controller_id,
                refs={"package": m.package_id, "instruction": m.instruction_id},
                details={
                    "sample_rows": sample.height,
                    "rows_matched": m.rows_matched,
                    "canaries_matched": m.canaries_matched,
                    "score_percent": m.score,
                    "fields_matched": sorted(m.fields),
                },
                actor=actor,
            )
            recorded.append(replace(m, alert_id=alert))
    return recorded


def trace_file(
    platform: Platform, path: Path, *, columns: list[str] | None, actor: str
) -> tuple[int, list[TraceMatch]]:
    """(lines read, the packages they came from), from a sample file read into memory."""
    sample = read_sample(path, columns=columns)
    return sample.height, trace(platform, sample, actor=actor)
