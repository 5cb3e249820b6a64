"""Extraction of the 500,000-row leak-shaped export, CSV in -> encrypted package out, every
policy on (scope, pseudonymisation, generalisation, department, redaction, kept free text
screened and stripped of credentials, credential columns refused, quarantine encryption,
canary rows, row digests, age encryption, blob-store encryption, signed manifest), beside a
plain Polars read_csv + write_csv of the same file (file to file), in the same run (best of
three runs each, interleaved). Peak memory: the extraction's high-water mark above what was
resident before.

    python -m bench.extract [--patients 500000]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import polars as pl

from bench.common import MB, closing_line
from ecluse.config import Settings
from ecluse.demo import cast_of, instruct, recipient_key
from ecluse.instance.platform import Platform
from ecluse.services.extraction import extract
from ecluse.services.setup import init_instance
from ecluse.synth import synthesise, write_export

FIELDS = [
    ("nir", "pseudonymise"), ("birth_name", "keep"), ("first_names", "keep"), ("sex", "keep"),
    ("birth_date", "year"), ("postcode", "department"), ("city", "keep"),
    ("last_visit", "month"), ("laboratory", "keep"), ("blood_group", "keep"),
    ("comment_p", "keep"), ("comment_d", "redact"),
]  # fmt: skip


def _reset_peak() -> None:
    """Start a new high-water mark of resident memory (Linux: VmHWM)."""
    Path("/proc/self/clear_refs").write_text("5")


def _peak_mb() -> float:
    status = Path("/proc/self/status").read_text()
    line = next(x for x in status.splitlines() if x.startswith("VmHWM:"))
    return int(line.split()[1]) * 1024 / MB


def _rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() / MB


SCOPE = "last_visit >= '2017-05-07'"
RUNS = 3  # best of three, each


def _plain(src: Path, dst: Path) -> float:
    t0 = time.perf_counter()
    frame = pl.read_csv(src, separator=";", infer_schema=False)
    frame.write_csv(dst, separator=";")
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=500_000)
    patients = parser.parse_args().patients
    with tempfile.TemporaryDirectory(prefix="ecluse-bench-") as tmp:
        work = Path(tmp)
        export = work / "export.csv"
        with export.open("wb") as f:
            write_export(synthesise(patients=patients, labs=28, seed=3), f)
        size = export.stat().st_size
        settings = Settings(home=work / "home")
        init = init_instance(settings, admin_email="admin@bench.example", admin_name="Bench Admin")
        platform = Platform.open(settings)
        try:
            cast = cast_of(platform, init)
            recipient_key(cast, work)
            plain_s = ours_s = float("inf")
            peak = 0.0
            for _ in range(RUNS):  # interleaved: the host's speed drifts between runs
                plain_s = min(plain_s, _plain(export, work / "plain.csv"))
                iid = instruct(cast, scope=SCOPE, fields=FIELDS, expected=patients)
                before = _rss_mb()
                _reset_peak()
                t0 = time.perf_counter()
                with export.open("rb") as source:
                    outcome = extract(
                        platform, cast.people["operator"], instruction_id=iid,
                        source=source, source_name=export.name,
                    )  # fmt: skip
                ours_s = min(ours_s, time.perf_counter() - t0)
                peak = max(peak, _peak_mb() - before)
            (work / "plain.csv").unlink()
        finally:
            platform.close()
    f = outcome.findings
    print(
        f"{f.rows_read:,} rows ({size / MB:,.0f} MB) -> {outcome.rows:,} packaged: "
        f"extraction {ours_s:.2f} s ({f.rows_read / ours_s:,.0f} rows/s); "
        f"plain Polars read_csv + write_csv {plain_s:.2f} s ({f.rows_read / plain_s:,.0f} rows/s)"
    )
    print(f"memory: {before:,.0f} MB resident before, extraction peak {peak:,.0f} MB above that")
    closing_line(
        name="extract.rows_per_s",
        value=f.rows_read / ours_s,
        unit="rows/s",
        baseline=f.rows_read / plain_s,
    )


if __name__ == "__main__":
    main()
