/* uvodbc-bench-trace: what a tracing hook costs.
 *
 *   uvodbc-bench-trace [--runs N] [--queries N] [--clients N]
 *                      [--drivers sqlite,pg,mariadb]
 *
 * Per driver, interleaved in every run (A B C D, the order rotating):
 *   - plain blocking C: K x SELECT 1 (the baseline of every benchmark);
 *   - uvodbc: K x uvodbc_conn_query("SELECT 1") on a connection without a
 *     hook, then on one whose hook counts events;
 *   - a pool of 3 connections, `clients` loops of uvodbc_pool_query
 *     ("SELECT 1") sharing K queries, without and with the hook.
 * The table gives medians and ranges of queries per second and the ratio
 * traced / untraced (1.00: no cost). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "core.h"

#define MAX_RUNS 64

typedef struct {
  size_t runs;
  size_t queries; /* 0: 2000 on SQLite, 1000 on the servers */
  size_t clients;
  int drivers[BENCH_NDRIVERS];
} options_t;

static void usage(FILE* out) {
  fprintf(out,
          "usage: uvodbc-bench-trace [--runs N] [--queries N] [--clients N] "
          "[--drivers L]\n"
          "  --runs N     timed runs per measurement (default 7)\n"
          "  --queries N  SELECT 1 per run (default 2000 sqlite, 1000 "
          "servers)\n"
          "  --clients N  concurrent pool clients (default 8)\n"
          "  --drivers L  default sqlite,pg,mariadb\n");
}

static void parse_args(int argc, char** argv, options_t* o) {
  int i;
  memset(o, 0, sizeof(*o));
  o->runs = 7;
  o->clients = 8;
  bench_parse_drivers("sqlite,pg,mariadb", o->drivers);
  for (i = 1; i < argc; i++) {
    const char* val = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(argv[i], "--runs") == 0) {
      o->runs = bench_parse_count(argv[i], val);
      i++;
    } else if (strcmp(argv[i], "--queries") == 0) {
      o->queries = bench_parse_count(argv[i], val);
      i++;
    } else if (strcmp(argv[i], "--clients") == 0) {
      o->clients = bench_parse_count(argv[i], val);
      i++;
    } else if (strcmp(argv[i], "--drivers") == 0) {
      if (val == NULL) bench_die("--drivers needs a value");
      bench_parse_drivers(val, o->drivers);
      i++;
    } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      usage(stdout);
      exit(0);
    } else {
      usage(stderr);
      exit(2);
    }
  }
  if (o->runs > MAX_RUNS) bench_die("--runs: at most %d", MAX_RUNS);
}

static uint64_t events;

static void count_event(const uvodbc_trace_event_t* ev, void* data) {
  (void)ev;
  (void)data;
  events++;
}

static void die_on(int status, const char* what) {
  if (status != 0) bench_die("%s: %s", what, uvodbc_err_name(status));
}

/* ---- one connection ---- */

typedef struct {
  uv_loop_t* loop;
  uvodbc_conn_t* conn;
  size_t left;
  uvodbc_req_t req;
} serial_t;

static void on_connected(uvodbc_req_t* req, int status) {
  die_on(status, "connect");
}

static uvodbc_conn_t* connect_conn(uv_loop_t* loop, const char* connstr,
                                   int traced) {
  uvodbc_conn_options_t o;
  uvodbc_req_t req;
  uvodbc_conn_options_init(&o);
  if (traced) o.trace = count_event;
  die_on(uvodbc_connect(loop, &req, connstr, &o, on_connected),
         "uvodbc_connect");
  uv_run(loop, UV_RUN_DEFAULT);
  return req.conn;
}

static void on_serial(uvodbc_req_t* req, int status) {
  serial_t* s = req->data;
  die_on(status, "SELECT 1");
  uvodbc_req_cleanup(req);
  if (--s->left == 0) return;
  die_on(uvodbc_conn_query(s->conn, &s->req, CORE_SELECT1_SQL, NULL, 0, NULL,
                           on_serial),
         "uvodbc_conn_query");
}

static double serial_qps(uv_loop_t* loop, uvodbc_conn_t* conn, size_t k) {
  serial_t s;
  double t0 = bench_now();
  s.loop = loop;
  s.conn = conn;
  s.left = k;
  s.req.data = &s;
  die_on(uvodbc_conn_query(conn, &s.req, CORE_SELECT1_SQL, NULL, 0, NULL,
                           on_serial),
         "uvodbc_conn_query");
  uv_run(loop, UV_RUN_DEFAULT);
  return (double)k / (bench_now() - t0);
}

/* ---- a pool and its clients ---- */

typedef struct {
  uvodbc_pool_t* pool;
  size_t left; /* queries not yet started */
  size_t clients;
  uvodbc_req_t reqs[64];
} pool_run_t;

static void on_ready(uvodbc_pool_t* pool, int status) {
  (void)pool;
  die_on(status, "pool ready");
}

static uvodbc_pool_t* make_pool(uv_loop_t* loop, const char* connstr,
                                int traced) {
  uvodbc_pool_options_t o;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_init(&o);
  o.min_size = 3;
  o.max_size = 3;
  if (traced) o.conn.trace = count_event;
  die_on(uvodbc_pool_create(loop, &pool, connstr, &o, on_ready),
         "uvodbc_pool_create");
  uv_run(loop, UV_RUN_NOWAIT);
  return pool;
}

