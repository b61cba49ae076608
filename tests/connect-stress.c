/* uvodbc-connect-stress: many connects and disconnects at once, across all
 * three drivers, in DSN= and DRIVER= form (issue 9, the connect lock).
 *
 *   uvodbc-connect-stress [--seed N] [--ops N] [--width N] [--seconds S]
 *                         [--variants 1-4] [--churn] [--driver-only]
 *
 * `width` slots on one loop each open a connection, maybe run SELECT 1,
 * close it and open the next one, `ops` connects in all; the seed picks
 * each connect's driver, form and spelling of the connection string (so
 * strings differ), whether it queries, and whether it is closed before its
 * connect ran.  Drivers come and go (a driver's last connection closes
 * while another one of it connects), which is what unixODBC 2.3.11 races
 * on (docs/threading.md).  Every connect and query must succeed, every
 * close free its handle.  Connection strings and DSNs come from the
 * environment of tests/servers.sh (UVODBC_TEST_SQLITE / _PG / _MARIADB and
 * their _DSN); a missing one stops the run.  Exit 0: no failure. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uvodbc.h>

#define NDRIVERS 3
#define NVARIANTS 4
#define MAX_WIDTH 64

static const char* const envs[NDRIVERS] = {
    "UVODBC_TEST_SQLITE", "UVODBC_TEST_PG", "UVODBC_TEST_MARIADB"};
static const char* const dsn_envs[NDRIVERS] = {
    "UVODBC_TEST_SQLITE_DSN", "UVODBC_TEST_PG_DSN", "UVODBC_TEST_MARIADB_DSN"};

/* [driver][form: 0 DRIVER=, 1 DSN=][variant] */
static char* connstrs[NDRIVERS][2][NVARIANTS];

typedef struct slot_s {
  uvodbc_req_t req;
  uvodbc_conn_t* conn;
  const char* connstr;
  int index;
  int closing; /* closed before its connect called back */
} slot_t;

static struct {
  uint64_t rng;
  uint64_t seed;
  long ops;
  long started;
  long connects;
  long queries;
  long early_closes;
  int width;
  int open_slots;
  int churn;
  int variants; /* spellings used per form, 1..NVARIANTS */
  int in_round;
  int connected_in_round;
  int driver_only; /* no DSN= strings */
  int done_in_round;
  double seconds;
  uv_timer_t watchdog;
  slot_t slots[MAX_WIDTH];
} st;

static uint32_t rnd(uint32_t n) {
  /* xorshift64* */
  st.rng ^= st.rng >> 12;
  st.rng ^= st.rng << 25;
  st.rng ^= st.rng >> 27;
  return (uint32_t)((st.rng * 2685821657736338717ull) >> 32) % n;
}

static void fail(const slot_t* s, const char* what, int status,
                 const uvodbc_req_t* req) {
  size_t i;
  fprintf(stderr,
          "CONNECT-STRESS FAIL (seed %" PRIu64 ", slot %d, connect %ld): "
          "%s: %s (%s)\n",
          st.seed, s->index, st.connects, what, uvodbc_strerror(status),
          uvodbc_err_name(status));
  for (i = 0; req != NULL && i < req->ndiag; i++)
    fprintf(stderr, "  [%s] %d %s: %s\n", req->diag[i].sqlstate,
            (int)req->diag[i].native, req->diag[i].function,
            req->diag[i].message);
  fprintf(stderr, "reproduce: uvodbc-connect-stress --seed %" PRIu64
                  " --ops %ld --width %d --variants %d%s%s\n",
          st.seed, st.ops, st.width, st.variants, st.churn ? " --churn" : "",
          st.driver_only ? " --driver-only" : "");
  exit(1);
}

static void start(slot_t* s);

static void on_closed(uvodbc_conn_t* conn) {
  slot_t* s = uvodbc_conn_get_data(conn);
  size_t n = 0;
  const uvodbc_diag_t* d = uvodbc_conn_close_diag(conn, &n);
  if (uvodbc_conn_close_status(conn) != 0) {
    fprintf(stderr, "close: %s\n", n > 0 ? d[0].message : "(no diagnostic)");
    fail(s, "close", uvodbc_conn_close_status(conn), NULL);
  }
  s->conn = NULL;
  start(s);
}

