#!/usr/bin/env bash
# The uvodbc command-line tool against one driver (scripts/test-all.sh runs
# it per driver, also with the ASan build):
#   tests/cli/run.sh sqlite|pg|mariadb [path/to/uvodbc]
# Needs . tests/servers.sh's env.sh (UVODBC_TEST_*).  Output formats are
# compared byte for byte with tests/cli/expected/; exit codes, bad
# arguments, an unreachable server and Ctrl-C during a long query are
# checked too.  Prints one line per test and a count; exits 1 on a failure.
set -u
driver=$1
here=$(cd "$(dirname "$0")" && pwd)
bin=${2:-$here/../../build/cli/uvodbc}
var=UVODBC_TEST_${driver^^}
conn=${!var:?"$var is not set: . the env.sh of tests/servers.sh"}
slack=${UVODBC_TEST_SLACK:-1}
tmp=$(mktemp -d /tmp/uvodbc-cli-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   cli_$1"; }
bad() { fail=$((fail + 1)); echo "FAIL cli_$1: $2"; }

# run NAME EXPECTED_EXIT uvodbc-args...: stdout in $tmp/NAME.out, stderr in
# $tmp/NAME.err; checks the exit code.
run() {
    local name=$1 want=$2 rc=0
    shift 2
    "$bin" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null || rc=$?
    # A sanitizer's report fails the test whatever the exit code (UBSan
    # exits 1, which some tests expect).
    if grep -q 'runtime error:\|Sanitizer' "$tmp/$name.err"; then
        bad "$name" "sanitizer report: $(head -c 600 "$tmp/$name.err")"
        return 1
    fi
    if [ "$rc" -ne "$want" ]; then
        bad "$name" "exit $rc, expected $want; stderr: $(head -c 600 "$tmp/$name.err")"
        return 1
    fi
    return 0
}
# same_as NAME FILE: stdout byte-exact as tests/cli/expected/FILE.
same_as() {
    local exp=$here/expected/$2
    if [ ! -f "$exp" ]; then
        bad "$1" "no expected file $exp"
    elif cmp -s "$tmp/$1.out" "$exp"; then
        ok "$1"
    else
        bad "$1" "output differs from $exp:
$(diff <(od -c "$exp") <(od -c "$tmp/$1.out") | head -20)"
    fi
}
# expected FORMAT: the driver's file if there is one, else the shared one.
expected() {
    if [ -f "$here/expected/fmt.$driver.$1" ]; then echo "fmt.$driver.$1"
    else echo "fmt.$1"; fi
}

case $driver in
    sqlite) ddl="id INTEGER, t VARCHAR(50), n INTEGER, d DOUBLE, bin BLOB"
            sleep_sql="WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 4000000000) SELECT count(*) FROM c"
            slow_sql="WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 15000000) SELECT count(*) AS n FROM c"
            down="DRIVER={SQLite3};Database=/nonexistent/cli-test/x.db;Pwd=cli_sekrit_pw" ;;
    pg)     ddl="id INTEGER, t VARCHAR(50), n INTEGER, d DOUBLE PRECISION, bin BYTEA"
            sleep_sql="SELECT pg_sleep(10)"
            slow_sql="SELECT 1 AS n FROM (SELECT pg_sleep(1.6)) s"
            down="DRIVER={PostgreSQL Unicode};Server=127.0.0.1;Port=1;Database=x;Uid=u;Pwd=cli_sekrit_pw" ;;
    mariadb) ddl="id INTEGER, t VARCHAR(50), n INTEGER, d DOUBLE, bin VARBINARY(16)"
            sleep_sql="SELECT SLEEP(10)"
            slow_sql="SELECT 1 + SLEEP(1.6) AS n"
            down="DRIVER={MariaDB Unicode};Server=127.0.0.1;Port=1;Database=x;Uid=u;Pwd=cli_sekrit_pw" ;;
    *) echo "usage: $0 sqlite|pg|mariadb [uvodbc]" >&2; exit 2 ;;
esac

