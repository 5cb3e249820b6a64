"""A laboratory export of our own, unlike `ecluse synth`: one laboratory in Finistère whose
patients mostly live around it, Breton surnames with a long tail of rare ones, sexes as H/F,
ISO birth dates of an older population, NIRs written with spaces, phones in three shapes,
e-mails in three patterns, and 40 % of rows with a comment (routine notes, clinical notes,
notes of their own). Nothing here comes from `ecluse.synth`."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

HOME = (  # postcode, city, INSEE code: the laboratory's area
    ("29200", "Brest", "29019"),
    ("29280", "Plouzané", "29212"),
    ("29480", "Le Relecq-Kerhuon", "29235"),
    ("29490", "Guipavas", "29075"),
    ("29850", "Gouesnou", "29061"),
    ("29820", "Guilers", "29069"),
    ("29860", "Plabennec", "29160"),
    ("29800", "Landerneau", "29103"),
    ("29217", "Plougonvelin", "29190"),
    ("29290", "Saint-Renan", "29260"),
    ("29470", "Plougastel-Daoulas", "29189"),
    ("29810", "Plouarzel", "29178"),
)
AWAY = (  # elsewhere: students, people who moved, visitors
    ("75015", "Paris", "75115"),
    ("35000", "Rennes", "35238"),
    ("44000", "Nantes", "44109"),
    ("56100", "Lorient", "56121"),
    ("22000", "Saint-Brieuc", "22278"),
    ("29000", "Quimper", "29232"),
    ("69007", "Lyon", "69387"),
    ("33000", "Bordeaux", "33063"),
    ("13008", "Marseille", "13208"),
    ("59000", "Lille", "59350"),
    ("31000", "Toulouse", "31555"),
    ("97400", "Saint-Denis", "97411"),
    ("20000", "Ajaccio", "2A004"),
    ("67000", "Strasbourg", "67482"),
    ("06000", "Nice", "06088"),
    ("29600", "Morlaix", "29151"),
)
SURNAMES = (
    "Le Gall", "Le Goff", "Tanguy", "Le Bihan", "Kerbrat", "Le Roux", "Quéré", "Salaün",
    "Le Floch", "Guéguen", "Morvan", "Le Borgne", "Cloarec", "Abgrall", "Le Berre", "Jézéquel",
    "Le Corre", "Caroff", "Le Moal", "Pellen", "Bescond", "Madec", "Le Guen", "Rolland",
    "Le Meur", "Thomas", "Bothorel", "Mével", "Castel", "Le Dréau", "Prigent", "Kervella",
    "Léon", "Le Pape", "Calvez", "Cozic", "Le Hir", "Riou", "Le Bras", "Guillou",
)  # fmt: skip
SYLLABLES = (
    "ker", "lan", "plou", "tré", "guen", "mor", "bri", "goa", "lez", "pen", "ros", "vel",
    "dan", "hir", "bel", "loc", "ven", "cor", "gal", "dour",
)  # fmt: skip
MEN = (
    "Yann", "Erwan", "Loïc", "Gwenaël", "Ronan", "Jean", "Pierre", "Yves", "Hervé", "Alain",
    "Jacques", "Michel", "Bernard", "René", "Joseph", "Corentin", "Mathis", "Tristan",
    "Maël", "Gaël", "Goulven", "Brendan", "Paul", "Louis", "Christian", "Patrick",
)  # fmt: skip
WOMEN = (
    "Maïwenn", "Nolwenn", "Gwenaëlle", "Anne", "Marie", "Françoise", "Monique", "Yvonne",
    "Sylvie", "Soizic", "Katell", "Enora", "Rozenn", "Annick", "Catherine", "Martine",
    "Jeanne", "Léna", "Morgane", "Awen", "Nathalie", "Isabelle", "Bernadette", "Gaëlle",
)  # fmt: skip
ROUTINE = (
    "PATIENT A JEUN", "Prélèvement à domicile", "Résultats au médecin traitant",
    "Ordonnance renouvelée", "Recontrôle demandé", "Tube hémolysé recontrôlé",
)  # fmt: skip
CLINICAL = ("Suivi INR sous AVK", "Diabète type 2 suivi HbA1c", "Grossesse 12 SA")
DOCTORS = tuple(f"Dr {s} {f}" for s, f in zip(SURNAMES[::3], MEN[::2], strict=False))
INSURERS = ("MGEN", "Harmonie Mutuelle", "Groupama Loire Bretagne", "Crédit Mutuel", "CMU-C")
HEADERS = (
    "NUM_SECU", "NOM", "PRENOM", "SEXE", "DDN", "LIEU_NAISSANCE", "ADRESSE", "CP", "VILLE",
    "TEL", "MAIL", "LABO", "DATE_DERNIERE_VISITE", "PRESCRIPTEUR", "PRELEVEUR", "MUTUELLE",
    "GROUPE_SANGUIN", "COMMENTAIRE_P",
)  # fmt: skip


def _zipf(rng: np.random.Generator, size: int, exponent: float = 1.1) -> int:
    """An index below `size`, the first ones most often (a Zipf law), by inverting its
    cumulative distribution."""
    weights = np.arange(1, size + 1, dtype=np.float64) ** -exponent
    cumulative = np.cumsum(weights)
    return min(int(np.searchsorted(cumulative, rng.random() * cumulative[-1])), size - 1)


def _nir(sex: int, born: dt.date, place: str, rng: np.random.Generator) -> str:
    order = int(rng.integers(1, 1000))
    number = f"{sex}{born.year % 100:02d}{born.month:02d}{place}{order:03d}"
    key = 97 - int(number.replace("2A", "19").replace("2B", "18")) % 97
    spaced = f"{number[0]} {number[1:3]} {number[3:5]} {number[5:7]} {number[7:10]}"
    return f"{spaced} {order:03d} {key:02d}"


def _surname(rng: np.random.Generator) -> str:
    if rng.random() < 0.25:
        parts = rng.choice(len(SYLLABLES), int(rng.integers(2, 4)))
        return "".join(SYLLABLES[i] for i in parts).capitalize()
    return SURNAMES[_zipf(rng, len(SURNAMES))]


def _first(rng: np.random.Generator, names: tuple[str, ...]) -> str:
    first = names[_zipf(rng, len(names), 0.9)]
    if rng.random() < 0.3:
        return f"{first} {names[int(rng.integers(len(names)))]}"
    return first


def _phone(rng: np.random.Generator) -> str:
    kind = rng.choice(3, p=[0.5, 0.3, 0.2])
    prefix = ("06", "07", "02")[kind]
    digits = [f"{int(rng.integers(100)):02d}" for _ in range(4)]
    if rng.random() < 0.15:
        return f"+33 {prefix[1]} {' '.join(digits)}"
    return f"{prefix} {' '.join(digits)}"


def _mail(first: str, last: str, born: dt.date, rng: np.random.Generator) -> str:
    f = (
        first.split(" ", maxsplit=1)[0]
        .lower()
        .replace("ï", "i")
        .replace("ë", "e")
        .replace("é", "e")
    )
    last_ = last.lower().replace(" ", "").replace("é", "e").replace("ü", "u")
    domain = ("orange.fr", "wanadoo.fr", "gmail.com", "free.fr")[int(rng.integers(4))]
    shape = int(rng.integers(3))
    local = (f"{f}.{last_}", f"{last_}.{f}", f"{f[0]}{last_}{born.year % 100:02d}")[shape]
    return f"{local}@{domain}"


def _comment(rng: np.random.Generator) -> str:
    if rng.random() >= 0.4:
        return ""
    kind = rng.choice(3, p=[0.5, 0.2, 0.3])
    if kind == 0:
        return ROUTINE[_zipf(rng, len(ROUTINE))]
    if kind == 1:
        return CLINICAL[int(rng.integers(len(CLINICAL)))]
    minutes = int(rng.integers(10, 59))
    return f"Patient arrivé à 8h{minutes}, attente {int(rng.integers(2, 40))} min"


def regional_export(rows: int, seed: int) -> pl.DataFrame:
    """`rows` patients of one Breton laboratory, all columns as text."""
    rng = np.random.default_rng(seed)
    out: list[tuple[str, ...]] = []
    for _ in range(rows):
        sex = int(rng.integers(1, 3))
        born = dt.date(1930, 1, 1) + dt.timedelta(days=int(rng.beta(2.5, 1.6) * 365 * 80))
        home = rng.random() < 0.88
        postcode, city, insee = (
            HOME[_zipf(rng, len(HOME))] if home else AWAY[int(rng.integers(len(AWAY)))]
        )
        place = HOME[_zipf(rng, len(HOME))][2] if rng.random() < 0.7 else insee
        last, first = _surname(rng), _first(rng, MEN if sex == 1 else WOMEN)
        visit = dt.date(2023, 1, 1) + dt.timedelta(days=int(rng.integers(700)))
        out.append(
            (
                _nir(sex, born, place, rng),
                last,
                first,
                "H" if sex == 1 else "F",
                born.isoformat(),
                place,
                f"{int(rng.integers(1, 120))} rue de {SURNAMES[int(rng.integers(len(SURNAMES)))]}",
                postcode,
                city,
                _phone(rng),
                _mail(first, last, born, rng) if rng.random() < 0.45 else "",
                "LBM IROISE BREST",
                visit.strftime("%d/%m/%Y"),
                DOCTORS[_zipf(rng, len(DOCTORS))],
                ("IDE Le Gall", "IDE Tanguy", "IDE Morvan")[int(rng.integers(3))],
                INSURERS[_zipf(rng, len(INSURERS))],
                ("O+", "A+", "B+", "AB+", "O-", "A-")[_zipf(rng, 6, 0.8)],
                _comment(rng),
            )
        )
    return pl.DataFrame(out, schema=list(HEADERS), orient="row")
