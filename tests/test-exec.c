/* Statement execution: uvodbc_conn_exec() and uvodbc_conn_query().
 *
 * Rows affected (a zero-row UPDATE is success with 0), a cursor and its
 * first batch from exec, typed parameters, whole results from query with
 * their limits, one request reused from inside its callbacks, and the
 * connection's spare statement reused while cursors stay open. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "uvodbc-test.h"

/* ---- helpers ---- */

/* One request's outcome, as its callback saw it. */
typedef struct {
  int calls;
  int status;
  int64_t rows;
  uvodbc_req_type_t type;
  uvodbc_cursor_t* cursor;
  const uvodbc_batch_t* batch;
  size_t ndiag;
  char state[6];
  char message[512];
} outcome_t;

static void record(uvodbc_req_t* req, int status) {
  outcome_t* o = req->data;
  o->calls++;
  o->status = status;
  ck_assert_int_eq(req->status, status);
  o->rows = req->rows_affected;
  o->type = req->type;
  o->cursor = req->cursor;
  o->batch = req->batch;
  o->ndiag = req->ndiag;
  o->state[0] = '\0';
  o->message[0] = '\0';
  /* Diagnostics are only valid inside the callback: copy them. */
  if (req->ndiag > 0) {
    memcpy(o->state, req->diag[0].sqlstate, 6);
    snprintf(o->message, sizeof(o->message), "%s",
             req->diag[0].message != NULL ? req->diag[0].message : "");
  }
  if (status != 0 && status != UV_EOF && status != UVODBC_ELIMIT &&
      status != UVODBC_EPARAMS)
    test_print_diags(req, "exec test");
}

/* Starts an exec or a query, runs the loop until it has nothing left to do
 * and checks that the callback ran exactly once. */
static int run_op(uv_loop_t* loop, uvodbc_conn_t* conn, int query,
                  uvodbc_req_t* req, outcome_t* o, const char* sql,
                  const uvodbc_param_t* params, size_t nparams,
                  const uvodbc_exec_options_t* opts) {
  int err;
  memset(o, 0, sizeof(*o));
  req->data = o;
  err = query ? uvodbc_conn_query(conn, req, sql, params, nparams, opts,
                                  record)
              : uvodbc_conn_exec(conn, req, sql, params, nparams, opts,
                                 record);
  ck_assert_msg(err == 0, "start failed (%s): %s", uvodbc_err_name(err), sql);
  ck_assert_int_eq(o->calls, 0); /* never from inside the starting call */
  uv_run(loop, UV_RUN_DEFAULT);
  ck_assert_msg(o->calls == 1, "%d callbacks for %s", o->calls, sql);
  return o->status;
}

static void on_cursor_closed(uvodbc_cursor_t* cursor) {
  int* n = uvodbc_cursor_get_data(cursor);
  (*n)++;
}

