#!/usr/bin/env bash
# Consumer test (CI, scripts/test-all.sh): install a build into a temp
# prefix, move the tree (the installed files must not depend on where they
# were installed), then build examples/hello.c as a user would, four ways:
# pkg-config shared and static, CMake find_package shared and static. Each
# binary runs on SQLite (DRIVER={SQLite3}, a temp file).
#
#   scripts/consumer-test.sh [build-dir]      (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
build=$(cd "${1:-build}" && pwd)
tmp=$(mktemp -d /tmp/uvodbc-consumer.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "consumer-test: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$tmp/stage" >/dev/null
mv "$tmp/stage" "$tmp/prefix"
prefix=$tmp/prefix
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
# Our own odbcinst.ini, as the tests use (tests/odbc/make-odbcinst.sh).
bash tests/odbc/make-odbcinst.sh "$tmp/odbc" >/dev/null
export ODBCSYSINI=$tmp/odbc

check_run() { # label, binary, static?
    local label=$1 bin=$2 static=$3 out
    if [ "$static" = 1 ]; then
        ! readelf -d "$bin" | grep -q 'libuvodbc\.so' ||
            fail "$label: links libuvodbc.so"
    else
        readelf -d "$bin" | grep -q 'libuvodbc\.so' ||
            fail "$label: does not link libuvodbc.so"
    fi
    out=$("$bin" "DRIVER={SQLite3};Database=$tmp/$label.db") ||
        fail "$label: exit $?"
    grep -q '^connection closed' <<<"$out" || fail "$label: output: $out"
    echo "consumer-test: $label ok"
}

# pkg-config. --static must name only what links against Debian's shared
# libuv/unixODBC (no -lltdl: that is libodbc.a's, libltdl-dev).
static_libs=$(pkg-config --static --libs uvodbc)
case " $static_libs " in *" -lltdl "*) fail "pkg-config --static: $static_libs" ;; esac
# shellcheck disable=SC2046
cc -o "$tmp/pc-shared" examples/hello.c $(pkg-config --cflags --libs uvodbc) \
    -Wl,-rpath,"$(pkg-config --variable=libdir uvodbc)"
check_run pc-shared "$tmp/pc-shared" 0
# shellcheck disable=SC2046
cc -o "$tmp/pc-static" examples/hello.c \
    $(pkg-config --cflags --libs uvodbc-static)
check_run pc-static "$tmp/pc-static" 1

# CMake: quiet, and no LIBUV_*/ODBC_* variables in the consumer's scope.
mkdir -p "$tmp/cm"
cp examples/hello.c "$tmp/cm/"
cat >"$tmp/cm/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.25)
project(consumer LANGUAGES C)
find_package(uvodbc REQUIRED)
get_cmake_property(vars VARIABLES)
foreach(v ${vars})
  if(v MATCHES "^(LIBUV|ODBC|ODBCINST)_")
    message(FATAL_ERROR "uvodbc's package config leaked ${v}")
  endif()
endforeach()
add_executable(hello-shared hello.c)
target_link_libraries(hello-shared PRIVATE uvodbc::uvodbc)
add_executable(hello-static hello.c)
target_link_libraries(hello-static PRIVATE uvodbc::uvodbc_static)
EOF
cmake -S "$tmp/cm" -B "$tmp/cm/build" -DCMAKE_PREFIX_PATH="$prefix" \
    >"$tmp/cm.log" 2>&1 || { cat "$tmp/cm.log"; fail "cmake configure"; }
if grep -q 'Checking for module\|Found PkgConfig\|Found Threads' "$tmp/cm.log"; then
    cat "$tmp/cm.log"
    fail "find_package(uvodbc) is not quiet"
fi
cmake --build "$tmp/cm/build" >"$tmp/cm-build.log" 2>&1 ||
    { cat "$tmp/cm-build.log"; fail "cmake build"; }
check_run cmake-shared "$tmp/cm/build/hello-shared" 0
check_run cmake-static "$tmp/cm/build/hello-static" 1
# The installed tool (when jansson was found) runs from the moved prefix.
if [ -x "$build/cli/uvodbc" ]; then
    out=$("$prefix/bin/uvodbc" query -c "DRIVER={SQLite3};Database=:memory:" \
        -f csv "SELECT 'ok' AS tool") || fail "installed uvodbc tool"
    [ "$out" = $'tool\r\nok\r' ] || fail "installed uvodbc tool printed: $out"
fi
echo "consumer-test: all four ok ($repo)"
