"""What an instruction tells the engine: the row scope, each allowed field with its transform,
the expected volume. Checked when built: a credential field or a transform that does not fit
the field's kind is refused here, long before any data is read.

The volume bounds are exact: the tolerance is a `Decimal` and the bounds are computed as
fractions, never as floats (in floating point 100 x 1.13 is 112.99999999999999, and an
instruction allowing 113 rows would stop at the 113th).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction

from ecluse.errors import ValidationError
from ecluse.governance.dictionary import DICTIONARY, Category, Kind
from ecluse.governance.scope import Node

MIN_KEY = 32


class Transform(StrEnum):
    KEEP = "keep"
    PSEUDONYMISE = "pseudonymise"  # keyed HMAC-SHA256, per instruction
    YEAR = "year"  # a date generalised to its year
    MONTH = "month"  # … or to its month
    DEPARTMENT = "department"  # a postcode truncated to its department
    REDACT = "redact"  # free text replaced as a whole
    DROP = "drop"


_FITS: dict[Transform, set[Kind]] = {
    Transform.KEEP: {Kind.IDENTIFIER, Kind.TEXT, Kind.CODE, Kind.DATE, Kind.FREE_TEXT},
    Transform.PSEUDONYMISE: {Kind.IDENTIFIER, Kind.TEXT, Kind.CODE},
    Transform.YEAR: {Kind.DATE},
    Transform.MONTH: {Kind.DATE},
    Transform.DEPARTMENT: {Kind.CODE},
    Transform.REDACT: {Kind.FREE_TEXT, Kind.TEXT},
    Transform.DROP: {Kind.IDENTIFIER, Kind.TEXT, Kind.CODE, Kind.DATE, Kind.FREE_TEXT},
}
_DEPARTMENT_FIELDS = {"postcode", "birth_place"}


@dataclass(frozen=True, slots=True)
class FieldRule:
    field: str
    transform: Transform


@dataclass(frozen=True, slots=True)
class Rules:
    """The part of a signed instruction the engine applies."""

    fields: tuple[FieldRule, ...]
    expected_rows: int
    tolerance: Decimal  # of expected_rows, 0..1 (a float is read by its shortest spelling)
    pseudonym_key: bytes
    scope: Node | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.tolerance, Decimal):  # 0.13 means 0.13, not 0.1299999…
            object.__setattr__(self, "tolerance", Decimal(str(self.tolerance)))
        seen: set[str] = set()
        for rule in self.fields:  # first: a credential may not even be listed as dropped
            _check_rule(rule)
            if rule.field in seen:
                raise ValidationError(f"field {rule.field!r} is instructed twice")
            seen.add(rule.field)
        if all(r.transform == Transform.DROP for r in self.fields):
            raise ValidationError("an instruction must allow at least one field")
        tolerance = self.tolerance
        if self.expected_rows < 0 or not tolerance.is_finite() or not 0 <= tolerance <= 1:
            raise ValidationError("expected rows must be >= 0 and tolerance within 0..1")
        if len(self.pseudonym_key) < MIN_KEY:
            raise ValidationError("the pseudonymisation key must have at least 256 bits")

    @property
    def max_rows(self) -> int:
        """Beyond this many rows in scope (all runs together) the extraction stops."""
        return row_bounds(self.expected_rows, self.tolerance)[1]

    @property
    def min_rows(self) -> int:
        """Fewer rows in scope than this is far below what was expected."""
        return row_bounds(self.expected_rows, self.tolerance)[0]

    @property
    def output_fields(self) -> tuple[FieldRule, ...]:
        return tuple(r for r in self.fields if r.transform != Transform.DROP)


def row_bounds(expected_rows: int, tolerance: Decimal) -> tuple[int, int]:
    """(minimum, maximum) rows in scope: fewer than expected x (1 - tolerance) is far below
    what was expected, more than expected x (1 + tolerance) is refused. Exact fractions; a
    row is whole, so the maximum is rounded down and the minimum up."""
    t = Fraction(tolerance)
    return math.ceil(expected_rows * (1 - t)), math.floor(expected_rows * (1 + t))


def _check_rule(rule: FieldRule) -> None:
    field = DICTIONARY.get(rule.field)
    if field is None:
        raise ValidationError(f"{rule.field!r} is not a field of the data dictionary")
    if field.category == Category.CREDENTIAL:
        raise ValidationError(f"credential field {rule.field!r} can never be instructed")
    if field.kind not in _FITS[rule.transform] or (
        rule.transform == Transform.DEPARTMENT and rule.field not in _DEPARTMENT_FIELDS
    ):
        raise ValidationError(
            f"transform {rule.transform.value!r} does not apply to "
            f"{rule.field!r} ({field.kind.value})"
        )
