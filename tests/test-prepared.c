/* Prepared statements: uvodbc_conn_prepare(), uvodbc_prepared_exec() /
 * _query(), parameter descriptions and uvodbc_prepared_close().
 *
 * One statement prepared once and executed hundreds of times with varied
 * parameters (NULLs, empty and > 64 KiB text), results read through a cursor
 * and whole; UV_EBUSY while the statement's cursor is open; a wrong
 * parameter count; what each driver says about parameters; and the handle
 * after its connection closed or was reset. */
#include <stdlib.h>

#include <sql.h> /* SQL_* codes of uvodbc_param_info_t */
#include <sqlext.h>

#include "uvodbc-test.h"

/* ---- helpers ---- */

typedef struct {
  int calls;
  int status;
  int64_t rows;
  uvodbc_cursor_t* cursor;
  const uvodbc_batch_t* batch;
  uvodbc_prepared_t* prepared;
  size_t ndiag;
  char state[6];
} outcome_t;

static void record(uvodbc_req_t* req, int status) {
  outcome_t* o = req->data;
  o->calls++;
  o->status = status;
  ck_assert_int_eq(req->status, status);
  o->rows = req->rows_affected;
  o->cursor = req->cursor;
  o->batch = req->batch;
  o->prepared = req->prepared;
  o->ndiag = req->ndiag;
  o->state[0] = '\0';
  if (req->ndiag > 0) memcpy(o->state, req->diag[0].sqlstate, 6);
  if (status != 0 && status != UV_EOF && status != UVODBC_EPARAMS)
    test_print_diags(req, "prepared test");
}

