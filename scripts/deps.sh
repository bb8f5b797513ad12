#!/usr/bin/env bash
# deps.sh - make sure the Debian packages a make target needs are installed.
#
# Usage: scripts/deps.sh build|test|peers
# Installs what is missing with apt-get when run as root; otherwise prints the one
# command to run and exits 1. Called by the Makefile before building, so that
# `make run` and `make test` work as the first command on a fresh Debian/Ubuntu.
set -eu

build_pkgs="gcc make pkg-config libuv1-dev libreadline-dev"
test_pkgs="libcmocka-dev python3-pytest python3-pexpect"
# The servers `make bench-peers` measures causerie against.
peers_pkgs="redis-server nats-server ngircd gnuplot-nox"

case "${1:-}" in
build) want="$build_pkgs" ;;
test) want="$build_pkgs $test_pkgs" ;;
peers) want="$build_pkgs python3 $peers_pkgs" ;;
*)
    echo "usage: $0 build|test|peers" >&2
    exit 2
    ;;
esac

missing=""
for p in $want; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
    echo "Paquets manquants :$missing (installez-les avec le gestionnaire de paquets du système)" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "Paquets manquants. Installez-les avec :" >&2
    echo "  sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "Installation des paquets manquants :$missing"
export DEBIAN_FRONTEND=noninteractive
# Server packages (redis-server) start a system service when installed; the benchmark
# starts its own on a free port, so keep the packages from starting anything, unless the
# machine already has a policy of its own.
if [ "$1" = peers ] && [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
# A fresh machine may have empty package lists; update once, then install.
apt-get install -y -q $missing </dev/null || { apt-get update -q </dev/null && apt-get install -y -q $missing </dev/null; }
