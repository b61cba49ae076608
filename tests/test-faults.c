/* Server faults: the server is killed with kill -9 (PostgreSQL: the
 * postmaster and every backend; MariaDB: mariadbd) while a query runs, in
 * the middle of a cursor's fetches, during a bulk insert, while connects
 * are in flight, and under a pool with queued requests; then it is started
 * again on the same port; connects and pools meet a server that is down.
 * Every callback arrives exactly once and within a bound, every operation
 * that failed because the server died or could not be reached carries a
 * disconnect diagnostic, the dead connections say they are broken and
 * still close, and new connections (and the pool) work after the restart.
 *
 * tests/servers.sh does the killing, so the suite runs only on servers it
 * started (UVODBC_TEST_SERVERS_SH, UVODBC_TEST_SERVER_DIR).  Check forks
 * each test and a failed assertion ends its process at once: every test
 * first brings the server back if an earlier one left it down or frozen,
 * and the test case's teardown does it once more for the suites after. */
#include <stdlib.h>

#include "uvodbc-test.h"

/* ---- time ---- */

/* A repeating timer for the whole test: uv_run(UV_RUN_ONCE) returns at
 * least every 50 ms, so a wait can give up at its bound even when a
 * callback never comes and nothing else would wake the loop. */
static uv_timer_t ticker;

static void on_tick(uv_timer_t* t) {
  (void)t;
}

static void ticker_start(uv_loop_t* loop) {
  ck_assert_int_eq(uv_timer_init(loop, &ticker), 0);
  ck_assert_int_eq(uv_timer_start(&ticker, on_tick, 50, 50), 0);
}

static void ticker_stop(void) {
  uv_close((uv_handle_t*)&ticker, NULL);
}

static void run_for(uv_loop_t* loop, uint64_t ms) {
  uint64_t t0 = uv_hrtime();
  while (test_ms_since(t0) < ms) uv_run(loop, UV_RUN_ONCE);
}

/* ---- the server ---- */

static void server(const char* verb) {
  ck_assert_msg(test_servers_sh(verb) == 0, "tests/servers.sh %s %s failed",
                verb, test_driver_name());
}

static void setup(void) {
  ck_assert_msg(test_server_up() == 0, "cannot bring %s back", test_driver_name());
}

static void teardown(void) {
  if (test_server_up() != 0)
    fprintf(stderr, "faults: cannot bring %s back\n", test_driver_name());
}

/* ---- requests: each callback counted, its outcome kept ---- */

typedef struct {
  uvodbc_req_t req;
  int calls;
  int status;
  int disconnect; /* uvodbc_req_is_disconnect() in the callback */
  int ndiag;
  char state[6];
  int native;
  char message[200];
  int64_t rows;
  size_t nrow_status;
  int64_t value; /* QUERY: the first cell, if an integer */
} op_t;

static void op_init(op_t* o) {
  memset(o, 0, sizeof(*o));
  o->req.data = o;
}

static void on_op(uvodbc_req_t* req, int status) {
  op_t* o = req->data;
  o->calls++;
  o->status = status;
  o->disconnect = uvodbc_req_is_disconnect(req);
  o->ndiag = (int)req->ndiag;
  o->rows = req->rows_affected;
  if (req->ndiag > 0) {
    memcpy(o->state, req->diag[0].sqlstate, sizeof(o->state));
    o->native = req->diag[0].native;
    snprintf(o->message, sizeof(o->message), "%s", req->diag[0].message);
  }
  if (req->type == UVODBC_REQ_BULK) o->nrow_status = req->nrow_status;
  if (req->type == UVODBC_REQ_QUERY && status == 0 && req->batch != NULL &&
      uvodbc_batch_nrows(req->batch) > 0)
    uvodbc_batch_get_int64(req->batch, 0, 0, &o->value);
  if (req->type == UVODBC_REQ_QUERY || req->type == UVODBC_REQ_BULK)
    uvodbc_req_cleanup(req);
}

/* One callback, failed with UVODBC_ESQL, and the diagnostics say the
 * connection is gone. */
static void expect_disconnect(const op_t* o, const char* what) {
  ck_assert_msg(o->calls == 1, "%s: %d callbacks", what, o->calls);
  ck_assert_msg(o->status == UVODBC_ESQL && o->disconnect,
                "%s: status %s, disconnect %d, [%s] %d %s", what,
                uvodbc_err_name(o->status), o->disconnect, o->state,
                o->native, o->message);
}

static int calls_of(const op_t* ops, int n) {
  int i, calls = 0;
  for (i = 0; i < n; i++) calls += ops[i].calls;
  return calls;
}

static uvodbc_conn_t* connect_to(uv_loop_t* loop, const char* connstr) {
  op_t c;
  op_init(&c);
  ck_assert_int_eq(uvodbc_connect(loop, &c.req, connstr, NULL, on_op), 0);
  TEST_RUN_UNTIL(loop, c.calls > 0, 20000);
  ck_assert_msg(c.status == 0, "connect: %s [%s] %s",
                uvodbc_err_name(c.status), c.state, c.message);
  return c.req.conn;
}