/* Prepares `sql` and returns the handle; exactly one callback. */
static uvodbc_prepared_t* prepare(uv_loop_t* loop, uvodbc_conn_t* conn,
                                  const char* sql) {
  uvodbc_req_t req;
  outcome_t o;
  memset(&o, 0, sizeof(o));
  req.data = &o;
  ck_assert_int_eq(uvodbc_conn_prepare(conn, &req, sql, record), 0);
  ck_assert_int_eq(o.calls, 0);
  uv_run(loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(o.calls, 1);
  ck_assert_msg(o.status == 0, "prepare failed (%s): %s",
                uvodbc_err_name(o.status), sql);
  ck_assert_ptr_nonnull(o.prepared);
  return o.prepared;
}

/* Runs one execution (query: whole result) to completion. */
static int run_prepared(uv_loop_t* loop, uvodbc_prepared_t* p, int query,
                        uvodbc_req_t* req, outcome_t* o,
                        const uvodbc_param_t* params, size_t nparams,
                        const uvodbc_exec_options_t* opts) {
  int err;
  memset(o, 0, sizeof(*o));
  req->data = o;
  err = query ? uvodbc_prepared_query(p, req, params, nparams, opts, record)
              : uvodbc_prepared_exec(p, req, params, nparams, opts, record);
  ck_assert_msg(err == 0, "prepared start failed: %s", uvodbc_err_name(err));
  ck_assert_int_eq(o->calls, 0);
  uv_run(loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(o->calls, 1);
  return o->status;
}

static int run_fetch(uv_loop_t* loop, uvodbc_cursor_t* c, uvodbc_req_t* req,
                     outcome_t* o) {
  memset(o, 0, sizeof(*o));
  req->data = o;
  ck_assert_int_eq(uvodbc_cursor_fetch(c, req, 0, record), 0);
  ck_assert_int_eq(o->calls, 0);
  uv_run(loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(o->calls, 1);
  return o->status;
}

static void on_cursor_closed(uvodbc_cursor_t* cursor) {
  int* n = uvodbc_cursor_get_data(cursor);
  (*n)++;
}

static void close_cursor(uv_loop_t* loop, uvodbc_cursor_t* cursor) {
  int closed = 0;
  uvodbc_cursor_set_data(cursor, &closed);
  ck_assert_int_eq(uvodbc_cursor_close(cursor, on_cursor_closed), 0);
  ck_assert_int_eq(closed, 0);
  uv_run(loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(closed, 1);
}

static void on_prepared_closed(uvodbc_prepared_t* p) {
  int* n = uvodbc_prepared_get_data(p);
  (*n)++;
}

static void close_prepared(uv_loop_t* loop, uvodbc_prepared_t* p) {
  int closed = 0;
  uvodbc_prepared_set_data(p, &closed);
  ck_assert_int_eq(uvodbc_prepared_close(p, on_prepared_closed), 0);
  ck_assert_int_eq(closed, 0);
  uv_run(loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(closed, 1);
}

/* "SELECT ?" typed as an integer on every driver (psqlODBC types a bare
 * marker as text). */
static const char* int_select(void) {
  return test_pick("SELECT CAST(? AS INTEGER)", "SELECT CAST(? AS INTEGER)",
              "SELECT CAST(? AS SIGNED)");
}

/* ---- the data of the many-executions tests ---- */

#define NEXEC 500
#define LONG_BASE (64 * 1024 + 100) /* above 64 KiB: chunked SQLGetData */

/* Row i (0-based): id i+1; n NULL every 7th; s NULL every 11th, empty for
 * i == 1, > 64 KiB every 50th, short otherwise; d NULL every 13th. */
static int n_is_null(int i) {
  return i % 7 == 3;
}
static int s_is_null(int i) {
  return i % 11 == 5;
}
static int d_is_null(int i) {
  return i % 13 == 6;
}
static int64_t n_value(int i) {
  return (int64_t)i * 123456789013LL - 31000000000000LL;
}
static double d_value(int i) {
  return i * 0.25 - 10.0;
}
/* Writes s of row i into buf (room for LONG_BASE + NEXEC + 1); returns its
 * length. */
static size_t s_value(int i, char* buf) {
  size_t len, k;
  if (i == 1) {
    buf[0] = '\0';
    return 0;
  }
  if (i % 50 == 0) {
    len = LONG_BASE + (size_t)i;
    for (k = 0; k < len; k++) buf[k] = (char)('a' + (k * 7 + (size_t)i) % 26);
    buf[len] = '\0';
    return len;
  }
  return (size_t)snprintf(buf, 64, "value %d of %d", i, NEXEC);
}

static void params_for(int i, char* buf, uvodbc_param_t p[4]) {
  size_t len = s_value(i, buf);
  p[0] = uvodbc_param_int64(i + 1);
  p[1] = n_is_null(i) ? uvodbc_param_null() : uvodbc_param_int64(n_value(i));
  p[2] = s_is_null(i) ? uvodbc_param_null() : uvodbc_param_text(buf, len);
  p[3] = d_is_null(i) ? uvodbc_param_null() : uvodbc_param_double(d_value(i));
}

/* Checks row `row` of a (id, n, s, d) batch against row i of the data. */
static void check_row(const uvodbc_batch_t* b, size_t row, int i,
                      char* buf) {
  const char* s;
  size_t len, want_len;
  double d;
  ck_assert_int_eq(test_get_i64(b, 0, row), i + 1);
  if (n_is_null(i)) {
    ck_assert_int_eq(uvodbc_batch_is_null(b, 1, row), 1);
  } else {
    ck_assert_int_eq(uvodbc_batch_is_null(b, 1, row), 0);
    ck_assert_int_eq(test_get_i64(b, 1, row), n_value(i));
  }
  if (s_is_null(i)) {
    ck_assert_int_eq(uvodbc_batch_is_null(b, 2, row), 1);
  } else {
    want_len = s_value(i, buf);
    ck_assert_int_eq(uvodbc_batch_get_text(b, 2, row, &s, &len), 0);
    ck_assert_msg(len == want_len, "row %d: text of %zu bytes, want %zu", i,
                  len, want_len);
    ck_assert_msg(memcmp(s, buf, len) == 0, "row %d: text differs", i);
    ck_assert_int_eq(s[len], '\0');
  }
  if (d_is_null(i)) {
    ck_assert_int_eq(uvodbc_batch_is_null(b, 3, row), 1);
  } else {
    ck_assert_int_eq(uvodbc_batch_get_double(b, 3, row, &d), 0);
    ck_assert_double_eq(d, d_value(i));
  }
}

static const char* data_columns(void) {
  return test_pick("id INTEGER PRIMARY KEY, n BIGINT, s TEXT, d DOUBLE",
              "id INTEGER PRIMARY KEY, n BIGINT, s TEXT, d DOUBLE PRECISION",
              "id INTEGER PRIMARY KEY, n BIGINT, s LONGTEXT, d DOUBLE");
}

/* Inserts the NEXEC rows with one prepared INSERT, each execution started
 * from the previous one's callback. */
typedef struct {
  uvodbc_prepared_t* p;
  uvodbc_req_t req;
  char* buf;
  int next;
  int calls;
  int failed;
} chain_t;

static void on_insert(uvodbc_req_t* req, int status) {
  chain_t* c = req->data;
  uvodbc_param_t params[4];
  c->calls++;
  if (status != 0 || req->rows_affected != 1 || req->cursor != NULL) {
    test_print_diags(req, "prepared insert");
    c->failed = c->next;
    return;
  }
  if (c->next == NEXEC) return;
  params_for(c->next, c->buf, params);
  c->next++;
  /* The request is reused from inside its own callback. */
  if (uvodbc_prepared_exec(c->p, req, params, 4, NULL, on_insert) != 0)
    c->failed = c->next;
}

static void insert_all(uv_loop_t* loop, uvodbc_conn_t* conn,
                       const char* table, char* buf) {
  chain_t c;
  uvodbc_param_t params[4];
  char sql[256];
  memset(&c, 0, sizeof(c));
  c.buf = buf;
  c.failed = -1;
  snprintf(sql, sizeof(sql), "INSERT INTO %s (id, n, s, d) VALUES (?, ?, ?, ?)",
           table);
  c.p = prepare(loop, conn, sql);
  ck_assert_uint_eq(uvodbc_prepared_nparams(c.p), 4);
  params_for(0, buf, params);
  c.next = 1;
  c.req.data = &c;
  ck_assert_int_eq(uvodbc_prepared_exec(c.p, &c.req, params, 4, NULL,
                                        on_insert),
                   0);
  /* Busy while an execution is pending. */
  ck_assert_int_eq(uvodbc_prepared_exec(c.p, &c.req, params, 4, NULL,
                                        on_insert),
                   UV_EBUSY);
  uv_run(loop, UV_RUN_DEFAULT);
  ck_assert_msg(c.failed < 0, "insert %d failed", c.failed);
  ck_assert_int_eq(c.calls, NEXEC);
  ck_assert_int_eq(c.next, NEXEC);
  close_prepared(loop, c.p);
}

/* ---- tests ---- */

/* 500 executions of one prepared INSERT, then every row read back whole and
 * compared. */
START_TEST(prepared_exec_many) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  const char* t = TEST_TABLE("prepared_exec_many");
  char* buf = malloc(LONG_BASE + NEXEC + 1);
  char sql[256];
  uvodbc_batch_t* all;
  int i;

  ck_assert_ptr_nonnull(buf);
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, t, data_columns());
  insert_all(&loop, conn, t, buf);

  snprintf(sql, sizeof(sql), "SELECT id, n, s, d FROM %s ORDER BY id", t);
  all = test_query(&loop, conn, sql, NULL, 0);
  ck_assert_uint_eq(uvodbc_batch_nrows(all), NEXEC);
  for (i = 0; i < NEXEC; i++) check_row(all, (size_t)i, i, buf);
  test_free_result(all);
  snprintf(sql, sizeof(sql),
           "SELECT COUNT(*) - COUNT(n), COUNT(*) - COUNT(s), "
           "COUNT(*) - COUNT(d) FROM %s",
           t);
  all = test_query(&loop, conn, sql, NULL, 0);
  {
    int nn = 0, sn = 0, dn = 0;
    for (i = 0; i < NEXEC; i++) {
      nn += n_is_null(i);
      sn += s_is_null(i);
      dn += d_is_null(i);
    }
    ck_assert_int_eq(test_get_i64(all, 0, 0), nn);
    ck_assert_int_eq(test_get_i64(all, 1, 0), sn);
    ck_assert_int_eq(test_get_i64(all, 2, 0), dn);
  }
  test_free_result(all);

  test_drop_table(&loop, conn, t);
  test_close(&loop, conn);
  test_loop_close(&loop);
  free(buf);
}
END_TEST

/* One prepared SELECT, executed for every row: whole results with
 * uvodbc_prepared_query(), cursors with uvodbc_prepared_exec(). */
typedef struct {
  uvodbc_prepared_t* p;
  uvodbc_req_t req;
  char* buf;
  int next;
  int queries;
  int failed;
} select_chain_t;

static void on_select(uvodbc_req_t* req, int status) {
  select_chain_t* c = req->data;
  uvodbc_param_t id;
  int i = c->next - 1;
  c->queries++;
  ck_assert_msg(status == 0, "prepared query for row %d: %s", i,
                uvodbc_err_name(status));
  ck_assert_ptr_null(req->cursor);
  ck_assert_ptr_nonnull(req->batch);
  ck_assert_uint_eq(uvodbc_batch_nrows(req->batch), 1);
  check_row(req->batch, 0, i, c->buf);
  uvodbc_req_cleanup(req);
  ck_assert_ptr_null(req->batch);
  if (c->next == NEXEC) return;
  id = uvodbc_param_int64(++c->next);
  ck_assert_int_eq(uvodbc_prepared_query(c->p, req, &id, 1, NULL, on_select),
                   0);
}

START_TEST(prepared_query_many) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  const char* t = TEST_TABLE("prepared_query_many");
  char* buf = malloc(LONG_BASE + NEXEC + 1);
  char sql[256];
  select_chain_t c;
  uvodbc_param_t id;

  ck_assert_ptr_nonnull(buf);
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, t, data_columns());
  insert_all(&loop, conn, t, buf);

  memset(&c, 0, sizeof(c));
  c.buf = buf;
  snprintf(sql, sizeof(sql), "SELECT id, n, s, d FROM %s WHERE id = ?", t);
  c.p = prepare(&loop, conn, sql);
  ck_assert_uint_eq(uvodbc_prepared_nparams(c.p), 1);
  c.req.data = &c;
  id = uvodbc_param_int64(1);
  c.next = 1;
  ck_assert_int_eq(uvodbc_prepared_query(c.p, &c.req, &id, 1, NULL,
                                         on_select),
                   0);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(c.queries, NEXEC);
  close_prepared(&loop, c.p);

  test_drop_table(&loop, conn, t);
  test_close(&loop, conn);
  test_loop_close(&loop);
  free(buf);
}
END_TEST

/* Ranges of rows through the statement's cursor, small batches, 25 times
 * over; the cursor must be closed before the next execution. */
START_TEST(prepared_exec_cursor) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  const char* t = TEST_TABLE("prepared_exec_cursor");
  char* buf = malloc(LONG_BASE + NEXEC + 1);
  char sql[256];
  uvodbc_prepared_t* p;
  uvodbc_exec_options_t opts;
  uvodbc_req_t req;
  outcome_t o;
  int k;

  ck_assert_ptr_nonnull(buf);
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, t, data_columns());
  insert_all(&loop, conn, t, buf);
  snprintf(sql, sizeof(sql),
           "SELECT id, n, s, d FROM %s WHERE id >= ? AND id < ? ORDER BY id",
           t);
  p = prepare(&loop, conn, sql);
  uvodbc_exec_options_init(&opts);
  opts.batch_rows = 7;

  for (k = 0; k < 25; k++) {
    int lo = 1 + (k * 37) % 450, hi = lo + 3 + k * 2; /* [lo, hi) */
    int next = lo;
    uvodbc_param_t range[2];
    uvodbc_cursor_t* cursor;
    size_t r;
    range[0] = uvodbc_param_int64(lo);
    range[1] = uvodbc_param_int64(hi);
    ck_assert_int_eq(
        run_prepared(&loop, p, 0, &req, &o, range, 2, &opts), 0);
    ck_assert_ptr_nonnull(o.cursor);
    cursor = o.cursor;
    ck_assert_uint_eq(uvodbc_cursor_ncols(cursor), 4);
    for (;;) {
      ck_assert_ptr_nonnull(o.batch);
      for (r = 0; r < uvodbc_batch_nrows(o.batch); r++, next++)
        check_row(o.batch, r, next - 1, buf);
      if (run_fetch(&loop, cursor, &req, &o) == UV_EOF) break;
      ck_assert_int_eq(o.status, 0);
    }
    ck_assert_int_eq(next, hi);
    /* Still busy: the cursor borrows the statement until it is closed. */
    ck_assert_int_eq(uvodbc_prepared_exec(p, &req, range, 2, NULL, record),
                     UV_EBUSY);
    close_cursor(&loop, cursor);
  }
  close_prepared(&loop, p);

  test_drop_table(&loop, conn, t);
  test_close(&loop, conn);
  test_loop_close(&loop);
  free(buf);
}
END_TEST

