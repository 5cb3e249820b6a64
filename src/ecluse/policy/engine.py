"""The policy engine: applies instruction rules to a source, batch by batch, and reports.

Pure: batches in, governed batches and findings out. Free text kept as is still loses its
credentials (`ecluse.policy.credentials`), whatever was instructed. It fails closed: a
source missing an instructed field, an instructed column whose content looks like
credentials, or more rows in scope than instructed stop the extraction; the caller then
discards everything produced.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import polars as pl

from ecluse.errors import PolicyViolation, ValidationError
from ecluse.governance.dictionary import DICTIONARY, Category, Kind, map_headers
from ecluse.governance.scope import fields_of
from ecluse.policy.columns import judged
from ecluse.policy.columns import refused as credential_columns
from ecluse.policy.keyed import KeyedHash
from ecluse.policy.rules import Rules, Transform
from ecluse.policy.scope import as_date, scope_filter
from ecluse.policy.screening import (
    Screen,
    mask_credentials,
    screened,
    screening_flags,
)

REDACTED = "[redacted]"
CONTENT_SAMPLE = 20_000  # first rows whose content is checked for credentials, batch by batch


class VolumeExceeded(PolicyViolation):
    """More rows in scope than the instruction allows: the whole extraction stops."""

    def __init__(self, *, in_scope: int, allowed: int) -> None:
        super().__init__(
            f"{in_scope} rows in scope exceed the {allowed} the instruction allows "
            "(expected rows x (1 + tolerance), for all its runs together): extraction stopped"
        )
        self.in_scope, self.allowed = in_scope, allowed


class CredentialsRefused(PolicyViolation):
    """An instructed column carries what looks like credentials."""


@dataclass
class Findings:
    """What the engine saw and did. Counts and names only: never a value."""

    rows_read: int = 0
    rows_in_scope: int = 0
    dropped: dict[str, str] = field(default_factory=dict)  # source header -> reason
    transforms: dict[str, str] = field(default_factory=dict)  # field -> transform
    screening: dict[str, Counter[Screen]] = field(default_factory=dict)  # field -> counts
    # field -> cells prefixed with ' against CSV formula injection (filled by the package)
    neutralised: Counter[str] = field(default_factory=Counter)
    # field -> values a date transform left blank: no date, or an ambiguous one (`15/03/85`)
    blanked: Counter[str] = field(default_factory=Counter)
    # the instruction's volume once this run is counted (filled by the extraction)
    volume: dict[str, int | bool] = field(default_factory=dict)

    @property
    def rows_out_of_scope(self) -> int:
        return self.rows_read - self.rows_in_scope


def _pseudonym(col: pl.Expr, keyed: KeyedHash) -> pl.Expr:
    """Keyed HMAC-SHA256 (128 bits shown): stable within an instruction, unlinkable across."""
    return pl.when(col != "").then(keyed.expr(col)).otherwise(pl.lit(""))


def _department(col: pl.Expr) -> pl.Expr:
    """A postcode's department: two digits, three overseas (97x, 98x), and in Corsica, where
    postcodes all start with 20, 2A for 20000-20199 (Corse-du-Sud) and 2B from 20200
    (Haute-Corse)."""
    overseas = col.str.starts_with("97") | col.str.starts_with("98")
    corsica = col.str.starts_with("20") & (col.str.len_chars() == 5)  # noqa: PLR2004 - digits
    south = col.str.slice(2, 1).is_in(["0", "1"])
    return (
        pl.when(corsica & south)
        .then(pl.lit("2A"))
        .when(corsica)
        .then(pl.lit("2B"))
        .otherwise(col.str.slice(0, pl.when(overseas).then(3).otherwise(2)))
    )


_ENGINE: Final = "in-memory"


def _trimmed(raw: pl.Expr) -> pl.Expr:
    return raw.cast(pl.Utf8).fill_null("").str.strip_chars()


class Engine:
    """One extraction's engine: built for a source's headers, then fed its batches."""

    def __init__(
        self,
        rules: Rules,
        *,
        headers: Sequence[str],
        mapping: Mapping[str, str] | None = None,
        max_rows: int | None = None,
    ) -> None:
        """`max_rows`: rows in scope this run may still take (the instruction's bound less
        what its earlier runs packaged); the instruction's whole bound by default."""
        self.rules = rules
        self.max_rows = rules.max_rows if max_rows is None else min(max_rows, rules.max_rows)
        self.headers = tuple(headers)
        self.findings = Findings()
        mapped = map_headers(self.headers, mapping)
        self.columns = {f: h for h, f in mapped.mapped.items()}
        self._drop(mapped.columns)
        missing = sorted(r.field for r in rules.output_fields if r.field not in self.columns)
        if missing:
            raise ValidationError(f"the source lacks instructed fields: {missing}")
        self.findings.transforms = {r.field: r.transform.value for r in rules.output_fields}
        used = {r.field for r in rules.output_fields} | (
            fields_of(rules.scope) if rules.scope else set()
        )
        used_headers = {self.columns[f] for f in used if f in self.columns}
        self.needed = tuple(h for h in self.headers if h in used_headers)  # all it reads
        self._keyed = KeyedHash(rules.pseudonym_key, size=16)
        self._filter = scope_filter(rules.scope, self.columns) if rules.scope else pl.lit(True)
        self._select = [self._expr(r.field, r.transform) for r in rules.output_fields]
        self._free_text = [
            r.field for r in rules.output_fields if DICTIONARY[r.field].kind == Kind.FREE_TEXT
        ]
        self._dated = [
            r.field for r in rules.output_fields if r.transform in {Transform.YEAR, Transform.MONTH}
        ]
        self._screening = self._screening_columns()
        # kept free text loses its credentials (after screening, which finds where they are)
        self._masked = [
            r.field
            for r in rules.output_fields
            if r.field in self._free_text and r.transform == Transform.KEEP
        ]
        self._sampled = 0  # rows whose content was checked

    def _drop(self, columns: Iterable[tuple[str, str | None]]) -> None:
        """Record why each source column that will not travel is dropped."""
        instructed = {r.field: r.transform for r in self.rules.fields}
        for header, name in columns:
            if name is None:
                self.findings.dropped[header] = "not in the data dictionary"
            elif DICTIONARY[name].category == Category.CREDENTIAL:
                self.findings.dropped[header] = "credential: never transferred"
            elif instructed.get(name, Transform.DROP) == Transform.DROP:
                self.findings.dropped[header] = "not instructed"

    def _screening_columns(self) -> list[pl.Expr]:
        """Free text is screened in the query that transforms it: its trimmed text (what
        keeping it gives), and what screening matched in it, under names no source column
        has; beside them, for date transforms, whether the source held anything (the values
        a date transform blanked are counted)."""
        exprs: list[pl.Expr] = []
        for f in self._free_text:
            source = _trimmed(pl.col(self.columns[f]))
            exprs += [
                source.alias(f"\x00text {f}"),
                pl.struct(screening_flags(source)).alias(f"\x00flags {f}"),
            ]
        exprs += [
            (pl.col(self.columns[f]).cast(pl.Utf8).str.strip_chars().fill_null("") != "").alias(
                f"\x00filled {f}"
            )
            for f in self._dated
        ]
        return exprs

    def _expr(self, name: str, transform: Transform) -> pl.Expr:
        raw = pl.col(self.columns[name])
        col = _trimmed(raw)
        expr = {
            Transform.KEEP: col,
            Transform.PSEUDONYMISE: _pseudonym(col, self._keyed),
            Transform.YEAR: as_date(raw).dt.strftime("%Y"),  # as_date trims itself
            Transform.MONTH: as_date(raw).dt.strftime("%Y-%m"),
            Transform.DEPARTMENT: _department(col),
            Transform.REDACT: pl.when(col != "").then(pl.lit(REDACTED)).otherwise(pl.lit("")),
        }[transform]
        return expr.fill_null("").alias(name)

    def _governed(self, batch: pl.DataFrame) -> pl.DataFrame:
        """The batch filtered, transformed and screened in one Polars query (only the columns
        used are gathered); over the first rows, their content is checked for credentials in
        a second query run beside it. The in-memory engine evaluates the query's columns side
        by side on every core; the streaming one would run a batch this size as one morsel,
        on one core."""
        query = batch.lazy().filter(self._filter).select(*self._select, *self._screening)
        if self._sampled >= CONTENT_SAMPLE:
            return query.collect(engine=_ENGINE)
        instructed = {self.columns[r.field]: r.field for r in self.rules.output_fields}
        sample = batch.lazy().head(CONTENT_SAMPLE - self._sampled)
        kept, judgement = pl.collect_all([query, judged(sample, instructed)], engine=_ENGINE)
        self._sampled += min(batch.height, CONTENT_SAMPLE - self._sampled)
        refused = credential_columns(judgement, instructed)
        if refused:
            raise CredentialsRefused(
                f"column {refused[0]!r} (instructed as {instructed[refused[0]]!r}) looks "
                "like credentials: extraction stopped"
            )
        return kept

    def apply(self, batch: pl.DataFrame) -> pl.DataFrame:
        """One governed batch; raises (and the caller discards everything) when it must
        stop."""
        if not set(self.needed) <= set(batch.columns):
            raise ValidationError("a batch lacks source columns the instruction uses")
        kept = self._governed(batch)
        self.findings.rows_read += batch.height
        self.findings.rows_in_scope += kept.height
        if self.findings.rows_in_scope > self.max_rows:
            raise VolumeExceeded(in_scope=self.findings.rows_in_scope, allowed=self.max_rows)
        for name in self._dated:
            blank = kept[f"\x00filled {name}"] & (kept[name] == "")
            self.findings.blanked[name] += int(blank.sum())
        masked = []
        for name in self._free_text:
            text, flags = kept[f"\x00text {name}"], kept[f"\x00flags {name}"].struct.unnest()
            counts, without = screened(text, flags)
            self.findings.screening.setdefault(name, Counter()).update(counts)
            if name in self._masked:  # kept as is: its text is the one screened
                masked.append(without.alias(name))
        return kept.select(r.field for r in self.rules.output_fields).with_columns(masked)

    def in_scope(self, batch: pl.DataFrame) -> pl.DataFrame:
        """The batch's rows in scope, untransformed (nothing counted)."""
        return batch.filter(self._filter)

    def transform(self, rows: pl.DataFrame) -> pl.DataFrame:
        """Source-shaped rows as governed output columns (nothing counted or checked)."""
        out = rows.select(self._select)
        return out.with_columns(mask_credentials(out[f]) for f in self._masked)

    def run(self, batches: Iterable[pl.DataFrame]) -> Iterator[pl.DataFrame]:
        for batch in batches:
            yield self.apply(batch)
