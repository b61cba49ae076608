/* Chains: statements already queued on a connection run back to back in one
 * thread hop (lib/strand.c), with their callbacks in order, each once, and
 * cancel, timeouts and close still acting on each statement of the chain.
 *
 * A chain forms when the statements are queued while an earlier operation
 * runs: each test first starts `X` (a short sleep) alone, queues the chain
 * behind it, and acts once the chain runs. */
#include "uvodbc-test.h"

#define MAX_OPS 64

typedef struct {
  int n;                  /* callbacks so far            */
  int order[MAX_OPS];     /* op index of each callback   */
  int calls[MAX_OPS];     /* callbacks per op            */
  int status[MAX_OPS];
  int64_t value[MAX_OPS]; /* QUERY: the first cell       */
  int64_t rows[MAX_OPS];  /* rows_affected               */
  uvodbc_cursor_t* cursor[MAX_OPS];
  const uvodbc_batch_t* batch[MAX_OPS]; /* EXEC: the cursor's first batch */
  int close_cb;
  int n_at_close;         /* callbacks before close_cb   */
} log_t;

typedef struct {
  uvodbc_req_t req;
  log_t* log;
  int index;
} op_t;

static void on_done(uvodbc_req_t* req, int status) {
  op_t* op = req->data;
  log_t* log = op->log;
  ck_assert_int_lt(log->n, MAX_OPS);
  ck_assert_int_eq(log->close_cb, 0); /* close_cb comes last */
  log->order[log->n++] = op->index;
  log->calls[op->index]++;
  log->status[op->index] = status;
  log->rows[op->index] = req->rows_affected;
  log->cursor[op->index] = req->cursor;
  if (req->cursor != NULL) log->batch[op->index] = req->batch;
  if (status == 0 && req->batch != NULL &&
      uvodbc_batch_get_int64(req->batch, 0, 0, &log->value[op->index]) != 0)
    log->value[op->index] = -1; /* pg_sleep() returns void */
  if (status != 0 && status != UV_ECANCELED && status != UV_ETIMEDOUT)
    test_print_diags(req, "chain");
  uvodbc_req_cleanup(req);
}

static void on_conn_closed(uvodbc_conn_t* conn) {
  log_t* log = uvodbc_conn_get_data(conn);
  log->close_cb++;
  log->n_at_close = log->n;
}

static void init_ops(op_t* ops, int n, log_t* log) {
  int i;
  for (i = 0; i < n; i++) {
    ops[i].log = log;
    ops[i].index = i;
    ops[i].req.data = &ops[i];
  }
}

static void query(uvodbc_conn_t* conn, op_t* op, const char* sql,
                  const uvodbc_exec_options_t* opts) {
  ck_assert_int_eq(uvodbc_conn_query(conn, &op->req, sql, NULL, 0, opts,
                                     on_done),
                   0);
}

static void exec(uvodbc_conn_t* conn, op_t* op, const char* sql) {
  ck_assert_int_eq(uvodbc_conn_exec(conn, &op->req, sql, NULL, 0, NULL,
                                    on_done),
                   0);
}

static void select_n(uvodbc_conn_t* conn, op_t* op, int n) {
  char sql[64];
  snprintf(sql, sizeof(sql), "SELECT %d", n);
  query(conn, op, sql, NULL);
}

static void run_until(uv_loop_t* loop, log_t* log, int n) {
  while (log->n < n)
    ck_assert_msg(uv_run(loop, UV_RUN_ONCE) != 0 || log->n >= n,
                  "the loop ended after %d of %d callbacks", log->n, n);
}

/* Every op called once, in index order. */
static void check_order(const log_t* log, int n) {
  int i;
  ck_assert_int_eq(log->n, n);
  for (i = 0; i < n; i++) {
    ck_assert_int_eq(log->order[i], i);
    ck_assert_int_eq(log->calls[i], 1);
  }
}

/* Where op `index` is in the order of callbacks. */
static int position(const log_t* log, int index) {
  int i;
  for (i = 0; i < log->n; i++)
    if (log->order[i] == index) return i;
  return -1;
}

