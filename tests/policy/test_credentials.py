"""Credentials in kept free text: a table of attack cases (the credential must go) and of
innocent ones (clinical text must stay, word for word)."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import pytest

from ecluse.policy.credentials import CREDENTIAL_REMOVED, FILLERS, NO_VALUE, clinical, mask
from ecluse.policy.screening import Screen, mask_credentials, screen

X = CREDENTIAL_REMOVED

ATTACKS = [
    # the cases an outsider found
    ("identifiant pat8537149 mdp Bichon#77", f"identifiant {X} mdp {X}"),
    ("son mot de passe est bonjour123", f"son mot de passe est {X}"),
    ("mdp portail : chaton1959", f"mdp portail : {X}"),
    # punctuation and filler words between the cue and its value
    ("mdp:chaton1959", f"mdp:{X}"),
    ("MDP = soleil", f"MDP = {X}"),
    ("mdp -> toto", f"mdp -> {X}"),
    ("mdp=(abc123)", f"mdp=({X})"),
    ("mot de passe « Loulou2012 »", f"mot de passe « {X} »"),
    (
        "le mot de passe du portail patient est : lapin42.",
        f"le mot de passe du portail patient est : {X}.",
    ),
    ("mots de passe provisoire: azerty", f"mots de passe provisoire: {X}"),
    ("nouveau mdp web Tigrou_1", f"nouveau mdp web {X}"),
    ("code d'accès résultats: 4471", f"code d'accès résultats: {X}"),
    ("code d\u2019accès 998877", f"code d\u2019accès {X}"),
    ("code secret 1234", f"code secret {X}"),
    ("password is sunshine", f"password is {X}"),
    ('password is "sunshine"', f'password is "{X}"'),
    ("pwd: hunter2", f"pwd: {X}"),
    ("Passwd=letmein now", f"Passwd={X} now"),
    ("your portal password: Qwerty!1", f"your portal password: {X}"),
    # logins: after their own cue, or just before a password's
    ("login: jdupont / chaton1959", f"login: {X} / {X}"),
    ("identifiants portail : marie.dupont / Soleil2020!", f"identifiants portail : {X} / {X}"),
    ("username jdoe42 password Tr0ub4dor", f"username {X} password {X}"),
    ("pat8537149 mdp Bichon#77", f"{X} mdp {X}"),
    ("compte dupont.j, mdp chaton", f"compte {X}, mdp {X}"),
    ("nom d'utilisateur : mlefebvre", f"nom d'utilisateur : {X}"),
    # no cue: a generated password's shape
    ("rappel Xk29abQc au patient", f"rappel {X} au patient"),
    ("token aB3dE5gH7j", f"token {X}"),
]

INNOCENT = [
    "suivi HbA1c:6,8% stable",
    "HbA1c 6,8 % ; glycémie 1,26 g/L",
    "TSHus=2.5mUI/L, T4L normale",
    "Kardegic75mg et Levothyrox100µg",
    "CA15-3 et CA19-9 dans les normes",
    "NT-proBNP 125pg/mL",
    "HIV+ contrôle le 12/03/2019, RAS",
    "mot de passe oublié, renvoyé par courrier",
    "patient a perdu son mdp, à renvoyer",
    "mdp non communiqué",
    "Compte créé le 12/03",
    "résidant à Rennes, vu avec sa mère",
    "25OHD3 à 32ng/mL",
    "INR=2,4 sous AVK",
    "",
]


@pytest.mark.parametrize(("text", "masked"), ATTACKS)
def test_a_credential_never_survives_in_kept_free_text(text: str, masked: str) -> None:
    assert mask(text) == masked
    out = mask_credentials(pl.Series([text]))
    assert out.to_list() == [masked]
    assert screen(pl.Series([text]))[Screen.PASSWORD] == 1
    assert screen(out)[Screen.PASSWORD] == 0  # a masked text holds nothing more to mask


@pytest.mark.parametrize("text", INNOCENT)
def test_clinical_text_is_never_masked(text: str) -> None:
    assert mask(text) == text
    assert mask_credentials(pl.Series([text])).to_list() == [text]
    assert screen(pl.Series([text]))[Screen.PASSWORD] == 0


@pytest.mark.parametrize(
    ("token", "is_clinical"),
    [
        ("HbA1c:6,8%", True),
        ("12.5g/dL", True),
        ("6,8%", True),
        ("Kardegic75mg", True),
        ("TSHus=2.5mUI/L", True),
        ("chaton1959", False),
        ("Bichon#77", False),
        ("Xk29abQc", False),
    ],
)
def test_results_doses_and_analyses_read_as_clinical(token: str, is_clinical: bool) -> None:
    assert clinical(token) is is_clinical


def test_masking_a_column_changes_exactly_the_rows_counted() -> None:
    texts = [t for t, _ in ATTACKS] + INNOCENT
    values = pl.Series(texts * 3)
    out = mask_credentials(values)
    changed = sum(a != b for a, b in zip(values.to_list(), out.to_list(), strict=True))
    assert changed == screen(values)[Screen.PASSWORD] == 3 * len(ATTACKS)


def _free_text_corpus() -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Innocent comments (Faker's French sentences, results and doses) and comments holding
    credentials (templates of how people write one, filled with passwords and logins of
    several styles), each with its credentials: a corpus the rules were not written from."""
    import random  # noqa: PLC0415 - the corpus alone

    from faker import Faker  # noqa: PLC0415

    fake, rng = Faker("fr_FR"), random.Random(85)  # noqa: S311 - a seeded corpus
    fake.seed_instance(85)
    results = ["HbA1c:6,8%", "glycémie 1,26 g/L", "TSHus=2.5mUI/L", "Kardegic75mg", "CRP<5mg/L"]
    innocent = [fake.sentence(nb_words=rng.randint(4, 14)) for _ in range(1500)]
    innocent += [f"{fake.sentence()} {rng.choice(results)}" for _ in range(500)]
    passwords = [
        fake.password,
        lambda: f"{fake.word()}{rng.randint(1940, 2020)}",
        lambda: f"{fake.word().capitalize()}#{rng.randint(1, 99)}",
        lambda: _not_a_filler(fake.word),
    ]
    logins = [lambda: f"pat{rng.randint(10**6, 10**7 - 1)}", fake.user_name]
    templates = [
        "mdp {p}",
        "mdp : {p}",
        "mot de passe {p}",
        "son mot de passe est {p}",
        "mdp portail : {p}",
        "code d'accès {p}",
        "password: {p}",
        "identifiant {l} mdp {p}",
        "login {l} / {p}",
        "identifiants portail : {l} / {p}",
        "{s} mdp {p}",
        "{s} Code d\u2019accès résultats = {p}.",
    ]
    holding = []
    for _ in range(2000):
        template = rng.choice(templates)
        p, login = rng.choice(passwords)(), rng.choice(logins)()
        secrets_ = [p, login] if "{l}" in template else [p]
        holding.append((template.format(p=p, l=login, s=fake.sentence()), secrets_))
    return innocent, holding


def _not_a_filler(word: Callable[[], str]) -> str:
    """A word for a password, not one of those that stand between a cue and its value or
    say there is none ("mdp : pour", "mot de passe non" hold no password)."""
    while (w := word()) in FILLERS | NO_VALUE:
        pass
    return w


def test_precision_and_recall_of_the_masking_on_a_corpus() -> None:
    """Precision: of the values masked, those holding a credential; recall: of the values
    holding credentials, those masked with none of them left. Printed for the ADR."""
    innocent, holding = _free_text_corpus()
    masked_innocent = sum(mask(t) != t for t in innocent)
    left = [(mask(t).replace(X, " "), secrets_) for t, secrets_ in holding]
    caught = sum(not any(x in out for x in secrets_) for out, secrets_ in left)
    precision = caught / (caught + masked_innocent)
    recall = caught / len(holding)
    print(
        f"\nfree text: precision {precision:.3f}, recall {recall:.3f} over "
        f"{len(innocent)} innocent and {len(holding)} holding values"
    )
    assert masked_innocent == 0
    assert recall == 1.0
