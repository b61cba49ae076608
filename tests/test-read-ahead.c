/* Read-ahead cursors (uvodbc_exec_options_t.read_ahead): batches are
 * fetched ahead into spare buffers while the application reads the ones it
 * has.  Rows arrive complete and in order, the batch in hand is never
 * overwritten, the batch-size rule holds, and closing the cursor or the
 * connection with batches read ahead or in flight loses nothing else. */
#include "uvodbc-test.h"

#define ROWS 10000

/* ---- one request at a time ---- */

typedef struct {
  int calls;
  int status;
} sync_t;

static char last_state[6]; /* the first SQLSTATE of the last callback */

/* Runs the loop once more; it must not run out of work while *calls is
 * still 0 (that would be a lost callback, not a slow one). */
static void run_once(uv_loop_t* loop, const int* calls) {
  ck_assert_msg(uv_run(loop, UV_RUN_ONCE) != 0 || *calls != 0,
                "the loop ran out of work before the callback");
}

static void on_sync(uvodbc_req_t* req, int status) {
  sync_t* s = req->data;
  s->calls++;
  s->status = status;
  memset(last_state, 0, sizeof(last_state));
  if (req->ndiag > 0) memcpy(last_state, req->diag[0].sqlstate, 6);
}

/* Runs the loop until the request's callback, and no further: a read-ahead
 * it started may still be in flight. */
static int wait_sync(uv_loop_t* loop, uvodbc_req_t* req, sync_t* s, int err) {
  ck_assert_msg(err == 0, "start: %s", uvodbc_err_name(err));
  ck_assert_int_eq(s->calls, 0);
  while (s->calls == 0) run_once(loop, &s->calls);
  ck_assert_int_eq(s->calls, 1);
  req->data = NULL;
  return s->status;
}

static int exec_sync(uv_loop_t* loop, uvodbc_conn_t* conn, const char* sql,
                     const uvodbc_exec_options_t* opts, uvodbc_req_t* req) {
  sync_t s = {0};
  req->data = &s;
  return wait_sync(loop, req, &s,
                   uvodbc_conn_exec(conn, req, sql, NULL, 0, opts, on_sync));
}

static int fetch_sync(uv_loop_t* loop, uvodbc_cursor_t* c, uvodbc_req_t* req,
                      size_t max_rows) {
  sync_t s = {0};
  req->data = &s;
  return wait_sync(loop, req, &s,
                   uvodbc_cursor_fetch(c, req, max_rows, on_sync));
}

static int next_result_sync(uv_loop_t* loop, uvodbc_cursor_t* c,
                            uvodbc_req_t* req) {
  sync_t s = {0};
  req->data = &s;
  return wait_sync(loop, req, &s, uvodbc_cursor_next_result(c, req, on_sync));
}

static void on_closed(uvodbc_cursor_t* c) {
  (*(int*)uvodbc_cursor_get_data(c))++;
}

static void close_cursor_sync(uv_loop_t* loop, uvodbc_cursor_t* c) {
  int closed = 0;
  uvodbc_cursor_set_data(c, &closed);
  ck_assert_int_eq(uvodbc_cursor_close(c, on_closed), 0);
  while (closed == 0) run_once(loop, &closed);
}

/* ---- reading a table to its end ---- */

typedef struct {
  uv_loop_t* loop;
  uvodbc_cursor_t* cursor;
  uvodbc_req_t req;
  const uvodbc_batch_t* batch; /* in hand, checked after the pause */
  uv_timer_t pause;
  size_t max_rows;
  int64_t next_id;
  int64_t rows;
  int fetches;
  int eofs;
  int closed;
  int in_call;
} scan_t;

static void scan_closed(uvodbc_cursor_t* cursor) {
  scan_t* s = uvodbc_cursor_get_data(cursor);
  s->closed++;
}

static void scan_take(scan_t* s, const uvodbc_batch_t* b) {
  test_check_numbers(b, &s->next_id);
  s->rows += (int64_t)uvodbc_batch_nrows(b);
}