static void close_slot(slot_t* s) {
  int err = uvodbc_conn_close(s->conn, on_closed);
  if (err != 0) fail(s, "uvodbc_conn_close", err, NULL);
}

static void on_query(uvodbc_req_t* req, int status) {
  slot_t* s = req->data;
  int64_t v = 0;
  if (status != 0) fail(s, "SELECT 1", status, req);
  if (uvodbc_batch_nrows(req->batch) != 1 ||
      uvodbc_batch_get_int64(req->batch, 0, 0, &v) != 0 || v != 1)
    fail(s, "SELECT 1 returned something else", 0, NULL);
  uvodbc_req_cleanup(req);
  st.queries++;
  close_slot(s);
}

/* After its connect: SELECT 1 or not, then close. */
static void use(slot_t* s) {
  if (rnd(2) == 0) {
    int err = uvodbc_conn_query(s->conn, &s->req, "SELECT 1", NULL, 0, NULL,
                                on_query);
    if (err != 0) fail(s, "uvodbc_conn_query", err, NULL);
  } else {
    close_slot(s);
  }
}

static void on_connect(uvodbc_req_t* req, int status) {
  slot_t* s = req->data;
  int i;
  if (!(s->closing && status == UV_ECANCELED)) { /* else: never ran */
    if (status != 0) fail(s, s->connstr, status, req);
    st.connects++;
  }
  if (st.churn) {
    if (!s->closing) use(s);
    return;
  }
  /* Rounds: every connection stays open until the round's last connect
   * called back, so later connects of a string find it open. */
  if (++st.connected_in_round < st.in_round) return;
  for (i = 0; i < st.in_round; i++)
    if (!st.slots[i].closing) use(&st.slots[i]);
}

/* Rounds (default): every slot opens one connection, and the next round
 * starts when all are closed, so every round loads drivers none of which is
 * in use (unixODBC frees a driver's environment at its last disconnect).
 * --churn: a slot opens its next connection as soon as its last one closed,
 * so connects overlap disconnects of the same driver. */
static void start_one(slot_t* s);

static void start_round(void) {
  int i;
  st.in_round = st.done_in_round = st.connected_in_round = 0;
  for (i = 0; i < st.width && st.started < st.ops; i++, st.in_round++)
    start_one(&st.slots[i]);
  if (st.in_round == 0) uv_close((uv_handle_t*)&st.watchdog, NULL);
}

static void start(slot_t* s) {
  if (!st.churn) {
    if (++st.done_in_round == st.in_round) start_round();
  } else if (st.started < st.ops) {
    start_one(s);
  } else if (--st.open_slots == 0) {
    uv_close((uv_handle_t*)&st.watchdog, NULL);
  }
}

static void start_one(slot_t* s) {
  int d, err;
  st.started++;
  d = (int)rnd(NDRIVERS);
  s->connstr = connstrs[d][st.driver_only ? 0 : rnd(2)]
                      [rnd((uint32_t)st.variants)];
  s->req.data = s;
  s->closing = 0;
  err = uvodbc_connect(uv_default_loop(), &s->req, s->connstr, NULL,
                       on_connect);
  if (err != 0) fail(s, "uvodbc_connect", err, NULL);
  s->conn = s->req.conn;
  uvodbc_conn_set_data(s->conn, s);
  /* Now and then a close that waits for the connect (queued behind it). */
  if (rnd(8) == 0) {
    st.early_closes++;
    s->closing = 1;
    close_slot(s);
  }
}

static void on_watchdog(uv_timer_t* t) {
  (void)t;
  fprintf(stderr,
          "CONNECT-STRESS FAIL (seed %" PRIu64 "): hang, %ld of %ld connects "
          "started after %.0f s\n",
          st.seed, st.started, st.ops, st.seconds);
  abort();
}

static char* dup_printf(const char* fmt, const char* a, const char* b) {
  size_t n = strlen(fmt) + strlen(a) + strlen(b) + 1;
  char* p = malloc(n);
  if (p == NULL) abort();
  snprintf(p, n, fmt, a, b);
  return p;
}

