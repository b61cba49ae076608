/* Reading a cursor with uvodbc_cursor_read_start() / _read_stop(): every
 * row once, in order, at every batch edge; the batch in hand is never
 * written while the next one is fetched; stopping loses nothing; a fetch
 * after a stop, a close, a cancel, a timeout or an error ends the read
 * cleanly, with one last callback at most. */
#include <stdlib.h>
#include <time.h>

#include "uvodbc-test.h"

#define BATCH 50

/* ---- a read and what it delivered ---- */

typedef struct {
  uv_loop_t* loop;
  uvodbc_cursor_t* cursor;
  uvodbc_req_t req;
  uv_timer_t restart;  /* stop_each: starts the read again */
  int64_t next_id;     /* the next expected id */
  int64_t rows;
  int batches;         /* callbacks with status 0 */
  int ends;            /* callbacks with another status */
  int status;          /* the last one's */
  char state[6];
  int disconnect;
  int stop_each;       /* stop in every callback, restart from a timer */
  int stay_stopped;    /* stop_each without the restart */
  int stop_start_each; /* stop and start again inside every callback */
  int close_at;        /* close the cursor in this batch's callback */
  int cancel_at;       /* cancel the request in this batch's callback */
  int closed;
  int in_start;        /* inside uvodbc_cursor_read_start() */
  int attached;        /* each batch's callback: the cursor still has its
                          statement (3 columns) */
} reader_t;

static void on_closed(uvodbc_cursor_t* c) {
  reader_t* r = uvodbc_cursor_get_data(c);
  r->closed++;
}

static void on_read(uvodbc_req_t* req, int status);

static void start_read(reader_t* r) {
  int err;
  r->in_start = 1;
  err = uvodbc_cursor_read_start(r->cursor, &r->req, 0, on_read);
  r->in_start = 0;
  ck_assert_msg(err == 0, "read_start: %s", uvodbc_err_name(err));
}

static void on_restart(uv_timer_t* t) {
  start_read(t->data);
}

static void on_read(uvodbc_req_t* req, int status) {
  reader_t* r = req->data;
  ck_assert_msg(!r->in_start, "read callback inside read_start");
  ck_assert_int_eq(req->type, UVODBC_REQ_READ);
  ck_assert_ptr_eq(req->cursor, r->cursor);
  ck_assert_msg(r->ends == 0, "a callback after the read ended (%s)",
                uvodbc_err_name(status));
  if (status != 0) {
    r->ends++;
    r->status = status;
    r->disconnect = uvodbc_req_is_disconnect(req);
    memset(r->state, 0, sizeof(r->state));
    if (req->ndiag > 0) memcpy(r->state, req->diag[0].sqlstate, 5);
    ck_assert_ptr_null(req->batch);
    return;
  }
  r->batches++;
  if (r->attached)
    ck_assert_msg(uvodbc_cursor_ncols(r->cursor) == 3,
                  "batch %d: the cursor lost its statement before its "
                  "callback", r->batches);
  ck_assert_ptr_nonnull(req->batch);
  ck_assert_uint_ge(uvodbc_batch_nrows(req->batch), 1);
  ck_assert_uint_le(uvodbc_batch_nrows(req->batch), BATCH);
  {
    /* The next batch is being fetched meanwhile: this one must not
     * change under us (checked again after a pause). */
    int64_t at = r->next_id;
    test_check_numbers(req->batch, &r->next_id);
    uv_sleep(2);
    test_check_numbers(req->batch, &at);
  }
  r->rows += (int64_t)uvodbc_batch_nrows(req->batch);
  if (r->batches == r->close_at) {
    ck_assert_int_eq(uvodbc_cursor_close(r->cursor, on_closed), 0);
    return;
  }
  if (r->batches == r->cancel_at) {
    int err = uvodbc_req_cancel(req);
    ck_assert_msg(err == 0, "cancel: %s", uvodbc_err_name(err));
    return;
  }
  if (r->stop_each) {
    ck_assert_int_eq(uvodbc_cursor_read_stop(r->cursor), 0);
    ck_assert_int_eq(uvodbc_cursor_read_stop(r->cursor), 0); /* twice */
    if (!r->stay_stopped) uv_timer_start(&r->restart, on_restart, 3, 0);
  } else if (r->stop_start_each) {
    const uvodbc_batch_t* b = req->batch;
    int64_t at = r->next_id - (int64_t)uvodbc_batch_nrows(b);
    ck_assert_int_eq(uvodbc_cursor_read_stop(r->cursor), 0);
    start_read(r);
    ck_assert_ptr_eq(req->batch, b); /* still ours, until the next one */
    test_check_numbers(b, &at);
  }
}

