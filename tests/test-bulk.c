/* Bulk execution with parameter arrays: uvodbc_conn_bulk() and
 * uvodbc_conn_bulk_columns().
 *
 * 100,000 rows (integer, text, double, timestamp, NULLs sprinkled) in
 * batches of 1000 with a checksum of what landed computed in SQL and in C,
 * through both entry points; every type through columns landing exactly as
 * through rows; text and binary growing past the first batch's width; a
 * batch with one duplicate key and what each driver does with the rest
 * (docs/bulk.md); argument errors. */
#include <math.h>
#include <stdlib.h>

#include "uvodbc-test.h"

/* ---- helpers ---- */

typedef struct {
  int calls;
  int status;
  int64_t rows;
  int64_t failed_row;
  size_t nstatus;
  uint8_t* status_copy; /* req->row_status, copied (malloc) */
  size_t ndiag;
  char state[6];
  int32_t native;
} outcome_t;

static void record(uvodbc_req_t* req, int status) {
  outcome_t* o = req->data;
  o->calls++;
  o->status = status;
  ck_assert_int_eq(req->status, status);
  ck_assert_int_eq(req->type, UVODBC_REQ_BULK);
  o->rows = req->rows_affected;
  o->failed_row = req->failed_row;
  o->nstatus = req->nrow_status;
  free(o->status_copy);
  o->status_copy = NULL;
  if (req->row_status != NULL && req->nrow_status > 0) {
    o->status_copy = malloc(req->nrow_status);
    ck_assert_ptr_nonnull(o->status_copy);
    memcpy(o->status_copy, req->row_status, req->nrow_status);
  }
  o->ndiag = req->ndiag;
  o->state[0] = '\0';
  o->native = 0;
  if (req->ndiag > 0) {
    memcpy(o->state, req->diag[0].sqlstate, 6);
    o->native = req->diag[0].native;
  }
  uvodbc_req_cleanup(req);
  ck_assert_ptr_null(req->row_status);
}

/* Runs one bulk execution to completion (exactly one callback): from
 * `rows` (uvodbc_conn_bulk) or, when `columns` is not NULL, from columns
 * (uvodbc_conn_bulk_columns). */
