"""Tracing leaked lines field by field: the row digests against a second implementation of
their definition (Python's hmac and unicodedata), the matcher against a brute-force one, and
a table of leaks shaped as they are found — a subset of the columns, re-typed, duplicated —
on people Faker made, not our generator."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import unicodedata
from collections.abc import Callable, Sequence

import numpy as np
import polars as pl
import pytest
from faker import Faker
from hypothesis import given, settings
from hypothesis import strategies as st

from ecluse.breach.matching import PackageMatch, match
from ecluse.packages.digests import SIZE, RowDigester, as_matrix, traced_fields

FIELDS = (
    "nir", "birth_name", "first_names", "sex", "birth_date", "address", "postcode", "city",
    "phone", "email",
)  # fmt: skip
KEY = bytes(range(32))


def _people(count: int, seed: int) -> pl.DataFrame:
    fake = Faker("fr_FR")
    fake.seed_instance(seed)
    rows = []
    for _ in range(count):
        sex = fake.random_element("MF")
        first = fake.first_name_male() if sex == "M" else fake.first_name_female()
        rows.append(
            {
                "nir": fake.ssn(),
                "birth_name": fake.last_name().upper(),
                "first_names": first,
                "sex": sex,
                "birth_date": str(fake.random_int(1930, 2015)),  # the year transform's output
                "address": fake.street_address(),
                "postcode": fake.postcode(),
                "city": fake.city(),
                "phone": fake.phone_number(),
                "email": fake.email(),
            }
        )
    return pl.DataFrame(rows)


# -- the digests, by their definition --------------------------------------------------------


def _reference_value(field: str, value: str) -> str:
    value = value.strip()
    value = re.sub(r"^'+([=+\-@\t\r])", r"\1", value)
    if field in {"nir", "ins"}:
        return re.sub(r"[^0-9A-Za-z]", "", value).upper()
    if field == "phone":
        digits = re.sub(r"\D", "", value)
        return re.sub(r"^(?:00)?330?(\d{9})$", r"0\1", digits)
    decomposed = unicodedata.normalize("NFKD", value)
    bare = "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))
    return " ".join(bare.lower().split())


def _reference_digest(field: str, value: str) -> bytes:
    norm = _reference_value(field, value)
    if not norm:
        return bytes(SIZE)
    message = f"{field}\x1f{norm}".encode()
    return hmac.new(KEY.hex().encode(), message, hashlib.sha256).digest()[:SIZE]


def test_digests_are_what_their_definition_says() -> None:
    people = _people(300, seed=11).with_columns(
        pl.Series("city", ["  Saint-Étienne ", "SAINT-ÉTIENNE", "", *[None] * 297]),
        pl.Series("phone", ["'+33 6 12 34 56 78", "0033612345678", *["06 12 34 56 78"] * 298]),
    )
    ours = RowDigester(KEY, FIELDS).digests(people)
    theirs = b"".join(
        _reference_digest(f, row[f] or "") for row in people.iter_rows(named=True) for f in FIELDS
    )
    assert ours == theirs
    matrix = as_matrix(ours, len(FIELDS))
    assert matrix[0, 7] == matrix[1, 7] != 0  # accents kept, case and spaces folded
    assert matrix[2, 7] == matrix[3, 7] == 0  # empty and null: nothing to match
    assert len(set(matrix[:3, 8])) == 1  # three spellings of one phone number


def test_the_traced_fields_are_identity_and_contact_or_else_everything() -> None:
    assert traced_fields(["nir", "blood_group", "city", "comment_p"]) == ("nir", "city")
    assert traced_fields(["blood_group", "laboratory"]) == ("blood_group", "laboratory")


# -- the matcher against a brute-force one ---------------------------------------------------


def _reference_found(agreeing: set[str], common: Sequence[str]) -> bool:
    """The rule as the matching module's docstring states it."""
    weak = {"sex", "birth_place", "postcode", "city"}
    return bool(
        agreeing & {"nir", "ins"}
        or (agreeing & {"phone", "email"} and len(agreeing) >= 2)
        or (
            agreeing & {"birth_name", "used_name"}
            and "first_names" in agreeing
            and len(agreeing - {"sex"}) >= 3
        )
        or (agreeing == set(common) and len(agreeing - {"sex"}) >= 3 and len(agreeing - weak) >= 2)
    )