static void reader_init(reader_t* r, uv_loop_t* loop) {
  memset(r, 0, sizeof(*r));
  r->loop = loop;
  r->next_id = 1;
  r->req.data = r;
  uv_timer_init(loop, &r->restart);
  r->restart.data = r;
}

static void on_exec(uvodbc_req_t* req, int status) {
  reader_t* r = req->data;
  ck_assert_msg(status == 0, "exec: %s", uvodbc_err_name(status));
  r->cursor = req->cursor;
  ck_assert_ptr_nonnull(r->cursor);
  uvodbc_cursor_set_data(r->cursor, r);
  test_check_numbers(req->batch, &r->next_id); /* the first batch */
  r->rows += (int64_t)uvodbc_batch_nrows(req->batch);
}

/* Execs SELECT id, v, s FROM t ORDER BY id with `opts` and runs the loop
 * until the cursor is open with its first batch read. */
static void open_numbers_sized(reader_t* r, uvodbc_conn_t* conn,
                               const char* t,
                               const uvodbc_exec_options_t* opts) {
  char sql[256];
  snprintf(sql, sizeof(sql), "SELECT id, v, s FROM %s ORDER BY id", t);
  ck_assert_int_eq(
      uvodbc_conn_exec(conn, &r->req, sql, NULL, 0, opts, on_exec), 0);
  while (r->cursor == NULL) uv_run(r->loop, UV_RUN_ONCE);
}

/* The same in batches of BATCH rows. */
static void open_numbers(reader_t* r, uvodbc_conn_t* conn, const char* t) {
  uvodbc_exec_options_t opts;
  uvodbc_exec_options_init(&opts);
  opts.batch_rows = BATCH;
  open_numbers_sized(r, conn, t, &opts);
}

static void close_reader(reader_t* r) {
  if (r->closed == 0 && r->close_at == 0)
    ck_assert_int_eq(uvodbc_cursor_close(r->cursor, on_closed), 0);
  TEST_RUN_UNTIL(r->loop, r->closed > 0, 10000);
  ck_assert_int_eq(r->closed, 1);
  uv_close((uv_handle_t*)&r->restart, NULL);
}

static uvodbc_conn_t* make_numbers(uv_loop_t* loop, const char* t, int rows,
                                   const char* s_type) {
  uvodbc_conn_t* conn;
  char columns[128];
  ck_assert_int_eq(uv_loop_init(loop), 0);
  conn = test_connect(loop);
  snprintf(columns, sizeof(columns), "id INTEGER, v INTEGER, s %s", s_type);
  test_make_table(loop, conn, t, columns);
  if (rows > 0) test_fill_numbers(loop, conn, t, rows);
  return conn;
}

static void finish(uv_loop_t* loop, uvodbc_conn_t* conn, const char* t) {
  test_drop_table(loop, conn, t);
  test_close(loop, conn);
  test_loop_close(loop);
}

/* Reads `rows` rows to the end, the way `mode` says (0: plain, 1: stop in
 * each callback and restart from a timer, 2: stop and restart inside each
 * callback); checks the exact count of callbacks. */
