"""`ecluse extract`, `ecluse packages` and `ecluse recipient-keys`: from a source export to a
package the recipient opens with `age`, its receipt, and the keys packages are encrypted to.

Output carries ids, counts, column names and digests: never a value of the data.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table

from ecluse.cli import remote
from ecluse.cli.common import ConfigOpt, open_platform, writable_directory
from ecluse.cli.identity_cmd import login
from ecluse.cli.lazy import lazy
from ecluse.cli.listing import Col, JsonOpt, show
from ecluse.cli.step_up import CodeOpt, step_up_code
from ecluse.errors import StorageError, ValidationError
from ecluse.kinds import Encoding, Permission

if TYPE_CHECKING:
    from ecluse.services import packages as acts
    from ecluse.services.vocabulary import Outcome
else:
    acts = lazy("ecluse.services.packages")

packages = typer.Typer(help="Packages addressed to your organisation.", no_args_is_help=True)
keys = typer.Typer(
    help="Your organisation's public keys (age or ssh-ed25519).", no_args_is_help=True
)
out = Console()


def _mapping(pairs: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        header, sep, field = pair.partition("=")
        if not sep or not header.strip() or not field.strip():
            raise ValidationError(f"--map takes HEADER=field, not {pair!r}")
        mapping[header.strip()] = field.strip()
    return mapping


def _summary(outcome: Outcome) -> None:
    f = outcome.findings
    table = Table(show_header=False, box=None)
    table.add_row("package", outcome.package_id)
    table.add_row("rows read", f"{f.rows_read:,}")
    table.add_row("rows in scope", f"{f.rows_in_scope:,} ({f.rows_out_of_scope:,} left out)")
    table.add_row("rows packaged", f"{outcome.rows:,} (with {outcome.canaries} canary rows)")
    table.add_row("age file sha256", outcome.age_sha256)
    table.add_row("manifest sha256", outcome.manifest_sha256)
    for column, reason in sorted(f.dropped.items()):
        table.add_row("dropped", f"{column}: {reason}")
    for name, transform in sorted(f.transforms.items()):
        table.add_row("field", f"{name}: {transform}")
    for name, counts in sorted(f.screening.items()):
        seen = ", ".join(f"{k} {v:,}" for k, v in sorted(counts.items()) if v)
        table.add_row("screened", f"{name}: {seen or 'nothing found'}")
    for name, cells in sorted(f.neutralised.items()):
        if cells:
            table.add_row("neutralised", f"{name}: {cells:,} formula-like cells prefixed with '")
    for name, values in sorted(f.blanked.items()):
        if values:
            table.add_row("blanked", f"{name}: {values:,} values held no unambiguous date")
    if f.volume.get("below_expected"):
        table.add_row("volume", "[yellow]far below expected[/]: the controller was alerted")
    out.print(table)


def extract_cmd(
    instruction: Annotated[str, typer.Option("--instruction", help="Signed instruction id.")],
    source: Annotated[Path, typer.Option("--source", help="The source export (CSV, `;`).")],
    encoding: Annotated[
        str, typer.Option(help="auto, utf-8 or latin-1 (auto: UTF-8 unless it is not).")
    ] = "auto",
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="HEADER=field for a header the dictionary does not know."),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Extract under a signed instruction (an operator of the processor)."""
    if encoding not in ("auto", "utf-8", "latin-1"):
        raise ValidationError("--encoding is auto, utf-8 or latin-1")
    enc: Encoding = encoding  # type: ignore[assignment]
    mapping = _mapping(map_ or [])
    try:
        f = source.open("rb")
        size = os.fstat(f.fileno()).st_size
    except OSError as e:
        raise ValidationError(f"cannot read {source}") from e
    with f, open_platform(config) as platform:
        p = login(platform, Permission.EXTRACTION_RUN)
        columns = (BarColumn(), DownloadColumn(), TimeRemainingColumn())
        with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("extracting", total=size)
            outcome = acts.extract(
                platform,
                p,
                instruction_id=instruction,
                source=f,
                source_name=source.name,
                encoding=enc,
                mapping=mapping,
                progress=lambda done: bar.update(task, completed=done),
            )
    _summary(outcome)