static void scan_fetched(uvodbc_req_t* req, int status);

static void scan_next(scan_t* s) {
  s->in_call = 1;
  ck_assert_int_eq(
      uvodbc_cursor_fetch(s->cursor, &s->req, s->max_rows, scan_fetched), 0);
  s->in_call = 0;
}

/* The batch is read only after a pause in which the read-ahead fetch runs
 * (or finishes) into the other buffer: it must not have touched this one. */
static void scan_paused(uv_timer_t* t) {
  scan_t* s = t->data;
  scan_take(s, s->batch);
  scan_next(s);
}

static void scan_fetched(uvodbc_req_t* req, int status) {
  scan_t* s = req->data;
  ck_assert_msg(!s->in_call, "fetch callback inside uvodbc_cursor_fetch");
  s->fetches++;
  if (status == UV_EOF) {
    ck_assert_ptr_null(req->batch);
    if (++s->eofs == 1) {
      scan_next(s); /* once more: still the end */
    } else {
      ck_assert_int_eq(uvodbc_cursor_close(s->cursor, scan_closed), 0);
    }
    return;
  }
  ck_assert_msg(status == 0, "fetch: %s", uvodbc_err_name(status));
  ck_assert_int_eq(s->eofs, 0);
  ck_assert_uint_ge(uvodbc_batch_nrows(req->batch), 1);
  s->batch = req->batch;
  uv_timer_start(&s->pause, scan_paused, 2, 0);
}

static void make_numbers(uv_loop_t* loop, uvodbc_conn_t* conn, const char* t,
                         const char* s_type, int rows) {
  char columns[128];
  snprintf(columns, sizeof(columns), "id INTEGER, v INTEGER, s %s", s_type);
  test_make_table(loop, conn, t, columns);
  test_fill_numbers(loop, conn, t, rows);
}

/* A loop, a connection and table `t` holding `rows` numbers (s of type
 * `s_type`), with `s` ready for scan_open(). */
static uvodbc_conn_t* start(uv_loop_t* loop, scan_t* s, const char* t,
                            const char* s_type, int rows) {
  uvodbc_conn_t* conn;
  memset(s, 0, sizeof(*s));
  ck_assert_int_eq(uv_loop_init(loop), 0);
  s->loop = loop;
  s->next_id = 1;
  conn = test_connect(loop);
  make_numbers(loop, conn, t, s_type, rows);
  return conn;
}

static void finish(uv_loop_t* loop, uvodbc_conn_t* conn, const char* t) {
  test_drop_table(loop, conn, t);
  test_close(loop, conn);
  test_loop_close(loop);
}

/* Execs "SELECT id, v, s FROM t ORDER BY id" with `depth` batches read
 * ahead and batch_rows rows per batch; checks the first batch into `s`. */
static void scan_open(scan_t* s, uvodbc_conn_t* conn, const char* t,
                      size_t batch_rows, int depth) {
  uvodbc_exec_options_t opts;
  char sql[256];
  int status;
  uvodbc_exec_options_init(&opts);
  opts.batch_rows = batch_rows;
  opts.read_ahead = depth;
  snprintf(sql, sizeof(sql), "SELECT id, v, s FROM %s ORDER BY id", t);
  status = exec_sync(s->loop, conn, sql, &opts, &s->req);
  ck_assert_msg(status == 0, "exec: %s", uvodbc_err_name(status));
  ck_assert_ptr_nonnull(s->req.cursor);
  s->cursor = s->req.cursor;
  uvodbc_cursor_set_data(s->cursor, s);
  s->req.data = s;
  ck_assert_uint_eq(uvodbc_batch_nrows(s->req.batch), batch_rows);
  scan_take(s, s->req.batch);
}

