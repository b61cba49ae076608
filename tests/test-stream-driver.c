/* psqlODBC streams cursors by default (lib/odbc-conn.c; docs/drivers.md,
 * "Streaming"): a cursor over a practically endless result delivers its
 * first batch at once and closes at once, and what streaming changes for
 * the user behaves: another statement or a transaction on the connection
 * while a cursor is open, an error in the middle of a result, a cancel of a
 * first batch the server is still computing.  A user's UseDeclareFetch= is
 * kept.  SQLite and MariaDB buffer: the tests that need streaming are
 * counted skips there, the others check the same behaviours.
 *
 * The suite's connection strings set UseDeclareFetch=0 (tests/servers.sh);
 * these tests connect without it, as a user who sets nothing would. */
#include <stdlib.h>
#include <strings.h>

#include "uvodbc-test.h"

/* Rows of the finite results below, and their batches. */
#define ROWS 20000
#define BATCH 1000

/* ---- helpers ---- */

/* test_connstr() without the streaming keys: the driver's default.  (Its
 * values hold no ';'.) */
static const char* default_connstr(void) {
  static char out[2048];
  const char* p = test_connstr();
  size_t n = 0;
  while (*p != '\0') {
    const char* end = strchr(p, ';');
    size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
    if (strncasecmp(p, "UseDeclareFetch=", 16) != 0 &&
        strncasecmp(p, "StepAPI=", 8) != 0 && len > 0) {
      ck_assert_uint_lt(n + len + 2, sizeof(out));
      memcpy(out + n, p, len);
      n += len;
      out[n++] = ';';
    }
    p += len;
    if (*p == ';') p++;
  }
  out[n] = '\0';
  return out;
}

static char* with_key(const char* key_value) {
  static char out[2048];
  snprintf(out, sizeof(out), "%s%s", default_connstr(), key_value);
  return out;
}

typedef struct {
  uvodbc_req_t req;
  int calls;
  int status;
  uvodbc_cursor_t* cursor;
  const uvodbc_batch_t* batch;
  char state[6];
  char message[256];
} op_t;

static void on_op(uvodbc_req_t* req, int status) {
  op_t* o = req->data;
  o->calls++;
  o->status = status;
  o->cursor = req->cursor;
  o->batch = req->batch;
  o->state[0] = '\0';
  o->message[0] = '\0';
  if (req->ndiag > 0) {
    memcpy(o->state, req->diag[0].sqlstate, sizeof(o->state));
    snprintf(o->message, sizeof(o->message), "%s", req->diag[0].message);
  }
}

static void op_init(op_t* o) {
  memset(o, 0, sizeof(*o));
  o->req.data = o;
}

static uvodbc_exec_options_t batch_opts(void) {
  uvodbc_exec_options_t eo;
  uvodbc_exec_options_init(&eo);
  eo.batch_rows = BATCH;
  return eo;
}

/* Starts an exec of `sql`; waits at most `ms` (times slack) for it. */
static void exec_within(uv_loop_t* loop, uvodbc_conn_t* conn, op_t* o,
                        const char* sql, uint64_t ms) {
  uvodbc_exec_options_t eo = batch_opts();
  op_init(o);
  ck_assert_int_eq(uvodbc_conn_exec(conn, &o->req, sql, NULL, 0, &eo, on_op),
                   0);
  TEST_RUN_UNTIL(loop, o->calls > 0, ms);
  ck_assert_int_eq(o->calls, 1);
}

static void fetch_within(uv_loop_t* loop, uvodbc_cursor_t* c, op_t* o,
                         uint64_t ms) {
  op_init(o);
  ck_assert_int_eq(uvodbc_cursor_fetch(c, &o->req, 0, on_op), 0);
  TEST_RUN_UNTIL(loop, o->calls > 0, ms);
  ck_assert_int_eq(o->calls, 1);
}

static void on_closed(uvodbc_cursor_t* c) {
  (*(int*)uvodbc_cursor_get_data(c))++;
}

static void close_within(uv_loop_t* loop, uvodbc_cursor_t* c, uint64_t ms) {
  int closed = 0;
  uvodbc_cursor_set_data(c, &closed);
  ck_assert_int_eq(uvodbc_cursor_close(c, on_closed), 0);
  TEST_RUN_UNTIL(loop, closed > 0, ms);
  ck_assert_int_eq(closed, 1);
}

