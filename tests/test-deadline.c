/* Deadlines that hold when the server never answers (issue 9, part 1).
 *
 * The server is frozen with SIGSTOP (tests/servers.sh freeze: PostgreSQL's
 * postmaster and every backend, or mariadbd), so the driver call never
 * returns and SQLCancel cannot help.  A timeout's callback still comes at
 * its deadline plus the grace (UVODBC_DEADLINE_GRACE_DEFAULT_MS), with
 * UV_ETIMEDOUT; the connection is broken, what is queued fails at once,
 * the close calls back at once, a pool evicts the connection.  After the
 * thaw the stuck worker returns and everything is freed: uvodbc_shutdown()
 * says UV_EBUSY until then, 0 after, and the loop closes.
 *
 * Each test thaws the server in its fixture (and the teardown once more),
 * so a failed test leaves nothing frozen.  On SQLite, whose driver honours
 * the cancel, a timeout interrupts the statement and nothing is
 * abandoned. */
#include <stdlib.h>

#include "uvodbc-test.h"

#define GRACE_MS UVODBC_DEADLINE_GRACE_DEFAULT_MS
/* Loop overhead and timer granularity on a loaded machine, before slack. */
#define MARGIN_MS 700

static uint64_t now_ms(void) {
  return uv_hrtime() / 1000000;
}

static uint64_t bound_ms(uint64_t ms) {
  return (uint64_t)((double)(ms + MARGIN_MS) * test_slack());
}

/* Wakes the loop every 50 ms, so a wait gives up at its bound even when
 * nothing else would wake it. */
static uv_timer_t ticker;

static void on_tick(uv_timer_t* t) {
  (void)t;
}