static int run_bulk_from(uv_loop_t* loop, uvodbc_conn_t* conn, outcome_t* o,
                         const char* sql, const uvodbc_param_t* rows,
                         const uvodbc_param_column_t* columns, size_t nrows,
                         size_t ncols, size_t batch) {
  uvodbc_req_t req;
  uvodbc_exec_options_t opts;
  int err;
  memset(o, 0, sizeof(*o));
  req.data = o;
  uvodbc_exec_options_init(&opts);
  opts.batch_rows = batch;
  err = columns != NULL
            ? uvodbc_conn_bulk_columns(conn, &req, sql, columns, ncols, nrows,
                                       &opts, record)
            : uvodbc_conn_bulk(conn, &req, sql, rows, nrows, ncols, &opts,
                               record);
  ck_assert_msg(err == 0, "bulk start: %s", uvodbc_err_name(err));
  ck_assert_int_eq(o->calls, 0);
  uv_run(loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(o->calls, 1);
  return o->status;
}

static int run_bulk(uv_loop_t* loop, uvodbc_conn_t* conn, outcome_t* o,
                    const char* sql, const uvodbc_param_t* rows, size_t nrows,
                    size_t ncols, size_t batch) {
  return run_bulk_from(loop, conn, o, sql, rows, NULL, nrows, ncols, batch);
}

/* The values of row-major `rows` as columns, pointing at the rows' text
 * and binary; a column's type is that of its first value that is not
 * NULL. */
static uvodbc_param_column_t* to_columns(const uvodbc_param_t* rows,
                                         size_t nrows, size_t ncols) {
  uvodbc_param_column_t* cols = calloc(ncols, sizeof(*cols));
  size_t r, c;
  ck_assert_ptr_nonnull(cols);
  for (c = 0; c < ncols; c++) {
    uvodbc_param_column_t* col = &cols[c];
    uint8_t* nulls = calloc(nrows, 1);
    size_t* lengths = calloc(nrows, sizeof(*lengths));
    char* values = calloc(nrows, sizeof(uvodbc_timestamp_t)); /* widest */
    ck_assert(nulls != NULL && lengths != NULL && values != NULL);
    for (r = 0; r < nrows && col->type == UVODBC_TYPE_NULL; r++)
      col->type = rows[r * ncols + c].type;
    for (r = 0; r < nrows; r++) {
      const uvodbc_param_t* p = &rows[r * ncols + c];
      if (p->type == UVODBC_TYPE_NULL) {
        nulls[r] = 1;
        continue;
      }
      switch (col->type) {
        case UVODBC_TYPE_INT64:
          ((int64_t*)values)[r] = p->v.i64;
          break;
        case UVODBC_TYPE_DOUBLE:
          ((double*)values)[r] = p->v.f64;
          break;
        case UVODBC_TYPE_BOOL:
          ((uint8_t*)values)[r] = (uint8_t)p->v.boolean;
          break;
        case UVODBC_TYPE_TEXT:
        case UVODBC_TYPE_DECIMAL:
        case UVODBC_TYPE_BINARY:
          ((const void**)values)[r] = p->v.bytes.ptr;
          lengths[r] = p->v.bytes.len;
          break;
        default:
          ((uvodbc_timestamp_t*)values)[r] = p->v.ts;
          break;
      }
    }
    col->values = values;
    col->lengths = lengths;
    col->nulls = nulls;
  }
  return cols;
}

static void free_columns(uvodbc_param_column_t* cols, size_t ncols) {
  size_t c;
  for (c = 0; c < ncols; c++) {
    free((void*)cols[c].values);
    free((void*)cols[c].lengths);
    free((void*)cols[c].nulls);
  }
  free(cols);
}

/* begin (what 0), commit (1) or rollback (2); must succeed. */
static void on_txn(uvodbc_req_t* req, int status) {
  int* st = req->data;
  if (status != 0) test_print_diags(req, "bulk txn");
  st[0]++;
  st[1] = status;
}

static void txn_op(uv_loop_t* loop, uvodbc_conn_t* conn, int what) {
  uvodbc_req_t req;
  int st[2] = {0, -1};
  req.data = st;
  ck_assert_int_eq(what == 0   ? uvodbc_conn_begin(conn, &req, on_txn)
                   : what == 1 ? uvodbc_conn_commit(conn, &req, on_txn)
                               : uvodbc_conn_rollback(conn, &req, on_txn),
                   0);
  uv_run(loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(st[0], 1);
  ck_assert_int_eq(st[1], 0);
}

/* A cell as an integer, whatever type the driver gave an aggregate
 * (PostgreSQL's SUM(bigint) is NUMERIC, MariaDB's SUM is DECIMAL). */
static int64_t cell_i64(const uvodbc_batch_t* b, size_t col) {
  int64_t v = 0;
  double d;
  const char* s;
  size_t len;
  ck_assert_int_eq(uvodbc_batch_is_null(b, col, 0), 0);
  if (uvodbc_batch_get_int64(b, col, 0, &v) == 0) return v;
  if (uvodbc_batch_get_text(b, col, 0, &s, &len) == 0)
    return strtoll(s, NULL, 10);
  ck_assert_int_eq(uvodbc_batch_get_double(b, col, 0, &d), 0);
  return llround(d);
}

static double cell_double(const uvodbc_batch_t* b, size_t col) {
  double d = 0;
  const char* s;
  size_t len;
  if (uvodbc_batch_get_double(b, col, 0, &d) == 0) return d;
  ck_assert_int_eq(uvodbc_batch_get_text(b, col, 0, &s, &len), 0);
  return strtod(s, NULL);
}

static size_t count_status(const outcome_t* o, size_t from, size_t to,
                           uvodbc_row_status_t st) {
  size_t i, n = 0;
  for (i = from; i < to; i++) n += o->status_copy[i] == st;
  return n;
}

/* ---- 100,000 rows with a checksum ---- */

#define NROWS 100000
#define BATCH 1000

typedef struct {
  uvodbc_param_t* rows;
  char* text;
  int64_t sum_id, sum_len, sum_n, nulls_n, nulls_s, nulls_d, nulls_ts;
  double sum_d;
} bigdata_t;

static int n_null(int i) {
  return i % 13 == 7;
}
static int s_null(int i) {
  return i % 17 == 3;
}
static int d_null(int i) {
  return i % 19 == 11;
}
static int ts_null(int i) {
  return i % 23 == 5;
}
/* Text grows with the batch: batch k holds strings up to 40 + 10 k bytes,
 * so later batches are wider than the first one. */
static size_t s_len(int i) {
  return 1 + (size_t)(i * 7) % 40 + (size_t)(i / BATCH) / 10 * 10 +
         (size_t)(i / BATCH) % 10;
}
static uvodbc_timestamp_t ts_value(int i) {
  uvodbc_timestamp_t ts;
  memset(&ts, 0, sizeof(ts));
  ts.year = (int16_t)(2000 + i % 30);
  ts.month = (uint8_t)(1 + i % 12);
  ts.day = (uint8_t)(1 + i % 28);
  ts.hour = (uint8_t)(i % 24);
  ts.minute = (uint8_t)(i % 60);
  ts.second = (uint8_t)((i / 60) % 60);
  ts.nanosecond = (uint32_t)(i % 1000) * 1000000u; /* milliseconds */
  return ts;
}

static void make_bigdata(bigdata_t* g) {
  size_t total = 0, pos = 0;
  int i;
  memset(g, 0, sizeof(*g));
  for (i = 0; i < NROWS; i++) total += s_len(i);
  g->rows = malloc((size_t)NROWS * 5 * sizeof(*g->rows));
  g->text = malloc(total);
  ck_assert_ptr_nonnull(g->rows);
  ck_assert_ptr_nonnull(g->text);
  for (i = 0; i < NROWS; i++) {
    uvodbc_param_t* r = &g->rows[(size_t)i * 5];
    size_t len = s_len(i), k;
    char* s = g->text + pos;
    for (k = 0; k < len; k++) s[k] = (char)('A' + (k + (size_t)i) % 26);
    pos += len;
    r[0] = uvodbc_param_int64(i + 1);
    g->sum_id += i + 1;
    if (n_null(i)) {
      r[1] = uvodbc_param_null();
      g->nulls_n++;
    } else {
      r[1] = uvodbc_param_int64(i * 3 - 50000);
      g->sum_n += i * 3 - 50000;
    }
    if (s_null(i)) {
      r[2] = uvodbc_param_null();
      g->nulls_s++;
    } else {
      r[2] = uvodbc_param_text(s, len);
      g->sum_len += (int64_t)len;
    }
    if (d_null(i)) {
      r[3] = uvodbc_param_null();
      g->nulls_d++;
    } else {
      r[3] = uvodbc_param_double((i % 1000) * 0.5); /* exact sums */
      g->sum_d += (i % 1000) * 0.5;
    }
    if (ts_null(i)) {
      r[4] = uvodbc_param_null();
      g->nulls_ts++;
    } else {
      r[4] = uvodbc_param_datetime(UVODBC_TYPE_TIMESTAMP, ts_value(i));
    }
  }
}

static void free_bigdata(bigdata_t* g) {
  free(g->rows);
  free(g->text);
}

/* Compares rows whose ids are listed with what make_bigdata() bound. */
static void spot_check(uv_loop_t* loop, uvodbc_conn_t* conn,
                       const char* table, const bigdata_t* g) {
  static const int ids[] = {1,    2,     4,     8,     12,    20,    1000,
                            1001, 12345, 50000, 77777, 99999, 100000};
  char sql[512];
  uvodbc_batch_t* b;
  size_t r;
  snprintf(sql, sizeof(sql),
           "SELECT id, n, s, d, ts FROM %s WHERE id IN (1, 2, 4, 8, 12, 20, "
           "1000, 1001, 12345, 50000, 77777, 99999, 100000) ORDER BY id",
           table);
  b = test_query(loop, conn, sql, NULL, 0);
  ck_assert_uint_eq(uvodbc_batch_nrows(b), sizeof(ids) / sizeof(ids[0]));
  for (r = 0; r < uvodbc_batch_nrows(b); r++) {
    int i = ids[r] - 1;
    const uvodbc_param_t* p = &g->rows[(size_t)i * 5];
    int64_t v;
    double d;
    const char* s;
    size_t len;
    uvodbc_timestamp_t ts, want;
    ck_assert_int_eq(uvodbc_batch_get_int64(b, 0, r, &v), 0);
    ck_assert_int_eq(v, ids[r]);
    if (n_null(i)) {
      ck_assert_int_eq(uvodbc_batch_is_null(b, 1, r), 1);
    } else {
      ck_assert_int_eq(uvodbc_batch_get_int64(b, 1, r, &v), 0);
      ck_assert_int_eq(v, p[1].v.i64);
    }
    if (s_null(i)) {
      ck_assert_int_eq(uvodbc_batch_is_null(b, 2, r), 1);
    } else {
      ck_assert_int_eq(uvodbc_batch_get_text(b, 2, r, &s, &len), 0);
      ck_assert_uint_eq(len, p[2].v.bytes.len);
      ck_assert(memcmp(s, p[2].v.bytes.ptr, len) == 0);
    }
    if (d_null(i)) {
      ck_assert_int_eq(uvodbc_batch_is_null(b, 3, r), 1);
    } else {
      ck_assert_int_eq(uvodbc_batch_get_double(b, 3, r, &d), 0);
      ck_assert_double_eq(d, p[3].v.f64);
    }
    if (ts_null(i)) {
      ck_assert_int_eq(uvodbc_batch_is_null(b, 4, r), 1);
    } else {
      want = ts_value(i);
      ck_assert_int_eq(uvodbc_batch_get_timestamp(b, 4, r, &ts), 0);
      ck_assert_int_eq(ts.year, want.year);
      ck_assert_int_eq(ts.month, want.month);
      ck_assert_int_eq(ts.day, want.day);
      ck_assert_int_eq(ts.hour, want.hour);
      ck_assert_int_eq(ts.minute, want.minute);
      ck_assert_int_eq(ts.second, want.second);
      ck_assert_int_eq(ts.nanosecond, want.nanosecond);
    }
  }
  test_free_result(b);
}

static void checksum(uv_loop_t* loop, uvodbc_conn_t* conn, const char* table,
                     const bigdata_t* g) {
  char sql[512];
  uvodbc_batch_t* b;
  snprintf(sql, sizeof(sql),
           "SELECT COUNT(*), SUM(id), SUM(LENGTH(s)), SUM(n), "
           "COUNT(*) - COUNT(n), COUNT(*) - COUNT(s), COUNT(*) - COUNT(d), "
           "COUNT(*) - COUNT(ts), SUM(d) FROM %s",
           table);
  b = test_query(loop, conn, sql, NULL, 0);
  ck_assert_uint_eq(uvodbc_batch_nrows(b), 1);
  ck_assert_int_eq(cell_i64(b, 0), NROWS);
  ck_assert_int_eq(cell_i64(b, 1), g->sum_id);
  ck_assert_int_eq(cell_i64(b, 2), g->sum_len);
  ck_assert_int_eq(cell_i64(b, 3), g->sum_n);
  ck_assert_int_eq(cell_i64(b, 4), g->nulls_n);
  ck_assert_int_eq(cell_i64(b, 5), g->nulls_s);
  ck_assert_int_eq(cell_i64(b, 6), g->nulls_d);
  ck_assert_int_eq(cell_i64(b, 7), g->nulls_ts);
  ck_assert_double_eq(cell_double(b, 8), g->sum_d);
  test_free_result(b);
}

static const char* big_columns(void) {
  return test_pick("id INTEGER PRIMARY KEY, n INTEGER, s VARCHAR(200), d DOUBLE, "
              "ts TIMESTAMP",
              "id INTEGER PRIMARY KEY, n INTEGER, s VARCHAR(200), "
              "d DOUBLE PRECISION, ts TIMESTAMP(3)",
              "id INTEGER PRIMARY KEY, n INTEGER, s VARCHAR(200), d DOUBLE, "
              "ts DATETIME(3)");
}

static void big_case(const char* t, int in_txn, int columns) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  char sql[256];
  bigdata_t g;
  outcome_t o;
  double t0;
  uvodbc_param_column_t* cols = NULL;

  make_bigdata(&g);
  if (columns) cols = to_columns(g.rows, NROWS, 5);
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, t, big_columns());
  snprintf(sql, sizeof(sql),
           "INSERT INTO %s (id, n, s, d, ts) VALUES (?, ?, ?, ?, ?)", t);
  if (in_txn) txn_op(&loop, conn, 0);
  t0 = (double)uv_hrtime() / 1e9;
  ck_assert_int_eq(
      run_bulk_from(&loop, conn, &o, sql, g.rows, cols, NROWS, 5, BATCH), 0);
  if (in_txn) txn_op(&loop, conn, 1);
  printf("%s: %s: %d rows in %.2f s\n", test_driver_name(), t, NROWS,
         (double)uv_hrtime() / 1e9 - t0);
  ck_assert_int_eq(o.rows, NROWS);
  ck_assert_int_eq(o.failed_row, -1);
  ck_assert_uint_eq(o.nstatus, NROWS);
  ck_assert_uint_eq(count_status(&o, 0, NROWS, UVODBC_ROW_OK), NROWS);
  free(o.status_copy);

  checksum(&loop, conn, t, &g);
  spot_check(&loop, conn, t, &g);
  test_drop_table(&loop, conn, t);
  test_close(&loop, conn);
  test_loop_close(&loop);
  free_bigdata(&g);
  if (cols != NULL) free_columns(cols, 5);
}