static void read_all(const char* t, int rows, const char* s_type, int mode) {
  uv_loop_t loop;
  uvodbc_conn_t* conn = make_numbers(&loop, t, rows, s_type);
  reader_t r;
  int read_rows = rows > BATCH ? rows - BATCH : 0;
  reader_init(&r, &loop);
  r.stop_each = mode == 1;
  r.stop_start_each = mode == 2;
  open_numbers(&r, conn, t);
  start_read(&r);
  TEST_RUN_UNTIL(&loop, r.ends > 0, 30000);
  ck_assert_msg(r.status == UV_EOF, "read ended with %s [%s]",
                uvodbc_err_name(r.status), r.state);
  ck_assert_int_eq(r.rows, rows);
  ck_assert_int_eq(r.next_id, rows + 1);
  ck_assert_int_eq(r.batches, (read_rows + BATCH - 1) / BATCH);
  ck_assert_int_eq(r.ends, 1);
  /* Ended: starting again says the end again, once. */
  r.ends = 0;
  start_read(&r);
  TEST_RUN_UNTIL(&loop, r.ends > 0, 10000);
  ck_assert_int_eq(r.status, UV_EOF);
  close_reader(&r);
  finish(&loop, conn, t);
}

START_TEST(read_edges) {
  static const int sizes[] = {0, 1, BATCH, BATCH + 1, 3 * BATCH,
                              3 * BATCH + 7};
  static const char* const tables[] = {
      TEST_TABLE("read_edges_0"), TEST_TABLE("read_edges_1"),
      TEST_TABLE("read_edges_b"), TEST_TABLE("read_edges_b1"),
      TEST_TABLE("read_edges_3b"), TEST_TABLE("read_edges_3b7")};
  size_t i;
  for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
    read_all(tables[i], sizes[i], "VARCHAR(20)", 0);
}
END_TEST

START_TEST(read_stop_in_callback) {
  read_all(TEST_TABLE("read_stop_cb"), 20 * BATCH + 3, "VARCHAR(20)", 1);
}
END_TEST

START_TEST(read_stop_start_in_callback) {
  read_all(TEST_TABLE("read_stop_start_cb"), 20 * BATCH + 3, "VARCHAR(20)",
           2);
}
END_TEST

/* A long column: rows come through SQLGetData, one per SQLFetch. */
START_TEST(read_long_column) {
  read_all(TEST_TABLE("read_long"), 7 * BATCH + 1,
           test_pick("TEXT", "TEXT", "LONGTEXT"), 0);
  read_all(TEST_TABLE("read_long"), 7 * BATCH + 1,
           test_pick("TEXT", "TEXT", "LONGTEXT"), 1);
}
END_TEST

static void on_sync(uvodbc_req_t* req, int status) {
  int* s = req->data;
  s[0]++;
  s[1] = status;
}

/* One pull fetch of up to max_rows rows: its status; rows checked. */
static int fetch_sync(uv_loop_t* loop, reader_t* r, uvodbc_req_t* f,
                      size_t max_rows) {
  int s[2] = {0, 0};
  f->data = s;
  ck_assert_int_eq(uvodbc_cursor_fetch(r->cursor, f, max_rows, on_sync), 0);
  ck_assert_int_eq(uvodbc_cursor_read_start(r->cursor, &r->req, 0, on_read),
                   UV_EBUSY);
  TEST_RUN_UNTIL(loop, s[0] == 1, 10000);
  if (s[1] == 0) test_check_numbers(f->batch, &r->next_id);
  return s[1];
}

/* One pull fetch: its status; its first SQLSTATE in r->state. */
static void on_fetch_state(uvodbc_req_t* req, int status) {
  reader_t* r = req->data;
  r->status = status;
  memset(r->state, 0, sizeof(r->state));
  if (req->ndiag > 0) memcpy(r->state, req->diag[0].sqlstate, 5);
  r->ends++;
}

static int fetch_status(uv_loop_t* loop, reader_t* r, uvodbc_req_t* f) {
  r->ends = 0;
  f->data = r;
  ck_assert_int_eq(uvodbc_cursor_fetch(r->cursor, f, 0, on_fetch_state), 0);
  TEST_RUN_UNTIL(loop, r->ends > 0, 10000);
  r->ends = 0;
  return r->status;
}

/* A pull fetch after a stop gets the batch the read had fetched, whole,
 * whatever its max_rows; the two ways then alternate without a lost row.
 * Misuse is refused. */