/* Closes a cursor and waits for its callback (exactly once). */
static void close_cursor(uv_loop_t* loop, uvodbc_cursor_t* cursor) {
  int closed = 0;
  uvodbc_cursor_set_data(cursor, &closed);
  ck_assert_int_eq(uvodbc_cursor_close(cursor, on_cursor_closed), 0);
  ck_assert_int_eq(closed, 0);
  uv_run(loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(closed, 1);
}

/* ---- rows affected ---- */

START_TEST(exec_rows_affected) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  outcome_t o;
  const char* t = TEST_TABLE("exec_rows_affected");
  char sql[256];

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s", t);
  test_exec(&loop, conn, sql);

  /* DDL: no cursor; rows affected is 0 or "unknown". */
  snprintf(sql, sizeof(sql), "CREATE TABLE %s (id INTEGER, v INTEGER)", t);
  ck_assert_int_eq(run_op(&loop, conn, 0, &req, &o, sql, NULL, 0, NULL), 0);
  ck_assert_ptr_null(o.cursor);
  ck_assert_ptr_null(o.batch);
  ck_assert_int_eq(o.type, UVODBC_REQ_EXEC);
  ck_assert_msg(o.rows == 0 || o.rows == -1, "CREATE: %lld rows",
                (long long)o.rows);

  snprintf(sql, sizeof(sql),
           "INSERT INTO %s (id, v) VALUES (1, 10), (2, 20), (3, 30)", t);
  ck_assert_int_eq(run_op(&loop, conn, 0, &req, &o, sql, NULL, 0, NULL), 0);
  ck_assert_ptr_null(o.cursor);
  ck_assert_int_eq(o.rows, 3);

  snprintf(sql, sizeof(sql), "UPDATE %s SET v = v + 1 WHERE id >= 2", t);
  ck_assert_int_eq(run_op(&loop, conn, 0, &req, &o, sql, NULL, 0, NULL), 0);
  ck_assert_int_eq(o.rows, 2);

  /* SQLite and psqlODBC answer SQL_NO_DATA here: still success, 0 rows. */
  snprintf(sql, sizeof(sql), "UPDATE %s SET v = 0 WHERE id = 99", t);
  ck_assert_int_eq(run_op(&loop, conn, 0, &req, &o, sql, NULL, 0, NULL), 0);
  ck_assert_ptr_null(o.cursor);
  ck_assert_int_eq(o.rows, 0);

  snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id = 1", t);
  ck_assert_int_eq(run_op(&loop, conn, 0, &req, &o, sql, NULL, 0, NULL), 0);
  ck_assert_int_eq(o.rows, 1);

  snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id = 99", t);
  ck_assert_int_eq(run_op(&loop, conn, 0, &req, &o, sql, NULL, 0, NULL), 0);
  ck_assert_int_eq(o.rows, 0);

  /* The same zero-row UPDATE with a parameter (SQLExecute path). */
  {
    uvodbc_param_t p = uvodbc_param_int64(12345);
    snprintf(sql, sizeof(sql), "UPDATE %s SET v = 0 WHERE id = ?", t);
    ck_assert_int_eq(run_op(&loop, conn, 0, &req, &o, sql, &p, 1, NULL), 0);
    ck_assert_int_eq(o.rows, 0);
    p = uvodbc_param_int64(3);
    ck_assert_int_eq(run_op(&loop, conn, 0, &req, &o, sql, &p, 1, NULL), 0);
    ck_assert_int_eq(o.rows, 1);
  }

  snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", t);
  ck_assert_int_eq(test_query_int(&loop, conn, sql), 2);
  snprintf(sql, sizeof(sql), "SELECT SUM(v) FROM %s", t);
  ck_assert_int_eq(test_query_int(&loop, conn, sql), 21);

  snprintf(sql, sizeof(sql), "DROP TABLE %s", t);
  ck_assert_int_eq(run_op(&loop, conn, 0, &req, &o, sql, NULL, 0, NULL), 0);
  ck_assert_ptr_null(o.cursor);
  ck_assert_msg(o.rows == 0 || o.rows == -1, "DROP: %lld rows",
                (long long)o.rows);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* ---- exec with a result: a cursor and its first batch ---- */

START_TEST(exec_cursor_first_batch) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  outcome_t o;
  const char* t = TEST_TABLE("exec_cursor_first_batch");
  char sql[256];
  size_t r;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, t, "id INTEGER, v INTEGER, s VARCHAR(20)");
  test_fill_numbers(&loop, conn, t, 5);

  snprintf(sql, sizeof(sql), "SELECT id, v, s FROM %s ORDER BY id", t);
  ck_assert_int_eq(run_op(&loop, conn, 0, &req, &o, sql, NULL, 0, NULL), 0);
  ck_assert_int_eq(o.type, UVODBC_REQ_EXEC);
  ck_assert_ptr_nonnull(o.cursor);
  ck_assert_ptr_nonnull(o.batch);
  ck_assert_ptr_eq(req.cursor, o.cursor);
  ck_assert_uint_eq(uvodbc_cursor_ncols(o.cursor), 3);
  ck_assert_uint_eq(uvodbc_batch_ncols(o.batch), 3);
  ck_assert_uint_eq(uvodbc_batch_nrows(o.batch), 5);
  for (r = 0; r < 5; r++) {
    char want[32];
    int64_t id = test_get_i64(o.batch, 0, r);
    ck_assert_int_eq(id, (int64_t)r + 1);
    ck_assert_int_eq(test_get_i64(o.batch, 1, r), id * 7919 % 10007);
    snprintf(want, sizeof(want), "r%lld", (long long)id);
    ck_assert_str_eq(test_get_text(o.batch, 2, r, NULL), want);
  }

  /* Everything came with the exec: the next fetch is the end. */
  {
    uvodbc_cursor_t* c = o.cursor;
    outcome_t f = {0};
    req.data = &f;
    ck_assert_int_eq(uvodbc_cursor_fetch(c, &req, 0, record), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(f.calls, 1);
    ck_assert_int_eq(f.status, UV_EOF);
    ck_assert_int_eq(f.type, UVODBC_REQ_FETCH);
    ck_assert_ptr_eq(f.cursor, c);
    ck_assert_ptr_null(f.batch);
    close_cursor(&loop, c);
  }

  test_drop_table(&loop, conn, t);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* ---- parameters of every type, in and out ---- */

static const unsigned char exec_blob[] = {0x00, 0x01, 0xff, 0x80,
                                          'a',  0x00, 0x7f};

START_TEST(exec_params_types) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  outcome_t o;
  const char* t = TEST_TABLE("exec_params_types");
  const char* text = "h\xc3\xa9llo, w\xc3\xb6rld \xe2\x80\x94 \xe2\x9c\x93";
  uvodbc_timestamp_t date = {2024, 2, 29, 0, 0, 0, 0};
  uvodbc_timestamp_t time = {0, 0, 0, 13, 14, 15, 0};
  uvodbc_timestamp_t ts = {2023, 12, 31, 23, 59, 58, 250000000};
  const int64_t big = INT64_C(9007199254740993); /* 2^53 + 1 */
  const double dbl = 3.141592653589793;
  uvodbc_param_t p[11];
  char sql[512];
  const uvodbc_batch_t* b;
  const uvodbc_column_t* col;
  uvodbc_timestamp_t got;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, t,
             test_pick("id INTEGER, i BIGINT, d DOUBLE, b BOOLEAN, t VARCHAR(64), "
                  "n DECIMAL(20,4), bin BLOB, dt DATE, tm TIME, ts TIMESTAMP, "
                  "z VARCHAR(10)",
                  "id INTEGER, i BIGINT, d DOUBLE PRECISION, b BOOLEAN, "
                  "t VARCHAR(64), n DECIMAL(20,4), bin BYTEA, dt DATE, "
                  "tm TIME, ts TIMESTAMP(6), z VARCHAR(10)",
                  "id INTEGER, i BIGINT, d DOUBLE, b BOOLEAN, t VARCHAR(64), "
                  "n DECIMAL(20,4), bin VARBINARY(64), dt DATE, tm TIME, "
                  "ts DATETIME(6), z VARCHAR(10)"));

  p[0] = uvodbc_param_int64(1);
  p[1] = uvodbc_param_int64(big);
  p[2] = uvodbc_param_double(dbl);
  p[3] = uvodbc_param_bool(1);
  p[4] = uvodbc_param_text(text, SIZE_MAX);
  p[5] = uvodbc_param_decimal("-12345.2500", SIZE_MAX);
  p[6] = uvodbc_param_binary(exec_blob, sizeof(exec_blob));
  p[7] = uvodbc_param_datetime(UVODBC_TYPE_DATE, date);
  p[8] = uvodbc_param_datetime(UVODBC_TYPE_TIME, time);
  p[9] = uvodbc_param_datetime(UVODBC_TYPE_TIMESTAMP, ts);
  p[10] = uvodbc_param_null();
  snprintf(sql, sizeof(sql),
           "INSERT INTO %s (id, i, d, b, t, n, bin, dt, tm, ts, z) VALUES "
           "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
           t);
  ck_assert_int_eq(run_op(&loop, conn, 0, &req, &o, sql, p, 11, NULL), 0);
  ck_assert_int_eq(o.rows, 1);
  ck_assert_ptr_null(o.cursor);
  /* A second row, to check that the WHERE parameters select. */
  p[0] = uvodbc_param_int64(2);
  p[1] = uvodbc_param_int64(-big);
  p[4] = uvodbc_param_text("other", SIZE_MAX);
  ck_assert_int_eq(run_op(&loop, conn, 0, &req, &o, sql, p, 11, NULL), 0);
  ck_assert_int_eq(o.rows, 1);

  /* Read back through exec with parameters in the WHERE clause. */
  snprintf(sql, sizeof(sql),
           "SELECT id, i, d, b, t, n, bin, dt, tm, ts, z FROM %s "
           "WHERE id = ? AND t = ?",
           t);
  p[0] = uvodbc_param_int64(1);
  p[1] = uvodbc_param_text(text, strlen(text));
  ck_assert_int_eq(run_op(&loop, conn, 0, &req, &o, sql, p, 2, NULL), 0);
  ck_assert_ptr_nonnull(o.cursor);
  b = o.batch;
  ck_assert_uint_eq(uvodbc_batch_nrows(b), 1);
  ck_assert_uint_eq(uvodbc_batch_ncols(b), 11);

  ck_assert_int_eq(test_get_i64(b, 0, 0), 1);
  ck_assert_int_eq(test_get_i64(b, 1, 0), big);
  {
    double d = 0;
    ck_assert_int_eq(uvodbc_batch_get_double(b, 2, 0, &d), 0);
    ck_assert_msg(fabs(d - dbl) < 1e-12, "double %.17g", d);
  }
  col = uvodbc_batch_column(b, 3);
  if (col->type == UVODBC_TYPE_BOOL) {
    int v = 0;
    ck_assert_int_eq(uvodbc_batch_get_bool(b, 3, 0, &v), 0);
    ck_assert_int_eq(v, 1);
  } else { /* MariaDB: BOOLEAN is TINYINT(1) */
    ck_assert_int_eq(col->type, UVODBC_TYPE_INT64);
    ck_assert_int_eq(test_get_i64(b, 3, 0), 1);
  }
  ck_assert_str_eq(test_get_text(b, 4, 0, NULL), text);
  col = uvodbc_batch_column(b, 5);
  if (col->type == UVODBC_TYPE_DOUBLE) {
    double d = 0;
    ck_assert_int_eq(uvodbc_batch_get_double(b, 5, 0, &d), 0);
    ck_assert(d == -12345.25);
  } else { /* exact text; SQLite's DECIMAL is text of a numeric value */
    const char* s = test_get_text(b, 5, 0, NULL);
    ck_assert_msg(strtod(s, NULL) == -12345.25, "decimal %s", s);
    if (test_driver() != TEST_SQLITE) ck_assert_str_eq(s, "-12345.2500");
  }
  {
    const void* bin = NULL;
    size_t len = 0;
    ck_assert_int_eq(uvodbc_batch_column(b, 6)->type, UVODBC_TYPE_BINARY);
    ck_assert_int_eq(uvodbc_batch_get_binary(b, 6, 0, &bin, &len), 0);
    ck_assert_uint_eq(len, sizeof(exec_blob));
    ck_assert(memcmp(bin, exec_blob, len) == 0);
  }
  ck_assert_int_eq(uvodbc_batch_get_timestamp(b, 7, 0, &got), 0);
  ck_assert_int_eq(got.year, 2024);
  ck_assert_int_eq(got.month, 2);
  ck_assert_int_eq(got.day, 29);
  ck_assert_int_eq(uvodbc_batch_get_timestamp(b, 8, 0, &got), 0);
  ck_assert_int_eq(got.hour, 13);
  ck_assert_int_eq(got.minute, 14);
  ck_assert_int_eq(got.second, 15);
  ck_assert_int_eq(uvodbc_batch_get_timestamp(b, 9, 0, &got), 0);
  ck_assert_int_eq(got.year, 2023);
  ck_assert_int_eq(got.month, 12);
  ck_assert_int_eq(got.day, 31);
  ck_assert_int_eq(got.hour, 23);
  ck_assert_int_eq(got.minute, 59);
  ck_assert_int_eq(got.second, 58);
  ck_assert_int_eq(got.nanosecond, 250000000);
  ck_assert_int_eq(uvodbc_batch_is_null(b, 10, 0), 1);
  ck_assert_int_eq(uvodbc_batch_is_null(b, 4, 0), 0);
  close_cursor(&loop, o.cursor);

  /* No match: a cursor with an empty first batch, then the end. */
  p[0] = uvodbc_param_int64(3);
  ck_assert_int_eq(run_op(&loop, conn, 0, &req, &o, sql, p, 2, NULL), 0);
  ck_assert_ptr_nonnull(o.cursor);
  ck_assert_uint_eq(uvodbc_batch_nrows(o.batch), 0);
  {
    uvodbc_cursor_t* c = o.cursor;
    outcome_t f = {0};
    req.data = &f;
    ck_assert_int_eq(uvodbc_cursor_fetch(c, &req, 0, record), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(f.calls, 1);
    ck_assert_int_eq(f.status, UV_EOF);
    close_cursor(&loop, c);
  }

  /* The parameters were copied: the second row differs from the first. */
  snprintf(sql, sizeof(sql), "SELECT i, t FROM %s WHERE id = ?", t);
  p[0] = uvodbc_param_int64(2);
  ck_assert_int_eq(run_op(&loop, conn, 1, &req, &o, sql, p, 1, NULL), 0);
  ck_assert_uint_eq(uvodbc_batch_nrows(o.batch), 1);
  ck_assert_int_eq(test_get_i64(o.batch, 0, 0), -big);
  ck_assert_str_eq(test_get_text(o.batch, 1, 0, NULL), "other");
  uvodbc_req_cleanup(&req);

  /* A wrong parameter count is our own error, with a diagnostic. */
  ck_assert_int_eq(run_op(&loop, conn, 0, &req, &o, sql, p, 2, NULL),
                   UVODBC_EPARAMS);
  ck_assert_ptr_null(o.cursor);
  ck_assert_uint_ge(o.ndiag, 1);
  ck_assert_str_eq(o.state, "07002");

  test_drop_table(&loop, conn, t);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* ---- query: the whole result, owned by the request ---- */

START_TEST(exec_query_whole_result) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  outcome_t o;
  const char* t = TEST_TABLE("exec_query_whole_result");
  const int n = 3000; /* several driver batches of the default 1024 */
  char sql[256];
  const uvodbc_batch_t* b;
  const uvodbc_column_t* col;
  int64_t sum = 0, want_sum = 0;
  size_t r;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, t, "id INTEGER, v INTEGER, s VARCHAR(20)");
  test_fill_numbers(&loop, conn, t, n);
  /* Some NULLs and empty strings among the text. */
  snprintf(sql, sizeof(sql), "UPDATE %s SET s = NULL WHERE id %% 3 = 0", t);
  ck_assert_int_eq(test_exec(&loop, conn, sql), n / 3);
  snprintf(sql, sizeof(sql), "UPDATE %s SET s = '' WHERE id %% 5 = 0", t);
  ck_assert_int_eq(test_exec(&loop, conn, sql), n / 5);

  snprintf(sql, sizeof(sql), "SELECT id, v, s FROM %s ORDER BY id", t);
  ck_assert_int_eq(run_op(&loop, conn, 1, &req, &o, sql, NULL, 0, NULL), 0);
  ck_assert_int_eq(o.type, UVODBC_REQ_QUERY);
  ck_assert_ptr_null(o.cursor);
  ck_assert_ptr_null(req.cursor);
  ck_assert_ptr_nonnull(req.batch);
  ck_assert_ptr_eq(req.batch, o.batch);

  /* The statement is back in the connection's hands: run another statement
   * on it before reading, so that the result must own its metadata. */
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 7"), 7);

  b = req.batch;
  ck_assert_uint_eq(uvodbc_batch_nrows(b), (size_t)n);
  ck_assert_uint_eq(uvodbc_batch_ncols(b), 3);
  col = uvodbc_batch_column(b, 0);
  ck_assert_ptr_nonnull(col);
  ck_assert_str_eq(col->name, "id");
  ck_assert_int_eq(col->type, UVODBC_TYPE_INT64);
  col = uvodbc_batch_column(b, 2);
  ck_assert_ptr_nonnull(col);
  ck_assert_str_eq(col->name, "s");
  ck_assert_int_eq(col->type, UVODBC_TYPE_TEXT);
  ck_assert_uint_eq(col->size, 20);
  ck_assert_ptr_null(uvodbc_batch_column(b, 3));

  for (r = 0; r < (size_t)n; r++) {
    int64_t id = test_get_i64(b, 0, r);
    ck_assert_int_eq(id, (int64_t)r + 1);
    ck_assert_int_eq(test_get_i64(b, 1, r), id * 7919 % 10007);
    sum += test_get_i64(b, 1, r);
    want_sum += id * 7919 % 10007;
    if (id % 5 == 0) { /* set after the NULLs: wins over id % 3 */
      size_t len = 99;
      ck_assert_int_eq(uvodbc_batch_is_null(b, 2, r), 0);
      ck_assert_str_eq(test_get_text(b, 2, r, &len), "");
      ck_assert_uint_eq(len, 0);
    } else if (id % 3 == 0) {
      ck_assert_int_eq(uvodbc_batch_is_null(b, 2, r), 1);
    } else {
      char want[32];
      size_t len = 0;
      const char* s = test_get_text(b, 2, r, &len);
      snprintf(want, sizeof(want), "r%lld", (long long)id);
      ck_assert_uint_eq(len, strlen(want));
      ck_assert_str_eq(s, want);
    }
  }
  ck_assert_int_eq(sum, want_sum);
  ck_assert_int_eq(uvodbc_batch_get_int64(b, 0, (size_t)n, &sum),
                   UVODBC_ERANGE);

  uvodbc_req_cleanup(&req);
  ck_assert_ptr_null(req.batch);
  uvodbc_req_cleanup(&req); /* twice is safe */

  test_drop_table(&loop, conn, t);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* A query's fetches grow: 64 rows, then 512, then whole batches.  Results
 * ending on each side of those steps come back whole and in order. */
