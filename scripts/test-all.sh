#!/usr/bin/env bash
# README command 2 (and CI): install everything, build, start PostgreSQL and
# MariaDB on loopback with data in a temp dir, and run every test on the
# three drivers: default build (-Werror), ASan+UBSan build, TSan build,
# valgrind; and the libFuzzer harnesses for a short budget each.
#
# Environment: UVODBC_SKIP_ASAN=1 / UVODBC_SKIP_TSAN=1 /
# UVODBC_SKIP_VALGRIND=1 shorten a local run (CI runs everything);
# UVODBC_JOBS sets build parallelism; UVODBC_BUDGET_S (default 5100, CI
# allows 5400) is the time all steps together may take, STEP_LIMIT_S
# (default 1500) the time one step may take.  UVODBC_CHAOS_OPS (default
# 20000) and UVODBC_CHAOS_S (default 60) bound each chaos step (longer
# local hunts: tests/chaos.c, --ops 100000 --seconds 600).
set -euo pipefail
start=$SECONDS
budget=${UVODBC_BUDGET_S:-5100}
cd "$(dirname "$0")/.."
repo=$PWD
jobs=${UVODBC_JOBS:-$(nproc)}
drivers=(sqlite pg mariadb)
chaos_ops=${UVODBC_CHAOS_OPS:-20000}
chaos_s=${UVODBC_CHAOS_S:-60}

bash scripts/deps.sh

build() { # dir, cmake options...
    local dir=$1; shift
    cmake -S "$repo" -B "$dir" -DUVODBC_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j"$jobs"
}
build build-ci -DCMAKE_BUILD_TYPE=RelWithDebInfo
[ "${UVODBC_SKIP_ASAN:-0}" = 1 ] || build build-ci-asan -DUVODBC_ASAN=ON \
    -DCMAKE_BUILD_TYPE=Debug -DUVODBC_BUILD_BENCH=OFF
[ "${UVODBC_SKIP_TSAN:-0}" = 1 ] || build build-ci-tsan -DUVODBC_TSAN=ON \
    -DCMAKE_BUILD_TYPE=Debug -DUVODBC_BUILD_BENCH=OFF

srv=$(mktemp -d /tmp/uvodbc-srv.XXXXXX)
chmod 755 "$srv"
stop_servers() { bash tests/servers.sh stop "$srv" || true; rm -rf "$srv"; }
trap stop_servers EXIT
bash tests/servers.sh start "$srv" >/dev/null
# shellcheck disable=SC1091
. "$srv/env.sh"

# Each step runs under a time limit (STEP_LIMIT_S, never past the budget),
# so a hung step fails on its own and the run still ends with a summary.
# Elapsed seconds are printed per step.
failures=0
failed_steps=
run() { # label, command...
    local label=$1; shift
    local left=$((budget - (SECONDS - start) - 30)) t0=$SECONDS rc=0
    local limit=${STEP_LIMIT_S:-1500} steplog=$srv/step${steplog_name:-}.log why
    [ $left -lt $limit ] && limit=$left
    echo "=== $label (limit ${limit} s, $((SECONDS - start)) s into the run)"
    if [ $limit -le 0 ]; then
        rc=124
        : >"$steplog"
    else
        # To a file, not a pipe: a process a step leaves behind cannot
        # hold the run up; the log is printed when the step ends.
        timeout --kill-after=20 "$limit" "$@" >"$steplog" 2>&1 || rc=$?
        cat "$steplog"
    fi
    if [ $rc -eq 0 ]; then
        echo "=== $label: ok ($((SECONDS - t0)) s)"
    else
        [ $rc -eq 124 ] && echo "=== $label: TIMED OUT after $((SECONDS - t0)) s"
        echo "=== $label: FAILED ($((SECONDS - t0)) s, exit $rc)"
        failures=$((failures + 1))
        failed_steps="$failed_steps
    $label"
        # Check's failure lines (file:line:F/E:suite:test) or else the
        # step's last lines, repeated in the summary.
        why=$(grep -E ':[0-9]+:[EF]:' "$steplog" | head -20 || true)
        [ -n "$why" ] || why=$(tail -5 "$steplog")
        [ -n "$why" ] || why="(no output)"
        failed_steps="$failed_steps
$(printf '%s\n' "$why" | sed 's/^/        /')"
    fi
}

