"""Network hardening of `ecluse serve`, tried with real clients on real sockets: the TLS suites
offered (OpenSSL's `s_client`), the SSH algorithms offered (OpenSSH's `ssh`, and the server's
KEXINIT read off the wire), slow headers, connections per address, forwarded addresses."""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import ssl
import struct
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from ecluse.db.models import AuditEvent
from ecluse.instance.platform import Platform
from ecluse.server.ssh_algorithms import KEX, MACS
from ecluse.server.tls import server_context
from tests.server.harness import Running, running

ADMIN = "ada.admin@lab.example.fr"


def _rsa_certificate(directory: Path) -> dict[str, str]:
    """An RSA certificate: with one, RSA key exchange and ECDHE-RSA-CBC suites are possible
    at all, so that refusing them is the server's doing."""
    cert, key = directory / "rsa.crt", directory / "rsa.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-subj", "/CN=localhost", "-days", "2"],
        check=True, capture_output=True,
    )  # fmt: skip
    return {"ECLUSE_TLS_CERT": str(cert), "ECLUSE_TLS_KEY": str(key)}


def _s_client(port: int, *options: str) -> str:
    """The suite OpenSSL's client negotiated, or "(NONE)"."""
    done = subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", *options],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    for line in done.stdout.splitlines():
        if "Cipher is" in line:
            return line.rsplit("Cipher is", 1)[1].strip()
    return "(NONE)"