START_TEST(exec_query_fetch_steps) {
  static const int sizes[] = {0, 1, 63, 64, 65, 575, 576, 577, 1599, 1600,
                              1601, 2700};
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  const char* t = TEST_TABLE("exec_query_fetch_steps");
  char sql[256];
  size_t i;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, t, "id INTEGER, v INTEGER, s VARCHAR(20)");
  test_fill_numbers(&loop, conn, t, 2700);
  for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
    uvodbc_batch_t* b;
    int64_t next_id = 1;
    snprintf(sql, sizeof(sql),
             "SELECT id, v, s FROM %s WHERE id <= %d ORDER BY id", t,
             sizes[i]);
    b = test_query(&loop, conn, sql, NULL, 0);
    ck_assert_uint_eq(uvodbc_batch_nrows(b), (size_t)sizes[i]);
    test_check_numbers(b, &next_id);
    ck_assert_int_eq(next_id, sizes[i] + 1);
    test_free_result(b);
  }
  test_drop_table(&loop, conn, t);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* A whole result is stored in segments of batch_rows rows: every value,
 * NULLs and text included, reads back across segment boundaries, whatever
 * the batch size and in block and row mode (long_column_bytes 4 reads the
 * text columns in chunks, one row per SQLFetch). */
START_TEST(exec_query_segments) {
  static const size_t batch_rows[] = {0, 1, 7, 1000};
  static const size_t long_bytes[] = {0, 4};
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  outcome_t o;
  uvodbc_exec_options_t opts;
  const char* t = TEST_TABLE("exec_query_segments");
  char sql[256];
  size_t i, j, r;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, t, "id INTEGER, v INTEGER, s VARCHAR(20)");
  test_fill_numbers(&loop, conn, t, 2500);
  snprintf(sql, sizeof(sql),
           "SELECT id, v, s, CASE WHEN MOD(id, 7) = 0 THEN NULL ELSE s END "
           "FROM %s ORDER BY id", t);
  for (i = 0; i < sizeof(batch_rows) / sizeof(batch_rows[0]); i++) {
    for (j = 0; j < sizeof(long_bytes) / sizeof(long_bytes[0]); j++) {
      int64_t next_id = 1, v;
      const char* text;
      uvodbc_exec_options_init(&opts);
      opts.batch_rows = batch_rows[i];
      opts.long_column_bytes = long_bytes[j];
      ck_assert_int_eq(run_op(&loop, conn, 1, &req, &o, sql, NULL, 0, &opts),
                       0);
      ck_assert_uint_eq(uvodbc_batch_nrows(req.batch), 2500);
      test_check_numbers(req.batch, &next_id);
      for (r = 0; r < 2500; r++) {
        if ((r + 1) % 7 == 0) {
          ck_assert_int_eq(uvodbc_batch_is_null(req.batch, 3, r), 1);
          ck_assert_int_eq(uvodbc_batch_get_text(req.batch, 3, r, &text,
                                                 NULL),
                           UVODBC_ENULL);
        } else {
          ck_assert_str_eq(test_get_text(req.batch, 3, r, NULL),
                           test_get_text(req.batch, 2, r, NULL));
        }
      }
      ck_assert_int_eq(uvodbc_batch_get_int64(req.batch, 0, 2500, &v),
                       UVODBC_ERANGE);
      uvodbc_req_cleanup(&req);
    }
  }
  test_drop_table(&loop, conn, t);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* One statement handle serves every query of a connection, and a small
 * result's shape (columns, buffers, bindings) is kept for the next one:
 * a seeded random sequence of queries whose shapes are the same, differ in
 * names only, in layout only, in column count, or have no result or an
 * error in between, each with 0 to 150 rows (more than the first fetch's
 * 64).  Every name, type and value must be the query's own.  Seed:
 * UVODBC_TEST_SEED, printed. */