/* In one transaction: the way to load a lot (SQLite would otherwise sync
 * each row). */
START_TEST(bulk_checksum_txn) {
  big_case(TEST_TABLE("bulk_checksum_txn"), 1, 0);
}
END_TEST

/* In autocommit mode (servers only: SQLite commits each row then). */
START_TEST(bulk_checksum_autocommit) {
  big_case(TEST_TABLE("bulk_checksum_autocommit"), 0, 0);
}
END_TEST

/* The same rows from the caller's columns, NULLs marked in `nulls`. */
START_TEST(bulk_columns_checksum_txn) {
  big_case(TEST_TABLE("bulk_columns_checksum_txn"), 1, 1);
}
END_TEST

/* Run-length description of a status array, for the log. */
static void print_status(const char* what, const outcome_t* o) {
  static const char* names[] = {"OK", "ERROR", "UNKNOWN", "NOT_RUN"};
  size_t i = 0;
  printf("%s: %s: status %s, rows_affected %lld, failed_row %lld, "
         "diag [%s] %d:",
         test_driver_name(), what, uvodbc_err_name(o->status),
         (long long)o->rows, (long long)o->failed_row, o->state,
         (int)o->native);
  while (i < o->nstatus) {
    size_t j = i;
    while (j < o->nstatus && o->status_copy[j] == o->status_copy[i]) j++;
    printf(" %zu-%zu %s", i, j - 1, names[o->status_copy[i]]);
    i = j;
  }
  printf("\n");
}

/* Ids present in [lo, hi] as a run-length list, for the log. */
static void print_ids(uv_loop_t* loop, uvodbc_conn_t* conn, const char* t) {
  char sql[256];
  uvodbc_batch_t* b;
  size_t r = 0, n;
  snprintf(sql, sizeof(sql), "SELECT id FROM %s ORDER BY id", t);
  b = test_query(loop, conn, sql, NULL, 0);
  n = uvodbc_batch_nrows(b);
  printf("%s: %s holds %zu rows:", test_driver_name(), t, n);
  while (r < n) {
    int64_t first, cur, next;
    uvodbc_batch_get_int64(b, 0, r, &first);
    cur = first;
    while (r + 1 < n && uvodbc_batch_get_int64(b, 0, r + 1, &next) == 0 &&
           next == cur + 1) {
      cur = next;
      r++;
    }
    printf(" %lld-%lld", (long long)first, (long long)cur);
    r++;
  }
  printf("\n");
  test_free_result(b);
}

/* The ids in the table must be exactly the rows reported OK plus the row
 * that was there before: the status array tells the truth. */
static void check_landed(uv_loop_t* loop, uvodbc_conn_t* conn, const char* t,
                         const outcome_t* o, int keep_ok, int64_t extra) {
  char sql[256];
  uvodbc_batch_t* b;
  size_t r = 0, i, n;
  int64_t id;
  snprintf(sql, sizeof(sql), "SELECT id FROM %s ORDER BY id", t);
  b = test_query(loop, conn, sql, NULL, 0);
  n = uvodbc_batch_nrows(b);
  for (i = 0; i < o->nstatus; i++) {
    int64_t want = (int64_t)i + 1;
    int present = 0;
    while (r < n && uvodbc_batch_get_int64(b, 0, r, &id) == 0 && id < want)
      r++;
    present = r < n && id == want;
    if (want == extra) {
      ck_assert_msg(present, "id %lld (there before) is gone",
                    (long long)extra);
      continue;
    }
    ck_assert_msg(present == (keep_ok && o->status_copy[i] == UVODBC_ROW_OK),
                  "row %zu (id %lld): status %d, %s in the table", i,
                  (long long)want, o->status_copy[i],
                  present ? "present" : "absent");
  }
  test_free_result(b);
}

