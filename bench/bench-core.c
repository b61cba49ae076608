/* uvodbc-bench-core: uvodbc against plain blocking ODBC, side by side.
 *
 *   uvodbc-bench-core [--runs N] [--rows N] [--queries N] [--batch N]
 *                     [--work-us N] [--drivers sqlite,pg,mariadb]
 *                     [--no-declare-fetch] [--csv FILE]
 *
 * Per driver: SELECT 1 round trips on one connection (blocking, a bare
 * uv_queue_work hop around the same calls, uvodbc), and reading every row
 * of a rows x 4 table that the benchmark creates, fills and drops
 * (blocking, a uvodbc cursor read with fetch and with read_start, and
 * uvodbc_conn_query).  uvodbc runs with its default options unless --batch
 * is given.  Each measurement runs once to warm up, then --runs times with
 * every side in turn within each run; the table shows medians and ranges,
 * the time ratio uvodbc / baseline and the process's CPU time.  See
 * bench/README.md. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "core.h"

typedef struct options_s {
  size_t runs;
  size_t rows;
  size_t queries; /* 0: 2000 on SQLite, 1000 on the servers */
  size_t batch;   /* 0: uvodbc's defaults, baseline CORE_BASE_BATCH */
  int drivers[BENCH_NDRIVERS];
  int declare_fetch; /* PG: also with UseDeclareFetch=1;Fetch=<batch> */
  int glibc_malloc;  /* keep glibc's malloc thresholds as they are */
  const char* csv;   /* NULL: no CSV */
} options_t;

/* The baseline's block when --batch is not given: what a C program
 * would pick, and psqlODBC's own Fetch default. */
#define CORE_BASE_BATCH 1024

static size_t base_batch(const options_t* o) {
  return o->batch > 0 ? o->batch : CORE_BASE_BATCH;
}

static void usage(FILE* out) {
  fprintf(out,
          "usage: uvodbc-bench-core [--runs N] [--rows N] [--queries N] "
          "[--batch N]\n"
          "                         [--work-us N] [--drivers sqlite,pg,mariadb] "
          "[--no-declare-fetch]\n"
          "                         [--csv FILE]\n"
          "  --runs N      timed runs per measurement (default 7)\n"
          "  --rows N      rows of the fetch table (default 200000)\n"
          "  --queries N   SELECT 1 round trips per run (default 2000 on "
          "sqlite,\n"
          "                1000 on pg and mariadb)\n"
          "  --batch N     rows per batch on both sides (default 0: uvodbc's\n"
          "                default options, the baseline %d rows a block)\n"
          "  --work-us N   the application's work while fetching, in µs of\n"
          "                CPU per %d rows, on every side (default 0)\n"
          "  --drivers L   drivers to run (default all three); connection\n"
          "                strings from UVODBC_TEST_SQLITE/_PG/_MARIADB\n"
          "  --no-declare-fetch  skip the PG UseDeclareFetch=1 fetch rows\n"
          "  --csv FILE    append a CSV line per printed row to FILE\n"
          "  --glibc-malloc  keep glibc's trim and mmap thresholds (by default\n"
          "                they are raised for both sides: docs/performance.md)\n",
          CORE_BASE_BATCH, CORE_WORK_ROWS);
}

static void parse_args(int argc, char** argv, options_t* o) {
  int i;
  memset(o, 0, sizeof(*o));
  o->runs = 7;
  o->rows = 200000;
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
      o->batch = val != NULL && strcmp(val, "0") == 0
                     ? 0
                     : bench_parse_count(arg, val);
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
    } else if (strcmp(arg, "--csv") == 0) {
      if (val == NULL) bench_die("--csv needs a file name");
      o->csv = val;
      i++;
    } else if (strcmp(arg, "--no-declare-fetch") == 0) {
      o->declare_fetch = 0;
    } else if (strcmp(arg, "--glibc-malloc") == 0) {
      o->glibc_malloc = 1;
    } else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
      usage(stdout);
      exit(0);
    } else {
      usage(stderr);
      bench_die("unknown argument '%s'", arg);
    }
  }
}

/* ---- samples ---- */

/* Wall and process CPU seconds of each run of one side. */
typedef struct series_s {
  double* wall;
  double* cpu;
} series_t;

static void series_init(series_t* s, size_t runs) {
  s->wall = calloc(runs, sizeof(double));
  s->cpu = calloc(runs, sizeof(double));
  if (s->wall == NULL || s->cpu == NULL) bench_die("out of memory");
}

static void series_free(series_t* s) {
  free(s->wall);
  free(s->cpu);
}

static double sample_wall, sample_cpu;

static void sample_start(void) {
  sample_cpu = bench_cpu_now();
  sample_wall = bench_now();
}

static void sample_end(series_t* s, size_t i) {
  s->wall[i] = bench_now() - sample_wall;
  s->cpu[i] = bench_cpu_now() - sample_cpu;
}

/* One table row: `uvo` against `base`, wall and CPU. */
static void print_pair(bench_row_t* row, bench_cpu_t* cpu, const char* what,
                       const series_t* base, const series_t* uvo) {
  row->what = what;
  row->base = base->wall;
  row->uvo = uvo->wall;
  cpu->base = base->cpu;
  cpu->uvo = uvo->cpu;
  bench_print_wide_row(row, cpu);
}

