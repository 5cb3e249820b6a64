"""`ecluse serve`: HTTPS and SFTP on one event loop, the worker and the supervision loop
(detectors, escalation, probes, alert delivery) on threads, in one process. The TLS
certificate and SSH host key are made in the home on first start."""

from __future__ import annotations

import asyncio
import functools
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import uvloop

from ecluse.server.api import create_app
from ecluse.server.https import https_server
from ecluse.server.sftp import EcluseSFTP
from ecluse.server.ssh_algorithms import CIPHERS, KEX, MACS, SIGNATURES
from ecluse.server.ssh_auth import Gatekeeper
from ecluse.server.ssh_listener import SlicedListener
from ecluse.server.tls import server_context
from ecluse.services import host
from ecluse.services.vocabulary import Platform


@dataclass(frozen=True, slots=True)
class Endpoints:
    https: str
    sftp: str
    tls_fingerprint: str
    ssh_fingerprint: str


def host_key(path: Path) -> asyncssh.SSHKey:
    """The SSH host key (ed25519), made on first start, private to the server's account."""
    if not path.exists():
        path.parent.mkdir(mode=0o700, exist_ok=True)
        key = asyncssh.generate_private_key("ssh-ed25519")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key.export_private_key())
    return asyncssh.read_private_key(path)


def run_servers(
    platform: Platform,
    *,
    worker_interval: float = 30.0,
    ready: Callable[[Endpoints], None] | None = None,
) -> None:
    """Serve until cancelled, on uvloop's event loop: asyncssh's work for each SSH packet
    (reads, timers, writes) takes about half the time it does on asyncio's own loop, and
    an upload's speed is bound by it."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve_forever(platform, worker_interval=worker_interval, ready=ready))


async def _listen_sftp(
    platform: Platform, ssh_key: asyncssh.SSHKey, extractions: set[asyncio.Future[None]]
) -> asyncssh.SSHAcceptor:
    s = platform.settings
    return await asyncssh.listen(
        s.bind,
        s.sftp_port,
        server_host_keys=[ssh_key],
        server_factory=lambda: Gatekeeper(platform),
        sftp_factory=functools.partial(EcluseSFTP, platform=platform, background=extractions),
        allow_scp=False,
        line_editor=False,  # SFTP only: no shell session to edit lines for
        tunnel=SlicedListener(),  # asyncssh copies less when fed packet-sized reads
        kex_algs=KEX,
        encryption_algs=CIPHERS,
        mac_algs=MACS,
        signature_algs=SIGNATURES,
        window=8 << 20,  # bytes in flight per session: uploads stream without stalls
        max_pktsize=256 << 10,  # one SSH packet per SFTP write of OpenSSH's client
        agent_forwarding=False,
        x11_forwarding=False,
        allow_pty=False,
        login_timeout=s.client_timeout_seconds,
        keepalive_interval=s.client_timeout_seconds / 3,
        keepalive_count_max=3,
    )


def _background(
    platform: Platform, *, worker_interval: float, stop: threading.Event
) -> list[threading.Thread]:
    """The worker and the supervision, each on its thread until `stop`."""
    threads = [
        threading.Thread(
            target=host.run_worker,
            args=(platform,),
            kwargs={"interval": worker_interval, "stop": stop},
            name="ecluse-worker",
            daemon=True,
        ),
        threading.Thread(
            target=host.supervisor(platform).run,
            kwargs={"stop": stop},
            name="ecluse-supervision",
            daemon=True,
        ),
    ]
    for thread in threads:
        thread.start()
    return threads


async def serve_forever(
    platform: Platform,
    *,
    worker_interval: float = 30.0,
    ready: Callable[[Endpoints], None] | None = None,
) -> None:
    s = platform.settings
    cert, key, tls_fp = host.tls_certificate(s)
    ssh_key = host_key(s.server_dir / "ssh_host_ed25519_key")
    extractions: set[asyncio.Future[None]] = set()  # of SFTP uploads, in the background
    sftp = await _listen_sftp(platform, ssh_key, extractions)
    server = https_server(create_app(platform), s, server_context(cert, key))
    stop = threading.Event()
    threads = _background(platform, worker_interval=worker_interval, stop=stop)
    host.server_started(platform, https=s.https_port, sftp=s.sftp_port, bind=s.bind)
    address = s.bind if ":" not in s.bind else f"[{s.bind}]"
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:  # "ready" only once HTTPS listens too
            if serving.done():
                await serving  # it failed to start: raise why
                return
            await asyncio.sleep(0.02)
        if ready is not None:
            ready(
                Endpoints(
                    https=f"https://{address}:{s.https_port}/",
                    sftp=f"sftp -P {s.sftp_port} <your e-mail>@{s.bind}",
                    tls_fingerprint=tls_fp,
                    ssh_fingerprint=ssh_key.get_fingerprint("sha256"),
                )
            )
        await serving
    finally:
        stop.set()
        sftp.close()
        await sftp.wait_closed()
        loop = asyncio.get_running_loop()
        for thread in threads:
            await loop.run_in_executor(None, thread.join, 30)