static void scan_all(const char* t, const char* s_type, size_t batch_rows,
                     int depth) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  scan_t s;
  int64_t batches = (ROWS + (int64_t)batch_rows - 1) / (int64_t)batch_rows;
  conn = start(&loop, &s, t, s_type, ROWS);
  uv_timer_init(&loop, &s.pause);
  s.pause.data = &s;
  scan_open(&s, conn, t, batch_rows, depth);
  scan_next(&s);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(s.closed, 1);
  ck_assert_int_eq(s.eofs, 2);
  ck_assert_int_eq(s.rows, ROWS);
  ck_assert_int_eq(s.next_id, ROWS + 1);
  /* Full batches (the exec brought the first), an empty one when ROWS is a
   * multiple of batch_rows, then the two EOFs. */
  ck_assert_int_eq(s.fetches, (int)(batches - 1) + 2);
  uv_close((uv_handle_t*)&s.pause, NULL);
  finish(&loop, conn, t);
}

/* Block fetch: 10,000 / 500 is exact (the last read-ahead finds no rows),
 * 10,000 / 300 is not; one batch ahead, or several. */
START_TEST(read_ahead_block_exact) {
  scan_all(TEST_TABLE("read_ahead_block_exact"), "VARCHAR(20)", 500, 1);
}
END_TEST

START_TEST(read_ahead_block_partial) {
  scan_all(TEST_TABLE("read_ahead_block_partial"), "VARCHAR(20)", 300, 1);
}
END_TEST

START_TEST(read_ahead_depth_exact) {
  scan_all(TEST_TABLE("read_ahead_depth_exact"), "VARCHAR(20)", 500, 4);
}
END_TEST

START_TEST(read_ahead_depth_partial) {
  scan_all(TEST_TABLE("read_ahead_depth_partial"), "VARCHAR(20)", 300, 3);
}
END_TEST

/* More than UVODBC_READ_AHEAD_MAX: that many. */
START_TEST(read_ahead_depth_max) {
  scan_all(TEST_TABLE("read_ahead_depth_max"), "VARCHAR(20)", 100, 1000);
}
END_TEST

/* An unbounded text column: row mode, chunked SQLGetData, same rules. */
START_TEST(read_ahead_long_column) {
  scan_all(TEST_TABLE("read_ahead_long_column"),
           test_pick("TEXT", "TEXT", "LONGTEXT"), 700, 1);
}
END_TEST

START_TEST(read_ahead_long_column_depth) {
  scan_all(TEST_TABLE("read_ahead_long_column_depth"),
           test_pick("TEXT", "TEXT", "LONGTEXT"), 700, 3);
}
END_TEST

/* ---- batch sizes ---- */

static size_t fetch_n(uv_loop_t* loop, uvodbc_cursor_t* c, size_t max_rows,
                      int64_t* first_id) {
  uvodbc_req_t req;
  int status = fetch_sync(loop, c, &req, max_rows);
  if (status == UV_EOF) return 0;
  ck_assert_msg(status == 0, "fetch: %s", uvodbc_err_name(status));
  *first_id = test_get_i64(req.batch, 0, 0);
  return uvodbc_batch_nrows(req.batch);
}

/* One fetch that must bring `rows` rows starting at id `first_id` (0 rows:
 * the end). */
static void expect_batch(uv_loop_t* loop, uvodbc_cursor_t* c, size_t max_rows,
                         size_t rows, int64_t first_id) {
  int64_t id = 0;
  size_t n = fetch_n(loop, c, max_rows, &id);
  ck_assert_msg(n == rows, "%zu rows, want %zu", n, rows);
  if (rows > 0) ck_assert_int_eq(id, first_id);
}

/* Batches read ahead have batch_rows rows: a fetch may ask for that many
 * or more (or 0), never fewer. */
