"""The HTTPS server's TLS context over its certificate (`ecluse.services.host.tls_certificate`:
the one the user configured, or one made on first start in the home)."""

from __future__ import annotations

import ssl
from pathlib import Path

from ecluse.errors import ConfigurationError

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
