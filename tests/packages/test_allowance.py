"""The volume is bound to the instruction, not to the run: the rows of all its runs together
stay within expected x (1 + tolerance), only `runs_allowed` runs package, a run that delivered
nothing gives its allowance back, two runs at once cannot both take the last of it, and far
fewer rows than expected are packaged but flagged and alerted."""

from __future__ import annotations

import io
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from ecluse.db.models import Alert, AuditEvent, Extraction, Package
from ecluse.errors import ValidationError
from ecluse.mandates import instructions as ins
from ecluse.packages.allowance import RunsExhausted, reserve
from ecluse.packages.extract import Outcome
from ecluse.policy import VolumeExceeded
from ecluse.services import delivery
from ecluse.services.extraction import extract
from ecluse.synth import write_export
from tests.age_tools import Identity
from tests.mandates.conftest import signed_as_before_runs
from tests.packages.conftest import FIELDS, LAST_VISIT, Export, Migration, opened


def _halves(export: Export) -> tuple[Export, Export]:
    cut = export.frame.height // 2
    parts = []
    for frame in (export.frame.head(cut), export.frame.tail(export.frame.height - cut)):
        buf = io.BytesIO()
        write_export(frame, buf)
        parts.append(Export(frame, buf.getvalue()))
    return parts[0], parts[1]


def _alerts(migration: Migration, kind: str) -> list[Alert]:
    with migration.platform.db.transaction() as s:
        return list(s.execute(select(Alert).where(Alert.kind == kind)).scalars())


def _packages(migration: Migration) -> int:
    with migration.platform.db.transaction() as s:
        return len(s.execute(select(Package.id)).all())


@pytest.mark.parametrize("runs", [1, 2, 3])
def test_no_run_beyond_those_instructed(
    migration: Migration, identity: Identity, runs: int
) -> None:
    """Today's main packages a second run of the same export: twice what was instructed."""
    n = migration.export.in_scope().height
    iid = migration.instruct(expected_rows=runs * n, tolerance_percent=0, runs_allowed=runs)
    for _ in range(runs):
        migration.run("olga", iid)
    with pytest.raises(RunsExhausted, match=f"allows {runs} run"):
        migration.run("olga", iid)
    assert _packages(migration) == runs
    (alert,) = _alerts(migration, "extraction:runs-exhausted")
    assert alert.organisation_id == migration.parties["controller"]
    with migration.platform.db.transaction() as s:
        refused = s.execute(
            select(AuditEvent.details).where(AuditEvent.action == "packages:extraction:failed")
        ).scalar_one()
    assert json.loads(refused)["reason"] == "RunsExhausted"


@pytest.mark.parametrize(
    ("expected", "sources", "stopped"),
    [
        pytest.param("a+b", "AB", None, id="two halves, each within the shared bound"),
        pytest.param("a+b-1", "AB", 1, id="the second half one row too many"),
        pytest.param("a+b", "WW", 1, id="the whole export twice"),
        pytest.param("a+b", "AW", 1, id="the first half, then the whole export"),
    ],
)
def test_two_runs_share_the_instructions_volume(
    migration: Migration, identity: Identity, expected: str, sources: str, stopped: Any
) -> None:
    half_a, half_b = _halves(migration.export)
    a, b = half_a.in_scope().height, half_b.in_scope().height
    allowed = {"a+b": a + b, "a+b-1": a + b - 1}[expected]
    iid = migration.instruct(expected_rows=allowed, tolerance_percent=0, runs_allowed=2)
    data = {"A": half_a.data, "B": half_b.data, "W": migration.export.data}
    packaged = 0
    for i, source in enumerate(sources):
        if i == stopped:
            with pytest.raises(VolumeExceeded):
                migration.run("olga", iid, data[source])
        else:
            packaged += migration.run("olga", iid, data[source]).findings.rows_in_scope
    assert packaged <= allowed
    assert _packages(migration) == len(sources) - (stopped is not None)
    alerts = _alerts(migration, "extraction:volume-exceeded")
    assert len(alerts) == (stopped is not None)
    for alert in alerts:
        assert json.loads(alert.details)["rows_allowed"] == allowed - packaged


def _fail(migration: Migration, iid: str, identity: Identity) -> None:
    with pytest.raises(ValidationError):
        migration.run("olga", iid, migration.export.data + b"1;2;3\n")


