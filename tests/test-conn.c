/* Connections: connect (success and failures, with their diagnostics and no
 * password leaks), close semantics (queued, running, from callbacks, before
 * the connect finished), operations after close, invalid arguments, options
 * (login and query timeouts) and accessors. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "uvodbc-test.h"

#define SECRET "S3cretPw_xyz"
#define MAX_EVENTS 64

/* A statement that runs far longer than any test waits: cancelling it is the
 * only way it ends in time.  SQLite's busy loop runs at several million rows
 * per second here, so it gets a larger budget. */
static const char* long_sql(void) {
  return test_sleep_sql(test_driver() == TEST_SQLITE ? 120 : 5);
}

/* Every callback appends an event; the log checks order and "exactly once". */
enum {
  EV_CONNECT = 1000,
  EV_CLOSE = 2000,
  EV_CURSOR_CLOSE = 3000,
  EV_PREPARED_CLOSE = 4000
};

typedef struct {
  int events[MAX_EVENTS];
  int status[MAX_EVENTS];
  int n;
  int in_call; /* set around a starting call: callbacks must not see it */
  uvodbc_conn_t* conn;
  uvodbc_cursor_t* cursor;
  uvodbc_prepared_t* prepared;
  uint64_t close_at;
} log_t;

static void log_event(log_t* log, int ev, int status) {
  ck_assert_msg(!log->in_call, "callback %d ran inside the starting call", ev);
  ck_assert_int_lt(log->n, MAX_EVENTS);
  log->events[log->n] = ev;
  log->status[log->n] = status;
  log->n++;
}

/* Position of event `ev`; fails unless it was logged exactly once. */
static int event_at(const log_t* log, int ev) {
  int i, at = -1, count = 0;
  for (i = 0; i < log->n; i++)
    if (log->events[i] == ev) {
      at = i;
      count++;
    }
  ck_assert_msg(count == 1, "event %d logged %d times", ev, count);
  return at;
}

/* req->data is the op_t (its event number and log); close callbacks find
 * the log in the connection's data. */
typedef struct {
  uvodbc_req_t req;
  log_t* log;
  int ev;
} op_t;

static void on_op(uvodbc_req_t* req, int status) {
  op_t* op = req->data;
  log_event(op->log, op->ev, status);
  if (req->type == UVODBC_REQ_QUERY) uvodbc_req_cleanup(req);
  if (req->cursor != NULL && req->type == UVODBC_REQ_EXEC)
    uvodbc_cursor_close(req->cursor, NULL);
}

static void on_conn_closed(uvodbc_conn_t* conn) {
  log_t* log = uvodbc_conn_get_data(conn);
  log_event(log, EV_CLOSE, 0);
  log->close_at = uv_hrtime();
}

static void start_exec(op_t* op, log_t* log, uvodbc_conn_t* conn, int ev,
                       const char* sql) {
  op->log = log;
  op->ev = ev;
  op->req.data = op;
  log->in_call = 1;
  ck_assert_int_eq(uvodbc_conn_exec(conn, &op->req, sql, NULL, 0, NULL, on_op),
                   0);
  log->in_call = 0;
}

static void close_conn(log_t* log, uvodbc_conn_t* conn) {
  uvodbc_conn_set_data(conn, log);
  log->in_call = 1;
  ck_assert_int_eq(uvodbc_conn_close(conn, on_conn_closed), 0);
  log->in_call = 0;
}

static void run_until_closed(uv_loop_t* loop, log_t* log) {
  int i, closed = 0;
  while (!closed) {
    uv_run(loop, UV_RUN_ONCE);
    for (i = 0; i < log->n; i++)
      if (log->events[i] == EV_CLOSE) closed = 1;
  }
}

/* ---- connect ---- */

typedef struct {
  int connect_cb;
  int close_cb;
  int status;
  int open_in_cb;
  int in_call;
  char state[6];
  int32_t native;
  int leaked; /* the password showed up in a diagnostic */
  char first_msg[512];
  size_t ndiag;
} conn_t;

static void on_connect(uvodbc_req_t* req, int status) {
  conn_t* t = req->data;
  size_t i;
  ck_assert_msg(!t->in_call, "connect callback ran inside uvodbc_connect");
  t->connect_cb++;
  t->status = status;
  t->open_in_cb = uvodbc_conn_is_open(req->conn);
  t->ndiag = req->ndiag;
  ck_assert_int_eq(req->status, status);
  ck_assert_int_eq(req->type, UVODBC_REQ_CONNECT);
  if (req->ndiag > 0) {
    memcpy(t->state, req->diag[0].sqlstate, 6);
    t->native = req->diag[0].native;
    snprintf(t->first_msg, sizeof(t->first_msg), "%s", req->diag[0].message);
  }
  for (i = 0; i < req->ndiag; i++) {
    ck_assert_ptr_nonnull(req->diag[i].message);
    ck_assert_ptr_nonnull(req->diag[i].function);
    if (strstr(req->diag[i].message, SECRET) != NULL) t->leaked = 1;
  }
  if (status != 0) test_print_diags(req, "expected connect failure");
}

static void on_closed_count(uvodbc_conn_t* conn) {
  conn_t* t = uvodbc_conn_get_data(conn);
  t->close_cb++;
}

/* Connects with `connstr`, waits for the callback, then closes the handle
 * (also after a failure) and waits for close_cb. */
static void connect_and_close(const char* connstr, conn_t* t) {
  uv_loop_t loop;
  uvodbc_req_t req;
  uvodbc_conn_t* conn;
  memset(t, 0, sizeof(*t));
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  req.data = t;
  t->in_call = 1;
  ck_assert_int_eq(uvodbc_connect(&loop, &req, connstr, NULL, on_connect), 0);
  t->in_call = 0;
  conn = req.conn;
  ck_assert_ptr_nonnull(conn);
  while (t->connect_cb == 0) uv_run(&loop, UV_RUN_ONCE);
  ck_assert_int_eq(t->connect_cb, 1);
  /* Failed or not, the handle is the caller's and must be closed. */
  ck_assert_ptr_eq(req.conn, conn);
  ck_assert_ptr_eq(uvodbc_conn_get_loop(conn), &loop);
  uvodbc_conn_set_data(conn, t);
  ck_assert_int_eq(uvodbc_conn_close(conn, on_closed_count), 0);
  ck_assert_int_eq(t->close_cb, 0);
  test_loop_close(&loop); /* runs the loop to the end */
  ck_assert_int_eq(t->close_cb, 1);
  ck_assert_int_eq(t->connect_cb, 1);
}

