/* Tracing (uvodbc_conn_options_t.trace) and debug mode's reports: every
 * operation queued is finished once, started at most once in between,
 * with plausible durations, counts and outcomes; no event carries a
 * password or a parameter value; a slow callback, a long wait for a worker
 * and a call from another thread are reported, a fast callback is not. */
#include <stdlib.h>
#include <uv.h>

#include "uvodbc-test.h"

#define MAX_EVENTS 512
#define PARAM_SECRET "param-secret-4711"

/* ---- the recorder: a copy of every event ---- */

typedef struct {
  uvodbc_trace_event_t ev;
  char sql[128];
  char detail[16];
} record_t;

typedef struct {
  record_t rec[MAX_EVENTS];
  int n;
  int hook_calls;
  const char* secrets[2]; /* must appear in no string of any event */
} recorder_t;

static void copy_text(char* out, size_t size, const char* s) {
  snprintf(out, size, "%s", s != NULL ? s : "");
}

static void check_no_secret(const recorder_t* r, const char* s) {
  size_t i;
  if (s == NULL) return;
  for (i = 0; i < 2; i++)
    if (r->secrets[i] != NULL && *r->secrets[i] != '\0')
      ck_assert_msg(strstr(s, r->secrets[i]) == NULL,
                    "a secret in an event: \"%s\"", s);
}

static void on_trace(const uvodbc_trace_event_t* ev, void* data) {
  recorder_t* r = data;
  record_t* rec;
  r->hook_calls++;
  check_no_secret(r, ev->sql);
  check_no_secret(r, ev->detail);
  check_no_secret(r, ev->sqlstate);
  ck_assert_msg(r->n < MAX_EVENTS, "too many events");
  rec = &r->rec[r->n++];
  rec->ev = *ev;
  copy_text(rec->sql, sizeof(rec->sql), ev->sql);
  copy_text(rec->detail, sizeof(rec->detail), ev->detail);
  rec->ev.sql = NULL;
  rec->ev.detail = NULL;
}

/* The events of one op, in order: [0] QUEUED, then STARTED and FINISHED. */
typedef struct {
  const record_t* queued;
  const record_t* started;
  const record_t* finished;
} op_events_t;

/* Every op queued is finished exactly once, started at most once between
 * them; the i-th op (in queue order) is returned in ops[i]. */
static int collect_ops(const recorder_t* r, op_events_t* ops, int max) {
  int i, j, n = 0;
  for (i = 0; i < r->n; i++) {
    const record_t* q = &r->rec[i];
    if (q->ev.phase != UVODBC_TRACE_QUEUED) continue;
    ck_assert_int_lt(n, max);
    memset(&ops[n], 0, sizeof(ops[n]));
    ops[n].queued = q;
    for (j = 0; j < r->n; j++) {
      const record_t* e = &r->rec[j];
      if (e->ev.op_id != q->ev.op_id || e == q) continue;
      ck_assert_msg(e->ev.phase != UVODBC_TRACE_QUEUED,
                    "op %llu queued twice", (unsigned long long)e->ev.op_id);
      ck_assert_msg(j > i, "op %llu: %d before its QUEUED",
                    (unsigned long long)e->ev.op_id, (int)e->ev.phase);
      ck_assert_int_eq(e->ev.kind, q->ev.kind);
      ck_assert_ptr_eq(e->ev.conn, q->ev.conn);
      if (e->ev.phase == UVODBC_TRACE_STARTED) {
        ck_assert_msg(ops[n].started == NULL && ops[n].finished == NULL,
                      "op %llu: STARTED twice or after FINISHED",
                      (unsigned long long)e->ev.op_id);
        ops[n].started = e;
      } else {
        ck_assert_msg(ops[n].finished == NULL, "op %llu finished twice",
                      (unsigned long long)e->ev.op_id);
        ops[n].finished = e;
      }
    }
    ck_assert_msg(ops[n].finished != NULL, "op %llu (%s) never finished",
                  (unsigned long long)q->ev.op_id,
                  uvodbc_op_kind_name(q->ev.kind));
    n++;
  }
  return n;
}

/* The op of `kind` (and `sql`, if not NULL) queued `nth` (0: first). */
static const op_events_t* find_op(const op_events_t* ops, int n,
                                  uvodbc_op_kind_t kind, const char* sql,
                                  int nth) {
  int i;
  for (i = 0; i < n; i++) {
    if (ops[i].queued->ev.kind != kind) continue;
    if (sql != NULL && strcmp(ops[i].queued->sql, sql) != 0) continue;
    if (nth-- == 0) return &ops[i];
  }
  ck_abort_msg("no %s op \"%s\"", uvodbc_op_kind_name(kind),
               sql != NULL ? sql : "");
  return NULL;
}

static void init_recorder(recorder_t* r, const char* connstr) {
  const char* pwd;
  static char password[128];
  memset(r, 0, sizeof(*r));
  password[0] = '\0';
  pwd = connstr != NULL ? strstr(connstr, "PWD=") : NULL;
  if (pwd != NULL) {
    size_t len = strcspn(pwd + 4, ";");
    snprintf(password, sizeof(password), "%.*s", (int)len, pwd + 4);
  }
  r->secrets[0] = password;
  r->secrets[1] = PARAM_SECRET;
}

