"""The screening's counts against comments labelled by hand: each category matches words,
not pieces of words, and counts a value once."""

from __future__ import annotations

from collections import Counter

import polars as pl
import pytest

from ecluse.policy.screening import Screen, screen
from tests.policy.screening_cases import LABELLED


@pytest.mark.parametrize(("text", "labels"), LABELLED, ids=[t[:30] or "empty" for t, _ in LABELLED])
def test_each_comment_counts_where_its_reader_puts_it(text: str, labels: frozenset[str]) -> None:
    found = screen(pl.Series([text]))
    assert {str(c) for c, n in found.items() if n} == labels
    assert all(n == 1 for n in found.values())


def test_a_column_counts_values_not_matches() -> None:
    texts = [t for t, _ in LABELLED]
    expected: Counter[str] = Counter(label for _, labels in LABELLED for label in labels)
    found = screen(pl.Series(texts * 2))
    assert {str(c): n for c, n in found.items()} == {k: 2 * n for k, n in expected.items()}


def test_the_categories_are_the_labels() -> None:
    assert {str(c) for c in Screen} == {label for _, ls in LABELLED for label in ls}