START_TEST(exec_query_shapes) {
  static const struct {
    const char* select; /* columns: i = id, v = v, s = s */
    const char* names;  /* expected names, one letter each */
  } shapes[] = {
      {"id AS i", "i"},     {"v AS v", "v"},         {"id AS k", "k"},
      {"id AS i, v AS v", "iv"}, {"v AS v, id AS i", "vi"},
      {"s AS s", "s"},      {"id AS i, s AS s", "is"},
  };
  const size_t nshapes = sizeof(shapes) / sizeof(shapes[0]);
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  outcome_t o;
  const char* t = TEST_TABLE("exec_query_shapes");
  const char* env_seed = getenv("UVODBC_TEST_SEED");
  unsigned int seed = env_seed != NULL
                          ? (unsigned int)strtoul(env_seed, NULL, 10)
                          : (unsigned int)time(NULL);
  char sql[256];
  int step;

  printf("exec_query_shapes/%s: seed %u (UVODBC_TEST_SEED)\n",
         test_driver_name(), seed);
  srand(seed);
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, t, "id INTEGER, v INTEGER, s VARCHAR(20)");
  test_fill_numbers(&loop, conn, t, 150);
  for (step = 0; step < 300; step++) {
    int pick = rand() % (int)(nshapes + 2);
    int rows = rand() % 4 == 0 ? rand() % 151 : rand() % 3;
    size_t c, r;
    if (pick == (int)nshapes) { /* no result in between */
      snprintf(sql, sizeof(sql), "UPDATE %s SET v = v WHERE id < 0", t);
      ck_assert_int_eq(run_op(&loop, conn, 1, &req, &o, sql, NULL, 0, NULL),
                       0);
      ck_assert_uint_eq(uvodbc_batch_ncols(req.batch), 0);
      uvodbc_req_cleanup(&req);
      continue;
    }
    if (pick == (int)nshapes + 1) { /* an error in between */
      snprintf(sql, sizeof(sql), "SELECT no_such_column FROM %s", t);
      ck_assert_int_eq(run_op(&loop, conn, 1, &req, &o, sql, NULL, 0, NULL),
                       UVODBC_ESQL);
      continue;
    }
    snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE id <= %d ORDER BY id",
             shapes[pick].select, t, rows);
    ck_assert_msg(run_op(&loop, conn, 1, &req, &o, sql, NULL, 0, NULL) == 0,
                  "step %d, seed %u: %s: %s", step, seed, sql, o.message);
    ck_assert_uint_eq(uvodbc_batch_ncols(req.batch),
                      strlen(shapes[pick].names));
    ck_assert_uint_eq(uvodbc_batch_nrows(req.batch), (size_t)rows);
    for (c = 0; c < strlen(shapes[pick].names); c++) {
      char name = shapes[pick].names[c];
      const uvodbc_column_t* col = uvodbc_batch_column(req.batch, c);
      char want_name[2] = {name, '\0'};
      ck_assert_msg(strcasecmp(col->name, want_name) == 0,
                    "step %d, seed %u: %s: column %zu is %s", step, seed,
                    sql, c, col->name);
      ck_assert_int_eq(col->type, name == 's' ? UVODBC_TYPE_TEXT
                                              : UVODBC_TYPE_INT64);
      for (r = 0; r < (size_t)rows; r++) {
        int64_t id = (int64_t)r + 1;
        if (name == 's') {
          char want[24];
          snprintf(want, sizeof(want), "r%lld", (long long)id);
          ck_assert_str_eq(test_get_text(req.batch, c, r, NULL), want);
        } else {
          int64_t want = name == 'v' ? test_number_v(id) : id;
          ck_assert_int_eq(test_get_i64(req.batch, c, r), want);
        }
      }
    }
    uvodbc_req_cleanup(&req);
  }
  test_drop_table(&loop, conn, t);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* max_rows: one row past the limit fails, exactly the limit succeeds, also
 * when the limit falls inside a batch. */
