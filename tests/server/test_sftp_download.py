"""The SFTP package reader serves any in-order pattern of reads (pipelined, skipping ahead,
going back) with exactly the package's bytes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from ecluse.server import sftp_download
from ecluse.server.sftp_download import PackageReader

DATA = bytes(range(256)) * 20_000  # 5 MB in chunks of 1 MiB, as the store yields them


def _chunks(*_: object) -> Iterator[bytes]:
    return (DATA[i : i + (1 << 20)] for i in range(0, len(DATA), 1 << 20))


@pytest.mark.parametrize(
    "reads",
    [
        [(o, 32768) for o in range(0, len(DATA) + 32768, 32768)],  # OpenSSH's client
        [(0, 100), (3 << 20, 5000), (len(DATA) - 10, 100)],  # skipping ahead
        [(2 << 20, 10), (5, 7), (4 << 20, 1 << 20)],  # going back restarts the stream
    ],
)
def test_reads_return_exactly_the_bytes_asked(
    monkeypatch: pytest.MonkeyPatch, reads: list[tuple[int, int]]
) -> None:
    monkeypatch.setattr(sftp_download.packages, "download", _chunks)
    reader = PackageReader(platform=None, principal=None, package_id="p")  # type: ignore[arg-type]

    async def run() -> None:
        for offset, size in reads:
            assert await reader.read(offset, size) == DATA[offset : offset + size]

    asyncio.run(run())