/* Every call that needs the statement answers UV_EBUSY while its cursor is
 * open, and works again once the cursor is closed. */
START_TEST(prepared_busy_cursor) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  const char* t = TEST_TABLE("prepared_busy_cursor");
  char sql[256];
  uvodbc_prepared_t* p;
  uvodbc_exec_options_t opts;
  uvodbc_req_t req, req2;
  outcome_t o, o2;
  uvodbc_param_t lim = uvodbc_param_int64(10);
  uvodbc_cursor_t* cursor;
  int closed = 0;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, t, "id INTEGER");
  snprintf(sql, sizeof(sql),
           "INSERT INTO %s (id) VALUES (1), (2), (3), (4), (5), (6)", t);
  ck_assert_int_eq(test_exec(&loop, conn, sql), 6);
  snprintf(sql, sizeof(sql), "SELECT id FROM %s WHERE id <= ? ORDER BY id", t);
  p = prepare(&loop, conn, sql);
  uvodbc_exec_options_init(&opts);
  opts.batch_rows = 2;

  ck_assert_int_eq(run_prepared(&loop, p, 0, &req, &o, &lim, 1, &opts), 0);
  ck_assert_ptr_nonnull(o.cursor);
  cursor = o.cursor;
  ck_assert_uint_eq(uvodbc_batch_nrows(o.batch), 2);

  memset(&o2, 0, sizeof(o2));
  req2.data = &o2;
  ck_assert_int_eq(uvodbc_prepared_exec(p, &req2, &lim, 1, NULL, record),
                   UV_EBUSY);
  ck_assert_int_eq(uvodbc_prepared_query(p, &req2, &lim, 1, NULL, record),
                   UV_EBUSY);
  ck_assert_int_eq(uvodbc_prepared_close(p, NULL), UV_EBUSY);
  /* The connection itself stays usable meanwhile. */
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 42"), 42);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(o2.calls, 0);

  /* Part-read: closing the cursor frees the statement for the next run. */
  ck_assert_int_eq(run_fetch(&loop, cursor, &req, &o), 0);
  ck_assert_int_eq(test_get_i64(o.batch, 0, 0), 3);
  uvodbc_cursor_set_data(cursor, &closed);
  ck_assert_int_eq(uvodbc_cursor_close(cursor, on_cursor_closed), 0);
  /* Still busy until the close callback ran. */
  ck_assert_int_eq(uvodbc_prepared_exec(p, &req2, &lim, 1, NULL, record),
                   UV_EBUSY);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(closed, 1);

  lim = uvodbc_param_int64(4);
  ck_assert_int_eq(run_prepared(&loop, p, 1, &req2, &o2, &lim, 1, NULL), 0);
  ck_assert_ptr_null(o2.cursor);
  ck_assert_uint_eq(uvodbc_batch_nrows(o2.batch), 4);
  ck_assert_int_eq(test_get_i64(o2.batch, 0, 3), 4);
  uvodbc_req_cleanup(&req2);

  /* A result with no rows: a cursor that is at its end at once. */
  lim = uvodbc_param_int64(0);
  ck_assert_int_eq(run_prepared(&loop, p, 0, &req, &o, &lim, 1, &opts), 0);
  ck_assert_ptr_nonnull(o.cursor);
  ck_assert_uint_eq(o.batch != NULL ? uvodbc_batch_nrows(o.batch) : 0, 0);
  cursor = o.cursor;
  ck_assert_int_eq(run_fetch(&loop, cursor, &req, &o), UV_EOF);
  close_cursor(&loop, cursor);

  close_prepared(&loop, p);
  test_drop_table(&loop, conn, t);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* The count of values must match the markers: UVODBC_EPARAMS (07002)
 * through the callback, and the statement stays usable. */