START_TEST(read_ahead_max_rows) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  uvodbc_exec_options_t opts;
  scan_t s;
  const char* t = TEST_TABLE("read_ahead_max_rows");
  conn = start(&loop, &s, t, "VARCHAR(20)", 45);
  scan_open(&s, conn, t, 10, 2); /* rows 1-10 */
  ck_assert_int_eq(uvodbc_cursor_fetch(s.cursor, &req, 9, on_sync),
                   UV_EINVAL);
  expect_batch(&loop, s.cursor, 10, 10, 11);
  expect_batch(&loop, s.cursor, 25, 10, 21);
  expect_batch(&loop, s.cursor, 0, 10, 31);
  expect_batch(&loop, s.cursor, 0, 5, 41);
  expect_batch(&loop, s.cursor, 0, 0, 0);
  close_cursor_sync(&loop, s.cursor);
  /* Default batch_rows: only 0 is sure to be at least the batch size. */
  uvodbc_exec_options_init(&opts);
  opts.read_ahead = 1;
  ck_assert_int_eq(exec_sync(&loop, conn, "SELECT 1", &opts, &req), 0);
  ck_assert_int_eq(uvodbc_cursor_fetch(req.cursor, &req, 5000, on_sync),
                   UV_EINVAL);
  expect_batch(&loop, req.cursor, 0, 0, 0);
  close_cursor_sync(&loop, req.cursor);
  finish(&loop, conn, t);
}
END_TEST

/* ---- other work on the connection ---- */

/* Statements queued while a batch is read ahead run after that one fetch,
 * and the cursor goes on where it was. */
START_TEST(read_ahead_other_work) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  scan_t s;
  int i;
  const char* t = TEST_TABLE("read_ahead_other_work");
  conn = start(&loop, &s, t, "VARCHAR(20)", 100);
  scan_open(&s, conn, t, 10, 2);
  for (i = 0; i < 9; i++) {
    char sql[128];
    snprintf(sql, sizeof(sql), "SELECT count(*) + %d FROM %s", i, t);
    ck_assert_int_eq(test_query_int(&loop, conn, sql), 100 + i);
    expect_batch(&loop, s.cursor, 0, 10, 11 + 10 * i);
  }
  expect_batch(&loop, s.cursor, 0, 0, 0);
  close_cursor_sync(&loop, s.cursor);
  finish(&loop, conn, t);
}
END_TEST

/* A prepared statement's cursor reads ahead too, execution after
 * execution, each cursor closed before the next one. */
static void on_prepared_closed(uvodbc_prepared_t* p) {
  (*(int*)uvodbc_prepared_get_data(p))++;
}

START_TEST(read_ahead_prepared) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_prepared_t* prepared;
  uvodbc_exec_options_t opts;
  uvodbc_req_t req;
  sync_t sync = {0};
  int round, closed = 0;
  const char* t = TEST_TABLE("read_ahead_prepared");
  char sql[128];
  scan_t unused;
  conn = start(&loop, &unused, t, "VARCHAR(20)", 500);
  snprintf(sql, sizeof(sql), "SELECT id, v, s FROM %s WHERE id > ? ORDER BY id",
           t);
  req.data = &sync;
  ck_assert_int_eq(wait_sync(&loop, &req, &sync,
                             uvodbc_conn_prepare(conn, &req, sql, on_sync)),
                   0);
  prepared = req.prepared;
  ck_assert_ptr_nonnull(prepared);
  uvodbc_exec_options_init(&opts);
  opts.batch_rows = 7;
  opts.read_ahead = 3;
  for (round = 0; round < 3; round++) {
    scan_t s;
    uvodbc_param_t p = uvodbc_param_int64(100 * round);
    memset(&s, 0, sizeof(s));
    s.next_id = 100 * round + 1;
    memset(&sync, 0, sizeof(sync));
    req.data = &sync;
    ck_assert_int_eq(
        wait_sync(&loop, &req, &sync,
                  uvodbc_prepared_exec(prepared, &req, &p, 1, &opts, on_sync)),
        0);
    s.cursor = req.cursor;
    scan_take(&s, req.batch);
    for (;;) {
      int64_t id = 0;
      size_t n = fetch_n(&loop, s.cursor, 0, &id);
      if (n == 0) break;
      ck_assert_int_eq(id, s.next_id);
      s.next_id += (int64_t)n;
      s.rows += (int64_t)n;
    }
    ck_assert_int_eq(s.next_id, 501);
    ck_assert_int_eq(s.rows, 500 - 100 * round);
    close_cursor_sync(&loop, s.cursor);
  }
  uvodbc_prepared_set_data(prepared, &closed);
  ck_assert_int_eq(uvodbc_prepared_close(prepared, on_prepared_closed), 0);
  while (closed == 0) run_once(&loop, &closed);
  finish(&loop, conn, t);
}
END_TEST