/* 3000 rows in batches of 1000, the 1500th (index 1499, batch 1) a
 * duplicate of a row already there.  Measured per driver (docs/bulk.md):
 *   SQLite: the rows before it in its batch are inserted, it is ERROR at
 *     its exact index, the rest of the batch and later batches NOT_RUN.
 *   psqlODBC: the batch goes in chunks of BatchSize (default 100) rows,
 *     each chunk in its own implicit transaction; the failing chunk
 *     (1400-1499) is rolled back and all of it is ERROR; earlier chunks
 *     stay; the rest NOT_RUN.
 *   MariaDB: the batch is one statement, rejected as a whole; its rows are
 *     UNKNOWN (nothing of it landed), failed_row is its first row. */
static void dup_case(const char* connstr_suffix, int batch_size_chunk) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  const char* t = TEST_TABLE("bulk_duplicate_key");
  char sql[512];
  uvodbc_param_t* rows = malloc(3000 * 2 * sizeof(*rows));
  outcome_t o;
  int i;
  size_t err_from, err_to, ok_rows;

  ck_assert_ptr_nonnull(rows);
  for (i = 0; i < 3000; i++) {
    rows[i * 2] = uvodbc_param_int64(i + 1);
    rows[i * 2 + 1] = uvodbc_param_int64(i * 10);
  }
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  if (connstr_suffix == NULL) {
    conn = test_connect(&loop);
  } else {
    uvodbc_req_t req;
    int st[2] = {0, -1};
    snprintf(sql, sizeof(sql), "%s;%s", test_connstr(), connstr_suffix);
    req.data = st;
    ck_assert_int_eq(uvodbc_connect(&loop, &req, sql, NULL, on_txn), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(st[1], 0);
    conn = req.conn;
  }
  test_make_table(&loop, conn, t, "id INTEGER PRIMARY KEY, v INTEGER");
  snprintf(sql, sizeof(sql), "INSERT INTO %s (id, v) VALUES (1500, -1)", t);
  test_exec(&loop, conn, sql);
  snprintf(sql, sizeof(sql), "INSERT INTO %s (id, v) VALUES (?, ?)", t);
  ck_assert_int_eq(run_bulk(&loop, conn, &o, sql, rows, 3000, 2, 1000),
                   UVODBC_ESQL);
  print_status("duplicate at row 1499", &o);
  ck_assert_uint_eq(o.nstatus, 3000);
  switch (test_driver()) {
    case TEST_SQLITE:
      ck_assert_str_eq(o.state, "HY000");
      ck_assert_int_eq(o.native, 19); /* SQLITE_CONSTRAINT */
      err_from = 1499;
      err_to = 1500;
      break;
    case TEST_PG:
      ck_assert_str_eq(o.state, "23505");
      err_from = 1000 + (499 / (size_t)batch_size_chunk) *
                            (size_t)batch_size_chunk;
      err_to = err_from + (size_t)batch_size_chunk;
      if (err_to > 2000) err_to = 2000;
      break;
    default:
      ck_assert_str_eq(o.state, "23000");
      ck_assert_int_eq(o.native, 1062); /* ER_DUP_ENTRY */
      err_from = 1000;
      err_to = 2000;
      break;
  }
  ok_rows = err_from;
  ck_assert_int_eq(o.rows, (int64_t)ok_rows);
  ck_assert_int_eq(o.failed_row, (int64_t)err_from);
  ck_assert_uint_eq(count_status(&o, 0, ok_rows, UVODBC_ROW_OK), ok_rows);
  ck_assert_uint_eq(
      count_status(&o, err_from, err_to,
                   test_driver() == TEST_MARIADB ? UVODBC_ROW_UNKNOWN
                                                 : UVODBC_ROW_ERROR),
      err_to - err_from);
  ck_assert_uint_eq(count_status(&o, err_to, 3000, UVODBC_ROW_NOT_RUN),
                    3000 - err_to);
  print_ids(&loop, conn, t);
  check_landed(&loop, conn, t, &o, 1, 1500);
  free(o.status_copy);

  /* The connection is fine afterwards. */
  snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", t);
  ck_assert_int_eq(test_query_int(&loop, conn, sql), (int64_t)ok_rows + 1);
  test_drop_table(&loop, conn, t);
  test_close(&loop, conn);
  test_loop_close(&loop);
  free(rows);
}

START_TEST(bulk_duplicate_key) {
  dup_case(NULL, 100);
}
END_TEST

/* psqlODBC's chunk is its BatchSize option: 250 moves the failing group to
 * rows 1250-1499. */
START_TEST(bulk_duplicate_key_batchsize) {
  dup_case("BatchSize=250", 250);
}
END_TEST

/* The same failure inside a transaction, then COMMIT.  SQLite and MariaDB
 * keep what ran before the failure, exactly as in autocommit mode (a failed
 * statement does not end the transaction).  psqlODBC rolls the failed
 * SQLExecute back as a whole (statement-level rollback, its default) while
 * marking its chunks before the error SUCCESS; uvodbc reports those rows
 * UNKNOWN, so that again exactly the OK rows land. */
START_TEST(bulk_duplicate_key_txn) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  const char* t = TEST_TABLE("bulk_duplicate_key_txn");
  char sql[256];
  uvodbc_param_t* rows = malloc(3000 * 2 * sizeof(*rows));
  outcome_t o;
  int i;

  ck_assert_ptr_nonnull(rows);
  for (i = 0; i < 3000; i++) {
    rows[i * 2] = uvodbc_param_int64(i + 1);
    rows[i * 2 + 1] = uvodbc_param_int64(i * 10);
  }
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, t, "id INTEGER PRIMARY KEY, v INTEGER");
  snprintf(sql, sizeof(sql), "INSERT INTO %s (id, v) VALUES (1500, -1)", t);
  test_exec(&loop, conn, sql);
  txn_op(&loop, conn, 0);
  snprintf(sql, sizeof(sql), "INSERT INTO %s (id, v) VALUES (?, ?)", t);
  ck_assert_int_eq(run_bulk(&loop, conn, &o, sql, rows, 3000, 2, 1000),
                   UVODBC_ESQL);
  print_status("duplicate at row 1499, in a transaction", &o);
  txn_op(&loop, conn, 1);
  print_ids(&loop, conn, t);
  check_landed(&loop, conn, t, &o, 1, 1500);
  if (test_driver() == TEST_PG) {
    ck_assert_int_eq(o.rows, 1000);
    ck_assert_int_eq(o.failed_row, 1400);
    ck_assert_uint_eq(count_status(&o, 0, 1000, UVODBC_ROW_OK), 1000);
    ck_assert_uint_eq(count_status(&o, 1000, 1400, UVODBC_ROW_UNKNOWN), 400);
    ck_assert_uint_eq(count_status(&o, 1400, 1500, UVODBC_ROW_ERROR), 100);
    ck_assert_uint_eq(count_status(&o, 1500, 3000, UVODBC_ROW_NOT_RUN),
                      1500);
  } else {
    ck_assert_int_eq(o.rows, test_driver() == TEST_SQLITE ? 1499 : 1000);
  }
  free(o.status_copy);
  test_drop_table(&loop, conn, t);
  test_close(&loop, conn);
  test_loop_close(&loop);
  free(rows);
}
END_TEST