START_TEST(prepared_wrong_param_count) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  const char* t = TEST_TABLE("prepared_wrong_param_count");
  char sql[256];
  uvodbc_prepared_t* p;
  uvodbc_req_t req;
  outcome_t o;
  uvodbc_param_t v[3];

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, t, "a INTEGER, b VARCHAR(20)");
  snprintf(sql, sizeof(sql), "INSERT INTO %s (a, b) VALUES (?, ?)", t);
  p = prepare(&loop, conn, sql);
  ck_assert_uint_eq(uvodbc_prepared_nparams(p), 2);
  v[0] = uvodbc_param_int64(1);
  v[1] = uvodbc_param_text("one", SIZE_MAX);
  v[2] = uvodbc_param_int64(3);

  ck_assert_int_eq(run_prepared(&loop, p, 0, &req, &o, v, 1, NULL),
                   UVODBC_EPARAMS);
  ck_assert_str_eq(o.state, "07002");
  ck_assert_int_eq(run_prepared(&loop, p, 0, &req, &o, v, 3, NULL),
                   UVODBC_EPARAMS);
  ck_assert_int_eq(run_prepared(&loop, p, 1, &req, &o, NULL, 0, NULL),
                   UVODBC_EPARAMS);
  /* nparams without params is refused before anything is queued. */
  ck_assert_int_eq(uvodbc_prepared_exec(p, &req, NULL, 2, NULL, record),
                   UV_EINVAL);

  ck_assert_int_eq(run_prepared(&loop, p, 0, &req, &o, v, 2, NULL), 0);
  ck_assert_int_eq(o.rows, 1);
  snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s WHERE b = 'one'", t);
  ck_assert_int_eq(test_query_int(&loop, conn, sql), 1);

  close_prepared(&loop, p);
  test_drop_table(&loop, conn, t);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* What SQLDescribeParam says, per driver (measured):
 *   psqlODBC 13: real types for an INSERT's markers (SQL_INTEGER 10,
 *     SQL_VARCHAR of the column, SQL_FLOAT 17); a marker with no context
 *     ("SELECT ?") is SQL_LONGVARCHAR 8190.
 *   MariaDB 3.1: every marker SQL_VARCHAR 25165824, nullable unknown.
 *   SQLite 0.9998: every marker SQL_LONGVARCHAR 65536, nullable.
 * All three answer (described 1); only psqlODBC's answer is informative. */