static void on_iteration(uv_prepare_t* prepare) {
  (*(int*)prepare->data)++;
}

/* 64 queries queued at once: all correct, in order, and in far fewer loop
 * iterations than queries (one hop a query needs one iteration each). */
START_TEST(chain_one_hop) {
  uv_loop_t loop;
  uv_prepare_t prepare;
  uvodbc_conn_t* conn;
  log_t log = {0};
  op_t ops[MAX_OPS];
  int i, iterations = 0;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  init_ops(ops, MAX_OPS, &log);
  query(conn, &ops[0], test_sleep_sql(0.2), NULL);
  for (i = 1; i < MAX_OPS; i++) select_n(conn, &ops[i], i * 3);
  run_until(&loop, &log, 1);
  uv_prepare_init(&loop, &prepare);
  prepare.data = &iterations;
  uv_prepare_start(&prepare, on_iteration);
  run_until(&loop, &log, MAX_OPS);
  uv_close((uv_handle_t*)&prepare, NULL);
  check_order(&log, MAX_OPS);
  for (i = 1; i < MAX_OPS; i++) {
    ck_assert_int_eq(log.status[i], 0);
    ck_assert_int_eq(log.value[i], i * 3);
  }
  ck_assert_msg(iterations <= 16, "63 queued queries took %d iterations",
                iterations);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* Starts `cb` after `ms`, once X's callback ran. */
typedef struct {
  uv_timer_t timer;
  log_t* log;
  uvodbc_conn_t* conn;
  op_t* target;
  int result;
  int fired;
} action_t;

static void act_later(uv_loop_t* loop, action_t* a, unsigned int ms,
                      uv_timer_cb cb) {
  run_until(loop, a->log, 1); /* X done: the chain behind it runs now */
  ck_assert_int_eq(uv_timer_init(loop, &a->timer), 0);
  a->timer.data = a;
  ck_assert_int_eq(uv_timer_start(&a->timer, cb, ms, 0), 0);
}

/* X (a short sleep, alone in its hop), then the chain behind it: A (a
 * sleep of `a_seconds`), B (SELECT 2), C (SELECT 3); ops[0..3]. */
static void queue_x_then_abc(uvodbc_conn_t* conn, op_t* ops, log_t* log,
                             double a_seconds) {
  init_ops(ops, 4, log);
  query(conn, &ops[0], test_sleep_sql(0.2), NULL);
  query(conn, &ops[1], test_sleep_sql(a_seconds), NULL);
  select_n(conn, &ops[2], 2);
  select_n(conn, &ops[3], 3);
}

static void cancel_target(uv_timer_t* timer) {
  action_t* a = timer->data;
  a->fired = 1;
  a->result = uvodbc_req_cancel(&a->target->req);
}

/* X, then the chain [A: a 2 s sleep, B, C]; B is cancelled while A runs.
 * B fails with UV_ECANCELED, A and C complete, all in order. */
START_TEST(chain_cancel_follower) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  log_t log = {0};
  op_t ops[4];
  action_t a = {0};
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  queue_x_then_abc(conn, ops, &log, 2.0);
  a.log = &log;
  a.target = &ops[2];
  act_later(&loop, &a, 100, cancel_target);
  run_until(&loop, &log, 4);
  ck_assert_int_eq(a.fired, 1);
  ck_assert_int_eq(a.result, 0);
  check_order(&log, 4);
  ck_assert_int_eq(log.status[1], 0);
  ck_assert_int_eq(log.status[2], UV_ECANCELED);
  ck_assert_int_eq(log.status[3], 0);
  ck_assert_int_eq(log.value[3], 3);
  /* The connection works afterwards. */
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 7"), 7);
  uv_close((uv_handle_t*)&a.timer, NULL);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* A statement with a timeout is not chained: B's timeout is reported when
 * it expires, before A (a 3 s sleep) ends, not after A's hop.  C, behind
 * it, still runs. */
START_TEST(chain_timeout_not_delayed) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_exec_options_t opts;
  log_t log = {0};
  op_t ops[4];
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  init_ops(ops, 4, &log);
  uvodbc_exec_options_init(&opts);
  opts.timeout_ms = 300; /* from the call: while A runs */
  query(conn, &ops[0], test_sleep_sql(0.2), NULL);
  query(conn, &ops[1], test_sleep_sql(3.0), NULL);
  query(conn, &ops[2], "SELECT 2", &opts);
  select_n(conn, &ops[3], 3);
  run_until(&loop, &log, 4);
  ck_assert_int_eq(log.n, 4);
  /* B as its timeout expired (under a sanitizer, maybe before X ended);
   * then A, then C. */
  ck_assert_int_lt(position(&log, 2), position(&log, 1));
  ck_assert_int_lt(position(&log, 0), position(&log, 1));
  ck_assert_int_eq(position(&log, 1), 2);
  ck_assert_int_eq(position(&log, 3), 3);
  ck_assert_int_eq(log.status[1], 0);
  ck_assert_int_eq(log.status[2], UV_ETIMEDOUT);
  ck_assert_int_eq(log.status[3], 0);
  ck_assert_int_eq(log.value[3], 3);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

static void close_conn(uv_timer_t* timer) {
  action_t* a = timer->data;
  a->fired = 1;
  uvodbc_conn_set_data(a->conn, a->log);
  a->result = uvodbc_conn_close(a->conn, on_conn_closed);
}

/* Close while the chain [A: a 3 s sleep, B, C] runs: A is cancelled, B and
 * C never run; close_cb comes last. */
START_TEST(chain_close_while_running) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  log_t log = {0};
  op_t ops[4];
  action_t a = {0};
  uint64_t start;
  double took;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  queue_x_then_abc(conn, ops, &log, 3.0);
  a.log = &log;
  a.conn = conn;
  act_later(&loop, &a, 100, close_conn);
  start = uv_hrtime();
  while (log.close_cb == 0) uv_run(&loop, UV_RUN_ONCE);
  took = (uv_hrtime() - start) / 1e9;
  ck_assert_int_eq(a.result, 0);
  check_order(&log, 4);
  ck_assert_int_eq(log.close_cb, 1);
  ck_assert_int_eq(log.n_at_close, 4);
  ck_assert_int_eq(log.status[1], UV_ECANCELED);
  ck_assert_int_eq(log.status[2], UV_ECANCELED);
  ck_assert_int_eq(log.status[3], UV_ECANCELED);
  ck_assert_msg(took < 2.5 * test_slack(), "close took %.2f s", took);
  uv_close((uv_handle_t*)&a.timer, NULL);
  test_loop_close(&loop);
}
END_TEST