# ---- the table, filled through typed parameters --------------------------
t=cli_fmt
run drop 0 query -c "$conn" "DROP TABLE IF EXISTS $t" &&
run create 0 query -c "$conn" "CREATE TABLE $t ($ddl)" && ok setup
ins="INSERT INTO $t (id, t, n, d, bin) VALUES (?, ?, ?, ?, ?)"
run ins1 0 query -c "$conn" -p int:1 -p text:plain -p null -p double:1.5 -p hex:00ff10 "$ins" &&
run ins2 0 query -c "$conn" -p int:2 -p text:a,b -p int:0 -p double:-0.25 -p hex: "$ins" &&
run ins3 0 query -c "$conn" -p int:3 -p 'text:say "hi"' -p int:42 -p double:1e100 -p hex:7f "$ins" &&
run ins4 0 query -c "$conn" -p int:4 -p $'text:two\nlines\r\n' -p null -p null -p null "$ins" &&
run ins5 0 query -c "$conn" -p int:5 -p text: -p int:-7 -p double:0.1 -p hex:00 "$ins" &&
run ins6 0 query -c "$conn" -p int:6 -p 'text:héllo ✓ 日本' -p int:1 -p double:3 -p hex:deadbeef "$ins" &&
    ok params_insert
if grep -q "1 row affected" "$tmp/ins6.err"; then ok rows_affected
else bad rows_affected "stderr: $(cat "$tmp/ins6.err")"; fi

sel="SELECT id, t, n, d, bin FROM $t ORDER BY id"
for f in csv json jsonl table; do
    run "format_$f" 0 query -c "$conn" -f "$f" "$sel" && same_as "format_$f" "$(expected "$f")"
done
# Batches of 2 rows: the same bytes (the table reprints its header when a
# later batch widens a column: its own file).
for f in csv json jsonl; do
    run "batches_$f" 0 query -c "$conn" -f "$f" --batch-rows 2 "$sel" &&
        same_as "batches_$f" "$(expected "$f")"
done
run batches_table 0 query -c "$conn" -f table --batch-rows 2 "$sel" &&
    same_as batches_table "$(expected table2)"
# --trace: the same rows on stdout; on stderr one line per operation, the
# statement's with its SQL, none with the password.
run trace_csv 0 query -c "$conn" -f csv --trace "$sel" && same_as trace_csv "$(expected csv)"
pw=$(printf '%s' "$conn" | sed -n 's/.*[Pp][Ww][Dd]=\([^;]*\).*/\1/p')
if grep -q "^trace: connect OK " "$tmp/trace_csv.err" &&
    grep -qF "trace: exec OK " "$tmp/trace_csv.err" &&
    grep -qF ": $sel" "$tmp/trace_csv.err" &&
    grep -q "^trace: conn_close OK " "$tmp/trace_csv.err" &&
    { [ -z "$pw" ] || ! grep -qF "$pw" "$tmp/trace_csv.err"; }; then
    ok trace_lines
else
    bad trace_lines "stderr: $(head -c 800 "$tmp/trace_csv.err")"
fi
run trace_error 1 query -c "$conn" --trace "SELEC oops" &&
if grep -q "^trace: exec ESQL [0-9A-Z]\{5\} " "$tmp/trace_error.err"; then ok trace_error
else bad trace_error "stderr: $(head -c 800 "$tmp/trace_error.err")"; fi
# Default format off a terminal: CSV.
run format_default 0 query -c "$conn" "$sel" && same_as format_default "$(expected csv)"
# A parameter in a WHERE clause; an empty result still has its header.
run where_param 0 query -c "$conn" -f csv -p int:3 "SELECT id, n FROM $t WHERE id = ?" &&
    same_as where_param where.csv
run empty_csv 0 query -c "$conn" -f csv "SELECT id, n FROM $t WHERE id < 0" &&
    same_as empty_csv empty.csv
run empty_json 0 query -c "$conn" -f json "SELECT id, n FROM $t WHERE id < 0" &&
    same_as empty_json empty.json

# Several result sets (psqlODBC runs several statements in one text; the
# SQLite driver refuses them, MariaDB's needs an option).
if [ "$driver" = pg ]; then
    run multi_csv 0 query -c "$conn" -f csv "SELECT 1 AS a; SELECT 'x' AS b UNION ALL SELECT 'y'" &&
        same_as multi_csv multi.csv
    run multi_json 0 query -c "$conn" -f json "SELECT 1 AS a; SELECT 'x' AS b UNION ALL SELECT 'y'" &&
        same_as multi_json multi.json
else
    echo "SKIP cli_multi: the $driver driver runs one statement per text"
fi

