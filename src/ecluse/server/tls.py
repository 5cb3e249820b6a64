"""The HTTPS server's certificate: the one the user configured, or one made on first start in
the home (self-signed, for localhost), whose fingerprint `serve` prints."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

from ecluse.config import Settings
from ecluse.crypto._primitives import certificate_sha256, self_signed_tls
from ecluse.errors import ConfigurationError


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def certificate(settings: Settings) -> tuple[Path, Path, str]:
    """(certificate file, key file, SHA-256 fingerprint)."""
    if settings.tls_cert or settings.tls_key:
        if not (settings.tls_cert and settings.tls_key):
            raise ConfigurationError("set both ECLUSE_TLS_CERT and ECLUSE_TLS_KEY, or neither")
        cert, key = settings.tls_cert, settings.tls_key
    else:
        settings.server_dir.mkdir(mode=0o700, exist_ok=True)
        cert, key = settings.server_dir / "tls.crt", settings.server_dir / "tls.key"
        if not cert.exists():
            pem, key_pem = self_signed_tls(
                hostnames=["localhost"], addresses=["127.0.0.1", "::1"], days=397
            )
            key.unlink(missing_ok=True)
            _write_private(key, key_pem)
            cert.write_bytes(pem)
    try:
        return cert, key, certificate_sha256(cert.read_bytes())
    except (OSError, ValueError) as e:
        raise ConfigurationError(f"cannot read the TLS certificate {cert}") from e


#: TLS 1.2 suites offered: ephemeral ECDH with an AEAD cipher only (no RSA key exchange, no
#: CBC, no 3DES); TLS 1.3's suites are all of that kind already.
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """TLS 1.2 and 1.3 only, the suites above, no compression, no renegotiation."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(TLS12_CIPHERS)
    context.options |= (
        ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE | ssl.OP_NO_RENEGOTIATION
    )
    try:
        context.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as e:
        raise ConfigurationError(f"cannot load the TLS certificate {cert} and its key") from e
    return context