/* ---- measurements ---- */

/* `who`: "every side" once they agree, else the side. */
static void print_sums(const char* driver, const char* what, const char* who,
                       const core_sums_t* s) {
  printf("# %s %s: %s read rows=%lld nulls=%lld sum(id)=%lld "
         "sum(x)=%.2f sum(len(s))=%lld sum(ts s)=%lld sum(ts ns)=%lld\n",
         driver, what, who, (long long)s->rows, (long long)s->nulls,
         (long long)s->ints, s->doubles, (long long)s->text_bytes,
         (long long)s->seconds, (long long)s->nanos);
}

/* Dies unless `uvo` (read by `side`) has the baseline's sums and the
 * baseline read the whole table. */
static void check_sums(const char* driver, const char* side,
                       const core_sums_t* base, const core_sums_t* uvo,
                       size_t rows) {
  if (!core_sums_equal(base, uvo)) {
    print_sums(driver, "fetch", "the baseline", base);
    print_sums(driver, "fetch", side, uvo);
    bench_die("%s: uvodbc (%s) and the baseline read different values",
              driver, side);
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
  series_t base, hop, query, exec, piped;
  bench_row_t row;
  bench_cpu_t cpu;

  series_init(&base, o->runs);
  series_init(&hop, o->runs);
  series_init(&query, o->runs);
  series_init(&exec, o->runs);
  series_init(&piped, o->runs);
  baseline_select1(b, warm);
  hop_select1(a->loop, b, warm);
  async_select1_query(a, warm);
  async_select1_exec(a, warm);
  async_select1_pipelined(a, warm);
  for (i = 0; i < o->runs; i++) {
    sample_start();
    baseline_select1(b, k);
    sample_end(&base, i);
    sample_start();
    hop_select1(a->loop, b, k);
    sample_end(&hop, i);
    sample_start();
    async_select1_query(a, k);
    sample_end(&query, i);
    sample_start();
    async_select1_exec(a, k);
    sample_end(&exec, i);
    sample_start();
    async_select1_pipelined(a, k);
    sample_end(&piped, i);
  }
  memset(&row, 0, sizeof(row));
  row.driver = name;
  row.n = o->runs;
  row.scale = 1e6 / (double)k;
  row.unit = "us/query";
  row.ops = (double)k;
  row.rate = "query/s";
  cpu.scale = row.scale;
  cpu.unit = "us/query";
  print_pair(&row, &cpu, "SELECT 1: conn_query", &base, &query);
  print_pair(&row, &cpu, "SELECT 1: conn_exec + cursor_close", &base, &exec);
  print_pair(&row, &cpu, "SELECT 1: conn_query, 64 queued", &base, &piped);
  print_pair(&row, &cpu, "SELECT 1: bare uv_queue_work hop", &base, &hop);
  print_pair(&row, &cpu, "SELECT 1: conn_query vs bare hop", &hop, &query);
  series_free(&base);
  series_free(&hop);
  series_free(&query);
  series_free(&exec);
  series_free(&piped);
}

/* The blocking block fetch and three ways of reading with uvodbc (cursor
 * with uvodbc_cursor_fetch, with uvodbc_cursor_read_start, the whole
 * result with uvodbc_conn_query), each run all four in turn, every one
 * checked against the baseline's sums.  `what` names the table and
 * connection ("fetch 200000 x 4"). */
static void measure_fetch(const options_t* o, bench_driver_t d,
                          const char* what, baseline_t* b, async_t* a) {
  const char* name = bench_driver_name(d);
  size_t bb = base_batch(o), i;
  series_t base, uvo, read, query;
  core_sums_t bs, us;
  char opt[48], work[32], label[160];
  long long uvo_batch;
  bench_row_t row;
  bench_cpu_t cpu;

  series_init(&base, o->runs);
  series_init(&uvo, o->runs);
  series_init(&read, o->runs);
  series_init(&query, o->runs);
  baseline_fetch(b, bb, &bs);
  async_fetch(a, o->batch, 0, &us);
  check_sums(name, "cursor_fetch", &bs, &us, o->rows);
  uvo_batch = (long long)us.first_batch_rows; /* the default, if it is */
  async_fetch(a, o->batch, 1, &us);
  check_sums(name, "read_start", &bs, &us, o->rows);
  async_query_fetch(a, o->rows, o->batch, &us);
  check_sums(name, "conn_query", &bs, &us, o->rows);
  for (i = 0; i < o->runs; i++) {
    sample_start();
    baseline_fetch(b, bb, &bs);
    sample_end(&base, i);
    sample_start();
    async_fetch(a, o->batch, 0, &us);
    sample_end(&uvo, i);
    check_sums(name, "cursor_fetch", &bs, &us, o->rows);
    sample_start();
    async_fetch(a, o->batch, 1, &us);
    sample_end(&read, i);
    check_sums(name, "read_start", &bs, &us, o->rows);
    sample_start();
    async_query_fetch(a, o->rows, o->batch, &us);
    sample_end(&query, i);
    check_sums(name, "conn_query", &bs, &us, o->rows);
  }
  if (o->batch > 0)
    snprintf(opt, sizeof(opt), "batch %zu", o->batch);
  else
    snprintf(opt, sizeof(opt), "default options");
  work[0] = '\0';
  if (core_work_us > 0)
    snprintf(work, sizeof(work), ", work %.0f us", core_work_us);
  memset(&row, 0, sizeof(row));
  row.driver = name;
  row.n = o->runs;
  row.scale = 1e3;
  row.unit = "ms/fetch";
  row.ops = (double)o->rows;
  row.rate = "row/s";
  cpu.scale = 1e6 / (double)o->rows; /* ms per 1000 rows */
  cpu.unit = "ms/1k rows";
  snprintf(label, sizeof(label), "%s, cursor, %s%s", what, opt, work);
  print_pair(&row, &cpu, label, &base, &uvo);
  snprintf(label, sizeof(label), "%s, read_start, %s%s", what, opt, work);
  print_pair(&row, &cpu, label, &base, &read);
  snprintf(label, sizeof(label), "%s, conn_query (whole result)%s%s%s", what,
           o->batch > 0 ? ", " : "", o->batch > 0 ? opt : "", work);
  print_pair(&row, &cpu, label, &base, &query);
  printf("# %s %s: baseline blocks of %zu rows, uvodbc cursor batches of "
         "%lld rows (the first)\n",
         name, what, bb, uvo_batch);
  print_sums(name, what, "every side", &bs);
  series_free(&base);
  series_free(&uvo);
  series_free(&read);
  series_free(&query);
}

static void bench_driver(const options_t* o, bench_driver_t d,
                         uv_loop_t* loop) {
  const char* connstr = bench_connstr(d);
  char what[64], what_declare[96];
  baseline_t b;
  async_t a;

  baseline_connect(&b, connstr);
  async_connect(&a, loop, connstr);
  core_create_table(&b, d, o->rows);
  measure_select1(o, d, &b, &a);
  snprintf(what, sizeof(what), "fetch %zu x 4", o->rows);
  measure_fetch(o, d, what, &b, &a);
  if (d == BENCH_PG && o->declare_fetch) {
    char* declare;
    char extra[64];
    baseline_t b2;
    async_t a2;
    snprintf(extra, sizeof(extra), "UseDeclareFetch=1;Fetch=%zu",
             base_batch(o));
    declare = bench_connstr_with(connstr, extra);
    baseline_connect(&b2, declare);
    async_connect(&a2, loop, declare);
    snprintf(what_declare, sizeof(what_declare), "fetch %zu x 4, %s",
             o->rows, extra);
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
  if (o.csv != NULL) bench_csv_open(o.csv);
  /* A well-tuned blocking program keeps its heap: with glibc's defaults,
   * the main thread gives a large result's memory back after each query
   * and faults it in again at the next (SQLite's baseline fetch took 1.5x
   * as long), while worker threads' arenas behave differently. */
  if (!o.glibc_malloc && (!mallopt(M_TRIM_THRESHOLD, 256 << 20) ||
                          !mallopt(M_MMAP_THRESHOLD, 32 << 20)))
    bench_die("mallopt failed");
  if (uv_loop_init(&loop) != 0) bench_die("uv_loop_init failed");
  if (uvodbc_init() != 0) bench_die("uvodbc_init failed");

  printf("# uvodbc %s, libuv %s; runs=%zu (median (min-max) of each), "
         "UV_THREADPOOL_SIZE=%s, uvodbc worker limit %u\n",
         uvodbc_version_string(), uv_version_string(), o.runs,
         pool != NULL ? pool : "(default 4)", uvodbc_get_worker_limit());
  printf("# ratio = uvodbc median / baseline median, r(min) = uvodbc min / "
         "baseline min (time; below 1 is faster);\n"
         "#   'vs bare hop': the bare hop in the baseline columns\n");
  printf("# malloc: %s\n",
         o.glibc_malloc ? "glibc defaults"
                        : "M_TRIM_THRESHOLD 256 MiB, M_MMAP_THRESHOLD 32 MiB");
  printf("# cpu: the process's CPU time (user + system, every thread), "
         "median per query or per 1000 rows\n");
  if (o.batch > 0)
    printf("# fetch: batches of %zu rows on every side\n", o.batch);
  else
    printf("# fetch: baseline blocks of %d rows; uvodbc with its default "
           "exec options\n",
           CORE_BASE_BATCH);
  if (core_work_us > 0)
    printf("# fetch: %.0f us of CPU per %d rows read, on every side\n",
           core_work_us, CORE_WORK_ROWS);
  bench_print_machine();
  bench_print_wide_header();
  for (d = 0; d < BENCH_NDRIVERS; d++)
    if (o.drivers[d]) bench_driver(&o, (bench_driver_t)d, &loop);

  bench_csv_close();
  if (uvodbc_shutdown() != 0) bench_die("uvodbc_shutdown: still busy");
  if (uv_loop_close(&loop) != 0) bench_die("uv_loop_close: handles left");
  return 0;
}