static void on_pool_query(uvodbc_req_t* req, int status) {
  pool_run_t* p = req->data;
  die_on(status, "pool SELECT 1");
  uvodbc_req_cleanup(req);
  if (p->left == 0) return;
  p->left--;
  die_on(uvodbc_pool_query(p->pool, req, CORE_SELECT1_SQL, NULL, 0, NULL,
                           on_pool_query),
         "uvodbc_pool_query");
}

static double pool_qps(uv_loop_t* loop, uvodbc_pool_t* pool, size_t k,
                       size_t clients) {
  pool_run_t p;
  size_t i;
  double t0 = bench_now();
  p.pool = pool;
  p.left = k;
  p.clients = clients < 64 ? clients : 64;
  for (i = 0; i < p.clients && p.left > 0; i++) {
    p.left--;
    p.reqs[i].data = &p;
    die_on(uvodbc_pool_query(pool, &p.reqs[i], CORE_SELECT1_SQL, NULL, 0,
                             NULL, on_pool_query),
           "uvodbc_pool_query");
  }
  uv_run(loop, UV_RUN_DEFAULT);
  return (double)k / (bench_now() - t0);
}

static void pool_closed(uvodbc_pool_t* pool) {
  (void)pool;
}

/* ---- the table ---- */

static double max_of(const double* v, size_t n) {
  double m = v[0];
  size_t i;
  for (i = 1; i < n; i++)
    if (v[i] > m) m = v[i];
  return m;
}

static void row(const char* driver, const char* what, const double* v,
                size_t n, double base_median) {
  double med = bench_median(v, n), lo = bench_min(v, n), hi = max_of(v, n);
  printf("%-8s %-28s %10.0f %10.0f-%-10.0f", driver, what, med, lo, hi);
  if (base_median > 0)
    printf(" %6.3f\n", med / base_median);
  else
    printf("      -\n");
}

static void bench_driver(bench_driver_t d, const options_t* o) {
  const char* connstr = bench_connstr(d);
  size_t k = o->queries != 0 ? o->queries : d == BENCH_SQLITE ? 2000 : 1000;
  double blocking[MAX_RUNS], plain[MAX_RUNS], traced[MAX_RUNS],
      pool_plain[MAX_RUNS], pool_traced[MAX_RUNS];
  double ratios[MAX_RUNS], pool_ratios[MAX_RUNS];
  baseline_t b;
  uv_loop_t loop;
  uvodbc_conn_t* c_plain;
  uvodbc_conn_t* c_traced;
  uvodbc_pool_t* p_plain;
  uvodbc_pool_t* p_traced;
  size_t r, step;
  const char* name = bench_driver_name(d);

  baseline_connect(&b, connstr);
  uv_loop_init(&loop);
  c_plain = connect_conn(&loop, connstr, 0);
  c_traced = connect_conn(&loop, connstr, 1);
  p_plain = make_pool(&loop, connstr, 0);
  p_traced = make_pool(&loop, connstr, 1);
  /* Warm-up: every side once. */
  baseline_select1(&b, k / 4);
  serial_qps(&loop, c_plain, k / 4);
  serial_qps(&loop, c_traced, k / 4);
  pool_qps(&loop, p_plain, k / 4, o->clients);
  pool_qps(&loop, p_traced, k / 4, o->clients);
  for (r = 0; r < o->runs; r++) {
    for (step = 0; step < 5; step++) {
      double t0;
      switch ((step + r) % 5) {
        case 0:
          t0 = bench_now();
          baseline_select1(&b, k);
          blocking[r] = (double)k / (bench_now() - t0);
          break;
        case 1:
          plain[r] = serial_qps(&loop, c_plain, k);
          break;
        case 2:
          traced[r] = serial_qps(&loop, c_traced, k);
          break;
        case 3:
          pool_plain[r] = pool_qps(&loop, p_plain, k, o->clients);
          break;
        default:
          pool_traced[r] = pool_qps(&loop, p_traced, k, o->clients);
          break;
      }
    }
    ratios[r] = traced[r] / plain[r];
    pool_ratios[r] = pool_traced[r] / pool_plain[r];
  }
  row(name, "blocking C, SELECT 1", blocking, o->runs, 0);
  row(name, "uvodbc SELECT 1, no hook", plain, o->runs,
      bench_median(blocking, o->runs));
  row(name, "uvodbc SELECT 1, hook", traced, o->runs,
      bench_median(plain, o->runs));
  row(name, "pool, no hook", pool_plain, o->runs, 0);
  row(name, "pool, hook", pool_traced, o->runs,
      bench_median(pool_plain, o->runs));
  printf("%-8s per-run ratio hook / no hook: serial %.3f (%.3f-%.3f), "
         "pool %.3f (%.3f-%.3f)\n",
         name, bench_median(ratios, o->runs), bench_min(ratios, o->runs),
         max_of(ratios, o->runs), bench_median(pool_ratios, o->runs),
         bench_min(pool_ratios, o->runs), max_of(pool_ratios, o->runs));
  die_on(uvodbc_conn_close(c_plain, NULL), "close");
  die_on(uvodbc_conn_close(c_traced, NULL), "close");
  die_on(uvodbc_pool_close(p_plain, pool_closed), "pool close");
  die_on(uvodbc_pool_close(p_traced, pool_closed), "pool close");
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  baseline_disconnect(&b);
}

int main(int argc, char** argv) {
  options_t o;
  int d;
  parse_args(argc, argv, &o);
  printf("%-8s %-28s %10s %21s %6s\n", "driver", "workload", "q/s median",
         "range", "ratio");
  for (d = 0; d < BENCH_NDRIVERS; d++)
    if (o.drivers[d]) bench_driver((bench_driver_t)d, &o);
  printf("events counted by the hook: %llu\n", (unsigned long long)events);
  return 0;
}