/* Runs the loop until `expr` holds, failing after `ms` (with slack). */
#define WAIT_FOR(loop, expr, ms)                                          \
  do {                                                                    \
    uint64_t t0_ = now_ms();                                              \
    while (!(expr)) {                                                     \
      ck_assert_msg(now_ms() - t0_ < bound_ms(ms),                        \
                    "still no (%s) after %u ms", #expr, (unsigned)(ms));  \
      uv_run((loop), UV_RUN_ONCE);                                        \
    }                                                                     \
  } while (0)

/* ---- the server ---- */


static void freeze(void) {
  ck_assert_msg(test_servers_sh("freeze") == 0, "tests/servers.sh freeze failed");
}

static void thaw(void) {
  ck_assert_msg(test_servers_sh("thaw") == 0, "tests/servers.sh thaw failed");
}

static void setup(void) {
  if (test_driver() != TEST_SQLITE) thaw();
}

static void teardown(void) {
  if (test_driver() != TEST_SQLITE && test_servers_sh("thaw") != 0)
    fprintf(stderr, "deadline: cannot thaw the server\n");
}

/* ---- requests ---- */

typedef struct {
  uvodbc_req_t req;
  int calls;
  int status;
  char state[6];
  uint64_t at; /* ms, when the callback came */
  int64_t value;
  int had_cursor;
} op_t;

static void op_init(op_t* o) {
  memset(o, 0, sizeof(*o));
  o->req.data = o;
}

static void on_op(uvodbc_req_t* req, int status) {
  op_t* o = req->data;
  o->calls++;
  o->status = status;
  o->at = now_ms();
  o->had_cursor = req->cursor != NULL;
  if (req->ndiag > 0) memcpy(o->state, req->diag[0].sqlstate, 6);
  if (req->type == UVODBC_REQ_QUERY && status == 0 && req->batch != NULL &&
      uvodbc_batch_nrows(req->batch) > 0)
    uvodbc_batch_get_int64(req->batch, 0, 0, &o->value);
  /* Whatever the request held is the caller's again: scribble on it, as a
   * caller reusing it would (ASan/valgrind see a later write by uvodbc). */
  if (req->type == UVODBC_REQ_QUERY) uvodbc_req_cleanup(req);
}

static int closed;
static int close_status;
static uint64_t closed_at;

static void on_closed(uvodbc_conn_t* conn) {
  closed++;
  close_status = uvodbc_conn_close_status(conn);
  closed_at = now_ms();
}

static uvodbc_conn_t* connect_with(uv_loop_t* loop,
                                   const uvodbc_conn_options_t* opts) {
  op_t c;
  op_init(&c);
  ck_assert_int_eq(uvodbc_connect(loop, &c.req, test_connstr(), opts, on_op),
                   0);
  WAIT_FOR(loop, c.calls > 0, 20000);
  ck_assert_msg(c.status == 0, "connect: %s [%s]", uvodbc_err_name(c.status),
                c.state);
  return c.req.conn;
}

static void start(uv_loop_t* loop) {
  closed = 0;
  close_status = 0;
  ck_assert_int_eq(uv_loop_init(loop), 0);
  ck_assert_int_eq(uv_timer_init(loop, &ticker), 0);
  ck_assert_int_eq(uv_timer_start(&ticker, on_tick, 50, 50), 0);
}

/* The timed-out callback: UV_ETIMEDOUT, at the deadline plus the grace. */
static void expect_timed_out(const op_t* o, uint64_t t0, unsigned int ms,
                             const char* what) {
  ck_assert_msg(o->calls == 1, "%s: %d callbacks", what, o->calls);
  ck_assert_msg(o->status == UV_ETIMEDOUT, "%s: %s [%s], want ETIMEDOUT",
                what, uvodbc_err_name(o->status), o->state);
  ck_assert_msg(o->at - t0 + 50 >= ms, "%s: after %u ms, before its %u ms",
                what, (unsigned)(o->at - t0), ms);
  /* The measured delay, for the record (issue 9 asks for it). */
  printf("deadline/%s: %s called back after %u ms (timeout %u + grace %u)\n",
         test_driver_name(), what, (unsigned)(o->at - t0), ms,
         (unsigned)GRACE_MS);
  ck_assert_msg(o->at - t0 <= bound_ms(ms + GRACE_MS),
                "%s: after %u ms, deadline %u + grace %u", what,
                (unsigned)(o->at - t0), ms, (unsigned)GRACE_MS);
}

/* A queued op on the broken connection fails at once, with ENOTCONN. */
static void expect_fails_at_once(uv_loop_t* loop, const op_t* o,
                                 uint64_t since) {
  WAIT_FOR(loop, o->calls > 0, 300);
  ck_assert_int_eq(o->calls, 1);
  ck_assert_msg(o->status == UVODBC_ENOTCONN, "queued: %s [%s]",
                uvodbc_err_name(o->status), o->state);
  ck_assert_uint_le(o->at - since, bound_ms(300));
}

/* The close calls back at once, says the handles are not freed yet; then
 * the thaw lets the stuck worker return and everything goes: shutdown is
 * refused until then. */
static void close_and_recover(uv_loop_t* loop, uvodbc_conn_t* conn) {
  uint64_t t0 = now_ms();
  ck_assert_int_eq(uvodbc_conn_close(conn, on_closed), 0);
  WAIT_FOR(loop, closed > 0, 300);
  ck_assert_uint_le(closed_at - t0, bound_ms(300));
  ck_assert_int_eq(closed, 1);
  ck_assert_msg(close_status == UV_ETIMEDOUT, "close status %s",
                uvodbc_err_name(close_status));
  ck_assert_int_eq(uvodbc_shutdown(), UV_EBUSY); /* the worker is stuck */
}

/* A close that freed every handle. */
static void close_cleanly(uv_loop_t* loop, uvodbc_conn_t* conn) {
  ck_assert_int_eq(uvodbc_conn_close(conn, on_closed), 0);
  WAIT_FOR(loop, closed > 0, 5000);
  ck_assert_int_eq(closed, 1);
  ck_assert_msg(close_status == 0, "close status %s",
                uvodbc_err_name(close_status));
}

static void thaw_and_finish(uv_loop_t* loop) {
  thaw();
  WAIT_FOR(loop, uvodbc_shutdown() == 0, 20000);
  uv_close((uv_handle_t*)&ticker, NULL);
  test_loop_close(loop);
}

/* A query with the connection's query_timeout_ms = 2000 on a frozen
 * server: UV_ETIMEDOUT at 2000 ms + grace, the connection broken, a ping
 * queued behind it fails at once, the close calls back at once. */
START_TEST(deadline_query_frozen) {
  uv_loop_t loop;
  uvodbc_conn_options_t co;
  uvodbc_conn_t* conn;
  op_t q, ping;
  uint64_t t0;
  start(&loop);
  uvodbc_conn_options_init(&co);
  co.query_timeout_ms = 2000;
  conn = connect_with(&loop, &co);
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 1"), 1);
  freeze();
  op_init(&q);
  op_init(&ping);
  t0 = now_ms();
  ck_assert_int_eq(
      uvodbc_conn_query(conn, &q.req, "SELECT 2", NULL, 0, NULL, on_op), 0);
  ck_assert_int_eq(uvodbc_conn_ping(conn, &ping.req, on_op), 0);
  /* Pending while the driver call hangs (tests/test-req-misuse.c). */
  ck_assert_int_eq(
      uvodbc_conn_query(conn, &q.req, "SELECT 3", NULL, 0, NULL, on_op),
      UV_EBUSY);
  WAIT_FOR(&loop, q.calls > 0, 2000 + GRACE_MS);
  expect_timed_out(&q, t0, 2000, "query");
  ck_assert_ptr_null(q.req.batch);
  ck_assert(uvodbc_conn_is_broken(conn));
  expect_fails_at_once(&loop, &ping, q.at);
  /* Given up: the request is the caller's again, though its op lives on. */
  ck_assert_int_eq(
      uvodbc_conn_query(conn, &q.req, "SELECT 4", NULL, 0, NULL, on_op), 0);
  WAIT_FOR(&loop, q.calls > 1, 300);
  ck_assert_int_eq(q.status, UVODBC_ENOTCONN);
  close_and_recover(&loop, conn);
  thaw_and_finish(&loop);
  ck_assert_int_eq(q.calls + ping.calls, 3);
}
END_TEST

/* An exec with timeout_ms = 1500: the same, and no cursor; a statement
 * queued after the timeout fails at once too.  Closed after the thaw, the
 * connection closes as usual. */
START_TEST(deadline_exec_frozen) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_exec_options_t eo;
  op_t e, queued, after;
  uint64_t t0;
  start(&loop);
  conn = connect_with(&loop, NULL);
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 1"), 1);
  freeze();
  uvodbc_exec_options_init(&eo);
  eo.timeout_ms = 1500;
  op_init(&e);
  op_init(&queued);
  t0 = now_ms();
  ck_assert_int_eq(
      uvodbc_conn_exec(conn, &e.req, "SELECT 3", NULL, 0, &eo, on_op), 0);
  ck_assert_int_eq(
      uvodbc_conn_exec(conn, &queued.req, "SELECT 4", NULL, 0, NULL, on_op),
      0);
  WAIT_FOR(&loop, e.calls > 0, 1500 + GRACE_MS);
  expect_timed_out(&e, t0, 1500, "exec");
  ck_assert(!e.had_cursor);
  ck_assert(uvodbc_conn_is_broken(conn));
  expect_fails_at_once(&loop, &queued, e.at);
  op_init(&after);
  ck_assert_int_eq(
      uvodbc_conn_exec(conn, &after.req, "SELECT 5", NULL, 0, NULL, on_op),
      0);
  expect_fails_at_once(&loop, &after, now_ms());
  /* Thawed, the stuck worker returns; the close then frees the handles as
   * usual and says so. */
  thaw();
  t0 = now_ms();
  while (now_ms() - t0 < bound_ms(2000)) uv_run(&loop, UV_RUN_ONCE);
  ck_assert_int_eq(uvodbc_shutdown(), UV_EBUSY); /* the connection */
  close_cleanly(&loop, conn);
  thaw_and_finish(&loop);
}
END_TEST

