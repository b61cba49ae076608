#!/usr/bin/env bash
# The measurements of docs/http-server.md: examples/http-server with its
# uvodbc pool next to the same server with blocking ODBC calls on the loop
# thread (--blocking), runs interleaved, medians and ranges.
#
#   bench/http-wrk.sh BUILD_DIR CONNSTR [RUNS (default 5)] [SECONDS (10)]
#
# 1. GET /items/{id} (ids 1..1000 at random), wrk -c 64: req/s, p50, p99.
# 2. GET /health p99 (wrk -c $HEALTH_C, default 8) while 8 connections
#    keep GET /slow (SELECT pg_sleep(1): PostgreSQL) running through the
#    same server.
# ONLY=items or ONLY=health runs one of the two.
set -euo pipefail
build=${1:?usage: http-wrk.sh BUILD_DIR CONNSTR [RUNS] [SECONDS]}
connstr=${2:?connection string}
runs=${3:-5}
secs=${4:-10}
server=$build/examples/http-server
tmp=$(mktemp -d /tmp/uvodbc-http-wrk.XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port

cat >"$tmp/items.lua" <<'LUA'
request = function()
  return wrk.format("GET", "/items/" .. math.random(1, 1000))
end
LUA

start() { # mode options...
    "$server" "$@" --pool 8 --slow-sql "SELECT pg_sleep(1)" "$connstr" "$port" \
        >/dev/null 2>"$tmp/err" &
    pid=$!
    for _ in $(seq 100); do curl -s -o /dev/null "$base/health" && return 0; sleep 0.1; done
    cat "$tmp/err" >&2; exit 1
}
stop() { kill -TERM "$pid"; wait "$pid" || true; pid=; }

# Rows 1..1000 (a duplicate id just fails).
start
for i in $(seq 1 1000); do
    printf -- '--next\n-s\n-o\n/dev/null\n-X\nPOST\n--data-binary\n{"id":%d,"name":"item %d","qty":%d}\n%s/items\n' \
        "$i" "$i" "$i" "$base"
done | tr '\n' '\0' | xargs -0 curl >/dev/null
stop

# wrk's output -> "req/s p50_ms p99_ms errors"
parse() {
    python3 - "$1" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def ms(p):
    m = re.search(r'^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$' % p, t, re.M)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == 'us' else v * 1000 if u == 's' else v
rps = float(re.search(r'Requests/sec:\s+([\d.]+)', t).group(1))
err = sum(int(x) for x in re.findall(r'(?:connect|read|write|timeout) (\d+)', t))
non2xx = re.search(r'Non-2xx or 3xx responses: (\d+)', t)
err += int(non2xx.group(1)) if non2xx else 0
print(f'{rps:.0f} {ms(50):.2f} {ms(99):.2f} {err}')
PY
}

for run in $(seq "$runs"); do
    for mode in uvodbc blocking; do
        opt=(); [ $mode = blocking ] && opt=(--blocking)
        start "${opt[@]}"
        [ "${ONLY:-items}" = items ] && {
        wrk -t2 -c64 -d"${secs}s" --latency -s "$tmp/items.lua" "$base" >"$tmp/w"
        echo "items $mode $run $(parse "$tmp/w")"
        }
        [ "${ONLY:-health}" = health ] || { stop; continue; }
        # 8 slow statements in flight all the time; /health measured 1 s in.
        wrk -t1 -c8 -d"$((secs + 2))s" --timeout 30s "$base/slow" >/dev/null &
        slow=$!
        sleep 1
        wrk -t1 -c"${HEALTH_C:-8}" -d"${secs}s" --latency --timeout 30s "$base/health" >"$tmp/w"
        echo "health(c${HEALTH_C:-8}) $mode $run $(parse "$tmp/w")"
        wait "$slow"
        stop
    done
done