/* ---- growing values ---- */

#define GROW_ROWS 2500

/* Batch 0 (rows 0-999): text of 1-10 bytes, binary of 1-8; batch 1: text
 * of 100-399 bytes, binary 50-249; batch 2 (500 rows): text 3000-6999
 * bytes (past the VARCHAR/LONGVARCHAR switch at 4000), binary 9000-9499,
 * one 70,000-byte text and 100,000-byte binary.  Every 9th text and every
 * 10th binary NULL; the integer column n is NULL for all of batch 0 and
 * typed from batch 1 on. */
static size_t grow_text_len(int i) {
  if (i == 2345) return 70000;
  if (i < 1000) return 1 + (size_t)i % 10;
  if (i < 2000) return 100 + (size_t)i % 300;
  return 3000 + (size_t)(i * 13) % 4000;
}
static size_t grow_bin_len(int i) {
  if (i == 2345) return 100000;
  if (i < 1000) return 1 + (size_t)i % 8;
  if (i < 2000) return 50 + (size_t)i % 200;
  return 9000 + (size_t)i % 500;
}
static void grow_text(int i, char* out, size_t len) {
  size_t k;
  for (k = 0; k < len; k++) out[k] = (char)('a' + (k * 3 + (size_t)i) % 26);
}
static void grow_bin(int i, unsigned char* out, size_t len) {
  size_t k;
  for (k = 0; k < len; k++) out[k] = (unsigned char)((k * 31 + (size_t)i) & 0xff);
}

START_TEST(bulk_values_grow) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  const char* t = TEST_TABLE("bulk_values_grow");
  char sql[256];
  uvodbc_param_t* rows = malloc(GROW_ROWS * 4 * sizeof(*rows));
  char* text = malloc(100000);
  unsigned char* bin = malloc(100000);
  char** keep = calloc(GROW_ROWS * 2, sizeof(*keep));
  uvodbc_batch_t* b;
  outcome_t o;
  int i;

  ck_assert(rows != NULL && text != NULL && bin != NULL && keep != NULL);
  for (i = 0; i < GROW_ROWS; i++) {
    uvodbc_param_t* r = &rows[i * 4];
    size_t tl = grow_text_len(i), bl = grow_bin_len(i);
    r[0] = uvodbc_param_int64(i);
    r[1] = i < 1000 ? uvodbc_param_null() : uvodbc_param_int64(i * 1000003LL);
    if (i % 9 == 4) {
      r[2] = uvodbc_param_null();
    } else {
      keep[i * 2] = malloc(tl);
      grow_text(i, keep[i * 2], tl);
      r[2] = uvodbc_param_text(keep[i * 2], tl);
    }
    if (i % 10 == 6) {
      r[3] = uvodbc_param_null();
    } else {
      keep[i * 2 + 1] = malloc(bl);
      grow_bin(i, (unsigned char*)keep[i * 2 + 1], bl);
      r[3] = uvodbc_param_binary(keep[i * 2 + 1], bl);
    }
  }
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, t,
             test_pick("id INTEGER PRIMARY KEY, n BIGINT, s TEXT, b BLOB",
                  "id INTEGER PRIMARY KEY, n BIGINT, s TEXT, b BYTEA",
                  "id INTEGER PRIMARY KEY, n BIGINT, s LONGTEXT, b LONGBLOB"));
  snprintf(sql, sizeof(sql), "INSERT INTO %s (id, n, s, b) VALUES (?, ?, ?, ?)",
           t);
  ck_assert_int_eq(run_bulk(&loop, conn, &o, sql, rows, GROW_ROWS, 4, 1000),
                   0);
  ck_assert_int_eq(o.rows, GROW_ROWS);
  ck_assert_int_eq(o.failed_row, -1);
  ck_assert_uint_eq(count_status(&o, 0, GROW_ROWS, UVODBC_ROW_OK), GROW_ROWS);
  free(o.status_copy);
  /* The caller's memory may go as soon as the call returned: it did. */
  for (i = 0; i < GROW_ROWS * 2; i++) free(keep[i]);
  free(keep);
  free(rows);

  snprintf(sql, sizeof(sql), "SELECT id, n, s, b FROM %s ORDER BY id", t);
  b = test_query(&loop, conn, sql, NULL, 0);
  ck_assert_uint_eq(uvodbc_batch_nrows(b), GROW_ROWS);
  for (i = 0; i < GROW_ROWS; i++) {
    size_t r = (size_t)i, len;
    const char* s;
    const void* v;
    int64_t n;
    ck_assert_int_eq(uvodbc_batch_get_int64(b, 0, r, &n), 0);
    ck_assert_int_eq(n, i);
    if (i < 1000) {
      ck_assert_int_eq(uvodbc_batch_is_null(b, 1, r), 1);
    } else {
      ck_assert_int_eq(uvodbc_batch_get_int64(b, 1, r, &n), 0);
      ck_assert_int_eq(n, i * 1000003LL);
    }
    if (i % 9 == 4) {
      ck_assert_int_eq(uvodbc_batch_is_null(b, 2, r), 1);
    } else {
      ck_assert_int_eq(uvodbc_batch_get_text(b, 2, r, &s, &len), 0);
      ck_assert_msg(len == grow_text_len(i), "row %d: text %zu bytes, want %zu",
                    i, len, grow_text_len(i));
      grow_text(i, text, len);
      ck_assert_msg(memcmp(s, text, len) == 0, "row %d: text differs", i);
    }
    if (i % 10 == 6) {
      ck_assert_int_eq(uvodbc_batch_is_null(b, 3, r), 1);
    } else {
      ck_assert_int_eq(uvodbc_batch_get_binary(b, 3, r, &v, &len), 0);
      ck_assert_msg(len == grow_bin_len(i), "row %d: binary %zu bytes, want %zu",
                    i, len, grow_bin_len(i));
      grow_bin(i, bin, len);
      ck_assert_msg(memcmp(v, bin, len) == 0, "row %d: binary differs", i);
    }
  }
  test_free_result(b);
  test_drop_table(&loop, conn, t);
  test_close(&loop, conn);
  test_loop_close(&loop);
  free(text);
  free(bin);
}
END_TEST

/* ---- every type through columns ---- */

#define TYPES_ROWS 2500
#define TYPES_NCOLS 11

static const char* types_columns(void) {
  return test_pick(
      "id INTEGER PRIMARY KEY, i INTEGER, f DOUBLE, b BOOLEAN, t TEXT, "
      "dn TEXT, bn BLOB, dt DATE, tm TIME, ts TIMESTAMP, nul TEXT",
      "id INTEGER PRIMARY KEY, i BIGINT, f DOUBLE PRECISION, b BOOLEAN, "
      "t VARCHAR(200), dn NUMERIC(38,10), bn BYTEA, dt DATE, tm TIME(6), "
      "ts TIMESTAMP(6), nul VARCHAR(10)",
      "id INTEGER PRIMARY KEY, i BIGINT, f DOUBLE, b BOOLEAN, "
      "t VARCHAR(200), dn DECIMAL(38,10), bn VARBINARY(300), dt DATE, "
      "tm TIME(6), ts DATETIME(6), nul VARCHAR(10)");
}

