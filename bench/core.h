/* uvodbc-bench-core: the two workloads, done once with plain blocking ODBC
 * (baseline.c) and once with uvodbc (async.c).
 *
 *   SELECT 1:  K sequential round trips on one connection.
 *   fetch:     every row of a rows x 4 table (integer, double, varchar(32),
 *              timestamp), read in blocks of rows bound column-wise
 *              (1024 by default), every value touched.  Both sides must produce
 *              the same sums. */
#ifndef UVODBC_BENCH_CORE_H
#define UVODBC_BENCH_CORE_H

#include <stdint.h>

#include <uvodbc.h>

#include "bench.h"

#include <sql.h>
#include <sqlext.h>

#define CORE_TABLE "bench_core_rows"
#define CORE_FETCH_SQL "SELECT id, x, s, ts FROM " CORE_TABLE
#define CORE_SELECT1_SQL "SELECT 1"
#define TEXT_WIDTH (32 * 4 + 1) /* varchar(32): 4 UTF-8 bytes a char, NUL */

/* What reading every value yields; both sides must agree exactly. */
typedef struct core_sums_s {
  int64_t rows;
  int64_t nulls;
  int64_t ints;       /* sum of id                                   */
  double doubles;     /* sum of x (multiples of 0.25: exact)         */
  int64_t text_bytes; /* sum of the lengths of s                     */
  int64_t seconds;    /* sum of ts as seconds into its month         */
  int64_t nanos;      /* sum of the fractions of ts                  */
  /* Not compared: when the first batch came (bench_now()), its rows. */
  double first_batch_at;
  int64_t first_batch_rows;
} core_sums_t;

int core_sums_equal(const core_sums_t* a, const core_sums_t* b);
/* Seconds into the month of a timestamp, for core_sums_t.seconds. */
static inline int64_t core_ts_seconds(unsigned day, unsigned hour,
                                      unsigned minute, unsigned second) {
  return (((int64_t)day * 24 + hour) * 60 + minute) * 60 + second;
}

/* ---- baseline.c: plain blocking ODBC on the calling thread ---- */
typedef struct baseline_s {
  SQLHENV env;
  SQLHDBC dbc;
  SQLHSTMT select1; /* reused by every SELECT 1, its column bound once */
  SQLBIGINT select1_value;
  SQLLEN select1_ind;
} baseline_t;

void baseline_connect(baseline_t* b, const char* connstr);
void baseline_disconnect(baseline_t* b);
/* Creates CORE_TABLE on driver `d` with `rows` rows, server-side (SQLite:
 * a recursive CTE, PostgreSQL: generate_series, MariaDB: seq_1_to_N). */
void core_create_table(baseline_t* b, bench_driver_t d, size_t rows);
/* Runs one statement that must succeed (setup). */
void baseline_exec(baseline_t* b, const char* sql);
/* Like baseline_exec(), but returns 0 / -1 instead of dying. */
int baseline_try_exec(baseline_t* b, const char* sql);
/* K x (SQLExecDirect, SQLFetch into a bound column, SQLCloseCursor). */
void baseline_select1(baseline_t* b, size_t k);
/* Reads CORE_FETCH_SQL with a column-wise block cursor of `batch_rows`
 * rows (SQL_ATTR_ROW_ARRAY_SIZE). */
void baseline_fetch(baseline_t* b, size_t batch_rows, core_sums_t* sums);

/* ---- async.c: uvodbc, every step started from the previous callback ---- */
typedef struct async_s {
  uv_loop_t* loop;
  uvodbc_conn_t* conn;
} async_t;

void async_connect(async_t* a, uv_loop_t* loop, const char* connstr);
void async_disconnect(async_t* a);
/* K x uvodbc_conn_query("SELECT 1"): one thread hop each. */
void async_select1_query(async_t* a, size_t k);
/* K x (uvodbc_conn_exec + uvodbc_cursor_close): two hops each. */
void async_select1_exec(async_t* a, size_t k);
/* K x uvodbc_conn_query("SELECT 1"), CORE_PIPELINE_DEPTH of them queued at
 * any time (a server with many requests on one connection): the queued
 * ones run as chains, many per hop. */
#define CORE_PIPELINE_DEPTH 64
void async_select1_pipelined(async_t* a, size_t k);
/* uvodbc_conn_exec(CORE_FETCH_SQL), uvodbc_cursor_fetch until UV_EOF, every
 * value read with the uvodbc_batch_get_* accessors; then the cursor's
 * close.  Batches of `batch_rows` rows (uvodbc_exec_options_t.batch_rows;
 * uvodbc caps a batch near 8 MiB of buffers). */
/* The application's own work per batch of a fetch, in µs of CPU (a spin),
 * done the same way after each batch by both sides (--work-us). */
extern double core_work_us;
void core_batch_work(void);

/* read: the batches after the first with uvodbc_cursor_read_start()
 * instead of uvodbc_cursor_fetch(). */
void async_fetch(async_t* a, size_t batch_rows, int read,
                 core_sums_t* sums);

#endif /* UVODBC_BENCH_CORE_H */