# (what is tried, s_client options, accepted)
TLS_ATTEMPTS = [
    ("TLS 1.3", ["-tls1_3"], True),
    ("ECDHE-RSA AES-GCM", ["-tls1_2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384"], True),
    ("ECDHE-RSA ChaCha20", ["-tls1_2", "-cipher", "ECDHE-RSA-CHACHA20-POLY1305"], True),
    ("RSA key exchange, GCM", ["-tls1_2", "-cipher", "AES128-GCM-SHA256"], False),
    ("RSA key exchange, CBC", ["-tls1_2", "-cipher", "AES256-SHA256"], False),
    ("ECDHE-RSA CBC SHA-1", ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA"], False),
    ("ECDHE-RSA CBC SHA-384", ["-tls1_2", "-cipher", "ECDHE-RSA-AES256-SHA384"], False),
    ("DHE-RSA GCM", ["-tls1_2", "-cipher", "DHE-RSA-AES128-GCM-SHA256"], False),
    ("TLS 1.1", ["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"], False),
    ("TLS 1.0", ["-tls1", "-cipher", "DEFAULT:@SECLEVEL=0"], False),
]


def test_tls_offers_ecdhe_with_aead_only(platform: Platform, tmp_path: Path) -> None:
    with running(platform.settings, tmp_path, **_rsa_certificate(tmp_path)) as server:
        got = {what: _s_client(server.https_port, *options) for what, options, _ in TLS_ATTEMPTS}
    for what, _, accepted in TLS_ATTEMPTS:
        assert (got[what] != "(NONE)") is accepted, (what, got[what])


def test_the_tls_context_lists_no_weak_suite(platform: Platform) -> None:
    """Every suite the context would offer (3DES included, which today's OpenSSL client
    cannot even propose): TLS 1.3, or ECDHE with AES-GCM or ChaCha20-Poly1305."""
    cert = platform.settings.home / "c.crt"
    key = platform.settings.home / "c.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = server_context(cert, key)
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2
    for suite in context.get_ciphers():
        if suite["protocol"] == "TLSv1.3":
            continue
        assert suite["kea"] == "kx-ecdhe" and suite["aead"], suite["name"]
        assert suite["symmetric"] in ("aes-128-gcm", "aes-256-gcm", "chacha20-poly1305")


def _kexinit(port: int) -> list[list[str]]:
    """The server's first binary packet (sent in clear): its ten name-lists, RFC 4253 §7.1."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"SSH-2.0-kexinit-reader\r\n")
        stream = sock.makefile("rb")
        while not stream.readline().startswith(b"SSH-"):
            pass
        length, padding = struct.unpack(">IB", stream.read(5))
        payload = stream.read(length - 1)[: length - 1 - padding]
    assert payload[0] == 20  # SSH_MSG_KEXINIT
    lists, at = [], 17
    for _ in range(10):
        (size,) = struct.unpack(">I", payload[at : at + 4])
        lists.append(payload[at + 4 : at + 4 + size].decode().split(","))
        at += 4 + size
    return lists


def _ssh(server: Running, directory: Path, *options: str) -> str:
    done = subprocess.run(
        ["ssh", "-p", str(server.sftp_port), "-o", "BatchMode=yes",
         "-o", f"UserKnownHostsFile={server.known_hosts(directory)}",
         "-o", "StrictHostKeyChecking=yes", "-o", "PubkeyAuthentication=no",
         *options, "nobody@127.0.0.1", "true"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    return done.stderr


# (OpenSSH client option, what the server must answer)
SSH_ATTEMPTS = [
    ("KexAlgorithms=diffie-hellman-group1-sha1", "no matching key exchange method"),
    ("KexAlgorithms=diffie-hellman-group14-sha1", "no matching key exchange method"),
    ("KexAlgorithms=diffie-hellman-group-exchange-sha1", "no matching key exchange method"),
    ("KexAlgorithms=diffie-hellman-group-exchange-sha256", "no matching key exchange method"),
    ("HostKeyAlgorithms=ssh-rsa", "no matching host key type"),
    ("Ciphers=aes128-ctr,aes256-cbc,3des-cbc", "no matching cipher"),
    ("KexAlgorithms=diffie-hellman-group14-sha256", "Permission denied"),  # kex done
    ("KexAlgorithms=curve25519-sha256", "Permission denied"),
]


def test_ssh_offers_no_sha1_and_no_small_group(platform: Platform, tmp_path: Path) -> None:
    with running(platform.settings, tmp_path) as server:
        kex, host_keys, _, _, macs_out, macs_in, *_ = _kexinit(server.sftp_port)
        answers = {option: _ssh(server, tmp_path, "-o", option) for option, _ in SSH_ATTEMPTS}
    assert [k for k in kex if not k.startswith(("ext-info", "kex-strict"))] == KEX
    assert not [k for k in kex if "sha1" in k or "group1-" in k or "group-exchange" in k]
    assert macs_out == macs_in == MACS and not [m for m in macs_out if "sha1" in m]
    assert host_keys == ["ssh-ed25519"]
    for option, expected in SSH_ATTEMPTS:
        assert expected in answers[option], (option, answers[option])


def _tls(port: int) -> ssl.SSLSocket:
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    sock = socket.create_connection(("127.0.0.1", port), timeout=15)
    return context.wrap_socket(sock, server_hostname="localhost")


def _closed_after(sock: socket.socket) -> float:
    """Seconds until the server closes `sock` (reading nothing)."""
    start = time.monotonic()
    try:
        while sock.recv(1024):
            pass
    except (ConnectionError, ssl.SSLError):
        pass
    return time.monotonic() - start


HEALTH = b"GET /v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n"


def _slow_first_request(port: int) -> socket.socket:
    tls = _tls(port)
    tls.sendall(b"GET /v1/health HTTP/1.1\r\nHost: loc")
    return tls


def _slow_second_request(port: int) -> socket.socket:
    tls = _tls(port)
    tls.sendall(HEALTH)
    assert b"200 OK" in tls.recv(4096)
    tls.sendall(b"GET /v1/health HTTP/1.1\r\n")  # a later request, as slow
    return tls


def _no_handshake(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=15)


def _silent(port: int) -> socket.socket:
    return _tls(port)  # handshake done, then nothing


@pytest.mark.parametrize(
    "attack", [_slow_first_request, _slow_second_request, _no_handshake, _silent]
)
def test_slow_headers_are_cut_off(platform: Platform, tmp_path: Path, attack: object) -> None:
    with running(platform.settings, tmp_path, ECLUSE_HTTPS_HEADER_TIMEOUT_SECONDS="2") as server:
        with attack(server.https_port) as sock:  # type: ignore[operator]
            waited = _closed_after(sock)
        with _tls(server.https_port) as tls:  # a request on time is still served
            tls.sendall(HEALTH)
            assert b"200 OK" in tls.recv(4096)
    assert waited < 5  # 2 s and some slack; the client gives up at 15


def _answered(sock: ssl.SSLSocket) -> bool:
    try:
        sock.sendall(HEALTH)
        return b"200 OK" in sock.recv(4096)
    except (ConnectionError, ssl.SSLError, TimeoutError):
        return False


@pytest.mark.parametrize(
    ("trusted", "capped"),
    [(None, True), ('["127.0.0.1"]', False)],  # a trusted proxy carries many clients: not capped
)
def test_connections_per_address_are_capped(
    platform: Platform, tmp_path: Path, trusted: str | None, capped: bool
) -> None:
    env = {"ECLUSE_HTTPS_MAX_CONNECTIONS_PER_ADDRESS": "3"}
    if trusted:
        env["ECLUSE_TRUSTED_PROXIES"] = trusted
    with running(platform.settings, tmp_path, **env) as server:
        held = [_tls(server.https_port) for _ in range(3)]
        time.sleep(0.5)  # the server has counted them
        with _tls(server.https_port) as fourth:
            refused = not _answered(fourth)
        held.pop().close()
        time.sleep(0.5)
        with _tls(server.https_port) as after:
            admitted = _answered(after)
        for sock in held:
            sock.close()
    assert refused is capped and admitted


def _login_address(platform: Platform, server: Running) -> str:
    """A refused login, through proxy-like headers: the address its audit event records."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    conn = http.client.HTTPSConnection("127.0.0.1", server.https_port, context=context)
    body = json.dumps({"email": ADMIN, "password": "not the password at all"})
    conn.request(
        "POST",
        "/v1/session",
        body=body,
        headers={
            "Content-Type": "application/json",
            "X-Forwarded-For": "203.0.113.9",
            "Forwarded": "for=198.51.100.1",
            "X-Real-IP": "198.51.100.2",
        },
    )
    assert conn.getresponse().status == 401
    conn.close()
    with platform.db.transaction() as s:
        event = (
            s.execute(
                select(AuditEvent)
                .where(AuditEvent.action == "identity:login:refused")
                .order_by(AuditEvent.seq.desc())
            )
            .scalars()
            .first()
        )
    assert event is not None
    address: str = json.loads(event.details)["address"]
    return address


@pytest.mark.parametrize(
    ("trusted", "recorded"),
    [
        (None, "127.0.0.1"),  # no proxy configured: the TCP peer, whatever the headers say
        ('["192.0.2.0/24"]', "127.0.0.1"),  # a proxy configured, but not this peer
        ('["127.0.0.1"]', "203.0.113.9"),  # the peer is the trusted proxy: its X-Forwarded-For
    ],
)
def test_forwarded_addresses_only_from_a_trusted_proxy(
    platform: Platform, tmp_path: Path, trusted: str | None, recorded: str
) -> None:
    env = {"ECLUSE_TRUSTED_PROXIES": trusted} if trusted else {}
    with running(platform.settings, tmp_path, **env) as server:
        assert _login_address(platform, server) == recorded


def test_many_keep_alive_clients_from_one_address_up_to_the_cap(
    platform: Platform, tmp_path: Path
) -> None:
    """64 clients of one address, each keeping its connection for several requests, all
    answered when the cap allows 64: the handshake deadline and the backlog hold them."""
    env = {"ECLUSE_HTTPS_MAX_CONNECTIONS_PER_ADDRESS": "64"}
    with running(platform.settings, tmp_path, **env) as server:
        url = f"https://127.0.0.1:{server.https_port}/v1/health"

        async def load() -> list[int]:
            limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
            async with httpx.AsyncClient(verify=False, limits=limits, timeout=30) as client:  # noqa: S501 - its own self-signed certificate

                async def client_of(_: int) -> list[int]:
                    return [(await client.get(url)).status_code for _ in range(5)]

                done = await asyncio.gather(*(client_of(i) for i in range(64)))
            return [status for statuses in done for status in statuses]

        statuses = asyncio.run(load())
    assert statuses == [200] * 320
