"""The policy engine on a synthetic export: the incident's instructions A and B, and every
way an extraction must stop."""

from __future__ import annotations

import os
from datetime import date, datetime

import polars as pl
import pytest

from ecluse.errors import ValidationError
from ecluse.governance.scope import parse_scope
from ecluse.policy.engine import REDACTED, CredentialsRefused, Engine, VolumeExceeded
from ecluse.policy.rules import FieldRule, Rules, Transform
from ecluse.policy.screening import (
    CREDENTIAL_REMOVED,
    Screen,
    mask_credentials,
    screen,
)
from ecluse.synth import synthesise

KEY = bytes(range(32))
T = Transform


@pytest.fixture(scope="module")
def export() -> pl.DataFrame:
    return synthesise(patients=30_000, labs=28, seed=9)


def batches(frame: pl.DataFrame, size: int = 7_000) -> list[pl.DataFrame]:
    return [frame.slice(i, size) for i in range(0, frame.height, size)]


def in_scope_a(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.filter(
        (pl.col("LABORATOIRE") == "LBM 03 LYON")
        & (pl.col("DATE_DERNIERE_VISITE").str.strptime(pl.Date, "%d/%m/%Y") >= date(2017, 5, 7))
    )


RULES_A = (
    FieldRule("nir", T.PSEUDONYMISE),
    FieldRule("birth_name", T.KEEP),
    FieldRule("first_names", T.KEEP),
    FieldRule("sex", T.KEEP),
    FieldRule("birth_date", T.YEAR),
    FieldRule("postcode", T.DEPARTMENT),
    FieldRule("last_visit", T.KEEP),
    FieldRule("blood_group", T.KEEP),
)
SCOPE_A = parse_scope("last_visit >= '2017-05-07' and laboratory = 'LBM 03 LYON'")


def rules_a(expected: int, key: bytes = KEY, tolerance: float = 0.05) -> Rules:
    return Rules(
        fields=RULES_A,
        expected_rows=expected,
        tolerance=tolerance,
        pseudonym_key=key,
        scope=SCOPE_A,
    )


def test_instruction_a_keeps_only_what_was_asked(export: pl.DataFrame) -> None:
    truth = in_scope_a(export)
    engine = Engine(rules_a(truth.height), headers=export.columns)
    out = pl.concat(list(engine.run(batches(export))))
    f = engine.findings
    assert out.height == truth.height == f.rows_in_scope
    assert f.rows_out_of_scope == export.height - truth.height
    assert out.columns == [r.field for r in RULES_A]
    assert out["birth_name"].to_list() == truth["NOM_NAISSANCE"].to_list()
    assert out["birth_date"].to_list() == truth["DATE_NAISSANCE"].str.slice(6, 4).to_list()
    assert set(out["postcode"].str.len_chars().unique()) <= {2, 3}
    # pseudonyms: 128-bit hex, no NIR left, stable per instruction key, different across keys
    assert out["nir"].str.contains(r"^[0-9a-f]{32}$").all()
    assert not out["nir"].is_in(truth["NIR"].to_list()).any()
    other = Engine(rules_a(truth.height, key=os.urandom(32)), headers=export.columns)
    again = pl.concat(list(other.run(batches(export))))
    assert not out["nir"].is_in(again["nir"].to_list()).any()
    # findings name what was left behind, and why
    assert f.dropped["COMMENTAIRE_P"] == "not instructed"
    assert f.dropped["MDP_PORTAIL"] == "credential: never transferred"
    assert f.dropped["LOGIN_PORTAIL"] == "credential: never transferred"
    assert f.transforms["nir"] == "pseudonymise"


def test_instruction_b_without_comment_columns(export: pl.DataFrame) -> None:
    fields = (
        FieldRule("nir", T.KEEP),
        FieldRule("birth_name", T.KEEP),
        FieldRule("first_names", T.KEEP),
        FieldRule("birth_date", T.KEEP),
        FieldRule("laboratory", T.KEEP),
        FieldRule("comment_p", T.DROP),
    )
    scope = parse_scope("laboratory = 'LBM 07 NICE'")
    n = export.filter(pl.col("LABORATOIRE") == "LBM 07 NICE").height
    engine = Engine(
        Rules(fields=fields, expected_rows=n, tolerance=0.0, pseudonym_key=KEY, scope=scope),
        headers=export.columns,
    )
    out = pl.concat(list(engine.run(batches(export))))
    assert out.height == n and "comment_p" not in out.columns
    assert not any("VIH" in v for row in out.rows() for v in row)
    assert engine.findings.dropped["COMMENTAIRE_P"] == "not instructed"
    assert engine.findings.screening == {}


def test_volume_beyond_instruction_stops_everything(export: pl.DataFrame) -> None:
    truth = in_scope_a(export).height
    engine = Engine(rules_a(expected=int(truth / 1.2), tolerance=0.1), headers=export.columns)
    with pytest.raises(VolumeExceeded) as e:
        list(engine.run(batches(export)))
    assert e.value.allowed == int(int(truth / 1.2) * 1.1) and e.value.in_scope > e.value.allowed


def _disguised(frame: pl.DataFrame) -> Engine:
    """An engine keeping `comment_p`, which the mapping points at the portal passwords."""
    rules = Rules(
        fields=(FieldRule("nir", T.PSEUDONYMISE), FieldRule("comment_p", T.KEEP)),
        expected_rows=frame.height,
        tolerance=0.0,
        pseudonym_key=KEY,
    )
    disguised = {"MDP_PORTAIL": "comment_p", "COMMENTAIRE_P": "results"}
    return Engine(rules, headers=frame.columns, mapping=disguised)


def test_credentials_under_another_name_are_refused(export: pl.DataFrame) -> None:
    engine = _disguised(export)
    with pytest.raises(CredentialsRefused, match="MDP_PORTAIL"):
        list(engine.run(batches(export)))


def test_credentials_are_looked_for_over_the_first_rows_whatever_the_batches(
    export: pl.DataFrame,
) -> None:
    """A first batch of clean rows does not end the check: credentials arriving in the next
    batches, still among the first rows sampled, stop the extraction."""
    frame = export.with_columns(
        pl.when(pl.int_range(pl.len()) < 500)
        .then(pl.lit(""))
        .otherwise(pl.col("MDP_PORTAIL"))
        .alias("MDP_PORTAIL")
    )
    engine = _disguised(frame)
    with pytest.raises(CredentialsRefused, match="MDP_PORTAIL"):
        list(engine.run(batches(frame, size=500)))
    assert engine.findings.rows_read == 500  # the clean first batch went through the check


def test_free_text_is_screened_and_redaction_leaves_nothing(export: pl.DataFrame) -> None:
    rules = Rules(
        fields=(
            FieldRule("nir", T.PSEUDONYMISE),
            FieldRule("comment_p", T.KEEP),
            FieldRule("comment_d", T.REDACT),
        ),
        expected_rows=export.height,
        tolerance=0.0,
        pseudonym_key=KEY,
    )
    engine = Engine(rules, headers=export.columns)
    out = pl.concat(list(engine.run(batches(export))))
    screened = engine.findings.screening
    for category in (Screen.HEALTH, Screen.NIR, Screen.PHONE, Screen.PASSWORD):
        assert screened["comment_p"][category] > 0, category
    assert set(out["comment_d"].unique()) == {"", REDACTED}
    # kept free text keeps its words, never a credential: no password-like token survives
    assert screen(out["comment_p"])[Screen.PASSWORD] == 0
    assert out["comment_p"].str.contains(CREDENTIAL_REMOVED, literal=True).any()
    assert screen(out["comment_p"])[Screen.HEALTH] == screened["comment_p"][Screen.HEALTH]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("mdp: Xk29ab!c rappel", "mdp: [credential removed] rappel"),
        ("Password=hunter2 ok", "[credential removed] ok"),
        ("code portail Ab3dEf9hK à renouveler", "code portail [credential removed] à renouveler"),
        ("HIV+ contrôle le 12/03/2019, RAS", "HIV+ contrôle le 12/03/2019, RAS"),
        ("", ""),
    ],
)
def test_credentials_inside_kept_free_text_are_masked(text: str, masked: str) -> None:
    assert mask_credentials(pl.Series([text])).to_list() == [masked]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ((FieldRule("portal_password", T.KEEP),), "can never be instructed"),
        ((FieldRule("nir", T.YEAR),), "does not apply"),
        ((FieldRule("city", T.DEPARTMENT),), "does not apply"),
        ((FieldRule("comment_p", T.PSEUDONYMISE),), "does not apply"),
        ((FieldRule("nir", T.KEEP), FieldRule("nir", T.DROP)), "twice"),
        ((FieldRule("nir", T.DROP),), "at least one field"),
        ((FieldRule("shoe_size", T.KEEP),), "not a field"),
    ],
)
def test_rules_refused_before_any_data(fields: tuple[FieldRule, ...], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Rules(fields=fields, expected_rows=10, tolerance=0.1, pseudonym_key=KEY)


def test_source_without_an_instructed_field_is_refused(export: pl.DataFrame) -> None:
    rules = Rules(
        fields=(FieldRule("results", T.KEEP),), expected_rows=1, tolerance=0.0, pseudonym_key=KEY
    )
    with pytest.raises(ValidationError, match="lacks instructed fields"):
        Engine(rules, headers=export.columns)


def test_short_pseudonymisation_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="256 bits"):
        Rules(
            fields=(FieldRule("nir", T.KEEP),),
            expected_rows=1,
            tolerance=0.0,
            pseudonym_key=b"short",
        )