START_TEST(exec_query_limit_rows) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  outcome_t o;
  uvodbc_exec_options_t opts;
  const char* t = TEST_TABLE("exec_query_limit_rows");
  char sql[256];
  size_t batch_rows[] = {0, 30};
  size_t i;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, t, "id INTEGER, v INTEGER, s VARCHAR(20)");
  test_fill_numbers(&loop, conn, t, 100);
  snprintf(sql, sizeof(sql), "SELECT id FROM %s ORDER BY id", t);

  for (i = 0; i < sizeof(batch_rows) / sizeof(batch_rows[0]); i++) {
    uvodbc_exec_options_init(&opts);
    opts.batch_rows = batch_rows[i];
    opts.max_rows = 99;
    ck_assert_int_eq(run_op(&loop, conn, 1, &req, &o, sql, NULL, 0, &opts),
                     UVODBC_ELIMIT);
    ck_assert_ptr_null(o.batch);
    ck_assert_ptr_null(req.batch);
    ck_assert_uint_ge(o.ndiag, 1);
    ck_assert_msg(strstr(o.message, "limit") != NULL, "diag: %s", o.message);
    ck_assert_msg(strstr(o.message, "99") != NULL, "diag: %s", o.message);
    uvodbc_req_cleanup(&req);

    opts.max_rows = 100;
    ck_assert_int_eq(run_op(&loop, conn, 1, &req, &o, sql, NULL, 0, &opts),
                     0);
    ck_assert_uint_eq(uvodbc_batch_nrows(req.batch), 100);
    ck_assert_int_eq(test_get_i64(req.batch, 0, 99), 100);
    uvodbc_req_cleanup(&req);
  }

  /* The connection is still usable after a limit error. */
  snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", t);
  ck_assert_int_eq(test_query_int(&loop, conn, sql), 100);
  test_drop_table(&loop, conn, t);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* max_bytes counts cell data: 100 text cells of 10 bytes are 1000 bytes. */