/* A fetch error met while reading ahead (SQLite keeps a value longer than
 * VARCHAR(20): UVODBC_ETRUNC for the batch holding it) comes after the
 * batches read before it; reading goes on after it, as without read-ahead. */
START_TEST(read_ahead_error_after_batches) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  scan_t s;
  char sql[256];
  const char* t = TEST_TABLE("read_ahead_error_after_batches");
  conn = start(&loop, &s, t, "VARCHAR(20)", 60);
  snprintf(sql, sizeof(sql), "UPDATE %s SET s = '%0100d' WHERE id = 35", t,
           0);
  ck_assert_int_eq(test_exec(&loop, conn, sql), 1);
  scan_open(&s, conn, t, 10, 3); /* rows 1-10 */
  expect_batch(&loop, s.cursor, 0, 10, 11);
  expect_batch(&loop, s.cursor, 0, 10, 21);
  ck_assert_int_eq(fetch_sync(&loop, s.cursor, &req, 0), UVODBC_ETRUNC);
  ck_assert_ptr_null(req.batch);
  ck_assert_str_eq(last_state, "01004");
  expect_batch(&loop, s.cursor, 0, 10, 41);
  expect_batch(&loop, s.cursor, 0, 10, 51);
  expect_batch(&loop, s.cursor, 0, 0, 0);
  close_cursor_sync(&loop, s.cursor);
  finish(&loop, conn, t);
}
END_TEST

/* ---- closing ---- */

typedef struct {
  int cursor_closed;
  int conn_closed;
  int fetched;
  int status;
} closing_t;

static closing_t closing;

static void closing_cursor_closed(uvodbc_cursor_t* c) {
  (void)c;
  closing.cursor_closed++;
}

static void closing_conn_closed(uvodbc_conn_t* c) {
  (void)c;
  ck_assert_int_eq(closing.cursor_closed, 1); /* close_cb last */
  closing.conn_closed++;
}

static void closing_fetched(uvodbc_req_t* req, int status) {
  closing.fetched++;
  closing.status = status;
  if (status == 0) { /* whatever arrives is the next rows, intact */
    ck_assert_uint_eq(uvodbc_batch_nrows(req->batch), 10);
    ck_assert_int_eq(test_get_i64(req->batch, 0, 0), 11);
  }
}

/* when: 0 closes right away (the read-ahead is in flight), 1 after it
 * finished (its rows wait, unread), 2 with a fetch waiting on it.
 * conn: close the connection (and then the cursor) instead of the cursor. */
static void close_with_read_ahead(int when, int conn_close) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t fetch_req;
  scan_t s;
  const char* t = TEST_TABLE("read_ahead_close");
  memset(&closing, 0, sizeof(closing));
  conn = start(&loop, &s, t, "VARCHAR(20)", 100);
  scan_open(&s, conn, t, 10, 1);
  if (when == 1) uv_run(&loop, UV_RUN_DEFAULT); /* the read-ahead ends */
  if (when == 2)
    ck_assert_int_eq(
        uvodbc_cursor_fetch(s.cursor, &fetch_req, 0, closing_fetched), 0);
  if (conn_close)
    ck_assert_int_eq(uvodbc_conn_close(conn, closing_conn_closed), 0);
  ck_assert_int_eq(uvodbc_cursor_close(s.cursor, closing_cursor_closed), 0);
  ck_assert_int_eq(closing.cursor_closed + closing.conn_closed +
                       closing.fetched,
                   0);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(closing.cursor_closed, 1);
  ck_assert_int_eq(closing.fetched, when == 2 ? 1 : 0);
  if (when == 2)
    ck_assert_msg(closing.status == 0 || closing.status == UV_ECANCELED,
                  "fetch: %s", uvodbc_err_name(closing.status));
  if (conn_close) {
    ck_assert_int_eq(closing.conn_closed, 1);
    conn = test_connect(&loop);
  }
  /* The connection (or a new one) is in order. */
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 5"), 5);
  finish(&loop, conn, t);
}

