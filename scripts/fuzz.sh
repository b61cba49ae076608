#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz) with clang in build-fuzz and
# runs each for a time budget on a copy of its seed corpus; fails if any
# harness crashes (its input is left in build-fuzz/artifacts: add it to
# tests/fuzz/corpus/<name>/ with the fix).
#
#   scripts/fuzz.sh [seconds-per-harness]    default 30
#
# Environment: UVODBC_JOBS sets build parallelism; FUZZ_HARNESSES limits
# the run to some harnesses ("split params").
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
budget=${1:-30}
jobs=${UVODBC_JOBS:-$(nproc)}
dir=$repo/build-fuzz
harnesses=(${FUZZ_HARNESSES:-connstr redact split params batch})

command -v clang >/dev/null || { echo "fuzz.sh: clang missing (scripts/deps.sh)" >&2; exit 1; }
CC=clang cmake -S "$repo" -B "$dir" -DCMAKE_C_COMPILER=clang -DUVODBC_FUZZ=ON \
    -DUVODBC_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DUVODBC_BUILD_TESTS=OFF \
    -DUVODBC_BUILD_EXAMPLES=OFF -DUVODBC_BUILD_BENCH=OFF >/dev/null
cmake --build "$dir" -j"$jobs" >/dev/null

mkdir -p "$dir/artifacts"
failed=0
for h in "${harnesses[@]}"; do
    work=$dir/corpus-run/$h
    rm -rf "$work" && mkdir -p "$work"
    cp "$repo/tests/fuzz/corpus/$h/"* "$work/"
    log=$dir/fuzz-$h.log
    rc=0
    # The harness checks its invariants itself; leaks count as crashes.
    "$dir/tests/fuzz/fuzz-$h" -max_total_time="$budget" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$dir/artifacts/$h-" "$work" >"$log" 2>&1 || rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    if [ $rc -eq 0 ]; then
        echo "fuzz $h: ok, ${runs:-?} runs in $budget s"
    else
        echo "fuzz $h: FAILED (exit $rc), see $log and $dir/artifacts/"
        grep -E "invariant failed|ERROR: |SUMMARY" "$log" | head -5 || true
        failed=$((failed + 1))
    fi
done
[ $failed -eq 0 ] || { echo "fuzz.sh: $failed harness(es) failed"; exit 1; }
