/* uvodbc-bench-core: uvodbc against plain blocking ODBC, side by side.
 *
 *   uvodbc-bench-core [--runs N] [--rows N] [--queries N] [--batch N]
 *                     [--work-us N] [--drivers sqlite,pg,mariadb]
 *                     [--no-declare-fetch]
 *
 * Per driver: SELECT 1 round trips on one connection, and reading every row
 * of a rows x 4 table that the benchmark creates, fills and drops.  Each
 * measurement runs once to warm up, then --runs times alternating the
 * baseline and uvodbc; the table shows medians, minimums and the time ratio
 * uvodbc / baseline.  See bench/README.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "core.h"

typedef struct options_s {
  size_t runs;
  size_t rows;
  size_t queries; /* 0: 2000 on SQLite, 1000 on the servers */
  size_t batch;   /* rows per block fetch, both sides */
  int drivers[BENCH_NDRIVERS];
  int declare_fetch; /* PG: also with UseDeclareFetch=1;Fetch=<batch> */
} options_t;

static void usage(FILE* out) {
  fprintf(out,
          "usage: uvodbc-bench-core [--runs N] [--rows N] [--queries N] "
          "[--batch N]\n"
          "                         [--work-us N] [--drivers sqlite,pg,mariadb] "
          "[--no-declare-fetch]\n"
          "  --runs N      timed runs per measurement (default 7)\n"
          "  --rows N      rows of the fetch table (default 200000)\n"
          "  --queries N   SELECT 1 round trips per run (default 2000 on "
          "sqlite,\n"
          "                1000 on pg and mariadb)\n"
          "  --batch N     rows per block fetch on both sides (default 1024)\n"
          "  --work-us N   the application's work per fetched batch, in µs\n"
          "                of CPU, on both sides (default 0)\n"
          "  --drivers L   drivers to run (default all three); connection\n"
          "                strings from UVODBC_TEST_SQLITE/_PG/_MARIADB\n"
          "  --no-declare-fetch  skip the PG UseDeclareFetch=1 fetch row\n");
}

static void parse_args(int argc, char** argv, options_t* o) {
  int i;
  memset(o, 0, sizeof(*o));
  o->runs = 7;
  o->rows = 200000;
  o->batch = 1024;
  o->declare_fetch = 1;
  bench_parse_drivers("sqlite,pg,mariadb", o->drivers);
  for (i = 1; i < argc; i++) {
    const char* arg = argv[i];
    const char* val = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(arg, "--runs") == 0) {
      o->runs = bench_parse_count(arg, val);
      i++;
    } else if (strcmp(arg, "--rows") == 0) {
      o->rows = bench_parse_count(arg, val);
      i++;
    } else if (strcmp(arg, "--batch") == 0) {
      o->batch = bench_parse_count(arg, val);
      i++;
    } else if (strcmp(arg, "--work-us") == 0) {
      core_work_us = (double)bench_parse_count(arg, val);
      i++;
    } else if (strcmp(arg, "--queries") == 0) {
      o->queries = bench_parse_count(arg, val);
      i++;
    } else if (strcmp(arg, "--drivers") == 0) {
      if (val == NULL) bench_die("--drivers needs a value");
      bench_parse_drivers(val, o->drivers);
      i++;
    } else if (strcmp(arg, "--no-declare-fetch") == 0) {
      o->declare_fetch = 0;
    } else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
      usage(stdout);
      exit(0);
    } else {
      usage(stderr);
      bench_die("unknown argument '%s'", arg);
    }
  }
}

/* ---- measurements ---- */

static void print_sums(const char* driver, const char* what,
                       const core_sums_t* s) {
  printf("# %s %s: both sides read rows=%lld nulls=%lld sum(id)=%lld "
         "sum(x)=%.2f sum(len(s))=%lld sum(ts s)=%lld sum(ts ns)=%lld\n",
         driver, what, (long long)s->rows, (long long)s->nulls,
         (long long)s->ints, s->doubles, (long long)s->text_bytes,
         (long long)s->seconds, (long long)s->nanos);
}