def _reference_candidate(line: dict[str, int], row: dict[str, int], common: list[str]) -> bool:
    def shares(*fields: str) -> bool:
        return all(f in common and line[f] and line[f] == row[f] for f in fields)

    keys = [("nir",), ("ins",), ("phone",), ("email",), ("address",)]
    keys += [(s, o) for s in ("birth_name", "used_name") for o in ("first_names", "birth_date")]
    keys += [("first_names", "birth_date")]
    usable = [k for k in keys if all(f in common for f in k)] or [tuple(common)]
    return any(shares(*k) for k in usable)


def _reference_match(
    package: np.ndarray,
    fields: Sequence[str],
    canaries: np.ndarray,
    sample: np.ndarray,
    sample_fields: Sequence[str],
) -> tuple[int, int, int] | None:
    common = [f for f in sample_fields if f in fields]
    marks = {tuple(c) for c in canaries.tolist()}
    lines_found = canaries_found = agreeing_total = 0
    for line_values in sample.tolist():
        line = dict(zip(sample_fields, line_values, strict=True))
        best: tuple[bool, int, bool] | None = None
        for row_values in package.tolist():
            row = dict(zip(fields, row_values, strict=True))
            if not _reference_candidate(line, row, common):
                continue
            agreeing = {f for f in common if line[f] and line[f] == row[f]}
            rank = (_reference_found(agreeing, common), len(agreeing), tuple(row_values) in marks)
            if best is None or (rank[0], rank[1], not rank[2]) > (best[0], best[1], not best[2]):
                best = rank
        if best is not None and best[0]:
            lines_found += 1
            canaries_found += best[2]
            agreeing_total += best[1]
    if not lines_found:
        return None
    return lines_found, canaries_found, round(100 * agreeing_total / (len(common) * len(sample)))


_SMALL = st.integers(0, 3)  # few values per field, zero for empty: ties and collisions abound


@settings(max_examples=300, deadline=None)
@given(
    package=st.lists(st.lists(_SMALL, min_size=len(FIELDS), max_size=len(FIELDS)), max_size=12),
    sample=st.lists(st.lists(_SMALL, min_size=len(FIELDS), max_size=len(FIELDS)), max_size=8),
    held=st.sets(st.sampled_from(FIELDS), min_size=1),
    canary_count=st.integers(0, 3),
)
def test_the_matcher_agrees_with_a_brute_force_one(
    package: list[list[int]], sample: list[list[int]], held: set[str], canary_count: int
) -> None:
    rows = np.array(package, dtype=np.uint64).reshape(-1, len(FIELDS))
    canaries = rows[:canary_count]
    sample_fields = [f for f in FIELDS if f in held]
    lines = np.array(sample, dtype=np.uint64).reshape(-1, len(FIELDS))[
        :, [FIELDS.index(f) for f in sample_fields]
    ]
    ours = match(rows, FIELDS, canaries, lines, sample_fields)
    theirs = _reference_match(rows, FIELDS, canaries, lines, sample_fields)
    assert (None if ours is None else (ours.lines, ours.canaries, ours.score)) == theirs


# -- leaks as they are found -----------------------------------------------------------------


def _bare(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))


def _retyped(frame: pl.DataFrame) -> pl.DataFrame:
    """As a person copying the lines by hand would: case changed, spaces doubled, accents
    dropped, the NIR spaced, the phone international."""

    def each(column: str, fn: Callable[[str], str]) -> pl.Expr:
        return pl.col(column).map_elements(fn, return_dtype=pl.Utf8)

    return frame.with_columns(
        each(c, lambda v: _bare(v).upper().replace(" ", "  ")) for c in frame.columns
        if c not in {"nir", "phone", "email"}
    ).with_columns(
        *([each("nir", lambda v: f"{v[0]} {v[1:3]} {v[3:5]} {v[5:10]} {v[10:13]} {v[13:]}")]
          if "nir" in frame.columns else []),
        *([each("phone", lambda v: "+33 " + re.sub(r"\D", "", v)[-9:])]
          if "phone" in frame.columns else []),
    )  # fmt: skip


PEOPLE = _people(400, seed=5)
STRANGERS = _people(200, seed=99)  # other people, the same fields

