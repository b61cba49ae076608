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
 * The table gives medians and ranges of queries per second and of the
 * process's CPU time per query (every thread, user + system), then the
 * per-run ratios traced / untraced (q/s 1.00 and CPU 1.00: no cost). */
#include <stdio.h>
#include <sys/resource.h>
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

static void row(const char* driver, const char* what, const double* qps,
                const double* cpu, size_t n) {
  printf("%-8s %-26s %9.0f %9.0f-%-9.0f %7.1f %6.1f-%-6.1f\n", driver, what,
         bench_median(qps, n), bench_min(qps, n), max_of(qps, n),
         bench_median(cpu, n), bench_min(cpu, n), max_of(cpu, n));
}

/* Process CPU (user + system, every thread) in microseconds. */
static double cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

enum { W_BLOCKING, W_PLAIN, W_TRACED, W_POOL_PLAIN, W_POOL_TRACED, NW };

typedef struct {
  baseline_t b;
  uv_loop_t loop;
  uvodbc_conn_t* conn[2];  /* [traced] */
  const char* connstr;
  size_t k, clients;
} sides_t;

/* One run of workload w: queries per second; *cpu: CPU µs per query. */
static double run_one(sides_t* s, int w, size_t k, double* cpu) {
  double c0 = cpu_us(), t0 = bench_now(), qps;
  switch (w) {
    case W_BLOCKING:
      baseline_select1(&s->b, k);
      qps = (double)k / (bench_now() - t0);
      break;
    case W_PLAIN:
    case W_TRACED:
      qps = serial_qps(&s->loop, s->conn[w == W_TRACED], k);
      break;
    default: {
      /* A new pool each run, warmed up before the clock starts: one pool
       * instance kept for the whole run (its connections, the worker
       * threads' malloc arenas they met first) skewed either side by 10%
       * whichever was made first. */
      uvodbc_pool_t* pool =
          make_pool(&s->loop, s->connstr, w == W_POOL_TRACED);
      pool_qps(&s->loop, pool, k / 4, s->clients);
      c0 = cpu_us();
      t0 = bench_now();
      qps = pool_qps(&s->loop, pool, k, s->clients);
      *cpu = (cpu_us() - c0) / (double)k;
      die_on(uvodbc_pool_close(pool, pool_closed), "pool close");
      uv_run(&s->loop, UV_RUN_DEFAULT);
      return qps;
    }
  }
  *cpu = (cpu_us() - c0) / (double)k;
  return qps;
}

static void ratio_line(const char* name, const char* what, const double* a,
                       const double* b, size_t n) {
  double r[MAX_RUNS] = {0};
  size_t i;
  for (i = 0; i < n; i++) r[i] = a[i] / b[i];
  printf("%-8s %-34s %.3f (%.3f-%.3f)\n", name, what, bench_median(r, n),
         bench_min(r, n), max_of(r, n));
}

static void bench_driver(bench_driver_t d, const options_t* o) {
  static const char* const labels[NW] = {
      "blocking C, SELECT 1", "uvodbc SELECT 1, no hook",
      "uvodbc SELECT 1, hook", "pool, no hook", "pool, hook"};
  const char* name = bench_driver_name(d);
  const char* connstr = bench_connstr(d);
  double qps[NW][MAX_RUNS], cpu[NW][MAX_RUNS], ignored;
  sides_t s;
  size_t r, step;
  int w;

  s.k = o->queries != 0 ? o->queries : d == BENCH_SQLITE ? 2000 : 1000;
  s.clients = o->clients;
  baseline_connect(&s.b, connstr);
  uv_loop_init(&s.loop);
  s.connstr = connstr;
  for (w = 0; w < 2; w++) s.conn[w] = connect_conn(&s.loop, connstr, w);
  for (w = 0; w < NW; w++) run_one(&s, w, s.k / 4, &ignored); /* warm-up */
  /* Interleaved, the order rotating each run. */
  for (r = 0; r < o->runs; r++)
    for (step = 0; step < NW; step++) {
      w = (int)((step + r) % NW);
      qps[w][r] = run_one(&s, w, s.k, &cpu[w][r]);
    }
  for (w = 0; w < NW; w++)
    row(name, labels[w], qps[w], cpu[w], o->runs);
  ratio_line(name, "q/s hook / no hook, serial", qps[W_TRACED],
             qps[W_PLAIN], o->runs);
  ratio_line(name, "q/s hook / no hook, pool", qps[W_POOL_TRACED],
             qps[W_POOL_PLAIN], o->runs);
  ratio_line(name, "CPU/query hook / no hook, serial", cpu[W_TRACED],
             cpu[W_PLAIN], o->runs);
  ratio_line(name, "CPU/query hook / no hook, pool", cpu[W_POOL_TRACED],
             cpu[W_POOL_PLAIN], o->runs);
  for (w = 0; w < 2; w++)
    die_on(uvodbc_conn_close(s.conn[w], NULL), "close");
  uv_run(&s.loop, UV_RUN_DEFAULT);
  uv_loop_close(&s.loop);
  baseline_disconnect(&s.b);
}

int main(int argc, char** argv) {
  options_t o;
  int d;
  parse_args(argc, argv, &o);
  printf("%-8s %-26s %9s %19s %7s %13s\n", "driver", "workload",
         "q/s med", "range", "CPU µs", "range");
  for (d = 0; d < BENCH_NDRIVERS; d++)
    if (o.drivers[d]) bench_driver((bench_driver_t)d, &o);
  printf("events counted by the hook: %llu\n", (unsigned long long)events);
  return 0;
}
