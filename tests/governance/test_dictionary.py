"""The data dictionary: aliases, normalisation, explicit mappings, refusals."""

from __future__ import annotations

import pytest

from ecluse.errors import ValidationError
from ecluse.governance import DICTIONARY, Category, map_headers
from ecluse.governance.dictionary import normalise_header
from ecluse.synth import HEADERS


def test_every_alias_belongs_to_one_field() -> None:
    owners: dict[str, str] = {}
    for field in DICTIONARY.values():
        for alias in field.aliases:
            assert owners.setdefault(alias, field.name) == field.name, alias
            assert alias == normalise_header(alias), alias


def test_categories_of_the_issue_are_all_present() -> None:
    assert {f.category for f in DICTIONARY.values()} == set(Category)
    credentials = {f.name for f in DICTIONARY.values() if f.category == Category.CREDENTIAL}
    assert credentials == {"portal_login", "portal_password"}


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("NIR", "nir"),
        ("N° Sécu", "nir"),
        ("Numéro Sécurité Sociale", "nir"),
        ("Social security number", "nir"),
        ("Nom de naissance", "birth_name"),
        ("PRÉNOMS", "first_names"),
        ("Date de naissance", "birth_date"),
        ("DOB", "birth_date"),
        ("Code postal", "postcode"),
        ("Téléphone", "phone"),
        ("Courriel", "email"),
        ("Groupe sanguin", "blood_group"),
        ("Commentaire_P", "comment_p"),
        ("N° tiers payant", "insurer_payer_id"),
        ("Mot de passe", "portal_password"),
        ("\ufeffNIR", "nir"),
    ],
)
def test_known_headers(header: str, field: str) -> None:
    assert map_headers([header]).mapped == {header: field}


def test_synthetic_export_maps_completely() -> None:
    mapping = map_headers(list(HEADERS))
    assert mapping.unmapped == ()
    assert len(set(mapping.mapped.values())) == len(HEADERS)


def test_unknown_headers_stay_unmapped_and_explicit_mapping_wins() -> None:
    m = map_headers(["NIR", "Zone libre", "Obs"], {"Obs": "comment_d"})
    assert m.mapped == {"NIR": "nir", "Obs": "comment_d"} and m.unmapped == ("Zone libre",)
    m = map_headers(["NIR", "X"], {"X": "nir"})  # the alias yields to the explicit mapping
    assert m.mapped == {"X": "nir"} and m.unmapped == ("NIR",)


@pytest.mark.parametrize(
    ("headers", "explicit", "message"),
    [
        (["A"], {"A": "no_such_field"}, "does not have"),
        (["A"], {"B": "nir"}, "absent from the source"),
        (["NIR", "Num secu"], None, "both map to field 'nir'"),
        (["A", "B"], {"A": "nir", "B": "nir"}, "both map"),
    ],
)
def test_refusals(headers: list[str], explicit: dict[str, str] | None, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        map_headers(headers, explicit)