/* The test connection string, with a password for SQLite too (its driver
 * ignores it), so every driver's events are searched for one. */
static char* connstr_with_password(void) {
  const char* base = test_connstr();
  size_t size = strlen(base) + 64;
  char* s = malloc(size);
  ck_assert_ptr_nonnull(s);
  if (test_driver() == TEST_SQLITE)
    snprintf(s, size, "%s;PWD=sqlite-pw-0815", base);
  else
    snprintf(s, size, "%s", base);
  return s;
}

static uvodbc_conn_t* connect_traced(uv_loop_t* loop, recorder_t* r,
                                     char** connstr) {
  uvodbc_conn_options_t o;
  *connstr = connstr_with_password();
  init_recorder(r, *connstr);
  uvodbc_conn_options_init(&o);
  o.trace = on_trace;
  o.trace_data = r;
  return test_connect_with(loop, *connstr, &o);
}

/* ---- async helpers ---- */

typedef struct {
  int done;
  int status;
  uvodbc_cursor_t* cursor;
  int sleep_ms; /* the callback holds the loop this long */
} waiter_t;

static void on_done(uvodbc_req_t* req, int status) {
  waiter_t* w = req->data;
  w->done++;
  w->status = status;
  w->cursor = req->cursor;
  if (w->sleep_ms > 0) uv_sleep((unsigned)w->sleep_ms);
  uvodbc_req_cleanup(req);
}

static void on_cursor_closed(uvodbc_cursor_t* c) {
  int* closed = uvodbc_cursor_get_data(c);
  (*closed)++;
}

/* ---- tests ---- */

/* One op of each kind a program runs: the order of events, their kinds,
 * SQL, details, counts and outcomes. */
