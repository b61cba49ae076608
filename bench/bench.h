/* Helpers shared by the uvodbc benchmarks: timing, medians, the connection
 * strings of the test servers, fatal errors and the result table.
 *
 * Every benchmark compares a plain blocking ODBC baseline with uvodbc doing
 * the same work, alternating the two within each run (ABAB) so they share
 * the machine's noise, and reports medians, minimums (and, in the wide
 * table, maximums) and the time ratio uvodbc / baseline (below 1 means
 * uvodbc is faster). */
#ifndef UVODBC_BENCH_H
#define UVODBC_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic clock in seconds (uv_hrtime). */
double bench_now(void);

/* Prints "<progname>: <message>" to stderr and exits with status 1. */
void bench_die(const char* fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

/* Median (mean of the middle two for an even count), minimum and maximum
 * of `n` samples; `v` is not modified. */
double bench_median(const double* v, size_t n);
double bench_min(const double* v, size_t n);
double bench_max(const double* v, size_t n);

/* CPU time of the process in seconds: getrusage(RUSAGE_SELF), user +
 * system, every thread (so uvodbc's workers too). */
double bench_cpu_now(void);

/* Prints "# cpus: ..." with the CPUs this process may run on (of those
 * online) and the load average: a run confined by `taskset -c 1` shares
 * one core between the loop thread and the workers, which takes the cost
 * of handing rows across cores out of the figures (docs/performance.md). */
void bench_print_machine(void);

/* Parses a positive integer option value or dies. */
size_t bench_parse_count(const char* option, const char* value);

/* The drivers a benchmark knows, by short name. */
typedef enum {
  BENCH_SQLITE = 0,
  BENCH_PG,
  BENCH_MARIADB,
  BENCH_NDRIVERS
} bench_driver_t;

const char* bench_driver_name(bench_driver_t d); /* "sqlite", "pg", ... */
/* Parses "sqlite,pg,mariadb" into `want` (one flag per driver); dies on an
 * unknown name or an empty list. */
void bench_parse_drivers(const char* list, int want[BENCH_NDRIVERS]);
/* The connection string from UVODBC_TEST_SQLITE / _PG / _MARIADB (written
 * by tests/servers.sh); dies when it is not set. */
const char* bench_connstr(bench_driver_t d);

/* A copy of `connstr` (free it) without the keys that `extra` sets, then
 * `extra` ("Key=value;Key2=value2", braced values allowed) appended: so the
 * keys of `extra` win whatever the string had. */
char* bench_connstr_with(const char* connstr, const char* extra);

/* The result table.  A row compares `n` timed samples (seconds) of each
 * side.  Times are shown multiplied by `scale` under the label `unit`
 * (1e6 / K with "us/query" for K queries per sample; 1e3 with "ms/fetch"),
 * rates as `ops` per sample-second with the label `rate` ("query/s").
 * Two ratios: of the medians, and of the minimums (the least disturbed
 * runs, steadier on a busy machine). */
typedef struct bench_row_s {
  const char* driver;
  const char* what;
  const double* base;
  const double* uvo;
  size_t n;
  double scale;
  const char* unit;
  double ops;
  const char* rate;
} bench_row_t;

void bench_print_header(void);
void bench_print_row(const bench_row_t* row);

/* The wider table of uvodbc-bench-core: each side's median (min-max), the
 * two ratios, the median CPU time of each side when measured, and the
 * measurement last (its labels vary in length).  A separate struct, not
 * fields of bench_row_t: some benchmarks fill a bench_row_t field by field
 * and leave the rest unset. */
typedef struct bench_cpu_s {
  const double* base; /* process CPU seconds per sample; NULL: not measured */
  const double* uvo;
  double scale;     /* shown multiplied by this...                        */
  const char* unit; /* ...under this label ("us/query", "ms/1k rows")     */
} bench_cpu_t;

void bench_print_wide_header(void);
void bench_print_wide_row(const bench_row_t* row, const bench_cpu_t* cpu);

/* Appends to `path` one CSV line per bench_print_wide_row() from now on
 * (and a header line when the file is empty): driver, measurement, unit,
 * base_med, base_min, base_max, uvo_med, uvo_min, uvo_max, ratio,
 * base_cpu, uvo_cpu (scaled as printed; the CPU fields empty when not
 * measured).  Dies when the file cannot be opened. */
void bench_csv_open(const char* path);
void bench_csv_close(void);

#endif /* UVODBC_BENCH_H */
