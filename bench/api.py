"""The HTTPS API under `ecluse serve` (TLS, uvicorn): a streaming upload of the 500,000-row
export (extracted as it arrives) beside the same bytes streamed to a bare TLS endpoint on the
same server stack that discards them; and authenticated small requests (`GET /v1/me`: token
check, permission, audit-free read) per second at concurrency 1, 16 and 64 with p50/p99
latency, beside the unauthenticated health check on the same server.

    python -m bench.api [--patients 500000] [--requests 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from tests.server.harness import free_port, running

from bench.common import MB, closing_line
from ecluse.config import Settings
from ecluse.demo import FIELDS_A, cast_of, instruct, recipient_key
from ecluse.identity import issue
from ecluse.instance.platform import Platform
from ecluse.services.setup import init_instance
from ecluse.synth import synthesise, write_export

SINK = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    n = 0
    while True:
        message = await receive()
        n += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(n).encode()})
"""


def _pieces(data: bytes, size: int = 1 << 20) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def _upload(url: str, cert: Path, data: bytes, headers: dict[str, str]) -> float:
    with httpx.Client(verify=str(cert), timeout=600) as client:
        t0 = time.perf_counter()
        response = client.put(url, content=_pieces(data), headers=headers)
        elapsed = time.perf_counter() - t0
    response.raise_for_status()
    return elapsed


def _sink(work: Path, cert: Path, key: Path, data: bytes) -> float:
    (work / "sink_app.py").write_text(SINK)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "sink_app:app", "--port", str(port), "--http", "h11",
         "--ssl-certfile", str(cert), "--ssl-keyfile", str(key), "--log-level", "warning"],
        cwd=work,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                httpx.get(f"https://127.0.0.1:{port}/", verify=str(cert))
                break
            except httpx.TransportError:
                time.sleep(0.1)
        return min(_upload(f"https://127.0.0.1:{port}/", cert, data, {}) for _ in range(2))
    finally:
        server.terminate()
        server.wait(10)


async def _load(
    url: str, cert: Path, headers: dict[str, str], n: int, concurrency: int
) -> tuple[float, float, float]:
    """Requests per second, p50 and p99 latency (ms)."""
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(verify=str(cert), limits=limits, timeout=60) as client:
        queue = list(range(n))

        async def worker() -> None:
            while queue:
                queue.pop()
                t0 = time.perf_counter()
                response = await client.get(url, headers=headers)
                latencies.append(time.perf_counter() - t0)
                response.raise_for_status()

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    q = statistics.quantiles(latencies, n=100)
    return n / elapsed, q[49] * 1000, q[98] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--patients", type=int, default=500_000)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ecluse-bench-api-") as tmp:
        work = Path(tmp)
        buf = work / "export.csv"
        with buf.open("wb") as f:
            write_export(synthesise(patients=args.patients, labs=28, seed=4), f)
        data = buf.read_bytes()
        buf.unlink()
        settings = Settings(home=work / "home")
        init = init_instance(settings, admin_email="admin@bench.example", admin_name="Bench Admin")
        platform = Platform.open(settings)
        try:
            cast = cast_of(platform, init)
            recipient_key(cast, work)
            operator = cast.people["operator"]
            with platform.db.transaction() as s:
                token = issue(
                    s, account_id=operator.account_id, name="bench", days=1, second_factor=True
                ).token
            auth = {"Authorization": f"Bearer {token}"}
            # one address stands for 64 clients here: the server (its own process, its
            # settings from the environment) lifts its per-address cap (default 20)
            with running(settings, work, ECLUSE_HTTPS_MAX_CONNECTIONS_PER_ADDRESS="256") as server:
                base = f"https://127.0.0.1:{server.https_port}"
                cert = settings.home / "server" / "tls.crt"
                ours = float("inf")
                for _ in range(2):
                    iid = instruct(
                        cast,
                        scope="last_visit >= '2000-01-01'",
                        fields=FIELDS_A,
                        expected=args.patients,
                    )
                    ours = min(
                        ours, _upload(f"{base}/v1/instructions/{iid}/source", cert, data, auth)
                    )
                plain = _sink(work, cert, settings.home / "server" / "tls.key", data)
                print(
                    f"upload {len(data) / MB:,.0f} MB over HTTPS: extracted as it arrives "
                    f"{ours:.2f} s "
                    f"({len(data) / MB / ours:,.0f} MB/s); bare TLS sink {plain:.2f} s "
                    f"({len(data) / MB / plain:,.0f} MB/s)"
                )
                rows = []
                for c in (1, 16, 64):
                    me = asyncio.run(_load(f"{base}/v1/me", cert, auth, args.requests, c))
                    health = asyncio.run(_load(f"{base}/v1/health", cert, {}, args.requests, c))
                    rows.append((c, me, health))
                    print(
                        f"concurrency {c:>2}: GET /v1/me {me[0]:,.0f} req/s (p50 {me[1]:.1f} ms, "
                        f"p99 {me[2]:.1f} ms); GET /v1/health {health[0]:,.0f} req/s "
                        f"(p50 {health[1]:.1f} ms, p99 {health[2]:.1f} ms)"
                    )
        finally:
            platform.close()
    closing_line(
        name="api.upload_mb_per_s",
        value=len(data) / MB / ours,
        unit="MB/s",
        baseline=len(data) / MB / plain,
    )
    closing_line(
        name="api.me_req_per_s_c16", value=rows[1][1][0], unit="req/s", baseline=rows[1][2][0]
    )


if __name__ == "__main__":
    main()
