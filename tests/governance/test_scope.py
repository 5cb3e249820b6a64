"""The row-scope language: what parses, what is refused, and canonical round trips."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecluse.errors import ValidationError
from ecluse.governance.dictionary import DICTIONARY, Category
from ecluse.governance.scope import BoolOp, Compare, In, Node, Not, parse_scope, to_text

VALID = [
    ("last_visit >= '2017-05-07'", Compare("last_visit", ">=", "2017-05-07")),
    ('sex == "F"', Compare("sex", "=", "F")),
    ("laboratory in ('LBM 01', 'LBM 02')", In("laboratory", ("LBM 01", "LBM 02"))),
    ("postcode NOT IN ('75011')", In("postcode", ("75011",), negated=True)),
    (
        "not sex = 'M' and laboratory = 'A' or city = 'B'",
        BoolOp(
            "or",
            (
                BoolOp("and", (Not(Compare("sex", "=", "M")), Compare("laboratory", "=", "A"))),
                Compare("city", "=", "B"),
            ),
        ),
    ),
    ("city = 'L\\'Haÿ-les-Roses'", Compare("city", "=", "L'Haÿ-les-Roses")),
]


@pytest.mark.parametrize(("text", "tree"), VALID)
def test_valid(text: str, tree: Node) -> None:
    assert parse_scope(text) == tree
    assert parse_scope(to_text(tree)) == tree


ATTACKS = [
    ("__import__('os').system('id')", "unexpected character"),
    ("__import__ = 'os'", "not a field"),
    ("portal_password = 'x'", "credential field"),
    ("portal_login in ('a')", "credential field"),
    ("sex = 'F'; DROP TABLE accounts", "unexpected character"),
    ("sex = 'F' or", "expected word"),
    ("(sex = 'F'", "expected )"),
    ("sex = F", "expected str"),
    ("sex 'F'", "expected op"),
    ("", "empty"),
    ("sex = 'F' " + "and sex = 'F' " * 110, "too large"),
    ("not " * 40 + "sex = 'F'", "too large"),
    ("x" * 2100, "longer than"),
    ("sex = 'F' sex = 'M'", "unexpected"),
    ("lambda: 1", "unexpected character"),
]


@pytest.mark.parametrize(("text", "message"), ATTACKS)
def test_refused(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        parse_scope(text)


usable = sorted(n for n, f in DICTIONARY.items() if f.category != Category.CREDENTIAL)
values = st.one_of(st.integers(-(10**6), 10**6), st.text(max_size=12))
leaves = st.one_of(
    st.builds(
        Compare, st.sampled_from(usable), st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), values
    ),
    st.builds(
        In,
        st.sampled_from(usable),
        st.lists(values, min_size=1, max_size=3).map(tuple),
        st.booleans(),
    ),
)
trees = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(Not, inner),
        st.builds(
            BoolOp,
            st.sampled_from(["and", "or"]),
            st.lists(inner, min_size=2, max_size=3).map(tuple),
        ),
    ),
    max_leaves=8,
)


@given(trees)
def test_canonical_text_parses_back_to_the_same_tree(tree: Node) -> None:
    assert parse_scope(to_text(tree)) == tree


@given(st.text(max_size=80))
def test_arbitrary_text_never_escapes_the_language(text: str) -> None:
    try:
        tree = parse_scope(text)
    except ValidationError:
        return
    assert parse_scope(to_text(tree)) == tree