# ---- SQL from a file and from stdin --------------------------------------
echo "SELECT id, n FROM $t WHERE id = 3" >"$tmp/q.sql"
run from_file 0 query -c "$conn" -f csv --file "$tmp/q.sql" && same_as from_file where.csv
rc=0
"$bin" query -c "$conn" -f csv <"$tmp/q.sql" >"$tmp/from_stdin.out" 2>"$tmp/from_stdin.err" || rc=$?
if [ $rc -eq 0 ] && ! grep -q 'runtime error:\|Sanitizer' "$tmp/from_stdin.err"; then same_as from_stdin where.csv; else bad from_stdin "exit $rc"; fi

# A bare name is a DSN (tests/servers.sh's odbc.ini has one per driver).
dsnvar=UVODBC_TEST_${driver^^}_DSN
if [ -n "${!dsnvar:-}" ]; then
    run dsn_bare 0 query -c "${!dsnvar}" -f csv "SELECT id, n FROM $t WHERE id = 3" &&
        same_as dsn_bare where.csv
    run dsn_form 0 query -c "DSN=${!dsnvar}" -f csv "SELECT id, n FROM $t WHERE id = 3" &&
        same_as dsn_form where.csv
else
    echo "SKIP cli_dsn: $dsnvar is not set"
fi

# ---- catalog and info ----------------------------------------------------
if run tables 0 tables -c "$conn" -f csv "$t" && grep -qi "$t" "$tmp/tables.out" &&
    head -1 "$tmp/tables.out" | grep -q TABLE_NAME; then ok tables
else bad tables "$(head -3 "$tmp/tables.out")"; fi
if run columns 0 columns -c "$conn" -f jsonl "$t" && [ "$(wc -l <"$tmp/columns.out")" -eq 5 ] &&
    grep -q '"COLUMN_NAME":"bin"' "$tmp/columns.out"; then ok columns
else bad columns "$(head -3 "$tmp/columns.out")"; fi
if run info 0 info -c "$conn" -f csv && grep -q '^dbms_name,.' "$tmp/info.out" &&
    grep -q '^driver_name,.' "$tmp/info.out"; then ok info
else bad info "$(head -3 "$tmp/info.out")"; fi

# ---- errors and exit codes -----------------------------------------------
if run sql_error 1 query -c "$conn" "SELECT * FROM cli_no_such_table" &&
    grep -q '^  \[[0-9A-Z]\{5\}\] (native' "$tmp/sql_error.err" &&
    [ ! -s "$tmp/sql_error.out" ]; then ok sql_error
else bad sql_error "stderr: $(cat "$tmp/sql_error.err")"; fi
if run params_mismatch 1 query -c "$conn" -p int:1 "SELECT 1 AS x"; then ok params_mismatch; fi
usage_case() { # name, args...
    local name=$1; shift
    if run "$name" 2 "$@" && grep -q '^usage:' "$tmp/$name.err" &&
        [ ! -s "$tmp/$name.out" ]; then ok "$name"
    else bad "$name" "stderr: $(head -3 "$tmp/$name.err")"; fi
}
usage_case usage_no_command
usage_case usage_unknown_command frobnicate -c "$conn"
usage_case usage_no_conn query "SELECT 1"
usage_case usage_bad_format query -c "$conn" -f xml "SELECT 1"
usage_case usage_bad_param query -c "$conn" -p int:abc "SELECT 1"
usage_case usage_bad_param_type query -c "$conn" -p blob:1 "SELECT 1"
usage_case usage_unknown_option query -c "$conn" --frob "SELECT 1"
usage_case usage_missing_value query -c
usage_case usage_bench_option query -c "$conn" -j 4 "SELECT 1"
# A connection string in the wrong place is echoed without its password.
for args in "info -c x DRIVER=y;PWD=cli_sekrit_pw;x=1" "DSN=x;Password=cli_sekrit_pw" \
    "query --frob=DRIVER=x;pwd=cli_sekrit_pw -c x"; do
    # shellcheck disable=SC2086
    if run usage_redacted 2 $args && grep -q '^usage:' "$tmp/usage_redacted.err"; then
        if grep -q cli_sekrit_pw "$tmp/usage_redacted.err"; then
            bad usage_redacted "password echoed: $(head -1 "$tmp/usage_redacted.err")"
        else ok usage_redacted; fi
    fi