START_TEST(read_then_fetch) {
  uv_loop_t loop;
  const char* t = TEST_TABLE("read_then_fetch");
  uvodbc_conn_t* conn = make_numbers(&loop, t, 10 * BATCH, "VARCHAR(20)");
  reader_t r;
  uvodbc_req_t f;
  int round;
  reader_init(&r, &loop);
  r.stop_each = 1;
  r.stay_stopped = 1;
  open_numbers(&r, conn, t);
  ck_assert_int_eq(uvodbc_cursor_read_start(NULL, &r.req, 0, on_read),
                   UV_EINVAL);
  ck_assert_int_eq(uvodbc_cursor_read_start(r.cursor, NULL, 0, on_read),
                   UV_EINVAL);
  ck_assert_int_eq(uvodbc_cursor_read_start(r.cursor, &r.req, 0, NULL),
                   UV_EINVAL);
  ck_assert_int_eq(uvodbc_cursor_read_stop(NULL), UV_EINVAL);
  start_read(&r);
  ck_assert_int_eq(uvodbc_cursor_read_start(r.cursor, &f, 0, on_read),
                   UV_EALREADY);
  ck_assert_int_eq(uvodbc_cursor_fetch(r.cursor, &f, 0, on_sync), UV_EBUSY);
  ck_assert_int_eq(uvodbc_cursor_next_result(r.cursor, &f, on_sync),
                   UV_EBUSY);
  TEST_RUN_UNTIL(&loop, r.batches == 1, 10000);
  for (round = 1;; round++) {
    int64_t before;
    uv_sleep(50);              /* the fetch behind it ends meanwhile */
    uv_run(&loop, UV_RUN_NOWAIT);
    ck_assert_int_eq(r.batches, round);
    /* The first fetch after the stop: the read's batch, whole. */
    before = r.next_id;
    if (fetch_sync(&loop, &r, &f, 3) == UV_EOF) break;
    ck_assert_int_eq(r.next_id - before, BATCH);
    before = r.next_id;
    ck_assert_int_eq(fetch_sync(&loop, &r, &f, 3), 0);
    ck_assert_int_eq(r.next_id - before, 3);
    start_read(&r); /* one batch, stopped again in its callback */
    TEST_RUN_UNTIL(&loop, r.batches == round + 1, 10000);
  }
  ck_assert_int_eq(round, 5);
  ck_assert_int_eq(r.next_id, 10 * BATCH + 1);
  close_reader(&r);
  finish(&loop, conn, t);
}
END_TEST

/* Closing the cursor in a read callback (its next fetch in flight), or
 * from outside while a fetch runs: no callback after, the close callback
 * once, and the connection works on. */
static void on_reset(uvodbc_req_t* req, int status) {
  int* done = req->data;
  ck_assert_msg(status == 0, "reset: %s", uvodbc_err_name(status));
  *done = 1;
}

/* A reset queued while the read's fetch runs: the batch that fetch brings
 * is the application's in its callback, and only then does the reset take
 * the statement; the read ends with UVODBC_ECLOSED.  (Found by the chaos
 * test: the read queued its next fetch before the callback, which started
 * the reset, and a worker freed the batch the callback was reading.) */
START_TEST(read_reset_queued_behind_fetch) {
  const char* t = TEST_TABLE("read_reset_behind");
  uv_loop_t loop;
  uvodbc_conn_t* conn = make_numbers(&loop, t, 3 * BATCH, "VARCHAR(20)");
  uvodbc_req_t reset;
  reader_t r;
  int reset_done = 0;
  reader_init(&r, &loop);
  r.attached = 1;
  open_numbers(&r, conn, t);
  start_read(&r);
  reset.data = &reset_done;
  ck_assert_int_eq(uvodbc_conn_reset(conn, &reset, on_reset), 0);
  TEST_RUN_UNTIL(&loop, r.ends > 0 && reset_done, 10000);
  ck_assert_int_eq(r.batches, 1);
  ck_assert_int_eq(r.next_id, 2 * BATCH + 1);
  ck_assert_msg(r.status == UVODBC_ECLOSED, "read ended with %s",
                uvodbc_err_name(r.status));
  close_reader(&r);
  finish(&loop, conn, t);
}
END_TEST

