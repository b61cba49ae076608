#!/usr/bin/env bash
# Throw-away PostgreSQL 15 and MariaDB servers for the uvodbc tests.
#
#   tests/servers.sh start <dir>          init (first time) + start both, write <dir>/env.sh
#   tests/servers.sh stop <dir>           stop both (bounded wait, never leaves processes)
#   tests/servers.sh start-pg|stop-pg <dir>            one server, same port and data
#   tests/servers.sh start-mariadb|stop-mariadb <dir>  (for reconnect/failure tests)
#   tests/servers.sh kill <dir> pg|mariadb     kill -9 the server (PostgreSQL:
#                                              postmaster and every child)
#   tests/servers.sh restart <dir> pg|mariadb  bring it back on the same port
#                                              and data (stopped first if up)
#   tests/servers.sh freeze|thaw <dir> pg|mariadb  SIGSTOP / SIGCONT it
#   tests/servers.sh status <dir>
#
# Everything (data, sockets, logs, pid files, odbcinst.ini) lives in <dir>;
# servers listen on 127.0.0.1 only, on free ports picked here, so a system
# postgres/mariadb on 5432/3306 doesn't matter. `start` prints the path of
# env.sh on stdout; progress goes to stderr. Typical use:
#
#   dir=$(mktemp -d /tmp/uvodbc-srv.XXXXXX)
#   tests/servers.sh start "$dir" && . "$dir/env.sh"
#   ... run tests ...
#   tests/servers.sh stop "$dir"; rm -rf "$dir"
#
# Environment knobs: UVODBC_PG_BIN (default /usr/lib/postgresql/15/bin),
# UVODBC_SERVER_WAIT (seconds to wait for start/stop, default 60).
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
REPO=$(dirname "$(dirname "$SELF")")
PG_BIN=${UVODBC_PG_BIN:-/usr/lib/postgresql/15/bin}
WAIT_SECS=${UVODBC_SERVER_WAIT:-60}
DB_NAME=uvodbc_test
DB_USER=uvodbc
DB_PASS=uvodbc_pw

# Turn INT/TERM into a normal exit so EXIT traps (cleanup of a failed start) run.
trap 'exit 130' INT
trap 'exit 143' TERM

log() { echo "servers.sh: $*" >&2; }
die() { echo "servers.sh: ERROR: $*" >&2; exit 1; }

# --- users -----------------------------------------------------------------
# postgres refuses to run as root, so as root we run PG as the `postgres`
# system user and mariadbd as `mysql` (both created by the Debian packages).
# As a normal user everything just runs as that user.
if [ "$(id -u)" -eq 0 ]; then
    PG_OS_USER=postgres
    MY_OS_USER=mysql
    id "$PG_OS_USER" >/dev/null 2>&1 || die "system user '$PG_OS_USER' missing (apt-get install postgresql)"
    id "$MY_OS_USER" >/dev/null 2>&1 || die "system user '$MY_OS_USER' missing (apt-get install mariadb-server)"
else
    PG_OS_USER=$(id -un)
    MY_OS_USER=$(id -un)
fi

# as_user USER CMD...: run CMD as USER. setpriv execs directly (no PAM, no
# extra parent process, unlike su/runuser). cwd / avoids "could not change
# directory to /root" noise; HOME=/ keeps tools away from /root dotfiles.
as_user() {
    local user=$1; shift
    if [ "$(id -u)" -eq 0 ] && [ "$user" != root ]; then
        (cd / && exec setpriv --reuid="$user" --regid="$user" --init-groups -- env HOME=/ "$@")
    else
        (cd / && exec "$@")
    fi
}

