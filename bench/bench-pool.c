/* uvodbc-bench-pool: pool throughput for SELECT 1 with N concurrent
 * requesters, against plain blocking ODBC with N threads, each with its own
 * connection.
 *
 *   uvodbc-bench-pool [--runs N] [--queries K] [--requesters N]
 *                     [--drivers sqlite,pg,mariadb]
 *
 * Per driver and run: the baseline starts N pthreads, each doing K
 * x (SQLExecDirect, SQLFetch into a bound column, SQLCloseCursor) on its
 * own connection.  uvodbc runs N requesters on one loop, each doing K
 * sequential uvodbc_pool_query("SELECT 1") through a pool of max_size N.
 * Connections are opened once, outside the timings.  Each run does both
 * sides one after the other (ABAB), after one warm-up.  The table shows the
 * median and minimum time per query (wall time / N*K), the ratio uvodbc /
 * baseline, and the throughput.
 *
 * A pool of N connections needs N workers: the benchmark sets
 * UV_THREADPOOL_SIZE to N + 1 (unless it is set already) before any libuv
 * work, so uvodbc's worker limit is N and one thread stays free. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sql.h>
#include <sqlext.h>
#include <uvodbc.h>

#include "bench.h"

#define SELECT1 "SELECT 1"

typedef struct options_s {
  size_t runs;
  size_t queries; /* per requester; 0: 1000 on SQLite, 500 on servers */
  size_t requesters;
  int drivers[BENCH_NDRIVERS];
} options_t;

static void usage(FILE* out) {
  fprintf(out,
          "usage: uvodbc-bench-pool [--runs N] [--queries K] "
          "[--requesters N]\n"
          "                         [--drivers sqlite,pg,mariadb]\n"
          "  --runs N        timed runs per side (default 7)\n"
          "  --queries K     SELECT 1 per requester and run (default 1000 on\n"
          "                  sqlite, 500 on pg and mariadb)\n"
          "  --requesters N  concurrent requesters = baseline threads = pool\n"
          "                  max_size (default 8)\n"
          "  --csv FILE   append a CSV line per row\n"
          "  --drivers L     drivers to run (default all three)\n");
}