/* Four spellings of each form: the same connection, distinct strings. */
static void make_connstrs(void) {
  int d;
  for (d = 0; d < NDRIVERS; d++) {
    const char* cs = getenv(envs[d]);
    const char* dsn = getenv(dsn_envs[d]);
    if (cs == NULL || *cs == '\0' || dsn == NULL || *dsn == '\0') {
      fprintf(stderr,
              "uvodbc-connect-stress: %s and %s must be set (tests/servers.sh "
              "start DIR; . DIR/env.sh)\n",
              envs[d], dsn_envs[d]);
      exit(2);
    }
    connstrs[d][0][0] = dup_printf("%s%s", cs, "");
    connstrs[d][0][1] = dup_printf("%s%s", cs, ";");
    connstrs[d][0][2] = dup_printf("%s%s", cs, ";;");
    connstrs[d][0][3] = dup_printf("%s%s", cs, "; ");
    connstrs[d][1][0] = dup_printf("DSN=%s%s", dsn, "");
    connstrs[d][1][1] = dup_printf("DSN=%s%s", dsn, ";");
    connstrs[d][1][2] = dup_printf("dsn=%s%s", dsn, "");
    connstrs[d][1][3] = dup_printf("Dsn=%s%s", dsn, ";");
  }
}

int main(int argc, char** argv) {
  int i, j, k;
  uv_loop_t* loop = uv_default_loop();

  st.seed = (uint64_t)uv_hrtime();
  st.ops = 400;
  st.width = 24;
  st.seconds = 300;
  st.variants = NVARIANTS;
  for (i = 1; i < argc; i++) {
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--churn") == 0 || strcmp(a, "--driver-only") == 0) {
      *(a[2] == 'c' ? &st.churn : &st.driver_only) = 1;
      continue;
    }
    if (v == NULL) goto usage;
    if (strcmp(a, "--seed") == 0)
      st.seed = strtoull(v, NULL, 0);
    else if (strcmp(a, "--ops") == 0)
      st.ops = strtol(v, NULL, 10);
    else if (strcmp(a, "--width") == 0)
      st.width = atoi(v);
    else if (strcmp(a, "--variants") == 0)
      st.variants = atoi(v);
    else if (strcmp(a, "--seconds") == 0)
      st.seconds = atof(v);
    else
      goto usage;
    i++;
  }
  if (st.ops <= 0 || st.width <= 0 || st.width > MAX_WIDTH ||
      st.variants < 1 || st.variants > NVARIANTS ||
      st.seconds <= 0)
    goto usage;
  /* Enough workers for every slot's connect to run at once (uvodbc keeps
   * one libuv thread free). */
  if (getenv("UV_THREADPOOL_SIZE") == NULL) {
    char n[16];
    snprintf(n, sizeof(n), "%d", st.width + 1);
    setenv("UV_THREADPOOL_SIZE", n, 1);
  }
  make_connstrs();
  st.rng = st.seed * 2 + 1;
  printf("uvodbc-connect-stress: seed %" PRIu64
         " ops %ld width %d variants %d%s%s\n",
         st.seed, st.ops, st.width, st.variants, st.churn ? " churn" : "",
         st.driver_only ? " driver-only" : "");
  fflush(stdout);

  uv_timer_init(loop, &st.watchdog);
  uv_timer_start(&st.watchdog, on_watchdog, (uint64_t)(st.seconds * 1000),
                 0);
  st.open_slots = st.width;
  for (i = 0; i < st.width; i++) st.slots[i].index = i;
  if (!st.churn) start_round();
  for (i = 0; st.churn && i < st.width; i++) start(&st.slots[i]);
  uv_run(loop, UV_RUN_DEFAULT);
  if (uv_loop_close(loop) != 0) {
    fprintf(stderr, "CONNECT-STRESS FAIL: uv_loop_close\n");
    return 1;
  }
  if (uvodbc_shutdown() != 0) {
    fprintf(stderr, "CONNECT-STRESS FAIL: uvodbc_shutdown\n");
    return 1;
  }
  for (i = 0; i < NDRIVERS; i++)
    for (j = 0; j < 2; j++)
      for (k = 0; k < NVARIANTS; k++) free(connstrs[i][j][k]);
  printf("uvodbc-connect-stress: ok, %ld connects (%ld closed before "
         "connecting), %ld queries\n",
         st.connects, st.early_closes, st.queries);
  return 0;

usage:
  fprintf(stderr,
          "usage: uvodbc-connect-stress [--seed N] [--ops N] [--width N<=%d] "
          "[--seconds S] [--variants 1-%d] [--churn] [--driver-only]\n",
          MAX_WIDTH, NVARIANTS);
  return 2;
}
