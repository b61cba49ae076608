#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the main example
# (examples/hello.c) against an embedded SQLite database. No server needed.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh --minimal
cmake -S . -B build-quickstart -DUVODBC_BUILD_TESTS=OFF -DUVODBC_BUILD_BENCH=OFF >/dev/null
cmake --build build-quickstart -j"$(nproc)"

# Our own odbcinst.ini: Debian's [SQLite] entry names an absent SQLite 2
# driver; {SQLite3} is the one shipped by libsqliteodbc.
work=$(mktemp -d /tmp/uvodbc-quickstart.XXXXXX)
trap 'rm -rf "$work"' EXIT
bash tests/odbc/make-odbcinst.sh "$work" >/dev/null
ODBCSYSINI=$work ./build-quickstart/examples/hello "DRIVER={SQLite3};Database=$work/hello.db"
# The uvodbc command-line tool on the same database (docs/cli.md).
if [ -x build-quickstart/cli/uvodbc ]; then
    ODBCSYSINI=$work ./build-quickstart/cli/uvodbc query -f table \
        -c "DRIVER={SQLite3};Database=$work/hello.db" \
        -p text:uvodbc "SELECT ? AS tool, sqlite_version() AS sqlite_version"
fi
