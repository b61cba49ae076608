/* Who owns a statement, and in which order results arrive (issue 8).
 *
 * A statement has one owner at a time and changes hands only when an
 * operation is popped to run; an operation whose handle was detached by an
 * earlier reset or close completes with UVODBC_ECLOSED, in order.  These
 * call sequences reached freed memory, leaked statements or delivered
 * callbacks out of order before that rule; each test names its defect. */
#include <stdlib.h>

#include "uvodbc-test.h"

#define MAX_EVENTS 64

/* Every callback of a test, in the order it came. */
typedef struct {
  int n;
  char what[MAX_EVENTS][16];
  int status[MAX_EVENTS];
} events_t;

static events_t ev;

static void record(const char* what, int status) {
  ck_assert_int_lt(ev.n, MAX_EVENTS);
  snprintf(ev.what[ev.n], sizeof(ev.what[0]), "%s", what);
  ev.status[ev.n] = status;
  ev.n++;
}

static int count_of(const char* what) {
  int i, n = 0;
  for (i = 0; i < ev.n; i++) n += strcmp(ev.what[i], what) == 0;
  return n;
}

static int index_of(const char* what) {
  int i;
  for (i = 0; i < ev.n; i++)
    if (strcmp(ev.what[i], what) == 0) return i;
  ck_abort_msg("no callback %s", what);
  return -1;
}

static int status_of(const char* what) {
  return ev.status[index_of(what)];
}

/* A request callback records the name in req->data. */
static void on_req(uvodbc_req_t* req, int status) {
  if (status != 0 && status != UV_EOF && status != UVODBC_ECLOSED &&
      status != UV_ECANCELED)
    test_print_diags(req, (const char*)req->data);
  record((const char*)req->data, status);
  if (strcmp((const char*)req->data, "hold") == 0) uvodbc_req_cleanup(req);
}

static void on_cursor_closed(uvodbc_cursor_t* c) {
  record("cursor_closed", 0);
}

static void on_prepared_closed(uvodbc_prepared_t* p) {
  record("prepared_closed", 0);
}

static void on_conn_closed(uvodbc_conn_t* conn) {
  size_t i, n;
  const uvodbc_diag_t* d = uvodbc_conn_close_diag(conn, &n);
  for (i = 0; i < n; i++)
    fprintf(stderr, "close: [%s] %s\n", d[i].sqlstate, d[i].message);
  record("conn_closed", uvodbc_conn_close_status(conn));
}

static void run_until(uv_loop_t* loop, const char* what) {
  while (count_of(what) == 0)
    ck_assert_msg(uv_run(loop, UV_RUN_ONCE) != 0 || count_of(what) != 0,
                  "the loop ran out of work before %s", what);
}

static void make_numbers(uv_loop_t* loop, uvodbc_conn_t* conn,
                         const char* table, int rows) {
  test_make_table(loop, conn, table, "id INTEGER, v INTEGER, s VARCHAR(16)");
  test_fill_numbers(loop, conn, table, rows);
}

/* Keeps the connection busy for a moment, so what is queued next waits. */
static void hold(uvodbc_conn_t* conn, uvodbc_req_t* req) {
  req->data = (void*)"hold";
  ck_assert_int_eq(uvodbc_conn_query(conn, req, test_sleep_sql(0.1), NULL, 0,
                                     NULL, on_req),
                   0);
}

static void setup(void) {
  memset(&ev, 0, sizeof(ev));
}

/* Opens a cursor over `rows` rows of the numbers table `table`. */
static uvodbc_cursor_t* open_cursor(uv_loop_t* loop, uvodbc_conn_t* conn,
                                    uvodbc_req_t* req, const char* table,
                                    const uvodbc_exec_options_t* opts) {
  char sql[128];
  snprintf(sql, sizeof(sql), "SELECT id, v, s FROM %s ORDER BY id", table);
  req->data = (void*)"exec";
  ck_assert_int_eq(uvodbc_conn_exec(conn, req, sql, NULL, 0, opts, on_req),
                   0);
  run_until(loop, "exec");
  ck_assert_int_eq(status_of("exec"), 0);
  ck_assert_ptr_nonnull(req->cursor);
  return req->cursor;
}