/* Checks that the batch holds the integers *next, *next + 1, ... in its
 * first column; advances *next. */
static void check_run(const uvodbc_batch_t* b, int64_t* next) {
  size_t i;
  ck_assert_ptr_nonnull(b);
  for (i = 0; i < uvodbc_batch_nrows(b); i++)
    ck_assert_int_eq(test_get_i64(b, 0, i), (*next)++);
}

/* SELECT `expr` FROM the integers x = 1..n WHERE `cond`, as this driver
 * streams them. */
static const char* series_where(long long n, const char* expr,
                                const char* cond) {
  static char sql[512];
  if (test_driver() == TEST_PG)
    /* In the select list: generate_series in FROM computes its whole
     * result on the server before the first row. */
    snprintf(sql, sizeof(sql),
             "SELECT %s FROM (SELECT generate_series(1, %lld) AS x) s "
             "WHERE %s",
             expr, n, cond);
  else if (test_driver() == TEST_SQLITE)
    snprintf(sql, sizeof(sql),
             "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
             "WHERE x < %lld) SELECT %s FROM c WHERE %s",
             n, expr, cond);
  else /* recursive CTEs stop at max_recursive_iterations (1000); seq is
        * unsigned */
    snprintf(sql, sizeof(sql),
             "SELECT %s FROM (SELECT CAST(seq AS SIGNED) AS x FROM seq_1_to_%lld) s "
             "WHERE %s",
             expr, n, cond);
  return sql;
}

/* The integers 1..n, one a row. */
static const char* series_sql(long long n) {
  return series_where(n, "x", "1 = 1");
}

/* Reads the cursor to its end from *next on: the rows must be the series,
 * exactly `total` of them, then UV_EOF; or, when `error_allowed`, an error
 * comes first (never UV_EOF early).  Returns the last status. */
static int read_rest(uv_loop_t* loop, uvodbc_cursor_t* c, int64_t* next,
                     int64_t total, int error_allowed) {
  op_t f;
  for (;;) {
    fetch_within(loop, c, &f, 30000);
    if (f.status != 0) break;
    check_run(f.batch, next);
  }
  if (f.status == UV_EOF)
    ck_assert_msg(*next == total + 1, "EOF after %lld rows of %lld",
                  (long long)(*next - 1), (long long)total);
  else
    ck_assert_msg(error_allowed, "fetch failed: %s [%s] %s",
                  uvodbc_err_name(f.status), f.state, f.message);
  return f.status;
}

/* read_rest(), where the only error allowed is uvodbc's refusal of a
 * cursor a commit or rollback ended (24000), which stays. */
static int read_rest_or_refused(uv_loop_t* loop, uvodbc_cursor_t* c,
                                int64_t* next, int64_t total) {
  op_t f;
  int status = read_rest(loop, c, next, total, 1);
  if (status == UV_EOF) return status;
  fetch_within(loop, c, &f, 30000);
  ck_assert_msg(f.status == UVODBC_ESQL && strcmp(f.state, "24000") == 0,
                "after %lld rows: %s [%s] %s", (long long)(*next - 1),
                uvodbc_err_name(f.status), f.state, f.message);
  return f.status;
}

/* A loop with a ticker (waits end at their bound) and a connection with
 * the driver's defaults. */
static uvodbc_conn_t* begin_test(uv_loop_t* loop, uv_timer_t* ticker) {
  ck_assert_int_eq(uv_loop_init(loop), 0);
  test_ticker_start(loop, ticker);
  return test_connect_to(loop, default_connstr());
}

static void end_test(uv_loop_t* loop, uv_timer_t* ticker,
                     uvodbc_conn_t* conn) {
  test_close(loop, conn);
  uv_close((uv_handle_t*)ticker, NULL);
  test_loop_close(loop);
}

/* Cancels `o`, still running after 300 ms: UV_ECANCELED within 5 s. */
static void cancel_running(uv_loop_t* loop, op_t* o) {
  uint64_t t0 = uv_hrtime();
  while (test_ms_since(t0) < 300) uv_run(loop, UV_RUN_ONCE);
  ck_assert_int_eq(o->calls, 0);
  ck_assert_int_eq(uvodbc_req_cancel(&o->req), 0);
  TEST_RUN_UNTIL(loop, o->calls > 0, 5000);
  ck_assert_int_eq(o->status, UV_ECANCELED);
}