START_TEST(read_close_while_reading) {
  uv_loop_t loop;
  const char* t = TEST_TABLE("read_close");
  uvodbc_conn_t* conn = make_numbers(&loop, t, 10 * BATCH, "VARCHAR(20)");
  int round;
  for (round = 0; round < 2; round++) {
    reader_t r;
    reader_init(&r, &loop);
    r.close_at = round == 0 ? 2 : 0;
    open_numbers(&r, conn, t);
    start_read(&r);
    if (round == 1) { /* from outside, the first fetch queued or running */
      ck_assert_int_eq(uvodbc_cursor_close(r.cursor, on_closed), 0);
      r.close_at = -1;
    }
    TEST_RUN_UNTIL(&loop, r.closed > 0, 10000);
    uv_sleep(20);
    uv_run(&loop, UV_RUN_NOWAIT);
    ck_assert_int_eq(r.ends, 0);
    ck_assert_int_eq(r.batches, round == 0 ? 2 : 0);
    ck_assert_int_eq(r.closed, 1);
    uv_close((uv_handle_t*)&r.restart, NULL);
    uv_run(&loop, UV_RUN_NOWAIT); /* r is reused: closed now */
  }
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 7"), 7);
  finish(&loop, conn, t);
}
END_TEST

static void on_conn_closed(uvodbc_conn_t* conn) {
  int* closed = uvodbc_conn_get_data(conn);
  (*closed)++;
}

/* Closing the connection while reading: the read ends with one callback
 * (UV_ECANCELED: the close cancelled its fetch, or UVODBC_ECLOSED), the
 * cursor still closes. */
START_TEST(read_conn_close_while_reading) {
  uv_loop_t loop;
  const char* t = TEST_TABLE("read_conn_close");
  uvodbc_conn_t* conn = make_numbers(&loop, t, 10 * BATCH, "VARCHAR(20)");
  uvodbc_conn_t* other;
  reader_t r;
  int closed = 0;
  reader_init(&r, &loop);
  open_numbers(&r, conn, t);
  start_read(&r);
  uvodbc_conn_set_data(conn, &closed);
  ck_assert_int_eq(uvodbc_conn_close(conn, on_conn_closed), 0);
  TEST_RUN_UNTIL(&loop, closed > 0 && r.ends > 0, 10000);
  ck_assert_int_eq(r.ends, 1);
  ck_assert_msg(r.status == UV_ECANCELED || r.status == UVODBC_ECLOSED ||
                    r.status == UV_EOF,
                "read ended with %s", uvodbc_err_name(r.status));
  ck_assert_int_eq(uvodbc_cursor_read_start(r.cursor, &r.req, 0, on_read),
                   UVODBC_ECLOSED);
  close_reader(&r);
  other = test_connect(&loop);
  finish(&loop, other, t);
}
END_TEST

/* A read whose fetches wait for the server: PostgreSQL streams through a
 * server cursor, each row sleeping on the server.  NULL where no fetch
 * waits for the server. */
static const char* slow_stream_connstr(char* buf, size_t len) {
  if (test_driver() != TEST_PG) return NULL;
  snprintf(buf, len, "%s;UseDeclareFetch=1;Fetch=%d", test_connstr(), BATCH);
  return buf;
}

static void open_slow(reader_t* r, uvodbc_conn_t* conn, int rows,
                      double row_s, unsigned timeout_ms) {
  uvodbc_exec_options_t opts;
  char sql[256];
  uvodbc_exec_options_init(&opts);
  opts.batch_rows = BATCH;
  opts.timeout_ms = timeout_ms;
  snprintf(sql, sizeof(sql),
           "SELECT g, g * 7919 %% 10007, 'r' || g FROM generate_series(1, "
           "%d) g WHERE g <= %d OR pg_sleep(%.6f) IS NOT NULL",
           rows, BATCH, row_s);
  ck_assert_int_eq(
      uvodbc_conn_exec(conn, &r->req, sql, NULL, 0, &opts, on_exec), 0);
  TEST_RUN_UNTIL(r->loop, r->cursor != NULL, 10000);
}

