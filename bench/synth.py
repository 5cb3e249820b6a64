"""Synthetic export: 500,000 patients generated and written as `;`-CSV, beside Python's
`csv` module merely writing the same rows (no generation), measured in this run.
Target: 500,000 rows in <= 10 s, i.e. >= 50,000 rows/s.

    python -m bench.synth [--patients 500000]
"""

from __future__ import annotations

import argparse
import csv
import io

from bench.common import Null, closing_line, timed
from ecluse.synth import synthesise, write_export


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=500_000)
    n = parser.parse_args().patients
    frame, gen_s = timed(lambda: synthesise(patients=n, labs=28, seed=1))
    _, write_s = timed(lambda: write_export(frame, Null()))
    rows = frame.rows()

    def stdlib() -> None:
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";")
        writer.writerow(frame.columns)
        writer.writerows(rows)

    _, base_s = timed(stdlib)
    total = gen_s + write_s
    print(
        f"{n:,} patients: generated in {gen_s:.2f} s, written in {write_s:.2f} s, "
        f"total {total:.2f} s ({n / total:,.0f} rows/s)"
    )
    print(
        f"baseline: Python's csv module writing the same rows: {base_s:.2f} s "
        f"({n / base_s:,.0f} rows/s)"
    )
    closing_line(name="synth.export_rows", value=n / total, unit="rows/s", baseline=n / base_s)


if __name__ == "__main__":
    main()
