"""Comments labelled by hand: what each holds, as a reader who checks the screening's counts
sees it. The NIRs carry a key computed here (97 less the number modulo 97), not by Écluse."""

from __future__ import annotations

HEALTH, NIR, PHONE, EMAIL, CRED = "health_terms", "nir", "phone", "email", "password_like"


def nir(base: str) -> str:
    """`base` (13 characters, spaces allowed, Corsica's 2A/2B as 19/18) with its key."""
    digits = base.replace(" ", "").replace("2A", "19").replace("2B", "18")
    return f"{base} {97 - int(digits) % 97:02d}"


LABELLED: list[tuple[str, frozenset[str]]] = [
    (text, frozenset(labels))
    for text, labels in [
        ("VIH+ sous trithérapie", {HEALTH}),
        ("patient séropositif connu", {HEALTH}),
        ("résidant à Rennes depuis 2019", set()),  # "sida" inside a word
        ("président de l'association", set()),
        ("Sidaction : don reçu", set()),  # a word that starts like one, not the word
        ("dépistage VIH négatif", {HEALTH}),
        ("cancer du sein, chimiothérapie en cours", {HEALTH}),
        ("cancéreux ? non", {HEALTH}),
        ("grossesse 12 SA", {HEALTH}),
        ("enceinte de 3 mois", {HEALTH}),
        ("sous AVK, INR=2,4", {HEALTH}),
        ("diabétique de type 2, HbA1c:6,8%", {HEALTH}),
        ("suivi HbA1c:6,8% stable", set()),
        ("rappel le 12 sep 2019", set()),
        ("first aids kit", set()),  # English lower-case "aids" is not the disease
        ("AIDS follow-up", {HEALTH}),
        ("tél 06 12 34 56 78", {PHONE}),
        ("joignable au +33 6 12 34 56 78", {PHONE}),
        ("portable +33612345678", {PHONE}),
        ("fixe 02.99.12.34.56", {PHONE}),
        ("à La Réunion : +262 692 12 34 56", {PHONE}),
        ("(+33) 6 12 34 56 78 après 18h", {PHONE}),
        ("0033 6 12 34 56 78", {PHONE}),
        ("dossier 2019-1234", set()),
        ("écrire à jean.dupont@free.fr", {EMAIL}),
        (f"NIR {nir('1 84 12 76 451 089')}", {NIR}),
        (f"né en Corse, {nir('1 85 03 2A 004 321')}", {NIR}),
        ("NIR 1 84 12 76 451 089 47", set()),  # a wrong key: not a NIR
        ("mdp: Xk2pQ9za", {CRED}),
        ("identifiant pat8537149 mdp Bichon#77", {CRED}),
        ("son mot de passe est bonjour123", {CRED}),
        ("mdp portail : chaton1959", {CRED}),
        ("mot de passe oublié, renvoyé par courrier", set()),
        ("token aB3dE5gH7j", {CRED}),
        ("VIH+, mdp chaton1959, tél 06 12 34 56 78", {HEALTH, CRED, PHONE}),
        ("RAS", set()),
        ("vu avec sa mère", set()),
        ("", set()),
    ]
]