START_TEST(conn_connect_ok) {
  conn_t t;
  connect_and_close(test_connstr(), &t);
  ck_assert_int_eq(t.status, 0);
  ck_assert_int_ne(t.open_in_cb, 0);
}
END_TEST

/* By DSN (odbc.ini, as tests/servers.sh writes it): the same database as
 * the connection string reaches. */
START_TEST(conn_connect_dsn) {
  uv_loop_t loop;
  uvodbc_conn_t* by_string;
  uvodbc_conn_t* by_dsn;
  const char* t = TEST_TABLE("conn_dsn");
  char sql[128];
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  by_string = test_connect(&loop);
  test_make_table(&loop, by_string, t, "v INTEGER");
  snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES (4242)", t);
  test_exec(&loop, by_string, sql);
  snprintf(sql, sizeof(sql), "DSN=%s", test_dsn());
  by_dsn = test_connect_to(&loop, sql);
  snprintf(sql, sizeof(sql), "SELECT v FROM %s", t);
  ck_assert_int_eq(test_query_int(&loop, by_dsn, sql), 4242);
  test_close(&loop, by_dsn);
  test_drop_table(&loop, by_string, t);
  test_close(&loop, by_string);
  test_loop_close(&loop);
}
END_TEST

START_TEST(conn_connect_unknown_driver) {
  conn_t t;
  connect_and_close("DRIVER={NoSuchDriver};UID=nobody;PWD=" SECRET, &t);
  ck_assert_int_eq(t.status, UVODBC_ESQL);
  ck_assert_int_eq(t.open_in_cb, 0);
  ck_assert_uint_gt(t.ndiag, 0);
  /* unixODBC 2.3.11 treats an unknown driver name as a library path and
   * answers 01000 "Can't open lib"; IM002 is what the ODBC spec says. */
  ck_assert_msg(strcmp(t.state, "IM002") == 0 || strcmp(t.state, "01000") == 0,
                "SQLSTATE %s: %s", t.state, t.first_msg);
  ck_assert_msg(strstr(t.first_msg, "NoSuchDriver") != NULL ||
                    strcmp(t.state, "IM002") == 0,
                "message does not name the driver: %s", t.first_msg);
  ck_assert_int_eq(t.leaked, 0);
}
END_TEST

START_TEST(conn_connect_bad_dsn) {
  conn_t t;
  connect_and_close("DSN=nosuchdsn;UID=nobody;PWD=" SECRET, &t);
  ck_assert_int_eq(t.status, UVODBC_ESQL);
  ck_assert_int_eq(t.open_in_cb, 0);
  ck_assert_str_eq(t.state, "IM002");
  ck_assert_int_eq(t.leaked, 0);
}
END_TEST

/* `in` with the value of its Pwd=/Password= key replaced by `pw` (which may
 * be braced).  Fails the test when `in` has no password. */
static void with_password(const char* in, const char* pw, char* out,
                          size_t size) {
  const char* p;
  for (p = in; *p != '\0'; p++) {
    size_t key = 0;
    if (p != in && p[-1] != ';') continue;
    if (strncasecmp(p, "pwd=", 4) == 0) key = 4;
    if (strncasecmp(p, "password=", 9) == 0) key = 9;
    if (key == 0) continue;
    snprintf(out, size, "%.*s%s%s", (int)(p - in) + (int)key, in, pw,
             p + key + strcspn(p + key, ";"));
    return;
  }
  ck_abort_msg("connection string has no password: %s", in);
}

static void check_wrong_password(const char* pw) {
  char connstr[1024];
  conn_t t;
  with_password(test_connstr(), pw, connstr, sizeof(connstr));
  ck_assert_ptr_nonnull(strstr(connstr, SECRET));
  connect_and_close(connstr, &t);
  ck_assert_int_eq(t.status, UVODBC_ESQL);
  ck_assert_int_eq(t.open_in_cb, 0);
  ck_assert_uint_gt(t.ndiag, 0);
  if (test_driver() == TEST_PG) {
    /* psqlODBC reports the server's 28P01 as a generic 08001 with native
     * code 101 (CONNECTION_SERVER_REPORTED_SEVERITY_FATAL). */
    ck_assert_msg(strcmp(t.state, "08001") == 0, "SQLSTATE %s: %s", t.state,
                  t.first_msg);
    ck_assert_msg(strstr(t.first_msg, "password authentication failed") !=
                      NULL,
                  "message: %s", t.first_msg);
  } else {
    ck_assert_msg(strcmp(t.state, "28000") == 0, "SQLSTATE %s: %s", t.state,
                  t.first_msg);
    ck_assert_int_eq(t.native, 1045); /* ER_ACCESS_DENIED_ERROR */
  }
  ck_assert_msg(t.leaked == 0, "password in a diagnostic");
}

START_TEST(conn_connect_wrong_password) {
  check_wrong_password(SECRET);
  check_wrong_password("{" SECRET "}");
}
END_TEST