/* After the restart, a new connection works. */
static void expect_server_back(uv_loop_t* loop) {
  uvodbc_conn_t* conn = connect_to(loop, test_connstr());
  op_t q;
  op_init(&q);
  ck_assert_int_eq(
      uvodbc_conn_query(conn, &q.req, "SELECT 42", NULL, 0, NULL, on_op), 0);
  TEST_RUN_UNTIL(loop, q.calls > 0, 10000);
  ck_assert_int_eq(q.status, 0);
  ck_assert_int_eq(q.value, 42);
  test_close(loop, conn);
}

static void finish(uv_loop_t* loop) {
  ticker_stop();
  test_loop_close(loop);
}

/* The end of a test whose connection died: the connection says it is
 * broken and still closes; the server comes back and serves again. */
static void finish_dead(uv_loop_t* loop, uvodbc_conn_t* conn) {
  ck_assert(uvodbc_conn_is_broken(conn));
  test_close(loop, conn);
  server("restart");
  expect_server_back(loop);
  finish(loop);
}

/* Starts the loop (with the ticker) and a connection running a query
 * that sleeps for a minute. */
static uvodbc_conn_t* start_sleeping(uv_loop_t* loop, op_t* q) {
  uvodbc_conn_t* conn;
  ck_assert_int_eq(uv_loop_init(loop), 0);
  ticker_start(loop);
  conn = connect_to(loop, test_connstr());
  op_init(q);
  ck_assert_int_eq(uvodbc_conn_query(conn, &q->req, test_sleep_sql(60), NULL,
                                     0, NULL, on_op),
                   0);
  return conn;
}

/* The query runs, then the server dies: the query fails at once (not at
 * the end of its sleep) with a disconnect, and the connection says it is
 * broken and still closes. */
START_TEST(faults_kill_query) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  op_t q;
  uint64_t t0;
  conn = start_sleeping(&loop, &q);
  run_for(&loop, 500);
  ck_assert_int_eq(q.calls, 0);
  t0 = uv_hrtime();
  server("kill");
  TEST_RUN_UNTIL(&loop, q.calls > 0, 10000);
  ck_assert_uint_lt(test_ms_since(t0), test_slack_ms(10000));
  expect_disconnect(&q, "query");
  finish_dead(&loop, conn);
  ck_assert_int_eq(q.calls, 1); /* and no second one since */
}
END_TEST

/* The server dies while the connection is idle: the next round trip, a
 * ping, fails with a disconnect diagnostic. */
START_TEST(faults_kill_idle_ping) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  op_t p;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  ticker_start(&loop);
  conn = connect_to(&loop, test_connstr());
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 5"), 5);
  server("kill");
  op_init(&p);
  ck_assert_int_eq(uvodbc_conn_ping(conn, &p.req, on_op), 0);
  TEST_RUN_UNTIL(&loop, p.calls > 0, 10000);
  expect_disconnect(&p, "ping");
  finish_dead(&loop, conn);
  ck_assert_int_eq(p.calls, 1); /* and no second one since */
}
END_TEST

/* ---- mid-fetch ---- */

typedef struct {
  op_t op;
  uvodbc_cursor_t* cursor;
  int64_t next; /* the next expected value */
  int batches;  /* a read's batches */
} reader_t;

static void on_read(uvodbc_req_t* req, int status) {
  reader_t* r = req->data;
  on_op(req, status);
  if (status == 0 && req->cursor != NULL) r->cursor = req->cursor;
  if (status == 0 && req->batch != NULL) {
    size_t i, n = uvodbc_batch_nrows(req->batch);
    for (i = 0; i < n; i++)
      ck_assert_int_eq(test_get_i64(req->batch, 0, i), r->next++);
  }
}

static void on_cursor_closed(uvodbc_cursor_t* cursor) {
  (*(int*)uvodbc_cursor_get_data(cursor))++;
}

static void close_cursor(uv_loop_t* loop, uvodbc_cursor_t* cursor) {
  int closed = 0;
  uvodbc_cursor_set_data(cursor, &closed);
  ck_assert_int_eq(uvodbc_cursor_close(cursor, on_cursor_closed), 0);
  TEST_RUN_UNTIL(loop, closed > 0, 10000);
  ck_assert_int_eq(closed, 1);
}

/* One fetch of `max_rows`, started and run until its callback. */
static void fetch(uv_loop_t* loop, reader_t* r, size_t max_rows,
                  uint64_t kill_after_ms) {
  op_init(&r->op);
  r->op.req.data = r;
  ck_assert_int_eq(
      uvodbc_cursor_fetch(r->cursor, &r->op.req, max_rows, on_read), 0);
  if (kill_after_ms > 0) {
    run_for(loop, kill_after_ms);
    server("kill");
  }
  TEST_RUN_UNTIL(loop, r->op.calls > 0, 15000);
  ck_assert_int_eq(r->op.calls, 1);
}

/* A cursor is half read when the server dies.  PostgreSQL with
 * UseDeclareFetch=1;Fetch=100 reads 100 rows per FETCH, and each row
 * sleeps 5 ms on the server: the kill comes while a fetch waits for the
 * server, which must fail it with a disconnect.  MariaDB's driver holds the
 * whole result on the client: the rest of it reads correctly, to its end,
 * or fails with a disconnect; the next round trip fails with one. */
