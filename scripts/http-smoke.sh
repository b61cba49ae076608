#!/usr/bin/env bash
# Smoke test of examples/http-server (docs/http-server.md): starts it on a
# free loopback port, calls every endpoint with curl, checks status codes
# and JSON bodies, then SIGTERM and expects exit 0.
#
#   scripts/http-smoke.sh BUILD_DIR [CONNSTR] [-- SERVER_OPTIONS...]
#
# CONNSTR defaults to a fresh SQLite file (DRIVER={SQLite3}).  On a shared
# database the rows of earlier runs stay: ids are random per run.
set -euo pipefail
build=${1:?usage: http-smoke.sh BUILD_DIR [CONNSTR] [-- OPTIONS]}
shift
tmp=$(mktemp -d /tmp/uvodbc-http-smoke.XXXXXX)
connstr="DRIVER={SQLite3};Database=$tmp/items.db"
if [ $# -gt 0 ] && [ "$1" != -- ]; then connstr=$1; shift; fi
[ "${1:-}" = -- ] && shift
server=$build/examples/http-server
[ -x "$server" ] || { echo "http-smoke: no $server (h2o or jansson missing?)" >&2; exit 1; }

# A secret no response or log line may carry: the connection string's
# password, or a dummy one SQLite ignores.
secret=$(sed -n 's/.*PWD=\([^;]*\).*/\1/Ip' <<<"$connstr")
if [ -z "$secret" ]; then
    secret=uvodbc-smoke-secret-$$
    connstr="$connstr;PWD=$secret"
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
pid=
cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

"$server" --batch-rows 64 "$@" "$connstr" "$port" >"$tmp/out" 2>"$tmp/err" &
pid=$!

failures=0
fail() { echo "http-smoke: FAIL: $*" >&2; failures=$((failures + 1)); }

for _ in $(seq 100); do
    curl -s -o /dev/null "$base/health" && break
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/err" >&2; echo "http-smoke: server died" >&2; exit 1; }
    sleep 0.1
done

# call METHOD PATH [BODY]: sets $code and $body; every body must be JSON
# without the secret.
call() {
    local args=(-s -o "$tmp/body" -w '%{http_code}' -X "$1")
    [ $# -ge 3 ] && args+=(-H 'content-type: application/json' --data-binary "$3")
    code=$(curl "${args[@]}" "$base$2") || code=curl-failed
    body=$(cat "$tmp/body")
    grep -qF -- "$secret" "$tmp/body" && fail "$1 $2: body carries the secret"
    python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/body" 2>/dev/null ||
        fail "$1 $2: body is not JSON: $body"
    return 0
}
expect() { # CODE JSON-CHECK(python expression on b) LABEL
    [ "$code" = "$1" ] || fail "$3: status $code, expected $1 ($body)"
    python3 -c "import json,sys; b=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" \
        "$tmp/body" 2>/dev/null || fail "$3: unexpected body $body"
}

call GET /health; expect 200 'b == {"status": "ok"}' health
id0=$(( (RANDOM * 32768 + RANDOM) * 1000 + 1 ))
call POST /items "{\"id\":$id0,\"name\":\"caf\\u00e9 \\\"one\\\"\",\"qty\":3}"
expect 201 "b['id'] == $id0 and b['qty'] == 3" "post item"
call GET "/items/$id0"
expect 200 "b == {'id': $id0, 'name': 'caf\u00e9 \"one\"', 'qty': 3}" "get item"
call POST /items "{\"id\":$((id0 + 1)),\"name\":\"no qty\"}"
expect 201 "b['qty'] is None" "post item, qty null"
call GET "/items/$((id0 + 1))"; expect 200 "b['qty'] is None" "get item, qty null"
call GET /items/$((id0 + 999)); expect 404 "'error' in b" "get missing item"
call GET /items/abc; expect 404 "'error' in b" "get bad id"
call GET /nowhere; expect 404 "'error' in b" "unknown path"
call POST /items '{bad json'; expect 400 "'error' in b" "post bad JSON"
call POST /items '{"id":5}'; expect 400 "'error' in b" "post without name"
call POST /items '[1,2]'; expect 400 "'error' in b" "post an array"
call DELETE /items; expect 405 "'error' in b" "delete"
# A duplicate id: the insert fails, the transaction rolls back (409 where
# the driver reports SQLSTATE 23xxx, 500 with SQLite's HY000).
call POST /items "{\"id\":$id0,\"name\":\"again\"}"
case $code in 409|500) ;; *) fail "duplicate: status $code ($body)" ;; esac
call GET "/items/$id0"; expect 200 "b['name'] == 'caf\u00e9 \"one\"'" "item kept after duplicate"
call GET '/items?limit=x'; expect 400 "'error' in b" "bad limit"
call GET '/items?limit=0'; expect 200 "b == {'items': []}" "limit 0"

