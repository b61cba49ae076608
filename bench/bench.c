/* Helpers shared by the uvodbc benchmarks (see bench.h). */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT, getloadavg */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include <uv.h>

#include "bench.h"

double bench_now(void) {
  return (double)uv_hrtime() / 1e9;
}

void bench_die(const char* fmt, ...) {
  va_list ap;
  fflush(stdout);
  fputs("bench: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(1);
}

static int cmp_double(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

double bench_median(const double* v, size_t n) {
  double* s;
  double m;
  if (n == 0) return 0;
  s = malloc(n * sizeof(*s));
  if (s == NULL) bench_die("out of memory");
  memcpy(s, v, n * sizeof(*s));
  qsort(s, n, sizeof(*s), cmp_double);
  m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  free(s);
  return m;
}

double bench_min(const double* v, size_t n) {
  size_t i;
  double m = n > 0 ? v[0] : 0;
  for (i = 1; i < n; i++)
    if (v[i] < m) m = v[i];
  return m;
}

double bench_max(const double* v, size_t n) {
  size_t i;
  double m = n > 0 ? v[0] : 0;
  for (i = 1; i < n; i++)
    if (v[i] > m) m = v[i];
  return m;
}

double bench_cpu_now(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) bench_die("getrusage failed");
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

size_t bench_parse_count(const char* option, const char* value) {
  char* end;
  unsigned long long n;
  if (value == NULL) bench_die("%s needs a value", option);
  errno = 0;
  n = strtoull(value, &end, 10);
  if (errno != 0 || *end != '\0' || n == 0 || value[0] == '-')
    bench_die("%s: expected a positive integer, got '%s'", option, value);
  return (size_t)n;
}

static const char* const driver_names[BENCH_NDRIVERS] = {"sqlite", "pg",
                                                          "mariadb"};
static const char* const driver_envs[BENCH_NDRIVERS] = {
    "UVODBC_TEST_SQLITE", "UVODBC_TEST_PG", "UVODBC_TEST_MARIADB"};

const char* bench_driver_name(bench_driver_t d) {
  return driver_names[d];
}

void bench_parse_drivers(const char* list, int want[BENCH_NDRIVERS]) {
  const char* p = list;
  int any = 0;
  memset(want, 0, BENCH_NDRIVERS * sizeof(*want));
  while (p != NULL && *p != '\0') {
    size_t len = strcspn(p, ",");
    int d, found = 0;
    for (d = 0; d < BENCH_NDRIVERS; d++) {
      if (strlen(driver_names[d]) == len &&
          strncasecmp(p, driver_names[d], len) == 0) {
        want[d] = found = any = 1;
      }
    }
    if (!found && len > 0)
      bench_die("unknown driver '%.*s' (known: sqlite, pg, mariadb)",
                (int)len, p);
    p += len;
    if (*p == ',') p++;
  }
  if (!any) bench_die("--drivers: empty driver list");
}

const char* bench_connstr(bench_driver_t d) {
  const char* s = getenv(driver_envs[d]);
  if (s == NULL || *s == '\0')
    bench_die("%s is not set: start the servers with tests/servers.sh start "
              "<dir> and source <dir>/env.sh, or drop '%s' from --drivers",
              driver_envs[d], driver_names[d]);
  return s;
}

/* The length of the connection-string attribute at `p` (up to its ';' or
 * the end; braced values may hold ';'). */
static size_t attr_len(const char* p) {
  size_t n = 0;
  int depth = 0;
  for (; p[n] != '\0' && (p[n] != ';' || depth > 0); n++) {
    if (p[n] == '{') depth++;
    if (p[n] == '}' && depth > 0) depth--;
  }
  return n;
}

/* 1 if the attribute `a` (length `alen`) has a key that `extra` sets. */
static int key_in(const char* a, size_t alen, const char* extra) {
  size_t klen = strcspn(a, "=");
  const char* e = extra;
  if (klen >= alen) return 0;
  while (*e != '\0') {
    size_t elen = attr_len(e);
    if (strcspn(e, "=") == klen && strncasecmp(e, a, klen) == 0) return 1;
    e += elen;
    if (*e == ';') e++;
  }
  return 0;
}

char* bench_connstr_with(const char* connstr, const char* extra) {
  char* out = malloc(strlen(connstr) + strlen(extra) + 2);
  const char* p = connstr;
  char* o = out;
  if (out == NULL) bench_die("out of memory");
  while (*p != '\0') {
    size_t n = attr_len(p);
    if (n > 0 && !key_in(p, n, extra)) {
      memcpy(o, p, n);
      o += n;
      *o++ = ';';
    }
    p += n;
    if (*p == ';') p++;
  }
  strcpy(o, extra);
  return out;
}

/* ---- the table ---- */

/* "12.3k", "1.23M": a rate in 6 characters or so. */
static void fmt_rate(char* buf, size_t size, double r) {
  if (r >= 1e6)
    snprintf(buf, size, "%.2fM", r / 1e6);
  else if (r >= 1e3)
    snprintf(buf, size, "%.1fk", r / 1e3);
  else
    snprintf(buf, size, "%.0f", r);
}

void bench_print_machine(void) {
  double load[3] = {0, 0, 0};
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  int allowed = (int)online;
#ifdef __linux__ /* affinity: taskset's */
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) allowed = CPU_COUNT(&set);
#endif
  if (getloadavg(load, 3) < 0) load[0] = load[1] = load[2] = -1;
  printf("# cpus: may run on %d of %ld online%s; load average %.2f %.2f "
         "%.2f\n",
         allowed, online, allowed < online ? " (affinity set)" : "", load[0],
         load[1], load[2]);
}

void bench_print_header(void) {
  printf("%-8s %-36s %-9s %21s %21s %6s %6s %17s %17s\n", "driver",
         "measurement", "unit", "baseline med (min)", "uvodbc med (min)",
         "ratio", "r(min)", "baseline rate", "uvodbc rate");
}

static FILE* csv_file; /* bench_csv_open() */
static void csv_row(const bench_row_t* r, const bench_cpu_t* cpu);

void bench_print_row(const bench_row_t* r) {
  double bmed = bench_median(r->base, r->n), bmin = bench_min(r->base, r->n);
  double umed = bench_median(r->uvo, r->n), umin = bench_min(r->uvo, r->n);
  char bcell[32], ucell[32], brate[32], urate[32];

  snprintf(bcell, sizeof(bcell), "%.1f (%.1f)", bmed * r->scale,
           bmin * r->scale);
  snprintf(ucell, sizeof(ucell), "%.1f (%.1f)", umed * r->scale,
           umin * r->scale);
  fmt_rate(brate, sizeof(brate), r->ops / bmed);
  fmt_rate(urate, sizeof(urate), r->ops / umed);
  printf("%-8s %-36s %-9s %21s %21s %6.2f %6.2f %9s %-7s %9s %s\n",
         r->driver, r->what, r->unit, bcell, ucell, umed / bmed, umin / bmin,
         brate, r->rate, urate, r->rate);
  fflush(stdout);
  if (csv_file != NULL) csv_row(r, NULL);
}

/* ---- the wide table (uvodbc-bench-core) ---- */

/* Decimals for about three significant digits at `v`'s size, so that
 * 0.31 ms and 61.2 ms both stay readable. */
static int digits_for(double v) {
  return v >= 100 ? 0 : v >= 10 ? 1 : v >= 1 ? 2 : 3;
}

/* "med (min-max)", all three with the median's decimals. */
static void fmt_range(char* buf, size_t size, const double* v, size_t n,
                      double scale) {
  double med = bench_median(v, n) * scale;
  int d = digits_for(med);
  snprintf(buf, size, "%.*f (%.*f-%.*f)", d, med, d, bench_min(v, n) * scale,
           d, bench_max(v, n) * scale);
}

static void fmt_cpu(char* buf, size_t size, const double* v, size_t n,
                    double scale) {
  double med;
  if (v == NULL) {
    snprintf(buf, size, "-");
    return;
  }
  med = bench_median(v, n) * scale;
  snprintf(buf, size, "%.*f", digits_for(med), med);
}

void bench_print_wide_header(void) {
  printf("%-8s %-9s %24s %24s %6s %6s  %-10s %9s %9s  %s\n", "driver", "unit",
         "baseline med (min-max)", "uvodbc med (min-max)", "ratio", "r(min)",
         "cpu unit", "cpu base", "cpu uvo", "measurement");
}

/* A CSV text field, quoted when it needs to be (RFC 4180). */
static void csv_text(const char* t) {
  if (strpbrk(t, ",\"\n") == NULL) {
    fputs(t, csv_file);
    return;
  }
  fputc('"', csv_file);
  for (; *t != '\0'; t++) {
    if (*t == '"') fputc('"', csv_file);
    fputc(*t, csv_file);
  }
  fputc('"', csv_file);
}

static void csv_cpu(const double* v, size_t n, double scale) {
  fputc(',', csv_file);
  if (v != NULL) fprintf(csv_file, "%.6g", bench_median(v, n) * scale);
}

static void csv_row(const bench_row_t* r, const bench_cpu_t* cpu) {
  double bmed = bench_median(r->base, r->n), umed = bench_median(r->uvo, r->n);
  csv_text(r->driver);
  fputc(',', csv_file);
  csv_text(r->what);
  fputc(',', csv_file);
  csv_text(r->unit);
  fprintf(csv_file, ",%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g", bmed * r->scale,
          bench_min(r->base, r->n) * r->scale,
          bench_max(r->base, r->n) * r->scale, umed * r->scale,
          bench_min(r->uvo, r->n) * r->scale,
          bench_max(r->uvo, r->n) * r->scale, umed / bmed);
  csv_cpu(cpu != NULL ? cpu->base : NULL, r->n, cpu != NULL ? cpu->scale : 1);
  csv_cpu(cpu != NULL ? cpu->uvo : NULL, r->n, cpu != NULL ? cpu->scale : 1);
  fputc('\n', csv_file);
  fflush(csv_file); /* a run that dies later keeps its rows */
}

void bench_print_wide_row(const bench_row_t* r, const bench_cpu_t* cpu) {
  double bmed = bench_median(r->base, r->n), bmin = bench_min(r->base, r->n);
  double umed = bench_median(r->uvo, r->n), umin = bench_min(r->uvo, r->n);
  char bcell[48], ucell[48], bcpu[24], ucpu[24];

  fmt_range(bcell, sizeof(bcell), r->base, r->n, r->scale);
  fmt_range(ucell, sizeof(ucell), r->uvo, r->n, r->scale);
  fmt_cpu(bcpu, sizeof(bcpu), cpu != NULL ? cpu->base : NULL, r->n,
          cpu != NULL ? cpu->scale : 1);
  fmt_cpu(ucpu, sizeof(ucpu), cpu != NULL ? cpu->uvo : NULL, r->n,
          cpu != NULL ? cpu->scale : 1);
  printf("%-8s %-9s %24s %24s %6.2f %6.2f  %-10s %9s %9s  %s\n", r->driver,
         r->unit, bcell, ucell, umed / bmed, umin / bmin,
         cpu != NULL ? cpu->unit : "-", bcpu, ucpu, r->what);
  fflush(stdout);
  if (csv_file != NULL) csv_row(r, cpu);
}

void bench_csv_open(const char* path) {
  csv_file = fopen(path, "a");
  if (csv_file == NULL)
    bench_die("--csv %s: %s", path, strerror(errno));
  fseek(csv_file, 0, SEEK_END); /* where "a" starts is up to the libc */
  if (ftell(csv_file) == 0)     /* new or empty: name the columns */
    fputs("driver,measurement,unit,base_med,base_min,base_max,uvo_med,"
          "uvo_min,uvo_max,ratio,base_cpu,uvo_cpu\n",
          csv_file);
}

void bench_csv_close(void) {
  if (csv_file != NULL && fclose(csv_file) != 0)
    bench_die("--csv: write failed");
  csv_file = NULL;
}
