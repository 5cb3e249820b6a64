"""Extraction of the 500,000-row leak-shaped export, CSV in -> encrypted package out, every
policy on (scope, pseudonymisation, generalisation, department, redaction, kept free text
screened and stripped of credentials, credential columns refused, quarantine encryption,
canary rows, row digests, age encryption, blob-store encryption, signed manifest), beside a
plain Polars read_csv + write_csv of the same bytes, in memory, in the same run.

    python -m bench.extract [--patients 500000]
"""

from __future__ import annotations

import argparse
import io
import resource
import tempfile
import time
from pathlib import Path

import polars as pl

from bench.common import MB, closing_line
from ecluse.config import Settings
from ecluse.demo import cast_of, instruct, recipient_key
from ecluse.instance import init_instance
from ecluse.packages.extract import extract
from ecluse.platform import Platform
from ecluse.synth import synthesise, write_export

FIELDS = [
    ("nir", "pseudonymise"), ("birth_name", "keep"), ("first_names", "keep"), ("sex", "keep"),
    ("birth_date", "year"), ("postcode", "department"), ("city", "keep"),
    ("last_visit", "month"), ("laboratory", "keep"), ("blood_group", "keep"),
    ("comment_p", "keep"), ("comment_d", "redact"),
]  # fmt: skip


def _rss_mb() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() / MB


def _plain(data: bytes) -> float:
    t0 = time.perf_counter()
    frame = pl.read_csv(io.BytesIO(data), separator=";", infer_schema=False)
    frame.write_csv(io.BytesIO(), separator=";")
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=500_000)
    patients = parser.parse_args().patients
    frame = synthesise(patients=patients, labs=28, seed=3)
    buf = io.BytesIO()
    write_export(frame, buf)
    data = buf.getvalue()
    del frame, buf
    with tempfile.TemporaryDirectory(prefix="ecluse-bench-") as work:
        settings = Settings(home=Path(work) / "home")
        init_instance(settings, admin_email="admin@bench.example", admin_name="Bench Admin")
        platform = Platform.open(settings)
        try:
            cast = cast_of(platform)
            recipient_key(cast, Path(work))
            iid = instruct(
                cast, scope="last_visit >= '2017-05-07'", fields=FIELDS, expected=patients
            )
            plain_s = _plain(data)  # before ours: the peak-RSS reading below is ours
            before = _rss_mb()
            t0 = time.perf_counter()
            outcome = extract(
                platform, cast.people["operator"], instruction_id=iid,
                source=io.BytesIO(data), source_name="export.csv",
            )  # fmt: skip
            ours_s = time.perf_counter() - t0
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1000
            plain_s = min(plain_s, _plain(data))  # best of two for the baseline
        finally:
            platform.close()
    f = outcome.findings
    print(
        f"{f.rows_read:,} rows ({len(data) / MB:,.0f} MB) -> {outcome.rows:,} packaged: "
        f"extraction {ours_s:.2f} s ({f.rows_read / ours_s:,.0f} rows/s); "
        f"plain Polars read_csv + write_csv {plain_s:.2f} s ({f.rows_read / plain_s:,.0f} rows/s)"
    )
    print(f"memory: {before:,.0f} MB resident before (source held in memory), peak {peak:,.0f} MB")
    closing_line(
        name="extract.rows_per_s",
        value=f.rows_read / ours_s,
        unit="rows/s",
        baseline=f.rows_read / plain_s,
    )


if __name__ == "__main__":
    main()