def _too_many(migration: Migration, iid: str, identity: Identity) -> None:
    with pytest.raises(VolumeExceeded):
        migration.run("olga", iid, migration.export.data + migration.export.data.split(b"\n", 1)[1])


def _deadline(migration: Migration, iid: str, identity: Identity, *, fetch: bool) -> None:
    outcome = migration.run("olga", iid)
    if fetch:
        opened(migration.platform, migration.parties["rita"], identity, outcome.package_id)
    later = datetime.now(UTC) + timedelta(days=31)
    assert delivery.enforce(migration.platform, now=later) == (1, 0)


def _cut_short(migration: Migration, iid: str, identity: Identity) -> None:
    """The recipient hangs up after the first piece (it holds rows already), then the
    package is shredded unconfirmed at its deadline."""
    outcome = migration.run("olga", iid)
    stream = delivery.download(migration.platform, migration.parties["rita"], outcome.package_id)
    assert next(stream)
    stream.close()
    later = datetime.now(UTC) + timedelta(days=31)
    assert delivery.enforce(migration.platform, now=later) == (1, 0)


def _confirmed(migration: Migration, iid: str, identity: Identity) -> None:
    rita = migration.parties["rita"]
    outcome = migration.run("olga", iid)
    got = opened(migration.platform, rita, identity, outcome.package_id)
    delivery.confirm(migration.platform, rita, outcome.package_id, rows=got.rows, sha256=got.sha256)


@pytest.mark.parametrize(
    ("first", "given_back"),
    [
        (_fail, True),  # a failed run
        (_too_many, True),  # a run the policy stopped
        (lambda m, i, k: _deadline(m, i, k, fetch=False), True),  # shredded, never fetched
        (lambda m, i, k: _deadline(m, i, k, fetch=True), False),  # downloaded: it has left
        (_cut_short, False),  # a download cut short has left too
        (_confirmed, False),
    ],
    ids=[
        "failed",
        "stopped",
        "shredded-unfetched",
        "shredded-downloaded",
        "shredded-download-cut-short",
        "confirmed",
    ],
)
def test_a_run_that_delivered_nothing_gives_its_allowance_back(
    migration: Migration, identity: Identity, first: Any, given_back: bool
) -> None:
    """Its run and its rows: the next run may take the whole volume again."""
    n = migration.export.in_scope().height
    iid = migration.instruct(expected_rows=n, tolerance_percent=0)
    first(migration, iid, identity)
    if given_back:
        assert migration.run("olga", iid).findings.rows_in_scope == n
    else:
        with pytest.raises(RunsExhausted):
            migration.run("olga", iid)


def test_an_instruction_signed_before_runs_allowed_allows_one_run(
    migration: Migration, identity: Identity
) -> None:
    today = datetime.now(UTC).date()
    iid = signed_as_before_runs(
        migration.platform,
        migration.parties,
        migration.agreement,
        scope=f"last_visit >= '{LAST_VISIT}'",
        fields=FIELDS,
        valid_from=str(today - timedelta(days=7)),
        valid_until=str(today + timedelta(days=60)),
        expected_rows=10 * migration.export.frame.height,
    )
    migration.run("olga", iid)
    with pytest.raises(RunsExhausted):
        migration.run("olga", iid)


class _Gated(io.BytesIO):
    """A source whose first read waits for `gate` (both runs started, or the other refused)."""

    def __init__(self, data: bytes, gate: Any) -> None:
        super().__init__(data)
        self.gate, self.waited = gate, False

    def read(self, size: int | None = -1, /) -> bytes:
        if not self.waited:
            self.waited = True
            self.gate()
        return super().read(size)


def _at_once(migration: Migration, iid: str, gate: Any, done: Any) -> list[Outcome | Exception]:
    results: list[Outcome | Exception] = []

    def one() -> None:
        try:
            results.append(_run(migration, iid, _Gated(migration.export.data, gate)))
        except Exception as e:  # the test counts what each run became
            results.append(e)
            done()

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def _run(migration: Migration, iid: str, source: io.BytesIO) -> Outcome:
    return extract(
        migration.platform,
        migration.parties["olga"],
        instruction_id=iid,
        source=source,
        source_name="export.csv",
    )