def test_dates_generalise_to_month_and_year() -> None:
    dates = ["07/05/1984", "1990-12-31", "unknown", " 01/02/2003\t", "", None]
    frame = pl.DataFrame({"DATE_NAISSANCE": dates, "DATE_DERNIERE_VISITE": dates})
    rules = Rules(
        fields=(FieldRule("birth_date", T.MONTH), FieldRule("last_visit", T.YEAR)),
        expected_rows=len(dates),
        tolerance=0.0,
        pseudonym_key=KEY,
    )
    out = Engine(rules, headers=frame.columns).apply(frame)
    assert out["birth_date"].to_list() == ["1984-05", "1990-12", "", "2003-02", "", ""]
    assert out["last_visit"].to_list() == ["1984", "1990", "", "2003", "", ""]
    assert datetime.strptime(out["birth_date"][0], "%Y-%m")


def test_screening_categories_on_written_examples() -> None:
    values = pl.Series(
        [
            "VIH+ sous trithérapie",
            "écrire à jean.dupont@free.fr",
            "tél 06 12 34 56 78",
            "NIR 1 84 12 76 451 089 46",
            "mdp: Xk2pQ9za",
            "RAS",
            "token aB3dE5gH7j",
            "184127645108917",
            "GROSSESSE 12 SA",
            "Séropositivité connue",
            "vu avec sa mère",
        ]
    )
    counts = screen(values)
    assert counts == {
        Screen.HEALTH: 3,
        Screen.EMAIL: 1,
        Screen.PHONE: 1,
        Screen.NIR: 1,
        Screen.PASSWORD: 2,
    }