/* A close while a query without a timeout hangs on the frozen server:
 * the close has its own deadline (close_timeout_ms); the query's callback
 * comes with UV_ETIMEDOUT, then the close's, whose status says the
 * handles are not freed yet. */
START_TEST(deadline_close_frozen) {
  uv_loop_t loop;
  uvodbc_conn_options_t co;
  uvodbc_conn_t* conn;
  op_t q;
  uint64_t t0;
  start(&loop);
  uvodbc_conn_options_init(&co);
#ifdef UVODBC_CLOSE_TIMEOUT_DEFAULT_MS
  co.close_timeout_ms = 1500;
#endif
  conn = connect_with(&loop, &co);
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 1"), 1);
  freeze();
  op_init(&q);
  ck_assert_int_eq(
      uvodbc_conn_query(conn, &q.req, "SELECT 6", NULL, 0, NULL, on_op), 0);
  t0 = now_ms();
  while (now_ms() - t0 < 300) uv_run(&loop, UV_RUN_ONCE); /* in the driver */
  t0 = now_ms();
  ck_assert_int_eq(uvodbc_conn_close(conn, on_closed), 0);
  WAIT_FOR(&loop, closed > 0, 1500);
  ck_assert_uint_le(closed_at - t0, bound_ms(1500));
  printf("deadline/%s: close called back after %u ms (close_timeout 1500)\n",
         test_driver_name(), (unsigned)(closed_at - t0));
  ck_assert_int_eq(q.calls, 1);
  ck_assert_msg(q.status == UV_ETIMEDOUT, "query: %s",
                uvodbc_err_name(q.status));
  ck_assert_uint_le(q.at, closed_at);
  ck_assert_int_eq(closed, 1);
  ck_assert_msg(close_status == UV_ETIMEDOUT, "close status %s",
                uvodbc_err_name(close_status));
  ck_assert_int_eq(uvodbc_shutdown(), UV_EBUSY);
  thaw_and_finish(&loop);
}
END_TEST

