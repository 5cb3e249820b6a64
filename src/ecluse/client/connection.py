"""Where the server is (`ECLUSE_SERVER=https://…`) and how its certificate is trusted: a CA
file (`ECLUSE_SERVER_CA`), or the SHA-256 fingerprint of its certificate pinned
(`ECLUSE_SERVER_FINGERPRINT`, as `ecluse serve` prints it), or else the system's authorities.
HTTPS only: a plain `http://` address is refused.

A pinned certificate is fetched once, its fingerprint compared in constant time, and then
made the only trust anchor of the connections: a server presenting any other certificate
fails the handshake. The pin stands in for the host name check (a self-signed certificate
names the host its server was set up on, not the one typed)."""

from __future__ import annotations

import hashlib
import hmac
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ecluse.errors import ConfigurationError, IntegrityError

_HTTPS = 443


@dataclass(frozen=True, slots=True)
class Server:
    url: str  # https://host[:port], no trailing slash
    ca_file: Path | None = None
    fingerprint: str | None = None  # hex SHA-256 of the certificate, without colons

    @property
    def address(self) -> tuple[str, int]:
        parts = urlsplit(self.url)
        return parts.hostname or "", parts.port or _HTTPS


def _fingerprint(text: str) -> str:
    hexa = text.replace(":", "").strip().lower()
    if len(hexa) != 2 * hashlib.sha256().digest_size or not all(
        c in "0123456789abcdef" for c in hexa
    ):
        raise ConfigurationError("ECLUSE_SERVER_FINGERPRINT must be a SHA-256 in hexadecimal")
    return hexa


def server_from(environ: Mapping[str, str]) -> Server | None:
    """The remote server the environment names, or None (this machine is the host)."""
    url = environ.get("ECLUSE_SERVER", "").strip().rstrip("/")
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise ConfigurationError("ECLUSE_SERVER must be an https:// address")
    ca = environ.get("ECLUSE_SERVER_CA", "").strip()
    pin = environ.get("ECLUSE_SERVER_FINGERPRINT", "").strip()
    if ca and pin:
        raise ConfigurationError("give ECLUSE_SERVER_CA or ECLUSE_SERVER_FINGERPRINT, not both")
    return Server(
        url=f"https://{parts.netloc}",
        ca_file=Path(ca) if ca else None,
        fingerprint=_fingerprint(pin) if pin else None,
    )


def _pinned(server: Server, expected: str) -> ssl.SSLContext:
    try:
        pem = ssl.get_server_certificate(server.address, timeout=30)
    except OSError as e:
        raise ConfigurationError(f"cannot reach {server.url} ({type(e).__name__})") from e
    seen = hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()
    if not hmac.compare_digest(seen, expected):
        raise IntegrityError(
            f"{server.url} presents a certificate of another fingerprint than the one pinned: "
            "nothing was sent (check ECLUSE_SERVER_FINGERPRINT against what the host printed)"
        )
    context = ssl.create_default_context(cadata=pem)
    context.check_hostname = False  # the pin, checked above and by the handshake, stands in
    return context


def tls_context(server: Server) -> ssl.SSLContext:
    """How the server's certificate is verified (TLS 1.2 at least)."""
    if server.fingerprint is not None:
        context = _pinned(server, server.fingerprint)
    elif server.ca_file is not None:
        try:
            context = ssl.create_default_context(cafile=str(server.ca_file))
        except (OSError, ssl.SSLError) as e:
            raise ConfigurationError(f"cannot read {server.ca_file} as a CA file") from e
    else:
        context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context