START_TEST(prepared_param_info) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  const char* t = TEST_TABLE("prepared_param_info");
  char sql[256];
  uvodbc_prepared_t* p;
  uvodbc_param_info_t info[3];
  uvodbc_req_t req;
  outcome_t o;
  uvodbc_param_t v[3];
  size_t i;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, t,
             test_pick("id INTEGER PRIMARY KEY, s VARCHAR(40), d DOUBLE",
                  "id INTEGER PRIMARY KEY, s VARCHAR(40), d DOUBLE PRECISION",
                  "id INTEGER PRIMARY KEY, s VARCHAR(40), d DOUBLE"));
  snprintf(sql, sizeof(sql), "INSERT INTO %s (id, s, d) VALUES (?, ?, ?)", t);
  p = prepare(&loop, conn, sql);
  ck_assert_uint_eq(uvodbc_prepared_nparams(p), 3);
  for (i = 0; i < 3; i++) {
    memset(&info[i], 0x5a, sizeof(info[i]));
    ck_assert_int_eq(uvodbc_prepared_param(p, i, &info[i]), 0);
    ck_assert_int_eq(info[i].described, 1);
  }
  switch (test_driver()) {
    case TEST_PG:
      ck_assert_int_eq(info[0].sql_type, SQL_INTEGER);
      ck_assert_uint_eq(info[0].size, 10);
      ck_assert_int_eq(info[1].sql_type, SQL_VARCHAR);
      ck_assert_int_eq(info[2].sql_type, SQL_FLOAT);
      ck_assert_uint_eq(info[2].size, 17);
      for (i = 0; i < 3; i++) ck_assert_int_eq(info[i].nullable, SQL_NULLABLE);
      break;
    case TEST_MARIADB:
      for (i = 0; i < 3; i++) {
        ck_assert_int_eq(info[i].sql_type, SQL_VARCHAR);
        ck_assert_uint_eq(info[i].size, 25165824);
        ck_assert_int_eq(info[i].nullable, SQL_NULLABLE_UNKNOWN);
      }
      break;
    default:
      for (i = 0; i < 3; i++) {
        ck_assert_int_eq(info[i].sql_type, SQL_LONGVARCHAR);
        ck_assert_uint_eq(info[i].size, 65536);
        ck_assert_int_eq(info[i].nullable, SQL_NULLABLE);
      }
      break;
  }
  ck_assert_int_eq(uvodbc_prepared_param(p, 3, &info[0]), UVODBC_ERANGE);
  ck_assert_int_eq(uvodbc_prepared_param(p, 0, NULL), UV_EINVAL);
  ck_assert_int_eq(uvodbc_prepared_param(NULL, 0, &info[0]), UV_EINVAL);
  ck_assert_uint_eq(uvodbc_prepared_nparams(NULL), 0);

  /* Whatever the description, our own types bind: a double into the
   * DOUBLE column, text into the VARCHAR. */
  v[0] = uvodbc_param_int64(7);
  v[1] = uvodbc_param_text("seven", SIZE_MAX);
  v[2] = uvodbc_param_double(7.5);
  ck_assert_int_eq(run_prepared(&loop, p, 0, &req, &o, v, 3, NULL), 0);
  close_prepared(&loop, p);
  snprintf(sql, sizeof(sql), "SELECT d FROM %s WHERE id = 7 AND s = 'seven'",
           t);
  {
    uvodbc_batch_t* b = test_query(&loop, conn, sql, NULL, 0);
    double d = 0;
    ck_assert_uint_eq(uvodbc_batch_nrows(b), 1);
    ck_assert_int_eq(uvodbc_batch_get_double(b, 0, 0, &d), 0);
    ck_assert_double_eq(d, 7.5);
    test_free_result(b);
  }

  /* No markers: nothing to describe. */
  p = prepare(&loop, conn, "SELECT 1");
  ck_assert_uint_eq(uvodbc_prepared_nparams(p), 0);
  ck_assert_int_eq(uvodbc_prepared_param(p, 0, &info[0]), UVODBC_ERANGE);
  ck_assert_int_eq(run_prepared(&loop, p, 1, &req, &o, NULL, 0, NULL), 0);
  ck_assert_int_eq(test_get_i64(o.batch, 0, 0), 1);
  uvodbc_req_cleanup(&req);
  close_prepared(&loop, p);

  /* A marker without context. */
  p = prepare(&loop, conn, "SELECT ?");
  ck_assert_int_eq(uvodbc_prepared_param(p, 0, &info[0]), 0);
  ck_assert_int_eq(info[0].described, 1);
  ck_assert_int_eq(info[0].sql_type,
                   test_driver() == TEST_MARIADB ? SQL_VARCHAR
                                                 : SQL_LONGVARCHAR);
  close_prepared(&loop, p);

  test_drop_table(&loop, conn, t);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* Invalid SQL, measured: whether SQLPrepare already fails depends on the
 * driver and the statement.  SQLite's driver compiles SELECTs at prepare
 * (HY000) but other statements only at execution; MariaDB's Connector/ODBC
 * fails a SELECT at prepare (42S02 missing table, 42000 syntax) but
 * prepares "SELEC ..." and an INSERT into a missing table without
 * complaint; psqlODBC fails everything at the first execution. */