START_TEST(exec_query_limit_bytes) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  outcome_t o;
  uvodbc_exec_options_t opts;
  const char* t = TEST_TABLE("exec_query_limit_bytes");
  char sql[256];
  size_t r;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, t, "id INTEGER, v INTEGER, s VARCHAR(20)");
  test_fill_numbers(&loop, conn, t, 100);
  snprintf(sql, sizeof(sql), "UPDATE %s SET s = '0123456789'", t);
  ck_assert_int_eq(test_exec(&loop, conn, sql), 100);
  snprintf(sql, sizeof(sql), "SELECT s FROM %s ORDER BY id", t);

  uvodbc_exec_options_init(&opts);
  opts.batch_rows = 16;
  opts.max_bytes = 999;
  ck_assert_int_eq(run_op(&loop, conn, 1, &req, &o, sql, NULL, 0, &opts),
                   UVODBC_ELIMIT);
  ck_assert_ptr_null(req.batch);
  ck_assert_uint_ge(o.ndiag, 1);
  ck_assert_msg(strstr(o.message, "999") != NULL, "diag: %s", o.message);
  uvodbc_req_cleanup(&req);

  opts.max_bytes = 1000;
  ck_assert_int_eq(run_op(&loop, conn, 1, &req, &o, sql, NULL, 0, &opts), 0);
  ck_assert_uint_eq(uvodbc_batch_nrows(req.batch), 100);
  for (r = 0; r < 100; r++)
    ck_assert_str_eq(test_get_text(req.batch, 0, r, NULL), "0123456789");
  uvodbc_req_cleanup(&req);

  test_drop_table(&loop, conn, t);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* A query of a statement without a result: rows affected, no batch. */
START_TEST(exec_query_non_select) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  outcome_t o;
  const char* t = TEST_TABLE("exec_query_non_select");
  char sql[256];

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, t, "id INTEGER, v INTEGER, s VARCHAR(20)");
  test_fill_numbers(&loop, conn, t, 10);

  snprintf(sql, sizeof(sql), "UPDATE %s SET v = -1 WHERE id <= 4", t);
  ck_assert_int_eq(run_op(&loop, conn, 1, &req, &o, sql, NULL, 0, NULL), 0);
  ck_assert_int_eq(o.type, UVODBC_REQ_QUERY);
  ck_assert_ptr_null(o.cursor);
  ck_assert_ptr_null(o.batch);
  ck_assert_int_eq(o.rows, 4);
  uvodbc_req_cleanup(&req);

  snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE id > 100", t);
  ck_assert_int_eq(run_op(&loop, conn, 1, &req, &o, sql, NULL, 0, NULL), 0);
  ck_assert_ptr_null(o.batch);
  ck_assert_int_eq(o.rows, 0);
  uvodbc_req_cleanup(&req);

  snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s WHERE v = -1", t);
  ck_assert_int_eq(test_query_int(&loop, conn, sql), 4);
  test_drop_table(&loop, conn, t);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* ---- one request reused from inside its own callbacks ---- */

typedef struct {
  uv_loop_t* loop;
  uvodbc_conn_t* conn;
  uvodbc_cursor_t* cursor;
  int step;
  int calls[10];
  int cursor_closed;
  int conn_closed;
  char sql[256];
} chain_t;

static void chain_next(uvodbc_req_t* req, int status);

static void chain_conn_closed(uvodbc_conn_t* conn) {
  chain_t* c = uvodbc_conn_get_data(conn);
  c->conn_closed++;
}

static void chain_cursor_closed(uvodbc_cursor_t* cursor) {
  chain_t* c = uvodbc_cursor_get_data(cursor);
  c->cursor_closed++;
}

static void chain_next(uvodbc_req_t* req, int status) {
  chain_t* c = req->data;
  const char* t = TEST_TABLE("exec_req_reuse");
  uvodbc_param_t p[2];
  int step = c->step++;

  c->calls[step]++;
  switch (step) {
    case 0: /* CREATE done */
      ck_assert_int_eq(status, 0);
      ck_assert_int_eq(req->type, UVODBC_REQ_EXEC);
      p[0] = uvodbc_param_int64(42);
      p[1] = uvodbc_param_text("forty-two", SIZE_MAX);
      snprintf(c->sql, sizeof(c->sql), "INSERT INTO %s (id, s) VALUES (?, ?)",
               t);
      ck_assert_int_eq(
          uvodbc_conn_exec(c->conn, req, c->sql, p, 2, NULL, chain_next), 0);
      ck_assert_int_eq(c->calls[step + 1], 0);
      break;
    case 1: /* INSERT done */
      ck_assert_int_eq(status, 0);
      ck_assert_int_eq(req->rows_affected, 1);
      /* A failing statement, to see its diagnostics go with the request. */
      ck_assert_int_eq(uvodbc_conn_exec(c->conn, req,
                                        "SELECT * FROM t_exec_no_such_table",
                                        NULL, 0, NULL, chain_next),
                       0);
      break;
    case 2: /* the error */
      ck_assert_int_eq(status, UVODBC_ESQL);
      ck_assert_uint_ge(req->ndiag, 1);
      ck_assert_ptr_null(req->cursor);
      snprintf(c->sql, sizeof(c->sql), "SELECT id, s FROM %s", t);
      ck_assert_int_eq(uvodbc_conn_query(c->conn, req, c->sql, NULL, 0, NULL,
                                         chain_next),
                       0);
      /* The restarted request forgot the previous diagnostics. */
      ck_assert_uint_eq(req->ndiag, 0);
      break;
    case 3: /* QUERY done */
      ck_assert_int_eq(status, 0);
      ck_assert_int_eq(req->type, UVODBC_REQ_QUERY);
      ck_assert_uint_eq(req->ndiag, 0);
      ck_assert_uint_eq(uvodbc_batch_nrows(req->batch), 1);
      ck_assert_int_eq(test_get_i64(req->batch, 0, 0), 42);
      ck_assert_str_eq(test_get_text(req->batch, 1, 0, NULL), "forty-two");
      uvodbc_req_cleanup(req); /* frees the result before reuse */
      ck_assert_ptr_null(req->batch);
      ck_assert_int_eq(uvodbc_conn_exec(c->conn, req, c->sql, NULL, 0, NULL,
                                        chain_next),
                       0);
      break;
    case 4: /* EXEC with a cursor done */
      ck_assert_int_eq(status, 0);
      ck_assert_ptr_nonnull(req->cursor);
      ck_assert_uint_eq(uvodbc_batch_nrows(req->batch), 1);
      c->cursor = req->cursor;
      uvodbc_cursor_set_data(c->cursor, c);
      ck_assert_int_eq(uvodbc_cursor_fetch(c->cursor, req, 0, chain_next), 0);
      ck_assert_int_eq(req->type, UVODBC_REQ_FETCH);
      break;
    case 5: /* FETCH done */
      ck_assert_int_eq(status, UV_EOF);
      ck_assert_ptr_eq(req->cursor, c->cursor);
      ck_assert_ptr_null(req->batch);
      ck_assert_int_eq(uvodbc_cursor_close(c->cursor, chain_cursor_closed), 0);
      snprintf(c->sql, sizeof(c->sql), "DROP TABLE %s", t);
      ck_assert_int_eq(uvodbc_conn_exec(c->conn, req, c->sql, NULL, 0, NULL,
                                        chain_next),
                       0);
      break;
    case 6: /* DROP done: the cursor closed before, in order */
      ck_assert_int_eq(status, 0);
      ck_assert_int_eq(c->cursor_closed, 1);
      ck_assert_ptr_null(req->cursor);
      ck_assert_int_eq(uvodbc_conn_close(c->conn, chain_conn_closed), 0);
      ck_assert_int_eq(c->conn_closed, 0);
      break;
    default:
      ck_abort_msg("unexpected callback, step %d", step);
  }
}

