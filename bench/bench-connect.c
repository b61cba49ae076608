/* uvodbc-bench-connect: connect throughput, N connections opened at once
 * from one loop, against plain blocking ODBC with 1 thread and T threads.
 *
 *   uvodbc-bench-connect [--runs N] [--connects N] [--threads T]
 *                        [--drivers sqlite,pg,mariadb]
 *
 * Per driver and run, three sides one after the other, each starting with
 * no connection open and ending with all N open (only that is timed; each
 * side then disconnects everything, untimed):
 * - baseline, 1 thread: N x (SQLAllocHandle(DBC), SQLDriverConnect);
 * - baseline, T threads: the same, N/T per thread, no lock of ours;
 * - uvodbc: N uvodbc_connect() at once on one loop, until the last
 *   callback.  UV_THREADPOOL_SIZE is T + 1 (unless set), so uvodbc's worker
 *   limit is T, as many threads as the baseline's.
 * Both sides use the same connection string; uvodbc's connect also does
 * what it always does after SQLDriverConnect (psqlODBC: SET
 * client_encoding, one round trip; every driver: a few SQLGetInfo).  One
 * warm-up run first.  Rows: time per N connects, ratio uvodbc / baseline
 * (below 1: uvodbc faster), rates in connects/s; a comment line per driver
 * gives the ranges (min-max of the runs). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sql.h>
#include <sqlext.h>
#include <uvodbc.h>

#include "bench.h"

typedef struct options_s {
  size_t runs;
  size_t connects;
  size_t threads;
  int drivers[BENCH_NDRIVERS];
} options_t;

static void usage(FILE* out) {
  fprintf(out,
          "usage: uvodbc-bench-connect [--runs N] [--connects N] "
          "[--threads T]\n"
          "                            [--drivers sqlite,pg,mariadb]\n"
          "  --runs N      timed runs per side (default 5)\n"
          "  --connects N  connections opened at once per run (default 200)\n"
          "  --threads T   baseline threads, and uvodbc's worker limit\n"
          "                (default 4)\n"
          "  --drivers L   drivers to run (default all three)\n");
}

static void parse_args(int argc, char** argv, options_t* o) {
  int i;
  memset(o, 0, sizeof(*o));
  o->runs = 5;
  o->connects = 200;
  o->threads = 4;
  bench_parse_drivers("sqlite,pg,mariadb", o->drivers);
  for (i = 1; i < argc; i++) {
    const char* arg = argv[i];
    const char* val = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(arg, "--runs") == 0) {
      o->runs = bench_parse_count(arg, val);
      i++;
    } else if (strcmp(arg, "--connects") == 0) {
      o->connects = bench_parse_count(arg, val);
      i++;
    } else if (strcmp(arg, "--threads") == 0) {
      o->threads = bench_parse_count(arg, val);
      i++;
    } else if (strcmp(arg, "--drivers") == 0) {
      if (val == NULL) bench_die("--drivers needs a value");
      bench_parse_drivers(val, o->drivers);
      i++;
    } else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
      usage(stdout);
      exit(0);
    } else {
      usage(stderr);
      bench_die("unknown argument '%s'", arg);
    }
  }
  if (o->threads > 256) bench_die("--threads: at most 256");
}

/* ---- baseline: T threads, blocking ODBC ---- */

static SQLHENV env;

typedef struct worker_s {
  const char* connstr;
  SQLHDBC* dbc; /* this thread's share of the handles */
  size_t n;
  pthread_t thread;
} worker_t;

static void* worker_run(void* arg) {
  worker_t* w = arg;
  size_t i;
  for (i = 0; i < w->n; i++) {
    SQLCHAR state[6] = "", msg[512] = "";
    SQLINTEGER native = 0;
    SQLSMALLINT len = 0;
    SQLRETURN rc;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_DBC, env, &w->dbc[i])))
      bench_die("baseline: SQLAllocHandle(DBC) failed");
    rc = SQLDriverConnect(w->dbc[i], NULL, (SQLCHAR*)w->connstr, SQL_NTS,
                          NULL, 0, NULL, SQL_DRIVER_NOPROMPT);
    if (SQL_SUCCEEDED(rc)) continue;
    SQLGetDiagRec(SQL_HANDLE_DBC, w->dbc[i], 1, state, &native, msg,
                  sizeof(msg), &len);
    bench_die("baseline: SQLDriverConnect failed: [%s] %s", state, msg);
  }
  return NULL;
}

static double baseline_run(const char* connstr, SQLHDBC* dbc, size_t n,
                           size_t threads) {
  worker_t w[256];
  double t;
  size_t i, at = 0;
  if (threads > n) threads = n;
  t = bench_now();
  for (i = 0; i < threads; i++) {
    w[i].connstr = connstr;
    w[i].dbc = dbc + at;
    w[i].n = n / threads + (i < n % threads);
    at += w[i].n;
    if (threads == 1) {
      worker_run(&w[i]);
    } else if (pthread_create(&w[i].thread, NULL, worker_run, &w[i]) != 0) {
      bench_die("pthread_create failed");
    }
  }
  for (i = 0; threads > 1 && i < threads; i++)
    pthread_join(w[i].thread, NULL);
  t = bench_now() - t;
  for (i = 0; i < n; i++) {
    SQLDisconnect(dbc[i]);
    SQLFreeHandle(SQL_HANDLE_DBC, dbc[i]);
  }
  return t;
}

/* ---- uvodbc: N connects at once on one loop ---- */

typedef struct uvo_s {
  uv_loop_t loop;
  uvodbc_req_t* req;
  size_t pending;
  size_t closing;
} uvo_t;