/* Work queued behind a failed connect fails too, and the handle closes. */
START_TEST(conn_exec_after_failed_connect) {
  uv_loop_t loop;
  uvodbc_req_t req;
  conn_t t = {0};
  log_t log = {0};
  op_t op;
  uvodbc_conn_t* conn;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  req.data = &t;
  ck_assert_int_eq(uvodbc_connect(&loop, &req, "DSN=nosuchdsn", NULL,
                                  on_connect),
                   0);
  conn = req.conn;
  start_exec(&op, &log, conn, 1, "SELECT 1");
  while (log.n == 0) uv_run(&loop, UV_RUN_ONCE);
  ck_assert_int_eq(t.connect_cb, 1);
  ck_assert_int_eq(t.status, UVODBC_ESQL);
  ck_assert_int_eq(log.status[0], UVODBC_ENOTCONN);
  ck_assert_int_eq(uvodbc_conn_is_open(conn), 0);
  close_conn(&log, conn);
  run_until_closed(&loop, &log);
  ck_assert_int_eq(log.n, 2);
  ck_assert_int_eq(event_at(&log, 1), 0);
  ck_assert_int_eq(event_at(&log, EV_CLOSE), 1);
  test_loop_close(&loop);
}
END_TEST

/* ---- close semantics ---- */

/* A running slow statement and five queued ones, then close: the queued ones
 * complete with UV_ECANCELED in submission order, close_cb last. */
START_TEST(conn_close_queued) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  log_t log = {0};
  op_t ops[6];
  char sql[64];
  int i;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  start_exec(&ops[0], &log, conn, 0, long_sql());
  for (i = 1; i < 6; i++) {
    snprintf(sql, sizeof(sql), "SELECT %d", i);
    start_exec(&ops[i], &log, conn, i, sql);
  }
  close_conn(&log, conn);
  ck_assert_int_eq(log.n, 0);
  run_until_closed(&loop, &log);
  ck_assert_int_eq(log.n, 7);
  for (i = 1; i < 6; i++) {
    int at = event_at(&log, i);
    ck_assert_int_eq(log.status[at], UV_ECANCELED);
    if (i > 1) ck_assert_int_gt(at, event_at(&log, i - 1));
  }
  i = event_at(&log, 0);
  ck_assert_msg(log.status[i] == UV_ECANCELED || log.status[i] == 0,
                "running statement: %s", uvodbc_err_name(log.status[i]));
  ck_assert_int_eq(event_at(&log, EV_CLOSE), 6);
  test_loop_close(&loop);
}
END_TEST

static void close_later(uv_timer_t* timer) {
  log_t* log = timer->data;
  uvodbc_conn_set_data(log->conn, log);
  ck_assert_int_eq(uvodbc_conn_close(log->conn, on_conn_closed), 0);
  uv_close((uv_handle_t*)timer, NULL);
}

/* Close while a long statement runs: it is cancelled, so close_cb comes far
 * sooner than the statement would end. */
START_TEST(conn_close_running) {
  uv_loop_t loop;
  uv_timer_t timer;
  log_t log = {0};
  op_t op;
  uint64_t start, closed_at;
  int at;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  log.conn = test_connect(&loop);
  start_exec(&op, &log, log.conn, 1, long_sql());
  ck_assert_int_eq(uv_timer_init(&loop, &timer), 0);
  timer.data = &log;
  /* Let the statement reach the server first. */
  ck_assert_int_eq(uv_timer_start(&timer, close_later, 300, 0), 0);
  start = uv_hrtime();
  run_until_closed(&loop, &log);
  closed_at = log.close_at;
  ck_assert_int_eq(log.n, 2);
  at = event_at(&log, 1);
  ck_assert_int_eq(at, 0);
  ck_assert_msg(log.status[at] == UV_ECANCELED || log.status[at] == 0,
                "running statement: %s", uvodbc_err_name(log.status[at]));
  ck_assert_int_eq(event_at(&log, EV_CLOSE), 1);
  /* 300 ms before the close, then the cancel and disconnect. */
  ck_assert_msg((closed_at - start) / 1e9 < 1.5 * test_slack(),
                "close took %.2f s with a statement running",
                (closed_at - start) / 1e9);
  test_loop_close(&loop);
}
END_TEST

/* Close from inside an exec callback: the next queued statement is
 * cancelled, operations started from the callback are refused. */
static void on_exec_then_close(uvodbc_req_t* req, int status) {
  op_t* op = req->data;
  log_t* log = op->log;
  uvodbc_req_t other;
  log_event(log, op->ev, status);
  uvodbc_conn_set_data(req->conn, log);
  ck_assert_int_eq(uvodbc_conn_close(req->conn, on_conn_closed), 0);
  ck_assert_int_eq(uvodbc_conn_close(req->conn, on_conn_closed), UV_EINVAL);
  ck_assert_int_eq(uvodbc_conn_exec(req->conn, &other, "SELECT 1", NULL, 0,
                                    NULL, on_op),
                   UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_conn_is_open(req->conn), 0);
  /* The statement's cursor is still ours to close, also now. */
  ck_assert_ptr_nonnull(req->cursor);
  ck_assert_int_eq(uvodbc_cursor_close(req->cursor, NULL), 0);
}

START_TEST(conn_close_in_callback) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  log_t log = {0};
  op_t ops[3];
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  ops[0].log = &log;
  ops[0].ev = 0;
  ops[0].req.data = &ops[0];
  ck_assert_int_eq(uvodbc_conn_exec(conn, &ops[0].req, "SELECT 1", NULL, 0,
                                    NULL, on_exec_then_close),
                   0);
  start_exec(&ops[1], &log, conn, 1, "SELECT 2");
  start_exec(&ops[2], &log, conn, 2, "SELECT 3");
  run_until_closed(&loop, &log);
  ck_assert_int_eq(log.n, 4);
  ck_assert_int_eq(event_at(&log, 0), 0);
  ck_assert_int_eq(log.status[0], 0);
  ck_assert_int_eq(event_at(&log, 1), 1);
  ck_assert_int_eq(log.status[1], UV_ECANCELED);
  ck_assert_int_eq(event_at(&log, 2), 2);
  ck_assert_int_eq(log.status[2], UV_ECANCELED);
  ck_assert_int_eq(event_at(&log, EV_CLOSE), 3);
  test_loop_close(&loop);
}
END_TEST

/* Close from inside the connect callback, with a statement queued behind
 * the connect. */