/* The cursor closes and the connection works on. */
static void finish_slow(reader_t* r, uvodbc_conn_t* conn) {
  close_reader(r);
  ck_assert_int_eq(test_query_int(r->loop, conn, "SELECT 7"), 7);
  test_close(r->loop, conn);
  test_loop_close(r->loop);
}

/* Cancelling a read's request while its fetch waits for the server ends
 * the read with UV_ECANCELED, at once; the connection works on. */
START_TEST(read_cancel_waiting_fetch) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  reader_t r;
  char buf[2048];
  uint64_t t0;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect_to(&loop, slow_stream_connstr(buf, sizeof(buf)));
  reader_init(&r, &loop);
  open_slow(&r, conn, 100000, 0.1, 0); /* the second batch: 5 s */
  start_read(&r);
  uv_sleep(300);
  t0 = uv_hrtime();
  ck_assert_int_eq(uvodbc_req_cancel(&r.req), 0);
  TEST_RUN_UNTIL(&loop, r.ends > 0, 3000);
  ck_assert_msg(r.status == UV_ECANCELED, "read ended with %s",
                uvodbc_err_name(r.status));
  ck_assert_uint_lt(test_ms_since(t0), test_slack_ms(2000));
  ck_assert_int_eq(r.batches, 0);
  /* The rows that fetch took are gone: the cursor says so from now on. */
  r.ends = 0;
  start_read(&r);
  TEST_RUN_UNTIL(&loop, r.ends > 0, 3000);
  ck_assert_int_eq(r.status, UV_ECANCELED);
  ck_assert_str_eq(r.state, "HY008");
  finish_slow(&r, conn);
}
END_TEST

/* Each fetch of a read has the statement's timeout. */
START_TEST(read_timeout_per_fetch) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  reader_t r;
  char buf[2048];
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect_to(&loop, slow_stream_connstr(buf, sizeof(buf)));
  reader_init(&r, &loop);
  open_slow(&r, conn, 100000, 0.1, 1000); /* the fetch after: 5 s */
  start_read(&r);
  TEST_RUN_UNTIL(&loop, r.ends > 0, 6000);
  ck_assert_msg(r.status == UV_ETIMEDOUT, "read ended with %s",
                uvodbc_err_name(r.status));
  finish_slow(&r, conn);
}
END_TEST

/* The read's request, cancelled if the read has not ended. */
static void on_cancel_timer(uv_timer_t* t) {
  reader_t* r = t->data;
  int err;
  if (r->ends > 0) return;
  err = uvodbc_req_cancel(&r->req);
  ck_assert_msg(err == 0 || err == UV_EINVAL, "cancel: %s",
                uvodbc_err_name(err));
}

/* 100 reads of a few ms, every other one cancelled at once (its first
 * fetch in flight), the others at a random point 0-3 ms after they started:
 * before, during or after a fetch.  Each ends with one callback,
 * UV_ECANCELED or UV_EOF, after rows in order.  A cancel that comes late
 * (PostgreSQL: pg_cancel_backend on an idle backend) must not cancel the
 * statement after it, and the connection serves that statement every
 * time.  PostgreSQL streams (its fetches wait for the server); the others
 * read from the driver's memory.  Seed: UVODBC_TEST_SEED, printed. */
