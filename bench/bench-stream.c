/* uvodbc-bench-stream: a large result read batch by batch, at bounded
 * memory, by uvodbc and by plain blocking ODBC, side by side.
 *
 *   uvodbc-bench-stream [--rows N] [--runs N] [--batch N]
 *                       [--drivers sqlite,pg,mariadb]
 *                       [--connstr-extra DRIVER=KEYS]...
 *
 * Per driver: a rows x 4 table (CORE_TABLE, made server-side), read whole
 * by each side in a forked child, so that the child's peak RSS (wait4's
 * ru_maxrss) is that side's own.  Runs alternate baseline and uvodbc
 * (ABAB); the table shows rows/s, peak RSS and time to the first batch,
 * median and range.  See bench/README.md. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "core.h"

/* The streaming keys of uvodbc's cursors, given to both sides, in place
 * of the same keys of the test strings (which set UseDeclareFetch=0: a
 * user's choice that uvodbc keeps).  psqlODBC: uvodbc adds Fetch=1024 and
 * turns UseDeclareFetch on for cursors' statements (lib/odbc-conn.c);
 * psqlODBC fetches max(Fetch, row array size) rows per round trip.
 * SQLite: uvodbc leaves StepAPI off (docs/drivers.md, "Streaming"), so its
 * results are materialized.  MariaDB 3.1.15 cannot stream. */
static const char* const default_extra[BENCH_NDRIVERS] = {
    "",                             /* sqlite */
    "UseDeclareFetch=1;Fetch=1024", /* pg */
    "",                             /* mariadb */
};

/* What uvodbc's connect adds besides (lib/odbc-conn.c, odbc-sqlite.c), for
 * the baseline to send the same string: the test strings have none of
 * these keys but SQLite's Timeout, which uvodbc replaces too. */
static const char* const connect_adds[BENCH_NDRIVERS] = {
    "Timeout=1",
    "ConnSettings={set client_encoding to UTF8;}",
    "CONN_TIMEOUT=15", /* UVODBC_LOGIN_TIMEOUT_DEFAULT_S */
};

typedef struct options_s {
  size_t runs;
  size_t rows;
  size_t batch; /* 0: uvodbc's default, learned from a first run */
  int baseline_thread; /* the baseline's process also has an idle thread */
  int drivers[BENCH_NDRIVERS];
  const char* extra[BENCH_NDRIVERS]; /* NULL: default_extra */
} options_t;

static void usage(FILE* out) {
  fprintf(out,
          "usage: uvodbc-bench-stream [--rows N] [--runs N] [--batch N]\n"
          "                           [--drivers sqlite,pg,mariadb]\n"
          "                           [--connstr-extra DRIVER=KEYS]...\n"
          "  --rows N      rows of the table (default 5000000)\n"
          "  --runs N      timed runs of each side (default 3)\n"
          "  --batch N     rows per batch on both sides (default 0: uvodbc's\n"
          "                own, learned from a first uvodbc run)\n"
          "  --drivers L   drivers to run (default all three); connection\n"
          "                strings from UVODBC_TEST_SQLITE/_PG/_MARIADB\n"
          "  --baseline-thread  an idle thread in the baseline's process too\n"
          "  --connstr-extra DRIVER=KEYS  keys added to that driver's string\n"
          "                on both sides instead of uvodbc's streaming\n"
          "                defaults (sqlite: none; pg: UseDeclareFetch=1;"
          "Fetch=1024;\n"
          "                mariadb: none), e.g. sqlite=StepAPI=1\n");
}

static void parse_extra(const char* val, options_t* o) {
  size_t len = val != NULL ? strcspn(val, "=") : 0;
  int d;
  if (val == NULL || val[len] != '=')
    bench_die("--connstr-extra: expected DRIVER=KEYS");
  for (d = 0; d < BENCH_NDRIVERS; d++) {
    const char* name = bench_driver_name((bench_driver_t)d);
    if (strlen(name) == len && strncmp(val, name, len) == 0) {
      o->extra[d] = val + len + 1;
      return;
    }
  }
  bench_die("--connstr-extra: unknown driver '%.*s'", (int)len, val);
}