START_TEST(exec_req_reuse) {
  uv_loop_t loop;
  uvodbc_req_t req;
  chain_t c;
  int i;

  memset(&c, 0, sizeof(c));
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  c.loop = &loop;
  c.conn = test_connect(&loop);
  uvodbc_conn_set_data(c.conn, &c);
  test_exec(&loop, c.conn, "DROP TABLE IF EXISTS t_exec_req_reuse");
  req.data = &c;
  ck_assert_int_eq(uvodbc_conn_exec(c.conn, &req,
                                    "CREATE TABLE t_exec_req_reuse "
                                    "(id INTEGER, s VARCHAR(20))",
                                    NULL, 0, NULL, chain_next),
                   0);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(c.step, 7);
  for (i = 0; i < 7; i++) ck_assert_msg(c.calls[i] == 1, "step %d: %d", i,
                                        c.calls[i]);
  ck_assert_int_eq(c.cursor_closed, 1);
  ck_assert_int_eq(c.conn_closed, 1);
  test_loop_close(&loop);
}
END_TEST

/* ---- the spare statement: many execs queued at once ---- */

#define SPARE_N 40

typedef struct {
  int order[SPARE_N];
  int done;
} spare_t;

typedef struct {
  uvodbc_req_t req;
  spare_t* s;
  int index;
  int calls;
} spare_req_t;

static void on_spare(uvodbc_req_t* req, int status) {
  spare_req_t* r = req->data;
  r->calls++;
  ck_assert_int_eq(status, 0);
  ck_assert_ptr_null(req->cursor);
  ck_assert_int_eq(req->rows_affected, 1);
  r->s->order[r->s->done++] = r->index;
}