static void check_sums(const char* driver, const core_sums_t* base,
                       const core_sums_t* uvo, size_t rows) {
  if (!core_sums_equal(base, uvo)) {
    print_sums(driver, "baseline", base);
    print_sums(driver, "uvodbc", uvo);
    bench_die("%s: uvodbc and the baseline read different values", driver);
  }
  if (base->rows != (int64_t)rows)
    bench_die("%s: read %lld rows, the table has %zu", driver,
              (long long)base->rows, rows);
}

static void measure_select1(const options_t* o, bench_driver_t d,
                            baseline_t* b, async_t* a) {
  const char* name = bench_driver_name(d);
  size_t k = o->queries ? o->queries : d == BENCH_SQLITE ? 2000 : 1000;
  size_t warm = k / 10 > 0 ? k / 10 : 1, i;
  double* base = calloc(o->runs, sizeof(double));
  double* query = calloc(o->runs, sizeof(double));
  double* exec = calloc(o->runs, sizeof(double));
  double* piped = calloc(o->runs, sizeof(double));
  double t;
  bench_row_t row;

  if (base == NULL || query == NULL || exec == NULL || piped == NULL)
    bench_die("out of memory");
  baseline_select1(b, warm);
  async_select1_query(a, warm);
  async_select1_exec(a, warm);
  async_select1_pipelined(a, warm);
  for (i = 0; i < o->runs; i++) {
    t = bench_now();
    baseline_select1(b, k);
    base[i] = bench_now() - t;
    t = bench_now();
    async_select1_query(a, k);
    query[i] = bench_now() - t;
    t = bench_now();
    async_select1_exec(a, k);
    exec[i] = bench_now() - t;
    t = bench_now();
    async_select1_pipelined(a, k);
    piped[i] = bench_now() - t;
  }
  memset(&row, 0, sizeof(row));
  row.driver = name;
  row.base = base;
  row.n = o->runs;
  row.scale = 1e6 / (double)k;
  row.unit = "us/query";
  row.ops = (double)k;
  row.rate = "query/s";
  row.what = "SELECT 1: conn_query";
  row.uvo = query;
  bench_print_row(&row);
  row.what = "SELECT 1: conn_exec + cursor_close";
  row.uvo = exec;
  bench_print_row(&row);
  row.what = "SELECT 1: conn_query, 64 queued";
  row.uvo = piped;
  bench_print_row(&row);
  free(base);
  free(query);
  free(exec);
  free(piped);
}

/* Blocking block fetch vs uvodbc, with uvodbc_cursor_fetch and with
 * uvodbc_cursor_read_start, interleaved run by run against the same
 * baseline. */
static void measure_fetch(const options_t* o, bench_driver_t d,
                          const char* what, baseline_t* b, async_t* a) {
  const char* name = bench_driver_name(d);
  double* base = calloc(o->runs, sizeof(double));
  double* uvo = calloc(o->runs, sizeof(double));
  double* ahead = calloc(o->runs, sizeof(double));
  core_sums_t bs, us;
  char what_ahead[96];
  double t;
  size_t i;
  bench_row_t row;

  if (base == NULL || uvo == NULL || ahead == NULL) bench_die("out of memory");
  baseline_fetch(b, o->batch, &bs);
  async_fetch(a, o->batch, 0, &us);
  check_sums(name, &bs, &us, o->rows);
  async_fetch(a, o->batch, 1, &us);
  check_sums(name, &bs, &us, o->rows);
  for (i = 0; i < o->runs; i++) {
    t = bench_now();
    baseline_fetch(b, o->batch, &bs);
    base[i] = bench_now() - t;
    t = bench_now();
    async_fetch(a, o->batch, 0, &us);
    uvo[i] = bench_now() - t;
    check_sums(name, &bs, &us, o->rows);
    t = bench_now();
    async_fetch(a, o->batch, 1, &us);
    ahead[i] = bench_now() - t;
    check_sums(name, &bs, &us, o->rows);
  }
  memset(&row, 0, sizeof(row));
  row.driver = name;
  row.what = what;
  row.base = base;
  row.uvo = uvo;
  row.n = o->runs;
  row.scale = 1e3;
  row.unit = "ms/fetch";
  row.ops = (double)o->rows;
  row.rate = "row/s";
  bench_print_row(&row);
  snprintf(what_ahead, sizeof(what_ahead), "%s, read_start", what);
  row.what = what_ahead;
  row.uvo = ahead;
  bench_print_row(&row);
  print_sums(name, what, &bs);
  free(base);
  free(uvo);
  free(ahead);
}

