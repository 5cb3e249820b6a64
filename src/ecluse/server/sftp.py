"""The SFTP server: the virtual tree of `sftp_tree` over the same services as the API.

Uploads stream into an extraction (no temporary file); downloads stream the package's age
ciphertext from the store. Writes must come in order (OpenSSH's client sends them so). Every
open and close is audited, the close with the bytes and operations it saw, and so is every
refused request. Each method of asyncssh's `SFTPServer` is overridden, so that nothing ever
falls through to its default, the server's own filesystem (a test checks this).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

import asyncssh

from ecluse.errors import EcluseError
from ecluse.server.sftp_attrs import DIR_CLOSED, DIR_READ, DIR_WRITE, directory, regular
from ecluse.server.sftp_download import PackageReader
from ecluse.server.sftp_queries import TreeQueries
from ecluse.server.sftp_tree import Node, normalise, parent, resolve
from ecluse.server.sftp_upload import QuarantineUpload
from ecluse.server.ssh_auth import Gatekeeper
from ecluse.services import packages, ssh
from ecluse.services.packages import Transfer
from ecluse.services.vocabulary import Permission, Platform

_WRITE_FLAGS = asyncssh.FXF_WRITE | asyncssh.FXF_APPEND | asyncssh.FXF_CREAT | asyncssh.FXF_TRUNC


def _denied(why: str = "permission denied") -> NoReturn:
    raise asyncssh.SFTPPermissionDenied(why)


@dataclass(eq=False)  # one per open handle, kept in a set
class _Open:
    node: Node
    download: PackageReader | None = None
    upload: QuarantineUpload | None = None
    body: bytes = b""  # a manifest or an extraction's status, served from memory
    operations: int = 0


LIVE_CHECK_SECONDS = 2.0


class EcluseSFTP(asyncssh.SFTPServer):
    def __init__(
        self,
        chan: asyncssh.SSHServerChannel[bytes],
        *,
        platform: Platform,
        background: set[asyncio.Future[None]],
    ) -> None:
        super().__init__(chan)
        owner = chan.get_connection().get_owner()
        principal = owner.principal if isinstance(owner, Gatekeeper) else None
        if principal is None:  # authentication always precedes a channel; fail closed
            raise asyncssh.DisconnectError(asyncssh.DISC_NO_MORE_AUTH_METHODS_AVAILABLE, "no")
        self.platform, self.principal = platform, principal
        self.background = background  # the server's extractions under way (outlive a session)
        self.trees = TreeQueries(platform=platform, principal=principal)
        self.open_files: set[_Open] = set()
        self._since = datetime.now(UTC)  # the login: a password changed after it ends this
        self._checked = 0.0  # when the credential was last found live (monotonic)

    # helpers
    async def _live(self) -> None:
        """Stop at once a connection whose account was disabled or locked, whose password
        changed or whose key was revoked since it logged in (checked every 2 s at most)."""
        if time.monotonic() - self._checked < LIVE_CHECK_SECONDS:
            return
        if not await self._query(lambda: self.trees.still_live(self._since)):
            await self._audited(Transfer.REFUSED, {}, operation="any", reason="credential ended")
            self.channel.get_connection().close()
            _denied("your credential ended: log in again")
        self._checked = time.monotonic()

    def _may(self, needed: Permission) -> bool:
        return needed in self.principal.permissions

    async def _audited(self, event: Transfer, refs: dict[str, str], **details: Any) -> None:
        await asyncio.get_running_loop().run_in_executor(
            None,
            lambda: packages.record_transfer(self.platform, self.principal, event, refs, **details),
        )

    async def _refuse(self, operation: str, node: Node | None, why: str) -> NoReturn:
        refs = (
            {
                "instruction"
                if node and node.kind in ("instruction", "upload")
                else "package": node.id
            }
            if node and node.id
            else {}
        )
        await self._audited(Transfer.REFUSED, refs, operation=operation, reason=why)
        _denied(why)

    async def _node(self, path: bytes, operation: str, *, writing: bool = False) -> Node:
        """The node `path` names, if the caller may see it. Refused (audited): a directory of
        the tree the caller's permissions do not open, and writing a new name into a
        directory that takes none. Not found (audited): a path outside the tree (a
        traversal attempt, say)."""
        await self._live()
        try:
            node = resolve(path)
        except asyncssh.SFTPNoSuchFile:
            if writing and parent(path) is not None:
                await self._refuse(operation, None, "nothing can be written here")
            await self._audited(Transfer.REFUSED, {}, operation=operation, reason="no such path")
            raise
        if node.kind in ("inbox", "instruction", "upload"):
            await self._opens(Permission.EXTRACTION_RUN, "inbox", operation)
        elif node.kind in ("outbox", "package", "manifest"):
            await self._opens(Permission.PACKAGE_DOWNLOAD, "outbox", operation)
        return node

    async def _opens(self, needed: Permission, directory: str, operation: str) -> None:
        if self._may(needed):
            return
        if ssh.opens_with_roles(self.principal, needed):
            await self._refuse(operation, None, f"the {directory} needs a second-factor login")
        await self._refuse(operation, None, f"the {directory} is not for your roles")

    async def _in_inbox(self, node: Node, operation: str) -> None:
        """An instruction of the caller's inbox today; one of an agreement the caller's
        organisation processes but not open now (not signed yet, closed, outside its dates)
        is refused; any other is not found (another organisation's instructions are not
        part of this tree)."""
        if node.id in await self._query(self.trees.inbox):
            return
        if await self._query(lambda: self.trees.processed_here(node.id)):
            await self._refuse(operation, node, "this instruction is not open for uploads today")
        await self._audited(Transfer.REFUSED, {}, operation=operation, reason="no such path")
        raise asyncssh.SFTPNoSuchFile("no such file or directory")

    async def _query(self, fn: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, fn)

    # directory and attribute requests
    def map_path(self, path: bytes) -> bytes:
        return path

    def reverse_map_path(self, path: bytes) -> bytes:
        return path

    def realpath(self, path: bytes) -> bytes:
        return normalise(path).encode()

    async def stat(self, path: bytes) -> asyncssh.SFTPAttrs:
        try:
            node = await self._node(path, "stat")
        except asyncssh.SFTPPermissionDenied:
            if resolve(path).kind in ("inbox", "outbox"):  # there, closed to this person
                return directory(DIR_CLOSED)
            raise
        if node.kind == "root" or node.kind in ("inbox", "outbox"):
            return directory(DIR_READ)
        if node.kind == "instruction":
            await self._in_inbox(node, "stat")
            return directory(DIR_WRITE)
        if node.kind == "upload":
            runs = await self._query(lambda: self.trees.runs(node.id))
            if node.name in runs:
                return regular(len(runs[node.name]), time.time())
        if node.kind in ("package", "manifest"):
            for p in await self._query(self.trees.outbox):
                if p.id == node.id:
                    size = p.plaintext_bytes if node.kind == "package" else p.manifest_bytes
                    return regular(size, p.created_at.timestamp())
        raise asyncssh.SFTPNoSuchFile("no such file or directory")

    async def lstat(self, path: bytes) -> asyncssh.SFTPAttrs:
        return await self.stat(path)

    async def fstat(self, file_obj: object) -> asyncssh.SFTPAttrs:
        if isinstance(file_obj, _Open) and file_obj.upload is not None:
            return asyncssh.SFTPAttrs(size=file_obj.upload.received, permissions=0o100200)
        if isinstance(file_obj, _Open):
            return await self.stat(f"/outbox/{file_obj.node.id}.csv.age".encode())
        _denied()

    async def scandir(self, path: bytes) -> AsyncIterator[asyncssh.SFTPName]:
        node = await self._node(path, "list")
        entries: list[tuple[str, asyncssh.SFTPAttrs]] = [(".", directory(DIR_READ))]
        if node.kind == "root":
            if self._may(Permission.EXTRACTION_RUN):
                entries.append(("inbox", directory(DIR_READ)))
            if self._may(Permission.PACKAGE_DOWNLOAD):
                entries.append(("outbox", directory(DIR_READ)))
        elif node.kind == "inbox":
            entries += [(i, directory(DIR_WRITE)) for i in await self._query(self.trees.inbox)]
        elif node.kind == "instruction":
            runs = await self._query(lambda: self.trees.runs(node.id))
            if not runs:  # runs of one's own stay readable once the instruction is over
                await self._in_inbox(node, "list")
            entries += [(name, regular(len(body), time.time())) for name, body in runs.items()]
        elif node.kind == "outbox":
            listed = await self._query(lambda: self.trees.outbox(listing=True))
            for p in listed:
                mtime = p.created_at.timestamp()
                entries.append((f"{p.id}.csv.age", regular(p.plaintext_bytes, mtime)))
                entries.append((f"{p.id}.manifest.json", regular(p.manifest_bytes, mtime)))
        else:
            raise asyncssh.SFTPNoSuchFile("not a directory")
        for name, attrs in entries:
            longname = self.format_longname(asyncssh.SFTPName(name.encode(), attrs=attrs))
            yield asyncssh.SFTPName(name.encode(), longname, attrs)

    def format_user(self, uid: int | None) -> str:
        return "ecluse"

    def format_group(self, gid: int | None) -> str:
        return "ecluse"

    # files
    async def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs) -> object:
        writing = bool(pflags & _WRITE_FLAGS)
        node = await self._node(path, "open", writing=writing)
        if node.kind == "upload" and writing and not pflags & asyncssh.FXF_READ:
            return await self._open_upload(node)
        if node.kind in ("package", "manifest") and not writing:
            return await self._open_package(node)
        if node.kind == "upload" and not writing:
            runs = await self._query(lambda: self.trees.runs(node.id))
            if node.name in runs:
                handle = _Open(node, body=runs[node.name])
                self.open_files.add(handle)
                await self._audited(Transfer.OPEN, {"instruction": node.id}, mode="read")
                return handle
        await self._refuse(
            "open",
            node,
            "read-only" if node.kind in ("package", "manifest") else "permission denied",
        )

    async def _open_upload(self, node: Node) -> _Open:
        await self._in_inbox(node, "open")
        handle = _Open(
            node,
            upload=QuarantineUpload(
                self.platform,
                self.principal,
                instruction_id=node.id,
                name=node.name,
                background=self.background,
            ),
        )
        self.open_files.add(handle)
        await self._audited(Transfer.OPEN, {"instruction": node.id}, mode="write")
        return handle

    async def _open_package(self, node: Node) -> _Open:
        try:
            package = await self._query(
                lambda: packages.open_package(self.platform, self.principal, node.id)
            )
        except EcluseError:  # refused and audited by the service
            raise asyncssh.SFTPNoSuchFile("no such file or directory") from None
        handle = _Open(node)
        if node.kind == "manifest":
            handle.body = package.manifest.encode()
        else:
            handle.download = PackageReader(self.platform, self.principal, node.id)
        self.open_files.add(handle)
        await self._audited(Transfer.OPEN, {"package": node.id}, mode="read", file=node.kind)
        return handle

    async def read(self, file_obj: object, offset: int, size: int) -> bytes:
        if not isinstance(file_obj, _Open) or file_obj.upload is not None:
            _denied("write-only")
        file_obj.operations += 1
        await self._live()
        if file_obj.download is not None:
            return await file_obj.download.read(offset, size)
        return file_obj.body[offset : offset + size]

    def write(self, file_obj: object, offset: int, data: bytes) -> int | Awaitable[int]:
        """Synchronous for most writes (no coroutine per packet); a coroutine when a piece
        is handed over to be encrypted."""
        if not isinstance(file_obj, _Open) or file_obj.upload is None:
            _denied("read-only")
        file_obj.operations += 1
        try:
            handing_over = file_obj.upload.write(offset, data)
        except EcluseError as e:
            self._discard(file_obj)
            raise asyncssh.SFTPFailure(e.diagnostics()) from None
        if handing_over is None:
            return len(data)
        return self._written(file_obj, handing_over, len(data))

    async def _written(self, handle: _Open, handing_over: Awaitable[None], size: int) -> int:
        try:
            await handing_over
        except EcluseError as e:
            self._discard(handle)
            raise asyncssh.SFTPFailure(e.diagnostics()) from None
        return size

    def _discard(self, handle: _Open) -> None:
        if handle.upload is not None and handle in self.open_files:
            handle.upload.abort()
        self.open_files.discard(handle)

    async def close(self, file_obj: object) -> None:
        if not isinstance(file_obj, _Open):
            return
        node = file_obj.node
        if file_obj.upload is not None:
            if file_obj not in self.open_files:  # discarded after a refused write
                raise asyncssh.SFTPFailure("this upload was refused and discarded")
            self._checked = 0.0  # an extraction starts as this person: checked now
            await self._live()
            self.open_files.discard(file_obj)
            blob_id = await file_obj.upload.close()
            await self._audited(
                Transfer.CLOSE,
                {"instruction": node.id, "blob": blob_id},
                bytes=file_obj.upload.received,
                writes=file_obj.operations,
                outcome="extraction started",
            )
            return
        self.open_files.discard(file_obj)
        sent = file_obj.download.sent if file_obj.download else len(file_obj.body)
        key = "instruction" if node.kind == "upload" else "package"
        await self._audited(Transfer.CLOSE, {key: node.id}, bytes=sent, reads=file_obj.operations)

    async def exit(self) -> None:
        """The session ended: an upload never closed is discarded."""
        for handle in list(self.open_files):
            self._discard(handle)
        self.open_files.clear()

    # everything else: refused
    async def _unsupported(self, operation: str) -> NoReturn:
        await self._refuse(operation, None, "not permitted here")

    async def setstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        pass  # OpenSSH's client sets times after a put: accepted and ignored

    async def lsetstat(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        pass

    async def fsetstat(self, file_obj: object, attrs: asyncssh.SFTPAttrs) -> None:
        pass

    async def open56(
        self, path: bytes, desired_access: int, flags: int, attrs: asyncssh.SFTPAttrs
    ) -> object:
        await self._unsupported("open")

    async def remove(self, path: bytes) -> None:
        await self._unsupported("remove")

    async def mkdir(self, path: bytes, attrs: asyncssh.SFTPAttrs) -> None:
        await self._unsupported("mkdir")

    async def rmdir(self, path: bytes) -> None:
        await self._unsupported("rmdir")

    async def rename(self, oldpath: bytes, newpath: bytes) -> None:
        await self._unsupported("rename")

    async def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
        await self._unsupported("rename")

    async def readlink(self, path: bytes) -> bytes:
        await self._unsupported("readlink")

    async def symlink(self, oldpath: bytes, newpath: bytes) -> None:
        await self._unsupported("symlink")

    async def link(self, oldpath: bytes, newpath: bytes) -> None:
        await self._unsupported("link")

    async def lock(self, file_obj: object, offset: int, length: int, flags: int) -> None:
        await self._unsupported("lock")

    async def unlock(self, file_obj: object, offset: int, length: int) -> None:
        await self._unsupported("unlock")

    async def statvfs(self, path: bytes) -> asyncssh.SFTPVFSAttrs:
        await self._unsupported("statvfs")

    async def fstatvfs(self, file_obj: object) -> asyncssh.SFTPVFSAttrs:
        await self._unsupported("statvfs")

    async def fsync(self, file_obj: object) -> None:
        pass  # an upload is made durable when it is closed