START_TEST(exec_spare_stmt_many) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  const char* t = TEST_TABLE("exec_spare_stmt_many");
  spare_req_t reqs[SPARE_N];
  spare_t s;
  char sql[256];
  int i;

  memset(&s, 0, sizeof(s));
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, t, "id INTEGER, v INTEGER");
  snprintf(sql, sizeof(sql), "INSERT INTO %s (id, v) VALUES (?, ?)", t);
  /* All queued before any runs: FIFO, one spare statement reused. */
  for (i = 0; i < SPARE_N; i++) {
    uvodbc_param_t p[2];
    p[0] = uvodbc_param_int64(i);
    p[1] = uvodbc_param_int64(i * i);
    reqs[i].s = &s;
    reqs[i].index = i;
    reqs[i].calls = 0;
    reqs[i].req.data = &reqs[i];
    /* Every other one without parameters (SQLExecDirect path). */
    if (i % 2 == 0) {
      ck_assert_int_eq(
          uvodbc_conn_exec(conn, &reqs[i].req, sql, p, 2, NULL, on_spare), 0);
    } else {
      char direct[256];
      snprintf(direct, sizeof(direct),
               "INSERT INTO %s (id, v) VALUES (%d, %d)", t, i, i * i);
      ck_assert_int_eq(uvodbc_conn_exec(conn, &reqs[i].req, direct, NULL, 0,
                                        NULL, on_spare),
                       0);
    }
  }
  ck_assert_int_eq(s.done, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(s.done, SPARE_N);
  for (i = 0; i < SPARE_N; i++) {
    ck_assert_int_eq(reqs[i].calls, 1);
    ck_assert_int_eq(s.order[i], i);
  }
  snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", t);
  ck_assert_int_eq(test_query_int(&loop, conn, sql), SPARE_N);
  snprintf(sql, sizeof(sql), "SELECT SUM(v) FROM %s", t);
  ck_assert_int_eq(test_query_int(&loop, conn, sql),
                   (SPARE_N - 1) * SPARE_N * (2 * SPARE_N - 1) / 6);
  test_drop_table(&loop, conn, t);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* ---- cursors left open while the spare statement keeps working ---- */

#define NCURSORS 3

typedef struct {
  uvodbc_req_t req;
  uvodbc_cursor_t* cursor;
  int64_t next_id; /* the id this cursor must see next */
  int64_t last_id;
  int fetches;
  int eofs;
  int closed;
  size_t max_rows;
  struct interleave_s* all;
} icur_t;

typedef struct interleave_s {
  uvodbc_conn_t* conn;
  icur_t cur[NCURSORS];
  uvodbc_req_t insert_req;
  int inserts_started;
  int inserts_done;
  char insert_sql[256];
} interleave_t;

static void on_icur_closed(uvodbc_cursor_t* cursor) {
  icur_t* c = uvodbc_cursor_get_data(cursor);
  c->closed++;
}

static void on_insert(uvodbc_req_t* req, int status) {
  interleave_t* il = req->data;
  ck_assert_int_eq(status, 0);
  ck_assert_int_eq(req->rows_affected, 1);
  il->inserts_done++;
}

static void take_batch(icur_t* c, const uvodbc_batch_t* b) {
  size_t r, n = uvodbc_batch_nrows(b);
  for (r = 0; r < n; r++) {
    ck_assert_int_eq(test_get_i64(b, 0, r), c->next_id);
    c->next_id++;
  }
}

static void on_ifetch(uvodbc_req_t* req, int status) {
  icur_t* c = req->data;
  interleave_t* il = c->all;
  c->fetches++;
  ck_assert_ptr_eq(req->cursor, c->cursor);
  if (status == UV_EOF) {
    c->eofs++;
    ck_assert_ptr_null(req->batch);
    ck_assert_int_eq(c->next_id, c->last_id + 1);
    ck_assert_int_eq(uvodbc_cursor_close(c->cursor, on_icur_closed), 0);
    return;
  }
  ck_assert_int_eq(status, 0);
  ck_assert_uint_ge(uvodbc_batch_nrows(req->batch), 1);
  ck_assert_uint_le(uvodbc_batch_nrows(req->batch), c->max_rows);
  take_batch(c, req->batch);
  /* A statement without a cursor between the fetches: the spare one. */
  if (il->inserts_done == il->inserts_started) {
    uvodbc_param_t p = uvodbc_param_int64(il->inserts_started);
    il->inserts_started++;
    il->insert_req.data = il;
    ck_assert_int_eq(uvodbc_conn_exec(il->conn, &il->insert_req,
                                      il->insert_sql, &p, 1, NULL, on_insert),
                     0);
  }
  ck_assert_int_eq(uvodbc_cursor_fetch(c->cursor, req, c->max_rows,
                                       on_ifetch),
                   0);
}

START_TEST(exec_open_cursors_interleaved) {
  uv_loop_t loop;
  uvodbc_req_t req;
  outcome_t o;
  interleave_t il;
  const char* t = TEST_TABLE("exec_open_cursors");
  const char* t2 = TEST_TABLE("exec_open_cursors_log");
  char sql[256];
  int i;
  /* Each cursor reads its own id range in small batches. */
  static const int64_t lo[NCURSORS] = {1, 101, 201};
  static const int64_t hi[NCURSORS] = {60, 180, 300};
  static const size_t batch[NCURSORS] = {3, 4, 5};
  static const size_t fetch_rows[NCURSORS] = {7, 1, 11};

  memset(&il, 0, sizeof(il));
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  il.conn = test_connect(&loop);
  test_make_table(&loop, il.conn, t, "id INTEGER, v INTEGER, s VARCHAR(20)");
  test_fill_numbers(&loop, il.conn, t, 300);
  test_make_table(&loop, il.conn, t2, "id INTEGER");
  snprintf(il.insert_sql, sizeof(il.insert_sql),
           "INSERT INTO %s (id) VALUES (?)", t2);

  for (i = 0; i < NCURSORS; i++) {
    uvodbc_exec_options_t opts;
    icur_t* c = &il.cur[i];
    uvodbc_exec_options_init(&opts);
    opts.batch_rows = batch[i];
    snprintf(sql, sizeof(sql),
             "SELECT id FROM %s WHERE id BETWEEN %d AND %d ORDER BY id", t,
             (int)lo[i], (int)hi[i]);
    ck_assert_int_eq(run_op(&loop, il.conn, 0, &req, &o, sql, NULL, 0, &opts),
                     0);
    ck_assert_ptr_nonnull(o.cursor);
    c->cursor = o.cursor;
    c->all = &il;
    c->next_id = lo[i];
    c->last_id = hi[i];
    c->max_rows = fetch_rows[i] < batch[i] ? fetch_rows[i] : batch[i];
    uvodbc_cursor_set_data(c->cursor, c);
    ck_assert_uint_eq(uvodbc_batch_nrows(o.batch), batch[i]);
    take_batch(c, o.batch);
    /* Statements without a cursor in between reuse the spare statement. */
    snprintf(sql, sizeof(sql), "INSERT INTO %s (id) VALUES (%d)", t2,
             -1 - i);
    ck_assert_int_eq(run_op(&loop, il.conn, 0, &req, &o, sql, NULL, 0, NULL),
                     0);
    ck_assert_int_eq(o.rows, 1);
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", t2);
    ck_assert_int_eq(test_query_int(&loop, il.conn, sql), i + 1);
  }

  /* All three fetch at once; each callback fetches its cursor again. */
  for (i = 0; i < NCURSORS; i++) {
    icur_t* c = &il.cur[i];
    c->req.data = c;
    ck_assert_int_eq(uvodbc_cursor_fetch(c->cursor, &c->req, c->max_rows,
                                         on_ifetch),
                     0);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  for (i = 0; i < NCURSORS; i++) {
    icur_t* c = &il.cur[i];
    ck_assert_int_eq(c->eofs, 1);
    ck_assert_int_eq(c->closed, 1);
    ck_assert_int_eq(c->next_id, hi[i] + 1);
    ck_assert_int_ge(c->fetches, 2);
  }
  ck_assert_int_gt(il.inserts_started, 0);
  ck_assert_int_eq(il.inserts_done, il.inserts_started);
  snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", t2);
  ck_assert_int_eq(test_query_int(&loop, il.conn, sql),
                   NCURSORS + il.inserts_done);

  test_drop_table(&loop, il.conn, t);
  test_drop_table(&loop, il.conn, t2);
  test_close(&loop, il.conn);
  test_loop_close(&loop);
}
END_TEST

Suite* exec_suite(void) {
  Suite* s = suite_create("exec");
  TCase* tc = tcase_create("exec");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, exec_rows_affected);
  tcase_add_test(tc, exec_cursor_first_batch);
  tcase_add_test(tc, exec_params_types);
  tcase_add_test(tc, exec_query_whole_result);
  tcase_add_test(tc, exec_query_fetch_steps);
  tcase_add_test(tc, exec_query_segments);
  tcase_add_test(tc, exec_query_shapes);
  tcase_add_test(tc, exec_query_limit_rows);
  tcase_add_test(tc, exec_query_limit_bytes);
  tcase_add_test(tc, exec_query_non_select);
  tcase_add_test(tc, exec_req_reuse);
  tcase_add_test(tc, exec_spare_stmt_many);
  tcase_add_test(tc, exec_open_cursors_interleaved);
  suite_add_tcase(s, tc);
  return s;
}
