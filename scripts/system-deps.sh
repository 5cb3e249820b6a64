#!/usr/bin/env bash
# Installs the Debian packages the tests and benchmarks use, when missing:
# SoftHSM2 (the PKCS#11 token), age (recipients open packages with it), OpenSSH's client
# (ssh-keygen makes recipients' ssh-ed25519 keys), OpenSSL's CLI (benchmark baseline). Idempotent; needs root or sudo only when something is missing.
set -euo pipefail

need=()
command -v softhsm2-util >/dev/null || need+=(softhsm2)
[ -e /usr/lib/softhsm/libsofthsm2.so ] || need+=(softhsm2)
command -v age >/dev/null || need+=(age)
command -v openssl >/dev/null || need+=(openssl)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
[ ${#need[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "need root to install: ${need[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "installed: ${need[*]}"
