"""Credential columns judged by their dictionary field, measured on a labelled corpus.

The innocent columns are French names and places from Faker's public fr_FR lists (given
names, surnames such as "Le Gall" or "Da Silva", cities), written as real exports write them
(title case, capitals, compound names), beside codes, identifiers, dates, phones, e-mails,
addresses and results. The credential columns are passwords of several styles and portal
logins, put under each field's header. A column is the unit of decision: precision is over
the columns refused, recall over the credential columns. The figures printed here
(`pytest -s tests/policy/test_columns.py`) are the ADR's (docs/adr/0011-policy-engine.md).
"""

from __future__ import annotations

import random
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl
import pytest
from faker import Faker

from ecluse.governance.dictionary import DICTIONARY, Category
from ecluse.policy.columns import SHAPES, Shape, judged, refused
from ecluse.policy.engine import CredentialsRefused, Engine
from ecluse.policy.rules import FieldRule, Rules, Transform
from ecluse.synth import synthesise

ROWS = 100  # values per column
COLUMNS = 12  # columns per (generator, field)
KEY = bytes(range(32))

Gen = Callable[[Faker, random.Random], str]


def _compound(f: Faker, r: random.Random) -> str:
    return f"{f.first_name()}-{f.first_name()}" if r.random() < 0.5 else f.first_name()


def _several(f: Faker, r: random.Random) -> str:
    return " ".join(f.first_name() for _ in range(r.randint(1, 3)))


INNOCENT: dict[Shape, dict[str, Gen]] = {
    Shape.NAME: {
        "given names": lambda f, r: f.first_name(),
        "given names, compound": _compound,
        "given names, several": _several,
        "given names, capitals": lambda f, r: f.first_name().upper(),
        "surnames": lambda f, r: f.last_name(),
        "surnames, capitals": lambda f, r: f.last_name().upper(),
        "surnames, particles": lambda f, r: r.choice(
            ["Le Gall", "Da Silva", "N'Diaye", "D'Almeida", "McArthur", "de La Fontaine", "Dupont"]
        ),
        "cities": lambda f, r: f.city(),
        "prescribers": lambda f, r: f"Dr {f.last_name()}",
    },
    Shape.CODE: {
        "sexes": lambda f, r: r.choice("MF12"),
        "postcodes": lambda f, r: f.postcode(),
        "blood groups": lambda f, r: r.choice(["A+", "A-", "O+", "O-", "AB Rh+", "B Rh-"]),
        "site codes": lambda f, r: f"labo{r.randint(1, 6):02d}",
        "laboratories": lambda f, r: f"LBM {r.randint(1, 95):02d} {f.city().upper()}",
        "birth places": lambda f, r: r.choice(["75056", "2A004", "2B033", "97411", "35238"]),
    },
    Shape.IDENTIFIER: {
        "rpps": lambda f, r: "".join(r.choices(string.digits, k=11)),
        "payer ids": lambda f, r: "".join(r.choices(string.digits, k=9)),
        "nirs": lambda f, r: f.ssn(),
    },
    Shape.DATE: {
        "dates": lambda f, r: f.date(pattern=r.choice(["%d/%m/%Y", "%Y-%m-%d", "%d/%m/%y"])),
        "dates in words": lambda f, r: f"{r.randint(1, 28)} {f.month_name()} {f.year()}",
    },
    Shape.PHONE: {"phones": lambda f, r: f.phone_number()},
    Shape.EMAIL: {"e-mails": lambda f, r: f.email()},
    Shape.ADDRESS: {"addresses": lambda f, r: f.street_address()},
    Shape.FREE_TEXT: {
        "sentences": lambda f, r: f.sentence(),
        "results": lambda f, r: r.choice(
            ["HbA1c:6,8%", "1,26g/L", "<0.5", "Négatif", "positif", "6,8%", "TSHus=2.5mUI/L"]
        ),
        "single words": lambda f, r: f.word(),
    },
}