static void on_connect_then_close(uvodbc_req_t* req, int status) {
  log_t* log = req->data;
  log_event(log, EV_CONNECT, status);
  ck_assert_int_ne(uvodbc_conn_is_open(req->conn), 0);
  uvodbc_conn_set_data(req->conn, log);
  ck_assert_int_eq(uvodbc_conn_close(req->conn, on_conn_closed), 0);
  ck_assert_int_eq(uvodbc_conn_is_open(req->conn), 0);
}

START_TEST(conn_close_in_connect_callback) {
  uv_loop_t loop;
  uvodbc_req_t req;
  log_t log = {0};
  op_t op;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  req.data = &log;
  ck_assert_int_eq(uvodbc_connect(&loop, &req, test_connstr(), NULL,
                                  on_connect_then_close),
                   0);
  start_exec(&op, &log, req.conn, 1, "SELECT 1");
  run_until_closed(&loop, &log);
  ck_assert_int_eq(log.n, 3);
  ck_assert_int_eq(event_at(&log, EV_CONNECT), 0);
  ck_assert_int_eq(log.status[0], 0);
  ck_assert_int_eq(event_at(&log, 1), 1);
  ck_assert_int_eq(log.status[1], UV_ECANCELED);
  ck_assert_int_eq(event_at(&log, EV_CLOSE), 2);
  test_loop_close(&loop);
}
END_TEST

/* Close right after uvodbc_connect(), with statements queued: the connect
 * either completes (and is disconnected) or is cancelled; never open. */
static void on_connect_log(uvodbc_req_t* req, int status) {
  log_t* log = req->data;
  log_event(log, EV_CONNECT, status);
  ck_assert_int_eq(uvodbc_conn_is_open(req->conn), 0);
}

START_TEST(conn_close_before_connect) {
  uv_loop_t loop;
  uvodbc_req_t req;
  log_t log = {0};
  op_t ops[3];
  int i, at;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  req.data = &log;
  log.in_call = 1;
  ck_assert_int_eq(uvodbc_connect(&loop, &req, test_connstr(), NULL,
                                  on_connect_log),
                   0);
  log.in_call = 0;
  for (i = 0; i < 3; i++) start_exec(&ops[i], &log, req.conn, i, "SELECT 1");
  close_conn(&log, req.conn);
  ck_assert_int_eq(uvodbc_conn_is_open(req.conn), 0);
  ck_assert_int_eq(log.n, 0);
  run_until_closed(&loop, &log);
  ck_assert_int_eq(log.n, 5);
  at = event_at(&log, EV_CONNECT);
  ck_assert_msg(log.status[at] == 0 || log.status[at] == UV_ECANCELED,
                "connect: %s", uvodbc_err_name(log.status[at]));
  for (i = 0; i < 3; i++) {
    ck_assert_int_eq(log.status[event_at(&log, i)], UV_ECANCELED);
    if (i > 0) ck_assert_int_gt(event_at(&log, i), event_at(&log, i - 1));
  }
  ck_assert_int_eq(event_at(&log, EV_CLOSE), 4);
  test_loop_close(&loop);
}
END_TEST

/* ---- after close ---- */

static void on_cursor_closed(uvodbc_cursor_t* cursor) {
  log_t* log = uvodbc_cursor_get_data(cursor);
  log_event(log, EV_CURSOR_CLOSE, 0);
}

static void on_keep_cursor(uvodbc_req_t* req, int status) {
  op_t* op = req->data;
  log_event(op->log, op->ev, status);
}

START_TEST(conn_ops_after_close) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_cursor_t* cursor;
  uvodbc_exec_options_t opts;
  uvodbc_param_t p = uvodbc_param_int64(1);
  uvodbc_req_t other;
  log_t log = {0};
  op_t op;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);

  /* A cursor with rows left. */
  uvodbc_exec_options_init(&opts);
  opts.batch_rows = 1;
  op.log = &log;
  op.ev = 1;
  op.req.data = &op;
  ck_assert_int_eq(uvodbc_conn_exec(conn, &op.req,
                                    "SELECT 1 UNION ALL SELECT 2", NULL, 0,
                                    &opts, on_keep_cursor),
                   0);
  while (log.n == 0) uv_run(&loop, UV_RUN_ONCE);
  ck_assert_int_eq(log.status[0], 0);
  cursor = op.req.cursor;
  ck_assert_ptr_nonnull(cursor);
  uvodbc_cursor_set_data(cursor, &log);

  close_conn(&log, conn);
  memset(&other, 0, sizeof(other));
  other.data = &log;
  ck_assert_int_eq(uvodbc_conn_exec(conn, &other, "SELECT 1", NULL, 0, NULL,
                                    on_op),
                   UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_conn_exec(conn, &other, "SELECT ?", &p, 1, NULL,
                                    on_op),
                   UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_conn_query(conn, &other, "SELECT 1", NULL, 0, NULL,
                                     on_op),
                   UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_cursor_fetch(cursor, &other, 0, on_op),
                   UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_cursor_next_result(cursor, &other, on_op),
                   UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_conn_set_autocommit(conn, &other, 0, on_op),
                   UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_conn_begin(conn, &other, on_op), UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_conn_commit(conn, &other, on_op), UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_conn_rollback(conn, &other, on_op), UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_conn_set_isolation(conn, &other,
                                             UVODBC_ISOLATION_READ_COMMITTED,
                                             on_op),
                   UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_conn_ping(conn, &other, on_op), UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_conn_reset(conn, &other, on_op), UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_conn_prepare(conn, &other, "SELECT 1", on_op),
                   UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_conn_catalog(conn, &other, UVODBC_CATALOG_TABLES,
                                       NULL, NULL, on_op),
                   UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_conn_get_info(conn, &other, on_op), UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_conn_bulk(conn, &other, "SELECT ?", &p, 1, 1, NULL,
                                    on_op),
                   UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_conn_call(conn, &other, "{CALL p(?)}", &p, 1, NULL,
                                    on_op),
                   UVODBC_ECLOSED);
  /* The refused calls left the request alone. */
  ck_assert_ptr_eq(other.data, &log);
  ck_assert_ptr_null(other.op);
  /* Double close. */
  ck_assert_int_eq(uvodbc_conn_close(conn, on_conn_closed), UV_EINVAL);
  ck_assert_int_eq(uvodbc_conn_close(conn, NULL), UV_EINVAL);
  ck_assert_int_eq(uvodbc_conn_is_open(conn), 0);
  /* The cursor still needs its own close. */
  log.in_call = 1;
  ck_assert_int_eq(uvodbc_cursor_close(cursor, on_cursor_closed), 0);
  ck_assert_int_eq(uvodbc_cursor_close(cursor, on_cursor_closed), UV_EINVAL);
  log.in_call = 0;
  run_until_closed(&loop, &log);
  test_loop_close(&loop);
  ck_assert_int_eq(log.n, 3); /* exec, cursor close, conn close */
  /* The cursor was detached when the connection's close started, but its
   * close was asked for before close_cb: close_cb still comes last (libuv
   * runs close callbacks of one iteration last-in first-out). */
  ck_assert_int_eq(event_at(&log, 1), 0);
  ck_assert_int_eq(event_at(&log, EV_CURSOR_CLOSE), 1);
  ck_assert_int_eq(event_at(&log, EV_CLOSE), 2);
}
END_TEST

