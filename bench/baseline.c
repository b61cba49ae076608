/* The baseline: the same work in plain blocking ODBC on the calling thread,
 * written the fastest honest way a C program would do it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "core.h"

int core_sums_equal(const core_sums_t* a, const core_sums_t* b) {
  return a->rows == b->rows && a->nulls == b->nulls && a->ints == b->ints &&
         a->doubles == b->doubles && a->text_bytes == b->text_bytes &&
         a->seconds == b->seconds && a->nanos == b->nanos;
}

double core_work_us;

void core_batch_work(size_t rows) {
  double us = core_work_us * (double)rows / CORE_WORK_ROWS;
  double until = bench_now() + us / 1e6;
  while (us > 0 && bench_now() < until) {
  }
}

/* Dies with every diagnostic record of `h` unless `rc` succeeded. */
static void check(SQLRETURN rc, SQLSMALLINT type, SQLHANDLE h,
                  const char* what) {
  SQLCHAR state[6], msg[1024];
  SQLINTEGER native;
  SQLSMALLINT i, len;
  if (SQL_SUCCEEDED(rc)) return;
  fprintf(stderr, "bench: baseline %s failed (%d)\n", what, (int)rc);
  for (i = 1; SQL_SUCCEEDED(SQLGetDiagRec(type, h, i, state, &native, msg,
                                          sizeof(msg), &len));
       i++)
    fprintf(stderr, "  [%s] %d %s\n", state, (int)native, msg);
  exit(1);
}

void baseline_connect(baseline_t* b, const char* connstr) {
  memset(b, 0, sizeof(*b));
  check(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &b->env),
        SQL_HANDLE_ENV, SQL_NULL_HANDLE, "SQLAllocHandle(ENV)");
  check(SQLSetEnvAttr(b->env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER)SQL_OV_ODBC3,
                      0),
        SQL_HANDLE_ENV, b->env, "SQLSetEnvAttr");
  check(SQLAllocHandle(SQL_HANDLE_DBC, b->env, &b->dbc), SQL_HANDLE_ENV,
        b->env, "SQLAllocHandle(DBC)");
  check(SQLDriverConnect(b->dbc, NULL, (SQLCHAR*)connstr, SQL_NTS, NULL, 0,
                         NULL, SQL_DRIVER_NOPROMPT),
        SQL_HANDLE_DBC, b->dbc, "SQLDriverConnect");
  check(SQLAllocHandle(SQL_HANDLE_STMT, b->dbc, &b->select1), SQL_HANDLE_DBC,
        b->dbc, "SQLAllocHandle(STMT)");
  check(SQLBindCol(b->select1, 1, SQL_C_SBIGINT, &b->select1_value,
                   sizeof(b->select1_value), &b->select1_ind),
        SQL_HANDLE_STMT, b->select1, "SQLBindCol");
}

void baseline_disconnect(baseline_t* b) {
  SQLFreeHandle(SQL_HANDLE_STMT, b->select1);
  SQLDisconnect(b->dbc);
  SQLFreeHandle(SQL_HANDLE_DBC, b->dbc);
  SQLFreeHandle(SQL_HANDLE_ENV, b->env);
  memset(b, 0, sizeof(*b));
}

int baseline_try_exec(baseline_t* b, const char* sql) {
  SQLHSTMT h;
  SQLRETURN rc;
  check(SQLAllocHandle(SQL_HANDLE_STMT, b->dbc, &h), SQL_HANDLE_DBC, b->dbc,
        "SQLAllocHandle(STMT)");
  rc = SQLExecDirect(h, (SQLCHAR*)sql, SQL_NTS);
  SQLFreeHandle(SQL_HANDLE_STMT, h);
  return SQL_SUCCEEDED(rc) || rc == SQL_NO_DATA ? 0 : -1;
}

void baseline_exec(baseline_t* b, const char* sql) {
  SQLHSTMT h;
  SQLRETURN rc;
  check(SQLAllocHandle(SQL_HANDLE_STMT, b->dbc, &h), SQL_HANDLE_DBC, b->dbc,
        "SQLAllocHandle(STMT)");
  rc = SQLExecDirect(h, (SQLCHAR*)sql, SQL_NTS);
  if (rc != SQL_NO_DATA) check(rc, SQL_HANDLE_STMT, h, sql);
  SQLFreeHandle(SQL_HANDLE_STMT, h);
}