done
if run usage_no_sql 2 query -c "$conn" --file /dev/null && grep -q 'no SQL' "$tmp/usage_no_sql.err"
then ok usage_no_sql; fi
if run usage_no_file 2 query -c "$conn" --file "$tmp/none.sql" &&
    grep -q 'cannot read' "$tmp/usage_no_file.err"; then ok usage_no_file; fi
if run help 0 --help && grep -q '^usage:' "$tmp/help.out"; then ok help; fi

# An unreachable server: exit 3, the driver's diagnostics, never the password.
if run unreachable 3 query -c "$down" "SELECT 1" &&
    grep -q '^uvodbc: connect failed' "$tmp/unreachable.err" &&
    grep -q '^  \[[0-9A-Z]\{5\}\] (native' "$tmp/unreachable.err"; then
    if grep -q cli_sekrit_pw "$tmp/unreachable.out" "$tmp/unreachable.err"; then
        bad unreachable "the password is in the output"
    else ok unreachable; fi
fi

# ---- streaming: 300,000 rows (32 MB of CSV) in bounded memory ------------
# Only where the driver streams too (psqlODBC, as uvodbc sets it up); the
# SQLite and MariaDB drivers hold the whole result themselves
# (docs/drivers.md, "Streaming").  Not under ASan (its quarantine keeps
# freed memory).
if [ "$driver" != pg ]; then
    echo "SKIP cli_streaming_rss: the $driver driver reads the whole result at execute"
elif readelf -d "$bin" 2>/dev/null | grep -q 'libasan\|libtsan'; then
    echo "SKIP cli_streaming_rss: sanitizer build"
elif [ -x /usr/bin/time ]; then
    /usr/bin/time -f %M -o "$tmp/rss0" "$bin" query -c "$conn" -f csv "SELECT 1" >/dev/null 2>&1
    /usr/bin/time -f %M -o "$tmp/rss1" "$bin" query -c "$conn" -f csv \
        "SELECT g, repeat('x', 100) AS t FROM generate_series(1, 300000) g" \
        >"$tmp/big.csv" 2>"$tmp/big.err"
    rss0=$(tail -1 "$tmp/rss0") rss1=$(tail -1 "$tmp/rss1")
    lines=$(wc -l <"$tmp/big.csv")
    if [ "$lines" -ne 300001 ]; then bad streaming_rss "$lines lines"
    elif [ "$rss1" -gt $((rss0 + 16384)) ]; then
        bad streaming_rss "max RSS $rss1 KB for 32 MB of rows, $rss0 KB for one"
    else ok streaming_rss; fi
else
    echo "SKIP cli_streaming_rss: no /usr/bin/time"
fi

# ---- the progress line: on stderr when it is a terminal, never otherwise ---
# (slow_sql lasts well over the 1 s before the first progress line: 1.6 s
# of sleep on the servers, about 3 s of SQLite on an idle machine)
if run progress_off 0 query -c "$conn" -f csv "$slow_sql" &&
    ! grep -q 'rows/s' "$tmp/progress_off.err"; then ok progress_off
else bad progress_off "stderr: $(cat "$tmp/progress_off.err")"; fi
if command -v script >/dev/null; then
    CLI_BIN=$bin CLI_CONN=$conn CLI_SQL=$slow_sql CLI_OUT=$tmp/progress_tty.out \
        script -qec '"$CLI_BIN" query -c "$CLI_CONN" -f csv "$CLI_SQL" >"$CLI_OUT"' \
        "$tmp/progress_tty.log" >/dev/null 2>&1 </dev/null
    if grep -q 'rows, [0-9]* rows/s, [0-9.]* s' "$tmp/progress_tty.log" &&
        ! grep -q 'rows/s' "$tmp/progress_tty.out" &&
        [ "$(head -1 "$tmp/progress_tty.out")" = $'n\r' ]; then ok progress_tty
    else bad progress_tty "$(cat -v "$tmp/progress_tty.log" | head -5)"; fi
else
    echo "SKIP cli_progress_tty: no script(1) to make a terminal"
fi

# ---- Ctrl-C during a long query: cancelled, exit 130, quickly -------------
start=$(date +%s%N)
"$bin" query -c "$conn" "$sleep_sql" >"$tmp/sigint.out" 2>"$tmp/sigint.err" </dev/null &
pid=$!
sleep 0.5
kill -INT $pid
rc=0
wait $pid || rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
limit=$((3000 * slack))
if grep -q 'runtime error:\|Sanitizer' "$tmp/sigint.err"; then bad sigint "sanitizer report"
elif [ $rc -ne 130 ]; then bad sigint "exit $rc, expected 130: $(cat "$tmp/sigint.err")"
elif [ $ms -gt $limit ]; then bad sigint "took $ms ms (limit $limit)"
else ok sigint; fi