#define MID_TOTAL 5000

/* A cursor over MID_TOTAL rows with its first 100 read: PostgreSQL through
 * a server cursor, 100 rows per FETCH, each row sleeping 5 ms on the
 * server; MariaDB from table `t`.  Returns the connection. */
static uvodbc_conn_t* open_half_read(uv_loop_t* loop, reader_t* r,
                                     const char* t) {
  uvodbc_conn_t* conn;
  uvodbc_exec_options_t eo;
  char connstr[2048], sql[256];
  int pg = test_driver() == TEST_PG;
  ck_assert_int_eq(uv_loop_init(loop), 0);
  ticker_start(loop);
  snprintf(connstr, sizeof(connstr), "%s%s", test_connstr(),
           pg ? ";UseDeclareFetch=1;Fetch=100" : "");
  conn = connect_to(loop, connstr);
  if (pg) {
    snprintf(sql, sizeof(sql),
             "SELECT g FROM generate_series(1, %d) g "
             "WHERE pg_sleep(0.005) IS NOT NULL",
             MID_TOTAL);
  } else {
    test_make_table(loop, conn, t, "id INTEGER PRIMARY KEY, v INTEGER, "
                                   "s VARCHAR(20)");
    test_fill_numbers(loop, conn, t, MID_TOTAL);
    snprintf(sql, sizeof(sql), "SELECT id FROM %s ORDER BY id", t);
  }
  uvodbc_exec_options_init(&eo);
  eo.batch_rows = 100;
  memset(r, 0, sizeof(*r));
  r->next = 1;
  op_init(&r->op);
  r->op.req.data = r;
  ck_assert_int_eq(
      uvodbc_conn_exec(conn, &r->op.req, sql, NULL, 0, &eo, on_read), 0);
  TEST_RUN_UNTIL(loop, r->op.calls > 0, 20000);
  ck_assert_int_eq(r->op.status, 0);
  ck_assert_ptr_nonnull(r->cursor);
  ck_assert_int_eq(r->next, 101);
  return conn;
}

START_TEST(faults_kill_mid_fetch) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  reader_t r;
  const char* t = TEST_TABLE("faults_kill_mid_fetch");
  const int total = MID_TOTAL;
  int pg = test_driver() == TEST_PG;
  conn = open_half_read(&loop, &r, t);

  if (pg) {
    /* The driver's cache is empty: this fetch is a FETCH on the server,
     * about 500 ms long; the kill comes 150 ms into it. */
    fetch(&loop, &r, 100, 150);
    if (r.op.status == 0) fetch(&loop, &r, 100, 0); /* it was quicker */
    expect_disconnect(&r.op, "fetch");
    ck_assert_int_lt(r.next, total + 1);
  } else {
    server("kill");
    do {
      fetch(&loop, &r, 100, 0);
    } while (r.op.status == 0);
    if (r.op.status == UV_EOF) {
      op_t q;
      ck_assert_int_eq(r.next, total + 1); /* every row, in order */
      op_init(&q);
      ck_assert_int_eq(
          uvodbc_conn_query(conn, &q.req, "SELECT 1", NULL, 0, NULL, on_op),
          0);
      TEST_RUN_UNTIL(&loop, q.calls > 0, 10000);
      expect_disconnect(&q, "query after the last row");
    } else {
      expect_disconnect(&r.op, "fetch");
    }
  }
  ck_assert(uvodbc_conn_is_broken(conn));
  close_cursor(&loop, r.cursor);
  test_close(&loop, conn);
  server("restart");
  if (!pg) {
    conn = connect_to(&loop, test_connstr());
    test_drop_table(&loop, conn, t);
    test_close(&loop, conn);
  }
  expect_server_back(&loop);
  finish(&loop);
  ck_assert_int_eq(r.op.calls, 1); /* and no second one since */
}
END_TEST

/* A read ends with each batch's callback counted in op.calls: the
 * reader's on_read keeps every status; the read is over at the first
 * status that is not 0. */
static void on_read_batch(uvodbc_req_t* req, int status) {
  reader_t* r = req->data;
  int calls = r->op.calls;
  on_read(req, status);
  r->op.calls = status == 0 ? 0 : calls + 1; /* only the end counts */
  if (status == 0) r->batches++;
}

/* The same half-read cursor, read with uvodbc_cursor_read_start(): the
 * kill comes while the read's fetch waits for the server.  PostgreSQL:
 * the read ends with a disconnect, never with a short UV_EOF.  MariaDB
 * (the whole result on the client): every row and UV_EOF, or a
 * disconnect; then the next round trip reports one. */
