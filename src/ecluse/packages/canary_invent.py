"""One canary's identity, contact, care pools and comments, drawn from the package.

Sex, birth date and place first (from the base row where the scope tests them), then names
for that sex — first name from one row's frequency class, surname from another's, never the
(first names, surname, birth date) of a real row, never a first name equal to the surname —
then the values that must be unique (NIR consistent with sex, birth month and place, INS,
phone, e-mail, house number), new in the package's format.

Comments: a canary has one with the share of rows that have one. Its text, drawn with the
same frequency rule, is one of the package's in which the screening finds nothing (no health
term, identifier, contact or credential), or, for a reference seen once, one of a few
neutral laboratory notes the package lacks. A text the screening flags is never copied into
an invented row (the canary would carry a patient's clinical note); a text seen once that it
finds nothing in may be.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import polars as pl

from ecluse.governance.dictionary import DICTIONARY, Kind
from ecluse.packages.canary_draw import SEP, Frequencies, Package, compacted
from ecluse.packages.canary_names import Names
from ecluse.packages.canary_shapes import (
    TRIES,
    compact,
    fresh_email,
    fresh_nir,
    parse_date,
    phone_prefix,
    redigit,
    unique,
    with_day,
)
from ecluse.policy.screening import screening_flags
from ecluse.synth import pools

PLACE = ("postcode", "city", "address")
INSURER = ("insurer_name", "insurer_payer_id", "insurer_address", "insurer_phone")
STAFF = (("prescriber_name", "prescriber_id"), ("sampler_name", ""))
SCREENED = 500  # distinct texts screened per class (repeated, seen once) to draw comments from
UNIQUE_SHARE = 0.5  # an identifier with more distinct values than this share is per person
NEUTRAL_COMMENTS = (
    "à jeun",
    "prélèvement difficile",
    "prélevé au pli du coude",
    "résultats par courrier",
    "envoyer les résultats au médecin traitant",
    "rappeler pour le rendez-vous",
    "préfère être prélevé le matin",
    "veines fines",
    "bilan de contrôle",
    "ordonnance renouvelable",
    "tube recontrôlé",
    "résultats à retirer au laboratoire",
    "patient venu à pied",
    "dossier complet",
    "carte vitale présentée",
)


def clean(texts: Sequence[str]) -> list[bool]:
    """Per text: the screening finds nothing in it."""
    if not texts:
        return []
    flags = pl.DataFrame({"t": list(texts)}, schema={"t": pl.Utf8}).select(
        screening_flags(pl.col("t"))
    )
    return (~flags.select(pl.any_horizontal(pl.all())).to_series()).to_list()


class Inventor:
    """Canaries for one package: `person(base)` for each, `base` the real row whose visit
    and scope-tested fields it borrows (named in `fixed`)."""

    def __init__(self, package: Package, fixed: set[str]) -> None:
        self.p, self.rng, self.fixed = package, package.rng, fixed
        self.mine: set[str] = set()  # unique values the canaries took (compacted)
        sexes = [s for s in package.counts("sex") if s]
        self.by_sex = {s: package.rows_where("sex", s) for s in sexes}
        self.names = Names(package, self.by_sex)
        self.sex_digit = self._sex_digits()
        self.comments = [f for f in package.columns if DICTIONARY[f].kind == Kind.FREE_TEXT]
        self._clean: dict[str, Frequencies] = {}

    def _sex_digits(self) -> dict[str, str]:
        """The NIR's first digit (1 or 2) most rows of each sex value have."""
        if not (self.p.has("nir") and self.p.has("sex")):
            return {}
        digit = compacted(pl.col("nir")).str.slice(0, 1).alias("d")
        table = (
            self.p.frame.select("sex", digit)
            .filter(pl.col("d").is_in(["1", "2"]))
            .group_by("sex", "d")
            .len()
            .sort("len", "d", descending=[True, False])
            .unique("sex", keep="first")
        )
        return dict(zip(table["sex"].to_list(), table["d"].to_list(), strict=True))

    def person(self, base: int) -> dict[str, str]:
        p, out = self.p, {}
        out["sex"] = p.at("sex", base if "sex" in self.fixed else p.row())
        out["birth_date"] = (
            p.at("birth_date", base) if "birth_date" in self.fixed else self._birth_date()
        )
        out.update(self._place(base))
        out.update(self._names(out))
        out.update(self._ids(out))
        out.update(self._contact(out))
        out.update(self._pools())
        for field in self.comments:
            out[field] = self._comment(field)
        for field in self.fixed & set(p.columns):
            out[field] = p.at(field, base)
        return {f: v for f, v in out.items() if p.has(f)}

    def _birth_date(self) -> str:
        """A row's birth month and year with another row's day: as varied as real ones."""
        text = self.p.at("birth_date", self.p.row())
        for _ in range(TRIES):
            day = parse_date(self.p.at("birth_date", self.p.row()))
            swapped = with_day(text, day[2]) if day else None
            if swapped is not None:
                return swapped
        return text

    def _place(self, base: int) -> dict[str, str]:
        """Postcode and city together, as frequent as a row's; a street of that postcode."""
        p = self.p
        if self.fixed & set(PLACE):
            return {f: p.at(f, base) for f in PLACE}
        present = [f for f in ("postcode", "city") if p.has(f)]
        style = p.style("city")
        known = [{"postcode": c[1], "city": style(c[0])} for c in pools.CITIES]
        new = [SEP.join(k[f] for f in present) for k in known]
        place = p.group(present, lambda _: p.first_free(new, p.counts(*present)))
        return {**place, "address": self._address(place.get("postcode", ""))}

    def _address(self, postcode: str) -> str:
        """A street of the canary's postcode from one row, a house number from another."""
        p = self.p
        if not p.has("address"):
            return ""
        local = p.rows_where("postcode", postcode) if postcode else None
        address = ""
        for _ in range(TRIES):
            street = p.at("address", p.row(local))
            address = _renumber(street, p.at("address", p.row())) or street
            if self._free(("address",), address):
                break
        self.mine.add(compact(address))
        return address

    def _free(self, fields: Sequence[str], value: str) -> bool:
        """No row and no other canary has `value`."""
        return compact(value) not in self.mine and self.p.is_new(fields, value)

    def _unique(self, fields: Sequence[str], make: Callable[[], str]) -> str:
        value = unique(make, lambda v: self._free(fields, v))
        self.mine.add(compact(value))
        return value

    def _names(self, out: dict[str, str]) -> dict[str, str]:
        return self.names.names(out["sex"], out["birth_date"])

    def _ids(self, out: dict[str, str]) -> dict[str, str]:
        """NIR of the canary's sex, birth month and place, INS as the template row has it."""
        p, row = self.p, self.p.row()
        place = p.at("birth_place", p.row())
        if (
            place and place[:2] != "99" and p.counts("birth_place")[place] == 1
        ):  # seen once: a new one
            place = redigit(place, self.rng, keep=len(place) - 3)
        template, ins = p.at("nir", row), p.at("ins", row)
        parts = parse_date(out["birth_date"])
        nir = ""
        if template:
            nir = self._unique(
                ("nir", "ins"),
                lambda: fresh_nir(
                    template,
                    self.rng,
                    sex=self.sex_digit.get(out["sex"]),
                    born=parts[:2] if parts else None,
                    place=place,
                ),
            )
        if ins and compact(ins) != compact(template):
            ins = self._unique(("nir", "ins"), lambda: redigit(ins, self.rng, keep=1))
        elif ins:
            ins = nir
        return {"nir": nir, "ins": ins, "birth_place": place}

    def _contact(self, out: dict[str, str]) -> dict[str, str]:
        """A phone of a row's kind with new digits; an e-mail (or none) as a row has one,
        in its pattern with the canary's names, another row's pattern when that one is
        taken (a namesake's), two more digits as a last resort."""
        p = self.p
        phone, row = p.at("phone", p.row()), p.row()
        if phone:
            keep = phone_prefix(phone)
            phone = self._unique(("phone",), lambda: redigit(phone, self.rng, keep=keep))
        if not p.at("email", row):
            return {"phone": phone, "email": ""}
        filled = p.rows_where("email", "", negate=True)
        now = (out["first_names"], out["birth_name"])
        rows = iter([row, *(p.row(filled) for _ in range(TRIES))])

        def mail() -> str:
            r = next(rows, row)
            was = (p.at("first_names", r), p.at("birth_name", r))
            return fresh_email(p.at("email", r), self.rng, was=was, now=now)

        email = self._unique(("email",), mail)
        if not p.is_new(("email",), email):
            local, _, domain = email.rpartition("@")
            email = f"{local}{int(self.rng.integers(100)):02d}@{domain}"
        return {"phone": phone, "email": email}

    def _pools(self) -> dict[str, str]:
        """Insurer, prescriber, sampler, blood group: the package's, each from its own row,
        as frequent as a row's; a prescriber or sampler the package lacks (for a reference
        seen once) has words of others'; an identifier every row has its own of (a payer
        number per person) made new."""
        p, out = self.p, {}
        out.update(p.group(INSURER))
        out.update(p.group(("blood_group",)))
        for name, number in STAFF:
            fields = [f for f in (name, number) if p.has(f)]

            def new(reference: str, fields: list[str] = fields) -> str | None:
                return self._new_staff(fields, reference)

            out.update(p.group(fields, new))
        for field in ("insurer_payer_id",):
            table = p.table(field).filter(pl.col("k") != "")
            if out.get(field) and table.height > UNIQUE_SHARE * int(table["count"].sum()):
                out[field] = redigit(out[field], self.rng, keep=2)
        return out

    def _new_staff(self, fields: Sequence[str], reference: str) -> str | None:
        values = dict(zip(fields, reference.split(SEP), strict=True))
        for field in fields:
            if DICTIONARY[field].kind == Kind.IDENTIFIER:
                values[field] = redigit(values[field], self.rng, keep=2)
            else:
                made = self.p.recombined(field, values[field])
                if made is None:
                    return None
                values[field] = made
        return SEP.join(values[f] for f in fields)

    def _comment(self, field: str) -> str:
        """A text as frequent as a row's among those the screening finds nothing in, or a
        neutral note the package lacks (for a reference seen once)."""
        p = self.p
        reference = p.at(field, p.row())
        if not reference:
            return ""
        neutral = [p.style(field)(t) for t in NEUTRAL_COMMENTS]
        if field not in self._clean:
            self._clean[field] = self._clean_texts(field)
        new = self._clean[field].draw(
            reference, self.rng, lambda: p.first_free(neutral, p.counts(field))
        )
        return new or neutral[int(self.rng.integers(len(neutral)))]

    def _clean_texts(self, field: str) -> Frequencies:
        """The texts the screening finds nothing in, with their counts: of those seen once,
        a sample (they stand for their class)."""
        table = self.p.table(field).filter(pl.col("k") != "")
        repeated = table.filter(pl.col("count") > 1).sort("count", "k").tail(SCREENED)
        once = table.filter(pl.col("count") == 1).sort("k")
        if once.height > SCREENED:
            once = once.sample(SCREENED, seed=int(self.rng.integers(1 << 31)))
        texts = pl.concat([repeated, once])
        kept = texts.filter(pl.Series(clean(texts["k"].to_list()), dtype=pl.Boolean))
        return Frequencies(kept, self.p.counts(field))


def _renumber(street: str, numbered: str) -> str | None:
    """`street` with the house number of `numbered` (None when either has none)."""
    s, n = street.split(" ", 1), numbered.split(" ", 1)
    if len(s) == 2 and len(n) == 2 and s[0][:1].isdigit() and n[0][:1].isdigit():  # noqa: PLR2004 - two parts each
        return f"{n[0]} {s[1]}"
    return None