START_TEST(read_ahead_close_cursor_in_flight) {
  close_with_read_ahead(0, 0);
}
END_TEST

START_TEST(read_ahead_close_cursor_unread) {
  close_with_read_ahead(1, 0);
}
END_TEST

START_TEST(read_ahead_close_cursor_fetch_waiting) {
  close_with_read_ahead(2, 0);
}
END_TEST

START_TEST(read_ahead_close_conn_in_flight) {
  close_with_read_ahead(0, 1);
}
END_TEST

START_TEST(read_ahead_close_conn_unread) {
  close_with_read_ahead(1, 1);
}
END_TEST

START_TEST(read_ahead_close_conn_fetch_waiting) {
  close_with_read_ahead(2, 1);
}
END_TEST

/* ---- next result ---- */

/* Rows read ahead from one result are dropped by next_result, which then
 * delivers the next result's first batch (PostgreSQL: two statements in
 * one exec). */
START_TEST(read_ahead_next_result) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_exec_options_t opts;
  uvodbc_req_t req;
  int status;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  uvodbc_exec_options_init(&opts);
  opts.batch_rows = 10;
  opts.read_ahead = 1;
  status = exec_sync(&loop, conn,
                     "SELECT x FROM generate_series(1, 100) x; "
                     "SELECT x * 2 FROM generate_series(1, 3) x",
                     &opts, &req);
  ck_assert_int_eq(status, 0);
  ck_assert_int_eq(test_get_i64(req.batch, 0, 9), 10);
  ck_assert_int_eq(next_result_sync(&loop, req.cursor, &req), 0);
  ck_assert_uint_eq(uvodbc_batch_nrows(req.batch), 3);
  ck_assert_int_eq(test_get_i64(req.batch, 0, 2), 6);
  ck_assert_int_eq(fetch_sync(&loop, req.cursor, &req, 0), UV_EOF);
  close_cursor_sync(&loop, req.cursor);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

Suite* read_ahead_suite(void) {
  Suite* s = suite_create("read_ahead");
  TCase* tc = tcase_create("read_ahead");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, read_ahead_block_exact);
  tcase_add_test(tc, read_ahead_block_partial);
  tcase_add_test(tc, read_ahead_depth_exact);
  tcase_add_test(tc, read_ahead_depth_partial);
  tcase_add_test(tc, read_ahead_depth_max);
  tcase_add_test(tc, read_ahead_long_column);
  tcase_add_test(tc, read_ahead_long_column_depth);
  tcase_add_test(tc, read_ahead_max_rows);
  tcase_add_test(tc, read_ahead_other_work);
  tcase_add_test(tc, read_ahead_prepared);
  if (test_driver() == TEST_SQLITE)
    tcase_add_test(tc, read_ahead_error_after_batches);
  else
    test_skip("read_ahead_error_after_batches",
              "the server enforces VARCHAR(20), so no fetch fails "
              "(cursor_truncation_enforced)");
  tcase_add_test(tc, read_ahead_close_cursor_in_flight);
  tcase_add_test(tc, read_ahead_close_cursor_unread);
  tcase_add_test(tc, read_ahead_close_cursor_fetch_waiting);
  tcase_add_test(tc, read_ahead_close_conn_in_flight);
  tcase_add_test(tc, read_ahead_close_conn_unread);
  tcase_add_test(tc, read_ahead_close_conn_fetch_waiting);
  if (test_driver() == TEST_PG)
    tcase_add_test(tc, read_ahead_next_result);
  else
    test_skip("read_ahead_next_result",
              "several statements in one call: PostgreSQL only (see "
              "errors_multi_statement_pg)");
  suite_add_tcase(s, tc);
  return s;
}