SQLRETURN baseline_select1_once(baseline_t* b, const char** what) {
  SQLRETURN rc;
  b->select1_value = 0;
  rc = SQLExecDirect(b->select1, (SQLCHAR*)CORE_SELECT1_SQL, SQL_NTS);
  if (!SQL_SUCCEEDED(rc)) {
    *what = "SQLExecDirect(SELECT 1)";
    return rc;
  }
  rc = SQLFetch(b->select1);
  if (!SQL_SUCCEEDED(rc)) {
    *what = "SQLFetch";
    return rc;
  }
  rc = SQLCloseCursor(b->select1);
  if (!SQL_SUCCEEDED(rc)) {
    *what = "SQLCloseCursor";
    return rc;
  }
  return SQL_SUCCESS;
}

void baseline_select1_check(baseline_t* b, SQLRETURN rc, const char* what) {
  check(rc, SQL_HANDLE_STMT, b->select1, what);
  if (b->select1_ind == SQL_NULL_DATA || b->select1_value != 1)
    bench_die("baseline: SELECT 1 returned %lld", (long long)b->select1_value);
}

void baseline_select1(baseline_t* b, size_t k) {
  const char* what = NULL;
  size_t i;
  for (i = 0; i < k; i++)
    baseline_select1_check(b, baseline_select1_once(b, &what), what);
}

/* ---- the fetch table ---- */

void core_create_table(baseline_t* b, bench_driver_t d, size_t rows) {
  char sql[1024];
  baseline_try_exec(b, "DROP TABLE IF EXISTS " CORE_TABLE);
  switch (d) {
    case BENCH_SQLITE:
      baseline_exec(b, "CREATE TABLE " CORE_TABLE " (id INTEGER, x DOUBLE, "
                       "s VARCHAR(32), ts TIMESTAMP)");
      snprintf(sql, sizeof(sql),
               "INSERT INTO " CORE_TABLE " (id, x, s, ts) "
               "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL "
               "SELECT i + 1 FROM seq WHERE i < %zu) "
               "SELECT i, i * 0.25, 'text-value-' || i, "
               "strftime('%%Y-%%m-%%d %%H:%%M:%%f', '2024-01-01', "
               "'+' || (i + (i %% 1000) / 1000.0) || ' seconds') FROM seq",
               rows);
      break;
    case BENCH_PG:
      baseline_exec(b, "CREATE TABLE " CORE_TABLE " (id integer, "
                       "x double precision, s varchar(32), ts timestamp)");
      snprintf(sql, sizeof(sql),
               "INSERT INTO " CORE_TABLE " (id, x, s, ts) "
               "SELECT i, i * 0.25, 'text-value-' || i, "
               "timestamp '2024-01-01' + i * interval '1 second' + "
               "(i %% 1000) * interval '1 millisecond' "
               "FROM generate_series(1, %zu) AS i",
               rows);
      break;
    default: /* MariaDB: the Sequence engine's seq_1_to_N */
      baseline_exec(b, "CREATE TABLE " CORE_TABLE " (id INT, x DOUBLE, "
                       "s VARCHAR(32), ts DATETIME(3))");
      snprintf(sql, sizeof(sql),
               "INSERT INTO " CORE_TABLE " (id, x, s, ts) "
               "SELECT seq, seq * 0.25, CONCAT('text-value-', seq), "
               "TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq SECOND + "
               "INTERVAL (seq %% 1000) * 1000 MICROSECOND "
               "FROM seq_1_to_%zu",
               rows);
      break;
  }
  baseline_exec(b, sql);
}

/* Column-wise buffers for one block of `rows` rows. */
typedef struct block_s {
  size_t rows;
  SQLBIGINT* ints;
  SQLDOUBLE* doubles;
  SQLCHAR* text; /* rows x TEXT_WIDTH */
  SQL_TIMESTAMP_STRUCT* ts;
  SQLLEN* ind[4];
  SQLULEN fetched;
} block_t;

static void block_alloc(block_t* blk, size_t rows) {
  int i;
  blk->rows = rows;
  blk->ints = malloc(rows * sizeof(*blk->ints));
  blk->doubles = malloc(rows * sizeof(*blk->doubles));
  blk->text = malloc(rows * TEXT_WIDTH);
  blk->ts = malloc(rows * sizeof(*blk->ts));
  for (i = 0; i < 4; i++) blk->ind[i] = malloc(rows * sizeof(SQLLEN));
  if (blk->ints == NULL || blk->doubles == NULL || blk->text == NULL ||
      blk->ts == NULL || blk->ind[0] == NULL || blk->ind[1] == NULL ||
      blk->ind[2] == NULL || blk->ind[3] == NULL)
    bench_die("out of memory");
}

