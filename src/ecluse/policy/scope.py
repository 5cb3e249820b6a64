"""Row scopes compiled to Polars filter expressions over a source's own columns.

Dates in sources come as `dd/mm/yyyy` or `yyyy-mm-dd`; a value that parses as neither, or
whose year has fewer than four digits (`15/03/85`: 1985 or 2085?), is no date: its row falls
out of scope (the comparison is null), which is the safe side, and a transform of it is
blank, never an invented year.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

import polars as pl

from ecluse.errors import ValidationError
from ecluse.governance.dictionary import DICTIONARY, Kind
from ecluse.governance.scope import Compare, In, Node, Not, Value, fields_of

_DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d")
FIRST_YEAR = 1000  # below: a two- or three-digit year, read as that year by the parser


def _date_literal(value: Value) -> date:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(str(value), fmt).date()
        except ValueError:
            continue
    raise ValidationError(f"scope: {value!r} is not a date (yyyy-mm-dd or dd/mm/yyyy)")


def _strptime(text: pl.Series, fmt: str) -> pl.Series:
    # no cache of converted values: with dates this varied, keeping it costs twice the parse
    return text.str.strptime(pl.Date, fmt, strict=False, cache=False)


def _parse_dates(values: pl.Series) -> pl.Series:
    """Each format tried only on the values no earlier one parsed: a failed parse is slow."""
    text = values.str.strip_chars()
    dates = _strptime(text, _DATE_FORMATS[0])
    for fmt in _DATE_FORMATS[1:]:
        todo = (dates.is_null() & (text != "")).arg_true()
        if todo.len():
            dates = dates.scatter(todo, _strptime(text.gather(todo), fmt))
    # a year of fewer than four digits (`15/03/85`) parses as year 85: ambiguous, so no date
    return dates.set(dates.dt.year() < FIRST_YEAR, None)


def as_date(col: pl.Expr) -> pl.Expr:
    """Source text as a date; null where it is none of the accepted formats."""
    return col.cast(pl.Utf8).map_batches(_parse_dates, return_dtype=pl.Date)


def _column(field: str, columns: Mapping[str, str]) -> pl.Expr:
    col = pl.col(columns[field])
    if DICTIONARY[field].kind == Kind.DATE:
        return as_date(col)
    return col.cast(pl.Utf8).str.strip_chars()


def _literal(field: str, value: Value) -> object:
    return _date_literal(value) if DICTIONARY[field].kind == Kind.DATE else str(value)


def _compile(node: Node, columns: Mapping[str, str]) -> pl.Expr:
    if isinstance(node, Compare):
        left, right = _column(node.field, columns), pl.lit(_literal(node.field, node.value))
        return {
            "=": left == right,
            "!=": left != right,
            "<": left < right,
            "<=": left <= right,
            ">": left > right,
            ">=": left >= right,
        }[node.op]
    if isinstance(node, In):
        values = [_literal(node.field, v) for v in node.values]
        member = _column(node.field, columns).is_in(values)
        return ~member if node.negated else member
    if isinstance(node, Not):
        return ~_compile(node.item, columns)
    parts = [_compile(i, columns) for i in node.items]
    return pl.all_horizontal(parts) if node.op == "and" else pl.any_horizontal(parts)


def scope_filter(node: Node, columns: Mapping[str, str]) -> pl.Expr:
    """A boolean expression, true for rows in scope; null (unparseable) counts as out.

    `columns` maps dictionary fields to the source's column names.
    """
    missing = sorted(fields_of(node) - set(columns))
    if missing:
        raise ValidationError(f"scope uses fields the source does not carry: {missing}")
    return _compile(node, columns).fill_null(value=False)