/* Opens a cursor with rows left (one row per batch). */
static uvodbc_cursor_t* open_cursor(uv_loop_t* loop, uvodbc_conn_t* conn,
                                    log_t* log, op_t* op) {
  uvodbc_exec_options_t opts;
  int n = log->n;
  uvodbc_exec_options_init(&opts);
  opts.batch_rows = 1;
  op->log = log;
  op->ev = 1;
  op->req.data = op;
  ck_assert_int_eq(uvodbc_conn_exec(conn, &op->req,
                                    "SELECT 1 UNION ALL SELECT 2", NULL, 0,
                                    &opts, on_keep_cursor),
                   0);
  while (log->n == n) uv_run(loop, UV_RUN_ONCE);
  ck_assert_int_eq(log->status[n], 0);
  ck_assert_ptr_nonnull(op->req.cursor);
  uvodbc_cursor_set_data(op->req.cursor, log);
  return op->req.cursor;
}

/* Cursor closed first, connection right after: both callbacks once, the
 * cursor's first (it was queued ahead of the close). */
START_TEST(conn_close_cursor_first) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_cursor_t* cursor;
  log_t log = {0};
  op_t op;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  cursor = open_cursor(&loop, conn, &log, &op);
  log.in_call = 1;
  ck_assert_int_eq(uvodbc_cursor_close(cursor, on_cursor_closed), 0);
  log.in_call = 0;
  close_conn(&log, conn);
  run_until_closed(&loop, &log);
  test_loop_close(&loop);
  ck_assert_int_eq(log.n, 3);
  ck_assert_int_eq(event_at(&log, EV_CURSOR_CLOSE), 1);
  ck_assert_int_eq(event_at(&log, EV_CLOSE), 2);
}
END_TEST

/* A cursor left open outlives its connection: it is closed from the
 * connection's close callback, after the handle is gone. */
static void on_conn_closed_close_cursor(uvodbc_conn_t* conn) {
  log_t* log = uvodbc_conn_get_data(conn);
  uvodbc_cursor_t* cursor = log->cursor;
  uvodbc_req_t req;
  log_event(log, EV_CLOSE, 0);
  memset(&req, 0, sizeof(req));
  ck_assert_int_eq(uvodbc_cursor_fetch(cursor, &req, 0, on_op),
                   UVODBC_ECLOSED);
  ck_assert_uint_eq(uvodbc_cursor_ncols(cursor), 0);
  ck_assert_ptr_null(uvodbc_cursor_column(cursor, 0));
  log->in_call = 1;
  ck_assert_int_eq(uvodbc_cursor_close(cursor, on_cursor_closed), 0);
  log->in_call = 0;
}

START_TEST(conn_cursor_outlives_close) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  log_t log = {0};
  op_t op;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  log.cursor = open_cursor(&loop, conn, &log, &op);
  uvodbc_conn_set_data(conn, &log);
  ck_assert_int_eq(uvodbc_conn_close(conn, on_conn_closed_close_cursor), 0);
  test_loop_close(&loop);
  ck_assert_int_eq(log.n, 3);
  ck_assert_int_eq(event_at(&log, EV_CLOSE), 1);
  ck_assert_int_eq(event_at(&log, EV_CURSOR_CLOSE), 2);
}
END_TEST


/* A prepared statement outlives its connection the same way: refused with
 * UVODBC_ECLOSED, closed by its own call, once, never inside it. */
static void on_prepared(uvodbc_req_t* req, int status) {
  op_t* op = req->data;
  log_event(op->log, op->ev, status);
  op->log->prepared = req->prepared;
}

static void on_prepared_closed(uvodbc_prepared_t* p) {
  log_t* log = uvodbc_prepared_get_data(p);
  log_event(log, EV_PREPARED_CLOSE, 0);
}

START_TEST(conn_prepared_outlives_close) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_prepared_t* prepared;
  uvodbc_param_info_t info;
  uvodbc_req_t other;
  log_t log = {0};
  op_t op;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  op.log = &log;
  op.ev = 1;
  op.req.data = &op;
  ck_assert_int_eq(uvodbc_conn_prepare(conn, &op.req, "SELECT 1", on_prepared),
                   0);
  while (log.n == 0) uv_run(&loop, UV_RUN_ONCE);
  ck_assert_int_eq(log.status[0], 0);
  prepared = log.prepared;
  ck_assert_ptr_nonnull(prepared);
  uvodbc_prepared_set_data(prepared, &log);
  close_conn(&log, conn);
  memset(&other, 0, sizeof(other));
  ck_assert_int_eq(uvodbc_prepared_exec(prepared, &other, NULL, 0, NULL,
                                        on_op),
                   UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_prepared_query(prepared, &other, NULL, 0, NULL,
                                         on_op),
                   UVODBC_ECLOSED);
  run_until_closed(&loop, &log);
  /* After close_cb: still refused, parameter info gone. */
  ck_assert_int_eq(uvodbc_prepared_exec(prepared, &other, NULL, 0, NULL,
                                        on_op),
                   UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_prepared_param(prepared, 0, &info), UVODBC_ECLOSED);
  ck_assert_uint_eq(uvodbc_prepared_nparams(prepared), 0);
  log.in_call = 1;
  ck_assert_int_eq(uvodbc_prepared_close(prepared, on_prepared_closed), 0);
  ck_assert_int_eq(uvodbc_prepared_close(prepared, on_prepared_closed),
                   UV_EINVAL);
  log.in_call = 0;
  test_loop_close(&loop);
  ck_assert_int_eq(log.n, 3);
  ck_assert_int_eq(event_at(&log, EV_CLOSE), 1);
  ck_assert_int_eq(event_at(&log, EV_PREPARED_CLOSE), 2);
}
END_TEST