START_TEST(faults_kill_mid_read) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  reader_t r;
  const char* t = TEST_TABLE("faults_kill_mid_read");
  const int total = MID_TOTAL;
  int pg = test_driver() == TEST_PG;
  conn = open_half_read(&loop, &r, t);
  op_init(&r.op);
  r.op.req.data = &r;
  ck_assert_int_eq(
      uvodbc_cursor_read_start(r.cursor, &r.op.req, 0, on_read_batch), 0);
  run_for(&loop, 150);
  server("kill");
  TEST_RUN_UNTIL(&loop, r.op.calls > 0, 15000);
  ck_assert_int_eq(r.op.calls, 1);
  if (r.op.status == UV_EOF) {
    op_t q;
    ck_assert_msg(!pg, "PostgreSQL: UV_EOF at row %lld of %d",
                  (long long)r.next - 1, total);
    ck_assert_int_eq(r.next, total + 1); /* every row, in order */
    op_init(&q);
    ck_assert_int_eq(
        uvodbc_conn_query(conn, &q.req, "SELECT 1", NULL, 0, NULL, on_op), 0);
    TEST_RUN_UNTIL(&loop, q.calls > 0, 10000);
    expect_disconnect(&q, "query after the last row");
  } else {
    expect_disconnect(&r.op, "read");
    if (pg) ck_assert_int_lt(r.next, total + 1);
  }
  ck_assert(uvodbc_conn_is_broken(conn));
  close_cursor(&loop, r.cursor);
  test_close(&loop, conn);
  server("restart");
  if (!pg) {
    conn = connect_to(&loop, test_connstr());
    test_drop_table(&loop, conn, t);
    test_close(&loop, conn);
  }
  ticker_stop();
  test_loop_close(&loop);
}
END_TEST

/* ---- mid-bulk ---- */

/* A trigger that sleeps 1 ms per row: the bulk insert is surely under
 * way when the server dies, however fast the driver sends the arrays. */
static void make_slow_insert_table(uv_loop_t* loop, uvodbc_conn_t* conn,
                                   const char* t) {
  char sql[512];
  test_make_table(loop, conn, t, "id BIGINT, s VARCHAR(40)");
  if (test_driver() == TEST_PG) {
    test_exec(loop, conn,
              "CREATE OR REPLACE FUNCTION faults_slow_row() RETURNS trigger "
              "AS $$ BEGIN PERFORM pg_sleep(0.001); RETURN NEW; END $$ "
              "LANGUAGE plpgsql");
    snprintf(sql, sizeof(sql),
             "CREATE TRIGGER %s_slow BEFORE INSERT ON %s FOR EACH ROW "
             "EXECUTE FUNCTION faults_slow_row()",
             t, t);
  } else {
    snprintf(sql, sizeof(sql),
             "CREATE TRIGGER %s_slow BEFORE INSERT ON %s FOR EACH ROW "
             "DO SLEEP(0.001)",
             t, t);
  }
  test_exec(loop, conn, sql);
}

/* A bulk insert of 200,000 rows, 500 per SQLExecute, is under way when
 * the server dies: it stops with a disconnect, tells how many rows ran,
 * and has a status for every row. */
START_TEST(faults_kill_mid_bulk) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_exec_options_t eo;
  uvodbc_param_column_t cols[2];
  const size_t n = 200000;
  int64_t* ids;
  const char** texts;
  op_t b;
  uint64_t t0;
  size_t i;
  const char* t = TEST_TABLE("faults_kill_mid_bulk");
  char sql[128];
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  ticker_start(&loop);
  conn = connect_to(&loop, test_connstr());
  make_slow_insert_table(&loop, conn, t);
  ids = malloc(n * sizeof(*ids));
  texts = malloc(n * sizeof(*texts));
  ck_assert(ids != NULL && texts != NULL);
  for (i = 0; i < n; i++) {
    ids[i] = (int64_t)i + 1;
    texts[i] = i % 2 ? "an odd row of the bulk insert" : "an even row";
  }
  memset(cols, 0, sizeof(cols));
  cols[0].type = UVODBC_TYPE_INT64;
  cols[0].values = ids;
  cols[1].type = UVODBC_TYPE_TEXT;
  cols[1].values = texts;
  uvodbc_exec_options_init(&eo);
  eo.batch_rows = 500;
  snprintf(sql, sizeof(sql), "INSERT INTO %s (id, s) VALUES (?, ?)", t);
  op_init(&b);
  ck_assert_int_eq(
      uvodbc_conn_bulk_columns(conn, &b.req, sql, cols, 2, n, &eo, on_op), 0);
  run_for(&loop, 700);
  ck_assert_msg(b.calls == 0, "the bulk insert ended before the kill");
  t0 = uv_hrtime();
  server("kill");
  TEST_RUN_UNTIL(&loop, b.calls > 0, 10000);
  ck_assert_uint_lt(test_ms_since(t0), test_slack_ms(10000));
  expect_disconnect(&b, "bulk");
  ck_assert_int_ge(b.rows, 0);
  ck_assert_int_lt(b.rows, (int64_t)n);
  ck_assert_uint_eq(b.nrow_status, n);
  ck_assert(uvodbc_conn_is_broken(conn));
  test_close(&loop, conn);
  free(ids);
  free(texts);
  server("restart");
  conn = connect_to(&loop, test_connstr());
  /* kill -9 may lose the last commits (fsync and synchronous commit are
   * off): never more rows than the bulk insert reported. */
  snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", t);
  ck_assert_int_le(test_query_int(&loop, conn, sql), b.rows);
  test_drop_table(&loop, conn, t);
  if (test_driver() == TEST_PG)
    test_exec(&loop, conn, "DROP FUNCTION faults_slow_row()");
  test_close(&loop, conn);
  finish(&loop);
  ck_assert_int_eq(b.calls, 1); /* and no second one since */
}
END_TEST

