"""`ecluse keys`: key-encryption key versions and rotation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.console import Console

from ecluse.cli.common import ConfigOpt, local_actor, open_platform
from ecluse.cli.lazy import lazy
from ecluse.cli.listing import Col, JsonOpt, print_json, show

if TYPE_CHECKING:
    from ecluse.services import host
else:
    host = lazy("ecluse.services.host")

app = typer.Typer(help="Key-encryption keys: list versions, rotate.", no_args_is_help=True)
out = Console()


@app.command("list")
def list_keys(as_json: JsonOpt = False, config: ConfigOpt = None) -> None:
    """List key-encryption key versions and the signing key."""
    with open_platform(config) as platform:
        k = host.keys(platform)
    versions = [
        {"version": v.version, "state": v.state, "created_at": v.created_at} for v in k.versions
    ]
    if as_json:
        signing = {
            "id": k.signing_key_id,
            "manager": k.manager,
            "public_key": k.signing_public_key.hex(),
        }
        print_json({"versions": versions, "signing_key": signing})
        return
    columns = [
        Col("version", "version"),
        Col("state", "state"),
        Col("created_at", "created", minutes=True),
    ]
    show(out, versions, columns, as_json=False)
    out.print(
        f"signing key {k.signing_key_id} ({k.manager}), Ed25519 public key "
        "to pin with `ecluse audit verify --public-key`:"
    )
    out.print(k.signing_public_key.hex(), soft_wrap=True)


@app.command("rotate")
def rotate_cmd(config: ConfigOpt = None) -> None:
    """New key-encryption key; rewrap every data key (blobs untouched); destroy old versions."""
    with open_platform(config) as platform:
        r = host.rotate_keys(platform, actor=local_actor())
    out.print(
        f"[green]Rotated[/]: active version {r.new_version}, {r.rewrapped} data keys "
        f"rewrapped, destroyed versions: {', '.join(map(str, r.destroyed)) or 'none'}"
    )