static void close_conn(uv_loop_t* loop, uvodbc_conn_t* conn) {
  ck_assert_int_eq(uvodbc_conn_close(conn, on_conn_closed), 0);
  run_until(loop, "conn_closed");
  ck_assert_int_eq(status_of("conn_closed"), 0);
}

/* Defect 2: a cursor close queued behind a reset.  The reset detached (and
 * freed) the cursor when it was popped; the close then ran on it. */
START_TEST(own_reset_then_cursor_close) {
  uv_loop_t loop;
  uvodbc_req_t exec, reset, held;
  uvodbc_conn_t* conn;
  uvodbc_cursor_t* c;
  uv_loop_init(&loop);
  conn = test_connect(&loop);
  make_numbers(&loop, conn, TEST_TABLE("own_reset_close"), 50);
  c = open_cursor(&loop, conn, &exec, TEST_TABLE("own_reset_close"), NULL);
  hold(conn, &held);
  reset.data = (void*)"reset";
  ck_assert_int_eq(uvodbc_conn_reset(conn, &reset, on_req), 0);
  ck_assert_int_eq(uvodbc_cursor_close(c, on_cursor_closed), 0);
  run_until(&loop, "cursor_closed");
  run_until(&loop, "reset");
  ck_assert_int_eq(status_of("reset"), 0);
  ck_assert_int_eq(count_of("cursor_closed"), 1);
  ck_assert_int_lt(index_of("reset"), index_of("cursor_closed"));
  /* The connection is usable and clean afterwards. */
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 7"), 7);
  close_conn(&loop, conn);
  ck_assert_int_eq(count_of("cursor_closed"), 1);
  test_loop_close(&loop);
}
END_TEST

/* Defect 2: a fetch queued behind a reset ran on the NULL statement. */
START_TEST(own_reset_then_fetch) {
  uv_loop_t loop;
  uvodbc_req_t exec, reset, fetch, held;
  uvodbc_conn_t* conn;
  uvodbc_cursor_t* c;
  uvodbc_exec_options_t opts;
  uv_loop_init(&loop);
  conn = test_connect(&loop);
  make_numbers(&loop, conn, TEST_TABLE("own_reset_fetch"), 50);
  uvodbc_exec_options_init(&opts);
  opts.batch_rows = 10;
  c = open_cursor(&loop, conn, &exec, TEST_TABLE("own_reset_fetch"), &opts);
  hold(conn, &held);
  reset.data = (void*)"reset";
  fetch.data = (void*)"fetch";
  ck_assert_int_eq(uvodbc_conn_reset(conn, &reset, on_req), 0);
  ck_assert_int_eq(uvodbc_cursor_fetch(c, &fetch, 0, on_req), 0);
  run_until(&loop, "fetch");
  ck_assert_int_eq(status_of("reset"), 0);
  ck_assert_int_eq(status_of("fetch"), UVODBC_ECLOSED);
  ck_assert_int_lt(index_of("reset"), index_of("fetch"));
  /* Detached: every further operation says so at once. */
  ck_assert_int_eq(uvodbc_cursor_fetch(c, &fetch, 0, on_req), UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_cursor_close(c, on_cursor_closed), 0);
  run_until(&loop, "cursor_closed");
  close_conn(&loop, conn);
  ck_assert_int_eq(count_of("fetch"), 1);
  test_loop_close(&loop);
}
END_TEST

static uvodbc_prepared_t* prepare(uv_loop_t* loop, uvodbc_conn_t* conn,
                                  const char* sql) {
  uvodbc_req_t req;
  req.data = (void*)"prepare";
  ck_assert_int_eq(uvodbc_conn_prepare(conn, &req, sql, on_req), 0);
  run_until(loop, "prepare");
  ck_assert_int_eq(status_of("prepare"), 0);
  ck_assert_ptr_nonnull(req.prepared);
  return req.prepared;
}