/* ---- tests ---- */

/* A cursor over 10^9 rows: the first batch comes at once, the next one
 * too, and the close does not read the rest.  Buffered, the exec would
 * read all of them first (hours, and the memory to hold them). */
START_TEST(stream_endless_first_batch) {
  uv_loop_t loop;
  uv_timer_t ticker;
  uvodbc_conn_t* conn;
  op_t o, f;
  int64_t next = 1;
  conn = begin_test(&loop, &ticker);
  exec_within(&loop, conn, &o, series_sql(1000000000LL), 10000);
  ck_assert_msg(o.status == 0, "exec: %s [%s] %s", uvodbc_err_name(o.status),
                o.state, o.message);
  ck_assert_ptr_nonnull(o.cursor);
  ck_assert_uint_eq(uvodbc_batch_nrows(o.batch), BATCH);
  check_run(o.batch, &next);
  fetch_within(&loop, o.cursor, &f, 10000);
  ck_assert_int_eq(f.status, 0);
  ck_assert_uint_eq(uvodbc_batch_nrows(f.batch), BATCH);
  check_run(f.batch, &next);
  close_within(&loop, o.cursor, 10000);
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 7"), 7);
  end_test(&loop, &ticker, conn);
}
END_TEST

/* Statements between a cursor's fetches, on the same connection: a write
 * (on PostgreSQL it commits the cursor's transaction, and the cursor, WITH
 * HOLD, lives on), a query, a second cursor read to its end; the first
 * cursor still reads exactly its rows, and the write is committed. */
START_TEST(stream_statements_between_fetches) {
  uv_loop_t loop;
  uv_timer_t ticker;
  uvodbc_conn_t* conn;
  uvodbc_conn_t* other;
  op_t a, b;
  int64_t next = 1, next_b = 1;
  const char* t = TEST_TABLE("stream_between");
  char sql[256];
  conn = begin_test(&loop, &ticker);
  test_make_table(&loop, conn, t, "id INTEGER");
  exec_within(&loop, conn, &a, series_sql(ROWS), 10000);
  ck_assert_int_eq(a.status, 0);
  check_run(a.batch, &next);
  snprintf(sql, sizeof(sql), "INSERT INTO %s (id) VALUES (1), (2)", t);
  ck_assert_int_eq(test_exec(&loop, conn, sql), 2);
  snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", t);
  ck_assert_int_eq(test_query_int(&loop, conn, sql), 2);
  exec_within(&loop, conn, &b, series_sql(3 * BATCH + 1), 10000);
  ck_assert_int_eq(b.status, 0);
  check_run(b.batch, &next_b);
  read_rest(&loop, b.cursor, &next_b, 3 * BATCH + 1, 0);
  close_within(&loop, b.cursor, 10000);
  read_rest(&loop, a.cursor, &next, ROWS, 0);
  close_within(&loop, a.cursor, 10000);
  other = test_connect_to(&loop, default_connstr());
  ck_assert_int_eq(test_query_int(&loop, other, sql), 2);
  test_close(&loop, other);
  test_drop_table(&loop, conn, t);
  end_test(&loop, &ticker, conn);
}
END_TEST

/* A statement that fails while a cursor is open on the same connection:
 * by its timeout (as a cursor and as a whole result) or with an error.
 * The cursor then reads exactly its rows, or its next fetch fails with
 * 24000: never a short result.  psqlODBC (autocommit) runs both in one
 * transaction; after the FETCH of more than `Fetch` rows that ends the
 * cursor's first batch it sets no savepoint before the next statement and
 * rolls the whole transaction back when that statement fails, which ended
 * the cursor after the rows it held (16384 of 20000), without an error:
 * uvodbc asks the server whether the transaction survived
 * (lib/odbc-txn.c). */