/* A pool whose only connection hangs on the frozen server: the query
 * times out at its deadline plus grace, the pool evicts the connection,
 * and the next request is served by a new connection once the server is
 * thawed. */
static int pool_ready;
static int pool_closed;

static void on_pool_ready(uvodbc_pool_t* pool, int status) {
  (void)pool;
  pool_ready = status == 0 ? 1 : status;
}

static void on_pool_closed(uvodbc_pool_t* pool) {
  (void)pool;
  pool_closed = 1;
}

START_TEST(deadline_pool_frozen) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t po;
  uvodbc_pool_stats_t st;
  op_t q, next;
  uint64_t t0;
  /* The stuck worker keeps its thread; the new connect needs another. */
  setenv("UV_THREADPOOL_SIZE", "6", 1);
  ck_assert_int_eq(uvodbc_set_worker_limit(4), 0);
  start(&loop);
  pool_ready = pool_closed = 0;
  uvodbc_pool_options_init(&po);
  po.min_size = 1;
  po.max_size = 1;
  po.conn.query_timeout_ms = 1500;
  po.conn.login_timeout_s = 30;
  po.acquire_timeout_ms = (unsigned int)bound_ms(40000);
  ck_assert_int_eq(
      uvodbc_pool_create(&loop, &pool, test_connstr(), &po, on_pool_ready),
      0);
  WAIT_FOR(&loop, pool_ready != 0, 20000);
  ck_assert_int_eq(pool_ready, 1);
  freeze();
  op_init(&q);
  t0 = now_ms();
  ck_assert_int_eq(
      uvodbc_pool_query(pool, &q.req, "SELECT 7", NULL, 0, NULL, on_op), 0);
  WAIT_FOR(&loop, q.calls > 0, 1500 + GRACE_MS);
  expect_timed_out(&q, t0, 1500, "pool query");
  op_init(&next);
  ck_assert_int_eq(
      uvodbc_pool_query(pool, &next.req, "SELECT 42", NULL, 0, NULL, on_op),
      0);
  WAIT_FOR(&loop, uvodbc_pool_stats(pool, &st) == 0 && st.evictions >= 1,
           300);
  thaw();
  WAIT_FOR(&loop, next.calls > 0, 30000);
  ck_assert_msg(next.status == 0, "next: %s [%s]",
                uvodbc_err_name(next.status), next.state);
  ck_assert_int_eq(next.value, 42);
  ck_assert_int_eq(uvodbc_pool_close(pool, on_pool_closed), 0);
  WAIT_FOR(&loop, pool_closed, 20000);
  WAIT_FOR(&loop, uvodbc_shutdown() == 0, 20000);
  uv_close((uv_handle_t*)&ticker, NULL);
  test_loop_close(&loop);
  ck_assert_int_eq(q.calls + next.calls, 2);
}
END_TEST