/* ---- connects ---- */

#define NCONNECTS 6

/* Connects are in flight when the server dies: the server is frozen first,
 * so the first connect waits for its answer (the others wait behind the
 * connect lock or for a worker), then killed.  Every connect fails well
 * before its login timeout, with diagnostics, and every handle closes. */
START_TEST(faults_kill_connects) {
  uv_loop_t loop;
  uvodbc_conn_options_t co;
  op_t c[NCONNECTS];
  uint64_t t0;
  int i;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  ticker_start(&loop);
  uvodbc_conn_options_init(&co);
  co.login_timeout_s = 60;
  server("freeze");
  for (i = 0; i < NCONNECTS; i++) {
    op_init(&c[i]);
    ck_assert_int_eq(
        uvodbc_connect(&loop, &c[i].req, test_connstr(), &co, on_op), 0);
  }
  run_for(&loop, 500);
  for (i = 0; i < NCONNECTS; i++) ck_assert_int_eq(c[i].calls, 0);
  t0 = uv_hrtime();
  server("kill");
  TEST_RUN_UNTIL(&loop, calls_of(c, NCONNECTS) == NCONNECTS, 20000);
  ck_assert_uint_lt(test_ms_since(t0), test_slack_ms(20000));
  for (i = 0; i < NCONNECTS; i++) {
    ck_assert_int_eq(c[i].calls, 1);
    ck_assert_msg(c[i].status == UVODBC_ESQL && c[i].ndiag > 0,
                  "connect %d: %s", i, uvodbc_err_name(c[i].status));
    ck_assert(!uvodbc_conn_is_open(c[i].req.conn));
    expect_disconnect(&c[i], "connect to a dying server");
  }
  for (i = 0; i < NCONNECTS; i++) test_close(&loop, c[i].req.conn);
  server("restart");
  expect_server_back(&loop);
  finish(&loop);
  ck_assert_int_eq(calls_of(c, NCONNECTS), NCONNECTS); /* no second */
}
END_TEST

/* Connects to a server that is down (killed, not restarted): each fails
 * at once with a diagnostic that uvodbc_req_is_disconnect() recognises
 * (MariaDB: HY000/2002 "Can't connect to server", not recognised before;
 * psqlODBC: 08001 "Connection refused"). */
START_TEST(faults_connect_server_down) {
  uv_loop_t loop;
  op_t c[3];
  int i;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  ticker_start(&loop);
  server("kill");
  for (i = 0; i < 3; i++) {
    op_init(&c[i]);
    ck_assert_int_eq(
        uvodbc_connect(&loop, &c[i].req, test_connstr(), NULL, on_op), 0);
  }
  TEST_RUN_UNTIL(&loop, calls_of(c, 3) == 3, 20000);
  for (i = 0; i < 3; i++) {
    expect_disconnect(&c[i], "connect to a server that is down");
    ck_assert(!uvodbc_conn_is_open(c[i].req.conn));
    test_close(&loop, c[i].req.conn);
  }
  server("restart");
  expect_server_back(&loop);
  finish(&loop);
  ck_assert_int_eq(calls_of(c, 3), 3); /* no second */
}
END_TEST

/* ---- a pool full of queued requests ---- */

#define NRUNNING 4
#define NQUEUED 24

static uvodbc_pool_t* the_pool;

static void on_ready(uvodbc_pool_t* pool, int status) {
  *(int*)uvodbc_pool_get_data(pool) = status == 0 ? 1 : status;
}

static void on_pool_closed(uvodbc_pool_t* pool) {
  (void)pool;
  the_pool = NULL;
}

/* A waiting acquire: gives the connection straight back. */
static void on_acquired(uvodbc_req_t* req, int status) {
  on_op(req, status);
  if (status == 0)
    ck_assert_int_eq(uvodbc_pool_release(the_pool, req->conn), 0);
}

/* Opens the_pool with `size` connections on a new loop: `size` queries at
 * once need as many pool threads, and the footprint rule one more (read by
 * libuv at its first work in this forked process). */
static void pool_open(uv_loop_t* loop, int size) {
  uvodbc_pool_options_t po;
  int ready = 0;
  setenv("UV_THREADPOOL_SIZE", "8", 1);
  ck_assert_int_eq(uvodbc_set_worker_limit((unsigned)size + 1), 0);
  ck_assert_int_eq(uv_loop_init(loop), 0);
  ticker_start(loop);
  uvodbc_pool_options_init(&po);
  po.min_size = (unsigned)size;
  po.max_size = (unsigned)size;
  po.max_connecting = (unsigned)size;
  po.acquire_timeout_ms = (unsigned int)test_slack_ms(60000);
  po.conn.login_timeout_s = 10;
  ck_assert_int_eq(
      uvodbc_pool_create(loop, &the_pool, test_connstr(), &po, on_ready), 0);
  uvodbc_pool_set_data(the_pool, &ready);
  TEST_RUN_UNTIL(loop, ready != 0, 20000);
  ck_assert_int_eq(ready, 1);
  uvodbc_pool_set_data(the_pool, NULL);
}