# docker/compose.yaml must stay valid for Debian 12's docker-compose 1.29
# (no Docker engine needed for `config`).
run "docker-compose config" docker-compose -f docker/compose.yaml config -q

# Install to a temp prefix and build a program against it: pkg-config and
# CMake, shared and static (each run on SQLite).
run "consumer test" bash scripts/consumer-test.sh build-ci

# The example must work against every driver too.
for d in "${drivers[@]}"; do
    var=UVODBC_TEST_${d^^}
    run "example hello ($d)" ./build-ci/examples/hello "${!var}"
done

# The README's usage example, as a reader runs it (in-memory SQLite).
run "example readme" ./build-ci/examples/readme
# One example per page of docs/ (docs/README.md), on in-memory SQLite.
for ex in connect statements reading prepared transactions catalog cancel errors \
    threads trace; do
    run "example $ex" ./build-ci/examples/$ex
done
run "example pool" ./build-ci/examples/pool "DRIVER={SQLite3};Database=:memory:" 200 8
# JSON over HTTP on h2o: every endpoint with curl, then SIGTERM (SQLite).
run "example http-server" bash scripts/http-smoke.sh build-ci

for d in "${drivers[@]}"; do
    run "tests $d" ./build-ci/tests/uvodbc-tests "$d"
done

# The uvodbc command-line tool (tests/cli/run.sh): output formats byte for
# byte, exit codes, an unreachable server, Ctrl-C.
for d in "${drivers[@]}"; do
    run "cli $d" bash tests/cli/run.sh "$d" build-ci/cli/uvodbc
done

# libFuzzer harnesses (tests/fuzz), a short fixed budget each.
run "fuzz (20 s per harness)" env UVODBC_JOBS="$jobs" bash scripts/fuzz.sh 20

if [ "${UVODBC_SKIP_ASAN:-0}" != 1 ]; then
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    # Leaks inside the ODBC drivers and unixODBC (caches held for the
    # process lifetime) are theirs, not ours.
    export LSAN_OPTIONS=suppressions=$repo/tests/lsan.supp:print_suppressions=0
    for d in "${drivers[@]}"; do
        run "asan+ubsan tests $d" ./build-ci-asan/tests/uvodbc-tests "$d"
    done
    for d in "${drivers[@]}"; do
        run "cli asan $d" bash tests/cli/run.sh "$d" build-ci-asan/cli/uvodbc
    done
    # The docs' examples end with every handle closed: leak-free here.
    for ex in connect statements reading prepared transactions catalog \
        cancel errors threads trace; do
        run "example asan $ex" ./build-ci-asan/examples/$ex
    done
    run "asan example http-server" bash scripts/http-smoke.sh build-ci-asan
    # The chaos test (tests/chaos.c): a new seed each run, printed first
    # and on failure; --seed reproduces it.  Bounded by ops and seconds.
    for d in "${drivers[@]}"; do
        run "chaos asan $d" ./build-ci-asan/tests/uvodbc-chaos --driver "$d" \
            --ops "$chaos_ops" --seconds "$chaos_s"
    done
    # Connects and disconnects at once on all three drivers, DSN= and
    # DRIVER= forms (tests/connect-stress.c, the connect lock); the last
    # two with one string per driver, so most connects run in parallel.
    for mode in "" --churn "--variants 1 --driver-only" \
        "--variants 1 --driver-only --churn"; do
        # shellcheck disable=SC2086
        run "connect-stress asan $mode" \
            ./build-ci-asan/tests/uvodbc-connect-stress --ops 600 $mode
    done
    unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
fi