START_TEST(trace_each_kind) {
  uv_loop_t loop;
  recorder_t* r = malloc(sizeof(*r));
  char* connstr;
  uvodbc_conn_t* conn;
  uvodbc_req_t req, req2;
  waiter_t w = {0}, w2 = {0};
  uvodbc_param_t p[2];
  op_events_t ops[64];
  const op_events_t* o;
  int n, closed = 0;
  const char* table = TEST_TABLE("trace_each_kind");
  char sql[256];

  uv_loop_init(&loop);
  conn = connect_traced(&loop, r, &connstr);
  test_make_table(&loop, conn, table, "id INTEGER, v INTEGER, s VARCHAR(40)");
  test_fill_numbers(&loop, conn, table, 30);

  /* EXEC with a cursor: 10 rows a batch, one fetch, the close. */
  {
    uvodbc_exec_options_t eo;
    uvodbc_exec_options_init(&eo);
    eo.batch_rows = 10;
    snprintf(sql, sizeof(sql), "SELECT id, v, s FROM %s ORDER BY id", table);
    req.data = &w;
    ck_assert_int_eq(uvodbc_conn_exec(conn, &req, sql, NULL, 0, &eo, on_done),
                     0);
    TEST_RUN_UNTIL(&loop, w.done == 1, 10000);
    ck_assert_int_eq(w.status, 0);
    ck_assert_int_eq(uvodbc_cursor_fetch(w.cursor, &req, 0, on_done), 0);
    TEST_RUN_UNTIL(&loop, w.done == 2, 10000);
    ck_assert_int_eq(w.status, 0);
    /* The other 10 rows by a read, which ends at EOF, then next_result. */
    ck_assert_int_eq(uvodbc_cursor_read_start(w.cursor, &req, 0, on_done), 0);
    TEST_RUN_UNTIL(&loop, w.status == UV_EOF, 10000);
    ck_assert_int_eq(w.done, 4);
    ck_assert_int_eq(uvodbc_cursor_next_result(w.cursor, &req, on_done), 0);
    TEST_RUN_UNTIL(&loop, w.done == 5, 10000);
    uvodbc_cursor_set_data(w.cursor, &closed);
    ck_assert_int_eq(uvodbc_cursor_close(w.cursor, on_cursor_closed), 0);
    TEST_RUN_UNTIL(&loop, closed == 1, 10000);
  }
  /* A parameter whose value must never show. */
  p[0] = uvodbc_param_int64(1000);
  p[1] = uvodbc_param_text(PARAM_SECRET, strlen(PARAM_SECRET));
  snprintf(sql, sizeof(sql), "INSERT INTO %s (id, v, s) VALUES (?, 1, ?)",
           table);
  req.data = &w2;
  ck_assert_int_eq(uvodbc_conn_exec(conn, &req, sql, p, 2, NULL, on_done), 0);
  TEST_RUN_UNTIL(&loop, w2.done == 1, 10000);
  ck_assert_int_eq(w2.status, 0);
  /* Two rows in one bulk insert; the driver's facts. */
  {
    uvodbc_param_t rows[4];
    rows[0] = uvodbc_param_int64(2001);
    rows[1] = uvodbc_param_text("b1", 2);
    rows[2] = uvodbc_param_int64(2002);
    rows[3] = uvodbc_param_text("b2", 2);
    snprintf(sql, sizeof(sql), "INSERT INTO %s (id, v, s) VALUES (?, 2, ?)",
             table);
    w2.done = 0;
    ck_assert_int_eq(
        uvodbc_conn_bulk(conn, &req, sql, rows, 2, 2, NULL, on_done), 0);
    TEST_RUN_UNTIL(&loop, w2.done == 1, 10000);
    ck_assert_int_eq(w2.status, 0);
    ck_assert_int_eq(uvodbc_conn_get_info(conn, &req, on_done), 0);
    TEST_RUN_UNTIL(&loop, w2.done == 2, 10000);
    ck_assert_int_eq(w2.status, 0);
    w2.done = 1;
  }
  /* A transaction, a failing statement, a query. */
  req.data = &w2;
  ck_assert_int_eq(uvodbc_conn_begin(conn, &req, on_done), 0);
  TEST_RUN_UNTIL(&loop, w2.done == 2, 10000);
  ck_assert_int_eq(uvodbc_conn_rollback(conn, &req, on_done), 0);
  TEST_RUN_UNTIL(&loop, w2.done == 3, 10000);
  ck_assert_int_eq(uvodbc_conn_exec(conn, &req, "SELEC nothing", NULL, 0,
                                    NULL, on_done),
                   0);
  TEST_RUN_UNTIL(&loop, w2.done == 4, 10000);
  ck_assert_int_eq(w2.status, UVODBC_ESQL);
  snprintf(sql, sizeof(sql), "SELECT id FROM %s WHERE id <= 25", table);
  ck_assert_int_eq(uvodbc_conn_query(conn, &req, sql, NULL, 0, NULL, on_done),
                   0);
  TEST_RUN_UNTIL(&loop, w2.done == 5, 10000);
  ck_assert_int_eq(w2.status, 0);
  /* A prepared statement, run once, closed; a catalog function. */
  {
    uvodbc_prepared_t* prep;
    snprintf(sql, sizeof(sql), "SELECT v FROM %s WHERE id = ?", table);
    ck_assert_int_eq(uvodbc_conn_prepare(conn, &req, sql, on_done), 0);
    TEST_RUN_UNTIL(&loop, w2.done == 6, 10000);
    ck_assert_int_eq(w2.status, 0);
    prep = req.prepared;
    p[0] = uvodbc_param_int64(3);
    req2.data = &w;
    w.done = 0;
    ck_assert_int_eq(
        uvodbc_prepared_query(prep, &req2, p, 1, NULL, on_done), 0);
    TEST_RUN_UNTIL(&loop, w.done == 1, 10000);
    ck_assert_int_eq(w.status, 0);
    ck_assert_int_eq(uvodbc_prepared_close(prep, NULL), 0);
    ck_assert_int_eq(uvodbc_conn_catalog(conn, &req, UVODBC_CATALOG_TABLES,
                                         NULL, NULL, on_done),
                     0);
    TEST_RUN_UNTIL(&loop, w2.done == 7, 10000);
    ck_assert_int_eq(w2.status, 0);
    uvodbc_cursor_close(req.cursor, NULL);
  }
  test_drop_table(&loop, conn, table);
  test_close(&loop, conn);
  test_loop_close(&loop);

  n = collect_ops(r, ops, 64);
  /* connect first, conn_close last; every op of this connection. */
  ck_assert_int_eq(ops[0].queued->ev.kind, UVODBC_OP_CONNECT);
  ck_assert_int_eq(ops[n - 1].queued->ev.kind, UVODBC_OP_CONN_CLOSE);
  for (int i = 0; i < n; i++) {
    const op_events_t* e = &ops[i];
    ck_assert_ptr_eq(e->queued->ev.conn, conn);
    ck_assert_ptr_null(e->queued->ev.pool);
    if (e->started != NULL) {
      ck_assert_uint_ge(e->started->ev.wait_conn_ns, 0);
      ck_assert_uint_gt(e->finished->ev.work_ns, 0);
      ck_assert_uint_lt(e->finished->ev.work_ns, 10000000000ull);
      ck_assert_uint_ge(e->finished->ev.wait_worker_ns,
                        e->started->ev.wait_worker_ns);
    } else {
      ck_assert_uint_eq(e->finished->ev.work_ns, 0);
    }
    ck_assert_uint_eq(e->finished->ev.queued_at_ns,
                      e->queued->ev.queued_at_ns);
  }
  o = find_op(ops, n, UVODBC_OP_CONNECT, NULL, 0);
  ck_assert_ptr_nonnull(o->started);
  ck_assert_int_eq(o->finished->ev.status, 0);
  ck_assert_str_eq(o->queued->sql, ""); /* never the connection string */

  snprintf(sql, sizeof(sql), "SELECT id, v, s FROM %s ORDER BY id", table);
  o = find_op(ops, n, UVODBC_OP_EXEC, sql, 0);
  ck_assert_int_eq(o->finished->ev.status, 0);
  ck_assert_uint_eq(o->finished->ev.rows, 10); /* the first batch */
  o = find_op(ops, n, UVODBC_OP_FETCH, NULL, 0);
  ck_assert_uint_eq(o->finished->ev.rows, 10);
  ck_assert_str_eq(o->queued->detail, "");
  /* The read: its first fetch has the other 10 rows, its last EOF. */
  o = find_op(ops, n, UVODBC_OP_FETCH, NULL, 1);
  ck_assert_str_eq(o->queued->detail, "read");
  ck_assert_uint_eq(o->finished->ev.rows, 10);
  ck_assert_int_eq(o->finished->ev.status, 0);
  o = find_op(ops, n, UVODBC_OP_FETCH, NULL, 2);
  ck_assert_str_eq(o->queued->detail, "read");
  ck_assert_int_eq(o->finished->ev.status, UV_EOF);
  o = find_op(ops, n, UVODBC_OP_NEXT_RESULT, NULL, 0);
  ck_assert_int_eq(o->finished->ev.status, UV_EOF);
  o = find_op(ops, n, UVODBC_OP_BULK, NULL, 0);
  ck_assert_int_eq(o->finished->ev.status, 0);
  ck_assert_int_eq(o->finished->ev.rows_affected, 2);
  ck_assert_ptr_nonnull(find_op(ops, n, UVODBC_OP_INFO, NULL, 0)->started);
  ck_assert_int_eq(find_op(ops, n, UVODBC_OP_CURSOR_CLOSE, NULL, 0)
                       ->finished->ev.status,
                   0);

  snprintf(sql, sizeof(sql), "INSERT INTO %s (id, v, s) VALUES (?, 1, ?)",
           table);
  o = find_op(ops, n, UVODBC_OP_EXEC, sql, 0);
  ck_assert_int_eq(o->finished->ev.rows_affected, 1);
  ck_assert_uint_eq(o->finished->ev.rows, 0);

  ck_assert_str_eq(find_op(ops, n, UVODBC_OP_TXN, NULL, 0)->queued->detail,
                   "begin");
  ck_assert_str_eq(find_op(ops, n, UVODBC_OP_TXN, NULL, 1)->queued->detail,
                   "rollback");

  o = find_op(ops, n, UVODBC_OP_EXEC, "SELEC nothing", 0);
  ck_assert_int_eq(o->finished->ev.status, UVODBC_ESQL);
  ck_assert_msg(o->finished->ev.sqlstate[0] != '\0' &&
                    strcmp(o->finished->ev.sqlstate, "00000") != 0,
                "a failed statement's SQLSTATE: \"%s\"",
                o->finished->ev.sqlstate);

  snprintf(sql, sizeof(sql), "SELECT id FROM %s WHERE id <= 25", table);
  o = find_op(ops, n, UVODBC_OP_QUERY, sql, 0);
  ck_assert_uint_eq(o->finished->ev.rows, 25);
  ck_assert_str_eq(o->finished->ev.sqlstate, "");

  snprintf(sql, sizeof(sql), "SELECT v FROM %s WHERE id = ?", table);
  find_op(ops, n, UVODBC_OP_PREPARE, sql, 0);
  o = find_op(ops, n, UVODBC_OP_QUERY, sql, 0); /* the prepared's text */
  ck_assert_uint_eq(o->finished->ev.rows, 1);
  find_op(ops, n, UVODBC_OP_PREPARED_CLOSE, NULL, 0);
  find_op(ops, n, UVODBC_OP_EXEC, "SQLTables", 0);
  ck_assert_int_eq(r->hook_calls, r->n);
  free(connstr);
  free(r);
}
END_TEST