/* After the restart the pool serves a new request; then it closes. */
static void pool_serves_then_close(uv_loop_t* loop) {
  op_t after;
  op_init(&after);
  ck_assert_int_eq(uvodbc_pool_query(the_pool, &after.req, "SELECT 42",
                                     NULL, 0, NULL, on_op),
                   0);
  TEST_RUN_UNTIL(loop, after.calls > 0, 30000);
  ck_assert_int_eq(after.status, 0);
  ck_assert_int_eq(after.value, 42);
  ck_assert_int_eq(uvodbc_pool_close(the_pool, on_pool_closed), 0);
  TEST_RUN_UNTIL(loop, the_pool == NULL, 20000);
  ck_assert_int_eq(after.calls, 1);
}

static void expect_queued_outcome(const op_t* o, int i, int* ok) {
  ck_assert_msg(o->calls == 1, "queued request %d: %d callbacks", i,
                o->calls);
  if (o->status == 0) {
    (*ok)++;
    return;
  }
  /* Failed while the server was down: a connect's error, diagnostics
   * included. */
  ck_assert_msg(o->status == UVODBC_ESQL && o->ndiag > 0,
                "queued request %d: %s", i, uvodbc_err_name(o->status));
  expect_disconnect(o, "queued request");
}

/* A pool of 4 runs 4 long queries, and 24 more requests (queries and
 * acquires) wait for a connection, when the server dies.  The running ones
 * fail with a disconnect, their connections are evicted; the waiting ones
 * wait on, or fail with a connect's error while the server is down; once it
 * is back, they are served, and the pool serves new requests. */
START_TEST(faults_kill_pool) {
  uv_loop_t loop;
  uvodbc_pool_stats_t st;
  op_t run[NRUNNING], q[NQUEUED];
  int i, ok = 0;
  uint64_t t0;
  pool_open(&loop, NRUNNING);

  for (i = 0; i < NRUNNING; i++) {
    op_init(&run[i]);
    ck_assert_int_eq(uvodbc_pool_query(the_pool, &run[i].req,
                                       test_sleep_sql(60), NULL, 0, NULL,
                                       on_op),
                     0);
  }
  for (i = 0; i < NQUEUED; i++) {
    op_init(&q[i]);
    if (i % 4 == 3)
      ck_assert_int_eq(uvodbc_pool_acquire(the_pool, &q[i].req, on_acquired),
                       0);
    else
      ck_assert_int_eq(uvodbc_pool_query(the_pool, &q[i].req, "SELECT 7",
                                         NULL, 0, NULL, on_op),
                       0);
  }
  run_for(&loop, 700);
  ck_assert_int_eq(calls_of(run, NRUNNING) + calls_of(q, NQUEUED), 0);
  ck_assert_int_eq(uvodbc_pool_stats(the_pool, &st), 0);
  ck_assert_uint_eq(st.waiting, NQUEUED);

  t0 = uv_hrtime();
  server("kill");
  TEST_RUN_UNTIL(&loop, calls_of(run, NRUNNING) == NRUNNING, 10000);
  ck_assert_uint_lt(test_ms_since(t0), test_slack_ms(10000));
  for (i = 0; i < NRUNNING; i++) expect_disconnect(&run[i], "running query");
  server("restart");
  TEST_RUN_UNTIL(&loop, calls_of(q, NQUEUED) == NQUEUED, 40000);
  for (i = 0; i < NQUEUED; i++) {
    expect_queued_outcome(&q[i], i, &ok);
    if (q[i].status == 0 && i % 4 != 3) ck_assert_int_eq(q[i].value, 7);
  }
  ck_assert_int_gt(ok, 0);
  ck_assert_int_eq(uvodbc_pool_stats(the_pool, &st), 0);
  ck_assert_uint_ge(st.evictions, NRUNNING);
  ck_assert_uint_eq(st.waiting, 0);

  pool_serves_then_close(&loop);
  for (i = 0; i < NRUNNING; i++) ck_assert_int_eq(run[i].calls, 1);
  for (i = 0; i < NQUEUED; i++) ck_assert_int_eq(q[i].calls, 1);
  finish(&loop);
}
END_TEST

/* The server dies and stays down while a pool runs 2 queries and 3 more
 * wait: the running ones fail with a disconnect, and each waiting one
 * fails with the error of a reconnect that could not reach the server,
 * flagged as a disconnect too (not on MariaDB before: HY000/2002).  Once
 * the server is back, the pool serves again. */
