"""The manifest's screening counts, checked by a reader who did not write the screening: an
export written here by hand with comments labelled by hand, extracted, delivered, decrypted
with `age` and read with Python's csv module."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter

from ecluse.db.models import Package
from ecluse.policy.credentials import CREDENTIAL_REMOVED
from tests.age_tools import Identity, age_decrypt
from tests.packages.conftest import Migration
from tests.policy.screening_cases import CRED, LABELLED, nir

FIELDS = [
    {"field": "nir", "transform": "pseudonymise"},
    {"field": "birth_name", "transform": "keep"},
    {"field": "first_names", "transform": "keep"},
    {"field": "last_visit", "transform": "keep"},
    {"field": "comment_p", "transform": "keep"},
]
NAMES = [("Le Gall", "Hélène"), ("Dupont", "Philippe"), ("Da Silva", "Jérôme"), ("N'Diaye", "Awa")]


def _export(repeat: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["NIR", "NOM", "PRENOM", "DATE_DERNIERE_VISITE", "COMMENTAIRE_P"])
    n = 0
    for _ in range(repeat):
        for text, _labels in LABELLED:
            last, first = NAMES[n % len(NAMES)]
            writer.writerow([nir(f"2 85 03 35 {n:03d} 001"), last, first, "02/03/2020", text])
            n += 1
    return out.getvalue().encode()


def test_the_manifest_counts_what_a_reader_counts(migration: Migration, identity: Identity) -> None:
    repeat = 5
    rows = repeat * len(LABELLED)
    iid = migration.instruct(fields=FIELDS, expected_rows=rows, tolerance_percent=0)
    outcome = migration.run("olga", iid, data=_export(repeat))
    with migration.platform.db.transaction() as s:
        package = s.get(Package, outcome.package_id)
        assert package is not None
        manifest = json.loads(package.manifest)
        blob = b"".join(migration.platform.store.open(s, package.blob_id))
    labels: Counter[str] = Counter(label for _, ls in LABELLED for label in ls)
    assert manifest["findings"]["screening"]["comment_p"] == {
        k: repeat * n for k, n in sorted(labels.items())
    }
    done = age_decrypt(blob, identity)
    assert done.returncode == 0, done.stderr
    delivered = list(csv.DictReader(io.StringIO(done.stdout.decode()), delimiter=";"))
    assert len(delivered) == rows + outcome.canaries
    masked = [r["comment_p"] for r in delivered if CREDENTIAL_REMOVED in r["comment_p"]]
    assert len(masked) == manifest["findings"]["screening"]["comment_p"][CRED]
    kept = Counter(r["comment_p"] for r in delivered)
    for text, ls in LABELLED:
        if CRED not in ls:  # the rest of the comments arrive word for word
            assert kept[text] >= repeat, text
    assert {r["first_names"] for r in delivered} >= {first for _, first in NAMES}