@pytest.mark.parametrize(
    ("postcode", "department"),
    [
        ("69003", "69"),
        ("01000", "01"),
        ("20000", "2A"),  # Ajaccio
        ("20090", "2A"),
        ("20167", "2A"),  # Mezzavia
        ("20199", "2A"),
        ("20200", "2B"),  # Bastia
        ("20600", "2B"),
        ("20290", "2B"),  # Borgo
        ("97400", "974"),  # La Réunion
        ("97133", "971"),  # Saint-Barthélemy
        ("98800", "988"),  # Nouvelle-Calédonie
        ("", ""),
    ],
)
def test_a_postcode_becomes_its_department(postcode: str, department: str) -> None:
    from ecluse.policy.engine import _department  # noqa: PLC0415 - the transform alone

    got = pl.DataFrame({"p": [postcode]}).select(_department(pl.col("p")).alias("d"))["d"][0]
    assert got == department


@pytest.mark.parametrize(
    ("text", "year", "month"),
    [
        ("15/03/1985", "1985", "1985-03"),
        ("1985-03-15", "1985", "1985-03"),
        (" 15/03/1985 ", "1985", "1985-03"),
        ("15/03/85", None, None),  # two-digit year: ambiguous, never 0085
        ("15/03/985", None, None),
        ("31/02/1985", None, None),  # no such day
        ("85", None, None),
        ("", None, None),
    ],
)
def test_a_date_is_generalised_or_blank_never_invented(
    text: str, year: str | None, month: str | None
) -> None:
    from ecluse.policy.scope import as_date  # noqa: PLC0415 - the parse alone

    frame = pl.DataFrame({"d": [text]}).select(
        as_date(pl.col("d")).dt.strftime("%Y").alias("y"),
        as_date(pl.col("d")).dt.strftime("%Y-%m").alias("m"),
    )
    assert (frame["y"][0], frame["m"][0]) == (year, month)


@pytest.mark.parametrize(
    ("births", "transform", "blanked"),
    [
        (["15/03/1985", "1985-03-15", " 02/01/1950 "], T.YEAR, 0),
        (["15/03/85", "15/03/1985", "", "inconnue"], T.YEAR, 2),  # empty is not blanked
        (["31/02/1985", "1985-13-01", "12/2001"], T.MONTH, 3),
        (["15/03/85"] * 5, T.KEEP, 0),  # kept as written: nothing blanked
    ],
)
def test_dates_a_transform_blanks_are_counted(
    births: list[str], transform: Transform, blanked: int
) -> None:
    frame = pl.DataFrame({"NIR": ["1"] * len(births), "DATE_NAISSANCE": births})
    rules = Rules(
        fields=(FieldRule("nir", T.PSEUDONYMISE), FieldRule("birth_date", transform)),
        expected_rows=len(births),
        tolerance=0.0,
        pseudonym_key=KEY,
    )
    engine = Engine(rules, headers=frame.columns)
    out = engine.apply(frame)
    assert engine.findings.blanked["birth_date"] == blanked
    if transform != T.KEEP:
        assert (out["birth_date"] == "").sum() == blanked + births.count("")