typedef struct {
  uvodbc_param_t rows[TYPES_ROWS * TYPES_NCOLS];
  char text[TYPES_ROWS][160];
  char dec[TYPES_ROWS][48];
  unsigned char bin[TYPES_ROWS][260];
} typesdata_t;

static uvodbc_timestamp_t when(int i, int date, int time) {
  uvodbc_timestamp_t ts;
  memset(&ts, 0, sizeof(ts));
  if (date) {
    ts.year = (int16_t)(1970 + i % 100);
    ts.month = (uint8_t)(1 + i % 12);
    ts.day = (uint8_t)(1 + i % 28);
  }
  if (time) {
    ts.hour = (uint8_t)(i % 24);
    ts.minute = (uint8_t)(i % 60);
    ts.second = (uint8_t)((i * 7) % 60);
    ts.nanosecond = (uint32_t)(i * 997 % 1000000) * 1000u; /* microseconds */
  }
  return ts;
}

/* Row i: min and max integers first, non-ASCII text growing with the
 * batch, 38-digit decimals, binary with zero bytes, NULLs in every
 * column at different rates, and a column that is NULL throughout. */
static void make_typesdata(typesdata_t* g) {
  int i;
  for (i = 0; i < TYPES_ROWS; i++) {
    uvodbc_param_t* r = &g->rows[i * TYPES_NCOLS];
    size_t k, blen = (size_t)(i * 13) % 257;
    int tlen;
    r[0] = uvodbc_param_int64(i);
    r[1] = i == 0   ? uvodbc_param_int64(INT64_MIN)
           : i == 1 ? uvodbc_param_int64(INT64_MAX)
           : i % 7 == 3 ? uvodbc_param_null()
                        : uvodbc_param_int64((int64_t)i * -1000003);
    r[2] = i % 11 == 5 ? uvodbc_param_null()
                       : uvodbc_param_double(i * 0.25 - 7.5);
    r[3] = i % 9 == 2 ? uvodbc_param_null() : uvodbc_param_bool(i % 3 == 0);
    tlen = snprintf(g->text[i], sizeof(g->text[i]), "h\xc3\xa9llo-%d-\xf0\x9f\x98\x80-%.*s",
                    i, (i / 1000) * 40 + i % 30,
                    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
    r[4] = i % 5 == 1 ? uvodbc_param_null()
                      : uvodbc_param_text(g->text[i], (size_t)tlen);
    snprintf(g->dec[i], sizeof(g->dec[i]), "%s%010d%018d.%010d",
             i % 2 ? "-" : "", i, i * 7, i * 3);
    r[5] = i % 8 == 6 ? uvodbc_param_null()
                      : uvodbc_param_decimal(g->dec[i], SIZE_MAX);
    for (k = 0; k < blen; k++)
      g->bin[i][k] = (unsigned char)(k % 3 == 0 ? 0 : (k * 7 + (size_t)i));
    r[6] = i % 6 == 4 ? uvodbc_param_null()
                      : uvodbc_param_binary(g->bin[i], blen);
    r[7] = i % 13 == 12 ? uvodbc_param_null()
                        : uvodbc_param_datetime(UVODBC_TYPE_DATE,
                                                when(i, 1, 0));
    r[8] = i % 13 == 11 ? uvodbc_param_null()
                        : uvodbc_param_datetime(UVODBC_TYPE_TIME,
                                                when(i, 0, 1));
    r[9] = i % 13 == 10 ? uvodbc_param_null()
                        : uvodbc_param_datetime(UVODBC_TYPE_TIMESTAMP,
                                                when(i, 1, 1));
    r[10] = uvodbc_param_null();
  }
}

/* Rows of `a` and `b` that are equal in every column, NULL equal to NULL. */
static int64_t equal_rows(uv_loop_t* loop, uvodbc_conn_t* conn,
                          const char* a, const char* b) {
  static const char* names[] = {"i", "f", "b", "t", "dn",
                                "bn", "dt", "tm", "ts", "nul"};
  const char* same = test_pick(" IS ", " IS NOT DISTINCT FROM ", " <=> ");
  char sql[2048];
  size_t k, n;
  n = (size_t)snprintf(sql, sizeof(sql),
                       "SELECT COUNT(*) FROM %s x JOIN %s y ON x.id = y.id",
                       a, b);
  for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
    n += (size_t)snprintf(sql + n, sizeof(sql) - n, " %s x.%s%sy.%s",
                          k == 0 ? "WHERE" : "AND", names[k], same, names[k]);
  ck_assert_uint_lt(n, sizeof(sql));
  return test_query_int(loop, conn, sql);
}

/* Every type from columns lands exactly as the same values from rows
 * (uvodbc_conn_bulk, checked against the database by the types suite),
 * across batches that grow; a few cells are also checked directly. */
START_TEST(bulk_columns_same_as_rows) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  const char* by_rows = TEST_TABLE("bulk_types_rows");
  const char* by_cols = TEST_TABLE("bulk_types_columns");
  typesdata_t* g = malloc(sizeof(*g));
  uvodbc_param_column_t* cols;
  uvodbc_batch_t* b;
  char sql[512];
  const char* s;
  const void* v;
  size_t len;
  int64_t n;
  outcome_t o;

  ck_assert_ptr_nonnull(g);
  make_typesdata(g);
  cols = to_columns(g->rows, TYPES_ROWS, TYPES_NCOLS);
  /* The optional parts left out: the decimals are NUL-terminated (no
   * lengths), column 0 has no NULLs (no nulls array), the all-NULL column
   * has no values. */
  free((void*)cols[5].lengths);
  cols[5].lengths = NULL;
  free((void*)cols[0].nulls);
  cols[0].nulls = NULL;
  ck_assert_int_eq(cols[10].type, UVODBC_TYPE_NULL);
  free((void*)cols[10].values);
  cols[10].values = NULL;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, by_rows, types_columns());
  test_make_table(&loop, conn, by_cols, types_columns());
  txn_op(&loop, conn, 0);
  snprintf(sql, sizeof(sql),
           "INSERT INTO %s VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", by_rows);
  ck_assert_int_eq(run_bulk(&loop, conn, &o, sql, g->rows, TYPES_ROWS,
                            TYPES_NCOLS, 1000),
                   0);
  ck_assert_int_eq(o.rows, TYPES_ROWS);
  free(o.status_copy);
  snprintf(sql, sizeof(sql),
           "INSERT INTO %s VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", by_cols);
  ck_assert_int_eq(run_bulk_from(&loop, conn, &o, sql, NULL, cols, TYPES_ROWS,
                                 TYPES_NCOLS, 1000),
                   0);
  ck_assert_int_eq(o.rows, TYPES_ROWS);
  ck_assert_int_eq(o.failed_row, -1);
  ck_assert_uint_eq(o.nstatus, TYPES_ROWS);
  ck_assert_uint_eq(count_status(&o, 0, TYPES_ROWS, UVODBC_ROW_OK),
                    TYPES_ROWS);
  free(o.status_copy);
  txn_op(&loop, conn, 1);

  ck_assert_int_eq(equal_rows(&loop, conn, by_rows, by_cols), TYPES_ROWS);
  snprintf(sql, sizeof(sql),
           "SELECT COUNT(i), COUNT(t), COUNT(bn), COUNT(nul) FROM %s",
           by_cols);
  b = test_query(&loop, conn, sql, NULL, 0);
  ck_assert_int_eq(cell_i64(b, 0), TYPES_ROWS - (TYPES_ROWS + 3) / 7);
  test_free_result(b);
  snprintf(sql, sizeof(sql), "SELECT id, i, t, bn FROM %s WHERE id < 5 "
           "ORDER BY id", by_cols);
  b = test_query(&loop, conn, sql, NULL, 0);
  ck_assert_uint_eq(uvodbc_batch_nrows(b), 5);
  ck_assert_int_eq(uvodbc_batch_get_int64(b, 1, 0, &n), 0);
  ck_assert(n == INT64_MIN);
  ck_assert_int_eq(uvodbc_batch_get_int64(b, 1, 1, &n), 0);
  ck_assert(n == INT64_MAX);
  ck_assert_int_eq(uvodbc_batch_is_null(b, 2, 1), 1);
  ck_assert_int_eq(uvodbc_batch_get_text(b, 2, 2, &s, &len), 0);
  ck_assert_uint_eq(len, strlen(g->text[2]));
  ck_assert(memcmp(s, g->text[2], len) == 0);
  ck_assert_int_eq(uvodbc_batch_is_null(b, 3, 4), 1);
  ck_assert_int_eq(uvodbc_batch_get_binary(b, 3, 3, &v, &len), 0);
  ck_assert_uint_eq(len, 39);
  ck_assert(memcmp(v, g->bin[3], len) == 0);
  test_free_result(b);

  test_drop_table(&loop, conn, by_rows);
  test_drop_table(&loop, conn, by_cols);
  test_close(&loop, conn);
  test_loop_close(&loop);
  free_columns(cols, TYPES_NCOLS);
  free(g);
}
END_TEST