START_TEST(stream_failure_with_open_cursor) {
  uv_loop_t loop;
  uv_timer_t ticker;
  uvodbc_conn_t* conn;
  uvodbc_exec_options_t eo;
  int i, refused = 0;
  conn = begin_test(&loop, &ticker);
  uvodbc_exec_options_init(&eo);
  eo.timeout_ms = 300;
  /* 0, 1: a timeout (cursor, whole result); 2: an error; 3: the error
   * queued right behind the cursor's exec while a statement runs: the two
   * run as one chain, in one hop (lib/exec.c). */
  for (i = 0; i < 4; i++) {
    op_t a, q, before;
    int64_t next = 1;
    op_init(&a);
    op_init(&q);
    op_init(&before);
    if (i == 3)
      ck_assert_int_eq(uvodbc_conn_query(conn, &before.req,
                                         test_sleep_sql(0.2), NULL, 0, NULL,
                                         on_op),
                       0);
    /* Default options: the first batch is more than one FETCH. */
    ck_assert_int_eq(uvodbc_conn_exec(conn, &a.req, series_sql(ROWS), NULL,
                                      0, NULL, on_op),
                     0);
    if (i < 3) TEST_RUN_UNTIL(&loop, a.calls > 0, 10000);
    if (i < 2)
      ck_assert_int_eq(
          (i == 0 ? uvodbc_conn_exec : uvodbc_conn_query)(
              conn, &q.req, test_sleep_sql(5), NULL, 0, &eo, on_op),
          0);
    else
      ck_assert_int_eq(
          uvodbc_conn_exec(conn, &q.req,
                           "SELECT x FROM t_stream_no_such_table", NULL, 0,
                           NULL, on_op),
          0);
    TEST_RUN_UNTIL(&loop, a.calls > 0 && q.calls > 0, 10000);
    if (i == 3) {
      ck_assert_int_eq(before.status, 0);
      uvodbc_req_cleanup(&before.req);
    }
    ck_assert_int_eq(a.status, 0);
    ck_assert_uint_lt(uvodbc_batch_nrows(a.batch), ROWS);
    check_run(a.batch, &next);
    ck_assert_msg(q.status == (i < 2 ? UV_ETIMEDOUT : UVODBC_ESQL),
                  "%d: %s [%s] %s", i, uvodbc_err_name(q.status), q.state,
                  q.message);
    uvodbc_req_cleanup(&q.req);
    if (read_rest_or_refused(&loop, a.cursor, &next, ROWS) != UV_EOF)
      refused++;
    close_within(&loop, a.cursor, 10000);
    ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 7"), 7);
  }
  printf("stream_failure_with_open_cursor/%s: %d of 4 cursors refused\n",
         test_driver_name(), refused);
  end_test(&loop, &ticker, conn);
}
END_TEST

/* Two cursors open at once on one connection, fetched in turn. */
START_TEST(stream_two_cursors_interleaved) {
  uv_loop_t loop;
  uv_timer_t ticker;
  uvodbc_conn_t* conn;
  op_t a, b, f;
  int64_t na = 1, nb = 1;
  int done_a = 0, done_b = 0;
  conn = begin_test(&loop, &ticker);
  exec_within(&loop, conn, &a, series_sql(ROWS), 10000);
  ck_assert_int_eq(a.status, 0);
  check_run(a.batch, &na);
  exec_within(&loop, conn, &b, series_sql(ROWS / 2 + 3), 10000);
  ck_assert_int_eq(b.status, 0);
  check_run(b.batch, &nb);
  while (!done_a || !done_b) {
    if (!done_a) {
      fetch_within(&loop, a.cursor, &f, 10000);
      if (f.status == 0) check_run(f.batch, &na);
      else done_a = 1;
      ck_assert_int_eq(f.status, done_a ? UV_EOF : 0);
    }
    if (!done_b) {
      fetch_within(&loop, b.cursor, &f, 10000);
      if (f.status == 0) check_run(f.batch, &nb);
      else done_b = 1;
      ck_assert_int_eq(f.status, done_b ? UV_EOF : 0);
    }
  }
  ck_assert_int_eq(na, ROWS + 1);
  ck_assert_int_eq(nb, ROWS / 2 + 3 + 1);
  close_within(&loop, a.cursor, 10000);
  close_within(&loop, b.cursor, 10000);
  end_test(&loop, &ticker, conn);
}
END_TEST

