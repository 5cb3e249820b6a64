"""The fresh second-factor code an act needs (step-up): `--code`, else typed at a hidden
prompt when a terminal is attached. Without one, the act is refused (and audited)."""

from __future__ import annotations

import getpass
import sys
from typing import Annotated

import typer

CodeOpt = Annotated[
    str | None,
    typer.Option(
        "--code",
        help="A fresh code of your authenticator app, or a recovery code (else prompted).",
    ),
]


def step_up_code(code: str | None) -> str | None:
    if code:
        return code.strip()
    if sys.stdin.isatty():
        return getpass.getpass("Code of your authenticator app: ").strip() or None
    return None