def _word_digits(f: Faker, r: random.Random) -> str:
    return f"{f.word()}{r.choice([r.randint(1, 99), r.randint(1940, 2020)])}"


def _word_symbol_digits(f: Faker, r: random.Random) -> str:
    return f"{f.word().capitalize()}{r.choice('#!$*&@')}{r.randint(1, 99)}"


def _leet(f: Faker, r: random.Random) -> str:
    return f.word().translate(str.maketrans("aeios", "@3105")) + str(r.randint(0, 9))


CREDENTIALS: dict[str, Gen] = {
    "passwords, generated": lambda f, r: f.password(),
    "passwords, no symbol": lambda f, r: f.password(special_chars=False),
    "passwords, word and year": _word_digits,
    "passwords, Word#77": _word_symbol_digits,
    "passwords, leet": _leet,
    "passwords, url-safe tokens": lambda f, r: secrets.token_urlsafe(9),
    "passwords, passphrases": lambda f, r: "-".join(f.words(3)),
    "passwords, PINs": lambda f, r: "".join(r.choices(string.digits, k=4)),
    "logins, patient numbers": lambda f, r: f"pat{r.randint(10**6, 10**7 - 1)}",
    "logins, first.last": lambda f, r: f"{f.first_name()}.{f.last_name()}".lower(),
    "logins, Faker user names": lambda f, r: f.user_name(),
}
# what cannot be told from a field's own values: digits alone under codes and identifiers,
# words joined by hyphens under names
UNDETECTABLE = {"passwords, passphrases", "passwords, PINs"}
FIELD_OF = {
    Shape.NAME: "first_names",
    Shape.CODE: "laboratory",
    Shape.IDENTIFIER: "insurer_payer_id",
    Shape.DATE: "birth_date",
    Shape.PHONE: "phone",
    Shape.EMAIL: "email",
    Shape.ADDRESS: "address",
    Shape.FREE_TEXT: "comment_p",
}


@dataclass(frozen=True, slots=True)
class Column:
    label: bool  # holds credentials
    style: str
    shape: Shape
    values: list[str]


def _corpus() -> list[Column]:
    fake, rng = Faker("fr_FR"), random.Random(2016)  # noqa: S311 - a seeded corpus
    fake.seed_instance(2016)
    columns = []
    for shape, styles in INNOCENT.items():
        for style, gen in styles.items():
            for _ in range(COLUMNS):
                columns.append(Column(False, style, shape, [gen(fake, rng) for _ in range(ROWS)]))
    for style, gen in CREDENTIALS.items():
        for shape in Shape:
            for _ in range(COLUMNS):
                columns.append(Column(True, style, shape, [gen(fake, rng) for _ in range(ROWS)]))
    return columns


def _decide(columns: list[Column]) -> list[bool]:
    frame = pl.DataFrame({f"c{i}": c.values for i, c in enumerate(columns)})
    fields = {f"c{i}": FIELD_OF[c.shape] for i, c in enumerate(columns)}
    out = set(refused(judged(frame.lazy(), fields).collect(), fields))
    return [f"c{i}" in out for i in range(len(columns))]


@pytest.fixture(scope="module")
def decided() -> list[tuple[Column, bool]]:
    columns = _corpus()
    return list(zip(columns, _decide(columns), strict=True))


def _report(decided: list[tuple[Column, bool]]) -> tuple[float, float, float]:
    tp = sum(c.label and d for c, d in decided)
    fp = sum(not c.label and d for c, d in decided)
    fn = sum(c.label and not d for c, d in decided)
    detectable_fn = sum(c.label and not d and c.style not in UNDETECTABLE for c, d in decided)
    precision = tp / (tp + fp)
    recall = tp / (tp + fn)
    detectable = tp / (tp + detectable_fn)
    print(f"\ncolumns: {len(decided)}; precision {precision:.3f}; recall {recall:.3f}")
    print(f"recall without passphrases and PINs: {detectable:.3f}")
    for style in CREDENTIALS:
        per = [
            f"{shape}={sum(d for c, d in decided if c.style == style and c.shape == shape)}"
            for shape in Shape
        ]
        print(f"  {style}: {', '.join(per)} of {COLUMNS}")
    return precision, recall, detectable