static void on_connect(uvodbc_req_t* req, int status) {
  uvo_t* u = req->data;
  if (status != 0)
    bench_die("uvodbc: connect failed: %s%s%s", uvodbc_strerror(status),
              req->ndiag ? ": " : "", req->ndiag ? req->diag[0].message : "");
  u->pending--;
}

static void on_closed(uvodbc_conn_t* conn) {
  uvo_t* u = uvodbc_conn_get_data(conn);
  if (uvodbc_conn_close_status(conn) != 0) bench_die("uvodbc: close failed");
  u->closing--;
}

static double uvodbc_run(uvo_t* u, const char* connstr, size_t n) {
  double t;
  size_t i;
  t = bench_now();
  for (i = 0; i < n; i++) {
    int err;
    u->req[i].data = u;
    err = uvodbc_connect(&u->loop, &u->req[i], connstr, NULL, on_connect);
    if (err != 0) bench_die("uvodbc_connect: %s", uvodbc_strerror(err));
    uvodbc_conn_set_data(u->req[i].conn, u);
  }
  u->pending = n;
  while (u->pending > 0) uv_run(&u->loop, UV_RUN_ONCE);
  t = bench_now() - t;
  u->closing = n;
  for (i = 0; i < n; i++) uvodbc_conn_close(u->req[i].conn, on_closed);
  while (u->closing > 0) uv_run(&u->loop, UV_RUN_ONCE);
  return t;
}

/* ---- main ---- */

static void print_range(const char* who, const double* v, size_t runs,
                        size_t n) {
  double lo = v[0], hi = v[0];
  size_t i;
  for (i = 1; i < runs; i++) {
    if (v[i] < lo) lo = v[i];
    if (v[i] > hi) hi = v[i];
  }
  printf("  %s %.0f (%.0f-%.0f)", who, (double)n / bench_median(v, runs),
         (double)n / hi, (double)n / lo);
}

static void measure(const options_t* o, bench_driver_t d) {
  const char* connstr = bench_connstr(d);
  size_t n = o->connects, i;
  SQLHDBC* dbc = calloc(n, sizeof(*dbc));
  double* one = calloc(o->runs, sizeof(double));
  double* many = calloc(o->runs, sizeof(double));
  double* uvo = calloc(o->runs, sizeof(double));
  uvo_t u;
  bench_row_t row;
  char what1[64], whatt[64];

  if (dbc == NULL || one == NULL || many == NULL || uvo == NULL)
    bench_die("out of memory");
  memset(&u, 0, sizeof(u));
  uv_loop_init(&u.loop);
  u.req = calloc(n, sizeof(*u.req));
  if (u.req == NULL) bench_die("out of memory");

  baseline_run(connstr, dbc, n / 10 + 1, 1); /* warm-up */
  baseline_run(connstr, dbc, n / 10 + 1, o->threads);
  uvodbc_run(&u, connstr, n / 10 + 1);
  for (i = 0; i < o->runs; i++) {
    one[i] = baseline_run(connstr, dbc, n, 1);
    many[i] = baseline_run(connstr, dbc, n, o->threads);
    uvo[i] = uvodbc_run(&u, connstr, n);
  }
  uv_run(&u.loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&u.loop) != 0) bench_die("loop not closed cleanly");

  snprintf(what1, sizeof(what1), "connect %zu at once vs 1 thread", n);
  snprintf(whatt, sizeof(whatt), "connect %zu at once vs %zu threads", n,
           o->threads);
  row.driver = bench_driver_name(d);
  row.uvo = uvo;
  row.n = o->runs;
  row.scale = 1e3;
  row.unit = "ms/run";
  row.ops = (double)n;
  row.rate = "conn/s";
  row.what = what1;
  row.base = one;
  bench_print_row(&row);
  row.what = whatt;
  row.base = many;
  bench_print_row(&row);
  printf("#   conn/s median (range):");
  print_range("1 thread", one, o->runs, n);
  printf(";");
  print_range("threads", many, o->runs, n);
  printf(";");
  print_range("uvodbc", uvo, o->runs, n);
  printf("; uvodbc / threads %.2f\n",
         bench_median(many, o->runs) / bench_median(uvo, o->runs));
  free(u.req);
  free(dbc);
  free(one);
  free(many);
  free(uvo);
}

int main(int argc, char** argv) {
  options_t o;
  char size[16];
  int d;

  parse_args(argc, argv, &o);
  /* Before any libuv work: libuv reads it once. */
  snprintf(size, sizeof(size), "%zu", o.threads + 1);
  setenv("UV_THREADPOOL_SIZE", size, 0);
  for (d = 0; d < BENCH_NDRIVERS; d++)
    if (o.drivers[d]) (void)bench_connstr((bench_driver_t)d);
  if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &env)) ||
      !SQL_SUCCEEDED(SQLSetEnvAttr(env, SQL_ATTR_ODBC_VERSION,
                                   (SQLPOINTER)SQL_OV_ODBC3, 0)))
    bench_die("cannot allocate the ODBC environment");
  printf("# uvodbc-bench-connect: %zu runs of %zu connects; baseline %zu "
         "threads; UV_THREADPOOL_SIZE=%s, worker limit %u\n",
         o.runs, o.connects, o.threads, getenv("UV_THREADPOOL_SIZE"),
         uvodbc_get_worker_limit());
  bench_print_header();
  for (d = 0; d < BENCH_NDRIVERS; d++)
    if (o.drivers[d]) measure(&o, (bench_driver_t)d);
  SQLFreeHandle(SQL_HANDLE_ENV, env);
  uvodbc_shutdown();
  return 0;
}
