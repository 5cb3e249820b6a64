"""Audit trail figures: append rate on SQLite and PostgreSQL beside plain inserts of the same
rows (no hashing, no lock, no checkpoint), and verification of 1,000,000 events beside a plain
read of them, all in this run. Targets: >= 20,000 events/s appended on SQLite; verification
of 1,000,000 events in <= 5 s.

    python -m bench.audit [--events 1000000] [--no-postgres]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    select,
)

from bench.common import closing_line, timed
from ecluse.audit import Action, PendingEvent
from ecluse.audit.records import iter_events, verify_database
from ecluse.config import Settings
from ecluse.db.models import AuditEvent
from ecluse.instance.platform import Platform
from ecluse.services.setup import init_instance

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
ACTOR = "operator:jeanne.martin@vendor.example"


def events(n: int) -> Iterator[PendingEvent]:
    for i in range(n):
        yield PendingEvent(
            actor=ACTOR,
            action=Action.BLOB_READ,
            refs={"blob": str(uuid.UUID(int=i))},
            details={"bytes": i * 4096},
        )


def append_rate(platform: Platform, n: int, batch: int) -> float:
    pending = list(events(n))

    def run() -> None:
        for i in range(0, n, batch):
            with platform.db.transaction() as s:
                platform.audit.append_many(s, pending[i : i + batch])

    return n / timed(run)[1]


def plain_rate(engine: Engine, n: int, batch: int) -> float:
    """The same rows inserted as they are: what the database alone costs."""
    table = Table(
        f"plain_{uuid.uuid4().hex[:8]}",
        MetaData(),
        Column("seq", BigInteger, primary_key=True, autoincrement=False),
        Column("ts", String(32)),
        Column("actor", String(200)),
        Column("action", String(80)),
        Column("refs", Text),
        Column("details", Text),
        Column("prev_hash", String(64)),
        Column("hash", String(64)),
    )
    table.create(engine)
    rows = [
        {
            "seq": i,
            "ts": "2026-11-23T00:00:00.000000Z",
            "actor": ACTOR,
            "action": "store:blob:read",
            "refs": f'{{"blob":"{uuid.UUID(int=i)}"}}',
            "details": f'{{"bytes":{i * 4096}}}',
            "prev_hash": "0" * 64,
            "hash": "1" * 64,
        }
        for i in range(n)
    ]

    def run() -> None:
        for i in range(0, n, batch):
            with engine.begin() as conn:
                conn.execute(insert(table), rows[i : i + batch])

    rate = n / timed(run)[1]
    table.drop(engine)
    return rate


def open_platform(home: Path, url: str | None) -> Platform:
    settings = Settings(home=home, database_url=url)
    init_instance(settings, admin_email="bench.admin@ecluse.example", admin_name="Bench Admin")
    return Platform.open(settings)


def postgres_url() -> tuple[str, str] | None:
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            name = f"ecluse_bench_{uuid.uuid4().hex[:8]}"
            conn.execute(f'CREATE DATABASE "{name}"')  # our own name, not input
    except psycopg.Error:
        return None
    return name, f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_postgres(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def measure_appends(
    platform: Platform,
    label: str,
    rows: list[tuple[str, float, float]],
    *,
    single: int,
    batched: int,
) -> float:
    one = append_rate(platform, single, 1)
    many = append_rate(platform, batched, 500)
    rows.append(
        (f"{label} append, 1 event/transaction", one, plain_rate(platform.db.engine, single, 1))
    )
    rows.append(
        (
            f"{label} append, 500 events/transaction",
            many,
            plain_rate(platform.db.engine, batched, 500),
        )
    )
    return many


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    rows: list[tuple[str, float, float]] = []
    with tempfile.TemporaryDirectory(dir=Path(__file__).parent) as tmp:
        sqlite = open_platform(Path(tmp) / "sqlite", None)
        headline = measure_appends(sqlite, "SQLite", rows, single=2_000, batched=100_000)
        baseline = rows[-1][2]
        pg = None if args.no_postgres else postgres_url()
        if pg is not None:
            platform = open_platform(Path(tmp) / "pg", pg[1])
            measure_appends(platform, "PostgreSQL", rows, single=2_000, batched=50_000)
            platform.close()
            drop_postgres(pg[0])
        with sqlite.db.transaction() as s:
            written = s.execute(select(func.max(AuditEvent.seq))).scalar() or 0
        missing = args.events - written
        if missing > 0:
            append_rate(sqlite, missing, 5_000)
        _, read_s = timed(lambda: sum(1 for _ in iter_events(sqlite.db.engine)))
        single, single_s = timed(lambda: verify_database(sqlite.db.engine, workers=1))
        report, verify_s = timed(lambda: verify_database(sqlite.db.engine))
        sqlite.close()
    for label, value, base in rows:
        print(
            f"{label:42} {value:9.0f} events/s   plain inserts {base:9.0f}/s ({value / base:.0%})"
        )
    if pg is None:
        print("PostgreSQL: not reachable at 127.0.0.1:5432, not measured")
    print(
        f"verify {report.events:,} events (SQLite, {os.cpu_count()} cores): {verify_s:.2f} s "
        f"({report.events / verify_s:,.0f} events/s), ok={report.ok}; one process: "
        f"{single_s:.2f} s (ok={single.ok}); plain read of the same rows: {read_s:.2f} s"
    )
    closing_line(
        name="audit.append_sqlite_batched", value=headline, unit="events/s", baseline=baseline
    )


if __name__ == "__main__":
    main()
