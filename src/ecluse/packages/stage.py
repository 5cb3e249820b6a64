"""A background stage: reading, governing and writing overlap (Polars, hashing and file
writes release the GIL).

Items are handed to one thread through a short queue, in order. A stage that fails
keeps draining its queue (so the producer never blocks) and raises its error to the
producer at the next `put` or at `close`; `stop` abandons it after a failure elsewhere.
Either way the thread has ended when `close` or `stop` returns, so the objects it wrote to
can be aborted safely.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
_END = object()


class Stage(Generic[T]):
    def __init__(
        self,
        name: str,
        work: Callable[[T], object],
        *,
        finish: Callable[[], object] | None = None,
        depth: int = 2,
    ) -> None:
        self._work, self._finish = work, finish
        self._queue: queue.Queue[object] = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._stopping = self._ended = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not _END:
            if self._error is None and not self._stopping:
                try:
                    self._work(item)  # type: ignore[arg-type]  # only `put` enqueues items
                except BaseException as e:  # raised to the producer
                    self._error = e
        if self._error is None and not self._stopping and self._finish is not None:
            try:
                self._finish()
            except BaseException as e:
                self._error = e

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def put(self, item: T) -> None:
        self._raise()
        if self._ended:
            raise RuntimeError("the stage has ended")
        self._queue.put(item)

    def end(self) -> None:
        """No more items: the stage finishes in the background (`close` waits for it)."""
        if not self._ended:
            self._ended = True
            self._queue.put(_END)

    def close(self) -> None:
        """Wait for every item and the finishing step; raise the stage's error, if any."""
        self.end()
        self._thread.join()
        self._raise()

    def stop(self) -> None:
        """Abandon what waits and wait for the thread; never raises."""
        self._stopping = True
        self.end()
        self._thread.join()