static void invalid_case(uv_loop_t* loop, uvodbc_conn_t* conn,
                         const char* sql, int fails_at_prepare,
                         const char* prepare_state) {
  uvodbc_req_t req;
  outcome_t o;
  memset(&o, 0, sizeof(o));
  req.data = &o;
  ck_assert_int_eq(uvodbc_conn_prepare(conn, &req, sql, record), 0);
  uv_run(loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(o.calls, 1);
  if (fails_at_prepare) {
    ck_assert_msg(o.status == UVODBC_ESQL, "%s: prepare gave %s", sql,
                  uvodbc_err_name(o.status));
    ck_assert_ptr_null(o.prepared);
    ck_assert_int_gt(o.ndiag, 0);
    ck_assert_str_eq(o.state, prepare_state);
  } else {
    uvodbc_prepared_t* p = o.prepared;
    ck_assert_msg(o.status == 0, "%s: prepare gave %s", sql,
                  uvodbc_err_name(o.status));
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(run_prepared(loop, p, 0, &req, &o, NULL, 0, NULL),
                     UVODBC_ESQL);
    ck_assert_int_gt(o.ndiag, 0);
    /* The failed execution leaves the handle usable (and closable). */
    ck_assert_int_eq(run_prepared(loop, p, 1, &req, &o, NULL, 0, NULL),
                     UVODBC_ESQL);
    close_prepared(loop, p);
  }
}

START_TEST(prepared_invalid_sql) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  int maria = test_driver() == TEST_MARIADB;
  int sqlite = test_driver() == TEST_SQLITE;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  invalid_case(&loop, conn, "SELECT id FROM t_prepared_missing",
               sqlite || maria, sqlite ? "HY000" : "42S02");
  invalid_case(&loop, conn, "SELECT 1 +", sqlite || maria,
               sqlite ? "HY000" : "42000");
  invalid_case(&loop, conn, "SELEC nothing FROM t_prepared_missing", 0, "");
  invalid_case(&loop, conn, "INSERT INTO t_prepared_missing VALUES (1)", 0,
               "");
  ck_assert_int_eq(uvodbc_conn_prepare(conn, &req, NULL, record), UV_EINVAL);
  ck_assert_int_eq(uvodbc_conn_prepare(NULL, &req, "SELECT 1", record),
                   UV_EINVAL);
  ck_assert_int_eq(uvodbc_conn_prepare(conn, NULL, "SELECT 1", record),
                   UV_EINVAL);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* After the connection closed: every execution UVODBC_ECLOSED, the
 * description gone, and close still calls back exactly once. */
START_TEST(prepared_after_conn_close) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_prepared_t *p, *q;
  uvodbc_req_t req;
  outcome_t o;
  uvodbc_param_t v = uvodbc_param_int64(1);
  uvodbc_param_info_t info;
  int closed_p = 0, closed_q = 0;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  p = prepare(&loop, conn, "SELECT ?");
  q = prepare(&loop, conn, "SELECT ?");
  test_close(&loop, conn);

  memset(&o, 0, sizeof(o));
  req.data = &o;
  ck_assert_int_eq(uvodbc_prepared_exec(p, &req, &v, 1, NULL, record),
                   UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_prepared_query(p, &req, &v, 1, NULL, record),
                   UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_prepared_param(p, 0, &info), UVODBC_ECLOSED);
  ck_assert_uint_eq(uvodbc_prepared_nparams(p), 0);

  uvodbc_prepared_set_data(p, &closed_p);
  uvodbc_prepared_set_data(q, &closed_q);
  ck_assert_int_eq(uvodbc_prepared_close(p, on_prepared_closed), 0);
  ck_assert_int_eq(uvodbc_prepared_close(p, on_prepared_closed), UV_EINVAL);
  ck_assert_int_eq(uvodbc_prepared_close(q, NULL), 0); /* no callback: ok */
  ck_assert_int_eq(closed_p, 0); /* never from inside the call */
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(closed_p, 1);
  ck_assert_int_eq(closed_q, 0);
  ck_assert_int_eq(o.calls, 0);
  test_loop_close(&loop);
}
END_TEST

