"""How many runs an instruction allows is part of what the dpo signs: `runs_allowed`, one
unless written otherwise, also for instructions signed before the field existed."""

from __future__ import annotations

import json
import tomllib
from datetime import date
from typing import Any

import pytest

from ecluse.db.models import Instruction
from ecluse.errors import ValidationError
from ecluse.instance.platform import Platform
from ecluse.mandates import instructions as ins
from tests.mandates.conftest import content, signed, signed_as_before_runs

TOML = """
agreement_id = "{agreement}"
recipient_id = "{recipient}"
purpose = "Patients of one laboratory seen since 7 May 2017"
source = "old LIS export"
expected_rows = 2000
tolerance_percent = 5
runs_allowed = 3
valid_from = 2026-11-01
valid_until = 2026-12-31
fields = [{{ field = "birth_name", transform = "keep" }}]
"""


def test_one_run_unless_written_otherwise(parties: dict[str, Any], agreement: str) -> None:
    parsed = ins.parse_content(content(parties, agreement))
    assert parsed.runs_allowed == 1
    assert json.loads(parsed.canonical())["runs_allowed"] == 1  # signed, not implied
    text = TOML.format(agreement=agreement, recipient=parties["recipient"])
    assert ins.parse_content(tomllib.loads(text)).runs_allowed == 3


@pytest.mark.parametrize("runs", [0, -1, 21, "two", 1.5, None])
def test_a_run_count_that_could_not_be_meant_is_refused(
    parties: dict[str, Any], agreement: str, runs: Any
) -> None:
    with pytest.raises(ValidationError, match="runs_allowed"):
        ins.parse_content(content(parties, agreement, runs_allowed=runs))


@pytest.mark.parametrize("runs", [1, 2, 20])
def test_the_count_is_signed(
    platform: Platform, parties: dict[str, Any], agreement: str, runs: int
) -> None:
    iid = signed(platform, parties, agreement, runs_allowed=runs)
    with platform.db.transaction() as s:
        got, _ = ins.governed_rules(s, platform.keys, iid, today=date(2026, 11, 23))
        row = s.get(Instruction, iid)
        assert row is not None and json.loads(row.content)["runs_allowed"] == runs
    assert got.runs_allowed == runs


def test_an_instruction_signed_before_the_field_verifies_and_means_one(
    platform: Platform, parties: dict[str, Any], agreement: str
) -> None:
    iid = signed_as_before_runs(platform, parties, agreement)
    with platform.db.transaction() as s:
        row = s.get(Instruction, iid)
        assert row is not None and "runs_allowed" not in json.loads(row.content)
        got, _ = ins.governed_rules(s, platform.keys, iid, today=date(2026, 11, 23))
    assert got.runs_allowed == 1