def test_two_runs_started_at_once_cannot_both_take_the_last_run(
    migration: Migration, identity: Identity
) -> None:
    iid = migration.instruct(expected_rows=migration.export.frame.height)
    refused = threading.Event()
    results = _at_once(migration, iid, lambda: refused.wait(30), refused.set)
    assert sorted(type(r).__name__ for r in results) == ["Outcome", "RunsExhausted"]
    assert _packages(migration) == 1


def test_two_commits_at_once_cannot_both_take_the_last_rows(
    migration: Migration, identity: Identity
) -> None:
    """Both runs started (two allowed), both read the whole export: one volume only."""
    n = migration.export.in_scope().height
    iid = migration.instruct(expected_rows=n, tolerance_percent=0, runs_allowed=2)
    both = threading.Barrier(2, timeout=30)
    results = _at_once(migration, iid, both.wait, lambda: None)
    assert sorted(type(r).__name__ for r in results) == ["Outcome", "VolumeExceeded"]
    assert _packages(migration) == 1


def test_the_reservation_holds_the_instruction_until_it_commits(
    migration: Migration, identity: Identity
) -> None:
    """Two transactions, as on two nodes: the second waits for the first, then sees its run."""
    platform, olga = migration.platform, migration.parties["olga"]
    iid = migration.instruct(expected_rows=10)
    outcome: list[BaseException | None] = []

    def second() -> None:
        try:
            with platform.db.transaction() as s:
                content, _ = ins.governed_rules(s, platform.keys, iid)
                reserve(s, iid, content=content)
            outcome.append(None)
        except Exception as e:  # recorded for the main thread
            outcome.append(e)

    with platform.db.transaction() as s:
        content, _ = ins.governed_rules(s, platform.keys, iid)
        reserve(s, iid, content=content)
        s.add(
            Extraction(
                id="00000000-0000-4000-8000-000000000001",
                instruction_id=iid,
                operator_id=olga.account_id,
                state="running",
                source_name="export.csv",
                started_at=datetime.now(UTC),
            )
        )
        s.flush()
        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(1.0)
        assert outcome == []  # still waiting on the instruction
    thread.join(timeout=60)
    assert len(outcome) == 1 and isinstance(outcome[0], RunsExhausted)


@pytest.mark.parametrize(
    ("expected", "percent", "runs", "flagged"),
    [
        pytest.param(lambda n: n, 0, 1, [False], id="as expected"),
        pytest.param(lambda n: n + 1, 0, 1, [True], id="one row short, no tolerance"),
        pytest.param(lambda n: n * 10 // 9, 10, 1, [False], id="at expected x 0.9"),
        pytest.param(lambda n: n * 10 // 9 + 1, 10, 1, [True], id="just under expected x 0.9"),
        pytest.param(lambda n: 4 * n, 50, 1, [True], id="half of expected x 0.5"),
        pytest.param(lambda n: 2 * n, 0, 2, [False, False], id="two runs make it"),
        pytest.param(lambda n: 3 * n, 0, 2, [False, True], id="two runs fall short"),
    ],
)
def test_far_fewer_rows_than_expected_are_packaged_flagged_and_alerted(
    migration: Migration,
    identity: Identity,
    *,
    expected: Any,
    percent: int,
    runs: int,
    flagged: Any,
) -> None:
    """Flagged once no run is left to make up the difference (a first of two runs is not)."""
    n = migration.export.in_scope().height
    iid = migration.instruct(
        expected_rows=expected(n), tolerance_percent=percent, runs_allowed=runs
    )
    for i, low in enumerate(flagged):
        outcome = migration.run("olga", iid)
        assert outcome.findings.rows_in_scope == n  # packaged all the same
        with migration.platform.db.transaction() as s:
            package = s.get(Package, outcome.package_id)
            assert package is not None
            run = s.get(Extraction, package.extraction_id)
            assert run is not None and run.findings is not None
            manifest_volume = json.loads(package.manifest)["findings"]["volume"]
            run_volume = json.loads(run.findings)["volume"]
        assert manifest_volume == run_volume
        assert run_volume["below_expected"] is low
        assert run_volume["instruction_rows"] == (i + 1) * n
        alerts = _alerts(migration, "extraction:volume-low")
        assert len(alerts) == low
        for alert in alerts:
            assert alert.organisation_id == migration.parties["controller"]
            assert alert.severity == "warning"
            assert json.loads(alert.details)["instruction_rows"] == (i + 1) * n
