"""The attributes the SFTP tree shows: directories readable, writable (an instruction takes
uploads) or closed, and read-only files; no owner but Écluse."""

from __future__ import annotations

import time

import asyncssh

DIR_READ, DIR_WRITE, DIR_CLOSED, FILE_READ = 0o40500, 0o40300, 0o40000, 0o100400


def directory(mode: int) -> asyncssh.SFTPAttrs:
    now = int(time.time())
    return asyncssh.SFTPAttrs(
        type=asyncssh.FILEXFER_TYPE_DIRECTORY, permissions=mode, size=0, mtime=now, atime=now
    )


def regular(size: int, mtime: float) -> asyncssh.SFTPAttrs:
    return asyncssh.SFTPAttrs(
        type=asyncssh.FILEXFER_TYPE_REGULAR,
        permissions=FILE_READ,
        size=size,
        mtime=int(mtime),
        atime=int(mtime),
    )