START_TEST(read_cancel_random_points) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  char buf[2048];
  const char* env_seed = getenv("UVODBC_TEST_SEED");
  unsigned int seed = env_seed != NULL
                          ? (unsigned int)strtoul(env_seed, NULL, 10)
                          : (unsigned int)time(NULL);
  int i, cancelled = 0;
  int pg = test_driver() == TEST_PG;
  const char* t = TEST_TABLE("read_cancel_points");
  uv_timer_t timer;
  printf("read/%s: seed %u (UVODBC_TEST_SEED)\n", test_driver_name(), seed);
  srand(seed);
  if (pg) {
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    conn = test_connect_to(&loop, slow_stream_connstr(buf, sizeof(buf)));
  } else { /* fetched from the driver's memory: row mode, to take a while */
    conn = make_numbers(&loop, t, 8 * BATCH,
                        test_pick("TEXT", "TEXT", "LONGTEXT"));
  }
  uv_timer_init(&loop, &timer);
  for (i = 0; i < 100; i++) {
    reader_t r;
    char sql[64];
    reader_init(&r, &loop);
    if (pg)
      open_slow(&r, conn, 4 * BATCH, 0, 0); /* under 1 ms a batch */
    else
      open_numbers(&r, conn, t);
    timer.data = &r;
    start_read(&r);
    /* Every other read at once, its first fetch just submitted (a driver
     * that reads from memory is done within a millisecond). */
    if (i % 2 == 0)
      on_cancel_timer(&timer);
    else
      uv_timer_start(&timer, on_cancel_timer, (uint64_t)(rand() % 4), 0);
    TEST_RUN_UNTIL(&loop, r.ends > 0, 10000);
    uv_timer_stop(&timer);
    ck_assert_msg(r.status == UV_ECANCELED || r.status == UV_EOF,
                  "read %d ended with %s [%s]", i, uvodbc_err_name(r.status),
                  r.state);
    cancelled += r.status == UV_ECANCELED;
    close_reader(&r);
    snprintf(sql, sizeof(sql), "SELECT %d", 1000 + i);
    ck_assert_int_eq(test_query_int(&loop, conn, sql), 1000 + i);
  }
  printf("read/%s: %d of 100 reads cancelled\n", test_driver_name(),
         cancelled);
  ck_assert_int_ge(cancelled, 40); /* the ones cancelled at once, nearly */
  uv_close((uv_handle_t*)&timer, NULL);
  if (!pg) test_drop_table(&loop, conn, t);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* Pull fetches cancelled 0-2 ms after they start, while their worker
 * reads rows (row mode: one SQLFetch per row).  A fetch cancelled after it
 * ran drops what it read: from then on every fetch must fail (HY008),
 * never go on after the dropped rows; one cancelled before it ran loses
 * nothing.  So the ids stay contiguous to the end or to that failure. */
START_TEST(read_cancelled_fetch_no_gap) {
  uv_loop_t loop;
  const char* t = TEST_TABLE("read_no_gap");
  const int rows = 9000;
  uvodbc_conn_t* conn =
      make_numbers(&loop, t, rows, test_pick("TEXT", "TEXT", "LONGTEXT"));
  uvodbc_exec_options_t opts;
  reader_t r;
  uvodbc_req_t f;
  int trial, cancelled = 0, lost = 0;
  reader_init(&r, &loop);
  uvodbc_exec_options_init(&opts);
  opts.batch_rows = 500;
  open_numbers_sized(&r, conn, t, &opts);
  for (trial = 0; lost == 0; trial++) {
    int s[2] = {0, 0};
    f.data = s;
    ck_assert_int_eq(uvodbc_cursor_fetch(r.cursor, &f, 500, on_sync), 0);
    uv_sleep((unsigned)trial % 3);
    uvodbc_req_cancel(&f);
    TEST_RUN_UNTIL(&loop, s[0] == 1, 10000);
    if (s[1] == UV_EOF) break;
    if (s[1] == 0) {
      test_check_numbers(f.batch, &r.next_id);
      continue;
    }
    ck_assert_msg(s[1] == UV_ECANCELED, "fetch: %s", uvodbc_err_name(s[1]));
    cancelled++;
    if (fetch_status(&loop, &r, &f) == 0) {
      test_check_numbers(f.batch, &r.next_id); /* nothing was lost */
      continue;
    }
    ck_assert_int_eq(r.status, UV_ECANCELED);
    ck_assert_str_eq(r.state, "HY008");
    lost = 1;
  }
  printf("read/%s: %d fetches, %d cancelled, %s\n", test_driver_name(),
         trial, cancelled, lost ? "one lost rows" : "none lost rows");
  if (lost) {
    start_read(&r); /* reading fails the same way */
    TEST_RUN_UNTIL(&loop, r.ends > 0, 3000);
    ck_assert_int_eq(r.status, UV_ECANCELED);
    ck_assert_str_eq(r.state, "HY008");
  } else {
    ck_assert_int_eq(r.next_id, rows + 1);
  }
  close_reader(&r);
  finish(&loop, conn, t);
}
END_TEST