/* Defect 2: a prepared close queued behind a reset freed the statement the
 * reset had freed already, and ran its close callback twice. */
START_TEST(own_reset_then_prepared_close) {
  uv_loop_t loop;
  uvodbc_req_t reset, held;
  uvodbc_conn_t* conn;
  uvodbc_prepared_t* p;
  uv_loop_init(&loop);
  conn = test_connect(&loop);
  p = prepare(&loop, conn, "SELECT 1");
  hold(conn, &held);
  reset.data = (void*)"reset";
  ck_assert_int_eq(uvodbc_conn_reset(conn, &reset, on_req), 0);
  ck_assert_int_eq(uvodbc_prepared_close(p, on_prepared_closed), 0);
  run_until(&loop, "prepared_closed");
  ck_assert_int_eq(status_of("reset"), 0);
  ck_assert_int_lt(index_of("reset"), index_of("prepared_closed"));
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 8"), 8);
  close_conn(&loop, conn);
  ck_assert_int_eq(count_of("prepared_closed"), 1);
  test_loop_close(&loop);
}
END_TEST

/* Defect 2: an execution queued behind a reset ran on a fresh statement
 * with nothing prepared on it, and leaked that statement. */
START_TEST(own_reset_then_prepared_exec) {
  uv_loop_t loop;
  uvodbc_req_t reset, exec, held;
  uvodbc_conn_t* conn;
  uvodbc_prepared_t* p;
  uvodbc_param_t one = uvodbc_param_int64(1);
  uv_loop_init(&loop);
  conn = test_connect(&loop);
  p = prepare(&loop, conn, "SELECT ?");
  hold(conn, &held);
  reset.data = (void*)"reset";
  exec.data = (void*)"pexec";
  ck_assert_int_eq(uvodbc_conn_reset(conn, &reset, on_req), 0);
  ck_assert_int_eq(uvodbc_prepared_query(p, &exec, &one, 1, NULL, on_req), 0);
  run_until(&loop, "pexec");
  ck_assert_int_eq(status_of("reset"), 0);
  ck_assert_int_eq(status_of("pexec"), UVODBC_ECLOSED);
  ck_assert_int_lt(index_of("reset"), index_of("pexec"));
  uvodbc_req_cleanup(&exec);
  ck_assert_int_eq(uvodbc_prepared_close(p, on_prepared_closed), 0);
  run_until(&loop, "prepared_closed");
  close_conn(&loop, conn);
  test_loop_close(&loop);
  ck_assert_int_eq(uvodbc_shutdown(), 0); /* no statement left behind */
}
END_TEST

/* Defect 2, through the pool with no misuse: release in the exec callback
 * (the pool resets the connection) with a read's fetch queued, then close
 * the cursor. */
static uvodbc_pool_t* the_pool;
static uvodbc_req_t the_read;

static void on_read_after_release(uvodbc_req_t* req, int status) {
  record("read", status);
}

static void on_pool_exec(uvodbc_req_t* req, int status) {
  record("exec", status);
  ck_assert_int_eq(status, 0);
  ck_assert_int_eq(uvodbc_cursor_read_start(req->cursor, &the_read, 0,
                                            on_read_after_release),
                   0);
  ck_assert_int_eq(uvodbc_pool_release(the_pool, req->conn), 0);
  ck_assert_int_eq(uvodbc_cursor_close(req->cursor, on_cursor_closed), 0);
}

static void on_acquired(uvodbc_req_t* req, int status) {
  uvodbc_exec_options_t opts;
  record("acquire", status);
  ck_assert_int_eq(status, 0);
  uvodbc_exec_options_init(&opts);
  opts.batch_rows = 5;
  ck_assert_int_eq(uvodbc_conn_exec(req->conn, req,
                                    "SELECT id, v, s FROM "
                                    TEST_TABLE("own_pool_release")
                                    " ORDER BY id",
                                    NULL, 0, &opts, on_pool_exec),
                   0);
}