/* Given-up work outlives every connection of its loop: with one worker,
 * c1's query is abandoned and keeps the thread; c2's close waits for a
 * thread and is abandoned at its close deadline before it ever ran; c1 is
 * closed too.  After the thaw the stuck call returns and the cleanups run
 * on the loop's executor state, which the zombies keep alive (it was freed
 * with the last connection: a crash, found in review). */
START_TEST(deadline_zombies_outlive_connections) {
  uv_loop_t loop;
  uvodbc_conn_t* c1;
  uvodbc_conn_t* c2;
  uvodbc_conn_options_t o1, o2;
  unsigned int limit = uvodbc_get_worker_limit();
  op_t q;
  start(&loop);
  uvodbc_conn_options_init(&o1);
  o1.query_timeout_ms = 200;
  o1.deadline_grace_ms = 200;
  uvodbc_conn_options_init(&o2);
  o2.close_timeout_ms = 300;
  c1 = connect_with(&loop, &o1);
  c2 = connect_with(&loop, &o2);
  ck_assert_int_eq(uvodbc_set_worker_limit(1), 0);
  freeze();
  uv_update_time(&loop);
  op_init(&q);
  ck_assert_int_eq(
      uvodbc_conn_query(c1, &q.req, "SELECT 1", NULL, 0, NULL, on_op), 0);
  WAIT_FOR(&loop, q.calls > 0, 400);
  ck_assert_int_eq(q.status, UV_ETIMEDOUT);
  ck_assert_int_eq(uvodbc_conn_close(c2, on_closed), 0);
  WAIT_FOR(&loop, closed == 1, 300);
  ck_assert_int_eq(close_status, UV_ETIMEDOUT);
  ck_assert_int_eq(uvodbc_conn_close(c1, on_closed), 0);
  WAIT_FOR(&loop, closed == 2, 300);
  ck_assert_int_eq(uvodbc_shutdown(), UV_EBUSY); /* the worker is stuck */
  ck_assert_int_eq(uvodbc_set_worker_limit(limit), 0);
  thaw_and_finish(&loop);
}
END_TEST

/* SQLite honours the cancel: a long recursive CTE with a 500 ms timeout is
 * interrupted, UV_ETIMEDOUT well before the grace would end, and the
 * connection is not abandoned: it runs the next query. */
START_TEST(deadline_sqlite_interrupted) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_exec_options_t eo;
  op_t q;
  uint64_t t0;
  start(&loop);
  conn = connect_with(&loop, NULL);
  uvodbc_exec_options_init(&eo);
  eo.timeout_ms = 500;
  op_init(&q);
  t0 = now_ms();
  ck_assert_int_eq(uvodbc_conn_query(conn, &q.req, test_sleep_sql(30), NULL,
                                     0, &eo, on_op),
                   0);
  WAIT_FOR(&loop, q.calls > 0, 500 + GRACE_MS);
  expect_timed_out(&q, t0, 500, "query");
  ck_assert(!uvodbc_conn_is_broken(conn));
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 8"), 8);
  close_cleanly(&loop, conn);
  ck_assert_int_eq(uvodbc_shutdown(), 0);
  uv_close((uv_handle_t*)&ticker, NULL);
  test_loop_close(&loop);
}
END_TEST


/* A close that itself hangs in the driver (the rollback it issues, on a
 * frozen server, inside a transaction) is abandoned at close_timeout_ms:
 * its close callback runs and the connection's memory is freed.  The close
 * op was traced (QUEUED went out): its FINISHED must not come after the
 * close callback, when the stuck worker returns, from an op whose
 * connection is gone (trace.c reads op->conn->options.trace: a use after
 * free, found in review). */