# (name, fields the leak holds, how it was mangled, lines found of 60, fields agreeing)
LEAKS: list[tuple[str, tuple[str, ...], Callable[[pl.DataFrame], pl.DataFrame], int]] = [
    ("every field", FIELDS, lambda f: f, 60),
    ("NIR, names, birth year, phone, city", ("nir", "birth_name", "first_names", "birth_date",
     "phone", "city"), lambda f: f, 60),
    ("the same, re-typed", ("nir", "birth_name", "first_names", "birth_date", "phone", "city"),
     _retyped, 60),
    ("NIR alone", ("nir",), lambda f: f, 60),
    ("names and birth year", ("birth_name", "first_names", "birth_date"), _retyped, 60),
    ("names and city", ("birth_name", "first_names", "city"), lambda f: f, 60),
    ("e-mail and first name", ("email", "first_names"), lambda f: f, 60),
    ("phone and postcode", ("phone", "postcode"), _retyped, 60),
    ("every line twice", ("nir", "birth_name"), lambda f: pl.concat([f, f]), 120),
    ("phone alone", ("phone",), lambda f: f, 0),
    ("names and sex", ("birth_name", "first_names", "sex"), lambda f: f, 0),
    ("sex, postcode and city", ("sex", "postcode", "city"), lambda f: f, 0),
    ("a field the package lacks", ("birth_name",), lambda f: f.rename({"birth_name": "used_name"}),
     0),
]  # fmt: skip


def _traced(sample: pl.DataFrame, *, key: bytes = KEY) -> PackageMatch | None:
    """`sample` digested under `key`, matched against `PEOPLE` digested under `KEY`."""
    package = RowDigester(KEY, FIELDS).matrix(PEOPLE)
    canaries = package[:0]
    held = [f for f in FIELDS if f in sample.columns]
    lines = RowDigester(key, held).matrix(sample.select(held)) if held else package[:0, :0]
    return match(package, FIELDS, canaries, lines, held)


@pytest.mark.parametrize(("name", "held", "mangle", "lines"), LEAKS, ids=[c[0] for c in LEAKS])
def test_a_leak_is_traced_on_the_fields_it_holds(
    name: str, held: tuple[str, ...], mangle: Callable[[pl.DataFrame], pl.DataFrame], lines: int
) -> None:
    found = _traced(mangle(PEOPLE.sample(60, seed=3).select(held)))
    assert (found.lines if found else 0) == lines
    if found:
        assert found.score == 100  # every field of every line agrees
        assert found.fields == dict.fromkeys(held, lines)


@pytest.mark.parametrize(("name", "held", "mangle", "lines"), LEAKS, ids=[c[0] for c in LEAKS])
def test_other_people_and_another_key_match_nothing(
    name: str, held: tuple[str, ...], mangle: Callable[[pl.DataFrame], pl.DataFrame], lines: int
) -> None:
    strangers = mangle(STRANGERS.sample(60, seed=3).select(held))
    assert _traced(strangers) is None
    assert _traced(mangle(PEOPLE.sample(60, seed=3).select(held)), key=os.urandom(32)) is None


def test_the_score_and_fields_say_what_agreed() -> None:
    """Half the lines with a wrong city: found on NIR and names, the city agreeing for half."""
    leak = PEOPLE.sample(40, seed=8).select("nir", "birth_name", "city")
    leak = leak.with_columns(
        pl.when(pl.int_range(pl.len()) % 2 == 0).then(pl.lit("Brest")).otherwise("city")
        .alias("city")
    )  # fmt: skip
    found = _traced(leak)
    assert found is not None and found.lines == 40
    assert found.fields == {"nir": 40, "birth_name": 40, "city": 20}
    assert found.score == round(100 * (40 * 2 + 20) / (40 * 3))


def test_a_canary_is_certain_and_a_tie_goes_to_the_real_row() -> None:
    package = RowDigester(KEY, FIELDS).matrix(PEOPLE)
    canary = package[[7]]
    twin = PEOPLE[[7]]
    lines = RowDigester(KEY, FIELDS).matrix(twin)
    found = match(package, FIELDS, canary, lines, FIELDS)
    assert found is not None and (found.lines, found.canaries) == (1, 1)
    doubled = np.vstack([package, package[[7]]])  # a real row just like the canary
    names = ["birth_name", "first_names", "birth_date"]
    held = RowDigester(KEY, names).matrix(twin.select(names))
    tied = match(doubled, FIELDS, canary, held, names)
    assert tied is not None and (tied.lines, tied.canaries) == (1, 1)  # both rows are marked
    unmarked = np.vstack([package, np.where(np.arange(len(FIELDS)) == 0, 1, package[7])])
    real = match(unmarked, FIELDS, canary, held, names)
    assert real is not None and (real.lines, real.canaries) == (1, 0)
