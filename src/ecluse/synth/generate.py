"""`ecluse synth`: a synthetic laboratory export shaped like the file that leaked.

Everything is drawn in vectors (NumPy) and assembled column by column (Polars): 500,000
patients take a few seconds. The same seed gives the same file. The people are invented, but
the shape is faithful, including what must never travel: free-text comments naming
pathologies, identifiers and passwords inside comments, and portal credentials.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import polars as pl

from ecluse.synth import pools
from ecluse.synth.nir import nir_key

Ints = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

HEADERS = (
    "NIR",
    "INS",
    "NOM_NAISSANCE",
    "NOM_USAGE",
    "PRENOMS",
    "SEXE",
    "DATE_NAISSANCE",
    "LIEU_NAISSANCE",
    "ADRESSE",
    "CODE_POSTAL",
    "VILLE",
    "TELEPHONE",
    "EMAIL",
    "DATE_EXAMEN",
    "DATE_DERNIERE_VISITE",
    "LABORATOIRE",
    "PRESCRIPTEUR",
    "RPPS_PRESCRIPTEUR",
    "PRELEVEUR",
    "MUTUELLE",
    "NUM_TIERS_PAYANT",
    "MUTUELLE_ADRESSE",
    "MUTUELLE_TELEPHONE",
    "GROUPE_SANGUIN",
    "COMMENTAIRE_P",
    "COMMENTAIRE_D",
    "LOGIN_PORTAIL",
    "MDP_PORTAIL",
)
_OVERSEAS = np.array([971, 972, 973, 974, 976])
_COUNTRIES = np.array([109, 127, 131, 134, 139, 208, 341, 350, 351, 352])
_PASSWORD = np.frombuffer(
    b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789!$%*", dtype=np.uint8
)
FIRST_NAMES = pools.MALE + pools.FEMALE
MALE, FEMALE = 1, 2  # the NIR's first digit
CORSICA_OLD = 20  # department split into 2A (counted as 19) and 2B (18)
CORSICA_2A = 19
MAINLAND, CORSICA, OVERSEAS = 0, 1, 2  # else abroad


# -- column helpers ----------------------------------------------------------------------------
def pick(pool: Sequence[str], idx: Ints) -> pl.Series:
    return pl.Series(list(pool), dtype=pl.Utf8).gather(idx)


def zfill(values: Ints, width: int) -> pl.Series:
    return pl.Series(values).cast(pl.Utf8).str.zfill(width)


def choose(mask: Mask, yes: pl.Series, no: pl.Series) -> pl.Series:
    return pl.select(pl.when(pl.Series(mask)).then(yes).otherwise(no)).to_series()


def join(parts: Sequence[pl.Series], separator: str = "") -> pl.Series:
    return pl.select(pl.concat_str(list(parts), separator=separator)).to_series()


def _ascii(words: Sequence[str]) -> tuple[str, ...]:
    return tuple(
        "".join(c for c in unicodedata.normalize("NFKD", w) if not unicodedata.combining(c))
        .lower()
        .replace(" ", "")
        .replace("'", "")
        for w in words
    )


class Synth:
    """One generator, one frame: every column is a vector of `patients` draws."""

    def __init__(self, *, patients: int, labs: int, seed: int) -> None:
        if patients < 1 or labs < 1:
            raise ValueError("need at least one patient and one laboratory")
        self.n, self.labs = patients, labs
        self.rng = np.random.default_rng(seed)

    def ints(self, lo: int, hi: int, n: int | None = None) -> Ints:
        return self.rng.integers(lo, hi + 1, self.n if n is None else n)

    def chance(self, p: float) -> Mask:
        return self.rng.random(self.n) < p

    def const(self, text: str) -> pl.Series:
        return pl.Series([text], dtype=pl.Utf8).gather(np.zeros(self.n, dtype=np.int64))

    def empty(self) -> pl.Series:
        return self.const("")

    def frame(self) -> pl.DataFrame:
        cols = {**self.identity(), **self.contact(), **self.care(), **self.comments()}
        return pl.DataFrame({h: cols[h] for h in HEADERS})

    # -- identity ----------------------------------------------------------------------------
    def identity(self) -> dict[str, pl.Series]:
        sex, year = self.ints(1, 2), self.ints(1930, 2019)
        month, day, order = self.ints(1, 12), self.ints(1, 28), self.ints(1, 999)
        place5, place = self.birth_places()
        number = sex * 10**12 + (year % 100) * 10**10 + month * 10**8 + place5 * 1000 + order
        nir = join(
            [
                zfill(sex, 1),
                zfill(year % 100, 2),
                zfill(month, 2),
                place,
                zfill(order, 3),
                zfill(nir_key(number), 2),
            ]
        )
        self.nir = nir
        surname = self.ints(0, len(pools.SURNAMES) - 1)
        first = np.where(
            sex == 1,
            self.ints(0, len(pools.MALE) - 1),
            self.ints(len(pools.MALE), len(FIRST_NAMES) - 1),
        )
        second = np.where(
            sex == 1,
            self.ints(0, len(pools.MALE) - 1),
            self.ints(len(pools.MALE), len(FIRST_NAMES) - 1),
        )
        self.first_ascii = pick(_ascii(FIRST_NAMES), first)
        self.last_ascii = pick(_ascii(pools.SURNAMES), surname)
        married = pick(pools.SURNAMES, self.ints(0, len(pools.SURNAMES) - 1))
        return {
            "NIR": nir,
            "INS": choose(self.chance(0.97), nir, self.empty()),  # INS qualified or not yet
            "NOM_NAISSANCE": pick(pools.SURNAMES, surname),
            "NOM_USAGE": choose((sex == FEMALE) & self.chance(0.4), married, self.empty()),
            "PRENOMS": choose(
                self.chance(0.4),
                join([pick(FIRST_NAMES, first), pick(FIRST_NAMES, second)], " "),
                pick(FIRST_NAMES, first),
            ),
            "SEXE": pl.Series(np.where(sex == MALE, "M", "F")),
            "DATE_NAISSANCE": join([zfill(day, 2), zfill(month, 2), zfill(year, 4)], "/"),
            "LIEU_NAISSANCE": place,
        }

    def birth_places(self) -> tuple[Ints, pl.Series]:
        """Numeric place (for the key) and its five characters: mainland, Corsica, overseas,
        abroad (99 + country)."""
        kind = self.rng.choice(4, self.n, p=[0.92, 0.01, 0.03, 0.04])
        dept = self.ints(1, 94)
        dept = np.where(dept >= CORSICA_OLD, dept + 1, dept)  # 20 became 2A and 2B
        commune, commune2 = self.ints(1, 900), self.ints(1, 34)
        corsica = self.ints(18, 19)  # 2B, 2A as they count in the key
        overseas = _OVERSEAS[self.ints(0, len(_OVERSEAS) - 1)]
        country = _COUNTRIES[self.ints(0, len(_COUNTRIES) - 1)]
        place5 = np.select(
            [kind == MAINLAND, kind == CORSICA, kind == OVERSEAS],
            [dept * 1000 + commune, corsica * 1000 + commune, overseas * 100 + commune2],
            99 * 1000 + country,
        )
        corsican = join([pl.Series(np.where(corsica == CORSICA_2A, "2A", "2B")), zfill(commune, 3)])
        return place5, choose(kind == CORSICA, corsican, zfill(place5, 5))

    # -- contact -----------------------------------------------------------------------------
    def phones(self) -> pl.Series:
        digits = zfill(self.ints(0, 99_999_999), 8)
        prefix = pl.Series(np.where(self.chance(0.7), "06", "01"))
        return join([prefix, *(digits.str.slice(i, 2) for i in range(0, 8, 2))], " ")

    def contact(self) -> dict[str, pl.Series]:
        city = self.ints(0, len(pools.CITIES) - 1)
        street = join(
            [
                zfill(self.ints(1, 150), 1),
                pick(pools.STREET_TYPES, self.ints(0, len(pools.STREET_TYPES) - 1)),
                pick(pools.STREET_NAMES, self.ints(0, len(pools.STREET_NAMES) - 1)),
            ],
            " ",
        )
        mail = join(
            [
                self.first_ascii,
                self.const("."),
                self.last_ascii,
                zfill(self.ints(1, 99), 2),
                self.const("@"),
                pick(pools.MAIL_DOMAINS, self.ints(0, len(pools.MAIL_DOMAINS) - 1)),
            ]
        )
        return {
            "ADRESSE": street,
            "CODE_POSTAL": pick([c[1] for c in pools.CITIES], city),
            "VILLE": pick([c[0] for c in pools.CITIES], city),
            "TELEPHONE": self.phones(),
            "EMAIL": choose(self.chance(0.7), mail, self.empty()),
        }

    # -- care --------------------------------------------------------------------------------
    def care(self) -> dict[str, pl.Series]:
        visit = pl.Series(np.datetime64("2015-01-01") + self.ints(0, 2191).astype("timedelta64[D]"))
        visit_text = visit.dt.strftime("%d/%m/%Y")
        cities = [c[0] for c in pools.CITIES]
        labs = [f"LBM {i + 1:02d} {cities[i % len(cities)]}" for i in range(self.labs)]
        prescribers = self.staff("Dr", 2000)
        samplers = self.staff("IDE", 400)
        rpps = [f"10{v:09d}" for v in self.ints(0, 999_999_999, 2000)]
        payer = [f"{v:08d}" for v in self.ints(0, 99_999_999, len(pools.INSURERS))]
        phones = [
            f"0{v // 10**8} {v // 10**6 % 100:02d} {v // 10**4 % 100:02d} "
            f"{v // 100 % 100:02d} {v % 100:02d}"
            for v in self.ints(100_000_000, 599_999_999, len(pools.INSURERS))
        ]
        offices = [
            f"{10 + i} rue de la Mutualité {cities[i % len(cities)]}"
            for i in range(len(pools.INSURERS))
        ]
        who, staff, ins = self.ints(0, 1999), self.ints(0, 399), self.ints(0, len(payer) - 1)
        groups, weights = zip(*pools.BLOOD_GROUPS, strict=True)
        return {
            "DATE_EXAMEN": visit_text,
            "DATE_DERNIERE_VISITE": visit_text,
            "LABORATOIRE": pick(labs, self.ints(0, self.labs - 1)),
            "PRESCRIPTEUR": pick(prescribers, who),
            "RPPS_PRESCRIPTEUR": pick(rpps, who),
            "PRELEVEUR": pick(samplers, staff),
            "MUTUELLE": pick(pools.INSURERS, ins),
            "NUM_TIERS_PAYANT": pick(payer, ins),
            "MUTUELLE_ADRESSE": pick(offices, ins),
            "MUTUELLE_TELEPHONE": pick(phones, ins),
            "GROUPE_SANGUIN": pick(groups, self.rng.choice(len(groups), self.n, p=weights)),
        }

    def staff(self, title: str, size: int) -> list[str]:
        last = self.ints(0, len(pools.SURNAMES) - 1, size)
        first = self.ints(0, len(FIRST_NAMES) - 1, size)
        return [
            f"{title} {pools.SURNAMES[a]} {FIRST_NAMES[b]}"
            for a, b in zip(last, first, strict=True)
        ]

    # -- what must never travel --------------------------------------------------------------
    def passwords(self) -> pl.Series:
        raw = _PASSWORD[self.rng.integers(0, len(_PASSWORD), (self.n, 10))]
        return pl.Series(np.ascontiguousarray(raw).view("S10").ravel().astype("U10"))

    def comment(self, share: float) -> pl.Series:
        """Free text: pathologies, neutral notes, and identifiers that slipped in."""
        kind = self.rng.choice(5, self.n, p=[0.55, 0.30, 0.07, 0.04, 0.04])
        texts = [
            pick(pools.PATHOLOGY, self.ints(0, len(pools.PATHOLOGY) - 1)),
            pick(pools.NEUTRAL, self.ints(0, len(pools.NEUTRAL) - 1)),
            join([self.const("rappeler au"), self.phones()], " "),
            join([self.const("NIR conjoint"), self.nir.gather(self.ints(0, self.n - 1))], " "),
            join([self.const("mdp portail :"), self.passwords()], " "),
        ]
        out = self.empty()
        for k, text in enumerate(texts):
            out = choose(kind == k, text, out)
        return choose(self.chance(share), out, self.empty())

    def comments(self) -> dict[str, pl.Series]:
        login = join(
            [self.first_ascii, self.const("."), self.last_ascii, zfill(self.ints(1, 999), 3)]
        )
        return {
            "COMMENTAIRE_P": self.comment(0.35),
            "COMMENTAIRE_D": self.comment(0.25),
            "LOGIN_PORTAIL": login,
            "MDP_PORTAIL": self.passwords(),
        }


def synthesise(*, patients: int, labs: int, seed: int) -> pl.DataFrame:
    """The whole synthetic export as a frame, columns in `HEADERS` order."""
    return Synth(patients=patients, labs=labs, seed=seed).frame()


def write_export(frame: pl.DataFrame, out: BinaryIO, *, encoding: str = "utf-8") -> None:
    """`;`-separated, header first, in UTF-8 or Latin-1 (as old lab software writes)."""
    if encoding == "utf-8":
        frame.write_csv(out, separator=";")
        return
    buf = io.BytesIO()
    frame.write_csv(buf, separator=";")
    out.write(buf.getvalue().decode("utf-8").encode(encoding))