/* Queued behind a slow statement: the wait shows as wait_conn_ns, the
 * slow one's time as work_ns; a cancelled queued op and a timed-out one
 * finish with their status; a close cancels what is queued. */
START_TEST(trace_waits_cancels_timeouts) {
  uv_loop_t loop;
  recorder_t* r = malloc(sizeof(*r));
  char* connstr;
  uvodbc_conn_t* conn;
  uvodbc_req_t slow, behind, cancelled, timed, after[3];
  waiter_t ws = {0}, wb = {0}, wc = {0}, wt = {0}, wa = {0}, w0 = {0};
  uvodbc_exec_options_t eo;
  op_events_t ops[64];
  const op_events_t* o;
  char sleep_sql[256], long_sql[256];
  uint64_t slow_ns;
  int n, i;

  uv_loop_init(&loop);
  conn = connect_traced(&loop, r, &connstr);
  snprintf(sleep_sql, sizeof(sleep_sql), "%s", test_sleep_sql(0.4));
  snprintf(long_sql, sizeof(long_sql), "%s", test_sleep_sql(3));
  slow.data = &ws;
  behind.data = &wb;
  cancelled.data = &wc;
  ck_assert_int_eq(
      uvodbc_conn_exec(conn, &slow, sleep_sql, NULL, 0, NULL, on_done), 0);
  ck_assert_int_eq(uvodbc_conn_query(conn, &behind, "SELECT 1", NULL, 0, NULL,
                                     on_done),
                   0);
  ck_assert_int_eq(uvodbc_conn_query(conn, &cancelled, "SELECT 2", NULL, 0,
                                     NULL, on_done),
                   0);
  ck_assert_int_eq(uvodbc_req_cancel(&cancelled), 0);
  TEST_RUN_UNTIL(&loop, ws.done && wb.done && wc.done, 20000);
  ck_assert_int_eq(wc.status, UV_ECANCELED);
  if (ws.cursor != NULL) uvodbc_cursor_close(ws.cursor, NULL);

  /* A timeout while it runs. */
  uvodbc_exec_options_init(&eo);
  eo.timeout_ms = 200;
  timed.data = &wt;
  ck_assert_int_eq(uvodbc_conn_exec(conn, &timed, long_sql, NULL, 0, &eo,
                                    on_done),
                   0);
  TEST_RUN_UNTIL(&loop, wt.done, 20000);
  ck_assert_int_eq(wt.status, UV_ETIMEDOUT);
  if (wt.cursor != NULL) uvodbc_cursor_close(wt.cursor, NULL);

  /* A close with work queued: those finish cancelled. */
  after[0].data = &w0;
  ck_assert_int_eq(uvodbc_conn_exec(conn, &after[0], test_sleep_sql(0.2),
                                    NULL, 0, NULL, on_done),
                   0);
  for (i = 1; i < 3; i++) {
    after[i].data = &wa;
    ck_assert_int_eq(uvodbc_conn_query(conn, &after[i], "SELECT 3", NULL, 0,
                                       NULL, on_done),
                     0);
  }
  test_close(&loop, conn);
  ck_assert_int_eq(w0.done + wa.done, 3);
  if (w0.cursor != NULL) uvodbc_cursor_close(w0.cursor, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  test_loop_close(&loop);

  n = collect_ops(r, ops, 64);
  /* SQLite's "0.4 s" is a calibrated busy loop: 0.1 s at least. */
  o = find_op(ops, n, UVODBC_OP_EXEC, sleep_sql, 0);
  slow_ns = o->finished->ev.work_ns;
  ck_assert_msg(slow_ns >= 100000000ull, "the 0.4 s statement's work_ns: %llu",
                (unsigned long long)slow_ns);
  o = find_op(ops, n, UVODBC_OP_QUERY, "SELECT 1", 0);
  ck_assert_ptr_nonnull(o->started);
  /* The slow one began on its worker before this one was queued. */
  ck_assert_msg(o->finished->ev.wait_conn_ns >= slow_ns / 10 * 9,
                "queued behind %llu ns of work: wait_conn_ns %llu",
                (unsigned long long)slow_ns,
                (unsigned long long)o->finished->ev.wait_conn_ns);
  ck_assert_uint_eq(o->started->ev.wait_conn_ns,
                    o->finished->ev.wait_conn_ns);
  o = find_op(ops, n, UVODBC_OP_QUERY, "SELECT 2", 0);
  ck_assert_ptr_null(o->started);
  ck_assert_int_eq(o->finished->ev.status, UV_ECANCELED);
  o = find_op(ops, n, UVODBC_OP_EXEC, long_sql, 0);
  ck_assert_int_eq(o->finished->ev.status, UV_ETIMEDOUT);
  ck_assert_ptr_nonnull(o->started);
  for (i = 0; i < 2; i++) {
    o = find_op(ops, n, UVODBC_OP_QUERY, "SELECT 3", i);
    ck_assert_int_eq(o->finished->ev.status, UV_ECANCELED);
  }
  o = find_op(ops, n, UVODBC_OP_CONN_CLOSE, NULL, 0);
  ck_assert_int_eq(o->finished->ev.status, 0);
  free(connstr);
  free(r);
}
END_TEST

/* Statements queued at once run in one hop (a chain): each still gets its
 * three events, each its own work time. */
START_TEST(trace_chain) {
  uv_loop_t loop;
  recorder_t* r = malloc(sizeof(*r));
  char* connstr;
  uvodbc_conn_t* conn;
  uvodbc_req_t reqs[6];
  waiter_t w = {0};
  op_events_t ops[64];
  int n, i;

  uv_loop_init(&loop);
  conn = connect_traced(&loop, r, &connstr);
  for (i = 0; i < 6; i++) {
    reqs[i].data = &w;
    ck_assert_int_eq(uvodbc_conn_query(conn, &reqs[i], "SELECT 42", NULL, 0,
                                       NULL, on_done),
                     0);
  }
  TEST_RUN_UNTIL(&loop, w.done == 6, 10000);
  test_close(&loop, conn);
  test_loop_close(&loop);
  n = collect_ops(r, ops, 64);
  for (i = 0; i < 6; i++) {
    const op_events_t* o = find_op(ops, n, UVODBC_OP_QUERY, "SELECT 42", i);
    ck_assert_ptr_nonnull(o->started);
    ck_assert_int_eq(o->finished->ev.status, 0);
    ck_assert_uint_eq(o->finished->ev.rows, 1);
    ck_assert_uint_gt(o->finished->ev.work_ns, 0);
  }
  free(connstr);
  free(r);
}
END_TEST

/* A pool's connections take the pool's hook, and their events name it. */
static void on_pool_closed(uvodbc_pool_t* pool) {
  int* closed = uvodbc_pool_get_data(pool);
  (*closed)++;
}

START_TEST(trace_pool) {
  uv_loop_t loop;
  recorder_t* r = malloc(sizeof(*r));
  char* connstr = connstr_with_password();
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t po;
  uvodbc_req_t req;
  waiter_t w = {0};
  op_events_t ops[64];
  const op_events_t* o;
  int n, closed = 0;

  init_recorder(r, connstr);
  uv_loop_init(&loop);
  uvodbc_pool_options_init(&po);
  po.max_size = 1;
  po.conn.trace = on_trace;
  po.conn.trace_data = r;
  ck_assert_int_eq(uvodbc_pool_create(&loop, &pool, connstr, &po, NULL), 0);
  uvodbc_pool_set_data(pool, &closed);
  req.data = &w;
  ck_assert_int_eq(uvodbc_pool_query(pool, &req, "SELECT 7", NULL, 0, NULL,
                                     on_done),
                   0);
  TEST_RUN_UNTIL(&loop, w.done == 1, 10000);
  ck_assert_int_eq(w.status, 0);
  ck_assert_int_eq(uvodbc_pool_close(pool, on_pool_closed), 0);
  TEST_RUN_UNTIL(&loop, closed == 1, 10000);
  test_loop_close(&loop);
  n = collect_ops(r, ops, 64);
  ck_assert_int_ge(n, 3); /* connect, the query, the close */
  for (int i = 0; i < n; i++)
    ck_assert_ptr_eq(ops[i].queued->ev.pool, pool);
  o = find_op(ops, n, UVODBC_OP_QUERY, "SELECT 7", 0);
  ck_assert_uint_eq(o->finished->ev.rows, 1);
  find_op(ops, n, UVODBC_OP_CONNECT, NULL, 0);
  find_op(ops, n, UVODBC_OP_CONN_CLOSE, NULL, 0);
  free(connstr);
  free(r);
}
END_TEST

typedef struct {
  char lines[16][600];
  int n;
} log_t;

static void on_log(const char* line, void* data) {
  log_t* l = data;
  if (l->n < 16) snprintf(l->lines[l->n], sizeof(l->lines[0]), "%s", line);
  l->n++;
}

static int log_count(const log_t* l, const char* needle) {
  int i, count = 0;
  for (i = 0; i < l->n && i < 16; i++)
    if (strstr(l->lines[i], needle) != NULL) count++;
  return count;
}

static void debug_on(log_t* l, unsigned int slow_cb_ms,
                     unsigned int slow_wait_ms) {
  uvodbc_debug_options_t d;
  memset(l, 0, sizeof(*l));
  uvodbc_debug_options_init(&d);
  d.enabled = 1;
  d.slow_callback_ms = slow_cb_ms;
  d.slow_worker_wait_ms = slow_wait_ms;
  d.log = on_log;
  d.log_data = l;
  ck_assert_int_eq(uvodbc_set_debug(&d), 0);
}

static void debug_off(void) {
  uvodbc_debug_options_t d;
  uvodbc_debug_options_init(&d);
  ck_assert_int_eq(uvodbc_set_debug(&d), 0);
}

/* An op given up at its deadline on a frozen server finishes when its
 * callback comes (UV_ETIMEDOUT, HYT00), not when the driver returns; the
 * worker still in the driver is not read (TSan: debug mode times it). */
static void thaw_server(void) {
  if (test_driver() != TEST_SQLITE && test_servers_sh("thaw") != 0)
    fprintf(stderr, "trace: cannot thaw the server\n");
}

START_TEST(trace_abandoned_frozen) {
  uv_loop_t loop;
  uv_timer_t ticker;
  recorder_t* r = malloc(sizeof(*r));
  char* connstr = connstr_with_password();
  uvodbc_conn_options_t co;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  waiter_t w = {0};
  op_events_t ops[16];
  const op_events_t* o;
  static log_t l;
  int n;

  init_recorder(r, connstr);
  uv_loop_init(&loop);
  test_ticker_start(&loop, &ticker);
  uvodbc_conn_options_init(&co);
  /* Long enough for a loaded machine's worker to reach the driver: a
   * timeout before that cancels the query unstarted, without HYT00 (ASan
   * on a machine running four suites at once). */
  co.query_timeout_ms = (unsigned int)test_slack_ms(1000);
  co.deadline_grace_ms = 300;
  co.trace = on_trace;
  co.trace_data = r;
  conn = test_connect_with(&loop, connstr, &co);
  debug_on(&l, 0, 0);
  ck_assert_msg(test_servers_sh("freeze") == 0, "servers.sh freeze failed");
  req.data = &w;
  ck_assert_int_eq(uvodbc_conn_query(conn, &req, "SELECT 2 AS frozen", NULL,
                                     0, NULL, on_done),
                   0);
  TEST_RUN_UNTIL(&loop, w.done, 10000);
  ck_assert_int_eq(w.status, UV_ETIMEDOUT);
  n = collect_ops(r, ops, 16);
  o = find_op(ops, n, UVODBC_OP_QUERY, "SELECT 2 AS frozen", 0);
  ck_assert_ptr_nonnull(o->started);
  ck_assert_int_eq(o->finished->ev.status, UV_ETIMEDOUT);
  ck_assert_str_eq(o->finished->ev.sqlstate, "HYT00");
  ck_assert_uint_eq(o->finished->ev.work_ns, 0);
  thaw_server();
  test_close(&loop, conn);
  TEST_RUN_UNTIL(&loop, uvodbc_shutdown() == 0, 20000);
  debug_off();
  uv_close((uv_handle_t*)&ticker, NULL);
  test_loop_close(&loop);
  /* Every op finished once, the query's FINISHED still the only one. */
  n = collect_ops(r, ops, 16);
  find_op(ops, n, UVODBC_OP_CONN_CLOSE, NULL, 0);
  free(connstr);
  free(r);
}
END_TEST

/* ---- debug mode ---- */

/* A callback that holds the loop past the threshold is reported, with
 * what it was for; one below is not. */
START_TEST(debug_slow_callback) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  waiter_t fast = {0}, slow = {0};
  static log_t l;

  uv_loop_init(&loop);
  conn = test_connect(&loop);
  debug_on(&l, 150, 0);
  req.data = &fast;
  ck_assert_int_eq(uvodbc_conn_query(conn, &req, "SELECT 11 AS fast_one",
                                     NULL, 0, NULL, on_done),
                   0);
  TEST_RUN_UNTIL(&loop, fast.done, 10000);
  ck_assert_int_eq(log_count(&l, "slow callback"), 0);
  slow.sleep_ms = 300;
  req.data = &slow;
  ck_assert_int_eq(uvodbc_conn_query(conn, &req, "SELECT 12 AS slow_one",
                                     NULL, 0, NULL, on_done),
                   0);
  TEST_RUN_UNTIL(&loop, slow.done, 10000);
  debug_off();
  ck_assert_int_eq(l.n, 1);
  ck_assert_int_eq(log_count(&l, "slow callback: query held the loop"), 1);
  ck_assert_int_eq(log_count(&l, "SELECT 12 AS slow_one"), 1);
  ck_assert_int_eq(log_count(&l, "threshold 150 ms"), 1);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* With one worker for uvodbc, a statement behind another connection's
 * slow one waits for the thread: reported with the limit and the pool
 * size. */
START_TEST(debug_worker_wait) {
  uv_loop_t loop;
  uvodbc_conn_t* a;
  uvodbc_conn_t* b;
  uvodbc_req_t ra, rb;
  waiter_t wa = {0}, wb = {0};
  static log_t l;
  char expect[64];

  uvodbc_conn_options_t traced;
  uvodbc_debug_options_t off;
  recorder_t* r = malloc(sizeof(*r));

  uv_loop_init(&loop);
  init_recorder(r, NULL);
  uvodbc_conn_options_init(&traced);
  traced.trace = on_trace;
  traced.trace_data = r;
  a = test_connect(&loop);
  b = test_connect_with(&loop, test_connstr(), &traced);
  ck_assert_int_eq(uvodbc_set_worker_limit(1), 0);
  /* Debug mode off, a hook on: the same wait is not reported. */
  debug_on(&l, 0, 150);
  uvodbc_debug_options_init(&off);
  off.log = on_log;
  off.log_data = &l;
  ck_assert_int_eq(uvodbc_set_debug(&off), 0);
  ra.data = &wa;
  rb.data = &wb;
  ck_assert_int_eq(uvodbc_conn_exec(a, &ra, test_sleep_sql(1.5), NULL, 0,
                                    NULL, on_done),
                   0);
  ck_assert_int_eq(uvodbc_conn_query(b, &rb, "SELECT 5 AS waited", NULL, 0,
                                     NULL, on_done),
                   0);
  TEST_RUN_UNTIL(&loop, wa.done && wb.done, 20000);
  if (wa.cursor != NULL) {
    int closed = 0;
    uvodbc_cursor_set_data(wa.cursor, &closed);
    uvodbc_cursor_close(wa.cursor, on_cursor_closed);
    TEST_RUN_UNTIL(&loop, closed == 1, 20000);
  }
  ck_assert_msg(l.n == 0, "reported with debug mode off: %s", l.lines[0]);
  memset(&wa, 0, sizeof(wa));
  memset(&wb, 0, sizeof(wb));
  debug_on(&l, 0, 150);
  ck_assert_int_eq(uvodbc_conn_exec(a, &ra, test_sleep_sql(1.5), NULL, 0,
                                    NULL, on_done),
                   0);
  ck_assert_int_eq(uvodbc_conn_query(b, &rb, "SELECT 5 AS waited", NULL, 0,
                                     NULL, on_done),
                   0);
  TEST_RUN_UNTIL(&loop, wa.done && wb.done, 20000);
  debug_off();
  if (wa.cursor != NULL) uvodbc_cursor_close(wa.cursor, NULL);
  ck_assert_msg(log_count(&l, "slow start: query waited") == 1,
                "%d lines, the first: %s", l.n, l.lines[0]);
  ck_assert_int_eq(log_count(&l, "worker limit 1"), 1);
  snprintf(expect, sizeof(expect), "UV_THREADPOOL_SIZE %s",
           getenv("UV_THREADPOOL_SIZE") != NULL
               ? getenv("UV_THREADPOOL_SIZE")
               : "4");
  ck_assert_int_eq(log_count(&l, expect), 1);
  ck_assert_int_eq(log_count(&l, "SELECT 5 AS waited"), 1);
  test_close(&loop, a);
  test_close(&loop, b);
  test_loop_close(&loop);
  free(r);
}
END_TEST

/* A call from a thread that is not the loop's is reported (the loop is
 * idle meanwhile, so the call itself is harmless here). */
typedef struct {
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  waiter_t w;
  int rc;
} foreign_t;

static void foreign_call(void* arg) {
  foreign_t* f = arg;
  f->req.data = &f->w;
  f->rc = uvodbc_conn_query(f->conn, &f->req, "SELECT 6", NULL, 0, NULL,
                            on_done);
}

START_TEST(debug_other_thread) {
  uv_loop_t loop;
  uv_thread_t t;
  static foreign_t f;
  static log_t l;

  uv_loop_init(&loop);
  f.conn = test_connect(&loop);
  debug_on(&l, 0, 0);
  ck_assert_int_eq(uv_thread_create(&t, foreign_call, &f), 0);
  ck_assert_int_eq(uv_thread_join(&t), 0);
  ck_assert_int_eq(f.rc, 0);
  TEST_RUN_UNTIL(&loop, f.w.done, 10000);
  ck_assert_int_eq(log_count(&l, "misuse: query on a connection of another "
                                 "thread's loop"),
                   1);
  /* From its own thread: nothing more. */
  ck_assert_int_eq(uvodbc_conn_query(f.conn, &f.req, "SELECT 6", NULL, 0,
                                     NULL, on_done),
                   0);
  TEST_RUN_UNTIL(&loop, f.w.done == 2, 10000);
  debug_off();
  ck_assert_int_eq(l.n, 1);
  test_close(&loop, f.conn);
  test_loop_close(&loop);
}
END_TEST

/* A pool too large for the thread pool: its own error code, and debug
 * mode says which numbers clash. */
START_TEST(debug_pool_too_large) {
  uv_loop_t loop;
  uvodbc_pool_t* pool = NULL;
  uvodbc_pool_options_t po;
  static log_t l;
  char expect[96];
  unsigned int limit = uvodbc_get_worker_limit();

  uv_loop_init(&loop);
  uvodbc_pool_options_init(&po);
  po.max_size = limit + 1;
  ck_assert_int_eq(uvodbc_pool_create(&loop, &pool, test_connstr(), &po, NULL),
                   UVODBC_EPOOLSIZE);
  ck_assert_ptr_null(pool);
  ck_assert_ptr_nonnull(strstr(uvodbc_strerror(UVODBC_EPOOLSIZE),
                               "UV_THREADPOOL_SIZE"));
  ck_assert_str_eq(uvodbc_err_name(UVODBC_EPOOLSIZE), "EPOOLSIZE");
  debug_on(&l, 0, 0);
  ck_assert_int_eq(uvodbc_pool_create(&loop, &pool, test_connstr(), &po, NULL),
                   UVODBC_EPOOLSIZE);
  debug_off();
  snprintf(expect, sizeof(expect), "max_size %u, but the worker limit is %u",
           limit + 1, limit);
  ck_assert_int_eq(l.n, 1);
  ck_assert_msg(log_count(&l, expect) == 1, "%s", l.lines[0]);
  test_loop_close(&loop);
}
END_TEST

/* UVODBC_DEBUG=1 turns debug mode on (read once, at the first call that
 * needs it: this test's own process). */
START_TEST(debug_from_environment) {
  uvodbc_debug_options_t d;
  setenv("UVODBC_DEBUG", "1", 1);
  uvodbc_get_debug(&d);
  ck_assert_int_eq(d.enabled, 1);
  ck_assert_uint_eq(d.slow_callback_ms, 100);
  ck_assert_uint_eq(d.slow_worker_wait_ms, 100);
  ck_assert_int_eq(uvodbc_set_debug(NULL), UV_EINVAL);
  uvodbc_debug_options_init(&d);
  ck_assert_int_eq(uvodbc_set_debug(&d), 0);
  uvodbc_get_debug(&d);
  ck_assert_int_eq(d.enabled, 0);
  ck_assert_str_eq(uvodbc_op_kind_name(UVODBC_OP_NEXT_RESULT),
                   "next_result");
  ck_assert_str_eq(uvodbc_op_kind_name((uvodbc_op_kind_t)99), "?");
}
END_TEST

Suite* trace_suite(void) {
  Suite* s = suite_create("trace");
  TCase* tc = tcase_create("trace");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, trace_each_kind);
  tcase_add_test(tc, trace_waits_cancels_timeouts);
  tcase_add_test(tc, trace_chain);
  tcase_add_test(tc, trace_pool);
  if (test_driver() == TEST_SQLITE) {
    test_skip("trace_abandoned_frozen",
              "needs a server to freeze (SQLite's statements are "
              "interrupted, never abandoned)");
  } else {
    /* A failed test ends its process before its teardown: the next test
     * thaws first. */
    tcase_add_checked_fixture(tc, thaw_server, thaw_server);
    tcase_add_test(tc, trace_abandoned_frozen);
  }
  tcase_add_test(tc, debug_slow_callback);
  tcase_add_test(tc, debug_worker_wait);
  tcase_add_test(tc, debug_other_thread);
  tcase_add_test(tc, debug_from_environment);
  tcase_add_test(tc, debug_pool_too_large);
  suite_add_tcase(s, tc);
  return s;
}