/* ---- argument errors ---- */

/* Refused synchronously (no callback): mixed types in a column, OUT
 * parameters, empty or missing rows, a closed connection. */
START_TEST(bulk_invalid_args) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  outcome_t o;
  uvodbc_param_t rows[6];
  const char* sql = "INSERT INTO t_bulk_invalid_args (a, b) VALUES (?, ?)";

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  memset(&o, 0, sizeof(o));
  req.data = &o;

  rows[0] = uvodbc_param_int64(1);
  rows[1] = uvodbc_param_text("a", 1);
  rows[2] = uvodbc_param_text("2", 1); /* column 0: int then text */
  rows[3] = uvodbc_param_text("b", 1);
  rows[4] = uvodbc_param_null();
  rows[5] = uvodbc_param_null();
  ck_assert_int_eq(uvodbc_conn_bulk(conn, &req, sql, rows, 3, 2, NULL, record),
                   UV_EINVAL);
  rows[2] = uvodbc_param_double(2.0); /* int then double: still mixed */
  ck_assert_int_eq(uvodbc_conn_bulk(conn, &req, sql, rows, 3, 2, NULL, record),
                   UV_EINVAL);
  rows[2] = uvodbc_param_int64(2);
  rows[3] = uvodbc_param_binary("b", 1); /* column 1: text then binary */
  ck_assert_int_eq(uvodbc_conn_bulk(conn, &req, sql, rows, 3, 2, NULL, record),
                   UV_EINVAL);
  rows[3] = uvodbc_param_out(UVODBC_TYPE_TEXT, 10); /* OUT: never in bulk */
  ck_assert_int_eq(uvodbc_conn_bulk(conn, &req, sql, rows, 3, 2, NULL, record),
                   UV_EINVAL);
  rows[3] = uvodbc_param_inout(uvodbc_param_text("b", 1), 10);
  ck_assert_int_eq(uvodbc_conn_bulk(conn, &req, sql, rows, 3, 2, NULL, record),
                   UV_EINVAL);
  rows[3] = uvodbc_param_text("b", 1);
  ck_assert_int_eq(uvodbc_conn_bulk(conn, &req, sql, rows, 0, 2, NULL, record),
                   UV_EINVAL);
  ck_assert_int_eq(uvodbc_conn_bulk(conn, &req, sql, rows, 3, 0, NULL, record),
                   UV_EINVAL);
  ck_assert_int_eq(uvodbc_conn_bulk(conn, &req, sql, NULL, 3, 2, NULL, record),
                   UV_EINVAL);
  ck_assert_int_eq(uvodbc_conn_bulk(conn, &req, NULL, rows, 3, 2, NULL, record),
                   UV_EINVAL);
  ck_assert_int_eq(uvodbc_conn_bulk(NULL, &req, sql, rows, 3, 2, NULL, record),
                   UV_EINVAL);
  ck_assert_int_eq(uvodbc_conn_bulk(conn, NULL, sql, rows, 3, 2, NULL, record),
                   UV_EINVAL);
  ck_assert_int_eq(uvodbc_conn_bulk(conn, &req, sql, rows, SIZE_MAX / 2 + 1, 2,
                                    NULL, record),
                   UV_EINVAL);
  ck_assert_int_eq(uvodbc_conn_close(conn, NULL), 0);
  ck_assert_int_eq(uvodbc_conn_bulk(conn, &req, sql, rows, 3, 2, NULL, record),
                   UVODBC_ECLOSED);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(o.calls, 0);
  test_loop_close(&loop);
}
END_TEST

/* uvodbc_conn_bulk_columns() with default options, for the refusals. */
static int start_columns(uvodbc_conn_t* conn, uvodbc_req_t* req,
                         const char* sql, const uvodbc_param_column_t* cols,
                         size_t ncols, size_t nrows) {
  return uvodbc_conn_bulk_columns(conn, req, sql, cols, ncols, nrows, NULL,
                                  record);
}

/* Columns the worker could trip over are refused synchronously: an unknown
 * type, missing values, binary without lengths, a NULL text or binary
 * pointer in a row not marked NULL (fine when it is), SIZE_MAX binary
 * lengths; and the shared checks (sizes, NULL arguments, closed). */