/* A statement that fails at row 3 * BATCH + 1 of 10 * BATCH: the error
 * comes with the exec (a driver that reads the whole result first) or
 * ends the read, after the rows before it, never as a short UV_EOF. */
START_TEST(read_error_mid_stream) {
  uv_loop_t loop;
  const char* t = TEST_TABLE("read_error");
  uvodbc_conn_t* conn = make_numbers(&loop, t, 10 * BATCH, "VARCHAR(20)");
  uvodbc_exec_options_t opts;
  reader_t r;
  char sql[512];
  int s[2] = {0, 0};
  const int bad = 3 * BATCH + 1;
  snprintf(sql, sizeof(sql),
           test_pick("SELECT id, v, s FROM %s WHERE id < %d OR "
                     "json('{') IS NOT NULL ORDER BY id",
                     "SELECT id, v, s FROM %s WHERE id < %d OR "
                     "1 / (id - id) > 0 ORDER BY id",
                     "SELECT id, v, s FROM %s WHERE id < %d OR "
                     "(SELECT 1 UNION SELECT 2) ORDER BY id"),
           t, bad);
  reader_init(&r, &loop);
  uvodbc_exec_options_init(&opts);
  opts.batch_rows = BATCH;
  r.req.data = s;
  ck_assert_int_eq(
      uvodbc_conn_exec(conn, &r.req, sql, NULL, 0, &opts, on_sync), 0);
  TEST_RUN_UNTIL(&loop, s[0] > 0, 10000);
  if (s[1] != 0) { /* the whole result was read at execution */
    ck_assert_msg(s[1] == UVODBC_ESQL, "exec: %s", uvodbc_err_name(s[1]));
  } else {
    r.cursor = r.req.cursor;
    uvodbc_cursor_set_data(r.cursor, &r);
    test_check_numbers(r.req.batch, &r.next_id);
    r.req.data = &r;
    start_read(&r);
    TEST_RUN_UNTIL(&loop, r.ends > 0, 10000);
    ck_assert_msg(r.status == UVODBC_ESQL, "read ended with %s at id %lld",
                  uvodbc_err_name(r.status), (long long)r.next_id);
    ck_assert_int_le(r.next_id, bad);
    close_reader(&r);
  }
  if (!uv_is_closing((uv_handle_t*)&r.restart))
    uv_close((uv_handle_t*)&r.restart, NULL);
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 7"), 7);
  finish(&loop, conn, t);
}
END_TEST

Suite* read_suite(void) {
  Suite* s = suite_create("read");
  TCase* tc = tcase_create("read");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, read_edges);
  tcase_add_test(tc, read_stop_in_callback);
  tcase_add_test(tc, read_stop_start_in_callback);
  tcase_add_test(tc, read_long_column);
  tcase_add_test(tc, read_then_fetch);
  tcase_add_test(tc, read_close_while_reading);
  tcase_add_test(tc, read_reset_queued_behind_fetch);
  tcase_add_test(tc, read_conn_close_while_reading);
  tcase_add_test(tc, read_error_mid_stream);
  tcase_add_test(tc, read_cancelled_fetch_no_gap);
  tcase_add_test(tc, read_cancel_random_points);
  if (test_driver() == TEST_PG) {
    tcase_add_test(tc, read_cancel_waiting_fetch);
    tcase_add_test(tc, read_timeout_per_fetch);
  } else {
    const char* why =
        test_driver() == TEST_MARIADB
            ? "Connector/ODBC 3.1.15 holds the whole result on the client: "
              "no fetch waits for the server"
            : "SQLite: no statement here both fetches slowly and streams";
    test_skip("read_cancel_waiting_fetch", why);
    test_skip("read_timeout_per_fetch", why);
  }
  suite_add_tcase(s, tc);
  return s;
}