static void on_close_in_callback(uvodbc_req_t* req, int status) {
  op_t* op = req->data;
  log_t* log = op->log;
  uvodbc_conn_t* conn = req->conn;
  on_done(req, status);
  uvodbc_conn_set_data(conn, log);
  ck_assert_int_eq(uvodbc_conn_close(conn, on_conn_closed), 0);
}

/* The chain [A, B: an INSERT, C] ran in one hop; A's callback closes the
 * connection.  B and C had already run: they report their real results
 * (the row is there), then close_cb. */
START_TEST(chain_close_in_first_callback) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  log_t log = {0};
  op_t ops[4];
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, TEST_TABLE("chain_close_cb"), "id INT");
  init_ops(ops, 4, &log);
  query(conn, &ops[0], test_sleep_sql(0.2), NULL);
  ck_assert_int_eq(uvodbc_conn_query(conn, &ops[1].req, "SELECT 1", NULL, 0,
                                     NULL, on_close_in_callback),
                   0);
  exec(conn, &ops[2],
       "INSERT INTO " TEST_TABLE("chain_close_cb") " VALUES (5)");
  query(conn, &ops[3], "SELECT COUNT(*) FROM " TEST_TABLE("chain_close_cb"),
        NULL);
  while (log.close_cb == 0) uv_run(&loop, UV_RUN_ONCE);
  check_order(&log, 4);
  ck_assert_int_eq(log.n_at_close, 4);
  ck_assert_int_eq(log.status[1], 0);
  ck_assert_int_eq(log.status[2], 0);
  ck_assert_int_eq(log.rows[2], 1);
  ck_assert_int_eq(log.status[3], 0);
  ck_assert_int_eq(log.value[3], 1);
  conn = test_connect(&loop);
  ck_assert_int_eq(test_query_int(&loop, conn,
                                  "SELECT COUNT(*) FROM " TEST_TABLE(
                                      "chain_close_cb") " WHERE id = 5"),
                   1);
  test_drop_table(&loop, conn, TEST_TABLE("chain_close_cb"));
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

