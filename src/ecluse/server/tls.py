"""The HTTPS server's certificate: the one the user configured, or one made on first start in
the home (self-signed, for localhost), whose fingerprint `serve` prints."""

from __future__ import annotations

import os
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