START_TEST(bulk_columns_invalid_args) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  outcome_t o;
  const char* t = TEST_TABLE("bulk_columns_invalid_args");
  char sql[256];
  int64_t ids[3] = {1, 2, 3};
  const char* text[3] = {"a", NULL, "c"};
  const void* bin[3] = {"x", "y", NULL};
  size_t blen[3] = {1, 1, 0};
  uint8_t nulls[3] = {0, 1, 0};
  uvodbc_param_column_t cols[2];

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, t, "a INTEGER, b VARCHAR(10)");
  snprintf(sql, sizeof(sql), "INSERT INTO %s (a, b) VALUES (?, ?)", t);
  memset(&o, 0, sizeof(o));
  req.data = &o;
  memset(cols, 0, sizeof(cols));
  cols[0].type = UVODBC_TYPE_INT64;
  cols[0].values = ids;
  cols[1].type = UVODBC_TYPE_TEXT;
  cols[1].values = text; /* row 1 NULL pointer, not marked NULL */
  ck_assert_int_eq(start_columns(conn, &req, sql, cols, 2, 3), UV_EINVAL);
  cols[1].type = (uvodbc_type_t)99;
  ck_assert_int_eq(start_columns(conn, &req, sql, cols, 2, 3), UV_EINVAL);
  cols[1].type = UVODBC_TYPE_BINARY; /* no lengths */
  cols[1].values = bin;
  ck_assert_int_eq(start_columns(conn, &req, sql, cols, 2, 3), UV_EINVAL);
  cols[1].lengths = blen; /* row 2 NULL pointer */
  ck_assert_int_eq(start_columns(conn, &req, sql, cols, 2, 3), UV_EINVAL);
  blen[2] = SIZE_MAX;
  bin[2] = "z";
  ck_assert_int_eq(start_columns(conn, &req, sql, cols, 2, 3), UV_EINVAL);
  cols[0].values = NULL;
  cols[1].type = UVODBC_TYPE_NULL;
  ck_assert_int_eq(start_columns(conn, &req, sql, cols, 2, 3), UV_EINVAL);
  cols[0].values = ids;
  ck_assert_int_eq(start_columns(conn, &req, sql, cols, 2, 0), UV_EINVAL);
  ck_assert_int_eq(start_columns(conn, &req, sql, cols, 0, 3), UV_EINVAL);
  ck_assert_int_eq(start_columns(conn, &req, sql, NULL, 2, 3), UV_EINVAL);
  ck_assert_int_eq(start_columns(conn, &req, NULL, cols, 2, 3), UV_EINVAL);
  ck_assert_int_eq(start_columns(NULL, &req, sql, cols, 2, 3), UV_EINVAL);
  ck_assert_int_eq(start_columns(conn, NULL, sql, cols, 2, 3), UV_EINVAL);
  ck_assert_int_eq(o.calls, 0);

  /* Marked NULL, the missing text is fine; one column short: EPARAMS. */
  cols[1].type = UVODBC_TYPE_TEXT;
  cols[1].values = text;
  cols[1].lengths = NULL;
  cols[1].nulls = nulls;
  ck_assert_int_eq(run_bulk_from(&loop, conn, &o, sql, NULL, cols, 3, 2, 0), 0);
  ck_assert_int_eq(o.rows, 3);
  free(o.status_copy);
  ck_assert_int_eq(run_bulk_from(&loop, conn, &o, sql, NULL, cols, 3, 1, 0),
                   UVODBC_EPARAMS);
  ck_assert_uint_eq(count_status(&o, 0, 3, UVODBC_ROW_NOT_RUN), 3);
  free(o.status_copy);
  snprintf(sql, sizeof(sql),
           "SELECT COUNT(*) FROM %s WHERE (a = 1 AND b = 'a') OR "
           "(a = 2 AND b IS NULL) OR (a = 3 AND b = 'c')", t);
  ck_assert_int_eq(test_query_int(&loop, conn, sql), 3);
  test_drop_table(&loop, conn, t);

  ck_assert_int_eq(uvodbc_conn_close(conn, NULL), 0);
  memset(&o, 0, sizeof(o));
  ck_assert_int_eq(start_columns(conn, &req, sql, cols, 2, 3), UVODBC_ECLOSED);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(o.calls, 0);
  test_loop_close(&loop);
}
END_TEST

/* Values per row against markers: UVODBC_EPARAMS (07002) in the callback,
 * nothing executed. */
START_TEST(bulk_wrong_ncols) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  const char* t = TEST_TABLE("bulk_wrong_ncols");
  char sql[256];
  uvodbc_param_t rows[12];
  outcome_t o;
  int i;

  for (i = 0; i < 12; i++) rows[i] = uvodbc_param_int64(i);
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, t, "a INTEGER, b INTEGER");
  snprintf(sql, sizeof(sql), "INSERT INTO %s (a, b) VALUES (?, ?)", t);
  ck_assert_int_eq(run_bulk(&loop, conn, &o, sql, rows, 4, 3, 0),
                   UVODBC_EPARAMS);
  ck_assert_str_eq(o.state, "07002");
  ck_assert_int_eq(o.rows, 0);
  ck_assert_int_eq(o.failed_row, -1);
  ck_assert_uint_eq(o.nstatus, 4);
  ck_assert_uint_eq(count_status(&o, 0, 4, UVODBC_ROW_NOT_RUN), 4);
  free(o.status_copy);
  ck_assert_int_eq(run_bulk(&loop, conn, &o, sql, rows, 12, 1, 5),
                   UVODBC_EPARAMS);
  ck_assert_uint_eq(count_status(&o, 0, 12, UVODBC_ROW_NOT_RUN), 12);
  free(o.status_copy);
  snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", t);
  ck_assert_int_eq(test_query_int(&loop, conn, sql), 0);

  /* The right shape works, with the default batch size. */
  snprintf(sql, sizeof(sql), "INSERT INTO %s (a, b) VALUES (?, ?)", t);
  ck_assert_int_eq(run_bulk(&loop, conn, &o, sql, rows, 6, 2, 0), 0);
  ck_assert_int_eq(o.rows, 6);
  free(o.status_copy);
  snprintf(sql, sizeof(sql), "SELECT SUM(a) FROM %s", t);
  ck_assert_int_eq(test_query_int(&loop, conn, sql), 0 + 2 + 4 + 6 + 8 + 10);
  test_drop_table(&loop, conn, t);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* Invalid SQL: UVODBC_ESQL, no row run. */
START_TEST(bulk_invalid_sql) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_param_t rows[2] = {uvodbc_param_int64(1), uvodbc_param_int64(2)};
  outcome_t o;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  ck_assert_int_eq(run_bulk(&loop, conn, &o,
                            "INSERT INTO t_bulk_missing_table (a) VALUES (?)",
                            rows, 2, 1, 0),
                   UVODBC_ESQL);
  ck_assert_int_gt(o.ndiag, 0);
  ck_assert_int_eq(o.rows, 0);
  ck_assert_uint_eq(o.nstatus, 2);
  ck_assert_uint_eq(count_status(&o, 0, 2, UVODBC_ROW_OK), 0);
  free(o.status_copy);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

Suite* bulk_suite(void) {
  Suite* s = suite_create("bulk");
  TCase* tc = tcase_create("bulk");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, bulk_values_grow);
  tcase_add_test(tc, bulk_duplicate_key);
  tcase_add_test(tc, bulk_duplicate_key_txn);
  if (test_driver() == TEST_PG)
    tcase_add_test(tc, bulk_duplicate_key_batchsize);
  else
    test_skip("bulk_duplicate_key_batchsize",
              "BatchSize is a psqlODBC option");
  tcase_add_test(tc, bulk_checksum_txn);
  if (test_driver() != TEST_SQLITE)
    tcase_add_test(tc, bulk_checksum_autocommit);
  else
    test_skip("bulk_checksum_autocommit",
              "SQLite commits (and syncs) every row in autocommit mode: "
              "minutes for 100,000 rows; bulk_checksum_txn covers it");
  tcase_add_test(tc, bulk_columns_checksum_txn);
  tcase_add_test(tc, bulk_columns_same_as_rows);
  tcase_add_test(tc, bulk_invalid_args);
  tcase_add_test(tc, bulk_columns_invalid_args);
  tcase_add_test(tc, bulk_wrong_ncols);
  tcase_add_test(tc, bulk_invalid_sql);
  suite_add_tcase(s, tc);
  return s;
}
