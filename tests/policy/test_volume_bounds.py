"""The instruction's volume bounds, exactly: expected x (1 ± tolerance) in whole rows, never
through a float (100 x 1.13 is 112.99999999999999 in floating point)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from ecluse.mandates.instructions import Content
from ecluse.policy.rules import FieldRule, Rules, Transform, row_bounds

KEY = bytes(range(32))
EXPECTED = [0, 1, 3, 7, 99, 100, 1000, 8403, 491_840, 1_000_000, 10**9 + 7]
GRID = [(e, t) for e in EXPECTED for t in range(101)]


def exact(expected: int, percent: int) -> tuple[int, int]:
    """(minimum, maximum) by integer arithmetic alone."""
    return -(-expected * (100 - percent) // 100), expected * (100 + percent) // 100


def content(expected: int, percent: int) -> Content:
    raw: dict[str, Any] = {
        "agreement_id": "a",
        "recipient_id": "r",
        "purpose": "Migrate one laboratory",
        "source": "old LIS",
        "fields": [{"field": "birth_name", "transform": "keep"}],
        "expected_rows": expected,
        "tolerance_percent": percent,
        "valid_from": "2026-11-01",
        "valid_until": "2026-12-31",
    }
    return Content.read(raw, what="instruction")


@pytest.mark.parametrize(("expected", "percent"), GRID)
def test_the_bounds_are_exact(expected: int, percent: int) -> None:
    rules = content(expected, percent).rules(KEY)
    assert (rules.min_rows, rules.max_rows) == exact(expected, percent)


@pytest.mark.parametrize(
    ("expected", "percent", "minimum", "maximum"),
    [
        (100, 13, 87, 113),  # the float product is 112.99999999999999
        (100, 15, 85, 115),
        (100, 57, 43, 157),
        (1000, 36, 640, 1360),
        (1_000_000, 86, 140_000, 1_860_000),
        (7, 10, 7, 7),  # 6.3 rounds up to 7, 7.7 down to 7
        (3, 50, 2, 4),
        (491_840, 0, 491_840, 491_840),
        (0, 100, 0, 0),
    ],
)
def test_known_bounds(expected: int, percent: int, minimum: int, maximum: int) -> None:
    rules = content(expected, percent).rules(KEY)
    assert (rules.min_rows, rules.max_rows) == (minimum, maximum)
    assert content(expected, percent).row_bounds == (minimum, maximum)


@pytest.mark.parametrize(
    "tolerance",
    [0.13, Decimal("0.13"), Decimal(13) / 100, "0.13"],
    ids=["float", "dec", "div", "str"],
)
def test_a_tolerance_given_as_a_float_means_what_it_says(tolerance: Any) -> None:
    rules = Rules(
        fields=(FieldRule("birth_name", Transform.KEEP),),
        expected_rows=100,
        tolerance=tolerance,
        pseudonym_key=KEY,
    )
    assert (rules.min_rows, rules.max_rows) == (87, 113)
    assert row_bounds(100, Decimal("0.13")) == (87, 113)
