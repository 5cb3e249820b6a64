"""`ecluse demo`: the 2020-21 migration again, with Écluse in the way.

A network of laboratories (the controller), its old software vendor (the processor) and the
new one (the recipient), named people in each, a signed Art. 28 agreement. The old vendor's
export holds every laboratory's patients, portal logins and passwords included. Instruction A
(one laboratory) asks for patients seen on or after 7 May 2017 only; instruction B (another
laboratory) lists the fields wanted, without the two free-text comment columns. Écluse keeps
only what each allows, refuses the credential columns, packages for the new vendor's age key;
the new vendor opens the packages with `age`, confirms, everything is shredded, the dpo reads
the reports and signs them off. Everything goes through the same acts as the CLI and the
API (`ecluse.services`, the packages' and reports' own), each audited in its own transaction:
the demo writes no row and no audit event of its own.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import func, select

from ecluse.audit.records import verify_database
from ecluse.config import Settings
from ecluse.db.models import Blob
from ecluse.demo.cast import (
    CUTOFF,
    FIELDS_A,
    FIELDS_B,
    VALID_DAYS,
    Cast,
    cast_of,
    fresh_code,
    instruct,
    need_age,
    recipient_key,
    tool,
)
from ecluse.demo.cast import guests as guest_accounts
from ecluse.errors import IntegrityError
from ecluse.instance.platform import Platform
from ecluse.packages.extract import Outcome
from ecluse.reports.html import render
from ecluse.services import delivery
from ecluse.services import packages as packages_acts
from ecluse.services import reports as reports_acts
from ecluse.services.extraction import extract
from ecluse.services.setup import init_instance
from ecluse.synth import synthesise, write_export

Say = Callable[[str], None]


def _open_and_confirm(cast: Cast, outcome: Outcome, age: str, identity: Path) -> dict[str, Any]:
    """The new vendor: download, `age -d` in memory, count, hash, confirm."""
    rita = cast.people["recipient"]
    ciphertext = b"".join(delivery.download(cast.platform, rita, outcome.package_id))
    opened = tool([age, "-d", "-i", str(identity)], ciphertext)
    if opened.returncode != 0:
        raise IntegrityError("age could not open the package")
    rows = pl.read_csv(io.BytesIO(opened.stdout), separator=";", infer_schema=False)
    sha = hashlib.sha256(opened.stdout).hexdigest()
    receipt = delivery.confirm(
        cast.platform, rita, outcome.package_id, rows=rows.height, sha256=sha
    )
    return {"columns": rows.columns, "rows": rows.height, "matched": receipt.matched}


def _summary(outcome: Outcome, opened: dict[str, Any]) -> dict[str, Any]:
    f = outcome.findings
    return {
        "package": outcome.package_id,
        "rows_read": f.rows_read,
        "rows_in_scope": f.rows_in_scope,
        "rows_left_out": f.rows_out_of_scope,
        "rows_packaged": outcome.rows,
        "canary_rows": outcome.canaries,
        "columns_sent": opened["columns"],
        "columns_dropped": dict(sorted(f.dropped.items())),
        "screening": {k: dict(v) for k, v in sorted(f.screening.items())},
        "recipient_rows": opened["rows"],
        "sha256_matches": opened["matched"],
    }


def _migrate(cast: Cast, frame: pl.DataFrame, data: bytes, work: Path, say: Say) -> dict[str, Any]:
    age, identity = need_age()[0], recipient_key(cast, work)
    labs = sorted(frame["LABORATOIRE"].unique())
    visit = pl.col("DATE_DERNIERE_VISITE").str.strptime(pl.Date, "%d/%m/%Y")
    lab_a, lab_b = frame.filter(pl.col("LABORATOIRE") == labs[0]), labs[1]
    recent = lab_a.filter(visit >= datetime.fromisoformat(CUTOFF).date()).height
    plans = {
        "A": (f"laboratory = '{labs[0]}' and last_visit >= '{CUTOFF}'", FIELDS_A, recent),
        "B": (
            f"laboratory = '{lab_b}'",
            FIELDS_B,
            frame.filter(pl.col("LABORATOIRE") == lab_b).height,
        ),
    }
    results: dict[str, Any] = {}
    for name, (scope, fields, expected) in plans.items():
        iid = instruct(cast, scope=scope, fields=fields, expected=expected)
        say(f"instruction {name} signed by the dpo: {scope}")
        outcome = extract(
            cast.platform,
            cast.people["operator"],
            instruction_id=iid,
            source=io.BytesIO(data),
            source_name="export_ancien_sil.csv",
        )
        say(f"instruction {name}: {outcome.rows:,} rows packaged of {len(frame):,} exported")
        results[name] = {
            "instruction": iid,
            "scope": scope,
            **_summary(outcome, _open_and_confirm(cast, outcome, age, identity)),
        }
        say(f"instruction {name}: opened with age, confirmed, shredded")
    return results


def _ready(
    cast: Cast, frame: pl.DataFrame, *, patients: int, labs: int, seed: int
) -> dict[str, Any]:
    """For whoever tries the kept instance: an instruction signed and valid today, for the
    patients of a laboratory the demo did not move, to extract under and receive. The
    demo's own recipient key, whose private half went with the demo, is revoked: a package
    is encrypted to the keys the recipient registers."""
    names = sorted(frame["LABORATOIRE"].unique())
    lab = names[min(2, len(names) - 1)]
    expected = frame.filter(pl.col("LABORATOIRE") == lab).height
    scope = f"laboratory = '{lab}'"
    iid = instruct(cast, scope=scope, fields=FIELDS_A, expected=expected)
    recipient = cast.people["recipient"]
    for key in packages_acts.recipient_keys(cast.platform, recipient):
        if key.revoked_at is None:
            packages_acts.revoke_recipient_key(cast.platform, recipient, key.id)
    return {
        "instruction": iid,
        "scope": scope,
        "expected_rows": expected,
        "valid_until": str(datetime.now(UTC).date() + timedelta(days=VALID_DAYS)),
        "synth": f"--patients {patients} --labs {labs} --seed {seed}",
    }


def _reports(cast: Cast, results: dict[str, Any], output: Path) -> list[str]:
    written = []
    output.mkdir(parents=True, exist_ok=True, mode=0o700)
    for result in results.values():
        report = reports_acts.sign_off(
            cast.platform,
            cast.people["dpo"],
            result["instruction"],
            comment="Scope, fields, receipt and deletion checked against the instruction.",
            code=fresh_code(cast, "dpo"),
        ).report
        path = output / f"migration-{result['instruction']}.html"
        path.write_text(render(report), encoding="utf-8")
        written.append(str(path))
    return written


def _left(platform: Platform) -> int:
    with platform.db.transaction() as s:
        return int(
            s.execute(
                select(func.count())
                .select_from(Blob)
                .where(Blob.state == "stored", Blob.kind.in_(["quarantine", "package"]))
            ).scalar_one()
        )


def run_demo(
    settings: Settings,
    *,
    patients: int,
    labs: int,
    seed: int,
    output: Path,
    say: Say,
    guests: bool = False,
) -> dict[str, Any]:
    """Play the migration on a fresh home; return the figures (and, with `guests`, the
    enrolment codes of accounts left for people to try the kept instance)."""
    started = time.perf_counter()
    init = init_instance(
        settings, admin_email="admin@ecluse.localhost", admin_name="Platform Admin"
    )
    platform = Platform.open(settings)
    try:
        cast = cast_of(platform, init)
        say("controller, processor and recipient created; agreement signed by both parties")
        frame = synthesise(patients=patients, labs=labs, seed=seed)
        buf = io.BytesIO()
        write_export(frame, buf)  # in memory: plaintext never touches the disk
        say(f"old vendor's export: {patients:,} patients of {labs} laboratories, 28 columns")
        with tempfile.TemporaryDirectory(prefix="ecluse-demo-") as work:
            results = _migrate(cast, frame, buf.getvalue(), Path(work), say)
        reports = _reports(cast, results, output)
        say("reports written and signed off by the controller's dpo")
        enrolment = guest_accounts(cast) if guests else {}
        ready = _ready(cast, frame, patients=patients, labs=labs, seed=seed) if guests else None
        return {
            "patients": patients,
            "laboratories": labs,
            "source_bytes": len(buf.getvalue()),
            "instructions": results,
            "objects_left": _left(platform),
            "audit_chain_ok": verify_database(platform.db.engine).ok,
            "reports": reports,
            "seconds": round(time.perf_counter() - started, 1),
            "enrolment": enrolment,
            "ready": ready,
        }
    finally:
        platform.close()
