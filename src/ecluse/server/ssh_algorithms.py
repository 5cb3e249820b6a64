"""What the SSH server offers in its KEXINIT, named rather than left to asyncssh's defaults
(which include diffie-hellman-group14-sha1, a group-exchange that hands out 1024-bit groups,
RSA key exchange, SHA-1 MACs and ssh-rsa signatures).

- Key exchange: ML-KEM hybrids, curve25519/curve448, NIST ECDH, and the fixed 2048-bit-and-up
  finite-field groups with SHA-2. No SHA-1, no group exchange, no group under 2048 bits.
- Ciphers: AES-GCM only; it runs on the processor's AES instructions (asyncssh computes
  ChaCha20-Poly1305, which OpenSSH's client prefers, in two slower passes). Its MAC is built
  in: the MAC list below is what is offered for the record, all SHA-2.
- Signatures (host key and client keys): no ssh-rsa (RSA with SHA-1); RSA keys sign with
  rsa-sha2-256/512, as OpenSSH's client does by default.
"""

from __future__ import annotations

KEX = [
    "mlkem768x25519-sha256",
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "curve448-sha512",
    "ecdh-sha2-nistp521",
    "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp256",
    "diffie-hellman-group18-sha512",
    "diffie-hellman-group16-sha512",
    "diffie-hellman-group14-sha256",
]
CIPHERS = ["aes256-gcm@openssh.com", "aes128-gcm@openssh.com"]
MACS = [
    "hmac-sha2-256-etm@openssh.com",
    "hmac-sha2-512-etm@openssh.com",
    "hmac-sha2-256",
    "hmac-sha2-512",
]
SIGNATURES = [
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
]