/* Closed while the connection is closing, and with its cursor open when the
 * connection closes: the cursor fails with UVODBC_ECLOSED, both handles
 * call back once, the connection's close last. */
typedef struct {
  int conn_closed;
  int p_closed;
  int c_closed;
  int order; /* conn_closed saw both others first */
} closing_t;

static void on_p_closed(uvodbc_prepared_t* p) {
  closing_t* c = uvodbc_prepared_get_data(p);
  c->p_closed++;
}

static void on_c_closed(uvodbc_cursor_t* cursor) {
  closing_t* c = uvodbc_cursor_get_data(cursor);
  c->c_closed++;
}

static void on_conn_closed(uvodbc_conn_t* conn) {
  closing_t* c = uvodbc_conn_get_data(conn);
  c->conn_closed++;
  c->order = c->p_closed == 2;
}

START_TEST(prepared_close_while_conn_closing) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_prepared_t *p, *q;
  uvodbc_cursor_t* cursor;
  uvodbc_exec_options_t opts;
  uvodbc_req_t req;
  outcome_t o;
  uvodbc_param_t v = uvodbc_param_int64(5);
  closing_t cl;

  memset(&cl, 0, sizeof(cl));
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  p = prepare(&loop, conn, "SELECT ?");
  q = prepare(&loop, conn,
              test_pick("SELECT ? UNION ALL SELECT 2 UNION ALL SELECT 3",
                   "SELECT ? UNION ALL SELECT 2 UNION ALL SELECT 3",
                   "SELECT ? UNION ALL SELECT 2 UNION ALL SELECT 3"));
  uvodbc_exec_options_init(&opts);
  opts.batch_rows = 1;
  ck_assert_int_eq(run_prepared(&loop, q, 0, &req, &o, &v, 1, &opts), 0);
  ck_assert_ptr_nonnull(o.cursor);
  cursor = o.cursor;

  uvodbc_conn_set_data(conn, &cl);
  uvodbc_prepared_set_data(p, &cl);
  uvodbc_cursor_set_data(cursor, &cl);
  ck_assert_int_eq(uvodbc_conn_close(conn, on_conn_closed), 0);
  /* The connection is closing: new work is refused... */
  memset(&o, 0, sizeof(o));
  req.data = &o;
  ck_assert_int_eq(uvodbc_prepared_exec(p, &req, &v, 1, NULL, record),
                   UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_cursor_fetch(cursor, &req, 0, record),
                   UVODBC_ECLOSED);
  /* ...closing is not.  The close, submitted at once (nothing else was
   * running), already took the statements: q's cursor no longer holds q,
   * so q closes although that cursor was never closed. */
  uvodbc_prepared_set_data(q, &cl);
  ck_assert_int_eq(uvodbc_prepared_close(p, on_p_closed), 0);
  ck_assert_int_eq(uvodbc_prepared_close(q, on_p_closed), 0);
  ck_assert_int_eq(uvodbc_prepared_close(q, on_p_closed), UV_EINVAL);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(cl.conn_closed, 1);
  ck_assert_int_eq(cl.p_closed, 2);
  ck_assert_int_eq(cl.order, 1);
  ck_assert_int_eq(o.calls, 0);

  /* The cursor outlives the connection and its statement. */
  ck_assert_int_eq(uvodbc_cursor_fetch(cursor, &req, 0, record),
                   UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_cursor_next_result(cursor, &req, record),
                   UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_cursor_close(cursor, on_c_closed), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(cl.c_closed, 1);
  ck_assert_int_eq(o.calls, 0);
  test_loop_close(&loop);
}
END_TEST

