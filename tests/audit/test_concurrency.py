"""Threads and processes appending at once keep one linear chain, on both databases."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

from sqlalchemy import func, select

from ecluse.db.models import AuditEvent
from ecluse.instance.platform import Platform
from tests.audit.helpers import append, verify

WRITER = """
import sys
from ecluse.config import load_settings
from ecluse.instance.platform import Platform
from tests.audit.helpers import append
p = Platform.open(load_settings())
append(p, int(sys.argv[1]), actor=sys.argv[2])
p.close()
"""


def _count(platform: Platform) -> int:
    with platform.db.transaction() as s:
        return int(s.execute(select(func.count()).select_from(AuditEvent)).scalar() or 0)


def test_threads_and_processes_append_one_chain(platform: Platform) -> None:
    start = _count(platform)
    env = {**os.environ, "ECLUSE_HOME": str(platform.settings.home)}
    if platform.settings.database_url:
        env["ECLUSE_DATABASE_URL"] = platform.settings.database_url
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, "60", f"test:proc{i}"], env=env)
        for i in range(2)
    ]
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            append(platform, 40, actor=f"test:thread{i}")
        except BaseException as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert errors == []
    assert _count(platform) == start + 6 * 40 + 2 * 60
    report = verify(platform)
    assert report.ok, report.reason
    assert report.last_seq == report.events == start + 360
