/* Helpers shared by the uvodbc benchmarks (see bench.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

void bench_print_header(void) {
  printf("%-8s %-36s %-9s %21s %21s %6s %6s %17s %17s\n", "driver",
         "measurement", "unit", "baseline med (min)", "uvodbc med (min)",
         "ratio", "r(min)", "baseline rate", "uvodbc rate");
}

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
}