static void on_pool_closed(uvodbc_pool_t* pool) {
  record("pool_closed", 0);
}

START_TEST(own_pool_release_then_cursor_close) {
  uv_loop_t loop;
  uvodbc_req_t req, q;
  uvodbc_conn_t* conn;
  uvodbc_pool_options_t po;
  int round;
  uv_loop_init(&loop);
  conn = test_connect(&loop);
  make_numbers(&loop, conn, TEST_TABLE("own_pool_release"), 100);
  test_close(&loop, conn);
  uvodbc_pool_options_init(&po);
  po.max_size = 1;
  ck_assert_int_eq(uvodbc_pool_create(&loop, &the_pool, test_connstr(), &po,
                                      NULL),
                   0);
  for (round = 0; round < 3; round++) {
    memset(&ev, 0, sizeof(ev));
    ck_assert_int_eq(uvodbc_pool_acquire(the_pool, &req, on_acquired), 0);
    run_until(&loop, "cursor_closed");
    /* The next borrower gets a working connection. */
    q.data = (void*)"query";
    ck_assert_int_eq(uvodbc_pool_query(the_pool, &q, "SELECT 5", NULL, 0,
                                       NULL, on_req),
                     0);
    run_until(&loop, "query");
    ck_assert_int_eq(status_of("query"), 0);
    ck_assert_int_eq(test_get_i64(q.batch, 0, 0), 5);
    uvodbc_req_cleanup(&q);
    ck_assert_int_eq(count_of("cursor_closed"), 1);
    /* The close stopped the read: its fetch ran (or not), unreported. */
    ck_assert_int_eq(count_of("read"), 0);
  }
  ck_assert_int_eq(uvodbc_pool_close(the_pool, on_pool_closed), 0);
  run_until(&loop, "pool_closed");
  test_loop_close(&loop);
}
END_TEST

static void on_fetch_checked(uvodbc_req_t* req, int status) {
  int64_t* next_id = req->data;
  record("fetch", status);
  if (status == 0) test_check_numbers(req->batch, next_id);
}

static void on_read_then_stop(uvodbc_req_t* req, int status) {
  int64_t* next_id = req->data;
  record("read", status);
  ck_assert_int_eq(status, 0);
  test_check_numbers(req->batch, next_id);
  ck_assert_int_eq(uvodbc_cursor_read_stop(req->cursor), 0);
}

/* Defect 3 (once of read-ahead, now of a stopped read): a fetch answered
 * by the batch a stopped read fetched, then a close in the same loop
 * iteration: the close must not free the statement before the fetch's
 * completion swapped that batch in (wrong rows, or a use-after-free). */