static void bench_driver(const options_t* o, bench_driver_t d,
                         uv_loop_t* loop) {
  const char* connstr = bench_connstr(d);
  char what[64], what_declare[64];
  baseline_t b;
  async_t a;

  baseline_connect(&b, connstr);
  async_connect(&a, loop, connstr);
  core_create_table(&b, d, o->rows);
  measure_select1(o, d, &b, &a);
  if (core_work_us > 0)
    snprintf(what, sizeof(what), "fetch %zu x 4, batch %zu, work %.0f us",
             o->rows, o->batch, core_work_us);
  else
    snprintf(what, sizeof(what), "fetch %zu x 4, batch %zu", o->rows,
             o->batch);
  measure_fetch(o, d, what, &b, &a);
  if (d == BENCH_PG && o->declare_fetch) {
    char* declare;
    char extra[64];
    baseline_t b2;
    async_t a2;
    snprintf(extra, sizeof(extra), "UseDeclareFetch=1;Fetch=%zu", o->batch);
    declare = bench_connstr_with(connstr, extra);
    baseline_connect(&b2, declare);
    async_connect(&a2, loop, declare);
    snprintf(what_declare, sizeof(what_declare),
             "fetch, UseDeclareFetch=1;Fetch=%zu", o->batch);
    measure_fetch(o, d, what_declare, &b2, &a2);
    async_disconnect(&a2);
    baseline_disconnect(&b2);
    free(declare);
  }
  baseline_exec(&b, "DROP TABLE " CORE_TABLE);
  async_disconnect(&a);
  baseline_disconnect(&b);
}

int main(int argc, char** argv) {
  options_t o;
  uv_loop_t loop;
  const char* pool = getenv("UV_THREADPOOL_SIZE");
  int d;

  parse_args(argc, argv, &o);
  for (d = 0; d < BENCH_NDRIVERS; d++) /* fail before any work */
    if (o.drivers[d]) bench_connstr((bench_driver_t)d);
  if (uv_loop_init(&loop) != 0) bench_die("uv_loop_init failed");
  if (uvodbc_init() != 0) bench_die("uvodbc_init failed");

  printf("# uvodbc %s, libuv %s; runs=%zu (median and min of each), "
         "UV_THREADPOOL_SIZE=%s, uvodbc worker limit %u\n",
         uvodbc_version_string(), uv_version_string(), o.runs,
         pool != NULL ? pool : "(default 4)", uvodbc_get_worker_limit());
  printf("# ratio = uvodbc median / baseline median, r(min) = uvodbc min / "
         "baseline min (time; below 1 is faster)\n");
  bench_print_header();
  for (d = 0; d < BENCH_NDRIVERS; d++)
    if (o.drivers[d]) bench_driver(&o, (bench_driver_t)d, &loop);

  if (uvodbc_shutdown() != 0) bench_die("uvodbc_shutdown: still busy");
  if (uv_loop_close(&loop) != 0) bench_die("uv_loop_close: handles left");
  return 0;
}