/* uvodbc_conn_reset frees prepared statements: the handle then fails with
 * UVODBC_ECLOSED and still needs (and gets) its close; the connection
 * prepares anew. */
START_TEST(prepared_after_reset) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_prepared_t* p;
  uvodbc_req_t req;
  outcome_t o;
  uvodbc_param_t v = uvodbc_param_int64(9);

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  p = prepare(&loop, conn, int_select());
  ck_assert_int_eq(run_prepared(&loop, p, 1, &req, &o, &v, 1, NULL), 0);
  ck_assert_int_eq(test_get_i64(o.batch, 0, 0), 9);
  uvodbc_req_cleanup(&req);

  memset(&o, 0, sizeof(o));
  req.data = &o;
  ck_assert_int_eq(uvodbc_conn_reset(conn, &req, record), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(o.calls, 1);
  ck_assert_int_eq(o.status, 0);

  ck_assert_int_eq(uvodbc_prepared_exec(p, &req, &v, 1, NULL, record),
                   UVODBC_ECLOSED);
  close_prepared(&loop, p);

  p = prepare(&loop, conn, int_select());
  ck_assert_int_eq(run_prepared(&loop, p, 1, &req, &o, &v, 1, NULL), 0);
  ck_assert_int_eq(test_get_i64(o.batch, 0, 0), 9);
  uvodbc_req_cleanup(&req);
  close_prepared(&loop, p);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* Binary values of changing lengths through one prepared INSERT, NULL and
 * empty among them (SQLite's driver keeps a binary parameter's length from
 * the first execution after binding: uvodbc binds at every execution). */
START_TEST(prepared_binary_lengths) {
  static const size_t lens[] = {5, 2, 9, 0, 1, 70000, 3};
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  const char* t = TEST_TABLE("prepared_binary_lengths");
  char sql[256];
  unsigned char* bin = malloc(70000);
  uvodbc_prepared_t* p;
  uvodbc_req_t req;
  outcome_t o;
  uvodbc_batch_t* all;
  size_t i, k, n = sizeof(lens) / sizeof(lens[0]);

  ck_assert_ptr_nonnull(bin);
  for (k = 0; k < 70000; k++) bin[k] = (unsigned char)(k * 7 + 1);
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, t,
             test_pick("id INTEGER, b BLOB", "id INTEGER, b BYTEA",
                  "id INTEGER, b LONGBLOB"));
  snprintf(sql, sizeof(sql), "INSERT INTO %s (id, b) VALUES (?, ?)", t);
  p = prepare(&loop, conn, sql);
  for (i = 0; i <= n; i++) {
    uvodbc_param_t v[2];
    v[0] = uvodbc_param_int64((int64_t)i);
    v[1] = i == n ? uvodbc_param_null() : uvodbc_param_binary(bin, lens[i]);
    ck_assert_int_eq(run_prepared(&loop, p, 0, &req, &o, v, 2, NULL), 0);
    ck_assert_int_eq(o.rows, 1);
  }
  close_prepared(&loop, p);
  snprintf(sql, sizeof(sql), "SELECT id, b FROM %s ORDER BY id", t);
  all = test_query(&loop, conn, sql, NULL, 0);
  ck_assert_uint_eq(uvodbc_batch_nrows(all), n + 1);
  for (i = 0; i < n; i++) {
    const void* b;
    size_t len;
    ck_assert_int_eq(uvodbc_batch_get_binary(all, 1, i, &b, &len), 0);
    ck_assert_msg(len == lens[i], "row %zu: %zu bytes, want %zu", i, len,
                  lens[i]);
    ck_assert(len == 0 || memcmp(b, bin, len) == 0);
  }
  ck_assert_int_eq(uvodbc_batch_is_null(all, 1, n), 1);
  test_free_result(all);
  test_drop_table(&loop, conn, t);
  test_close(&loop, conn);
  test_loop_close(&loop);
  free(bin);
}
END_TEST

Suite* prepared_suite(void) {
  Suite* s = suite_create("prepared");
  TCase* tc = tcase_create("prepared");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, prepared_exec_many);
  tcase_add_test(tc, prepared_query_many);
  tcase_add_test(tc, prepared_exec_cursor);
  tcase_add_test(tc, prepared_busy_cursor);
  tcase_add_test(tc, prepared_wrong_param_count);
  tcase_add_test(tc, prepared_binary_lengths);
  tcase_add_test(tc, prepared_param_info);
  tcase_add_test(tc, prepared_invalid_sql);
  tcase_add_test(tc, prepared_after_conn_close);
  tcase_add_test(tc, prepared_close_while_conn_closing);
  tcase_add_test(tc, prepared_after_reset);
  suite_add_tcase(s, tc);
  return s;
}