START_TEST(own_held_fetch_rows_then_close) {
  uv_loop_t loop;
  uvodbc_req_t exec, read, fetch;
  uvodbc_conn_t* conn;
  uvodbc_cursor_t* c;
  uvodbc_exec_options_t opts;
  int64_t next_id = 1;
  uv_loop_init(&loop);
  conn = test_connect(&loop);
  make_numbers(&loop, conn, TEST_TABLE("own_held_rows"), 25);
  uvodbc_exec_options_init(&opts);
  /* 25 rows: 1-10 come with the exec, 11-20 with the read's callback,
   * which stops it while 21-25 are being fetched. */
  opts.batch_rows = 10;
  c = open_cursor(&loop, conn, &exec, TEST_TABLE("own_held_rows"), &opts);
  test_check_numbers(exec.batch, &next_id);
  read.data = &next_id;
  ck_assert_int_eq(uvodbc_cursor_read_start(c, &read, 0, on_read_then_stop),
                   0);
  run_until(&loop, "read");
  uv_sleep(200); /* the fetch of 21-25 ends meanwhile */
  uv_run(&loop, UV_RUN_NOWAIT);
  ck_assert_int_eq(count_of("read"), 1);
  fetch.data = &next_id;
  ck_assert_int_eq(uvodbc_cursor_fetch(c, &fetch, 0, on_fetch_checked), 0);
  ck_assert_int_eq(uvodbc_cursor_close(c, on_cursor_closed), 0);
  uv_sleep(100); /* a close already on a worker would be done by now */
  run_until(&loop, "cursor_closed");
  ck_assert_int_eq(status_of("fetch"), 0);
  ck_assert_int_eq(next_id, 26);
  close_conn(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* Defect 9: a close delivers the cancellations of queued work in
 * submission order, after what was running. */
START_TEST(own_close_cancels_in_order) {
  uv_loop_t loop;
  uvodbc_req_t x, y, z;
  uvodbc_conn_t* conn;
  uv_loop_init(&loop);
  conn = test_connect(&loop);
  x.data = (void*)"x";
  y.data = (void*)"y";
  z.data = (void*)"z";
  ck_assert_int_eq(uvodbc_conn_query(conn, &x, test_sleep_sql(0.3), NULL, 0,
                                     NULL, on_req),
                   0);
  ck_assert_int_eq(uvodbc_conn_query(conn, &y, "SELECT 1", NULL, 0, NULL,
                                     on_req),
                   0);
  ck_assert_int_eq(uvodbc_conn_exec(conn, &z, "SELECT 2", NULL, 0, NULL,
                                    on_req),
                   0);
  uv_sleep(50); /* x is running */
  ck_assert_int_eq(uvodbc_conn_close(conn, on_conn_closed), 0);
  run_until(&loop, "conn_closed");
  ck_assert_int_eq(ev.n, 4);
  ck_assert_str_eq(ev.what[0], "x");
  ck_assert_str_eq(ev.what[1], "y");
  ck_assert_str_eq(ev.what[2], "z");
  ck_assert_str_eq(ev.what[3], "conn_closed");
  ck_assert_int_eq(ev.status[1], UV_ECANCELED);
  ck_assert_int_eq(ev.status[2], UV_ECANCELED);
  uvodbc_req_cleanup(&x);
  test_loop_close(&loop);
}
END_TEST

/* Defect 9: completions known without a thread hop are delivered from a
 * snapshot, so a callback that starts another such completion cannot hold
 * the loop: a 1 ms timer fires long before 20,000 of them are done. */
#define EOF_FETCHES 20000

static int eof_fetches;
static int timer_fired_at = -1;

static void on_eof_fetch(uvodbc_req_t* req, int status) {
  ck_assert_int_eq(status, UV_EOF);
  if (++eof_fetches < EOF_FETCHES)
    ck_assert_int_eq(uvodbc_cursor_fetch(req->cursor, req, 0, on_eof_fetch),
                     0);
  else
    record("fetches_done", 0);
}

static void on_timer(uv_timer_t* t) {
  timer_fired_at = eof_fetches;
  uv_close((uv_handle_t*)t, NULL);
}

START_TEST(own_deferred_drain_snapshot) {
  uv_loop_t loop;
  uvodbc_req_t exec, fetch;
  uvodbc_conn_t* conn;
  uvodbc_cursor_t* c;
  uv_timer_t timer;
  uv_loop_init(&loop);
  conn = test_connect(&loop);
  make_numbers(&loop, conn, TEST_TABLE("own_snapshot"), 3);
  c = open_cursor(&loop, conn, &exec, TEST_TABLE("own_snapshot"), NULL);
  /* Read to the end: further fetches are answered without a hop. */
  fetch.data = NULL;
  ck_assert_int_eq(uvodbc_cursor_fetch(c, &fetch, 0, on_eof_fetch), 0);
  uv_timer_init(&loop, &timer);
  uv_timer_start(&timer, on_timer, 1, 0);
  run_until(&loop, "fetches_done");
  ck_assert_int_ge(timer_fired_at, 0);
  ck_assert_msg(timer_fired_at < EOF_FETCHES / 2,
                "the 1 ms timer waited behind %d callbacks", timer_fired_at);
  ck_assert_int_eq(uvodbc_cursor_close(c, on_cursor_closed), 0);
  close_conn(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* Defect 6: connection b's exec (holding b's spare statement) waits for
 * the one worker, which connection a holds; then b closes, after cancelling
 * the exec or not.  The exec gave its statement back after the close had
 * taken b's statements: SQLite then refused to disconnect, and the handle
 * leaked. */
static void spare_stmt_waiting(int cancel_first) {
  uv_loop_t loop;
  uvodbc_req_t busy, x;
  uvodbc_conn_t* a;
  uvodbc_conn_t* b;
  uv_loop_init(&loop);
  ck_assert_int_eq(uvodbc_set_worker_limit(1), 0);
  a = test_connect(&loop);
  b = test_connect(&loop);
  /* b's first exec leaves its statement as the spare. */
  ck_assert_int_eq(test_query_int(&loop, b, "SELECT 3"), 3);
  busy.data = (void*)"busy";
  ck_assert_int_eq(uvodbc_conn_query(a, &busy, test_sleep_sql(0.5), NULL, 0,
                                     NULL, on_req),
                   0);
  x.data = (void*)"x";
  ck_assert_int_eq(uvodbc_conn_exec(b, &x, "SELECT 4", NULL, 0, NULL,
                                    on_req),
                   0);
  if (cancel_first) ck_assert_int_eq(uvodbc_req_cancel(&x), 0);
  ck_assert_int_eq(uvodbc_conn_close(b, on_conn_closed), 0);
  run_until(&loop, "conn_closed");
  ck_assert_int_eq(status_of("x"), UV_ECANCELED);
  ck_assert_int_eq(status_of("conn_closed"), 0);
  run_until(&loop, "busy");
  uvodbc_req_cleanup(&busy);
  memset(&ev, 0, sizeof(ev));
  close_conn(&loop, a);
  test_loop_close(&loop);
  ck_assert_int_eq(uvodbc_shutdown(), 0); /* every handle was freed */
}

START_TEST(own_spare_stmt_cancel_waiting) {
  spare_stmt_waiting(1);
}
END_TEST

START_TEST(own_spare_stmt_close_waiting) {
  spare_stmt_waiting(0);
}
END_TEST

/* Defect 10 (found by the chaos test): a reset that had taken the
 * connection's statements and waited for a worker was cancelled by a close
 * (a pool terminate does that): the statements leaked, and SQLite refused
 * to disconnect.  Now such a reset runs to its end. */
START_TEST(own_close_while_reset_waits) {
  uv_loop_t loop;
  uvodbc_req_t busy, exec, reset;
  uvodbc_conn_t* a;
  uvodbc_conn_t* b;
  uv_loop_init(&loop);
  ck_assert_int_eq(uvodbc_set_worker_limit(1), 0);
  a = test_connect(&loop);
  b = test_connect(&loop);
  make_numbers(&loop, b, TEST_TABLE("own_reset_waits"), 30);
  open_cursor(&loop, b, &exec, TEST_TABLE("own_reset_waits"), NULL);
  busy.data = (void*)"busy";
  ck_assert_int_eq(uvodbc_conn_query(a, &busy, test_sleep_sql(0.5), NULL, 0,
                                     NULL, on_req),
                   0);
  reset.data = (void*)"reset";
  ck_assert_int_eq(uvodbc_conn_reset(b, &reset, on_req), 0); /* waits */
  ck_assert_int_eq(uvodbc_conn_close(b, on_conn_closed), 0);
  ck_assert_int_eq(uvodbc_cursor_close(exec.cursor, on_cursor_closed), 0);
  run_until(&loop, "conn_closed");
  ck_assert_int_eq(status_of("reset"), 0);
  ck_assert_int_eq(status_of("conn_closed"), 0);
  ck_assert_int_lt(index_of("reset"), index_of("conn_closed"));
  run_until(&loop, "cursor_closed");
  run_until(&loop, "busy");
  uvodbc_req_cleanup(&busy);
  memset(&ev, 0, sizeof(ev));
  close_conn(&loop, a);
  test_loop_close(&loop);
  ck_assert_int_eq(uvodbc_shutdown(), 0); /* every statement was freed */
}
END_TEST

/* Defect 6: a statement cancelled inside a transaction leaves SQLite's
 * driver refusing the rollback ("no transaction is active") and then the
 * disconnect ("incomplete transaction"); the close must still free the
 * connection, and say so if it cannot. */
START_TEST(own_close_after_cancel_in_txn) {
  uv_loop_t loop;
  uvodbc_req_t begin, x;
  uvodbc_conn_t* conn;
  char sql[512];
  uv_loop_init(&loop);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, TEST_TABLE("own_cancel_txn"), "id INTEGER");
  begin.data = (void*)"begin";
  ck_assert_int_eq(uvodbc_conn_begin(conn, &begin, on_req), 0);
  run_until(&loop, "begin");
  ck_assert_int_eq(status_of("begin"), 0);
  test_exec(&loop, conn,
            "INSERT INTO " TEST_TABLE("own_cancel_txn") " VALUES (1)");
  /* An interrupted write inside a transaction: SQLite rolls the whole
   * transaction back on its own, its ODBC driver does not notice. */
  snprintf(sql, sizeof(sql), "%s%s",
           test_driver() == TEST_SQLITE
               ? "INSERT INTO " TEST_TABLE("own_cancel_txn") " (id) "
               : "",
           test_sleep_sql(5));
  x.data = (void*)"x";
  ck_assert_int_eq(uvodbc_conn_query(conn, &x, sql, NULL, 0, NULL, on_req),
                   0);
  uv_sleep(300); /* running */
  ck_assert_int_eq(uvodbc_req_cancel(&x), 0);
  run_until(&loop, "x");
  ck_assert_int_eq(status_of("x"), UV_ECANCELED);
  close_conn(&loop, conn); /* asserts close status 0 */
  test_loop_close(&loop);
  ck_assert_int_eq(uvodbc_shutdown(), 0);
}
END_TEST

/* Defect 11: the cancel thread stops while it still has requests (TSan
 * saw its stop flag read without the lock). */
START_TEST(own_shutdown_after_cancels) {
  int round;
  for (round = 0; round < 5; round++) {
    uv_loop_t loop;
    uvodbc_req_t x;
    uvodbc_conn_t* conn;
    uvodbc_exec_options_t opts;
    memset(&ev, 0, sizeof(ev));
    uv_loop_init(&loop);
    conn = test_connect(&loop);
    uvodbc_exec_options_init(&opts);
    opts.timeout_ms = 50;
    x.data = (void*)"x";
    ck_assert_int_eq(uvodbc_conn_query(conn, &x, test_sleep_sql(2), NULL, 0,
                                       &opts, on_req),
                     0);
    run_until(&loop, "x");
    ck_assert_int_eq(status_of("x"), UV_ETIMEDOUT);
    close_conn(&loop, conn);
    test_loop_close(&loop);
    ck_assert_int_eq(uvodbc_shutdown(), 0);
  }
}
END_TEST

Suite* ownership_suite(void) {
  Suite* s = suite_create("ownership");
  TCase* tc = tcase_create("ownership");
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_set_timeout(tc, 60 * test_slack());
  tcase_add_test(tc, own_reset_then_cursor_close);
  tcase_add_test(tc, own_reset_then_fetch);
  tcase_add_test(tc, own_reset_then_prepared_close);
  tcase_add_test(tc, own_reset_then_prepared_exec);
  tcase_add_test(tc, own_pool_release_then_cursor_close);
  tcase_add_test(tc, own_held_fetch_rows_then_close);
  tcase_add_test(tc, own_close_cancels_in_order);
  tcase_add_test(tc, own_deferred_drain_snapshot);
  tcase_add_test(tc, own_spare_stmt_cancel_waiting);
  tcase_add_test(tc, own_spare_stmt_close_waiting);
  tcase_add_test(tc, own_close_after_cancel_in_txn);
  tcase_add_test(tc, own_close_while_reset_waits);
  tcase_add_test(tc, own_shutdown_after_cancels);
  suite_add_tcase(s, tc);
  return s;
}