if [ "${UVODBC_SKIP_TSAN:-0}" != 1 ]; then
    # A report fails the test (exit code 66 from its process). MariaDB's
    # driver's own races, as narrow as TSan allows: tests/tsan-mariadb.supp.
    for d in "${drivers[@]}"; do
        supp=
        [ "$d" = mariadb ] && supp=:suppressions=$repo/tests/tsan-mariadb.supp
        run "tsan tests $d" env CK_TIMEOUT_MULTIPLIER=3 \
            TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1$supp" \
            ./build-ci-tsan/tests/uvodbc-tests "$d"
    done
    for d in "${drivers[@]}"; do
        supp=
        [ "$d" = mariadb ] && supp=:suppressions=$repo/tests/tsan-mariadb.supp
        run "cli tsan $d" env \
            TSAN_OPTIONS="halt_on_error=1:exitcode=66$supp" \
            bash tests/cli/run.sh "$d" build-ci-tsan/cli/uvodbc
    done
    for d in "${drivers[@]}"; do
        supp=
        [ "$d" = mariadb ] && supp=:suppressions=$repo/tests/tsan-mariadb.supp
        run "chaos tsan $d" env \
            TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1$supp" \
            ./build-ci-tsan/tests/uvodbc-chaos --driver "$d" \
            --ops "$chaos_ops" --seconds "$chaos_s"
    done
    for mode in "" --churn "--variants 1 --driver-only" \
        "--variants 1 --driver-only --churn"; do
        # shellcheck disable=SC2086
        run "connect-stress tsan $mode" env \
            TSAN_OPTIONS="halt_on_error=1:exitcode=66:second_deadlock_stack=1:suppressions=$repo/tests/tsan-mariadb.supp" \
            ./build-ci-tsan/tests/uvodbc-connect-stress --ops 600 $mode
    done
fi

valgrind_tests() { # driver
    run "valgrind tests $1" env CK_TIMEOUT_MULTIPLIER=10 \
        valgrind --quiet --fair-sched=yes \
        --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect --error-exitcode=9 \
        --suppressions="$repo/tests/valgrind.supp" \
        ./build-ci/tests/uvodbc-tests "$1"
}

if [ "${UVODBC_SKIP_VALGRIND:-0}" != 1 ]; then
    # Each test in its own forked process, as in the other runs: valgrind
    # follows the fork and checks for leaks when the test's process exits
    # (a leak fails that test), Check's per-test timeout still applies, and
    # a failing test cannot leave state behind for the next one.
    # --fair-sched: a thread spinning inside a driver (SQLite's busy loop)
    # must not starve the loop and cancel threads under valgrind's lock.
    # valgrind runs a process's threads one at a time, on one core: two
    # lanes at once, each with servers of its own (the tests freeze and
    # kill theirs), halve the wall time on two cores.  Each lane's output
    # is printed when both have ended.
    lane() { # name, drivers...
        local name=$1; shift
        failures=0 failed_steps='' steplog_name=$name
        for d in "$@"; do valgrind_tests "$d"; done
        printf '%s\n%s' "$failures" "$failed_steps" >"$srv/lane-$name.result"
    }
    srv2=$(mktemp -d /tmp/uvodbc-srv.XXXXXX)
    lane_pg='' lane_other=''
    stop_both() {
        # shellcheck disable=SC2086
        [ -z "$lane_pg$lane_other" ] || kill $lane_pg $lane_other 2>/dev/null || true
        bash tests/servers.sh stop "$srv2" || true
        rm -rf "$srv2"
        stop_servers
    }
    trap stop_both EXIT
    chmod 755 "$srv2"
    bash tests/servers.sh start "$srv2" >/dev/null
    lane pg pg >"$srv/lane-pg.log" 2>&1 &
    lane_pg=$!
    # shellcheck disable=SC1091
    (. "$srv2/env.sh" && lane other sqlite mariadb) >"$srv/lane-other.log" 2>&1 &
    lane_other=$!
    wait $lane_pg $lane_other || true
    lane_pg='' lane_other=''
    for name in pg other; do
        cat "$srv/lane-$name.log"
        n=$(head -n1 "$srv/lane-$name.result" 2>/dev/null || true)
        if [ -n "$n" ]; then
            failures=$((failures + n))
            failed_steps="$failed_steps$(tail -n +2 "$srv/lane-$name.result")"
        else
            failures=$((failures + 1))
            failed_steps="$failed_steps
    valgrind lane $name: ended without a result"
        fi
    done
fi

if [ $failures -ne 0 ]; then
    # Named again at the end: CI often shows only a log's tail.
    echo "test-all: $failures step(s) FAILED ($((SECONDS - start)) s):$failed_steps"
    exit 1
fi
echo "test-all: every step passed ($((SECONDS - start)) s)"
