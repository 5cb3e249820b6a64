#!/usr/bin/env bash
# Installs the Debian packages the tests and benchmarks use, when missing:
# SoftHSM2 (the PKCS#11 token), age (recipients open packages with it), OpenSSH's client
# (ssh-keygen makes recipients' ssh-ed25519 keys; `sftp` drives the SFTP server in tests), OpenSSL's
# CLI (benchmark baseline). With `bench`: also OpenSSH's server, the SFTP benchmark's baseline
# (its service is not started: the benchmark runs its own sshd on a loopback port).
# Idempotent; needs root or sudo only when something is missing.
set -euo pipefail

need=()
command -v softhsm2-util >/dev/null || need+=(softhsm2)
[ -e /usr/lib/softhsm/libsofthsm2.so ] || need+=(softhsm2)
command -v age >/dev/null || need+=(age)
command -v openssl >/dev/null || need+=(openssl)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
command -v sftp >/dev/null || need+=(openssh-client)
if [ "${1:-}" = "bench" ]; then
  [ -x /usr/sbin/sshd ] || need+=(openssh-server)
fi
[ ${#need[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "need root to install: ${need[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# policy-rc.d: install without starting services (the SFTP benchmark starts its own sshd)
made_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod 755 /usr/sbin/policy-rc.d
  made_policy=1
fi
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
[ -z "$made_policy" ] || $sudo rm -f /usr/sbin/policy-rc.d
echo "installed: ${need[*]}"