static void block_free(block_t* blk) {
  int i;
  free(blk->ints);
  free(blk->doubles);
  free(blk->text);
  free(blk->ts);
  for (i = 0; i < 4; i++) free(blk->ind[i]);
}

void baseline_fetch(baseline_t* b, size_t batch_rows, core_sums_t* sums) {
  block_t blk; /* bound: stays put until the statement is freed */
  SQLHSTMT h;
  SQLRETURN rc;
  SQLULEN r;

  memset(sums, 0, sizeof(*sums));
  block_alloc(&blk, batch_rows);
  check(SQLAllocHandle(SQL_HANDLE_STMT, b->dbc, &h), SQL_HANDLE_DBC, b->dbc,
        "SQLAllocHandle(STMT)");
  check(SQLSetStmtAttr(h, SQL_ATTR_ROW_BIND_TYPE,
                       (SQLPOINTER)SQL_BIND_BY_COLUMN, 0),
        SQL_HANDLE_STMT, h, "SQLSetStmtAttr(ROW_BIND_TYPE)");
  check(SQLSetStmtAttr(h, SQL_ATTR_ROW_ARRAY_SIZE,
                       (SQLPOINTER)(uintptr_t)batch_rows, 0),
        SQL_HANDLE_STMT, h, "SQLSetStmtAttr(ROW_ARRAY_SIZE)");
  check(SQLSetStmtAttr(h, SQL_ATTR_ROWS_FETCHED_PTR, &blk.fetched, 0),
        SQL_HANDLE_STMT, h, "SQLSetStmtAttr(ROWS_FETCHED_PTR)");
  check(SQLBindCol(h, 1, SQL_C_SBIGINT, blk.ints, sizeof(blk.ints[0]),
                   blk.ind[0]),
        SQL_HANDLE_STMT, h, "SQLBindCol(1)");
  check(SQLBindCol(h, 2, SQL_C_DOUBLE, blk.doubles, sizeof(blk.doubles[0]),
                   blk.ind[1]),
        SQL_HANDLE_STMT, h, "SQLBindCol(2)");
  check(SQLBindCol(h, 3, SQL_C_CHAR, blk.text, TEXT_WIDTH, blk.ind[2]),
        SQL_HANDLE_STMT, h, "SQLBindCol(3)");
  check(SQLBindCol(h, 4, SQL_C_TYPE_TIMESTAMP, blk.ts, sizeof(blk.ts[0]),
                   blk.ind[3]),
        SQL_HANDLE_STMT, h, "SQLBindCol(4)");
  check(SQLExecDirect(h, (SQLCHAR*)CORE_FETCH_SQL, SQL_NTS), SQL_HANDLE_STMT,
        h, "SQLExecDirect(fetch)");
  for (;;) {
    blk.fetched = 0; /* MariaDB leaves it untouched on SQL_NO_DATA */
    rc = SQLFetch(h);
    if (rc == SQL_NO_DATA) break;
    check(rc, SQL_HANDLE_STMT, h, "SQLFetch");
    if (sums->rows == 0) {
      sums->first_batch_at = bench_now();
      sums->first_batch_rows = (int64_t)blk.fetched;
    }
    for (r = 0; r < blk.fetched; r++) {
      if (blk.ind[0][r] == SQL_NULL_DATA)
        sums->nulls++;
      else
        sums->ints += blk.ints[r];
      if (blk.ind[1][r] == SQL_NULL_DATA)
        sums->nulls++;
      else
        sums->doubles += blk.doubles[r];
      if (blk.ind[2][r] == SQL_NULL_DATA)
        sums->nulls++;
      else
        sums->text_bytes += blk.ind[2][r];
      if (blk.ind[3][r] == SQL_NULL_DATA) {
        sums->nulls++;
      } else {
        const SQL_TIMESTAMP_STRUCT* t = &blk.ts[r];
        sums->seconds += core_ts_seconds(t->day, t->hour, t->minute,
                                         t->second);
        sums->nanos += t->fraction;
      }
    }
    sums->rows += (int64_t)blk.fetched;
    core_batch_work(blk.fetched);
    if (blk.fetched < batch_rows) break; /* a short block is the last */
  }
  check(SQLCloseCursor(h), SQL_HANDLE_STMT, h, "SQLCloseCursor");
  SQLFreeHandle(SQL_HANDLE_STMT, h);
  block_free(&blk);
}