static uvodbc_conn_t* traced_conn;
static int trace_after_close;
static int trace_close_finished;

static void on_trace(const uvodbc_trace_event_t* ev, void* data) {
  (void)data;
  if (closed > 0) trace_after_close++;
  if (ev->phase == UVODBC_TRACE_FINISHED && ev->kind == UVODBC_OP_CONN_CLOSE)
    trace_close_finished++;
}

START_TEST(deadline_close_hangs_traced) {
  uv_loop_t loop;
  uvodbc_conn_options_t co;
  op_t b;
  uint64_t t0;
  start(&loop);
  trace_after_close = trace_close_finished = 0;
  uvodbc_conn_options_init(&co);
  co.close_timeout_ms = 300;
  co.trace = on_trace;
  traced_conn = connect_with(&loop, &co);
  op_init(&b);
  ck_assert_int_eq(uvodbc_conn_begin(traced_conn, &b.req, on_op), 0);
  WAIT_FOR(&loop, b.calls > 0, 5000);
  ck_assert_int_eq(b.status, 0);
  /* In a transaction: the close's rollback needs the server. */
  ck_assert_int_eq(test_query_int(&loop, traced_conn, "SELECT 1"), 1);
  freeze();
  ck_assert_int_eq(uvodbc_conn_close(traced_conn, on_closed), 0);
  WAIT_FOR(&loop, closed > 0, 300);
  ck_assert_msg(close_status == UV_ETIMEDOUT, "close status %s",
                uvodbc_err_name(close_status));
  /* The stuck rollback returns after the thaw; its op is freed then. */
  thaw();
  t0 = now_ms();
  while (now_ms() - t0 < bound_ms(2000) && uvodbc_shutdown() != 0)
    uv_run(&loop, UV_RUN_ONCE);
  ck_assert_int_eq(uvodbc_shutdown(), 0);
  uv_close((uv_handle_t*)&ticker, NULL);
  test_loop_close(&loop);
  ck_assert_msg(trace_after_close == 0,
                "%d trace event(s) for a connection after its close callback",
                trace_after_close);
  ck_assert_int_eq(trace_close_finished, 1);
}
END_TEST

Suite* deadline_suite(void) {
  static const char* const frozen[] = {
      "deadline_query_frozen", "deadline_exec_frozen",
      "deadline_close_frozen", "deadline_pool_frozen",
      "deadline_zombies_outlive_connections", "deadline_close_hangs_traced"};
  Suite* s = suite_create("deadline");
  TCase* tc = tcase_create("deadline");
  const char* skip = NULL;
  size_t i;
  tcase_set_timeout(tc, 90);
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_unchecked_fixture(tc, NULL, teardown);
  if (test_driver() == TEST_SQLITE) {
    tcase_add_test(tc, deadline_sqlite_interrupted);
    skip = "SQLite has no server to freeze";
  } else {
    test_skip("deadline_sqlite_interrupted", "SQLite only");
    if (getenv("UVODBC_TEST_SERVERS_SH") == NULL ||
        getenv("UVODBC_TEST_SERVER_DIR") == NULL)
      skip = "UVODBC_TEST_SERVERS_SH / UVODBC_TEST_SERVER_DIR not set "
             "(servers not started by tests/servers.sh)";
  }
  for (i = 0; i < sizeof(frozen) / sizeof(frozen[0]); i++)
    if (skip != NULL) test_skip(frozen[i], skip);
  if (skip == NULL) {
    tcase_add_test(tc, deadline_query_frozen);
    tcase_add_test(tc, deadline_exec_frozen);
    tcase_add_test(tc, deadline_close_frozen);
    tcase_add_test(tc, deadline_pool_frozen);
    tcase_add_test(tc, deadline_zombies_outlive_connections);
    tcase_add_test(tc, deadline_close_hangs_traced);
  }
  suite_add_tcase(s, tc);
  return s;
}