static void parse_args(int argc, char** argv, options_t* o) {
  int i;
  memset(o, 0, sizeof(*o));
  o->runs = 3;
  o->rows = 5000000;
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
    } else if (strcmp(arg, "--drivers") == 0) {
      if (val == NULL) bench_die("--drivers needs a value");
      bench_parse_drivers(val, o->drivers);
      i++;
    } else if (strcmp(arg, "--baseline-thread") == 0) {
      o->baseline_thread = 1;
    } else if (strcmp(arg, "--connstr-extra") == 0) {
      parse_extra(val, o);
      i++;
    } else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
      usage(stdout);
      exit(0);
    } else {
      usage(stderr);
      bench_die("unknown argument '%s'", arg);
    }
  }
}

/* ---- the children ---- */

typedef enum {
  JOB_CREATE,   /* make the table */
  JOB_DROP,     /* drop it */
  JOB_CONNECT,  /* connect (baseline) and nothing else: the RSS floor */
  JOB_BASELINE, /* read it with plain blocking ODBC */
  JOB_UVODBC    /* read it with uvodbc */
} job_kind_t;

typedef struct job_s {
  job_kind_t kind;
  bench_driver_t driver;
  const char* connstr;
  size_t rows;
  size_t batch; /* uvodbc: 0 for its default */
  int idle_thread;
} job_t;

/* What a child reports through its pipe. */
typedef struct result_s {
  core_sums_t sums;
  double seconds; /* from the execute to the statement's end */
  double first_s; /* from the execute to the first batch */
  double cpu_s;   /* CPU time of the process (all threads) meanwhile */
} result_t;

/* One measured run: the child's result and its peak RSS. */
typedef struct sample_s {
  result_t r;
  double rss_mib;
} sample_t;