# close_fds: close inherited fds > 2 in the current (sub)shell before it
# launches a daemon, so a server never holds a caller's pipe open (which
# would make e.g. `servers.sh start d | tee log` hang forever).
close_fds() {
    local fd n
    for fd in "/proc/$BASHPID/fd/"*; do
        n=${fd##*/}
        # 255 is bash's own script fd.
        { [ "$n" -gt 2 ] && [ "$n" -lt 255 ]; } 2>/dev/null || continue
        eval "exec $n>&-" 2>/dev/null || true
    done
}

# --- paths / state -----------------------------------------------------------
set_paths() {
    [ -n "${1:-}" ] || die "missing <dir> argument"
    case $1 in
        *[\;\{\}\'\"\ ]*) die "<dir> must not contain spaces, quotes, ';', '{' or '}' (it ends up in ODBC connection strings): $1" ;;
    esac
    DIR=$(readlink -m "$1")
    STATE=$DIR/state.env
    ENV_SH=$DIR/env.sh
    PG_DIR=$DIR/pg
    PG_DATA=$PG_DIR/data
    PG_RUN=$PG_DIR/run
    PG_LOG=$PG_DIR/server.log
    MY_DIR=$DIR/mariadb
    MY_DATA=$MY_DIR/data
    MY_RUN=$MY_DIR/run
    MY_SOCK=$MY_RUN/mysqld.sock
    MY_PID=$MY_DIR/mariadbd.pid
    MY_LOG=$MY_DIR/server.log
    MY_TMP=$MY_DIR/tmp
    PG_PORT=""
    MY_PORT=""
    # shellcheck disable=SC1090
    if [ -f "$STATE" ]; then . "$STATE"; fi
}

save_state() {
    printf 'PG_PORT=%s\nMY_PORT=%s\n' "$PG_PORT" "$MY_PORT" >"$STATE.tmp"
    mv -f "$STATE.tmp" "$STATE"
}

# --- ports -------------------------------------------------------------------
# port_busy PORT: true if something listens on 127.0.0.1:PORT (or on the
# wildcard address). SO_REUSEADDR so that TIME_WAIT leftovers from a server
# we just stopped don't count: postgres/mariadbd bind with it too.
port_busy() {
    if command -v python3 >/dev/null 2>&1; then
        # The probe exits 0 when it could bind, i.e. the port is free.
        if python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
    s.listen(1)
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
        then return 1; else return 0; fi
    else
        # Fallback: something accepts connections there.
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

# pick_port [EXCLUDE]: a random free port below the kernel's ephemeral range,
# so the tests' own client sockets can never grab it while a server is
# stopped for a restart test.
pick_port() {
    local lo=20000 hi=32000 eph_lo p _
    eph_lo=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
    if [ "$eph_lo" -gt 21000 ] && [ "$eph_lo" -le "$hi" ]; then hi=$((eph_lo - 1)); fi
    for _ in $(seq 1 200); do
        p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
        [ "$p" != "${1:-}" ] || continue
        port_busy "$p" || { echo "$p"; return 0; }
    done
    die "could not find a free TCP port in $lo-$hi"
}

# --- helpers -----------------------------------------------------------------
# alive PID: running and not a zombie. A killed/stopped daemon is re-parented
# to PID 1, and a container's PID 1 may reap it late (seen here: ~1s), so
# kill -0 alone would wrongly report it as still running.
alive() {
    local st
    [ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
    st=$(sed -E 's/^.*\) //' "/proc/$1/stat" 2>/dev/null) || return 1
    st=${st%% *}
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# pid_is PID NAME...: true if PID is alive and its command is one of NAMEs
# (guards against killing an unrelated process that reused a stale pid).
pid_is() {
    local pid=$1 comm n; shift
    alive "$pid" || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    for n in "$@"; do [ "$comm" = "$n" ] && return 0; done
    return 1
}

# wait_gone PID SECS: wait until PID has exited.
wait_gone() {
    local pid=$1 deadline=$((SECONDS + $2))
    while alive "$pid"; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.1
    done
}

show_log() {
    echo "----- last 60 lines of $1 -----" >&2
    tail -n 60 "$1" >&2 2>/dev/null || echo "(no log)" >&2
    echo "----- end of $1 -----" >&2
}

check_sock_len() {
    # sun_path is 108 bytes; PG appends "/.s.PGSQL.NNNNN.lock".
    [ ${#1} -le 100 ] || die "unix socket path too long (${#1} > 100 chars): $1 - use a shorter <dir>"
}

# Make sure the service users can reach <dir>: a `mktemp -d` dir is 0700 root.
prepare_dir() {
    mkdir -p "$DIR"
    if [ "$(id -u)" -eq 0 ]; then
        chmod go+rx "$DIR"
        local u
        for u in "$PG_OS_USER" "$MY_OS_USER"; do
            if ! as_user "$u" test -x "$DIR"; then
                local p=$DIR
                while [ "$p" != / ]; do
                    as_user "$u" test -x "$p" || log "user $u cannot traverse $p"
                    p=$(dirname "$p")
                done
                die "user '$u' cannot reach $DIR; use a dir under /tmp or make its parents o+x"
            fi
        done
    fi
    # World-writable (sticky) so tests may also run as a non-root user.
    mkdir -p "$DIR/sqlite"
    chmod 1777 "$DIR/sqlite"
}

# =============================================================================
# PostgreSQL
# =============================================================================
pg_ctl_() { as_user "$PG_OS_USER" "$PG_BIN/pg_ctl" -D "$PG_DATA" "$@"; }

pg_psql() {
    as_user "$PG_OS_USER" "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 \
        -h "$PG_RUN" -p "$PG_PORT" -U postgres "$@"
}

pg_pid() { head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null || true; }

pg_running() {
    pid_is "$(pg_pid)" postgres postmaster && pg_ctl_ status >/dev/null 2>&1
}

pg_init() {
    [ -x "$PG_BIN/initdb" ] || die "$PG_BIN/initdb not found (apt-get install postgresql-15, or set UVODBC_PG_BIN)"
    log "initdb PostgreSQL in $PG_DATA"
    rm -rf "$PG_DIR"
    mkdir -p "$PG_DIR" "$PG_RUN"
    chmod 700 "$PG_RUN"   # only the server user (and root) may use the trust socket
    chown -R "$PG_OS_USER:" "$PG_DIR"
    # -N: no fsync of the new cluster (throw-away data, faster).
    # --locale=C: byte-order collation, identical on every machine.
    if ! as_user "$PG_OS_USER" "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C \
            -N --auth-local=trust --auth-host=scram-sha-256 >"$PG_DIR/initdb.log" 2>&1; then
        show_log "$PG_DIR/initdb.log"
        die "initdb failed"
    fi
    # Settings in postgresql.conf (not the command line) so a plain pg_ctl
    # restart keeps them; ALTER SYSTEM by the tests still overrides them via
    # postgresql.auto.conf.
    cat >>"$PG_DATA/postgresql.conf" <<EOF

# ---- uvodbc test server (tests/servers.sh) ----
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_RUN'
max_connections = 200
fsync = off
synchronous_commit = off
full_page_writes = off
password_encryption = 'scram-sha-256'
logging_collector = off
EOF
    # Socket: trust (admin by this script only, dir is 0700).
    # TCP: password (SCRAM) only, loopback only.
    cat >"$PG_DATA/pg_hba.conf" <<'EOF'
# uvodbc test server (tests/servers.sh)
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  trust
host    all       all   127.0.0.1/32   scram-sha-256
EOF
    chown "$PG_OS_USER:" "$PG_DATA/postgresql.conf" "$PG_DATA/pg_hba.conf"
}

pg_provision() {
    log "creating PostgreSQL role $DB_USER and database $DB_NAME"
    # Superuser: tests use pg_terminate_backend() and ALTER SYSTEM.
    pg_psql -d postgres <<EOF
CREATE ROLE $DB_USER LOGIN SUPERUSER PASSWORD '$DB_PASS';
CREATE DATABASE $DB_NAME OWNER $DB_USER ENCODING 'UTF8' TEMPLATE template0;
EOF
    touch "$PG_DIR/.provisioned"
}

cmd_start_pg() {
    set_paths "$1"
    [ -f "$PG_DATA/PG_VERSION" ] || die "no PostgreSQL data in $PG_DATA (run: $0 start $DIR)"
    if pg_running; then log "PostgreSQL already running on port $PG_PORT"; return 0; fi
    check_sock_len "$PG_RUN/.s.PGSQL.$PG_PORT.lock"
    if port_busy "$PG_PORT"; then die "port $PG_PORT (PostgreSQL) is in use by another process"; fi
    # Stale lock files after a crash/kill -9. postgres handles those itself,
    # except while the dead postmaster is still an unreaped zombie.
    if [ -f "$PG_DATA/postmaster.pid" ] && ! pid_is "$(pg_pid)" postgres postmaster; then
        rm -f "$PG_DATA/postmaster.pid" "$PG_RUN/.s.PGSQL.$PG_PORT.lock"
    fi
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    # -w -t: pg_ctl waits (bounded) until the server accepts connections.
    if ! (close_fds; pg_ctl_ -l "$PG_LOG" -w -t "$WAIT_SECS" start >"$PG_DIR/pg_ctl.log" 2>&1); then
        cat "$PG_DIR/pg_ctl.log" >&2 || true
        show_log "$PG_LOG"
        pg_stop_quiet
        die "PostgreSQL did not start within ${WAIT_SECS}s"
    fi
    # Paranoia: also require the TCP listener the tests will use.
    if ! as_user "$PG_OS_USER" "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 10; then
        show_log "$PG_LOG"
        pg_stop_quiet
        die "PostgreSQL is not accepting TCP connections on 127.0.0.1:$PG_PORT"
    fi
}

pg_stop_quiet() { cmd_stop_pg "$DIR" >/dev/null 2>&1 || true; }

cmd_stop_pg() {
    set_paths "$1"
    local pid
    pid=$(pg_pid)
    # Nothing to stop (never started, already stopped, or crashed).
    pid_is "$pid" postgres postmaster || return 0
    # fast: roll back and disconnect clients, clean shutdown.
    if pg_ctl_ stop -m fast -w -t "$WAIT_SECS" >/dev/null 2>&1; then
        log "PostgreSQL stopped"
        return 0
    fi
    if ! pid_is "$pid" postgres postmaster; then
        log "PostgreSQL stopped"
        return 0
    fi
    log "PostgreSQL did not stop in ${WAIT_SECS}s, trying immediate shutdown"
    if pg_ctl_ stop -m immediate -w -t 10 >/dev/null 2>&1; then
        log "PostgreSQL stopped (immediate)"
        return 0
    fi
    if pid_is "$pid" postgres postmaster; then
        log "killing PostgreSQL (pid $pid) and its process group"
        # pg_ctl starts the postmaster in its own session: its pgid is its pid.
        # (field 5 of /proc/PID/stat; no dependency on procps.)
        if [ "$(sed -E 's/^.*\) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f3)" = "$pid" ]; then
            kill -KILL -- "-$pid" 2>/dev/null || true
        else
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait_gone "$pid" 10 || die "could not kill PostgreSQL pid $pid"
    fi
    show_log "$PG_LOG"
    return 1
}

# =============================================================================
# MariaDB
# =============================================================================
# Options shared by mariadb-install-db and mariadbd. --no-defaults must come
# first: never read /etc/mysql/* or ~/.my.cnf.
my_common_args() {
    MY_ARGS=(--no-defaults --datadir="$MY_DATA" --innodb-log-file-size=32M)
    if [ "$(id -u)" -eq 0 ]; then MY_ARGS+=(--user="$MY_OS_USER"); fi
}

# SQL on stdin, as root over the private socket.
my_client() {
    mariadb --no-defaults --protocol=socket --socket="$MY_SOCK" -u root
}

my_pid() {
    local pid=""
    [ -f "$MY_PID" ] && pid=$(cat "$MY_PID" 2>/dev/null || true)
    # Before mariadbd writes its pid file we only know the launched pid.
    if ! pid_is "$pid" mariadbd mysqld && [ -f "$MY_DIR/launch.pid" ]; then
        pid=$(cat "$MY_DIR/launch.pid" 2>/dev/null || true)
    fi
    pid_is "$pid" mariadbd mysqld && echo "$pid"
}

my_init() {
    command -v mariadb-install-db >/dev/null 2>&1 || die "mariadb-install-db not found (apt-get install mariadb-server)"
    log "mariadb-install-db in $MY_DATA"
    rm -rf "$MY_DIR"
    mkdir -p "$MY_DIR" "$MY_RUN" "$MY_TMP"
    chmod 700 "$MY_RUN"   # root@localhost has no password: keep the socket private
    chown -R "$MY_OS_USER:" "$MY_DIR"
    my_common_args
    # normal: classic password-less root@localhost for the admin socket
    # (the default 'socket' method would map root to the OS user `mysql`).
    if ! mariadb-install-db "${MY_ARGS[@]}" --auth-root-authentication-method=normal \
            --skip-test-db --skip-name-resolve --tmpdir="$MY_TMP" \
            >"$MY_DIR/install-db.log" 2>&1; then
        show_log "$MY_DIR/install-db.log"
        die "mariadb-install-db failed"
    fi
}

my_provision() {
    log "creating MariaDB user $DB_USER and database $DB_NAME"
    # ALL on *.* already includes SUPER, PROCESS and CONNECTION ADMIN (KILL of
    # other users' connections) and CREATE ROUTINE; spelled out for clarity.
    # 'localhost' too: with an exact host match it wins over '%' on sockets.
    # Root keeps only the socket account (no password-less TCP root).
    # install-db also made root@<hostname> unless the hostname is localhost.
    local host drop="'root'@'127.0.0.1', 'root'@'::1'"
    host=$(hostname 2>/dev/null || uname -n)
    [ "$host" = localhost ] || drop+=", 'root'@'$host'"
    my_client <<EOF
CREATE DATABASE IF NOT EXISTS $DB_NAME CHARACTER SET utf8mb4;
CREATE USER IF NOT EXISTS '$DB_USER'@'%' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASS';
GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'%' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO '$DB_USER'@'localhost' WITH GRANT OPTION;
GRANT SUPER, PROCESS, CONNECTION ADMIN ON *.* TO '$DB_USER'@'%', '$DB_USER'@'localhost';
DROP USER IF EXISTS $drop;
FLUSH PRIVILEGES;
EOF
    touch "$MY_DIR/.provisioned"
}

cmd_start_mariadb() {
    set_paths "$1"
    [ -d "$MY_DATA/mysql" ] || die "no MariaDB data in $MY_DATA (run: $0 start $DIR)"
    local pid
    if pid=$(my_pid); then log "MariaDB already running (pid $pid) on port $MY_PORT"; return 0; fi
    check_sock_len "$MY_SOCK"
    if port_busy "$MY_PORT"; then die "port $MY_PORT (MariaDB) is in use by another process"; fi
    rm -f "$MY_PID" "$MY_DIR/launch.pid"
    my_common_args
    local args=("${MY_ARGS[@]}"
        --port="$MY_PORT" --bind-address=127.0.0.1
        --socket="$MY_SOCK" --pid-file="$MY_PID" --tmpdir="$MY_TMP"
        --skip-name-resolve
        --max-connections=300
        --innodb-flush-log-at-trx-commit=0
        --character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci
    )
    log "starting MariaDB on 127.0.0.1:$MY_PORT"
    # setsid: own session, so the caller's Ctrl-C/job control doesn't hit it.
    # No --log-error: the error log goes to stderr, i.e. $MY_LOG.
    (
        close_fds
        exec setsid mariadbd "${args[@]}" </dev/null >>"$MY_LOG" 2>&1
    ) &
    pid=$!
    echo "$pid" >"$MY_DIR/launch.pid"
    # Bounded wait until it answers on the socket, failing fast if it died.
    local deadline=$((SECONDS + WAIT_SECS))
    until mariadb-admin --no-defaults --protocol=socket --socket="$MY_SOCK" -u root \
            --connect-timeout=2 ping >/dev/null 2>&1; do
        if ! alive "$pid"; then
            show_log "$MY_LOG"
            die "mariadbd exited during startup"
        fi
        if [ $SECONDS -ge $deadline ]; then
            show_log "$MY_LOG"
            cmd_stop_mariadb "$DIR" >/dev/null 2>&1 || true
            die "MariaDB did not start within ${WAIT_SECS}s"
        fi
        sleep 0.2
    done
    # Then the TCP listener the tests use (ping above went via the socket).
    deadline=$((SECONDS + 10))
    until port_busy "$MY_PORT"; do
        if [ $SECONDS -ge $deadline ]; then
            show_log "$MY_LOG"
            cmd_stop_mariadb "$DIR" >/dev/null 2>&1 || true
            die "MariaDB is not listening on 127.0.0.1:$MY_PORT"
        fi
        sleep 0.1
    done
}

cmd_stop_mariadb() {
    set_paths "$1"
    local pid
    pid=$(my_pid) || return 0
    # SIGTERM = clean shutdown; needs no credentials, unlike mariadb-admin.
    kill -TERM "$pid" 2>/dev/null || true
    if wait_gone "$pid" "$WAIT_SECS"; then
        log "MariaDB stopped"
        rm -f "$MY_DIR/launch.pid"
        return 0
    fi
    log "MariaDB (pid $pid) did not stop in ${WAIT_SECS}s, killing it"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || die "could not kill mariadbd pid $pid"
    rm -f "$MY_DIR/launch.pid"
    show_log "$MY_LOG"
    return 1
}

# =============================================================================
# Faults: kill -9, freeze, thaw (for the server-fault tests)
# =============================================================================
# children PID: the pids whose parent is PID (field 4 of /proc/N/stat; the
# command name before it may hold spaces, so cut after its last ')').
children() {
    local f line
    for f in /proc/[0-9]*/stat; do
        read -r line 2>/dev/null <"$f" || continue
        line=${line##*) }
        line=${line#* }
        [ "${line%% *}" = "$1" ] && { f=${f#/proc/}; echo "${f%/stat}"; }
    done
    return 0
}

# server_pids pg|mariadb: the server's processes, the main one first;
# nothing if it is not running.  A PostgreSQL backend leads its own process
# group, so a signal to the postmaster's group would miss it: every child
# is listed.
server_pids() {
    local pid
    case $1 in
        pg)
            pid=$(pg_pid)
            pid_is "$pid" postgres postmaster || return 0
            echo "$pid"
            children "$pid"
            ;;
        mariadb) my_pid || true ;;
    esac
}

# signal_server SIG pg|mariadb: SIG to every process of the server.  The
# postmaster is stopped first, so that it forks no backend the list
# misses, and signalled last.
signal_server() {
    local sig=$1 what=$2 pids main
    pids=$(server_pids "$what")
    [ -n "$pids" ] || return 0
    main=${pids%%$'\n'*}
    [ "$sig" = CONT ] || kill -STOP "$main" 2>/dev/null || true
    pids=$(server_pids "$what")
    # shellcheck disable=SC2086
    kill -"$sig" $(echo "$pids" | tail -n +2) 2>/dev/null || true
    kill -"$sig" "$main" 2>/dev/null || true
    echo "$pids"
}

check_what() {
    case ${1:-} in
        pg|mariadb) ;;
        *) die "expected pg or mariadb, not '${1:-}'" ;;
    esac
}

cmd_kill() {
    set_paths "$1"
    check_what "$2"
    local pids pid shm=
    [ "$2" != pg ] || shm=$(sed -n '7{s/^ *[0-9]* *//;p}' "$PG_DATA/postmaster.pid" 2>/dev/null || true)
    pids=$(signal_server KILL "$2")
    [ -n "$pids" ] || { log "$2 is not running: nothing to kill"; return 0; }
    for pid in $pids; do
        wait_gone "$pid" 10 || die "$2 pid $pid survived kill -9"
    done
    # Never leave a stale pid file: its pid may be reused by another
    # server's process, and the next start would take it for ours.  The
    # file also names the postmaster's SysV segment (line 7: key, id),
    # which only the next start would have removed.
    if [ "$2" = pg ]; then
        [ -z "$shm" ] || ipcrm -m "$shm" 2>/dev/null || true
        rm -f "$PG_DATA/postmaster.pid" "$PG_RUN/.s.PGSQL.$PG_PORT.lock"
    else
        rm -f "$MY_PID" "$MY_DIR/launch.pid"
    fi
    log "$2 killed (kill -9 of $(echo $pids | wc -w) processes)"
}

cmd_freeze() {
    set_paths "$1"
    check_what "$2"
    [ -n "$(signal_server STOP "$2")" ] || die "$2 is not running"
    log "$2 frozen"
}

cmd_thaw() {
    set_paths "$1"
    check_what "$2"
    signal_server CONT "$2" >/dev/null
}

# Running (maybe frozen): thaw and stop it.  Then start it on the same port
# and data; the start waits until it accepts connections.
cmd_restart() {
    set_paths "$1"
    check_what "$2"
    cmd_thaw "$1" "$2"
    if [ "$2" = pg ]; then
        cmd_stop_pg "$1" || true
        cmd_start_pg "$1"
    else
        cmd_stop_mariadb "$1" || true
        cmd_start_mariadb "$1"
    fi
}

# =============================================================================
# env.sh
# =============================================================================
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# One DSN per driver in the test odbc.ini, the same settings as the
# connection strings in env.sh (psqlODBC's DSN keys are Servername,
# Username and Password), except that the PostgreSQL DSN turns streaming
# off (UseDeclareFetch=0: the user's choice, which uvodbc keeps), so the
# suite runs both ways.
write_dsns() {
    {
        echo "; Generated by tests/servers.sh start - the uvodbc test DSNs."
        printf '[uvodbc_test_sqlite]\nDriver=SQLite3\nDatabase=%s\nTimeout=2000\n\n' \
            "$DIR/sqlite/test.db"
        printf '[uvodbc_test_pg]\nDriver=PostgreSQL Unicode\nServername=127.0.0.1\nPort=%s\nDatabase=%s\nUsername=%s\nPassword=%s\nBoolsAsChar=0\nUseDeclareFetch=0\n\n' \
            "$PG_PORT" "$DB_NAME" "$DB_USER" "$DB_PASS"
        printf '[uvodbc_test_mariadb]\nDriver=MariaDB Unicode\nServer=127.0.0.1\nPort=%s\nDatabase=%s\nUID=%s\nPWD=%s\nCHARSET=utf8mb4\n' \
            "$MY_PORT" "$DB_NAME" "$DB_USER" "$DB_PASS"
    } >"$DIR/odbc/odbc.ini.tmp"
    mv -f "$DIR/odbc/odbc.ini.tmp" "$DIR/odbc/odbc.ini"
}

write_env() {
    local pg="DRIVER={PostgreSQL Unicode};Server=127.0.0.1;Port=$PG_PORT;Database=$DB_NAME;Uid=$DB_USER;Pwd=$DB_PASS;BoolsAsChar=0"
    local my="DRIVER={MariaDB Unicode};Server=127.0.0.1;Port=$MY_PORT;Database=$DB_NAME;Uid=$DB_USER;Pwd=$DB_PASS;CHARSET=utf8mb4"
    local sq="DRIVER={SQLite3};Database=$DIR/sqlite/test.db;Timeout=2000"
    {
        echo "# Generated by tests/servers.sh start - source it: . $ENV_SH"
        echo "export ODBCSYSINI=$(q "$DIR/odbc")"
        echo "export UVODBC_TEST_SQLITE=$(q "$sq")"
        echo "export UVODBC_TEST_PG=$(q "$pg")"
        echo "export UVODBC_TEST_MARIADB=$(q "$my")"
        echo "export UVODBC_TEST_SQLITE_DSN=uvodbc_test_sqlite"
        echo "export UVODBC_TEST_PG_DSN=uvodbc_test_pg"
        echo "export UVODBC_TEST_MARIADB_DSN=uvodbc_test_mariadb"
        echo "export UVODBC_TEST_PG_PORT=$PG_PORT"
        echo "export UVODBC_TEST_MARIADB_PORT=$MY_PORT"
        echo "export UVODBC_TEST_SERVER_DIR=$(q "$DIR")"
        echo "export UVODBC_TEST_SERVERS_SH=$(q "$SELF")"
    } >"$ENV_SH.tmp"
    mv -f "$ENV_SH.tmp" "$ENV_SH"
}

# =============================================================================
# start / stop / status
# =============================================================================
cmd_start() {
    local t0=$SECONDS
    START_OK=0
    set_paths "$1"
    prepare_dir
    # On any failure, stop whatever this call started: the caller's `set -e`
    # will exit without ever calling `stop`.
    trap '[ "$START_OK" = 1 ] || { log "start failed, stopping servers"; cmd_stop_pg "$DIR" >/dev/null 2>&1 || true; cmd_stop_mariadb "$DIR" >/dev/null 2>&1 || true; }' EXIT

    [ -n "$PG_PORT" ] || PG_PORT=$(pick_port "$MY_PORT")
    [ -n "$MY_PORT" ] || MY_PORT=$(pick_port "$PG_PORT")
    save_state

    # Fresh init unless a previous `start` fully provisioned that server.
    [ -f "$PG_DIR/.provisioned" ] || pg_init
    [ -f "$MY_DIR/.provisioned" ] || my_init

    cmd_start_pg "$DIR"
    [ -f "$PG_DIR/.provisioned" ] || pg_provision
    cmd_start_mariadb "$DIR"
    [ -f "$MY_DIR/.provisioned" ] || my_provision

    "$REPO/tests/odbc/make-odbcinst.sh" "$DIR/odbc"
    write_dsns
    write_env
    START_OK=1
    trap - EXIT
    log "ready in $((SECONDS - t0))s: PostgreSQL 127.0.0.1:$PG_PORT, MariaDB 127.0.0.1:$MY_PORT"
    echo "$ENV_SH"
}

cmd_stop() {
    local rc=0
    set_paths "$1"
    [ -d "$DIR" ] || return 0
    cmd_stop_pg "$DIR" || rc=1
    cmd_stop_mariadb "$DIR" || rc=1
    return $rc
}

cmd_status() {
    set_paths "$1"
    local pid
    if pg_running; then echo "postgresql: running, port $PG_PORT"; else echo "postgresql: stopped"; fi
    if pid=$(my_pid); then echo "mariadb: running (pid $pid), port $MY_PORT"; else echo "mariadb: stopped"; fi
}

usage() {
    sed -n '2,13p' "$SELF" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

case $1 in
    kill|restart|freeze|thaw) [ $# -eq 3 ] || usage ;;
    *) [ $# -eq 2 ] || usage ;;
esac
case $1 in
    start) cmd_start "$2" ;;
    stop) cmd_stop "$2" ;;
    start-pg) cmd_start_pg "$2" ;;
    stop-pg) cmd_stop_pg "$2" ;;
    start-mariadb) cmd_start_mariadb "$2" ;;
    stop-mariadb) cmd_stop_mariadb "$2" ;;
    status) cmd_status "$2" ;;
    kill) cmd_kill "$2" "$3" ;;
    restart) cmd_restart "$2" "$3" ;;
    freeze) cmd_freeze "$2" "$3" ;;
    thaw) cmd_thaw "$2" "$3" ;;
    *) usage ;;
esac
