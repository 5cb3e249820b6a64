"""`ecluse trace FILE`: which packages a leaked sample came from.

Every package keeps, after it is shredded, the keyed digests of its rows' identity and contact
fields, field by field, and of its canary rows (see `ecluse.packages.digests`). A sample's
lines are normalised the same way and digested under each package's tracing key, and matched
on whichever fields they hold (see `matching`): a match names the package, its recipient and
its extraction date, how many lines it holds, a score and the fields that agreed; a canary
match is certain, since those invented patients went to that package alone. The sample is
read into memory and nothing of it is written anywhere: the result, the audit event and the
alerts (`ecluse.services.breach`) carry ids, field names, counts and scores only.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from ecluse.breach.matching import PackageMatch, match
from ecluse.crypto.envelope import package_trace_aad
from ecluse.crypto.interfaces import KeyManager, WrappedKey
from ecluse.db.models import Blob, Instruction, Organisation, Package
from ecluse.errors import ValidationError
from ecluse.governance.dictionary import map_headers
from ecluse.packages import digests
from ecluse.packages.digests import RowDigester, as_matrix, legacy_digests
from ecluse.store.interfaces import BlobStore

MAX_SAMPLE_BYTES = 64 << 20


@dataclass(frozen=True, slots=True)
class TraceMatch:
    package_id: str
    instruction_id: str
    controller_id: str
    recipient: str  # the recipient organisation's name
    extracted_at: datetime
    package_state: str
    rows_matched: int  # sample lines found among the package's rows, each line counted
    canaries_matched: int  # of which invented patients unique to this package
    score: int  # per cent: the mean share of a sample line's fields that agree (`matching`)
    fields: dict[str, int]  # field -> lines found agreeing on it
    alert_id: str | None = None


def read_sample(path: Path, *, columns: list[str] | None = None) -> pl.DataFrame:
    """A leaked sample as text columns named by dictionary field; in memory only."""
    data = path.read_bytes()
    if len(data) > MAX_SAMPLE_BYTES:
        raise ValidationError(f"a sample is at most {MAX_SAMPLE_BYTES >> 20} MiB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    first = text.split("\n", 1)[0]
    separator = max(";,\t|", key=first.count)
    frame = pl.read_csv(
        io.StringIO(text),
        separator=separator,
        has_header=columns is None,
        new_columns=columns,
        infer_schema=False,
        truncate_ragged_lines=True,
    )
    mapped = map_headers(frame.columns).mapped
    if not mapped:
        raise ValidationError("no column of the sample is a known field: give --columns")
    return frame.select([pl.col(h).alias(f) for h, f in mapped.items()])


def stored_digests(session: Session, store: BlobStore, package: Package) -> bytes | None:
    """The package's keyed row digests, decrypted in memory; None once shredded."""
    blob = session.get(Blob, package.digests_id)
    if blob is None or blob.state != "stored":
        return None
    return b"".join(store.open(session, blob.id))


def _chunks(blob: bytes) -> list[bytes]:
    size = digests.LEGACY_SIZE
    return [blob[i : i + size] for i in range(0, len(blob), size)]


def _legacy(
    key: bytes, fields: list[str], sample: pl.DataFrame, stored: bytes, canaries: bytes
) -> PackageMatch | None:
    """A package of the first format: lines holding all its digested fields, matched whole."""
    if not set(fields) <= set(sample.columns):
        return None
    wanted = _chunks(legacy_digests(key, fields, sample.select(fields)))
    rows, marks = set(_chunks(stored)), set(_chunks(canaries))
    hits = [w for w in wanted if w in rows or w in marks]
    if not hits:
        return None
    counts = dict.fromkeys(fields, len(hits))
    return PackageMatch(
        len(hits), sum(w in marks for w in hits), round(100 * len(hits) / len(wanted)), counts
    )


def _match(
    package: Package, sample: pl.DataFrame, *, keys: KeyManager, load: Callable[[], bytes | None]
) -> PackageMatch | None:
    described = json.loads(package.manifest)["row_digests"]
    fields: list[str] = described["fields"]
    if package.wrapped_trace_key is None or package.kek_version is None:
        return None  # the key is gone (its KEK destroyed): nothing can be traced to it
    common = [f for f in sample.columns if f in fields]
    if not common:
        return None
    stored = load()  # only for a package the sample can match
    if stored is None:
        return None
    key = keys.unwrap(
        WrappedKey(package.kek_version, package.wrapped_trace_key),
        aad=package_trace_aad(package.id),
    )
    if described.get("format") != digests.FORMAT:
        return _legacy(key, fields, sample, stored, package.canaries)
    lines = RowDigester(key, common).matrix(sample.select(common))
    return match(
        as_matrix(stored, len(fields)),
        fields,
        as_matrix(package.canaries, len(fields)),
        lines,
        common,
    )


def candidates(session: Session) -> list[tuple[Package, str, str]]:
    """Every package, oldest first, with its controller's id and its recipient's name."""
    rows = session.execute(
        select(Package, Instruction.controller_id, Organisation.name)
        .join(Instruction, Instruction.id == Package.instruction_id)
        .join(Organisation, Organisation.id == Package.recipient_id)
        .order_by(Package.created_at)
    ).all()
    return [(package, controller, recipient) for package, controller, recipient in rows]


def match_package(
    candidate: tuple[Package, str, str],
    sample: pl.DataFrame,
    *,
    keys: KeyManager,
    load: Callable[[], bytes | None],
) -> TraceMatch | None:
    """How `sample` matches one package; `load` reads its stored digests when needed."""
    package, controller, recipient = candidate
    found = _match(package, sample, keys=keys, load=load)
    if found is None:
        return None
    return TraceMatch(
        package.id,
        package.instruction_id,
        controller,
        recipient,
        package.created_at,
        package.state,
        found.lines,
        found.canaries,
        found.score,
        {f: n for f, n in found.fields.items() if n},
    )