@packages.command("list")
def list_cmd(as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Packages addressed to your organisation."""
    rows = remote.fetched("/packages")
    if rows is None:  # on the host
        with open_platform(config) as platform:
            p = login(platform, Permission.PACKAGE_DOWNLOAD)
            rows = acts.list_packages(platform, p, channel="cli")
    columns = [
        Col("id", "id", whole=True),
        Col("state", "state"),
        Col("rows", "rows"),
        Col("created_at", "created", minutes=True),
        Col("deadline_at", "deadline"),
        Col("instruction_id", "instruction", whole=True),
    ]
    show(out, rows, columns, as_json=as_json, empty="no package for you")


def _exclusive(path: Path, data: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError as e:
        raise StorageError(f"{path} already exists: not overwritten") from e
    with os.fdopen(fd, "wb") as f:
        f.write(data)


@packages.command("download")
def download_cmd(
    package_id: Annotated[str, typer.Argument(help="Package id.")],
    directory: Annotated[Path, typer.Option("--output", "-o", help="Directory.")] = Path("."),
    config: ConfigOpt = None,
) -> None:
    """Write <id>.csv.age (open it with `age -d -i KEY`), the manifest and its signature."""
    directory = writable_directory(directory)  # before the download is recorded
    target = directory / f"{package_id}.csv.age"
    partial = directory / f".{package_id}.csv.age.part"
    with open_platform(config) as platform:
        p = login(platform, Permission.PACKAGE_DOWNLOAD)
        package = acts.open_package(platform, p, package_id)
        signer = acts.manifest_key(platform, package)
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                for chunk in acts.download(platform, p, package_id):
                    f.write(chunk)
            if target.exists():
                raise StorageError(f"{target} already exists: not overwritten")
            partial.rename(target)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    _exclusive(directory / f"{package_id}.manifest.json", package.manifest.encode())
    signature = {
        "algorithm": "ed25519",
        "message": "ecluse-manifest-v1|<manifest bytes>",  # the signing context, all formats
        "kid": package.kid,
        "public_key": signer.public_key.hex(),
        "signature": base64.b64encode(package.signature).decode(),
    }
    _exclusive(directory / f"{package_id}.manifest.sig", json.dumps(signature).encode())
    age_sha256 = json.loads(package.manifest)["data"].get("age_sha256", "?")
    out.print(f"{target} ({package.rows:,} rows; age file sha256 {age_sha256})")


@packages.command("confirm")
def confirm_cmd(
    package_id: Annotated[str, typer.Argument(help="Package id.")],
    rows: Annotated[int, typer.Option(help="Rows you imported.")],
    sha256: Annotated[
        str, typer.Option(help="SHA-256 of the decrypted file (`age -d … | sha256sum`).")
    ],
    config: ConfigOpt = None,
) -> None:
    """Confirm the import: a match shreds the package; a mismatch alerts the controller."""
    with open_platform(config) as platform:
        p = login(platform, Permission.RECEIPT_CONFIRM)
        receipt = acts.confirm(platform, p, package_id, rows=rows, sha256=sha256)
    if receipt.shredded:
        out.print(f"[green]receipt matches[/]: package {package_id} shredded")
    else:
        out.print(f"[green]receipt matches[/]: package {package_id} shredded on {receipt.shred_at}")


@keys.command("add")
def key_add(
    public_key: Annotated[str, typer.Option("--key", help="age1… or `ssh-ed25519 AAAA…`.")],
    label: Annotated[str, typer.Option(help="Where its private key lives.")],
    code: CodeOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Add a key your organisation's packages are encrypted to (a recipient, with a fresh
    code of your app)."""
    with open_platform(config) as platform:
        p = login(platform, Permission.RECIPIENT_KEYS)
        row = acts.add_recipient_key(platform, p, public_key, label, code=step_up_code(code))
    out.print(f"{row.id} {row.kind} {row.fingerprint}")


@keys.command("list")
def key_list(as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Your organisation's keys."""
    with open_platform(config) as platform:
        p = login(platform, Permission.RECIPIENT_KEYS)
        rows = acts.recipient_keys(platform, p)
    columns = [
        Col("id", "id", whole=True),
        Col("kind", "kind"),
        Col("fingerprint", "fingerprint", whole=True),
        Col("label", "label"),
        Col("added_at", "added"),
        Col("revoked_at", "revoked"),
    ]
    show(out, rows, columns, as_json=as_json, empty="no recipient key")


@keys.command("revoke")
def key_revoke(
    key_id: Annotated[str, typer.Argument(help="Key id.")], config: ConfigOpt = None
) -> None:
    """Stop encrypting new packages to a key."""
    with open_platform(config) as platform:
        p = login(platform, Permission.RECIPIENT_KEYS)
        acts.revoke_recipient_key(platform, p, key_id)
    out.print(f"key {key_id}: revoked")