START_TEST(faults_pool_server_down) {
  uv_loop_t loop;
  op_t run[2], q[3];
  int i;
  pool_open(&loop, 2);
  for (i = 0; i < 2; i++) {
    op_init(&run[i]);
    ck_assert_int_eq(uvodbc_pool_query(the_pool, &run[i].req,
                                       test_sleep_sql(60), NULL, 0, NULL,
                                       on_op),
                     0);
  }
  for (i = 0; i < 3; i++) {
    op_init(&q[i]);
    ck_assert_int_eq(uvodbc_pool_query(the_pool, &q[i].req, "SELECT 7",
                                       NULL, 0, NULL, on_op),
                     0);
  }
  run_for(&loop, 500);
  ck_assert_int_eq(calls_of(run, 2) + calls_of(q, 3), 0);
  server("kill");
  /* Reconnects back off (250 ms, doubling): three fail within seconds. */
  TEST_RUN_UNTIL(&loop, calls_of(run, 2) + calls_of(q, 3) == 5, 20000);
  for (i = 0; i < 2; i++) expect_disconnect(&run[i], "running query");
  for (i = 0; i < 3; i++) expect_disconnect(&q[i], "queued query");
  server("restart");
  pool_serves_then_close(&loop);
  ck_assert_int_eq(calls_of(run, 2) + calls_of(q, 3), 5); /* no second */
  finish(&loop);
}
END_TEST

/* ---- defect 5: the next statement on a dead connection ---- */

/* Expected of work that starts on a connection already known to be
 * broken: it never reaches the driver (MariaDB's Connector/ODBC 3.1.15
 * reads freed memory when a statement runs after "Lost connection"), and
 * fails with UVODBC_ENOTCONN and a class-08 diagnostic, which
 * uvodbc_req_is_disconnect() recognises. */
static void expect_not_connected(const op_t* o, const char* what) {
  ck_assert_msg(o->calls == 1, "%s: %d callbacks", what, o->calls);
  ck_assert_msg(o->status == UVODBC_ENOTCONN && o->ndiag > 0 &&
                    strncmp(o->state, "08", 2) == 0 && o->disconnect,
                "%s on a broken connection: status %s, [%s] %d %s (want "
                "ENOTCONN with a class 08 diagnostic)",
                what, uvodbc_err_name(o->status), o->state, o->native,
                o->message);
}

/* ... and it fails fast. */
static void expect_fails_fast(uv_loop_t* loop, const op_t* o,
                              const char* what) {
  uint64_t t0 = uv_hrtime();
  TEST_RUN_UNTIL(loop, o->calls > 0, 2000);
  ck_assert_uint_lt(test_ms_since(t0), test_slack_ms(2000));
  expect_not_connected(o, what);
}

/* A query fails because the server died, with a statement queued behind
 * it.  That one, and every statement started after the failure, fails
 * without the driver; the connection still closes cleanly.  (Issue 8,
 * defect 5: on MariaDB the statement after the failure was a
 * heap-use-after-free inside the driver.) */
START_TEST(faults_dead_conn_next_statement) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  op_t q, queued, next;
  uvodbc_param_t row = uvodbc_param_int64(1);
  conn = start_sleeping(&loop, &q);
  op_init(&queued);
  run_for(&loop, 500);
  ck_assert_int_eq(uvodbc_conn_query(conn, &queued.req, "SELECT 1", NULL, 0,
                                     NULL, on_op),
                   0);
  server("kill");
  TEST_RUN_UNTIL(&loop, q.calls > 0 && queued.calls > 0, 10000);
  expect_disconnect(&q, "query");
  ck_assert(uvodbc_conn_is_broken(conn));
  /* Queued while the query ran, it starts after the failure. */
  expect_not_connected(&queued, "query queued behind the failure");
  op_init(&next);
  ck_assert_int_eq(uvodbc_conn_query(conn, &next.req, "SELECT 2", NULL, 0,
                                     NULL, on_op),
                   0);
  expect_fails_fast(&loop, &next, "query");
  op_init(&next);
  ck_assert_int_eq(uvodbc_conn_exec(conn, &next.req, "SELECT 3", NULL, 0,
                                    NULL, on_op),
                   0);
  expect_fails_fast(&loop, &next, "exec");
  ck_assert_ptr_null(next.req.cursor);
  op_init(&next);
  ck_assert_int_eq(
      uvodbc_conn_prepare(conn, &next.req, "SELECT 4 + ?", on_op), 0);
  expect_fails_fast(&loop, &next, "prepare");
  ck_assert_ptr_null(next.req.prepared);
  op_init(&next);
  ck_assert_int_eq(uvodbc_conn_bulk(conn, &next.req, "SELECT 5 + ?", &row, 1,
                                    1, NULL, on_op),
                   0);
  expect_fails_fast(&loop, &next, "bulk");
  finish_dead(&loop, conn);
  ck_assert_int_eq(q.calls + queued.calls + next.calls, 3); /* no second */
}
END_TEST

/* The same when the statements behind the failing one were queued before
 * it started: they run in its thread hop (a chain, docs/threading.md), and
 * the worker must not hand them the dead connection's statement either. */