def test_precision_and_recall_on_the_labelled_corpus(decided: list[tuple[Column, bool]]) -> None:
    precision, recall, detectable = _report(decided)
    assert precision == 1.0  # no column of names, codes or results is refused
    assert detectable >= 0.95
    assert recall >= 0.85


@pytest.mark.parametrize("style", sorted(INNOCENT[Shape.NAME]))
def test_no_name_column_is_refused(decided: list[tuple[Column, bool]], style: str) -> None:
    assert not any(d for c, d in decided if c.style == style)


@pytest.mark.parametrize("style", sorted(set(CREDENTIALS) - UNDETECTABLE))
def test_password_and_login_columns_under_a_name_are_refused(
    decided: list[tuple[Column, bool]], style: str
) -> None:
    under_names = [d for c, d in decided if c.style == style and c.shape == Shape.NAME]
    assert sum(under_names) >= 0.9 * len(under_names)


def test_every_field_that_may_be_instructed_has_a_shape() -> None:
    fields = {n for n, f in DICTIONARY.items() if f.category != Category.CREDENTIAL}
    assert fields == set(SHAPES)


@pytest.mark.parametrize(
    ("header", "field", "values"),
    [
        ("PRENOM", "first_names", ["Philippe", "Jérôme", "Hélène", "Anne-Sophie", "Loïc"]),
        ("NOM", "birth_name", ["Dupont", "Le Gall", "Da Silva", "N'Diaye", "Lefèvre"]),
        ("NOM", "birth_name", ["DUPONT", "LE GALL", "DA SILVA", "N'DIAYE", "LEFÈVRE"]),
        ("VILLE", "city", ["Saint-Brieuc", "Rennes", "L'Haÿ-les-Roses", "Quimper", "Vannes"]),
    ],
)
def test_real_name_columns_are_extracted(header: str, field: str, values: list[str]) -> None:
    frame = pl.DataFrame({header: values * 40})
    rules = Rules(
        fields=(FieldRule(field, Transform.KEEP),),
        expected_rows=frame.height,
        tolerance=0.0,
        pseudonym_key=KEY,
    )
    out = Engine(rules, headers=frame.columns).apply(frame)
    assert out[field].to_list() == frame[header].to_list()


@pytest.mark.parametrize(
    "values",
    [
        ["Bichon#77", "chaton1959", "Loulou2012", "soleil!", "Tigrou_1"],
        ["pat8537149", "pat1102934", "pat5528190", "pat7736102", "pat3310298"],
        ["marie.dupont", "jean.martin", "luc.bernard", "anne.petit", "paul.durand"],
    ],
)
def test_credentials_under_a_first_names_header_stop_the_extraction(values: list[str]) -> None:
    names = ["Philippe", "Jérôme", "Hélène", "Loïc", "Anne"] * 3
    frame = pl.DataFrame({"PRENOM": names + values})
    rules = Rules(
        fields=(FieldRule("first_names", Transform.KEEP),),
        expected_rows=frame.height,
        tolerance=0.0,
        pseudonym_key=KEY,
    )
    with pytest.raises(CredentialsRefused, match="PRENOM"):
        Engine(rules, headers=frame.columns).apply(frame)


def test_no_column_of_the_synthetic_export_is_refused() -> None:
    export = synthesise(patients=3_000, labs=28, seed=4)
    fields = {
        h: f
        for h in export.columns
        if (f := _field(h)) is not None and DICTIONARY[f].category != Category.CREDENTIAL
    }
    assert refused(judged(export.lazy(), fields).collect(), fields) == []


def _field(header: str) -> str | None:
    from ecluse.governance.dictionary import map_headers  # noqa: PLC0415 - one use

    return map_headers([header], None).mapped.get(header)