static double cpu_now(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* --baseline-thread's thread: it only has to exist.  glibc takes a
 * faster, non-atomic path in pthread_mutex_lock/unlock while a process has
 * a single thread, and SQLite's driver takes mutexes per value. */
static void* idle(void* arg) {
  for (;;) pause();
  return arg;
}

static void child_run(const job_t* job, result_t* res) {
  baseline_t b;
  pthread_t thread;
  double t, cpu;

  if (job->kind == JOB_UVODBC) {
    uv_loop_t loop;
    async_t a;
    if (uv_loop_init(&loop) != 0) bench_die("uv_loop_init failed");
    if (uvodbc_init() != 0) bench_die("uvodbc_init failed");
    async_connect(&a, &loop, job->connstr);
    t = bench_now();
    cpu = cpu_now();
    /* the exec's batch, then uvodbc_cursor_read_start() to UV_EOF */
    async_fetch(&a, job->batch, 1, &res->sums);
    res->seconds = bench_now() - t;
    res->cpu_s = cpu_now() - cpu;
    res->first_s = res->sums.first_batch_at - t;
    async_disconnect(&a);
    if (uvodbc_shutdown() != 0) bench_die("uvodbc_shutdown: still busy");
    if (uv_loop_close(&loop) != 0) bench_die("uv_loop_close: handles left");
    return;
  }
  if (job->idle_thread && pthread_create(&thread, NULL, idle, NULL) != 0)
    bench_die("pthread_create failed");
  baseline_connect(&b, job->connstr);
  switch (job->kind) {
    case JOB_CREATE:
      core_create_table(&b, job->driver, job->rows);
      break;
    case JOB_DROP:
      baseline_exec(&b, "DROP TABLE " CORE_TABLE);
      break;
    case JOB_BASELINE:
      t = bench_now();
      cpu = cpu_now();
      baseline_fetch(&b, job->batch, &res->sums);
      res->seconds = bench_now() - t;
      res->cpu_s = cpu_now() - cpu;
      res->first_s = res->sums.first_batch_at - t;
      break;
    default:
      break;
  }
  baseline_disconnect(&b);
}

/* Runs `job` in a forked child; its result and peak RSS in `s`.  The parent
 * itself never loads a driver nor starts a thread, so every child starts
 * small (a child's ru_maxrss counts the pages it shares with the parent at
 * fork). */
static void run_child(const job_t* job, sample_t* s) {
  int fds[2], status;
  struct rusage ru;
  size_t got = 0;
  pid_t pid;

  memset(s, 0, sizeof(*s));
  if (pipe(fds) != 0) bench_die("pipe: %s", strerror(errno));
  fflush(stdout);
  fflush(stderr);
  pid = fork();
  if (pid < 0) bench_die("fork: %s", strerror(errno));
  if (pid == 0) {
    result_t res;
    memset(&res, 0, sizeof(res));
    close(fds[0]);
    child_run(job, &res);
    if (write(fds[1], &res, sizeof(res)) != (ssize_t)sizeof(res)) _exit(2);
    _exit(0);
  }
  close(fds[1]);
  while (got < sizeof(s->r)) {
    ssize_t n = read(fds[0], (char*)&s->r + got, sizeof(s->r) - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fds[0]);
  while (wait4(pid, &status, 0, &ru) < 0)
    if (errno != EINTR) bench_die("wait4: %s", strerror(errno));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got != sizeof(s->r))
    bench_die("%s: a child (job %d) failed", bench_driver_name(job->driver),
              (int)job->kind);
  s->rss_mib = (double)ru.ru_maxrss / 1024; /* KiB on Linux */
}

/* ---- the table of results ---- */

typedef double (*field_fn)(const sample_t* s);

static double rows_per_s(const sample_t* s) {
  return (double)s->r.sums.rows / s->r.seconds;
}
static double rss_mib(const sample_t* s) {
  return s->rss_mib;
}
static double first_ms(const sample_t* s) {
  return s->r.first_s * 1e3;
}
static double cpu_s(const sample_t* s) {
  return s->r.cpu_s;
}

/* Median, min and max of one field over `n` samples. */
static void stats(const sample_t* s, size_t n, field_fn f, double out[3]) {
  double* v = calloc(n, sizeof(*v));
  size_t i;
  if (v == NULL) bench_die("out of memory");
  for (i = 0; i < n; i++) v[i] = f(&s[i]);
  out[0] = bench_median(v, n);
  out[1] = bench_min(v, n);
  out[2] = v[0];
  for (i = 1; i < n; i++)
    if (v[i] > out[2]) out[2] = v[i];
  free(v);
}

static void print_header(void) {
  printf("%-8s %-9s %6s %24s %24s %26s %22s %6s\n", "driver", "side",
         "batch", "rows/s med (min-max)", "peak RSS MiB med (range)",
         "first batch ms med (range)", "read CPU s med (range)", "ratio");
}

/* One side's row; returns its median rows/s. */
static double print_side(const char* driver, const char* side, size_t batch,
                         const sample_t* s, size_t n, double base_rate) {
  double rate[3], rss[3], first[3], cpu[3];
  char c1[48], c2[48], c3[48], c4[48], ratio[16] = "";
  stats(s, n, rows_per_s, rate);
  stats(s, n, rss_mib, rss);
  stats(s, n, first_ms, first);
  stats(s, n, cpu_s, cpu);
  snprintf(c1, sizeof(c1), "%.0fk (%.0fk-%.0fk)", rate[0] / 1e3,
           rate[1] / 1e3, rate[2] / 1e3);
  snprintf(c2, sizeof(c2), "%.1f (%.1f-%.1f)", rss[0], rss[1], rss[2]);
  snprintf(c3, sizeof(c3), "%.1f (%.1f-%.1f)", first[0], first[1], first[2]);
  snprintf(c4, sizeof(c4), "%.2f (%.2f-%.2f)", cpu[0], cpu[1], cpu[2]);
  if (base_rate > 0)
    snprintf(ratio, sizeof(ratio), "%.2f", rate[0] / base_rate);
  printf("%-8s %-9s %6zu %24s %24s %26s %22s %6s\n", driver, side, batch, c1,
         c2, c3, c4, ratio);
  fflush(stdout);
  return rate[0];
}

/* ---- one driver ---- */

static void print_sums(const char* driver, const char* side,
                       const core_sums_t* s) {
  printf("# %s %s read rows=%lld nulls=%lld sum(id)=%lld sum(x)=%.2f "
         "sum(len(s))=%lld sum(ts s)=%lld sum(ts ns)=%lld\n",
         driver, side, (long long)s->rows, (long long)s->nulls,
         (long long)s->ints, s->doubles, (long long)s->text_bytes,
         (long long)s->seconds, (long long)s->nanos);
}

/* Dies unless `s` read every row and the same values as `ref`. */
static void check_sums(const char* driver, const core_sums_t* ref,
                       const core_sums_t* s, size_t rows) {
  if (s->rows != (int64_t)rows)
    bench_die("%s: read %lld rows, the table has %zu", driver,
              (long long)s->rows, rows);
  if (!core_sums_equal(ref, s)) {
    print_sums(driver, "baseline", ref);
    print_sums(driver, "uvodbc", s);
    bench_die("%s: uvodbc and the baseline read different values", driver);
  }
}

/* The streaming keys for `batch` rows: --connstr-extra or the default. */
static const char* extra_keys(const options_t* o, bench_driver_t d) {
  return o->extra[d] != NULL ? o->extra[d] : default_extra[d];
}

/* The strings both sides connect with: the user's with the streaming keys,
 * plus (baseline) what uvodbc's connect adds to it. */
static void make_connstrs(const options_t* o, bench_driver_t d, char** uvo,
                          char** base) {
  const char* connstr = bench_connstr(d);
  const char* extra = extra_keys(o, d);
  char both[512];
  snprintf(both, sizeof(both), "%s%s%s", extra, extra[0] != '\0' ? ";" : "",
           connect_adds[d]);
  *uvo = bench_connstr_with(connstr, extra);
  *base = bench_connstr_with(connstr, both);
}

static void bench_driver(const options_t* o, bench_driver_t d) {
  const char* name = bench_driver_name(d);
  sample_t* base = calloc(o->runs, sizeof(*base));
  sample_t* uvo = calloc(o->runs, sizeof(*uvo));
  sample_t floor_s, warm;
  const char* extra = extra_keys(o, d);
  char *uvo_str, *base_str;
  size_t batch = o->batch, i;
  double base_rate, uvo_rate, uvo_rss[3];
  job_t job;

  if (base == NULL || uvo == NULL) bench_die("out of memory");
  memset(&job, 0, sizeof(job));
  job.driver = d;
  job.rows = o->rows;
  job.connstr = bench_connstr(d);
  job.kind = JOB_CREATE;
  run_child(&job, &warm);
  job.kind = JOB_CONNECT;
  run_child(&job, &floor_s);

  /* Warm-up, untimed: uvodbc once, which also tells its batch. */
  make_connstrs(o, d, &uvo_str, &base_str);
  job.kind = JOB_UVODBC;
  job.connstr = uvo_str;
  job.batch = o->batch;
  run_child(&job, &warm);
  if (warm.r.sums.rows != (int64_t)o->rows)
    bench_die("%s: read %lld rows, the table has %zu", name,
              (long long)warm.r.sums.rows, o->rows);
  if (batch == 0) batch = (size_t)warm.r.sums.first_batch_rows;
  printf("# %s: streaming keys on both sides: %s; the baseline also: %s; "
         "a child that only connects peaks at %.1f MiB\n",
         name, extra[0] != '\0' ? extra : "(none)", connect_adds[d],
         floor_s.rss_mib);
  if (d == BENCH_MARIADB && o->extra[d] == NULL)
    printf("# %s: Connector/ODBC 3.1.15 cannot stream: it reads the whole "
           "result on execute, so peak RSS grows with the result on both "
           "sides\n",
           name);
  if (d == BENCH_SQLITE && o->extra[d] == NULL)
    printf("# %s: uvodbc leaves the driver's StepAPI off (docs/drivers.md): "
           "the result is materialized on execute on both sides; "
           "--connstr-extra sqlite=StepAPI=1 streams\n",
           name);

  for (i = 0; i < o->runs; i++) {
    job.kind = JOB_BASELINE;
    job.connstr = base_str;
    job.batch = batch;
    job.idle_thread = o->baseline_thread;
    run_child(&job, &base[i]);
    job.idle_thread = 0;
    job.kind = JOB_UVODBC;
    job.connstr = uvo_str;
    job.batch = o->batch;
    run_child(&job, &uvo[i]);
    check_sums(name, &base[0].r.sums, &base[i].r.sums, o->rows);
    check_sums(name, &base[0].r.sums, &uvo[i].r.sums, o->rows);
    if (uvo[i].r.sums.first_batch_rows != (int64_t)batch)
      bench_die("%s: uvodbc's first batch had %lld rows, not %zu", name,
                (long long)uvo[i].r.sums.first_batch_rows, batch);
  }
  base_rate = print_side(name, "baseline", batch, base, o->runs, 0);
  uvo_rate = print_side(name, "uvodbc", batch, uvo, o->runs, base_rate);
  stats(uvo, o->runs, rss_mib, uvo_rss);
  if (d != BENCH_PG && o->extra[d] == NULL)
    printf("# %s: uvodbc peak RSS %.1f MiB (not streamed), rows/s %.2fx the "
           "baseline\n",
           name, uvo_rss[0], uvo_rate / base_rate);
  else
    printf("# %s: uvodbc peak RSS %.1f MiB (target < 64: %s), rows/s %.2fx "
           "the baseline (target >= 0.95: %s)\n",
           name, uvo_rss[0], uvo_rss[0] < 64 ? "met" : "NOT met",
           uvo_rate / base_rate,
           uvo_rate >= 0.95 * base_rate ? "met" : "NOT met");
  print_sums(name, "both sides", &base[0].r.sums);

  job.kind = JOB_DROP;
  job.connstr = bench_connstr(d);
  run_child(&job, &warm);
  free(uvo_str);
  free(base_str);
  free(base);
  free(uvo);
}

int main(int argc, char** argv) {
  options_t o;
  const char* pool = getenv("UV_THREADPOOL_SIZE");
  int d;

  parse_args(argc, argv, &o);
  for (d = 0; d < BENCH_NDRIVERS; d++) /* fail before any work */
    if (o.drivers[d]) bench_connstr((bench_driver_t)d);
  printf("# uvodbc %s, libuv %s; %zu rows x 4, runs=%zu (ABAB, each in its "
         "own child), UV_THREADPOOL_SIZE=%s\n",
         uvodbc_version_string(), uv_version_string(), o.rows, o.runs,
         pool != NULL ? pool : "(default 4)");
  printf("# rows/s from the execute to the statement's end; peak RSS = the "
         "child's ru_maxrss; read CPU = the child's CPU time (all threads) "
         "meanwhile; ratio = uvodbc / baseline median rows/s\n");
  if (o.baseline_thread)
    printf("# --baseline-thread: the baseline's process has an idle second "
           "thread\n");
  print_header();
  for (d = 0; d < BENCH_NDRIVERS; d++)
    if (o.drivers[d]) bench_driver(&o, (bench_driver_t)d);
  return 0;
}