START_TEST(faults_dead_conn_chain) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  op_t q, chained[2];
  int i;
  conn = start_sleeping(&loop, &q);
  for (i = 0; i < 2; i++) {
    op_init(&chained[i]);
    ck_assert_int_eq(uvodbc_conn_query(conn, &chained[i].req, "SELECT 1",
                                       NULL, 0, NULL, on_op),
                     0);
  }
  run_for(&loop, 500);
  server("kill");
  TEST_RUN_UNTIL(&loop, calls_of(chained, 2) == 2, 10000);
  expect_disconnect(&q, "query");
  expect_not_connected(&chained[0], "first query chained behind");
  expect_not_connected(&chained[1], "second query chained behind");
  finish_dead(&loop, conn);
  ck_assert_int_eq(q.calls + calls_of(chained, 2), 3); /* no second */
}
END_TEST

/* ---- a connect that hangs holds up no other connect ---- */

/* With a connection of its string already open, a connect to a frozen
 * server runs alongside other connects (lib/odbc-connect-lock.c): a SQLite
 * connect started after it calls back first, while it waits out its login
 * timeout.  (On the code before, every connect took one process-wide lock,
 * and the SQLite connect came only after that timeout.) */
START_TEST(faults_freeze_connect_overlaps) {
  uv_loop_t loop;
  uvodbc_conn_options_t co;
  uvodbc_conn_t *srv, *lite;
  const char* sqlite = getenv("UVODBC_TEST_SQLITE");
  op_t hung, quick;
  ck_assert_msg(sqlite != NULL && *sqlite != '\0',
                "UVODBC_TEST_SQLITE is not set (tests/servers.sh sets it)");
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  ticker_start(&loop);
  srv = connect_to(&loop, test_connstr());
  lite = connect_to(&loop, sqlite);
  uvodbc_conn_options_init(&co);
  co.login_timeout_s = (unsigned)(4 * test_slack());
  server("freeze");
  op_init(&hung);
  ck_assert_int_eq(
      uvodbc_connect(&loop, &hung.req, test_connstr(), &co, on_op), 0);
  run_for(&loop, 300); /* it is in the driver, waiting for the server */
  ck_assert_int_eq(hung.calls, 0);
  op_init(&quick);
  ck_assert_int_eq(uvodbc_connect(&loop, &quick.req, sqlite, NULL, on_op), 0);
  TEST_RUN_UNTIL(&loop, quick.calls > 0, 60000);
  ck_assert_msg(quick.status == 0, "SQLite connect: %s [%s] %s",
                uvodbc_err_name(quick.status), quick.state, quick.message);
  ck_assert_msg(hung.calls == 0,
                "the SQLite connect waited for the connect to the frozen "
                "server (status %s)",
                uvodbc_err_name(hung.status));
  TEST_RUN_UNTIL(&loop, hung.calls > 0, 60000);
  ck_assert_int_eq(hung.status, UVODBC_ESQL);
  server("thaw");
  test_close(&loop, quick.req.conn);
  test_close(&loop, hung.req.conn);
  test_close(&loop, lite);
  test_close(&loop, srv);
  expect_server_back(&loop);
  finish(&loop);
  ck_assert_int_eq(quick.calls + hung.calls, 2); /* no second */
}
END_TEST

Suite* faults_suite(void) {
  static const char* const names[] = {
      "faults_kill_query",    "faults_kill_idle_ping",
      "faults_kill_mid_fetch", "faults_kill_mid_read",
      "faults_kill_mid_bulk", "faults_kill_connects",
      "faults_kill_pool",     "faults_dead_conn_next_statement",
      "faults_dead_conn_chain", "faults_connect_server_down",
      "faults_pool_server_down", "faults_freeze_connect_overlaps"};
  Suite* s = suite_create("faults");
  TCase* tc = tcase_create("faults");
  const char* skip = NULL;
  size_t i;
  if (test_driver() == TEST_SQLITE)
    skip = "SQLite has no server to kill";
  else if (getenv("UVODBC_TEST_SERVERS_SH") == NULL ||
           getenv("UVODBC_TEST_SERVER_DIR") == NULL)
    skip = "UVODBC_TEST_SERVERS_SH / UVODBC_TEST_SERVER_DIR not set "
           "(servers not started by tests/servers.sh)";
  if (skip != NULL) {
    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
      test_skip(names[i], skip);
    suite_add_tcase(s, tc);
    return s;
  }
  tcase_set_timeout(tc, 120);
  tcase_add_checked_fixture(tc, setup, NULL);
  tcase_add_unchecked_fixture(tc, NULL, teardown);
  tcase_add_test(tc, faults_kill_query);
  tcase_add_test(tc, faults_kill_idle_ping);
  tcase_add_test(tc, faults_kill_mid_fetch);
  tcase_add_test(tc, faults_kill_mid_read);
  tcase_add_test(tc, faults_kill_mid_bulk);
  tcase_add_test(tc, faults_kill_connects);
  tcase_add_test(tc, faults_kill_pool);
  tcase_add_test(tc, faults_connect_server_down);
  tcase_add_test(tc, faults_pool_server_down);
  tcase_add_test(tc, faults_dead_conn_next_statement);
  tcase_add_test(tc, faults_dead_conn_chain);
  tcase_add_test(tc, faults_freeze_connect_overlaps);
  suite_add_tcase(s, tc);
  return s;
}
