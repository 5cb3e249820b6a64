"""Shared bits of the benchmarks: timing, sources and sinks, the closing JSON line."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")
MB = 1_000_000


class Zeros(io.RawIOBase):
    """`n` bytes without allocating them: readinto leaves the caller's buffer as it is."""

    def __init__(self, n: int) -> None:
        self.left = n

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        n = min(len(b), self.left)
        self.left -= n
        return n


class Null(io.RawIOBase):
    """A sink that counts."""

    def __init__(self) -> None:
        self.n = 0

    def writable(self) -> bool:
        return True

    def write(self, b: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        n = len(b)
        self.n += n
        return n


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0


def closing_line(*, name: str, value: float, unit: str, baseline: float) -> None:
    print(
        json.dumps(
            {
                "name": name,
                "value": round(value, 1),
                "unit": unit,
                "baseline": round(baseline, 1),
                "ratio": round(value / baseline, 3),
            }
        )
    )