/* ---- invalid arguments ---- */

static int stray_callbacks;

static void on_stray(uvodbc_req_t* req, int status) {
  stray_callbacks++;
}

START_TEST(conn_invalid_args) {
  uv_loop_t loop;
  uvodbc_req_t req;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  stray_callbacks = 0;
  memset(&req, 0, sizeof(req));
  ck_assert_int_eq(uvodbc_connect(NULL, &req, test_connstr(), NULL, on_stray),
                   UV_EINVAL);
  ck_assert_int_eq(uvodbc_connect(&loop, NULL, test_connstr(), NULL,
                                  on_stray),
                   UV_EINVAL);
  ck_assert_int_eq(uvodbc_connect(&loop, &req, NULL, NULL, on_stray),
                   UV_EINVAL);
  ck_assert_ptr_null(req.conn);
  ck_assert_int_eq(uvodbc_conn_close(NULL, NULL), UV_EINVAL);
  ck_assert_int_eq(uvodbc_conn_exec(NULL, &req, "SELECT 1", NULL, 0, NULL,
                                    on_stray),
                   UV_EINVAL);
  ck_assert_int_eq(uvodbc_conn_query(NULL, &req, "SELECT 1", NULL, 0, NULL,
                                     on_stray),
                   UV_EINVAL);
  ck_assert_int_eq(uvodbc_conn_is_open(NULL), 0);
  ck_assert_ptr_null(uvodbc_conn_get_data(NULL));
  ck_assert_ptr_null(uvodbc_conn_get_loop(NULL));
  uvodbc_conn_set_data(NULL, &req); /* no crash */
  ck_assert_int_eq(uvodbc_req_cancel(NULL), UV_EINVAL);
  ck_assert_int_eq(uvodbc_req_cancel(&req), UV_EINVAL); /* nothing pending */
  uvodbc_req_cleanup(NULL);
  uvodbc_req_cleanup(&req);
  ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0); /* nothing pending */
  ck_assert_int_eq(stray_callbacks, 0);
  test_loop_close(&loop);
}
END_TEST

/* ---- accessors ---- */

static void on_connect_state(uvodbc_req_t* req, int status) {
  conn_t* t = req->data;
  t->connect_cb++;
  t->status = status;
  t->open_in_cb = uvodbc_conn_is_open(req->conn);
}

START_TEST(conn_is_open_transitions) {
  uv_loop_t loop;
  uvodbc_req_t req;
  conn_t t = {0};
  uvodbc_conn_t* conn;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  req.data = &t;
  ck_assert_int_eq(uvodbc_connect(&loop, &req, test_connstr(), NULL,
                                  on_connect_state),
                   0);
  conn = req.conn;
  ck_assert_int_eq(uvodbc_conn_is_open(conn), 0); /* not yet */
  while (t.connect_cb == 0) uv_run(&loop, UV_RUN_ONCE);
  ck_assert_int_eq(t.status, 0);
  ck_assert_int_ne(t.open_in_cb, 0);
  ck_assert_int_ne(uvodbc_conn_is_open(conn), 0);
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 5"), 5);
  ck_assert_int_ne(uvodbc_conn_is_open(conn), 0);
  uvodbc_conn_set_data(conn, &t);
  ck_assert_int_eq(uvodbc_conn_close(conn, on_closed_count), 0);
  ck_assert_int_eq(uvodbc_conn_is_open(conn), 0); /* closing */
  while (t.close_cb == 0) uv_run(&loop, UV_RUN_ONCE);
  ck_assert_int_eq(t.close_cb, 1);

  /* A failed connect never opens. */
  memset(&t, 0, sizeof(t));
  req.data = &t;
  ck_assert_int_eq(uvodbc_connect(&loop, &req, "DSN=nosuchdsn", NULL,
                                  on_connect_state),
                   0);
  conn = req.conn;
  while (t.connect_cb == 0) uv_run(&loop, UV_RUN_ONCE);
  ck_assert_int_eq(t.status, UVODBC_ESQL);
  ck_assert_int_eq(t.open_in_cb, 0);
  ck_assert_int_eq(uvodbc_conn_is_open(conn), 0);
  uvodbc_conn_set_data(conn, &t);
  ck_assert_int_eq(uvodbc_conn_close(conn, on_closed_count), 0);
  test_loop_close(&loop);
  ck_assert_int_eq(t.close_cb, 1);
}
END_TEST

START_TEST(conn_data) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  int a, b;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  ck_assert_ptr_null(uvodbc_conn_get_data(conn));
  ck_assert_ptr_eq(uvodbc_conn_get_loop(conn), &loop);
  uvodbc_conn_set_data(conn, &a);
  ck_assert_ptr_eq(uvodbc_conn_get_data(conn), &a);
  uvodbc_conn_set_data(conn, &b);
  ck_assert_ptr_eq(uvodbc_conn_get_data(conn), &b);
  /* Operations leave it alone. */
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 3"), 3);
  ck_assert_ptr_eq(uvodbc_conn_get_data(conn), &b);
  uvodbc_conn_set_data(conn, NULL);
  ck_assert_ptr_null(uvodbc_conn_get_data(conn));
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* ---- options ---- */