static void txn_op(uv_loop_t* loop, uvodbc_conn_t* conn, const char* what) {
  op_t o;
  op_init(&o);
  if (strcmp(what, "begin") == 0)
    ck_assert_int_eq(uvodbc_conn_begin(conn, &o.req, on_op), 0);
  else if (strcmp(what, "commit") == 0)
    ck_assert_int_eq(uvodbc_conn_commit(conn, &o.req, on_op), 0);
  else
    ck_assert_int_eq(uvodbc_conn_rollback(conn, &o.req, on_op), 0);
  TEST_RUN_UNTIL(loop, o.calls > 0, 10000);
  ck_assert_msg(o.status == 0, "%s: %s [%s] %s", what,
                uvodbc_err_name(o.status), o.state, o.message);
}

/* A cursor opened inside a transaction, the transaction committed with the
 * cursor half read: the rest reads to its exact end. */
START_TEST(stream_commit_with_open_cursor) {
  uv_loop_t loop;
  uv_timer_t ticker;
  uvodbc_conn_t* conn;
  op_t a;
  int64_t next = 1;
  const char* t = TEST_TABLE("stream_commit_open");
  char sql[128];
  conn = begin_test(&loop, &ticker);
  test_make_table(&loop, conn, t, "id INTEGER");
  txn_op(&loop, conn, "begin");
  exec_within(&loop, conn, &a, series_sql(ROWS), 10000);
  ck_assert_int_eq(a.status, 0);
  check_run(a.batch, &next);
  snprintf(sql, sizeof(sql), "INSERT INTO %s (id) VALUES (1)", t);
  ck_assert_int_eq(test_exec(&loop, conn, sql), 1);
  txn_op(&loop, conn, "commit");
  read_rest(&loop, a.cursor, &next, ROWS, 0);
  close_within(&loop, a.cursor, 10000);
  snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", t);
  ck_assert_int_eq(test_query_int(&loop, conn, sql), 1);
  test_drop_table(&loop, conn, t);
  end_test(&loop, &ticker, conn);
}
END_TEST

/* The same with a rollback: psqlODBC closes a streamed cursor there (the
 * next fetch fails), buffered drivers keep their rows.  Either way: never
 * a short result that ends like a whole one. */
START_TEST(stream_rollback_with_open_cursor) {
  uv_loop_t loop;
  uv_timer_t ticker;
  uvodbc_conn_t* conn;
  op_t a;
  int64_t next = 1;
  int status;
  conn = begin_test(&loop, &ticker);
  txn_op(&loop, conn, "begin");
  exec_within(&loop, conn, &a, series_sql(ROWS), 10000);
  ck_assert_int_eq(a.status, 0);
  check_run(a.batch, &next);
  txn_op(&loop, conn, "rollback");
  status = read_rest(&loop, a.cursor, &next, ROWS, 1);
  if (test_driver() == TEST_PG) ck_assert_int_eq(status, UVODBC_ESQL);
  close_within(&loop, a.cursor, 10000);
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 7"), 7);
  end_test(&loop, &ticker, conn);
}
END_TEST

/* A cursor opened under autocommit, then a transaction begun, used and
 * committed with the cursor half read: the rest reads to its exact end.
 * (sqliteodbc 0.9998 with StepAPI=1 ends a stepping statement when
 * autocommit goes off, and its next SQLFetch says SQL_NO_DATA: a silent
 * short result.  That is why uvodbc does not turn StepAPI on.) */
START_TEST(stream_begin_with_open_cursor) {
  uv_loop_t loop;
  uv_timer_t ticker;
  uvodbc_conn_t* conn;
  op_t a;
  int64_t next = 1;
  const char* t = TEST_TABLE("stream_begin_open");
  char sql[128];
  conn = begin_test(&loop, &ticker);
  test_make_table(&loop, conn, t, "id INTEGER");
  exec_within(&loop, conn, &a, series_sql(ROWS), 10000);
  ck_assert_int_eq(a.status, 0);
  check_run(a.batch, &next);
  txn_op(&loop, conn, "begin");
  snprintf(sql, sizeof(sql), "INSERT INTO %s (id) VALUES (1)", t);
  ck_assert_int_eq(test_exec(&loop, conn, sql), 1);
  txn_op(&loop, conn, "commit");
  read_rest(&loop, a.cursor, &next, ROWS, 0);
  close_within(&loop, a.cursor, 10000);
  test_drop_table(&loop, conn, t);
  end_test(&loop, &ticker, conn);
}
END_TEST