static void parse_args(int argc, char** argv, options_t* o) {
  int i;
  memset(o, 0, sizeof(*o));
  o->runs = 7;
  o->requesters = 8;
  bench_parse_drivers("sqlite,pg,mariadb", o->drivers);
  for (i = 1; i < argc; i++) {
    const char* arg = argv[i];
    const char* val = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(arg, "--runs") == 0) {
      o->runs = bench_parse_count(arg, val);
      i++;
    } else if (strcmp(arg, "--queries") == 0) {
      o->queries = bench_parse_count(arg, val);
      i++;
    } else if (strcmp(arg, "--requesters") == 0) {
      o->requesters = bench_parse_count(arg, val);
      i++;
    } else if (strcmp(arg, "--csv") == 0) {
      if (val == NULL) bench_die("--csv needs a file");
      bench_csv_open(val); /* one line per row, as uvodbc-bench-core */
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
  if (o->requesters > 1000) bench_die("--requesters: at most 1000");
}

/* ---- baseline: N threads, blocking ODBC, a connection each ---- */

typedef struct worker_s {
  SQLHDBC dbc;
  SQLHSTMT stmt;
  SQLBIGINT value;
  SQLLEN ind;
  size_t k;
  pthread_t thread;
} worker_t;

static SQLHENV env;

static void check(SQLRETURN rc, SQLSMALLINT type, SQLHANDLE h,
                  const char* what) {
  SQLCHAR state[6] = "", msg[512] = "";
  SQLINTEGER native = 0;
  SQLSMALLINT len = 0;
  if (SQL_SUCCEEDED(rc)) return;
  SQLGetDiagRec(type, h, 1, state, &native, msg, sizeof(msg), &len);
  bench_die("baseline: %s failed: [%s] %s", what, state, msg);
}

static void worker_connect(worker_t* w, const char* connstr) {
  check(SQLAllocHandle(SQL_HANDLE_DBC, env, &w->dbc), SQL_HANDLE_ENV, env,
        "SQLAllocHandle(DBC)");
  check(SQLDriverConnect(w->dbc, NULL, (SQLCHAR*)connstr, SQL_NTS, NULL, 0,
                         NULL, SQL_DRIVER_NOPROMPT),
        SQL_HANDLE_DBC, w->dbc, "SQLDriverConnect");
  check(SQLAllocHandle(SQL_HANDLE_STMT, w->dbc, &w->stmt), SQL_HANDLE_DBC,
        w->dbc, "SQLAllocHandle(STMT)");
  check(SQLBindCol(w->stmt, 1, SQL_C_SBIGINT, &w->value, sizeof(w->value),
                   &w->ind),
        SQL_HANDLE_STMT, w->stmt, "SQLBindCol");
}

static void worker_disconnect(worker_t* w) {
  SQLFreeHandle(SQL_HANDLE_STMT, w->stmt);
  SQLDisconnect(w->dbc);
  SQLFreeHandle(SQL_HANDLE_DBC, w->dbc);
}

static void* worker_run(void* arg) {
  worker_t* w = arg;
  size_t i;
  for (i = 0; i < w->k; i++) {
    w->value = 0;
    check(SQLExecDirect(w->stmt, (SQLCHAR*)SELECT1, SQL_NTS), SQL_HANDLE_STMT,
          w->stmt, "SQLExecDirect");
    check(SQLFetch(w->stmt), SQL_HANDLE_STMT, w->stmt, "SQLFetch");
    if (w->ind == SQL_NULL_DATA || w->value != 1)
      bench_die("baseline: SELECT 1 returned %lld", (long long)w->value);
    check(SQLCloseCursor(w->stmt), SQL_HANDLE_STMT, w->stmt,
          "SQLCloseCursor");
  }
  return NULL;
}

static double baseline_run(worker_t* w, size_t n, size_t k) {
  double t = bench_now();
  size_t i;
  for (i = 0; i < n; i++) {
    w[i].k = k;
    if (pthread_create(&w[i].thread, NULL, worker_run, &w[i]) != 0)
      bench_die("pthread_create failed");
  }
  for (i = 0; i < n; i++) pthread_join(w[i].thread, NULL);
  return bench_now() - t;
}

/* ---- uvodbc: N requesters on one loop, one pool ---- */

typedef struct pool_bench_s pool_bench_t;

typedef struct requester_s {
  uvodbc_req_t req;
  pool_bench_t* pb;
  size_t left;
} requester_t;

struct pool_bench_s {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  requester_t* r;
  size_t n;
  size_t running;
  int ready;
  int closed;
};

static void on_select1(uvodbc_req_t* req, int status);

static void next_select1(requester_t* r) {
  int err;
  if (r->left == 0) {
    r->pb->running--;
    return;
  }
  r->left--;
  err = uvodbc_pool_query(r->pb->pool, &r->req, SELECT1, NULL, 0, NULL,
                          on_select1);
  if (err != 0) bench_die("uvodbc_pool_query: %s", uvodbc_strerror(err));
}

static void on_select1(uvodbc_req_t* req, int status) {
  requester_t* r = req->data;
  int64_t v = 0;
  if (status != 0)
    bench_die("uvodbc: SELECT 1 failed: %s%s%s", uvodbc_strerror(status),
              req->ndiag ? ": " : "", req->ndiag ? req->diag[0].message : "");
  if (uvodbc_batch_nrows(req->batch) != 1 ||
      uvodbc_batch_get_int64(req->batch, 0, 0, &v) != 0 || v != 1)
    bench_die("uvodbc: SELECT 1 returned %lld", (long long)v);
  uvodbc_req_cleanup(req);
  next_select1(r);
}

static double pool_run(pool_bench_t* pb, size_t k) {
  double t = bench_now();
  size_t i;
  pb->running = pb->n;
  for (i = 0; i < pb->n; i++) {
    pb->r[i].left = k;
    next_select1(&pb->r[i]);
  }
  while (pb->running > 0) uv_run(&pb->loop, UV_RUN_ONCE);
  return bench_now() - t;
}

static void on_pool_ready(uvodbc_pool_t* pool, int status) {
  pool_bench_t* pb = uvodbc_pool_get_data(pool);
  if (status != 0)
    bench_die("uvodbc: pool connects failed: %s", uvodbc_strerror(status));
  pb->ready = 1;
}

static void on_pool_closed(uvodbc_pool_t* pool) {
  pool_bench_t* pb = uvodbc_pool_get_data(pool);
  pb->closed = 1;
}

static void pool_open(pool_bench_t* pb, const char* connstr, size_t n) {
  uvodbc_pool_options_t o;
  size_t i;
  int err;
  memset(pb, 0, sizeof(*pb));
  uv_loop_init(&pb->loop);
  pb->n = n;
  pb->r = calloc(n, sizeof(*pb->r));
  if (pb->r == NULL) bench_die("out of memory");
  for (i = 0; i < n; i++) {
    pb->r[i].pb = pb;
    pb->r[i].req.data = &pb->r[i];
  }
  uvodbc_pool_options_init(&o);
  o.min_size = o.max_size = (unsigned int)n; /* all open before timing */
  o.max_connecting = (unsigned int)n;
  o.validate_after_idle_ms = 60000; /* as a busy service would */
  err = uvodbc_pool_create(&pb->loop, &pb->pool, connstr, &o, on_pool_ready);
  if (err != 0)
    bench_die("uvodbc_pool_create: %s (worker limit %u)",
              uvodbc_strerror(err), uvodbc_get_worker_limit());
  uvodbc_pool_set_data(pb->pool, pb);
  while (!pb->ready) uv_run(&pb->loop, UV_RUN_ONCE);
}

static void pool_close(pool_bench_t* pb, uvodbc_pool_stats_t* st) {
  uvodbc_pool_stats(pb->pool, st);
  uvodbc_pool_close(pb->pool, on_pool_closed);
  while (!pb->closed) uv_run(&pb->loop, UV_RUN_ONCE);
  uv_run(&pb->loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&pb->loop) != 0) bench_die("loop not closed cleanly");
  free(pb->r);
}

