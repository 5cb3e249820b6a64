"""Listings: a table for a person, `--json` for a script. Ids, fingerprints and hashes are
shown whole, never cut nor wrapped, so that they can be copied into the next command: when the
terminal is too narrow for them, each row is printed as a block of `name  value` lines
instead of a table.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Column, Table

JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print the rows as a JSON array (full values, ISO dates).")
]
_BORDERS = 4  # a table's outer border and padding
_PER_COLUMN = 3  # a column's separator and padding
_NARROWEST = 8  # what a wrapped column needs at least


@dataclass(frozen=True, slots=True)
class Col:
    key: str
    header: str
    whole: bool = False  # an id, fingerprint or hash: never wrapped nor cut
    minutes: bool = False  # a moment shown to the minute (else the day)


def _get(row: object, key: str) -> object:
    """A row's value: a mapping's item or an object's attribute."""
    return row.get(key) if isinstance(row, Mapping) else getattr(row, key, None)


def _text(value: object, col: Col) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}" if col.minutes else f"{value:%Y-%m-%d}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Sequence) and not isinstance(value, str):
        return ", ".join(map(str, value))
    return str(value)


def _json(value: object) -> object:
    if isinstance(value, Mapping):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_json(v) for v in value]
    return value


def print_json(doc: object) -> None:
    """`doc` as JSON on standard output (dates in ISO form)."""
    sys.stdout.write(json.dumps(_json(doc), ensure_ascii=False, indent=2) + "\n")


def _needed(rows: Sequence[object], columns: Sequence[Col]) -> int:
    """The width a table needs to show its whole columns whole."""
    width = _BORDERS + _PER_COLUMN * len(columns)
    for col in columns:
        cells = [len(_text(_get(r, col.key), col)) for r in rows]
        longest = max([len(col.header), *cells])
        width += longest if col.whole else min(longest, _NARROWEST)
    return width


def show(
    out: Console,
    rows: Sequence[object],
    columns: Sequence[Col],
    *,
    as_json: bool,
    empty: str = "nothing to list",
) -> None:
    """Print `rows` (`columns` are the keys shown, in order)."""
    if as_json:
        print_json([{c.key: _get(r, c.key) for c in columns} for r in rows])
        return
    if not rows:
        out.print(empty)
        return
    if _needed(rows, columns) > out.width:
        label = max(len(c.header) for c in columns)
        for row in rows:
            for col in columns:
                out.print(
                    f"{col.header:<{label}}  {_text(_get(row, col.key), col)}", soft_wrap=True
                )
            out.print()
        return
    table = Table(*(Column(c.header, no_wrap=c.whole, overflow="fold") for c in columns))
    for row in rows:
        table.add_row(*(_text(_get(row, c.key), c) for c in columns))
    out.print(table)
