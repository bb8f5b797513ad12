#!/usr/bin/env bash
# deps.sh - make sure the Debian packages a make target needs are installed.
#
# Usage: scripts/deps.sh build|test|peers|engine
# Installs what is missing with apt-get when run as root; otherwise prints the one
# command to run and exits 1. Called by the Makefile before building, so that
# `make run` and `make test` work as the first command on a fresh Debian/Ubuntu.
# The test set also needs libFuzzer, which ships apart from clang in a package named for
# clang's major version; it is checked by linking a trivial fuzzer (see fuzzer_links).
set -eu

build_pkgs="gcc make pkg-config libuv1-dev libreadline-dev libssl-dev libwslay-dev libhttp-parser-dev libsqlite3-dev libsodium-dev libnats-dev"
# clang builds the fuzzers that `make test` runs; valgrind runs the tests that need it;
# clang-format checks that the sources are formatted; pyte emulates the client's terminal;
# the openssl command makes the certificates of the TLS tests and of the chaos soak;
# Node.js runs the web page's unit tests (tests/web/) and, with npm's playwright-core,
# drives Debian's chromium in the browser tests (tests/e2e/test_browser.py); the sqlite3
# shell checks the server's database from outside, as an operator would (integrity_check
# after a kill -9, a backup); nats-server is the engine the cluster tests start; irssi and
# weechat-headless are the IRC clients the IRC tests drive (tests/e2e/test_irc.py).
test_pkgs="libcmocka-dev python3-pytest python3-pexpect python3-pyte valgrind clang clang-format openssl nodejs chromium sqlite3 nats-server irssi weechat-headless"
# npm installs playwright-core (tests/browser/). A Node.js from another source than Debian
# (NodeSource's, which conflicts with Debian's npm package) brings its own npm: the package
# is wanted only when the command is missing.
if ! command -v npm >/dev/null 2>&1; then
    test_pkgs="$test_pkgs npm"
fi
# The servers `make bench-peers` measures causerie against.
peers_pkgs="redis-server nats-server ngircd gnuplot-nox"
# What `make bench-engine` starts: nats-server, and python3 to find free ports.
engine_pkgs="nats-server python3"
# The compiler the Makefile builds the fuzzers with (its FUZZ_CC).
fuzz_cc=${FUZZ_CC:-clang}

case "${1:-}" in
build) want="$build_pkgs" ;;
test) want="$build_pkgs $test_pkgs" ;;
peers) want="$build_pkgs python3 $peers_pkgs" ;;
engine) want="$build_pkgs $engine_pkgs" ;;
*)
    echo "usage: $0 build|test|peers|engine" >&2
    exit 2
    ;;
esac

# Prints " p" for each package of the arguments that is not installed; one dpkg-query.
not_installed() {
    local installed p
    installed=$(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null |
        sed -n 's/ install ok installed$//p') || true
    for p in "$@"; do
        if ! printf '%s\n' "$installed" | grep -qxF "$p"; then
            printf ' %s' "$p"
        fi
    done
}

# clang's major version: the installed one's, or else the one the clang package would
# install (clang depends on clang-N). Empty if neither is known.
clang_major() {
    if command -v "$fuzz_cc" >/dev/null 2>&1; then
        "$fuzz_cc" --version 2>/dev/null | sed -n 's/.*clang version \([0-9][0-9]*\)\..*/\1/p' | head -n 1
    else
        apt-cache depends clang 2>/dev/null | sed -n 's/^ *Depends: clang-\([0-9][0-9]*\)$/\1/p' | head -n 1
    fi
}

# The package with libFuzzer for clang N: libclang-rt-N-dev since Debian 12 and Ubuntu
# 23.04, libclang-common-N-dev before. Empty while clang's version is unknown.
fuzzer_runtime_pkg() {
    local n
    n=$(clang_major)
    [ -n "$n" ] || return 0
    if apt-cache show "libclang-rt-$n-dev" >/dev/null 2>&1 ||
        ! apt-cache show "libclang-common-$n-dev" >/dev/null 2>&1; then
        echo "libclang-rt-$n-dev"
    else
        echo "libclang-common-$n-dev"
    fi
}

# True if the fuzzers' compiler links a program with the Makefile's sanitizers: proof that
# the runtime is there, whichever package brought it. Leaves the compiler's errors in
# link_log. About half a second, paid by every `make unit`, `make fuzz` and `make test`.
link_log=""
fuzzer_links() {
    local dir ok=0
    command -v "$fuzz_cc" >/dev/null 2>&1 || return 1
    dir=$(mktemp -d)
    printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
        'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; return n == 0; }' \
        >"$dir/t.c"
    link_log=$("$fuzz_cc" -fsanitize=fuzzer,address,undefined -o "$dir/t" "$dir/t.c" 2>&1) || ok=1
    rm -rf "$dir"
    return $ok
}

# Exits 1 with the reason: the fuzzers cannot be linked, though no package is missing.
fuzzer_missing() {
    local n
    if ! command -v "$fuzz_cc" >/dev/null 2>&1; then
        echo "Compilateur des fuzzers introuvable : $fuzz_cc (variable FUZZ_CC du Makefile)." >&2
        exit 1
    fi
    n=$(clang_major)
    n=${n:-N}
    printf '%s ne sait pas lier un programme avec -fsanitize=fuzzer : le runtime de libFuzzer manque.\n' "$fuzz_cc" >&2
    printf 'Pour clang %s, il est dans le paquet libclang-rt-%s-dev (libclang-common-%s-dev avant Debian 12 et Ubuntu 23.04).\n' "$n" "$n" "$n" >&2
    printf 'Message de %s :\n' "$fuzz_cc" >&2
    printf '%s\n' "$link_log" | tail -n 5 | sed 's/^/  /' >&2
    exit 1
}

# shellcheck disable=SC2086 # $want is a list of names, split on purpose
missing=$(not_installed $want)
fuzzer_ok=true
if [ "$1" = test ] && ! fuzzer_links; then
    fuzzer_ok=false
    rt=$(fuzzer_runtime_pkg)
    if [ -n "$rt" ]; then
        missing="$missing$(not_installed "$rt")"
    fi
fi
if [ -z "$missing" ]; then
    $fuzzer_ok || fuzzer_missing
    exit 0
fi

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
apt_install() {
    apt-get install -y -q "$@" </dev/null || { apt-get update -q </dev/null && apt-get install -y -q "$@" </dev/null; }
}
# shellcheck disable=SC2086 # $missing is a list of names, split on purpose
apt_install $missing
if [ "$1" = test ] && ! $fuzzer_ok && ! fuzzer_links; then
    # clang's version, hence the runtime's package name, may be known only now that clang
    # and the package lists are there.
    rt=$(fuzzer_runtime_pkg)
    if [ -n "$rt" ] && [ -n "$(not_installed "$rt")" ]; then
        echo "Installation du runtime de libFuzzer : $rt"
        apt_install "$rt"
    fi
    fuzzer_links || fuzzer_missing
fi