/* ---- main ---- */

static void measure(const options_t* o, bench_driver_t d) {
  const char* connstr = bench_connstr(d);
  size_t n = o->requesters;
  size_t k = o->queries ? o->queries : d == BENCH_SQLITE ? 1000 : 500;
  worker_t* w = calloc(n, sizeof(*w));
  double* base = calloc(o->runs, sizeof(double));
  double* uvo = calloc(o->runs, sizeof(double));
  pool_bench_t pb;
  uvodbc_pool_stats_t st;
  bench_row_t row;
  char what[64];
  size_t i;

  if (w == NULL || base == NULL || uvo == NULL) bench_die("out of memory");
  for (i = 0; i < n; i++) worker_connect(&w[i], connstr);
  pool_open(&pb, connstr, n);
  baseline_run(w, n, k / 10 + 1); /* warm-up */
  pool_run(&pb, k / 10 + 1);
  for (i = 0; i < o->runs; i++) {
    base[i] = baseline_run(w, n, k);
    uvo[i] = pool_run(&pb, k);
  }
  pool_close(&pb, &st);
  for (i = 0; i < n; i++) worker_disconnect(&w[i]);

  snprintf(what, sizeof(what), "SELECT 1, %zu requesters x %zu", n, k);
  row.driver = bench_driver_name(d);
  row.what = what;
  row.base = base;
  row.uvo = uvo;
  row.n = o->runs;
  row.scale = 1e6 / (double)(n * k);
  row.unit = "us/query";
  row.ops = (double)(n * k);
  row.rate = "query/s";
  bench_print_row(&row);
  printf("#   pool: %llu acquires, wait mean %llu us max %llu us, %llu "
         "connects, %u connections\n",
         (unsigned long long)st.acquires,
         (unsigned long long)st.wait_mean_us,
         (unsigned long long)st.wait_max_us,
         (unsigned long long)st.connects, st.size);
  free(w);
  free(base);
  free(uvo);
}

int main(int argc, char** argv) {
  options_t o;
  char size[16];
  int d;

  parse_args(argc, argv, &o);
  /* Before any libuv work: libuv reads it once. */
  snprintf(size, sizeof(size), "%zu", o.requesters + 1);
  setenv("UV_THREADPOOL_SIZE", size, 0);
  for (d = 0; d < BENCH_NDRIVERS; d++)
    if (o.drivers[d]) (void)bench_connstr((bench_driver_t)d);
  if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &env)) ||
      !SQL_SUCCEEDED(SQLSetEnvAttr(env, SQL_ATTR_ODBC_VERSION,
                                   (SQLPOINTER)SQL_OV_ODBC3, 0)))
    bench_die("cannot allocate the ODBC environment");
  printf("# uvodbc-bench-pool: %zu runs; UV_THREADPOOL_SIZE=%s, worker "
         "limit %u; times are wall time / queries\n",
         o.runs, getenv("UV_THREADPOOL_SIZE"), uvodbc_get_worker_limit());
  bench_print_machine();
  bench_print_header();
  for (d = 0; d < BENCH_NDRIVERS; d++)
    if (o.drivers[d]) measure(&o, (bench_driver_t)d);
  SQLFreeHandle(SQL_HANDLE_ENV, env);
  uvodbc_shutdown();
  bench_csv_close();
  return 0;
}
