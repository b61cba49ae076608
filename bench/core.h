/* uvodbc-bench-core: the workloads, done with plain blocking ODBC
 * (baseline.c), with the cheapest async wrapper around the same ODBC calls
 * (hop.c) and with uvodbc (async.c).
 *
 *   SELECT 1:  K sequential round trips on one connection.
 *   fetch:     every row of a rows x 4 table (integer, double, varchar(32),
 *              timestamp), every value touched: blocking in blocks of rows
 *              bound column-wise (1024 by default); uvodbc with a cursor
 *              (fetch or read_start) and with uvodbc_conn_query (the whole
 *              result at once).  Every side must produce the same sums. */
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
/* One of those: SQLExecDirect, SQLFetch, SQLCloseCursor on b->select1.
 * Returns the first failure's code with that call's name in *what (its
 * diagnostics stay on b->select1), or SQL_SUCCESS.  Any thread, one at a
 * time: the bare hop runs it on a worker. */
SQLRETURN baseline_select1_once(baseline_t* b, const char** what);
/* Dies unless the SELECT 1 that returned `rc` succeeded and read 1. */
void baseline_select1_check(baseline_t* b, SQLRETURN rc, const char* what);
/* Reads CORE_FETCH_SQL with a column-wise block cursor of `batch_rows`
 * rows (SQL_ATTR_ROW_ARRAY_SIZE; uvodbc-bench-core: 1024 unless --batch). */
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
/* The application's own work while fetching, in µs of CPU (a spin) per
 * CORE_WORK_ROWS rows read, done pro rata after each batch by every side
 * (--work-us): per row, so that sides with different batch sizes do the
 * same work. */
#define CORE_WORK_ROWS 1024
extern double core_work_us;
void core_batch_work(size_t rows);

/* uvodbc_conn_exec(CORE_FETCH_SQL), uvodbc_cursor_fetch until UV_EOF, every
 * value read with the uvodbc_batch_get_* accessors; then the cursor's
 * close.  Batches of `batch_rows` rows (uvodbc_exec_options_t.batch_rows;
 * uvodbc caps a batch near 8 MiB of buffers); 0: uvodbc's default options
 * untouched, and 0 for the fetches' max_rows, so the exec option applies.
 * read: the batches after the first with uvodbc_cursor_read_start()
 * instead of uvodbc_cursor_fetch(). */
void async_fetch(async_t* a, size_t batch_rows, int read,
                 core_sums_t* sums);
/* uvodbc_conn_query(CORE_FETCH_SQL): the whole result of `rows` rows in
 * one request, every value read as above, then uvodbc_req_cleanup().
 * Default options but max_rows (rows + 1) and max_bytes (SIZE_MAX), so
 * that the result fits; batch_rows (rows per SQLFetch) as async_fetch's. */
void async_query_fetch(async_t* a, size_t rows, size_t batch_rows,
                       core_sums_t* sums);

/* ---- hop.c: the bare hop, the cheapest async SELECT 1 ---- */
/* K x uv_queue_work on `loop`: the work runs baseline_select1_once() on
 * b's reused statement, the after-work callback checks the value and
 * queues the next.  What a thread hop costs around the blocking calls. */
void hop_select1(uv_loop_t* loop, baseline_t* b, size_t k);

#endif /* UVODBC_BENCH_CORE_H */