# ---- bench -------------------------------------------------------------
# Counts are exact with -t: clients x count transactions, none failed.
if run bench_json 0 bench -c "$conn" -j 2 -t 25 --json &&
    grep -q '"transactions": 50,' "$tmp/bench_json.out" &&
    grep -q '"failed": 0,' "$tmp/bench_json.out" &&
    grep -q '"acquires": 51,' "$tmp/bench_json.out"; then ok bench_json
else bad bench_json "$(head -c 600 "$tmp/bench_json.out")"; fi
for w in point insert; do
    if run "bench_$w" 0 bench -c "$conn" -t 20 --workload "$w" &&
        grep -q '^transactions:  20 ok, 0 failed' "$tmp/bench_$w.out" &&
        grep -q '^latency (ms):  avg' "$tmp/bench_$w.out"; then ok "bench_$w"
    else bad "bench_$w" "$(head -3 "$tmp/bench_$w.out")"; fi
done
printf -- '-- two statements per transaction\n\\param 1 10\nSELECT CAST(? AS INTEGER) + 1 AS x;\n\\param 2 2\n\\param 1 3\nSELECT\n  CAST(? AS INTEGER) * CAST(? AS INTEGER) AS y;\n' >"$tmp/b.sql"
if run bench_script 0 bench -c "$conn" -t 10 --script "$tmp/b.sql" &&
    grep -q '^transactions:  10 ok, 0 failed' "$tmp/bench_script.out"; then ok bench_script
fi
# A failing statement: counted by SQLSTATE, exit 1.
echo "SELECT * FROM cli_no_such_table" >"$tmp/bad.sql"
if run bench_errors 1 bench -c "$conn" -t 3 --script "$tmp/bad.sql" &&
    grep -q '^errors:        [0-9A-Z]\{5\} 3$' "$tmp/bench_errors.out"; then ok bench_errors
else bad bench_errors "$(cat "$tmp/bench_errors.out")"; fi
if run bench_unreachable 3 bench -c "$down" -t 1 &&
    ! grep -q cli_sekrit_pw "$tmp/bench_unreachable.out" "$tmp/bench_unreachable.err"
then ok bench_unreachable; fi
# Ctrl-C: the report of what ran, exit 130; also during the setup (the
# point workload's table fill), which must end as cleanly.
for at in 1.5 0.1; do
    name=bench_sigint_$at
    w=select1
    [ "$at" = 0.1 ] && w=point
    "$bin" bench -c "$conn" -j 2 -T 30 --workload $w >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null &
    pid=$!
    sleep "$at"
    kill -INT $pid
    start=$(date +%s%N)
    rc=0
    wait $pid || rc=$?
    ms=$((($(date +%s%N) - start) / 1000000))
    if grep -q 'runtime error:\|Sanitizer' "$tmp/$name.err"; then bad "$name" "sanitizer report"
    elif [ $rc -ne 130 ]; then bad "$name" "exit $rc: $(head -3 "$tmp/$name.err")"
    elif [ $ms -gt $((3000 * slack)) ]; then bad "$name" "took $ms ms after SIGINT"
    elif [ "$at" = 1.5 ] && ! grep -q '^transactions:' "$tmp/$name.out"; then
        bad "$name" "no report: $(cat "$tmp/$name.out")"
    else ok "$name"; fi
done
usage_case usage_bench_both bench -c "$conn" -T 1 -t 1
usage_case usage_bench_workload bench -c "$conn" --workload frob
# IF EXISTS: the Ctrl-C during the point workload's setup may come between
# its DROP and its CREATE (CI: ASan, MariaDB).
run drop_bench 0 query -c "$conn" "DROP TABLE IF EXISTS uvodbc_bench_point" &&
run drop_bench2 0 query -c "$conn" "DROP TABLE IF EXISTS uvodbc_bench_insert" || true

run drop_end 0 query -c "$conn" "DROP TABLE $t" || true
echo "cli $driver: $pass passed, $fail failed"
[ $fail -eq 0 ]
