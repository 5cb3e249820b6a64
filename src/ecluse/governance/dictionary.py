"""The data dictionary: every field a laboratory patient export may carry, its category, and
the source headers (French and English) known to mean it.

Mapping is deny-by-default: a header that matches no field is reported as unmapped and never
travels; a credential field can be recognised but never instructed (see the policy engine).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

from ecluse.errors import ValidationError


class Category(StrEnum):
    IDENTITY = "identity"
    CONTACT = "contact"
    VISIT = "visit"
    CLINICAL = "clinical"
    PRESCRIBER = "prescriber"
    SAMPLER = "sampler"
    INSURER = "insurer"
    CREDENTIAL = "credential"


class Kind(StrEnum):
    IDENTIFIER = "identifier"  # NIR, INS, payer id: pseudonymise or keep, never generalise
    TEXT = "text"
    CODE = "code"  # sex, blood group, postcode
    DATE = "date"
    FREE_TEXT = "free_text"  # comments: may name pathologies, hold identifiers
    # credentials: refused everywhere (a kind of field, not a password)
    SECRET = "secret"  # noqa: S105 - a kind's name  # nosec B105


@dataclass(frozen=True, slots=True)
class FieldDef:
    name: str
    category: Category
    kind: Kind
    label: str
    aliases: tuple[str, ...]


def _f(name: str, category: Category, kind: Kind, label: str, *aliases: str) -> FieldDef:
    return FieldDef(name=name, category=category, kind=kind, label=label, aliases=(name, *aliases))


C, K = Category, Kind
_FIELDS = (
    _f(
        "nir",
        C.IDENTITY,
        K.IDENTIFIER,
        "social-security number (NIR)",
        "num_secu",
        "n_secu",
        "no_secu",
        "numero_securite_sociale",
        "num_ss",
        "no_ss",
        "n_ss",
        "secu",
        "ssn",
        "social_security_number",
        "insee",
    ),
    _f(
        "ins",
        C.IDENTITY,
        K.IDENTIFIER,
        "national health identifier (INS)",
        "ins_matricule",
        "matricule_ins",
        "ins_nir",
        "national_health_id",
    ),
    _f(
        "birth_name",
        C.IDENTITY,
        K.TEXT,
        "birth name",
        "nom_naissance",
        "nom_de_naissance",
        "nom_jeune_fille",
        "nom",
        "last_name",
        "surname",
        "family_name",
    ),
    _f(
        "used_name",
        C.IDENTITY,
        K.TEXT,
        "used name",
        "nom_usage",
        "nom_d_usage",
        "nom_marital",
        "married_name",
    ),
    _f(
        "first_names",
        C.IDENTITY,
        K.TEXT,
        "first names",
        "prenoms",
        "prenom",
        "first_name",
        "given_names",
        "given_name",
    ),
    _f("sex", C.IDENTITY, K.CODE, "sex", "sexe", "gender"),
    _f(
        "birth_date",
        C.IDENTITY,
        K.DATE,
        "birth date",
        "date_naissance",
        "date_de_naissance",
        "ddn",
        "dob",
        "date_of_birth",
    ),
    _f(
        "birth_place",
        C.IDENTITY,
        K.CODE,
        "birth place (INSEE code)",
        "lieu_naissance",
        "lieu_de_naissance",
        "code_lieu_naissance",
        "place_of_birth",
    ),
    _f("address", C.CONTACT, K.TEXT, "address", "adresse", "adresse_postale", "street"),
    _f(
        "postcode",
        C.CONTACT,
        K.CODE,
        "postcode",
        "code_postal",
        "cp",
        "zip",
        "zip_code",
        "postal_code",
    ),
    _f("city", C.CONTACT, K.TEXT, "city", "ville", "commune", "town"),
    _f(
        "phone",
        C.CONTACT,
        K.TEXT,
        "phone",
        "telephone",
        "tel",
        "portable",
        "mobile",
        "phone_number",
    ),
    _f("email", C.CONTACT, K.TEXT, "e-mail", "mail", "courriel", "e_mail", "adresse_mail"),
    _f("exam_date", C.VISIT, K.DATE, "exam date", "date_examen", "date_prelevement", "sample_date"),
    _f(
        "last_visit",
        C.VISIT,
        K.DATE,
        "last visit",
        "date_derniere_visite",
        "derniere_visite",
        "date_dernier_passage",
        "last_visit_date",
    ),
    _f("laboratory", C.VISIT, K.CODE, "laboratory / site", "laboratoire", "labo", "site", "lab"),
    _f(
        "blood_group",
        C.CLINICAL,
        K.CODE,
        "blood group",
        "groupe_sanguin",
        "groupe_rhesus",
        "abo_rh",
    ),
    _f("results", C.CLINICAL, K.FREE_TEXT, "results", "resultats", "resultat"),
    _f(
        "comment_p",
        C.CLINICAL,
        K.FREE_TEXT,
        "patient comment",
        "commentaire_p",
        "commentaire_patient",
        "comment_patient",
    ),
    _f(
        "comment_d",
        C.CLINICAL,
        K.FREE_TEXT,
        "file comment",
        "commentaire_d",
        "commentaire_dossier",
        "comment_file",
    ),
    _f(
        "prescriber_name",
        C.PRESCRIBER,
        K.TEXT,
        "prescriber",
        "prescripteur",
        "medecin_prescripteur",
        "prescriber",
    ),
    _f(
        "prescriber_id",
        C.PRESCRIBER,
        K.IDENTIFIER,
        "prescriber RPPS",
        "rpps_prescripteur",
        "prescripteur_rpps",
        "prescriber_rpps",
    ),
    _f("sampler_name", C.SAMPLER, K.TEXT, "sampler", "preleveur", "infirmier_preleveur", "sampler"),
    _f(
        "insurer_name",
        C.INSURER,
        K.TEXT,
        "insurer",
        "mutuelle",
        "organisme_complementaire",
        "amc",
        "insurer",
    ),
    _f(
        "insurer_payer_id",
        C.INSURER,
        K.IDENTIFIER,
        "third-party payer id",
        "num_tiers_payant",
        "numero_tiers_payant",
        "n_tiers_payant",
        "tiers_payant",
        "payer_id",
    ),
    _f(
        "insurer_address",
        C.INSURER,
        K.TEXT,
        "insurer address",
        "mutuelle_adresse",
        "adresse_mutuelle",
    ),
    _f(
        "insurer_phone",
        C.INSURER,
        K.TEXT,
        "insurer phone",
        "mutuelle_telephone",
        "telephone_mutuelle",
        "tel_mutuelle",
    ),
    _f(
        "portal_login",
        C.CREDENTIAL,
        K.SECRET,
        "results-portal login",
        "login_portail",
        "identifiant_portail",
        "login",
        "identifiant",
        "username",
        "user",
    ),
    _f(
        "portal_password",
        C.CREDENTIAL,
        K.SECRET,
        "results-portal password",
        "mdp_portail",
        "mot_de_passe_portail",
        "mot_de_passe",
        "mdp",
        "password",
        "pwd",
        "passwd",
    ),
)

#: every field by name (read-only)
DICTIONARY: Mapping[str, FieldDef] = MappingProxyType({f.name: f for f in _FIELDS})
_ALIASES: Mapping[str, str] = MappingProxyType(
    {alias: f.name for f in _FIELDS for alias in f.aliases}
)


def normalise_header(header: str) -> str:
    """Lower case, accents removed, runs of anything else than letters and digits as `_`."""
    text = unicodedata.normalize("NFKD", header.strip().lstrip("\ufeff"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


@dataclass(frozen=True, slots=True)
class HeaderMapping:
    """Source header → dictionary field, in source order; `None` when nothing matched."""

    columns: tuple[tuple[str, str | None], ...]

    @property
    def mapped(self) -> dict[str, str]:
        return {h: f for h, f in self.columns if f is not None}

    @property
    def unmapped(self) -> tuple[str, ...]:
        return tuple(h for h, f in self.columns if f is None)


def _alias_unless(name: str | None, claimed: set[str]) -> str | None:
    return None if name in claimed else name


def map_headers(headers: Sequence[str], explicit: Mapping[str, str] | None = None) -> HeaderMapping:
    """Map source headers to fields: the explicit mapping first, then known aliases."""
    explicit = dict(explicit or {})
    unknown = sorted(f for f in explicit.values() if f not in DICTIONARY)
    if unknown:
        raise ValidationError(f"mapping names fields the dictionary does not have: {unknown}")
    missing = sorted(set(explicit) - set(headers))
    if missing:
        raise ValidationError(f"mapping names headers absent from the source: {missing}")
    claimed = set(explicit.values())  # an explicit mapping wins over another header's alias
    columns = tuple(
        (h, explicit.get(h) or _alias_unless(_ALIASES.get(normalise_header(h)), claimed))
        for h in headers
    )
    seen: dict[str, str] = {}
    for header, name in columns:
        if name is not None and name in seen:
            raise ValidationError(
                f"headers {seen[name]!r} and {header!r} both map to field "
                f"{name!r}: give an explicit mapping"
            )
        if name is not None:
            seen[name] = header
    return HeaderMapping(columns=columns)