/* A division by zero at row 15000 of 20000: the rows before it may come,
 * then an error; never UV_EOF.  Streamed, the error comes from a fetch;
 * buffered, from the exec. */
START_TEST(stream_error_mid_stream) {
  uv_loop_t loop;
  uv_timer_t ticker;
  uvodbc_conn_t* conn;
  op_t a;
  int64_t next = 1;
  char sql[512];
  int status;
  conn = begin_test(&loop, &ticker);
  /* SQLite and MariaDB divide by zero into NULL: there, abs() of the
   * smallest integer and a scalar subquery of two rows are errors. */
  snprintf(sql, sizeof(sql), "%s",
           series_where(ROWS,
                        test_pick("CASE WHEN x = 15000 THEN "
                                  "abs(-9223372036854775807 - 1) ELSE x END",
                                  "x + 0 / (15000 - x)",
                                  "x + (SELECT 0 UNION ALL SELECT 0 FROM "
                                  "DUAL WHERE x = 15000)"),
                        "1 = 1"));
  exec_within(&loop, conn, &a, sql, 10000);
  if (a.status == 0) {
    check_run(a.batch, &next);
    status = read_rest(&loop, a.cursor, &next, ROWS, 1);
    ck_assert_int_eq(status, UVODBC_ESQL);
    close_within(&loop, a.cursor, 10000);
  } else {
    ck_assert_int_eq(a.status, UVODBC_ESQL);
  }
  ck_assert_int_lt(next, 15000);
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 7"), 7);
  end_test(&loop, &ticker, conn);
}
END_TEST

/* An exec whose first row the server needs seconds for (the first batch
 * is read in the exec's hop) is cancelled: UV_ECANCELED at once, and the
 * connection runs statements and streams again after. */
START_TEST(stream_cancel_first_batch) {
  uv_loop_t loop;
  uv_timer_t ticker;
  uvodbc_conn_t* conn;
  op_t a;
  int64_t next = 1;
  char sql[512];
  conn = begin_test(&loop, &ticker);
  snprintf(sql, sizeof(sql), "%s",
           series_where(1000000000LL, "x", "x % 300000000 = 0"));
  op_init(&a);
  ck_assert_int_eq(uvodbc_conn_exec(conn, &a.req, sql, NULL, 0, NULL, on_op),
                   0);
  cancel_running(&loop, &a);
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 7"), 7);
  exec_within(&loop, conn, &a, series_sql(ROWS), 10000);
  ck_assert_int_eq(a.status, 0);
  check_run(a.batch, &next);
  read_rest(&loop, a.cursor, &next, ROWS, 0);
  close_within(&loop, a.cursor, 10000);
  end_test(&loop, &ticker, conn);
}
END_TEST

/* Is the connection's open cursor streamed?  PostgreSQL says in
 * pg_stat_activity: psqlODBC streams with DECLARE ... CURSOR + FETCH. */
static int pg_streams(uv_loop_t* loop, const char* connstr) {
  uv_timer_t ticker;
  uvodbc_conn_t* conn;
  uvodbc_conn_t* watcher;
  op_t a;
  char sql[256];
  int64_t pid, declared;
  test_ticker_start(loop, &ticker);
  conn = test_connect_to(loop, connstr);
  pid = test_query_int(loop, conn, "SELECT pg_backend_pid()");
  exec_within(loop, conn, &a, series_sql(ROWS), 10000);
  ck_assert_int_eq(a.status, 0);
  watcher = test_connect(loop);
  snprintf(sql, sizeof(sql),
           "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = %lld AND "
           "query LIKE '%%\"SQL\\_CUR%%'",
           (long long)pid);
  declared = test_query_int(loop, watcher, sql);
  test_close(loop, watcher);
  close_within(loop, a.cursor, 10000);
  test_close(loop, conn);
  uv_close((uv_handle_t*)&ticker, NULL);
  uv_run(loop, UV_RUN_DEFAULT); /* the ticker closed before it goes */
  return declared == 1;
}