static void on_prepared(uvodbc_req_t* req, int status) {
  ck_assert_int_eq(status, 0);
  *(uvodbc_prepared_t**)req->data = req->prepared;
}

static void on_prepared_closed(uvodbc_prepared_t* p) {
  (void)p;
}

static void on_cursor_closed(uvodbc_cursor_t* c) {
  (void)c;
}

/* Each kind in one chain: a query, a cursor, an INSERT, a prepared INSERT,
 * a query that sees both rows, a second cursor.  The statements handed
 * along the chain keep every result apart. */
START_TEST(chain_mixed_kinds) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_prepared_t* p = NULL;
  uvodbc_req_t req;
  uvodbc_param_t param = uvodbc_param_int64(12);
  log_t log = {0};
  op_t ops[7];
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, TEST_TABLE("chain_mixed"), "id INT");
  req.data = &p;
  ck_assert_int_eq(uvodbc_conn_prepare(conn, &req,
                                       "INSERT INTO " TEST_TABLE(
                                           "chain_mixed") " VALUES (?)",
                                       on_prepared),
                   0);
  while (p == NULL) uv_run(&loop, UV_RUN_ONCE);
  init_ops(ops, 7, &log);
  query(conn, &ops[0], test_sleep_sql(0.2), NULL);
  select_n(conn, &ops[1], 41);
  exec(conn, &ops[2], "SELECT 42");
  exec(conn, &ops[3],
       "INSERT INTO " TEST_TABLE("chain_mixed") " VALUES (11)");
  ck_assert_int_eq(
      uvodbc_prepared_exec(p, &ops[4].req, &param, 1, NULL, on_done), 0);
  query(conn, &ops[5],
        "SELECT COUNT(*) FROM " TEST_TABLE("chain_mixed") " WHERE id IN (11, 12)",
        NULL);
  exec(conn, &ops[6], "SELECT 43");
  run_until(&loop, &log, 7);
  check_order(&log, 7);
  ck_assert_int_eq(log.value[1], 41);
  ck_assert_int_eq(log.rows[3], 1);
  ck_assert_int_eq(log.rows[4], 1);
  ck_assert_int_eq(log.value[5], 2);
  ck_assert_ptr_nonnull(log.cursor[2]);
  ck_assert_ptr_nonnull(log.cursor[6]);
  ck_assert_ptr_null(log.cursor[3]);
  /* Each cursor's first batch is its own, still valid after the others. */
  ck_assert_int_eq(test_get_i64(log.batch[2], 0, 0), 42);
  ck_assert_int_eq(test_get_i64(log.batch[6], 0, 0), 43);
  ck_assert_int_eq(uvodbc_cursor_close(log.cursor[2], on_cursor_closed), 0);
  ck_assert_int_eq(uvodbc_cursor_close(log.cursor[6], on_cursor_closed), 0);
  ck_assert_int_eq(uvodbc_prepared_close(p, on_prepared_closed), 0);
  test_drop_table(&loop, conn, TEST_TABLE("chain_mixed"));
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

Suite* chain_suite(void) {
  Suite* s = suite_create("chain");
  TCase* tc = tcase_create("chain");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, chain_one_hop);
  tcase_add_test(tc, chain_cancel_follower);
  tcase_add_test(tc, chain_timeout_not_delayed);
  tcase_add_test(tc, chain_close_while_running);
  tcase_add_test(tc, chain_close_in_first_callback);
  tcase_add_test(tc, chain_mixed_kinds);
  suite_add_tcase(s, tc);
  return s;
}