# 300 more rows in one curl run (one keep-alive connection).
n=300
args=()
for i in $(seq 2 $((n + 1))); do
    args+=(--next -s -o /dev/null -w '%{http_code}\n' -X POST
           -H 'content-type: application/json'
           --data-binary "{\"id\":$((id0 + i)),\"name\":\"row $i\",\"qty\":$i}"
           "$base/items")
done
created=$(curl "${args[@]}" | grep -c '^201$' || true)
[ "$created" = $n ] || fail "bulk posts: $created of $n created"

# The list, streamed: chunked, more than one chunk (64 rows per batch),
# valid JSON, the right count, ids ascending.
limit=$((n + 2))
curl -s --raw -D "$tmp/headers" -o "$tmp/raw" "$base/items?limit=$limit" ||
    fail "list: curl failed"
python3 - "$tmp/headers" "$tmp/raw" "$limit" <<'PY' || fail "list: see above"
import json, sys
headers = open(sys.argv[1], 'rb').read().decode().lower()
raw, limit = open(sys.argv[2], 'rb').read(), int(sys.argv[3])
assert 'transfer-encoding: chunked' in headers, headers
chunks, body, pos = 0, b'', 0
while True:
    eol = raw.index(b'\r\n', pos)
    size = int(raw[pos:eol].split(b';')[0], 16)
    pos = eol + 2
    if size == 0:
        break
    body += raw[pos:pos + size]
    pos += size + 2
    chunks += 1
items = json.loads(body)['items']
ids = [it['id'] for it in items]
assert len(items) == limit, (len(items), limit)
assert ids == sorted(set(ids)), 'ids not ascending'
assert chunks > 2, f'{chunks} chunks: not streamed in batches'
print(f'http-smoke: list of {len(items)} rows in {chunks} chunks')
PY

# A client that leaves in the middle of a stream must not hurt the server.
curl -s -N "$base/items?limit=$limit" 2>/dev/null | head -c 100 >/dev/null || true
call GET /stats
expect 200 "b['pool']['acquires'] >= 3 and b['pool']['in_use'] == 0 and b['pool']['wait_p50_us'] <= b['pool']['wait_p99_us'] <= b['pool']['wait_max_us'] and b['pool']['ops_ok'] >= 1 and b['operations']['query']['count'] >= 1 and b['operations']['connect']['count'] >= 1" stats
call GET /health; expect 200 'b == {"status": "ok"}' "health after all"

kill -TERM "$pid"
rc=0
for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
    fail "server still running 15 s after SIGTERM"
else
    wait "$pid" || rc=$?
    [ $rc -eq 0 ] || fail "server exited $rc after SIGTERM"
fi
pid=
grep -qF -- "$secret" "$tmp/out" "$tmp/err" && fail "server output carries the secret"
if [ $failures -ne 0 ]; then
    echo "--- server stderr:" >&2; cat "$tmp/err" >&2
    echo "http-smoke: $failures check(s) failed" >&2
    exit 1
fi
echo "http-smoke: every check passed"