/* Streaming is on by default, and a user's UseDeclareFetch=0 (in the
 * string, or in the DSN's odbc.ini entry, which tests/servers.sh writes
 * with UseDeclareFetch=0) is kept. */
START_TEST(stream_pg_user_choice_kept) {
  uv_loop_t loop;
  char dsn[256];
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  ck_assert(pg_streams(&loop, default_connstr()));
  ck_assert(pg_streams(&loop, with_key("UseDeclareFetch=1;Fetch=50")));
  ck_assert(!pg_streams(&loop, with_key("UseDeclareFetch=0")));
  if (test_dsn() != NULL) {
    snprintf(dsn, sizeof(dsn), "DSN=%s", test_dsn());
    ck_assert(!pg_streams(&loop, dsn));
  }
  test_loop_close(&loop);
}
END_TEST

/* Waiting for the lead's cursor FETCH cancel (issue 10): a fetch the server
 * needs seconds for is cancelled, then the connection works. */
static const int fetch_cancel_ready = 1;

START_TEST(stream_cancel_mid_fetch) {
  uv_loop_t loop;
  uv_timer_t ticker;
  uvodbc_conn_t* conn;
  op_t a, f;
  char sql[512];
  conn = begin_test(&loop, &ticker);
  /* Rows 1..1024 at once (the execute's FETCH 1024: Fetch=1024), then one
   * every 300,000,000: the fetch after the first batch waits. */
  snprintf(sql, sizeof(sql), "%s",
           series_where(1000000000LL, "x", "x <= 1024 OR x % 300000000 = 0"));
  exec_within(&loop, conn, &a, sql, 10000);
  ck_assert_int_eq(a.status, 0);
  op_init(&f);
  ck_assert_int_eq(uvodbc_cursor_fetch(a.cursor, &f.req, 0, on_op), 0);
  cancel_running(&loop, &f);
  close_within(&loop, a.cursor, 10000);
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 7"), 7);
  end_test(&loop, &ticker, conn);
}
END_TEST

Suite* stream_driver_suite(void) {
  Suite* s = suite_create("stream_driver");
  TCase* tc = tcase_create("stream_driver");
  const char* no_stream = NULL;
  if (test_driver() == TEST_MARIADB)
    no_stream = "Connector/ODBC 3.1.15 reads every result whole at execute "
                "(mysql_stmt_store_result / mysql_store_result; no streaming "
                "option: docs/drivers.md, Streaming)";
  else if (test_driver() == TEST_SQLITE)
    no_stream = "uvodbc keeps sqliteodbc's StepAPI off: a transaction begun "
                "while a stepping cursor is open cuts its result short "
                "without an error (stream_begin_with_open_cursor; "
                "docs/drivers.md, Streaming)";
  tcase_set_timeout(tc, 120);
  if (no_stream != NULL) {
    test_skip("stream_endless_first_batch", no_stream);
    test_skip("stream_cancel_first_batch", no_stream);
  } else {
    tcase_add_test(tc, stream_endless_first_batch);
    tcase_add_test(tc, stream_cancel_first_batch);
  }
  tcase_add_test(tc, stream_statements_between_fetches);
  tcase_add_test(tc, stream_failure_with_open_cursor);
  tcase_add_test(tc, stream_two_cursors_interleaved);
  tcase_add_test(tc, stream_commit_with_open_cursor);
  tcase_add_test(tc, stream_rollback_with_open_cursor);
  tcase_add_test(tc, stream_begin_with_open_cursor);
  tcase_add_test(tc, stream_error_mid_stream);
  if (test_driver() == TEST_PG)
    tcase_add_test(tc, stream_pg_user_choice_kept);
  else
    test_skip("stream_pg_user_choice_kept",
              "psqlODBC's UseDeclareFetch; this driver has no such key");
  if (!fetch_cancel_ready || no_stream != NULL)
    test_skip("stream_cancel_mid_fetch",
              no_stream != NULL ? no_stream
                                : "waiting for the cursor FETCH cancel "
                                  "(issue 10, lib/cursor.c)");
  else
    tcase_add_test(tc, stream_cancel_mid_fetch);
  suite_add_tcase(s, tc);
  return s;
}