START_TEST(conn_options_init) {
  uvodbc_conn_options_t opts;
  memset(&opts, 0xff, sizeof(opts));
  uvodbc_conn_options_init(&opts);
  ck_assert_uint_eq(opts.login_timeout_s, 0);
  ck_assert_uint_eq(opts.query_timeout_ms, 0);
  ck_assert_int_eq(opts.allow_serialized, 0);
  uvodbc_conn_options_init(NULL); /* no crash */
}
END_TEST

START_TEST(conn_login_timeout) {
  uv_loop_t loop;
  uvodbc_req_t req;
  uvodbc_conn_options_t opts;
  conn_t t = {0};
  uvodbc_conn_t* conn;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  uvodbc_conn_options_init(&opts);
  opts.login_timeout_s = 7;
  req.data = &t;
  ck_assert_int_eq(uvodbc_connect(&loop, &req, test_connstr(), &opts,
                                  on_connect_state),
                   0);
  opts.login_timeout_s = 0; /* copied: changing it now has no effect */
  conn = req.conn;
  while (t.connect_cb == 0) uv_run(&loop, UV_RUN_ONCE);
  ck_assert_int_eq(t.connect_cb, 1);
  ck_assert_int_eq(t.status, 0);
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 11"), 11);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* A server that accepts TCP connections but never answers: the login
 * timeout must end the connect (psqlODBC: SQL_ATTR_LOGIN_TIMEOUT, which
 * libpq rounds up to 2 s; MariaDB ignores that attribute, so uvodbc adds
 * its CONN_TIMEOUT key, found by driver name or by DSN). */
typedef struct {
  int fd;
  char connstr[512];
} silent_server_t;

static void silent_server_open(silent_server_t* srv, int by_dsn) {
  struct sockaddr_in addr;
  socklen_t len = sizeof(addr);
  srv->fd = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_ge(srv->fd, 0);
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_int_eq(bind(srv->fd, (struct sockaddr*)&addr, sizeof(addr)), 0);
  ck_assert_int_eq(listen(srv->fd, 8), 0); /* never accepted */
  ck_assert_int_eq(getsockname(srv->fd, (struct sockaddr*)&addr, &len), 0);
  if (by_dsn) /* the string's Port overrides the DSN's (on 127.0.0.1); not
                its password: psqlODBC 13.02 then leaks the DSN's */
    snprintf(srv->connstr, sizeof(srv->connstr), "DSN=%s;Port=%d",
             test_dsn(), ntohs(addr.sin_port));
  else
    snprintf(srv->connstr, sizeof(srv->connstr),
             "DRIVER={%s};Server=127.0.0.1;Port=%d;Database=x;Uid=nobody;"
             "Pwd=" SECRET,
             test_driver() == TEST_PG ? "PostgreSQL Unicode" : "MariaDB Unicode",
             ntohs(addr.sin_port));
}

static void check_connect_failed(uv_loop_t* loop, uvodbc_req_t* req,
                                 conn_t* t) {
  ck_assert_int_eq(t->connect_cb, 1);
  ck_assert_int_eq(t->status, UVODBC_ESQL);
  ck_assert_int_eq(t->open_in_cb, 0);
  ck_assert_int_eq(t->leaked, 0);
  uvodbc_conn_set_data(req->conn, t);
  ck_assert_int_eq(uvodbc_conn_close(req->conn, on_closed_count), 0);
  test_loop_close(loop);
  ck_assert_int_eq(t->close_cb, 1);
}

/* `timeout_s` as set in the options (0: the default), `expect_s` the time
 * it must take. */
static void login_timeout_case(int by_dsn, unsigned int timeout_s,
                               unsigned int expect_s) {
  uv_loop_t loop;
  uvodbc_req_t req;
  uvodbc_conn_options_t opts;
  conn_t t = {0};
  silent_server_t srv;
  uint64_t start;
  double took;
  silent_server_open(&srv, by_dsn);
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  uvodbc_conn_options_init(&opts);
  opts.login_timeout_s = timeout_s;
  req.data = &t;
  start = uv_hrtime();
  ck_assert_int_eq(uvodbc_connect(&loop, &req, srv.connstr, &opts, on_connect),
                   0);
  while (t.connect_cb == 0) uv_run(&loop, UV_RUN_ONCE);
  took = (uv_hrtime() - start) / 1e9;
  /* libpq counts the timeout in whole seconds of time(): when a second
   * ticks between its start and its poll (seen under valgrind), it waits
   * between expect_s - 1 and expect_s. MariaDB's CONN_TIMEOUT is a
   * millisecond poll. */
  ck_assert_msg(took >= expect_s - (test_driver() == TEST_PG ? 1.0 : 0.1) &&
                    took < expect_s + 4 * test_slack(),
                "login timeout after %.2f s, expected %u s", took, expect_s);
  if (test_driver() == TEST_PG) {
    ck_assert_str_eq(t.state, "08001");
  } else {
    ck_assert_str_eq(t.state, "08S01");
    ck_assert_int_eq(t.native, 2013); /* CR_SERVER_LOST */
  }
  check_connect_failed(&loop, &req, &t);
  close(srv.fd);
}

START_TEST(conn_login_timeout_expires) {
  login_timeout_case(0, 2, 2);
}
END_TEST

START_TEST(conn_login_timeout_expires_dsn) {
  login_timeout_case(1, 2, 2);
}
END_TEST

START_TEST(conn_login_timeout_default) {
  login_timeout_case(0, 0, UVODBC_LOGIN_TIMEOUT_DEFAULT_S);
}
END_TEST

static void on_silent_server_wait(uv_timer_t* timer) {
  silent_server_t* srv = timer->data;
  close(srv->fd); /* resets the connection waiting in its backlog */
  srv->fd = -1;
}

/* UVODBC_LOGIN_TIMEOUT_NONE: no timeout of uvodbc's, so the connect still
 * waits after the default timeout, until the server goes away. */
START_TEST(conn_login_timeout_none) {
  uv_loop_t loop;
  uvodbc_req_t req;
  uv_timer_t timer;
  uvodbc_conn_options_t opts;
  conn_t t = {0};
  silent_server_t srv;
  uint64_t start;
  double took;
  silent_server_open(&srv, 0);
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  uvodbc_conn_options_init(&opts);
  opts.login_timeout_s = UVODBC_LOGIN_TIMEOUT_NONE;
  req.data = &t;
  start = uv_hrtime();
  ck_assert_int_eq(uvodbc_connect(&loop, &req, srv.connstr, &opts, on_connect),
                   0);
  ck_assert_int_eq(uv_timer_init(&loop, &timer), 0);
  timer.data = &srv;
  ck_assert_int_eq(uv_timer_start(&timer, on_silent_server_wait,
                                  (UVODBC_LOGIN_TIMEOUT_DEFAULT_S + 2) * 1000,
                                  0),
                   0);
  while (t.connect_cb == 0) uv_run(&loop, UV_RUN_ONCE);
  took = (uv_hrtime() - start) / 1e9;
  ck_assert_int_eq(srv.fd, -1); /* it ended because the server went away */
  ck_assert_msg(took < UVODBC_LOGIN_TIMEOUT_DEFAULT_S + 2 + 4 * test_slack(),
                "connect ended %.2f s after the start", took);
  uv_close((uv_handle_t*)&timer, NULL);
  check_connect_failed(&loop, &req, &t);
}
END_TEST

static void on_timed(uvodbc_req_t* req, int status) {
  op_t* op = req->data;
  log_event(op->log, op->ev, status);
  op->log->close_at = uv_hrtime(); /* reused: when the statement ended */
  uvodbc_req_cleanup(req);
}

START_TEST(conn_query_timeout) {
  uv_loop_t loop;
  uvodbc_req_t req;
  uvodbc_conn_options_t opts;
  conn_t t = {0};
  log_t log = {0};
  op_t op;
  uvodbc_conn_t* conn;
  uint64_t start;
  double took;
  int round;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  uvodbc_conn_options_init(&opts);
  opts.query_timeout_ms = 400;
  req.data = &t;
  ck_assert_int_eq(uvodbc_connect(&loop, &req, test_connstr(), &opts,
                                  on_connect_state),
                   0);
  conn = req.conn;
  while (t.connect_cb == 0) uv_run(&loop, UV_RUN_ONCE);
  ck_assert_int_eq(t.status, 0);

  /* Twice: the connection stays usable and the next timeout works too. */
  for (round = 0; round < 2; round++) {
    memset(&log, 0, sizeof(log));
    op.log = &log;
    op.ev = 1;
    op.req.data = &op;
    start = uv_hrtime();
    ck_assert_int_eq(uvodbc_conn_query(conn, &op.req, long_sql(), NULL, 0,
                                       NULL, on_timed),
                     0);
    while (log.n == 0) uv_run(&loop, UV_RUN_ONCE);
    took = (log.close_at - start) / 1e9;
    ck_assert_int_eq(log.n, 1);
    ck_assert_msg(log.status[0] == UV_ETIMEDOUT, "round %d: %s", round,
                  uvodbc_err_name(log.status[0]));
    ck_assert_msg(took >= 0.39 && took < 1.9 * test_slack(), "round %d: timed out after %.2f s",
                  round, took);
    /* A fast statement fits in the default timeout. */
    ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 12"), 12);
  }
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

static const char* no_dsn(void) {
  static char why[128];
  snprintf(why, sizeof(why),
           "%s is not set (tests/servers.sh writes the test DSNs)",
           test_dsn_env());
  return why;
}

Suite* conn_suite(void) {
  Suite* s = suite_create("conn");
  TCase* tc = tcase_create("conn");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, conn_connect_ok);
  tcase_add_test(tc, conn_connect_unknown_driver);
  tcase_add_test(tc, conn_connect_bad_dsn);
  if (test_dsn() != NULL)
    tcase_add_test(tc, conn_connect_dsn);
  else
    test_skip("conn_connect_dsn", no_dsn());
  if (test_driver() == TEST_SQLITE)
    test_skip("conn_connect_wrong_password",
              "SQLite has no credentials (PWD= is ignored)");
  else
    tcase_add_test(tc, conn_connect_wrong_password);
  tcase_add_test(tc, conn_exec_after_failed_connect);
  tcase_add_test(tc, conn_close_queued);
  tcase_add_test(tc, conn_close_running);
  tcase_add_test(tc, conn_close_in_callback);
  tcase_add_test(tc, conn_close_in_connect_callback);
  tcase_add_test(tc, conn_close_before_connect);
  tcase_add_test(tc, conn_ops_after_close);
  tcase_add_test(tc, conn_close_cursor_first);
  tcase_add_test(tc, conn_cursor_outlives_close);
  tcase_add_test(tc, conn_prepared_outlives_close);
  tcase_add_test(tc, conn_invalid_args);
  tcase_add_test(tc, conn_is_open_transitions);
  tcase_add_test(tc, conn_data);
  tcase_add_test(tc, conn_options_init);
  tcase_add_test(tc, conn_login_timeout);
  if (test_driver() == TEST_SQLITE)
    test_skip("conn_login_timeout_expires", "SQLite has no server to wait for");
  else
    tcase_add_test(tc, conn_login_timeout_expires);
  if (test_driver() == TEST_SQLITE)
    test_skip("conn_login_timeout_expires_dsn",
              "SQLite has no server to wait for");
  else if (test_dsn() == NULL)
    test_skip("conn_login_timeout_expires_dsn", no_dsn());
  else
    tcase_add_test(tc, conn_login_timeout_expires_dsn);
  if (test_driver() == TEST_SQLITE) {
    test_skip("conn_login_timeout_default", "SQLite has no server to wait for");
    test_skip("conn_login_timeout_none", "SQLite has no server to wait for");
  } else {
    tcase_add_test(tc, conn_login_timeout_default);
    tcase_add_test(tc, conn_login_timeout_none);
  }
  tcase_add_test(tc, conn_query_timeout);
  suite_add_tcase(s, tc);
  return s;
}
