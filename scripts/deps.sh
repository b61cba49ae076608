#!/usr/bin/env bash
# Install the Debian 12 packages uvodbc needs to build and test.
#
#   scripts/deps.sh             everything: build, SQLite/PostgreSQL/MariaDB
#                               ODBC drivers + servers (for tests/servers.sh),
#                               valgrind, clang (fuzzing)
#   scripts/deps.sh --minimal   only the SQLite quickstart: build tools, libuv,
#                               unixODBC, Check, SQLite ODBC driver
#   scripts/deps.sh --no-servers  everything but the PostgreSQL/MariaDB
#                               servers (docker/Dockerfile: they run in their
#                               own containers)
#
# Already-installed packages are skipped (dpkg check), so a second run is a
# fast no-op and needs no network. Must run as root (or with sudo available).
set -euo pipefail

minimal=0
servers=1
for arg in "$@"; do
    case $arg in
        --minimal) minimal=1 ;;
        --no-servers) servers=0 ;;
        -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "deps.sh: unknown option: $arg" >&2; exit 2 ;;
    esac
done

# Build + SQLite quickstart.
pkgs=(
    build-essential cmake pkg-config
    libuv1-dev
    unixodbc unixodbc-dev
    check
    libsqliteodbc
    # the uvodbc command-line tool (cli/; not built without it)
    libjansson-dev
)
if [ $minimal -eq 0 ]; then
    pkgs+=(
        # ODBC drivers for the server tests.
        odbc-postgresql odbc-mariadb
        valgrind
        # libFuzzer harnesses (scripts/fuzz.sh): the fuzzer and sanitizer
        # runtimes are only a recommendation of clang-14.
        clang libclang-rt-14-dev
        # servers.sh picks ports with python3; pgrep/ps to check for leftovers.
        python3 procps
        ca-certificates git
        # examples/http-server (h2o's libuv build; jansson: above) and its
        # smoke test (curl); wrk for docs/http-server.md's measurements.
        libh2o-dev curl wrk
    )
    if [ $servers -eq 1 ]; then
        # Servers run by tests/servers.sh (never as system services);
        # docker-compose only for test-all.sh's `docker-compose config`
        # check of docker/compose.yaml (no Docker engine needed).
        pkgs+=(postgresql mariadb-server mariadb-client docker-compose)
    fi
fi

# Only ask apt about what is missing: keeps repeated runs (CI) fast/offline.
missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "deps.sh: all ${#pkgs[@]} packages already installed"
    exit 0
fi
echo "deps.sh: installing: ${missing[*]}"

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "deps.sh: run as root (or install sudo)" >&2; exit 1; }
    SUDO=(sudo)
fi

# Don't let the postgresql/mariadb packages start system services during the
# install: the tests run their own private servers (tests/servers.sh), and a
# half-started service in a container just wastes time. Debian's
# invoke-rc.d honours /usr/sbin/policy-rc.d (exit 101 = "action forbidden").
# Containers usually ship one already: never touch an existing one; else put
# a temporary one in place and remove it afterwards (even on failure).
POLICY=/usr/sbin/policy-rc.d
POLICY_MARK="# temporary, from uvodbc scripts/deps.sh"
created_policy=0
cleanup() {
    if [ $created_policy -eq 1 ] && grep -qF "$POLICY_MARK" "$POLICY" 2>/dev/null; then
        "${SUDO[@]}" rm -f "$POLICY"
    fi
}
trap cleanup EXIT
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n%s\nexit 101\n' "$POLICY_MARK" | "${SUDO[@]}" tee "$POLICY" >/dev/null
    "${SUDO[@]}" chmod 755 "$POLICY"
    created_policy=1
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
    "${missing[@]}"
echo "deps.sh: done"
