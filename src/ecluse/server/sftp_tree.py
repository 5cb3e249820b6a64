"""The virtual tree an SFTP user sees, resolved from paths the client sends. Nothing maps to
the server's filesystem: a path is a name in this tree or it does not exist.

    /                       the directories the caller's permissions allow
    /inbox/                 signed instructions the caller's organisation processes
    /inbox/<id>/<name>      write-only: an upload that becomes an extraction
    /outbox/                packages addressed to the caller's organisation, read-only:
    /outbox/<id>.csv.age    the package, encrypted to the organisation's keys
    /outbox/<id>.manifest.json
"""

from __future__ import annotations

import posixpath
import re
import uuid
from dataclasses import dataclass
from typing import Literal

import asyncssh

Kind = Literal["root", "inbox", "instruction", "upload", "outbox", "package", "manifest"]
_UPLOAD_NAME = re.compile(r"^[\w.\- ]{1,200}$")
_OUTBOX_FILE = re.compile(r"^([0-9a-f-]{36})\.(csv\.age|manifest\.json)$")


@dataclass(frozen=True, slots=True)
class Node:
    kind: Kind
    id: str = ""  # instruction or package id
    name: str = ""  # upload name


def _uuid(text: str) -> str:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        raise asyncssh.SFTPNoSuchFile("no such file or directory") from None


def normalise(path: bytes) -> str:
    """An absolute path inside the virtual root: `..` cannot climb above `/`."""
    try:
        text = path.decode("utf-8")
    except UnicodeDecodeError:
        raise asyncssh.SFTPNoSuchFile("no such file or directory") from None
    if "\x00" in text:
        raise asyncssh.SFTPNoSuchFile("no such file or directory")
    return posixpath.normpath(posixpath.join("/", text)).replace("//", "/")


def resolve(path: bytes) -> Node:
    parts = [p for p in normalise(path).split("/") if p]
    match parts:
        case []:
            return Node("root")
        case ["inbox"]:
            return Node("inbox")
        case ["inbox", instruction]:
            return Node("instruction", _uuid(instruction))
        case ["inbox", instruction, name] if _UPLOAD_NAME.match(name):
            return Node("upload", _uuid(instruction), name)
        case ["outbox"]:
            return Node("outbox")
        case ["outbox", name] if m := _OUTBOX_FILE.match(name):
            return Node("package" if m.group(2) == "csv.age" else "manifest", _uuid(m.group(1)))
    raise asyncssh.SFTPNoSuchFile("no such file or directory")


def parent(path: bytes) -> Node | None:
    """The directory of the tree `path` would be in, if it is one (a name written there is
    refused, not "not found": the directory exists)."""
    try:
        node = resolve(posixpath.dirname(normalise(path)).encode())
    except asyncssh.SFTPNoSuchFile:
        return None
    return node if node.kind in ("root", "inbox", "instruction", "outbox") else None
