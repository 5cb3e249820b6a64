"""Background stages: order, finishing step, errors raised to the producer, abandonment."""

from __future__ import annotations

import threading

import pytest

from ecluse.packages.stage import Stage


def test_items_in_order_then_the_finishing_step_on_the_stage_thread() -> None:
    seen: list[int] = []
    threads: set[str] = set()

    def work(item: int) -> None:
        threads.add(threading.current_thread().name)
        seen.append(item)

    stage = Stage("worker", work, finish=lambda: seen.append(-1), depth=3)
    for i in range(100):
        stage.put(i)
    stage.close()
    assert seen == [*range(100), -1]
    assert threads == {"worker"}


def test_an_error_reaches_the_producer_who_never_blocks() -> None:
    finished = threading.Event()

    def work(item: int) -> None:
        if item == 3:
            raise OSError("disk full")

    stage = Stage("worker", work, finish=finished.set, depth=1)
    with pytest.raises(OSError, match="disk full"):
        for i in range(10_000):  # the failed stage drains its queue: no deadlock
            stage.put(i)
    with pytest.raises(OSError, match="disk full"):
        stage.close()
    assert not finished.is_set()  # nothing is finished after a failure


def test_stop_abandons_what_waits_and_never_raises() -> None:
    started, release, finished = threading.Event(), threading.Event(), threading.Event()
    done: list[int] = []

    def work(item: int) -> None:
        started.set()
        release.wait(5)
        done.append(item)

    stage = Stage("worker", work, finish=finished.set, depth=4)
    for i in range(4):
        stage.put(i)
    assert started.wait(5)
    stopper = threading.Thread(target=stage.stop)
    stopper.start()
    stopper.join(0.3)  # stop() is waiting for the item under way
    assert stopper.is_alive()
    release.set()
    stopper.join(5)
    assert done == [0]  # the item under way ends; those waiting are dropped
    assert not finished.is_set()
    with pytest.raises(RuntimeError, match="ended"):
        stage.put(9)
