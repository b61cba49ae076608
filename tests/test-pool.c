/* The pool: acquire/release order, growth and waiting at max, acquire
 * timeout and cancel, the one-call helpers, broken connections (backends
 * terminated while idle and while a query runs, a server restart), session
 * state across borrowers, max lifetime and idle timeout, the setup hook,
 * close and terminate, statistics, the footprint rule, and a stress test
 * with random cancels.  Server-side connection counts use an
 * application_name (PostgreSQL) or a database of their own (MariaDB). */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "uvodbc-test.h"

/* ---- loop helpers ---- */

/* Runs the loop until `expr` holds; fails if the loop runs out of work
 * first (a callback that never comes). */
#define RUN_UNTIL(loop, expr)                                             \
  do {                                                                    \
    while (!(expr)) {                                                     \
      int more_ = uv_run((loop), UV_RUN_ONCE);                            \
      if (!(expr) && !more_)                                              \
        ck_abort_msg("loop ran out of work before: %s", #expr);          \
    }                                                                     \
  } while (0)

static void on_sleep_timer(uv_timer_t* t) {
  *(int*)t->data = 1;
}

static void on_timer_closed(uv_handle_t* h) {
  *(int*)h->data = 2;
}

/* Runs the loop for `ms` milliseconds. */
static void run_for(uv_loop_t* loop, uint64_t ms) {
  uv_timer_t t;
  int fired = 0;
  uv_timer_init(loop, &t);
  t.data = &fired;
  uv_timer_start(&t, on_sleep_timer, ms, 0);
  RUN_UNTIL(loop, fired == 1);
  uv_close((uv_handle_t*)&t, on_timer_closed);
  RUN_UNTIL(loop, fired == 2);
}

/* `ms` stretched for slow runs (test_slack). */
static uint64_t slack_ms(uint64_t ms) {
  return (uint64_t)((double)ms * test_slack());
}

static uint64_t ms_since(uint64_t t0) {
  return (uv_hrtime() - t0) / 1000000;
}

static int64_t batch_int(const uvodbc_batch_t* b, size_t col, size_t row) {
  int64_t v = 0;
  if (uvodbc_batch_get_int64(b, col, row, &v) != 0) {
    const char* text;
    size_t len;
    ck_assert_int_eq(uvodbc_batch_get_text(b, col, row, &text, &len), 0);
    v = strtoll(text, NULL, 10);
  }
  return v;
}

/* ---- requests: every callback counted, none inside a starting call ---- */

static int in_call; /* set around starting calls */
static int seq;     /* order of callbacks */

typedef struct {
  uvodbc_req_t req;
  int calls;
  int status;
  int seq;
  uvodbc_conn_t* conn;
  char state[6];   /* the first diagnostic's SQLSTATE */
  char states[64]; /* every SQLSTATE, space-separated */
  int disconnect;
  int64_t value; /* first cell of a query result */
  int64_t rows;
  int has_cursor;
  uint64_t at;
} acq_t;

static void on_acq(uvodbc_req_t* req, int status) {
  acq_t* a = req->data;
  size_t i;
  ck_assert_msg(!in_call, "callback ran inside the starting call");
  a->calls++;
  ck_assert_int_eq(a->calls, 1);
  a->status = status;
  a->seq = ++seq;
  a->conn = req->conn;
  a->at = uv_hrtime();
  a->rows = req->rows_affected;
  a->has_cursor = req->cursor != NULL;
  a->state[0] = '\0';
  if (req->ndiag > 0) memcpy(a->state, req->diag[0].sqlstate, 6);
  a->states[0] = '\0';
  for (i = 0; i < req->ndiag && strlen(a->states) + 7 < sizeof(a->states); i++)
    snprintf(a->states + strlen(a->states), 7, "%s ", req->diag[i].sqlstate);
  a->disconnect = uvodbc_req_is_disconnect(req);
  if (status != 0 && status != UV_ECANCELED && status != UV_ETIMEDOUT &&
      status != UVODBC_ECLOSED)
    test_print_diags(req, "pool request");
  if (req->type == UVODBC_REQ_QUERY && status == 0) {
    if (uvodbc_batch_nrows(req->batch) > 0)
      a->value = batch_int(req->batch, 0, 0);
    uvodbc_req_cleanup(req);
  }
}

static void start_acquire(uvodbc_pool_t* pool, acq_t* a) {
  memset(a, 0, sizeof(*a));
  a->req.data = a;
  in_call = 1;
  ck_assert_int_eq(uvodbc_pool_acquire(pool, &a->req, on_acq), 0);
  in_call = 0;
}

static void start_query(uvodbc_pool_t* pool, acq_t* a, const char* sql) {
  memset(a, 0, sizeof(*a));
  a->req.data = a;
  in_call = 1;
  ck_assert_int_eq(uvodbc_pool_query(pool, &a->req, sql, NULL, 0, NULL, on_acq),
                   0);
  in_call = 0;
}

static void start_exec(uvodbc_pool_t* pool, acq_t* a, const char* sql) {
  memset(a, 0, sizeof(*a));
  a->req.data = a;
  in_call = 1;
  ck_assert_int_eq(uvodbc_pool_exec(pool, &a->req, sql, NULL, 0, NULL, on_acq),
                   0);
  in_call = 0;
}

/* Acquires and waits; fails unless it succeeds. */
static uvodbc_conn_t* acquire_sync(uv_loop_t* loop, uvodbc_pool_t* pool) {
  acq_t a;
  start_acquire(pool, &a);
  RUN_UNTIL(loop, a.calls == 1);
  ck_assert_msg(a.status == 0, "acquire failed: %s", uvodbc_err_name(a.status));
  ck_assert_ptr_nonnull(a.conn);
  return a.conn;
}

/* A statement on a borrowed connection: its status, and the first
 * SQLSTATE and disconnect flag in `a`. */
static int conn_query(uv_loop_t* loop, uvodbc_conn_t* conn, const char* sql,
                      acq_t* a) {
  memset(a, 0, sizeof(*a));
  a->req.data = a;
  in_call = 1;
  ck_assert_int_eq(uvodbc_conn_query(conn, &a->req, sql, NULL, 0, NULL, on_acq),
                   0);
  in_call = 0;
  RUN_UNTIL(loop, a->calls == 1);
  return a->status;
}

/* ---- pools ---- */

typedef struct {
  int ready_calls;
  int ready_status;
  int close_calls;
  int other_after_close; /* a callback after the close callback */
} pool_log_t;

static void on_ready(uvodbc_pool_t* pool, int status) {
  pool_log_t* l = uvodbc_pool_get_data(pool);
  ck_assert_msg(!in_call, "ready callback inside the starting call");
  l->ready_calls++;
  ck_assert_int_eq(l->ready_calls, 1);
  ck_assert_int_eq(l->close_calls, 0);
  l->ready_status = status;
}

static void on_pool_closed(uvodbc_pool_t* pool) {
  pool_log_t* l = uvodbc_pool_get_data(pool);
  ck_assert_msg(!in_call, "close callback inside the starting call");
  l->close_calls++;
  ck_assert_int_eq(l->close_calls, 1);
}

static uvodbc_pool_t* make_pool(uv_loop_t* loop, const char* connstr,
                                const uvodbc_pool_options_t* opts,
                                pool_log_t* log) {
  uvodbc_pool_t* pool = NULL;
  memset(log, 0, sizeof(*log));
  in_call = 1;
  ck_assert_int_eq(uvodbc_pool_create(loop, &pool, connstr, opts, on_ready),
                   0);
  in_call = 0;
  ck_assert_ptr_nonnull(pool);
  uvodbc_pool_set_data(pool, log);
  return pool;
}

/* Creates a pool and waits for its min_size connections. */
static uvodbc_pool_t* ready_pool(uv_loop_t* loop, const char* connstr,
                                 const uvodbc_pool_options_t* opts,
                                 pool_log_t* log) {
  uvodbc_pool_t* pool = make_pool(loop, connstr, opts, log);
  RUN_UNTIL(loop, log->ready_calls == 1);
  ck_assert_int_eq(log->ready_status, 0);
  return pool;
}

static void close_pool(uv_loop_t* loop, uvodbc_pool_t* pool,
                       pool_log_t* log) {
  in_call = 1;
  ck_assert_int_eq(uvodbc_pool_close(pool, on_pool_closed), 0);
  in_call = 0;
  RUN_UNTIL(loop, log->close_calls == 1);
}

static uvodbc_pool_stats_t stats_of(const uvodbc_pool_t* pool) {
  uvodbc_pool_stats_t st;
  ck_assert_int_eq(uvodbc_pool_stats(pool, &st), 0);
  return st;
}

/* Options most tests start from: the worker limit as max size. */
static void base_opts(uvodbc_pool_options_t* o) {
  uvodbc_pool_options_init(o);
  o->max_size = uvodbc_get_worker_limit() < 3 ? uvodbc_get_worker_limit() : 3;
  /* Waiters here must outlast anything the test does first, even a
   * stalled valgrind run on a loaded machine. */
  o->acquire_timeout_ms = (unsigned int)slack_ms(10000);
}

/* ---- server-side views ---- */

static int has_server(void) {
  return test_driver() != TEST_SQLITE;
}

/* Writes `in` with `key`=`value` into `out`: the key's value replaced
 * (the key matched without regard to case), or the pair appended.  Returns
 * 1 if the key was there. */
static int connstr_set(char* out, size_t size, const char* in, const char* key,
                       const char* value) {
  size_t n = strlen(key);
  const char* at = in;
  const char* end;
  while (*at != '\0' &&
         !((at == in || at[-1] == ';') && strncasecmp(at, key, n) == 0 &&
           at[n] == '='))
    at++;
  if (*at == '\0') {
    snprintf(out, size, "%s;%s=%s", in, key, value);
    return 0;
  }
  end = strchr(at, ';');
  snprintf(out, size, "%.*s%s=%s%s", (int)(at - in), in, key, value,
           end != NULL ? end : "");
  return 1;
}

/* The test's connection string, tagged so the server can count the pool's
 * connections: application_name on PostgreSQL, a database of its own on
 * MariaDB (created here).  SQLite: unchanged. */
static const char* tagged_connstr(uv_loop_t* loop, const char* tag) {
  static char out[1024];
  const char* in = test_connstr();
  if (test_driver() == TEST_PG) {
    snprintf(out, sizeof(out), "%s;pqopt={application_name=%s}", in, tag);
  } else if (test_driver() == TEST_MARIADB) {
    char sql[256];
    uvodbc_conn_t* admin = test_connect(loop);
    snprintf(sql, sizeof(sql), "CREATE DATABASE IF NOT EXISTS %s", tag);
    test_exec(loop, admin, sql);
    test_close(loop, admin);
    ck_assert_int_eq(connstr_set(out, sizeof(out), in, "Database", tag), 1);
  } else {
    snprintf(out, sizeof(out), "%s", in);
  }
  return out;
}

/* Connections the server holds for `tag` (a fresh admin connection, so it
 * works across a restart). */
static int64_t server_count(uv_loop_t* loop, const char* tag) {
  char sql[256];
  uvodbc_conn_t* admin = test_connect(loop);
  int64_t n;
  if (test_driver() == TEST_PG)
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
             "'%s'",
             tag);
  else
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM information_schema.PROCESSLIST WHERE "
             "USER = 'uvodbc' AND DB = '%s'",
             tag);
  n = test_query_int(loop, admin, sql);
  test_close(loop, admin);
  return n;
}

/* Waits (up to 10 s) until the server's count for `tag` is `expect`: a
 * backend may outlive its client's disconnect by a few milliseconds. */
static void expect_server_count(uv_loop_t* loop, const char* tag,
                                int64_t expect) {
  uint64_t t0 = uv_hrtime();
  int64_t n;
  while ((n = server_count(loop, tag)) != expect && ms_since(t0) < 10000)
    run_for(loop, 50);
  ck_assert_msg(n == expect, "server holds %lld connections for %s, expected %lld",
                (long long)n, tag, (long long)expect);
}

static int64_t backend_id(uv_loop_t* loop, uvodbc_conn_t* conn) {
  return test_query_int(loop, conn,
                        test_driver() == TEST_PG ? "SELECT pg_backend_pid()"
                                                 : "SELECT CONNECTION_ID()");
}

static int64_t backend_alive(uv_loop_t* loop, uvodbc_conn_t* admin,
                             int64_t id) {
  char sql[256];
  if (test_driver() == TEST_PG)
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM pg_stat_activity WHERE pid = %lld",
             (long long)id);
  else
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM information_schema.PROCESSLIST WHERE ID = "
             "%lld",
             (long long)id);
  return test_query_int(loop, admin, sql);
}

static const char* kill_sql(int64_t id) {
  static char sql[128];
  if (test_driver() == TEST_PG)
    snprintf(sql, sizeof(sql),
             "SELECT CASE WHEN pg_terminate_backend(%lld) THEN 1 ELSE 0 END",
             (long long)id);
  else
    snprintf(sql, sizeof(sql), "KILL %lld", (long long)id);
  return sql;
}

/* Kills backend `id` and waits until the server no longer lists it. */
static void kill_backend(uv_loop_t* loop, uvodbc_conn_t* admin, int64_t id) {
  uint64_t t0 = uv_hrtime();
  if (test_driver() == TEST_PG)
    ck_assert_int_eq(test_query_int(loop, admin, kill_sql(id)), 1);
  else
    test_exec(loop, admin, kill_sql(id));
  while (backend_alive(loop, admin, id) != 0 && ms_since(t0) < 5000)
    run_for(loop, 20);
  ck_assert_int_eq(backend_alive(loop, admin, id), 0);
}

/* ---- creation and the footprint rule ---- */

START_TEST(pool_create_invalid) {
  uv_loop_t loop;
  uvodbc_pool_t* pool = NULL;
  uvodbc_pool_options_t o;
  pool_log_t log;
  unsigned int limit = uvodbc_get_worker_limit();
  ck_assert_int_eq(uv_loop_init(&loop), 0);

  ck_assert_int_eq(uvodbc_pool_create(NULL, &pool, test_connstr(), NULL, NULL),
                   UV_EINVAL);
  ck_assert_int_eq(uvodbc_pool_create(&loop, NULL, test_connstr(), NULL, NULL),
                   UV_EINVAL);
  ck_assert_int_eq(uvodbc_pool_create(&loop, &pool, NULL, NULL, NULL),
                   UV_EINVAL);
  uvodbc_pool_options_init(&o);
  o.min_size = 2;
  o.max_size = 1;
  ck_assert_int_eq(uvodbc_pool_create(&loop, &pool, test_connstr(), &o, NULL),
                   UV_EINVAL);
  /* Footprint: more connections than uvodbc may run at once. */
  uvodbc_pool_options_init(&o);
  o.max_size = limit + 1;
  ck_assert_int_eq(uvodbc_pool_create(&loop, &pool, test_connstr(), &o, NULL),
                   UVODBC_EPOOLSIZE);
  ck_assert_ptr_null(pool);
  /* ... unless asked for. */
  o.oversubscribe = 1;
  pool = make_pool(&loop, test_connstr(), &o, &log);
  RUN_UNTIL(&loop, log.ready_calls == 1); /* min_size 0: ready at once */
  ck_assert_int_eq(log.ready_status, 0);
  ck_assert_uint_eq(stats_of(pool).size, 0);
  close_pool(&loop, pool, &log);
  /* A limit raised to every libuv thread: a pool as large could starve
   * file-system work, so it is refused too.  (Restored after: without
   * fork, later tests share the process.) */
  {
    const char* env = getenv("UV_THREADPOOL_SIZE");
    char* saved = env != NULL ? strdup(env) : NULL;
    ck_assert_int_eq(setenv("UV_THREADPOOL_SIZE", "4", 1), 0);
    ck_assert_int_eq(uvodbc_set_worker_limit(4), 0);
    uvodbc_pool_options_init(&o);
    o.max_size = 4;
    pool = NULL;
    ck_assert_int_eq(
        uvodbc_pool_create(&loop, &pool, test_connstr(), &o, NULL),
        UVODBC_EPOOLSIZE);
    o.max_size = 3;
    pool = make_pool(&loop, test_connstr(), &o, &log);
    close_pool(&loop, pool, &log);
    ck_assert_int_eq(uvodbc_set_worker_limit(limit), 0);
    if (saved != NULL)
      setenv("UV_THREADPOOL_SIZE", saved, 1);
    else
      unsetenv("UV_THREADPOOL_SIZE");
    free(saved);
  }
  /* Zeroed options: max_size within the rule. */
  pool = make_pool(&loop, test_connstr(), NULL, &log);
  ck_assert_uint_eq(stats_of(pool).size, 0);
  close_pool(&loop, pool, &log);
  ck_assert_int_eq(log.ready_calls, 1);
  ck_assert_int_eq(uvodbc_pool_stats(NULL, NULL), UV_EINVAL);
  test_loop_close(&loop);
}
END_TEST

START_TEST(pool_min_size_ready) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  uvodbc_pool_stats_t st;
  const char* tag = "uvodbc_pool_min";
  const char* connstr;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  connstr = tagged_connstr(&loop, tag);
  base_opts(&o);
  o.min_size = 2;
  o.max_connecting = 2;
  pool = ready_pool(&loop, connstr, &o, &log);
  st = stats_of(pool);
  ck_assert_uint_eq(st.size, 2);
  ck_assert_uint_eq(st.idle, 2);
  ck_assert_uint_eq(st.in_use, 0);
  ck_assert_uint_eq(st.connecting, 0);
  ck_assert_uint_eq(st.connects, 2);
  ck_assert_uint_eq(st.acquires, 0);
  if (has_server()) expect_server_count(&loop, tag, 2);
  close_pool(&loop, pool, &log);
  if (has_server()) expect_server_count(&loop, tag, 0);
  test_loop_close(&loop);
}
END_TEST

START_TEST(pool_connect_failure) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  acq_t a, q;
  uint64_t t0;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  base_opts(&o);
  o.min_size = 1;
  pool = make_pool(&loop, "DSN=uvodbc_pool_no_such_dsn", &o, &log);
  RUN_UNTIL(&loop, log.ready_calls == 1);
  ck_assert_int_eq(log.ready_status, UVODBC_ESQL);
  /* Nothing is open: acquires fail at once with the connect's error, not
   * at their timeout. */
  t0 = uv_hrtime();
  start_acquire(pool, &a);
  start_query(pool, &q, "SELECT 1");
  RUN_UNTIL(&loop, a.calls == 1 && q.calls == 1);
  ck_assert_uint_lt(ms_since(t0), slack_ms(5000));
  ck_assert_int_eq(a.status, UVODBC_ESQL);
  ck_assert_str_eq(a.state, "IM002");
  ck_assert_int_eq(q.status, UVODBC_ESQL);
  ck_assert_ptr_null(a.conn);
  ck_assert_uint_ge(stats_of(pool).connect_errors, 3);
  ck_assert_uint_eq(stats_of(pool).size, 0);
  close_pool(&loop, pool, &log);
  test_loop_close(&loop);
}
END_TEST

/* ---- acquire, release, waiting ---- */

START_TEST(pool_acquire_release_order) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  acq_t a[5];
  int i;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  base_opts(&o);
  o.max_size = 1;
  pool = make_pool(&loop, test_connstr(), &o, &log);
  for (i = 0; i < 5; i++) start_acquire(pool, &a[i]);
  ck_assert_uint_eq(stats_of(pool).waiting, 5);
  /* One connection, lent in FIFO order: each waiter gets it only after
   * the previous borrower released it. */
  for (i = 0; i < 5; i++) {
    int j;
    RUN_UNTIL(&loop, a[i].calls == 1);
    ck_assert_int_eq(a[i].status, 0);
    ck_assert_int_eq(a[i].req.type, UVODBC_REQ_ACQUIRE);
    if (i > 0) ck_assert_ptr_eq(a[i].conn, a[0].conn);
    for (j = i + 1; j < 5; j++) ck_assert_int_eq(a[j].calls, 0);
    ck_assert_int_eq(test_query_int(&loop, a[i].conn, "SELECT 7"), 7);
    ck_assert_int_eq(uvodbc_pool_release(pool, a[i].conn), 0);
  }
  for (i = 1; i < 5; i++) ck_assert_int_gt(a[i].seq, a[i - 1].seq);
  ck_assert_uint_eq(stats_of(pool).connects, 1);
  ck_assert_uint_eq(stats_of(pool).acquires, 5);
  close_pool(&loop, pool, &log);
  test_loop_close(&loop);
}
END_TEST

START_TEST(pool_growth_to_max) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  acq_t a[4];
  uvodbc_pool_stats_t st;
  int i;
  const char* tag = "uvodbc_pool_growth";
  const char* connstr;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  connstr = tagged_connstr(&loop, tag);
  base_opts(&o);
  ck_assert_uint_ge(o.max_size, 2);
  o.max_connecting = o.max_size;
  pool = make_pool(&loop, connstr, &o, &log);
  for (i = 0; i < (int)o.max_size; i++) start_acquire(pool, &a[i]);
  st = stats_of(pool);
  ck_assert_uint_eq(st.connecting, o.max_size); /* in parallel */
  for (i = 0; i < (int)o.max_size; i++) {
    RUN_UNTIL(&loop, a[i].calls == 1);
    ck_assert_int_eq(a[i].status, 0);
  }
  for (i = 1; i < (int)o.max_size; i++)
    ck_assert_ptr_ne(a[i].conn, a[i - 1].conn);
  st = stats_of(pool);
  ck_assert_uint_eq(st.size, o.max_size);
  ck_assert_uint_eq(st.in_use, o.max_size);
  ck_assert_uint_eq(st.connects, o.max_size);
  if (has_server()) expect_server_count(&loop, tag, o.max_size);
  /* At max: one more waits, and no connect starts for it. */
  start_acquire(pool, &a[3]);
  run_for(&loop, 100);
  ck_assert_int_eq(a[3].calls, 0);
  st = stats_of(pool);
  ck_assert_uint_eq(st.waiting, 1);
  ck_assert_uint_eq(st.connecting, 0);
  ck_assert_int_eq(uvodbc_pool_release(pool, a[1].conn), 0);
  RUN_UNTIL(&loop, a[3].calls == 1);
  ck_assert_int_eq(a[3].status, 0);
  ck_assert_ptr_eq(a[3].conn, a[1].conn);
  ck_assert_uint_eq(stats_of(pool).connects, o.max_size);
  ck_assert_int_eq(uvodbc_pool_release(pool, a[0].conn), 0);
  ck_assert_int_eq(uvodbc_pool_release(pool, a[3].conn), 0);
  for (i = 2; i < (int)o.max_size; i++)
    ck_assert_int_eq(uvodbc_pool_release(pool, a[i].conn), 0);
  st = stats_of(pool);
  ck_assert_uint_eq(st.idle, o.max_size);
  ck_assert_uint_eq(st.in_use, 0);
  close_pool(&loop, pool, &log);
  if (has_server()) expect_server_count(&loop, tag, 0);
  test_loop_close(&loop);
}
END_TEST

START_TEST(pool_acquire_timeout) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  acq_t a, b, c;
  uint64_t t0;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  base_opts(&o);
  o.min_size = 1; /* a's connect may take longer than the timeout */
  o.max_size = 1;
  o.acquire_timeout_ms = 300;
  pool = ready_pool(&loop, test_connstr(), &o, &log);
  start_acquire(pool, &a);
  RUN_UNTIL(&loop, a.calls == 1);
  ck_assert_int_eq(a.status, 0);
  t0 = uv_hrtime();
  start_acquire(pool, &b);
  start_query(pool, &c, "SELECT 1");
  RUN_UNTIL(&loop, b.calls == 1 && c.calls == 1);
  ck_assert_int_eq(b.status, UV_ETIMEDOUT);
  ck_assert_int_eq(c.status, UV_ETIMEDOUT);
  ck_assert_uint_ge((b.at - t0) / 1000000, 290);
  ck_assert_uint_lt((b.at - t0) / 1000000, 300 + slack_ms(1200));
  ck_assert_int_lt(b.seq, c.seq); /* same deadline order as the queue */
  ck_assert_ptr_null(b.conn);
  ck_assert_uint_eq(stats_of(pool).timeouts, 2);
  ck_assert_uint_eq(stats_of(pool).waiting, 0);
  /* The pool is fine afterwards. */
  ck_assert_int_eq(uvodbc_pool_release(pool, a.conn), 0);
  start_query(pool, &c, "SELECT 5");
  RUN_UNTIL(&loop, c.calls == 1);
  ck_assert_int_eq(c.status, 0);
  ck_assert_int_eq(c.value, 5);
  close_pool(&loop, pool, &log);
  test_loop_close(&loop);
}
END_TEST

START_TEST(pool_acquire_cancel) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  acq_t a, b, c, d;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  base_opts(&o);
  o.max_size = 1;
  pool = make_pool(&loop, test_connstr(), &o, &log);
  start_acquire(pool, &a);
  start_acquire(pool, &b);
  start_acquire(pool, &c);
  RUN_UNTIL(&loop, a.calls == 1);
  ck_assert_int_eq(a.status, 0);
  /* A waiting acquire: cancelled, called back later, never inside. */
  in_call = 1;
  ck_assert_int_eq(uvodbc_pool_cancel(pool, &b.req), 0);
  in_call = 0;
  ck_assert_int_eq(b.calls, 0);
  ck_assert_int_eq(uvodbc_pool_cancel(pool, &b.req), UV_EINVAL);
  RUN_UNTIL(&loop, b.calls == 1);
  ck_assert_int_eq(b.status, UV_ECANCELED);
  ck_assert_int_eq(uvodbc_pool_cancel(pool, &b.req), UV_EINVAL);
  ck_assert_uint_eq(stats_of(pool).waiting, 1);
  /* The next waiter gets the connection. */
  ck_assert_int_eq(uvodbc_pool_release(pool, a.conn), 0);
  RUN_UNTIL(&loop, c.calls == 1);
  ck_assert_int_eq(c.status, 0);
  ck_assert_ptr_eq(c.conn, a.conn);
  ck_assert_int_eq(uvodbc_pool_release(pool, c.conn), 0);
  /* Cancelled after a connection was assigned but before the callback:
   * the connection goes back to the pool. */
  start_acquire(pool, &d);
  ck_assert_int_eq(uvodbc_pool_cancel(pool, &d.req), 0);
  RUN_UNTIL(&loop, d.calls == 1);
  ck_assert_int_eq(d.status, UV_ECANCELED);
  ck_assert_ptr_null(d.conn);
  ck_assert_uint_eq(stats_of(pool).idle, 1);
  ck_assert_uint_eq(stats_of(pool).in_use, 0);
  /* Invalid cancels. */
  ck_assert_int_eq(uvodbc_pool_cancel(NULL, &d.req), UV_EINVAL);
  ck_assert_int_eq(uvodbc_pool_cancel(pool, NULL), UV_EINVAL);
  ck_assert_uint_eq(stats_of(pool).acquires, 2);
  close_pool(&loop, pool, &log);
  test_loop_close(&loop);
}
END_TEST

START_TEST(pool_release_invalid) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_t* other;
  uvodbc_pool_options_t o;
  pool_log_t log, log2;
  uvodbc_conn_t* conn;
  uvodbc_conn_t* plain;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  base_opts(&o);
  o.max_size = 1;
  pool = make_pool(&loop, test_connstr(), &o, &log);
  other = make_pool(&loop, test_connstr(), &o, &log2);
  plain = test_connect(&loop);
  conn = acquire_sync(&loop, pool);
  ck_assert_int_eq(uvodbc_pool_release(NULL, conn), UV_EINVAL);
  ck_assert_int_eq(uvodbc_pool_release(pool, NULL), UV_EINVAL);
  ck_assert_int_eq(uvodbc_pool_release(other, conn), UV_EINVAL);
  ck_assert_int_eq(uvodbc_pool_release(pool, plain), UV_EINVAL);
  ck_assert_int_eq(uvodbc_pool_release(pool, conn), 0);
  ck_assert_int_eq(uvodbc_pool_release(pool, conn), UV_EINVAL); /* twice */
  ck_assert_int_eq(uvodbc_pool_discard(pool, conn), UV_EINVAL);
  ck_assert_int_eq(uvodbc_pool_acquire(NULL, NULL, on_acq), UV_EINVAL);
  ck_assert_int_eq(
      uvodbc_pool_query(pool, NULL, "SELECT 1", NULL, 0, NULL, on_acq),
      UV_EINVAL);
  test_close(&loop, plain);
  close_pool(&loop, pool, &log);
  close_pool(&loop, other, &log2);
  test_loop_close(&loop);
}
END_TEST

/* ---- one-call helpers ---- */

START_TEST(pool_exec_query) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  acq_t a, b, c;
  uvodbc_req_t req;
  uvodbc_param_t p[2];
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  base_opts(&o);
  pool = make_pool(&loop, test_connstr(), &o, &log);
  start_exec(pool, &a, "DROP TABLE IF EXISTS " TEST_TABLE("pool_exec_query"));
  RUN_UNTIL(&loop, a.calls == 1);
  ck_assert_int_eq(a.status, 0);
  start_exec(pool, &a,
             "CREATE TABLE " TEST_TABLE("pool_exec_query") " (id INTEGER)");
  RUN_UNTIL(&loop, a.calls == 1);
  ck_assert_int_eq(a.status, 0);
  start_exec(pool, &a,
             "INSERT INTO " TEST_TABLE("pool_exec_query") " VALUES (1), (2), "
             "(3)");
  RUN_UNTIL(&loop, a.calls == 1);
  ck_assert_int_eq(a.status, 0);
  ck_assert_int_eq(a.rows, 3);
  ck_assert_int_eq(a.req.type, UVODBC_REQ_EXEC);
  ck_assert_ptr_null(a.conn); /* back in the pool */
  /* A query returns every row. */
  start_query(pool, &b,
              "SELECT count(*) FROM " TEST_TABLE("pool_exec_query"));
  RUN_UNTIL(&loop, b.calls == 1);
  ck_assert_int_eq(b.status, 0);
  ck_assert_int_eq(b.value, 3);
  ck_assert_int_eq(b.req.type, UVODBC_REQ_QUERY);
  /* With parameters, copied at the call. */
  memset(&c, 0, sizeof(c));
  c.req.data = &c;
  p[0] = uvodbc_param_int64(1);
  p[1] = uvodbc_param_int64(2);
  in_call = 1;
  ck_assert_int_eq(
      uvodbc_pool_query(pool, &c.req,
                        "SELECT count(*) FROM " TEST_TABLE(
                            "pool_exec_query") " WHERE id > ? AND id <= ?",
                        p, 2, NULL, on_acq),
      0);
  in_call = 0;
  p[0] = p[1] = uvodbc_param_int64(100);
  RUN_UNTIL(&loop, c.calls == 1);
  ck_assert_int_eq(c.status, 0);
  ck_assert_int_eq(c.value, 1);
  /* OUT parameters have nowhere to go. */
  p[0] = uvodbc_param_out(UVODBC_TYPE_INT64, 0);
  ck_assert_int_eq(
      uvodbc_pool_exec(pool, &req, "SELECT ?", p, 1, NULL, on_acq),
      UV_EINVAL);
  /* exec of a statement with rows: the cursor is closed for you. */
  start_exec(pool, &a, "SELECT id FROM " TEST_TABLE("pool_exec_query"));
  RUN_UNTIL(&loop, a.calls == 1);
  ck_assert_int_eq(a.status, 0);
  ck_assert_int_eq(a.has_cursor, 0);
  ck_assert_int_eq(a.rows, -1);
  /* An SQL error: reported, and the connection stays in the pool. */
  start_query(pool, &b, "SELECT * FROM " TEST_TABLE("pool_no_such_table"));
  RUN_UNTIL(&loop, b.calls == 1);
  ck_assert_int_eq(b.status, UVODBC_ESQL);
  ck_assert_int_ne(b.state[0], '\0');
  ck_assert_int_eq(b.disconnect, 0);
  ck_assert_uint_eq(stats_of(pool).evictions, 0);
  /* All of it ran on one connection, reused without resets. */
  RUN_UNTIL(&loop, stats_of(pool).in_use == 0);
  ck_assert_uint_eq(stats_of(pool).connects, 1);
  ck_assert_uint_eq(stats_of(pool).acquires, 7);
  start_exec(pool, &a, "DROP TABLE " TEST_TABLE("pool_exec_query"));
  RUN_UNTIL(&loop, a.calls == 1);
  ck_assert_int_eq(a.status, 0);
  close_pool(&loop, pool, &log);
  test_loop_close(&loop);
}
END_TEST

/* Parameters of a queued pool_query are the caller's values at the call,
 * even when the statement starts later (copied once, at the call). */
START_TEST(pool_query_params_queued) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  uvodbc_conn_t* conn;
  acq_t q;
  uvodbc_param_t p[2];
  char name[16];
  const char* t = TEST_TABLE("pool_query_params_queued");
  char sql[256];
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  base_opts(&o);
  o.max_size = 1;
  pool = make_pool(&loop, test_connstr(), &o, &log);
  conn = acquire_sync(&loop, pool);
  test_make_table(&loop, conn, t, "id INTEGER, name VARCHAR(20)");
  snprintf(sql, sizeof(sql),
           "INSERT INTO %s (id, name) VALUES (1, 'abcdef'), (2, 'zzzzzz')", t);
  ck_assert_int_eq(test_exec(&loop, conn, sql), 2);
  /* The only connection is borrowed: the query waits in the queue. */
  snprintf(name, sizeof(name), "abcdef");
  p[0] = uvodbc_param_text(name, strlen(name));
  p[1] = uvodbc_param_int64(1);
  snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE name = ? AND id = ?",
           t);
  memset(&q, 0, sizeof(q));
  q.req.data = &q;
  in_call = 1;
  ck_assert_int_eq(uvodbc_pool_query(pool, &q.req, sql, p, 2, NULL, on_acq), 0);
  in_call = 0;
  memset(name, 'z', 6); /* the caller's buffers change before it runs */
  p[1] = uvodbc_param_int64(2);
  run_for(&loop, 50);
  ck_assert_int_eq(q.calls, 0);
  ck_assert_int_eq(uvodbc_pool_release(pool, conn), 0);
  RUN_UNTIL(&loop, q.calls == 1);
  ck_assert_int_eq(q.status, 0);
  ck_assert_int_eq(q.value, 1);
  conn = acquire_sync(&loop, pool);
  test_drop_table(&loop, conn, t);
  ck_assert_int_eq(uvodbc_pool_release(pool, conn), 0);
  close_pool(&loop, pool, &log);
  test_loop_close(&loop);
}
END_TEST

/* ---- broken connections ---- */

/* A backend killed while its connection sits idle: the ping on checkout
 * finds it, the pool evicts it, and the acquire gets a new connection
 * without ever seeing an error. */
START_TEST(pool_kill_idle_validated) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  uvodbc_conn_t* admin;
  uvodbc_conn_t* conn;
  int64_t id1, id2;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  admin = test_connect(&loop);
  base_opts(&o);
  o.min_size = 1;
  o.validate_after_idle_ms = 1;
  pool = ready_pool(&loop, test_connstr(), &o, &log);
  conn = acquire_sync(&loop, pool);
  id1 = backend_id(&loop, conn);
  ck_assert_int_eq(uvodbc_pool_release(pool, conn), 0);
  kill_backend(&loop, admin, id1);
  run_for(&loop, 5);
  conn = acquire_sync(&loop, pool);
  id2 = backend_id(&loop, conn);
  ck_assert_int_ne(id1, id2);
  ck_assert_uint_eq(stats_of(pool).evictions, 1);
  ck_assert_uint_eq(stats_of(pool).connects, 2);
  ck_assert_int_eq(uvodbc_pool_release(pool, conn), 0);
  close_pool(&loop, pool, &log);
  test_close(&loop, admin);
  test_loop_close(&loop);
}
END_TEST

/* The same without validation: the borrower's query fails with a clear
 * disconnect error, the release evicts the connection, the next acquire
 * is healthy. */
START_TEST(pool_kill_idle_unvalidated) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  uvodbc_conn_t* admin;
  uvodbc_conn_t* conn;
  acq_t q;
  int64_t id1, id2;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  admin = test_connect(&loop);
  base_opts(&o);
  o.min_size = 1;
  o.validate_after_idle_ms = UINT_MAX;
  pool = ready_pool(&loop, test_connstr(), &o, &log);
  conn = acquire_sync(&loop, pool);
  id1 = backend_id(&loop, conn);
  ck_assert_int_eq(uvodbc_pool_release(pool, conn), 0);
  kill_backend(&loop, admin, id1);
  conn = acquire_sync(&loop, pool); /* handed out unchecked */
  ck_assert_int_eq(conn_query(&loop, conn, "SELECT 1", &q), UVODBC_ESQL);
  ck_assert_msg(q.disconnect, "not reported as a disconnect: %s", q.state);
  ck_assert(uvodbc_conn_is_broken(conn));
  ck_assert_int_eq(uvodbc_pool_release(pool, conn), 0);
  ck_assert_uint_eq(stats_of(pool).evictions, 1);
  conn = acquire_sync(&loop, pool);
  id2 = backend_id(&loop, conn);
  ck_assert_int_ne(id1, id2);
  ck_assert_int_eq(uvodbc_pool_release(pool, conn), 0);
  close_pool(&loop, pool, &log);
  test_close(&loop, admin);
  test_loop_close(&loop);
}
END_TEST

typedef struct {
  uv_loop_t* loop;
  uvodbc_conn_t* admin;
  int64_t id;
  acq_t kill;
} killer_t;

static void on_kill_timer(uv_timer_t* t) {
  killer_t* k = t->data;
  memset(&k->kill, 0, sizeof(k->kill));
  k->kill.req.data = &k->kill;
  ck_assert_int_eq(uvodbc_conn_query(k->admin, &k->kill.req, kill_sql(k->id),
                                     NULL, 0, NULL, on_acq),
                   0);
}

/* A backend killed while a pool_query runs on it: the caller sees a
 * disconnect error, the pool evicts the connection, the next query runs on
 * a new one. */
START_TEST(pool_kill_running) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  uvodbc_conn_t* conn;
  uv_timer_t timer;
  killer_t k;
  acq_t q;
  uint64_t t0;
  int64_t id2;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  memset(&k, 0, sizeof(k));
  k.admin = test_connect(&loop);
  base_opts(&o);
  o.max_size = 1;
  pool = make_pool(&loop, test_connstr(), &o, &log);
  conn = acquire_sync(&loop, pool);
  k.id = backend_id(&loop, conn);
  ck_assert_int_eq(uvodbc_pool_release(pool, conn), 0);
  t0 = uv_hrtime();
  start_query(pool, &q, test_sleep_sql(20));
  uv_timer_init(&loop, &timer);
  timer.data = &k;
  uv_timer_start(&timer, on_kill_timer, 300, 0);
  RUN_UNTIL(&loop, q.calls == 1 && k.kill.calls == 1);
  ck_assert_int_eq(k.kill.status, 0);
  ck_assert_uint_lt(ms_since(t0), slack_ms(10000));
  ck_assert_int_eq(q.status, UVODBC_ESQL);
  ck_assert_msg(q.disconnect, "not reported as a disconnect: %s", q.state);
  ck_assert_uint_eq(stats_of(pool).evictions, 1);
  ck_assert_uint_eq(stats_of(pool).size, 0);
  conn = acquire_sync(&loop, pool);
  id2 = backend_id(&loop, conn);
  ck_assert_int_ne(k.id, id2);
  ck_assert_int_eq(uvodbc_pool_release(pool, conn), 0);
  uv_close((uv_handle_t*)&timer, NULL);
  close_pool(&loop, pool, &log);
  test_close(&loop, k.admin);
  test_loop_close(&loop);
}
END_TEST

/* The same with a borrower's own statement (acquire + conn_exec). */
START_TEST(pool_kill_running_borrowed) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  uvodbc_conn_t* conn;
  uv_timer_t timer;
  killer_t k;
  acq_t q;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  memset(&k, 0, sizeof(k));
  k.admin = test_connect(&loop);
  base_opts(&o);
  o.max_size = 1;
  pool = make_pool(&loop, test_connstr(), &o, &log);
  conn = acquire_sync(&loop, pool);
  k.id = backend_id(&loop, conn);
  uv_timer_init(&loop, &timer);
  timer.data = &k;
  uv_timer_start(&timer, on_kill_timer, 300, 0);
  ck_assert_int_eq(conn_query(&loop, conn, test_sleep_sql(20), &q),
                   UVODBC_ESQL);
  ck_assert(q.disconnect);
  ck_assert(uvodbc_conn_is_broken(conn));
  RUN_UNTIL(&loop, k.kill.calls == 1);
  ck_assert_int_eq(uvodbc_pool_release(pool, conn), 0);
  ck_assert_uint_eq(stats_of(pool).evictions, 1);
  conn = acquire_sync(&loop, pool);
  ck_assert_int_ne(backend_id(&loop, conn), k.id);
  ck_assert_int_eq(uvodbc_pool_release(pool, conn), 0);
  uv_close((uv_handle_t*)&timer, NULL);
  close_pool(&loop, pool, &log);
  test_close(&loop, k.admin);
  test_loop_close(&loop);
}
END_TEST

static void server_ctl(const char* what) {
  const char* sh = getenv("UVODBC_TEST_SERVERS_SH");
  const char* dir = getenv("UVODBC_TEST_SERVER_DIR");
  char cmd[1024];
  ck_assert_msg(sh != NULL && dir != NULL,
                "UVODBC_TEST_SERVERS_SH / UVODBC_TEST_SERVER_DIR not set");
  snprintf(cmd, sizeof(cmd), "'%s' %s-%s '%s' >&2", sh, what,
           test_driver() == TEST_PG ? "pg" : "mariadb", dir);
  ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
}

/* The server stopped and started again: while it is down, acquires fail
 * at once with the connect's error; once it is back they succeed; the
 * server never holds more connections than the pool. */
START_TEST(pool_server_restart) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  uvodbc_conn_t* conn;
  uvodbc_pool_stats_t st;
  acq_t a, q;
  uint64_t t0;
  const char* tag = "uvodbc_pool_restart";
  char connstr[1024];
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  snprintf(connstr, sizeof(connstr), "%s", tagged_connstr(&loop, tag));
  expect_server_count(&loop, tag, 0);
  base_opts(&o);
  o.min_size = 2;
  o.validate_after_idle_ms = 1;
  o.conn.login_timeout_s = 5;
  pool = ready_pool(&loop, connstr, &o, &log);
  expect_server_count(&loop, tag, 2);

  server_ctl("stop");
  run_for(&loop, 5);
  t0 = uv_hrtime();
  start_acquire(pool, &a);
  start_query(pool, &q, "SELECT 1");
  RUN_UNTIL(&loop, a.calls == 1 && q.calls == 1);
  ck_assert_uint_lt(ms_since(t0), slack_ms(8000));
  ck_assert_int_eq(a.status, UVODBC_ESQL);
  ck_assert_int_ne(a.state[0], '\0');
  ck_assert_int_eq(q.status, UVODBC_ESQL);
  st = stats_of(pool);
  ck_assert_uint_eq(st.evictions, 2); /* both idle ones failed the ping */
  ck_assert_uint_eq(st.size, 0);
  ck_assert_uint_ge(st.connect_errors, 2);

  server_ctl("start");
  conn = acquire_sync(&loop, pool);
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 42"), 42);
  ck_assert_int_eq(uvodbc_pool_release(pool, conn), 0);
  /* min_size refills, and the server holds exactly the pool's
   * connections: nothing leaked across the restart. */
  t0 = uv_hrtime();
  while (stats_of(pool).size < 2 && ms_since(t0) < 20000) run_for(&loop, 20);
  st = stats_of(pool);
  ck_assert_uint_eq(st.size, 2);
  expect_server_count(&loop, tag, 2);
  close_pool(&loop, pool, &log);
  expect_server_count(&loop, tag, 0);
  test_loop_close(&loop);
}
END_TEST

/* ---- session state ---- */

typedef struct {
  uvodbc_req_t req;
  int calls;
  int status;
} step_t;

static void on_step(uvodbc_req_t* req, int status) {
  step_t* s = req->data;
  s->calls++;
  s->status = status;
  if (status != 0) test_print_diags(req, "step");
}

#define STEP(loop, call)                  \
  do {                                    \
    step_t st_;                           \
    memset(&st_, 0, sizeof(st_));         \
    st_.req.data = &st_;                  \
    ck_assert_int_eq((call), 0);          \
    RUN_UNTIL((loop), st_.calls == 1);    \
    ck_assert_int_eq(st_.status, 0);      \
  } while (0)

static const char* isolation_sql(void) {
  return test_driver() == TEST_PG ? "SHOW transaction_isolation"
                                  : "SELECT @@tx_isolation";
}

static char* query_text(uv_loop_t* loop, uvodbc_conn_t* conn,
                        const char* sql) {
  uvodbc_batch_t* b = test_query(loop, conn, sql, NULL, 0);
  const char* t;
  size_t len;
  char* out;
  ck_assert_int_eq(uvodbc_batch_get_text(b, 0, 0, &t, &len), 0);
  out = strndup(t, len);
  test_free_result(b);
  return out;
}

/* A borrower's transaction, autocommit and isolation do not leak to the
 * next borrower of the same connection. */
START_TEST(pool_session_state_reset) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  uvodbc_conn_t* admin;
  uvodbc_conn_t* conn;
  uvodbc_conn_t* first;
  char* iso0 = NULL;
  const char* t = TEST_TABLE("pool_session");
  char sql[256];
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  admin = test_connect(&loop);
  snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s", t);
  test_exec(&loop, admin, sql);
  snprintf(sql, sizeof(sql), "CREATE TABLE %s (id INTEGER)", t);
  test_exec(&loop, admin, sql);
  base_opts(&o);
  o.max_size = 1;
  pool = make_pool(&loop, test_connstr(), &o, &log);

  /* Borrower 1: another isolation level, an open transaction with a row,
   * released without commit. */
  first = conn = acquire_sync(&loop, pool);
  if (has_server()) {
    iso0 = query_text(&loop, conn, isolation_sql());
    STEP(&loop, uvodbc_conn_set_isolation(conn, &st_.req,
                                          UVODBC_ISOLATION_SERIALIZABLE,
                                          on_step));
    {
      char* iso1 = query_text(&loop, conn, isolation_sql());
      ck_assert_str_ne(iso0, iso1);
      free(iso1);
    }
  }
  STEP(&loop, uvodbc_conn_begin(conn, &st_.req, on_step));
  snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES (1)", t);
  test_exec(&loop, conn, sql);
  ck_assert_int_eq(uvodbc_pool_release(pool, conn), 0);

  /* Borrower 2 (the same connection): rolled back, isolation restored,
   * autocommit on again. */
  conn = acquire_sync(&loop, pool);
  ck_assert_ptr_eq(conn, first);
  snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", t);
  ck_assert_int_eq(test_query_int(&loop, conn, sql), 0);
  if (has_server()) {
    char* iso2 = query_text(&loop, conn, isolation_sql());
    ck_assert_str_eq(iso0, iso2);
    free(iso2);
  }
  snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES (2)", t);
  test_exec(&loop, conn, sql);
  ck_assert_int_eq(uvodbc_pool_release(pool, conn), 0);
  snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", t);
  ck_assert_int_eq(test_query_int(&loop, admin, sql), 1); /* committed */

  /* Borrower 3: autocommit off by hand, a row, released. */
  conn = acquire_sync(&loop, pool);
  STEP(&loop, uvodbc_conn_set_autocommit(conn, &st_.req, 0, on_step));
  snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES (3)", t);
  test_exec(&loop, conn, sql);
  ck_assert_int_eq(uvodbc_pool_release(pool, conn), 0);
  conn = acquire_sync(&loop, pool);
  snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", t);
  ck_assert_int_eq(test_query_int(&loop, conn, sql), 1);
  ck_assert_int_eq(uvodbc_pool_release(pool, conn), 0);
  ck_assert_int_eq(test_query_int(&loop, admin, sql), 1);
  ck_assert_uint_eq(stats_of(pool).connects, 1);
  ck_assert_uint_eq(stats_of(pool).evictions, 0);

  free(iso0);
  close_pool(&loop, pool, &log);
  snprintf(sql, sizeof(sql), "DROP TABLE %s", t);
  test_exec(&loop, admin, sql);
  test_close(&loop, admin);
  test_loop_close(&loop);
}
END_TEST

/* An open cursor at release: reset frees its statement; the handle still
 * closes; the next borrower is unaffected. */
START_TEST(pool_release_open_cursor) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  uvodbc_conn_t* conn;
  acq_t e, f;
  int closed = 0;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  base_opts(&o);
  o.max_size = 1;
  pool = make_pool(&loop, test_connstr(), &o, &log);
  conn = acquire_sync(&loop, pool);
  memset(&e, 0, sizeof(e));
  e.req.data = &e;
  ck_assert_int_eq(uvodbc_conn_exec(conn, &e.req,
                                    "SELECT 1 UNION ALL SELECT 2", NULL, 0,
                                    NULL, on_acq),
                   0);
  RUN_UNTIL(&loop, e.calls == 1);
  ck_assert_int_eq(e.status, 0);
  ck_assert_ptr_nonnull(e.req.cursor);
  ck_assert_int_eq(uvodbc_pool_release(pool, conn), 0);
  conn = acquire_sync(&loop, pool);
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 3"), 3);
  /* The cursor lost its statement with the reset. */
  memset(&f, 0, sizeof(f));
  f.req.data = &f;
  ck_assert_int_eq(uvodbc_cursor_fetch(e.req.cursor, &f.req, 0, on_acq),
                   UVODBC_ECLOSED);
  uvodbc_cursor_set_data(e.req.cursor, &closed);
  ck_assert_int_eq(uvodbc_cursor_close(e.req.cursor, NULL), 0);
  ck_assert_int_eq(uvodbc_pool_release(pool, conn), 0);
  ck_assert_uint_eq(stats_of(pool).connects, 1);
  close_pool(&loop, pool, &log);
  test_loop_close(&loop);
}
END_TEST

static const char* temp_table_sql(void) {
  switch (test_driver()) {
    case TEST_MARIADB:
      return "CREATE TEMPORARY TABLE t_pool_temp (id INTEGER)";
    default:
      return "CREATE TEMP TABLE t_pool_temp (id INTEGER)";
  }
}

/* What reset does not promise: a temporary table made with SQL survives
 * into the next borrower.  uvodbc_pool_discard() is the way out. */
START_TEST(pool_temp_table_not_reset) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  uvodbc_conn_t* conn;
  acq_t q;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  base_opts(&o);
  o.max_size = 1;
  pool = make_pool(&loop, test_connstr(), &o, &log);
  conn = acquire_sync(&loop, pool);
  test_exec(&loop, conn, temp_table_sql());
  test_exec(&loop, conn, "INSERT INTO t_pool_temp VALUES (7)");
  ck_assert_int_eq(uvodbc_pool_release(pool, conn), 0);
  conn = acquire_sync(&loop, pool);
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT id FROM t_pool_temp"),
                   7);
  ck_assert_int_eq(uvodbc_pool_discard(pool, conn), 0);
  ck_assert_uint_eq(stats_of(pool).size, 0);
  conn = acquire_sync(&loop, pool);
  ck_assert_int_eq(conn_query(&loop, conn, "SELECT id FROM t_pool_temp", &q),
                   UVODBC_ESQL);
  ck_assert_int_eq(uvodbc_pool_release(pool, conn), 0);
  ck_assert_uint_eq(stats_of(pool).connects, 2);
  ck_assert_uint_eq(stats_of(pool).evictions, 0);
  close_pool(&loop, pool, &log);
  test_loop_close(&loop);
}
END_TEST

/* ---- lifetime and idle timeout ---- */

/* Polls stats until `field` of the stats reaches `value`; returns the
 * milliseconds since t0 when it did. */
#define WAIT_STAT(loop, pool, field, value, t0, limit_ms)                   \
  do {                                                                     \
    while (stats_of(pool).field != (value) && ms_since(t0) < (limit_ms))   \
      run_for((loop), 5);                                                  \
    ck_assert_uint_eq(stats_of(pool).field, (value));                      \
  } while (0)

START_TEST(pool_max_lifetime) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  uvodbc_conn_t* conn;
  uint64_t t0, t, before;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  base_opts(&o);
  o.min_size = 1;
  o.max_lifetime_ms = 400;
  o.validate_after_idle_ms = UINT_MAX;
  /* The connection is born (in the pool's loop time) between `before`
   * and t0: the lower bound counts from before, the upper from t0. */
  before = uv_hrtime();
  pool = make_pool(&loop, test_connstr(), &o, &log);
  RUN_UNTIL(&loop, log.ready_calls == 1);
  t0 = uv_hrtime();
  conn = acquire_sync(&loop, pool);
  ck_assert_int_eq(uvodbc_pool_release(pool, conn), 0);
  run_for(&loop, 250);
  ck_assert_uint_eq(stats_of(pool).expired, 0);
  WAIT_STAT(&loop, pool, expired, 1, t0, 3000);
  t = ms_since(t0);
  ck_assert_msg(ms_since(before) >= 399 && t < 400 + slack_ms(300),
                "idle connection expired after %llu ms (%llu since the pool "
                "was created)",
                (unsigned long long)t, (unsigned long long)ms_since(before));
  /* Replaced, to keep min_size. */
  WAIT_STAT(&loop, pool, size, 1, t0, 5000);
  ck_assert_uint_eq(stats_of(pool).connects, 2);
  /* A borrowed connection past its lifetime closes at release. */
  conn = acquire_sync(&loop, pool);
  run_for(&loop, 450);
  ck_assert_uint_eq(stats_of(pool).expired, 1); /* not while borrowed */
  ck_assert_int_eq(uvodbc_pool_release(pool, conn), 0);
  ck_assert_uint_eq(stats_of(pool).expired, 2);
  ck_assert_uint_eq(stats_of(pool).idle, 0);
  t0 = uv_hrtime();
  WAIT_STAT(&loop, pool, size, 1, t0, 5000);
  close_pool(&loop, pool, &log);
  test_loop_close(&loop);
}
END_TEST

START_TEST(pool_idle_timeout) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  acq_t a[3];
  uint64_t t0, t;
  int i;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  base_opts(&o);
  ck_assert_uint_ge(o.max_size, 3);
  o.min_size = 1;
  o.max_connecting = 3;
  o.idle_timeout_ms = 300;
  o.validate_after_idle_ms = UINT_MAX;
  pool = ready_pool(&loop, test_connstr(), &o, &log);
  for (i = 0; i < 3; i++) start_acquire(pool, &a[i]);
  RUN_UNTIL(&loop, a[0].calls && a[1].calls && a[2].calls);
  for (i = 0; i < 3; i++) ck_assert_int_eq(a[i].status, 0);
  for (i = 0; i < 3; i++)
    ck_assert_int_eq(uvodbc_pool_release(pool, a[i].conn), 0);
  t0 = uv_hrtime();
  ck_assert_uint_eq(stats_of(pool).idle, 3);
  run_for(&loop, 150);
  ck_assert_uint_eq(stats_of(pool).size, 3);
  WAIT_STAT(&loop, pool, size, 1, t0, 3000);
  t = ms_since(t0);
  ck_assert_msg(t >= 290 && t < 300 + slack_ms(300),
                "idle connections closed after %llu ms",
                (unsigned long long)t);
  ck_assert_uint_eq(stats_of(pool).expired, 2);
  /* min_size stays. */
  run_for(&loop, 400);
  ck_assert_uint_eq(stats_of(pool).size, 1);
  ck_assert_uint_eq(stats_of(pool).connects, 3);
  close_pool(&loop, pool, &log);
  test_loop_close(&loop);
}
END_TEST

/* ---- the setup hook ---- */

typedef struct {
  int calls;
  int fail;
  int delay_ms;
  uv_timer_t timer;
  uvodbc_pool_setup_t* pending;
} hook_t;

static void on_hook_step(uvodbc_req_t* req, int status) {
  uvodbc_pool_setup_t* s = req->data;
  ck_assert_int_eq(uvodbc_pool_setup_done(s, status), 0);
}

static void on_hook_timer(uv_timer_t* t) {
  hook_t* h = t->data;
  uvodbc_pool_setup_t* s = h->pending;
  h->pending = NULL;
  int err;
  s->req.data = s;
  err = uvodbc_conn_exec(s->conn, &s->req,
                         test_driver() == TEST_MARIADB
                             ? "CREATE TEMPORARY TABLE t_pool_setup (id "
                               "INTEGER)"
                             : "CREATE TEMP TABLE t_pool_setup (id INTEGER)",
                         NULL, 0, NULL, on_hook_step);
  if (err != 0) { /* the pool closed the connection meanwhile */
    ck_assert_int_eq(err, UVODBC_ECLOSED);
    ck_assert_int_eq(uvodbc_pool_setup_done(s, err), 0);
  }
}

static void setup_hook(uvodbc_pool_setup_t* s) {
  hook_t* h = s->data;
  h->calls++;
  ck_assert_ptr_nonnull(s->pool);
  ck_assert(uvodbc_conn_is_open(s->conn));
  if (h->fail) {
    ck_assert_int_eq(uvodbc_pool_setup_done(s, UVODBC_ESQL), 0);
    return;
  }
  ck_assert_ptr_null(h->pending);
  h->pending = s;
  uv_timer_start(&h->timer, on_hook_timer, h->delay_ms, 0);
}

START_TEST(pool_setup_hook) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  uvodbc_conn_t* conn;
  hook_t h;
  acq_t a, b;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  memset(&h, 0, sizeof(h));
  uv_timer_init(&loop, &h.timer);
  h.timer.data = &h;
  h.delay_ms = 50;
  base_opts(&o);
  o.min_size = 1;
  o.max_size = 2;
  o.max_connecting = 1; /* one setup at a time: h.pending is single */
  o.setup = setup_hook;
  o.setup_data = &h;
  pool = ready_pool(&loop, test_connstr(), &o, &log);
  ck_assert_int_eq(h.calls, 1);
  /* Every connection handed out went through the hook. */
  start_acquire(pool, &a);
  start_acquire(pool, &b);
  RUN_UNTIL(&loop, a.calls == 1 && b.calls == 1);
  ck_assert_int_eq(a.status, 0);
  ck_assert_int_eq(b.status, 0);
  ck_assert_int_eq(h.calls, 2);
  ck_assert_int_eq(
      test_query_int(&loop, a.conn, "SELECT count(*) FROM t_pool_setup"), 0);
  ck_assert_int_eq(
      test_query_int(&loop, b.conn, "SELECT count(*) FROM t_pool_setup"), 0);
  ck_assert_int_eq(uvodbc_pool_release(pool, a.conn), 0);
  ck_assert_int_eq(uvodbc_pool_discard(pool, b.conn), 0);
  /* Close while a setup is under way: the pool waits for setup_done
   * (and for the borrowed connection). */
  conn = acquire_sync(&loop, pool);
  start_acquire(pool, &b); /* opens another connection */
  RUN_UNTIL(&loop, h.pending != NULL);
  ck_assert_uint_eq(stats_of(pool).connecting, 1);
  ck_assert_int_eq(uvodbc_pool_close(pool, on_pool_closed), 0);
  RUN_UNTIL(&loop, b.calls == 1);
  ck_assert_int_eq(b.status, UVODBC_ECLOSED);
  /* The hook finishes on its still valid connection, which then closes. */
  RUN_UNTIL(&loop, h.pending == NULL);
  run_for(&loop, 50);
  ck_assert_int_eq(log.close_calls, 0);
  ck_assert_int_eq(uvodbc_pool_release(pool, conn), 0);
  RUN_UNTIL(&loop, log.close_calls == 1);
  uv_close((uv_handle_t*)&h.timer, NULL);
  test_loop_close(&loop);
}
END_TEST


START_TEST(pool_setup_hook_fails) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  hook_t h;
  acq_t a;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  memset(&h, 0, sizeof(h));
  h.fail = 1;
  base_opts(&o);
  o.setup = setup_hook;
  o.setup_data = &h;
  pool = make_pool(&loop, test_connstr(), &o, &log);
  start_acquire(pool, &a);
  RUN_UNTIL(&loop, a.calls == 1);
  ck_assert_int_eq(a.status, UVODBC_ESQL);
  ck_assert_int_eq(h.calls, 1);
  ck_assert_uint_eq(stats_of(pool).connect_errors, 1);
  ck_assert_uint_eq(stats_of(pool).connects, 0);
  ck_assert_uint_eq(stats_of(pool).size, 0);
  ck_assert_int_eq(uvodbc_pool_setup_done(NULL, 0), UV_EINVAL);
  close_pool(&loop, pool, &log);
  test_loop_close(&loop);
}
END_TEST

/* ---- close and terminate ---- */

START_TEST(pool_close_waits_for_borrowers) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  acq_t a, b, c, d, e;
  const char* tag = "uvodbc_pool_close";
  const char* connstr;
  const char* t = TEST_TABLE("pool_close_lock");
  char sql[256], sqlite_connstr[1024];
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  connstr = tagged_connstr(&loop, tag);
  if (test_driver() == TEST_SQLITE) {
    /* A lock wait of 60 s (Timeout=): d outlasts any slow run. */
    connstr_set(sqlite_connstr, sizeof(sqlite_connstr), connstr, "Timeout",
                "60000");
    connstr = sqlite_connstr;
  }
  base_opts(&o);
  ck_assert_uint_ge(o.max_size, 3);
  o.max_connecting = 3;
  pool = make_pool(&loop, connstr, &o, &log);
  start_acquire(pool, &a);
  start_acquire(pool, &b);
  RUN_UNTIL(&loop, a.calls == 1 && b.calls == 1);
  ck_assert_int_eq(a.status, 0);
  ck_assert_int_eq(b.status, 0);
  /* d runs until the test lets it: its UPDATE waits for the row a locks
   * in an open transaction.  (A sleep is not enough: under valgrind a
   * CPU-bound SQLite statement can starve the loop thread until it ends.) */
  test_make_table(&loop, a.conn, t, "id INTEGER, v INTEGER");
  snprintf(sql, sizeof(sql), "INSERT INTO %s (id, v) VALUES (1, 0)", t);
  ck_assert_int_eq(test_exec(&loop, a.conn, sql), 1);
  STEP(&loop, uvodbc_conn_begin(a.conn, &st_.req, on_step));
  snprintf(sql, sizeof(sql), "UPDATE %s SET v = 1 WHERE id = 1", t);
  ck_assert_int_eq(test_exec(&loop, a.conn, sql), 1);
  snprintf(sql, sizeof(sql), "UPDATE %s SET v = 2 WHERE id = 1", t);
  start_exec(pool, &d, sql);
  RUN_UNTIL(&loop, stats_of(pool).in_use == 3); /* d holds its connection */
  start_acquire(pool, &c); /* waits: all three are busy */
  run_for(&loop, 50);
  ck_assert_int_eq(d.calls, 0);
  in_call = 1;
  ck_assert_int_eq(uvodbc_pool_close(pool, on_pool_closed), 0);
  ck_assert_int_eq(uvodbc_pool_close(pool, on_pool_closed), UV_EINVAL);
  ck_assert_int_eq(uvodbc_pool_acquire(pool, &e.req, on_acq), UVODBC_ECLOSED);
  ck_assert_int_eq(
      uvodbc_pool_query(pool, &e.req, "SELECT 1", NULL, 0, NULL, on_acq),
      UVODBC_ECLOSED);
  in_call = 0;
  RUN_UNTIL(&loop, c.calls == 1);
  ck_assert_int_eq(c.status, UVODBC_ECLOSED);
  ck_assert_int_eq(d.calls, 0);
  /* The running statement finishes normally once a commits. */
  STEP(&loop, uvodbc_conn_commit(a.conn, &st_.req, on_step));
  RUN_UNTIL(&loop, d.calls == 1);
  ck_assert_int_eq(d.status, 0);
  ck_assert_int_eq(d.rows, 1);
  run_for(&loop, 100);
  ck_assert_int_eq(log.close_calls, 0);
  if (has_server()) expect_server_count(&loop, tag, 2);
  /* Borrowers go on using their connections. */
  snprintf(sql, sizeof(sql), "SELECT v FROM %s", t);
  ck_assert_int_eq(test_query_int(&loop, a.conn, sql), 2);
  test_drop_table(&loop, a.conn, t);
  ck_assert_int_eq(uvodbc_pool_release(pool, a.conn), 0);
  run_for(&loop, 50);
  ck_assert_int_eq(log.close_calls, 0);
  ck_assert_int_eq(uvodbc_pool_release(pool, b.conn), 0);
  RUN_UNTIL(&loop, log.close_calls == 1);
  if (has_server()) expect_server_count(&loop, tag, 0);
  test_loop_close(&loop);
}
END_TEST

typedef struct {
  acq_t q;
  uvodbc_pool_t* pool;
  int release_rc;
} borrower_t;

static void on_borrower_query(uvodbc_req_t* req, int status) {
  borrower_t* w = (borrower_t*)req->data;
  uvodbc_conn_t* conn = req->conn;
  on_acq(req, status);
  /* Terminated under us: release is harmless until the terminate cb. */
  w->release_rc = uvodbc_pool_release(w->pool, conn);
}

static int close_seq;

static void on_pool_terminated(uvodbc_pool_t* pool) {
  close_seq = ++seq;
  on_pool_closed(pool);
}

START_TEST(pool_terminate) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  acq_t a, b, c, d;
  borrower_t w;
  uint64_t t0;
  const char* tag = "uvodbc_pool_terminate";
  const char* connstr;
  const char* sleep_sql;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  connstr = tagged_connstr(&loop, tag);
  sleep_sql = test_sleep_sql(test_driver() == TEST_SQLITE ? 60 : 30);
  base_opts(&o);
  ck_assert_uint_ge(o.max_size, 3);
  o.max_connecting = 3;
  pool = make_pool(&loop, connstr, &o, &log);
  start_acquire(pool, &a);
  start_acquire(pool, &b);
  start_query(pool, &d, sleep_sql); /* a pool_query that runs long */
  RUN_UNTIL(&loop, a.calls == 1 && b.calls == 1);
  RUN_UNTIL(&loop, stats_of(pool).in_use == 3); /* d holds its connection */
  /* Borrower a runs a long statement of its own; b holds its connection
   * idle; c waits. */
  memset(&w, 0, sizeof(w));
  w.pool = pool;
  w.q.req.data = &w;
  ck_assert_int_eq(uvodbc_conn_query(a.conn, &w.q.req, sleep_sql, NULL, 0,
                                     NULL, on_borrower_query),
                   0);
  start_acquire(pool, &c);
  run_for(&loop, 300);
  ck_assert_int_eq(w.q.calls + d.calls + c.calls, 0);
  t0 = uv_hrtime();
  in_call = 1;
  ck_assert_int_eq(uvodbc_pool_terminate(pool, on_pool_terminated), 0);
  ck_assert_int_eq(uvodbc_pool_terminate(pool, on_pool_terminated),
                   UV_EINVAL);
  ck_assert_int_eq(uvodbc_pool_close(pool, on_pool_closed), UV_EINVAL);
  in_call = 0;
  ck_assert_int_eq(uvodbc_pool_release(pool, b.conn), 0); /* no-op now */
  RUN_UNTIL(&loop, log.close_calls == 1);
  ck_assert_uint_lt(ms_since(t0), slack_ms(10000));
  ck_assert_int_eq(w.q.calls, 1);
  ck_assert_int_eq(w.q.status, UV_ECANCELED);
  ck_assert_int_eq(w.release_rc, 0);
  ck_assert_int_eq(d.calls, 1);
  ck_assert_int_eq(d.status, UV_ECANCELED);
  ck_assert_int_eq(c.calls, 1);
  ck_assert_int_eq(c.status, UVODBC_ECLOSED);
  ck_assert_int_gt(close_seq, w.q.seq);
  ck_assert_int_gt(close_seq, d.seq);
  ck_assert_int_gt(close_seq, c.seq);
  if (has_server()) expect_server_count(&loop, tag, 0);
  test_loop_close(&loop);
}
END_TEST

/* Terminate a pool that is closing gracefully: it stops waiting. */
START_TEST(pool_terminate_after_close) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  uvodbc_conn_t* conn;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  base_opts(&o);
  pool = make_pool(&loop, test_connstr(), &o, &log);
  conn = acquire_sync(&loop, pool);
  ck_assert_int_eq(uvodbc_pool_close(pool, on_pool_closed), 0);
  run_for(&loop, 50);
  ck_assert_int_eq(log.close_calls, 0);
  ck_assert_int_eq(uvodbc_pool_terminate(pool, NULL), 0); /* keeps the cb */
  RUN_UNTIL(&loop, log.close_calls == 1);
  (void)conn;
  test_loop_close(&loop);
}
END_TEST

/* ---- every pool call at the edges: after close, after terminate, inside
 * callbacks (documented results, never a freed handle) ---- */

/* What a probe checks the calls against. */
typedef struct {
  uvodbc_pool_t* pool;
  pool_log_t* log;
  uvodbc_conn_t* lent[2]; /* borrowed when the pool was terminated */
  uvodbc_conn_t* gone;    /* given back, closed since: no longer lent */
  int terminated;
  int closed; /* close or terminate called */
  int probes;
} probe_t;

/* Every public pool call: each must return what the header promises for a
 * closing pool, and touch nothing the pool has freed. */
static void probe_pool(probe_t* p) {
  uvodbc_req_t r;
  uvodbc_pool_stats_t st;
  size_t i;
  int was = in_call;
  memset(&r, 0, sizeof(r));
  in_call = 1; /* no callback may run inside these calls */
  ck_assert_int_eq(uvodbc_pool_acquire(p->pool, &r, on_acq), UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_pool_exec(p->pool, &r, "SELECT 1", NULL, 0, NULL,
                                    on_acq),
                   UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_pool_query(p->pool, &r, "SELECT 1", NULL, 0, NULL,
                                     on_acq),
                   UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_pool_cancel(p->pool, &r), UV_EINVAL);
  ck_assert_int_eq(uvodbc_pool_close(p->pool, on_pool_closed), UV_EINVAL);
  if (p->terminated)
    ck_assert_int_eq(uvodbc_pool_terminate(p->pool, NULL), UV_EINVAL);
  ck_assert_int_eq(uvodbc_pool_stats(p->pool, &st), 0);
  ck_assert_uint_eq(st.waiting, 0);
  ck_assert_ptr_eq(uvodbc_pool_get_data(p->pool), p->log);
  uvodbc_pool_set_data(p->pool, p->log);
  for (i = 0; i < 2; i++) {
    if (p->lent[i] == NULL) continue;
    ck_assert_int_eq(uvodbc_pool_release(p->pool, p->lent[i]), 0);
    ck_assert_int_eq(uvodbc_pool_discard(p->pool, p->lent[i]), 0);
  }
  if (p->gone != NULL) {
    ck_assert_int_eq(uvodbc_pool_release(p->pool, p->gone), UV_EINVAL);
    ck_assert_int_eq(uvodbc_pool_discard(p->pool, p->gone), UV_EINVAL);
  }
  in_call = was;
  p->probes++;
}

static probe_t* probe_of_closing; /* probed from inside the close callback */

static void probe_init(probe_t* p, uvodbc_pool_t* pool, pool_log_t* log) {
  memset(p, 0, sizeof(*p));
  p->pool = pool;
  p->log = log;
  probe_of_closing = p;
}

/* Probes once per loop iteration until the close callback. */
static void on_probe_check(uv_check_t* h) {
  probe_t* p = h->data;
  if (p->log->close_calls == 0) probe_pool(p);
}

static void on_pool_closed_probe(uvodbc_pool_t* pool) {
  probe_t* p = probe_of_closing;
  ck_assert_ptr_eq(p->pool, pool);
  on_pool_closed(pool);
  probe_pool(p);
}

static void start_probe(uv_loop_t* loop, uv_check_t* h, probe_t* p) {
  ck_assert_int_eq(uv_check_init(loop, h), 0);
  h->data = p;
  ck_assert_int_eq(uv_check_start(h, on_probe_check), 0);
}

static void stop_probe(uv_loop_t* loop, uv_check_t* h) {
  int closed = 0;
  h->data = &closed;
  uv_close((uv_handle_t*)h, on_timer_closed);
  RUN_UNTIL(loop, closed == 2);
}

/* Defect 4: release after terminate, before the terminate callback, must
 * return 0 and do nothing, also once the pool has closed the connection. */
START_TEST(pool_release_after_terminate) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  acq_t q, d;
  probe_t p;
  uv_check_t check;
  int rc;
  const char* sleep_sql =
      test_sleep_sql(test_driver() == TEST_SQLITE ? 60 : 30);
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  base_opts(&o);
  pool = make_pool(&loop, test_connstr(), &o, &log);
  probe_init(&p, pool, &log);
  p.lent[0] = acquire_sync(&loop, pool);
  p.lent[1] = acquire_sync(&loop, pool);
  /* The second borrower has a statement running: its connection closes
   * later than the idle one's.  A pool_query runs on the third. */
  memset(&q, 0, sizeof(q));
  q.req.data = &q;
  ck_assert_int_eq(uvodbc_conn_query(p.lent[1], &q.req, sleep_sql, NULL, 0,
                                     NULL, on_acq),
                   0);
  start_query(pool, &d, sleep_sql);
  RUN_UNTIL(&loop, stats_of(pool).in_use == 3);
  run_for(&loop, 100);
  start_probe(&loop, &check, &p);
  in_call = 1;
  ck_assert_int_eq(uvodbc_pool_terminate(pool, on_pool_closed_probe), 0);
  in_call = 0;
  p.terminated = 1;
  probe_pool(&p);
  /* The pool_query is being cancelled by the terminate already. */
  rc = uvodbc_pool_cancel(pool, &d.req);
  ck_assert_msg(rc == 0 || rc == UV_EINVAL || rc == UV_EBUSY,
                "pool_cancel after terminate: %s", uvodbc_err_name(rc));
  RUN_UNTIL(&loop, log.close_calls == 1);
  ck_assert_int_gt(p.probes, 3); /* the loop turned while connections closed */
  ck_assert_int_eq(q.calls, 1);
  ck_assert_int_eq(q.status, UV_ECANCELED);
  ck_assert_int_eq(d.calls, 1);
  ck_assert_int_eq(d.status, UV_ECANCELED);
  stop_probe(&loop, &check);
  test_loop_close(&loop);
}
END_TEST

/* A connection given back twice: the second call fails with UV_EINVAL,
 * also when the first closed it (discard, or a closing pool). */
START_TEST(pool_release_twice) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  uvodbc_conn_t* a;
  uvodbc_conn_t* b;
  uvodbc_conn_t* c;
  probe_t p;
  uv_check_t check;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  base_opts(&o);
  pool = make_pool(&loop, test_connstr(), &o, &log);
  a = acquire_sync(&loop, pool);
  b = acquire_sync(&loop, pool);
  c = acquire_sync(&loop, pool);
  ck_assert_int_eq(uvodbc_pool_discard(pool, a), 0);
  ck_assert_int_eq(uvodbc_pool_release(pool, a), UV_EINVAL);
  run_for(&loop, slack_ms(300)); /* its close has finished */
  ck_assert_int_eq(uvodbc_pool_release(pool, a), UV_EINVAL);
  ck_assert_int_eq(uvodbc_pool_discard(pool, a), UV_EINVAL);
  ck_assert_int_eq(uvodbc_pool_release(pool, b), 0);
  ck_assert_int_eq(uvodbc_pool_release(pool, b), UV_EINVAL);
  /* Given back with a transaction open: the second call comes while the
   * first one's reset runs. */
  b = acquire_sync(&loop, pool);
  STEP(&loop, uvodbc_conn_begin(b, &st_.req, on_step));
  ck_assert_int_eq(uvodbc_pool_release(pool, b), 0);
  ck_assert_uint_eq(stats_of(pool).idle, 0); /* resetting */
  ck_assert_int_eq(uvodbc_pool_release(pool, b), UV_EINVAL);
  ck_assert_int_eq(uvodbc_pool_discard(pool, b), UV_EINVAL);
  RUN_UNTIL(&loop, stats_of(pool).idle == 1);
  /* A closing pool closes what comes back; c still holds it open. */
  probe_init(&p, pool, &log);
  p.gone = b;
  in_call = 1;
  ck_assert_int_eq(uvodbc_pool_close(pool, on_pool_closed), 0);
  in_call = 0;
  start_probe(&loop, &check, &p);
  run_for(&loop, slack_ms(300));
  ck_assert_int_eq(log.close_calls, 0);
  ck_assert_int_gt(p.probes, 3);
  ck_assert_int_eq(uvodbc_pool_release(pool, c), 0);
  ck_assert_int_eq(uvodbc_pool_release(pool, c), UV_EINVAL);
  RUN_UNTIL(&loop, log.close_calls == 1);
  stop_probe(&loop, &check);
  test_loop_close(&loop);
}
END_TEST

/* Pool calls from inside the pool's own callbacks: an acquire callback
 * terminates the pool, a statement callback closes another, and both close
 * callbacks call everything once more. */
typedef struct {
  acq_t a;
  probe_t* probe;
  int graceful; /* close instead of terminate */
} inside_t;

static void on_acq_then_close(uvodbc_req_t* req, int status) {
  inside_t* t = req->data;
  probe_t* p = t->probe;
  uvodbc_conn_t* conn = req->conn;
  on_acq(req, status);
  if (p->closed) {
    probe_pool(p);
    return;
  }
  p->closed = 1;
  if (t->graceful) {
    ck_assert_int_eq(uvodbc_pool_close(p->pool, on_pool_closed_probe), 0);
  } else {
    ck_assert_int_eq(status, 0);
    p->lent[0] = conn;
    ck_assert_int_eq(uvodbc_pool_terminate(p->pool, on_pool_closed_probe), 0);
  }
  p->terminated = !t->graceful;
  probe_pool(p);
}

/* An acquire (sql NULL) or a pool_query whose callback closes the pool. */
static void start_inside(inside_t* t, probe_t* p, int graceful,
                         const char* sql) {
  memset(t, 0, sizeof(*t));
  t->probe = p;
  t->graceful = graceful;
  t->a.req.data = t;
  if (sql == NULL)
    ck_assert_int_eq(uvodbc_pool_acquire(p->pool, &t->a.req,
                                         on_acq_then_close),
                     0);
  else
    ck_assert_int_eq(uvodbc_pool_query(p->pool, &t->a.req, sql, NULL, 0,
                                       NULL, on_acq_then_close),
                     0);
}

START_TEST(pool_calls_in_callbacks) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  inside_t t[3];
  probe_t p;
  int i;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  base_opts(&o);
  /* Acquire callback -> terminate; later acquires fail with ECLOSED. */
  pool = make_pool(&loop, test_connstr(), &o, &log);
  probe_init(&p, pool, &log);
  for (i = 0; i < 3; i++) start_inside(&t[i], &p, 0, NULL);
  RUN_UNTIL(&loop, log.close_calls == 1);
  ck_assert_int_eq(t[0].a.status, 0);
  for (i = 0; i < 3; i++) ck_assert_int_eq(t[i].a.calls, 1);
  ck_assert_int_eq(t[1].a.status, UVODBC_ECLOSED);
  ck_assert_int_eq(t[2].a.status, UVODBC_ECLOSED);
  ck_assert_int_ge(p.probes, 4);
  /* Statement callback -> graceful close. */
  pool = make_pool(&loop, test_connstr(), &o, &log);
  probe_init(&p, pool, &log);
  for (i = 0; i < 3; i++) start_inside(&t[i], &p, 1, "SELECT 7");
  RUN_UNTIL(&loop, log.close_calls == 1);
  for (i = 0; i < 3; i++) ck_assert_int_eq(t[i].a.calls, 1);
  ck_assert_int_eq(t[0].a.status, 0);
  ck_assert_int_eq(t[0].a.value, 7);
  ck_assert_int_ge(p.probes, 4);
  /* Statement callback -> terminate, while two other statements run. */
  pool = make_pool(&loop, test_connstr(), &o, &log);
  probe_init(&p, pool, &log);
  for (i = 0; i < 3; i++)
    start_inside(&t[i], &p, 0,
                 i == 2 ? "SELECT 7"
                        : test_sleep_sql(test_driver() == TEST_SQLITE ? 60
                                                                      : 30));
  RUN_UNTIL(&loop, log.close_calls == 1);
  for (i = 0; i < 3; i++) ck_assert_int_eq(t[i].a.calls, 1);
  ck_assert_int_eq(t[2].a.status, 0);
  ck_assert_int_eq(t[0].a.status, UV_ECANCELED);
  ck_assert_int_eq(t[1].a.status, UV_ECANCELED);
  ck_assert_int_ge(p.probes, 4);
  test_loop_close(&loop);
}
END_TEST

/* Terminate from inside the setup hook: setup->conn stays valid until
 * setup_done, which then returns 0 once (UV_EINVAL the second time). */
static void setup_terminates(uvodbc_pool_setup_t* setup) {
  probe_t* p = setup->data;
  ck_assert_int_eq(uvodbc_pool_terminate(setup->pool, on_pool_closed_probe),
                   0);
  p->terminated = 1;
  probe_pool(p);
  ck_assert(!uvodbc_conn_is_broken(setup->conn));
  ck_assert_int_eq(uvodbc_pool_setup_done(setup, 0), 0);
  ck_assert_int_eq(uvodbc_pool_setup_done(setup, 0), UV_EINVAL);
}

/* Terminate hurries a graceful close that has nothing left to close (its
 * callback still to come): 0 and one close callback, as the header says.
 * It answered UV_EINVAL there (chaos, mariadb seed 5005). */
START_TEST(pool_terminate_after_close_finished) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  base_opts(&o);
  pool = ready_pool(&loop, test_connstr(), &o, &log); /* min_size 0 */
  in_call = 1;
  ck_assert_int_eq(uvodbc_pool_close(pool, NULL), 0);
  ck_assert_int_eq(uvodbc_pool_terminate(pool, on_pool_closed), 0);
  ck_assert_int_eq(uvodbc_pool_terminate(pool, on_pool_closed), UV_EINVAL);
  in_call = 0;
  RUN_UNTIL(&loop, log.close_calls == 1);
  test_loop_close(&loop);
  ck_assert_int_eq(log.close_calls, 1);
}
END_TEST

START_TEST(pool_terminate_in_setup) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  probe_t p;
  acq_t a;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  base_opts(&o);
  o.setup = setup_terminates;
  o.setup_data = &p;
  pool = make_pool(&loop, test_connstr(), &o, &log);
  probe_init(&p, pool, &log);
  start_acquire(pool, &a);
  RUN_UNTIL(&loop, log.close_calls == 1);
  ck_assert_int_eq(a.calls, 1);
  ck_assert_int_eq(a.status, UVODBC_ECLOSED);
  ck_assert_int_eq(log.ready_calls, 1); /* min_size 0: ready before */
  ck_assert_int_ge(p.probes, 2);
  test_loop_close(&loop);
}
END_TEST

/* A server that accepts TCP connections and never answers (see
 * tests/test-conn.c): connects stay in flight until the login timeout. */
static int silent_server(char* connstr, size_t size) {
  struct sockaddr_in addr;
  socklen_t len = sizeof(addr);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ck_assert_int_ge(fd, 0);
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_int_eq(bind(fd, (struct sockaddr*)&addr, sizeof(addr)), 0);
  ck_assert_int_eq(listen(fd, 8), 0); /* never accepted */
  ck_assert_int_eq(getsockname(fd, (struct sockaddr*)&addr, &len), 0);
  snprintf(connstr, size,
           "DRIVER={%s};Server=127.0.0.1;Port=%d;Database=x;Uid=nobody;"
           "Pwd=x",
           test_driver() == TEST_PG ? "PostgreSQL Unicode" : "MariaDB Unicode",
           ntohs(addr.sin_port));
  return fd;
}

/* Close and terminate while connects are in flight and acquires wait
 * (some with their timeout passed): every callback once, the close
 * callback last, nothing leaked. */
static void closing_while_connecting(int terminate) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  acq_t a[3], late[3];
  char connstr[512];
  int fd = -1, i;
  probe_t p;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  if (has_server())
    fd = silent_server(connstr, sizeof(connstr));
  else /* no server: the connects are in flight right after create */
    snprintf(connstr, sizeof(connstr), "%s", test_connstr());
  base_opts(&o);
  o.min_size = 2;
  o.max_connecting = 2;
  o.acquire_timeout_ms = has_server() ? 200 : (unsigned int)slack_ms(10000);
  o.conn.login_timeout_s = 2;
  pool = make_pool(&loop, connstr, &o, &log);
  for (i = 0; i < 3; i++) start_acquire(pool, &a[i]);
  start_query(pool, &late[0], "SELECT 1");
  if (has_server()) {
    RUN_UNTIL(&loop, a[0].calls + a[1].calls + a[2].calls == 3);
    for (i = 0; i < 3; i++) ck_assert_int_eq(a[i].status, UV_ETIMEDOUT);
    ck_assert_int_eq(late[0].calls, 1);
    ck_assert_int_eq(late[0].status, UV_ETIMEDOUT);
    ck_assert_uint_eq(stats_of(pool).connecting, 2);
    ck_assert_int_eq(log.ready_calls, 0);
  }
  start_acquire(pool, &late[1]);
  start_exec(pool, &late[2], "SELECT 1");
  probe_init(&p, pool, &log);
  in_call = 1;
  if (terminate)
    ck_assert_int_eq(uvodbc_pool_terminate(pool, on_pool_closed_probe), 0);
  else
    ck_assert_int_eq(uvodbc_pool_close(pool, on_pool_closed_probe), 0);
  in_call = 0;
  p.terminated = terminate;
  probe_pool(&p);
  /* Failed by the close, its callback still to come. */
  ck_assert_int_eq(uvodbc_pool_cancel(pool, &late[1].req), UV_EINVAL);
  RUN_UNTIL(&loop, log.close_calls == 1);
  ck_assert_int_eq(log.ready_calls, 1);
  ck_assert_int_eq(log.ready_status, UVODBC_ECLOSED);
  for (i = 0; i < 3; i++) {
    ck_assert_int_eq(a[i].calls, 1);
    ck_assert_int_eq(late[i].calls, 1);
    if (!has_server()) ck_assert_int_eq(a[i].status, UVODBC_ECLOSED);
  }
  ck_assert_int_eq(late[1].status, UVODBC_ECLOSED);
  ck_assert_int_eq(late[2].status, UVODBC_ECLOSED);
  test_loop_close(&loop);
  if (fd >= 0) close(fd);
}

START_TEST(pool_close_while_connecting) {
  closing_while_connecting(0);
}
END_TEST

START_TEST(pool_terminate_while_connecting) {
  closing_while_connecting(1);
}
END_TEST

/* A borrowed connection goes back with release or discard: closing it
 * behind the pool's back is refused, and it stays usable. */
START_TEST(pool_conn_close_refused) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  uvodbc_conn_t* conn;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  base_opts(&o);
  pool = make_pool(&loop, test_connstr(), &o, &log);
  conn = acquire_sync(&loop, pool);
  ck_assert_int_eq(uvodbc_conn_close(conn, NULL), UV_EINVAL);
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 5"), 5);
  ck_assert_int_eq(uvodbc_pool_release(pool, conn), 0);
  close_pool(&loop, pool, &log);
  test_loop_close(&loop);
}
END_TEST

/* After terminate, a borrower's connection handle stays valid until the
 * terminate callback: new operations fail with UVODBC_ECLOSED, also once
 * the pool has closed it. */
typedef struct {
  uvodbc_conn_t* conn;
  pool_log_t* log;
  int probes;
} conn_probe_t;

static void on_conn_probe(uv_check_t* h) {
  conn_probe_t* p = h->data;
  uvodbc_req_t r;
  if (p->log->close_calls > 0) return;
  memset(&r, 0, sizeof(r));
  ck_assert_int_eq(uvodbc_conn_query(p->conn, &r, "SELECT 1", NULL, 0, NULL,
                                     on_acq),
                   UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_conn_is_open(p->conn), 0);
  ck_assert_int_eq(uvodbc_conn_close(p->conn, NULL), UV_EINVAL);
  p->probes++;
}

START_TEST(pool_conn_use_after_terminate) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  conn_probe_t p;
  uv_check_t check;
  int closed = 0;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  base_opts(&o);
  pool = make_pool(&loop, test_connstr(), &o, &log);
  memset(&p, 0, sizeof(p));
  p.log = &log;
  p.conn = acquire_sync(&loop, pool);
  (void)acquire_sync(&loop, pool); /* a second one, to close later */
  ck_assert_int_eq(uv_check_init(&loop, &check), 0);
  check.data = &p;
  ck_assert_int_eq(uv_check_start(&check, on_conn_probe), 0);
  ck_assert_int_eq(uvodbc_pool_terminate(pool, on_pool_closed), 0);
  RUN_UNTIL(&loop, log.close_calls == 1);
  ck_assert_int_ge(p.probes, 2); /* also once its close had finished */
  check.data = &closed;
  uv_close((uv_handle_t*)&check, on_timer_closed);
  RUN_UNTIL(&loop, closed == 2);
  test_loop_close(&loop);
}
END_TEST

/* ---- statistics ---- */

START_TEST(pool_stats_match) {
  uv_loop_t loop;
  uvodbc_pool_t* pool;
  uvodbc_pool_options_t o;
  pool_log_t log;
  uvodbc_pool_stats_t st;
  acq_t a, b, c, d, q;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  base_opts(&o);
  o.min_size = 1;
  o.max_size = 2;
  o.acquire_timeout_ms = (unsigned int)slack_ms(300); /* b connects */
  o.validate_after_idle_ms = UINT_MAX;
  pool = ready_pool(&loop, test_connstr(), &o, &log);
  st = stats_of(pool);
  ck_assert_uint_eq(st.size, 1);
  ck_assert_uint_eq(st.idle, 1);
  ck_assert_uint_eq(st.in_use, 0);
  ck_assert_uint_eq(st.waiting, 0);
  ck_assert_uint_eq(st.connecting, 0);
  ck_assert_uint_eq(st.acquires, 0);
  ck_assert_uint_eq(st.timeouts, 0);
  ck_assert_uint_eq(st.connects, 1);
  ck_assert_uint_eq(st.connect_errors, 0);
  ck_assert_uint_eq(st.evictions, 0);
  ck_assert_uint_eq(st.expired, 0);
  ck_assert_uint_eq(st.wait_mean_us, 0);
  ck_assert_uint_eq(st.wait_max_us, 0);

  start_acquire(pool, &a);
  start_acquire(pool, &b);
  st = stats_of(pool);
  ck_assert_uint_eq(st.waiting, 1); /* a got the idle one, b connects */
  ck_assert_uint_eq(st.connecting, 1);
  ck_assert_uint_eq(st.in_use, 1);
  RUN_UNTIL(&loop, a.calls == 1 && b.calls == 1);
  st = stats_of(pool);
  ck_assert_uint_eq(st.size, 2);
  ck_assert_uint_eq(st.idle, 0);
  ck_assert_uint_eq(st.in_use, 2);
  ck_assert_uint_eq(st.acquires, 2);
  ck_assert_uint_eq(st.connects, 2);

  /* c waits about 150 ms. */
  start_acquire(pool, &c);
  ck_assert_uint_eq(stats_of(pool).waiting, 1);
  run_for(&loop, 150);
  ck_assert_int_eq(uvodbc_pool_release(pool, a.conn), 0);
  RUN_UNTIL(&loop, c.calls == 1);
  ck_assert_int_eq(c.status, 0);
  st = stats_of(pool);
  ck_assert_uint_eq(st.acquires, 3);
  ck_assert_uint_ge(st.wait_max_us, 140000);
  ck_assert_uint_lt(st.wait_max_us, slack_ms(2000) * 1000);
  ck_assert_uint_le(st.wait_mean_us, st.wait_max_us);
  ck_assert_uint_ge(st.wait_mean_us, st.wait_max_us / 3);

  /* d times out. */
  start_acquire(pool, &d);
  RUN_UNTIL(&loop, d.calls == 1);
  ck_assert_int_eq(d.status, UV_ETIMEDOUT);
  st = stats_of(pool);
  ck_assert_uint_eq(st.timeouts, 1);
  ck_assert_uint_eq(st.acquires, 3);
  ck_assert_uint_eq(st.waiting, 0);

  ck_assert_int_eq(uvodbc_pool_discard(pool, b.conn), 0);
  ck_assert_int_eq(uvodbc_pool_release(pool, c.conn), 0);
  st = stats_of(pool);
  ck_assert_uint_eq(st.size, 1);
  ck_assert_uint_eq(st.idle, 1);
  ck_assert_uint_eq(st.in_use, 0);
  ck_assert_uint_eq(st.evictions, 0);
  start_query(pool, &q, "SELECT 1");
  RUN_UNTIL(&loop, q.calls == 1);
  ck_assert_int_eq(q.status, 0);
  st = stats_of(pool);
  ck_assert_uint_eq(st.acquires, 4);
  ck_assert_uint_eq(st.connects, 2);
  ck_assert_uint_eq(st.connect_errors, 0);
  close_pool(&loop, pool, &log);
  test_loop_close(&loop);
}
END_TEST

/* ---- stress ---- */

#define STRESS_N 400

enum { K_ACQUIRE, K_QUERY, K_EXEC, K_SLEEP, K_KINDS };

typedef struct stress_s stress_t;

typedef struct {
  uvodbc_req_t req;  /* the pool request                          */
  uvodbc_req_t qreq; /* K_ACQUIRE: a statement on the connection   */
  uv_timer_t start_timer;
  uv_timer_t cancel_timer;
  stress_t* st;
  int id;
  int kind;
  int start_ms;
  int cancel_ms; /* after the start; -1: never                     */
  int started;
  int calls, status;
  int qcalls, qstatus;
  int querying;
  int closed_timers;
  char sql[128];
} client_t;

struct stress_s {
  uvodbc_pool_t* pool;
  client_t* c;
  int done;
  int ok, cancelled, timedout, cancel_calls;
  int acq_ok;
  int max_waiting;
  uint32_t rng;
  unsigned int seed;
};

static uint32_t rnd(stress_t* st) { /* xorshift32 */
  uint32_t x = st->rng;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return st->rng = x;
}

static void stress_finish(client_t* c) {
  c->st->done++;
}

static void check_status(client_t* c, int status) {
  stress_t* st = c->st;
  ck_assert_msg(status == 0 || status == UV_ECANCELED ||
                    status == UV_ETIMEDOUT,
                "seed %u client %d kind %d: %s", st->seed, c->id, c->kind,
                uvodbc_err_name(status));
  if (status == 0) st->ok++;
  if (status == UV_ECANCELED) st->cancelled++;
  if (status == UV_ETIMEDOUT) st->timedout++;
}

static void on_stress_query(uvodbc_req_t* req, int status) {
  client_t* c = req->data;
  stress_t* st = c->st;
  uvodbc_conn_t* conn = req->conn;
  ck_assert_msg(!in_call, "callback inside a starting call");
  c->qcalls++;
  ck_assert_int_eq(c->qcalls, 1);
  c->querying = 0;
  c->qstatus = status;
  ck_assert_msg(status == 0 || status == UV_ECANCELED, "seed %u client %d: %s",
                st->seed, c->id, uvodbc_err_name(status));
  if (status == 0) {
    ck_assert_int_eq(batch_int(req->batch, 0, 0), c->id);
    uvodbc_req_cleanup(req);
  }
  /* Give it back, now and then for good. */
  ck_assert_int_eq(c->id % 17 == 0 ? uvodbc_pool_discard(st->pool, conn)
                                   : uvodbc_pool_release(st->pool, conn),
                   0);
  stress_finish(c);
}

static void on_stress(uvodbc_req_t* req, int status) {
  client_t* c = req->data;
  stress_t* st = c->st;
  ck_assert_msg(!in_call, "callback inside a starting call");
  c->calls++;
  ck_assert_int_eq(c->calls, 1);
  c->status = status;
  check_status(c, status);
  if (c->kind == K_QUERY && status == 0) {
    ck_assert_int_eq(batch_int(req->batch, 0, 0), c->id);
    uvodbc_req_cleanup(req);
  }
  if (c->kind == K_SLEEP && status == 0) uvodbc_req_cleanup(req);
  if (c->kind == K_EXEC && status == 0) {
    ck_assert_ptr_null(req->cursor);
    ck_assert_ptr_null(req->batch);
  }
  if (c->kind == K_ACQUIRE && status == 0) {
    st->acq_ok++;
    c->qreq.data = c;
    c->querying = 1;
    snprintf(c->sql, sizeof(c->sql), "SELECT %d", c->id);
    ck_assert_int_eq(uvodbc_conn_query(req->conn, &c->qreq, c->sql, NULL, 0,
                                       NULL, on_stress_query),
                     0);
    return;
  }
  stress_finish(c);
}

static void on_cancel_timer(uv_timer_t* t) {
  client_t* c = t->data;
  int rc;
  c->st->cancel_calls++;
  if (c->querying)
    rc = uvodbc_req_cancel(&c->qreq);
  else
    rc = uvodbc_pool_cancel(c->st->pool, &c->req);
  ck_assert_msg(rc == 0 || rc == UV_EINVAL || rc == UV_EBUSY,
                "seed %u client %d: cancel gave %s", c->st->seed, c->id,
                uvodbc_err_name(rc));
}

static void on_start_timer(uv_timer_t* t) {
  client_t* c = t->data;
  stress_t* st = c->st;
  uvodbc_pool_stats_t ps;
  int rc;
  c->started = 1;
  c->req.data = c;
  in_call = 1;
  switch (c->kind) {
    case K_ACQUIRE:
      rc = uvodbc_pool_acquire(st->pool, &c->req, on_stress);
      break;
    case K_QUERY:
      snprintf(c->sql, sizeof(c->sql), "SELECT %d", c->id);
      rc = uvodbc_pool_query(st->pool, &c->req, c->sql, NULL, 0, NULL,
                             on_stress);
      break;
    case K_EXEC:
      snprintf(c->sql, sizeof(c->sql), "SELECT %d", c->id);
      rc = uvodbc_pool_exec(st->pool, &c->req, c->sql, NULL, 0, NULL,
                            on_stress);
      break;
    default:
      rc = uvodbc_pool_query(st->pool, &c->req, test_sleep_sql(0.05), NULL,
                             0, NULL, on_stress);
      break;
  }
  in_call = 0;
  ck_assert_int_eq(rc, 0);
  if (c->cancel_ms >= 0)
    uv_timer_start(&c->cancel_timer, on_cancel_timer, (uint64_t)c->cancel_ms,
                   0);
  ck_assert_int_eq(uvodbc_pool_stats(st->pool, &ps), 0);
  if ((int)ps.waiting > st->max_waiting) st->max_waiting = (int)ps.waiting;
}

static void on_client_timer_closed(uv_handle_t* h) {
  client_t* c = h->data;
  c->closed_timers++;
}

START_TEST(pool_stress) {
  uv_loop_t loop;
  uvodbc_pool_options_t o;
  pool_log_t log;
  stress_t st;
  uvodbc_pool_stats_t ps;
  const char* env = getenv("UVODBC_TEST_SEED");
  const char* tag = "uvodbc_pool_stress";
  const char* connstr;
  int i, kinds[K_KINDS] = {0};
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  connstr = tagged_connstr(&loop, tag);
  memset(&st, 0, sizeof(st));
  st.seed = env != NULL ? (unsigned int)strtoul(env, NULL, 10) : 20240611u;
  st.rng = st.seed != 0 ? st.seed : 1;
  base_opts(&o);
  o.min_size = 1;
  o.max_connecting = 2;
  o.acquire_timeout_ms = 600; /* below the queue's worst wait */
  o.validate_after_idle_ms = 20;
  st.pool = make_pool(&loop, connstr, &o, &log);
  st.c = calloc(STRESS_N, sizeof(*st.c));
  ck_assert_ptr_nonnull(st.c);
  for (i = 0; i < STRESS_N; i++) {
    client_t* c = &st.c[i];
    c->st = &st;
    c->id = i + 1;
    c->kind = (int)(rnd(&st) % K_KINDS);
    kinds[c->kind]++;
    c->start_ms = (int)(rnd(&st) % 400);
    c->cancel_ms = rnd(&st) % 5 == 0 ? (int)(rnd(&st) % 40) : -1;
    uv_timer_init(&loop, &c->start_timer);
    uv_timer_init(&loop, &c->cancel_timer);
    c->start_timer.data = c->cancel_timer.data = c;
    uv_timer_start(&c->start_timer, on_start_timer, (uint64_t)c->start_ms, 0);
  }
  RUN_UNTIL(&loop, st.done == STRESS_N);
  for (i = 0; i < STRESS_N; i++) {
    client_t* c = &st.c[i];
    ck_assert_int_eq(c->calls, 1);
    if (c->kind == K_ACQUIRE && c->status == 0) ck_assert_int_eq(c->qcalls, 1);
    else ck_assert_int_eq(c->qcalls, 0);
    uv_close((uv_handle_t*)&c->start_timer, on_client_timer_closed);
    uv_close((uv_handle_t*)&c->cancel_timer, on_client_timer_closed);
  }
  /* Every borrower is gone; resets and pings may still finish. */
  RUN_UNTIL(&loop, stats_of(st.pool).in_use == 0);
  ps = stats_of(st.pool);
  ck_assert_int_eq(st.ok + st.cancelled + st.timedout, STRESS_N);
  ck_assert_uint_eq(ps.waiting, 0);
  ck_assert_uint_eq(ps.in_use, 0);
  ck_assert_uint_le(ps.size, o.max_size);
  ck_assert_uint_ge(ps.acquires, (uint64_t)st.acq_ok);
  ck_assert_uint_eq(ps.timeouts, (uint64_t)st.timedout);
  ck_assert_int_gt(st.max_waiting, (int)o.max_size); /* demand > supply */
  ck_assert_int_gt(st.cancelled, 0);
  printf("pool_stress %s: seed %u, kinds %d/%d/%d/%d, ok %d, cancelled %d, "
         "timed out %d, cancels %d, max waiting %d, connects %llu, "
         "evictions %llu, wait mean %llu us max %llu us\n",
         test_driver_name(), st.seed, kinds[0], kinds[1], kinds[2], kinds[3],
         st.ok, st.cancelled, st.timedout, st.cancel_calls, st.max_waiting,
         (unsigned long long)ps.connects, (unsigned long long)ps.evictions,
         (unsigned long long)ps.wait_mean_us,
         (unsigned long long)ps.wait_max_us);
  close_pool(&loop, st.pool, &log);
  uv_run(&loop, UV_RUN_DEFAULT);
  for (i = 0; i < STRESS_N; i++) ck_assert_int_eq(st.c[i].closed_timers, 2);
  free(st.c);
  if (has_server()) expect_server_count(&loop, tag, 0);
  test_loop_close(&loop);
}
END_TEST

/* ---- the suite ---- */

Suite* pool_suite(void) {
  Suite* s = suite_create("pool");
  TCase* tc = tcase_create("pool");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, pool_create_invalid);
  tcase_add_test(tc, pool_min_size_ready);
  tcase_add_test(tc, pool_connect_failure);
  tcase_add_test(tc, pool_acquire_release_order);
  tcase_add_test(tc, pool_growth_to_max);
  tcase_add_test(tc, pool_acquire_timeout);
  tcase_add_test(tc, pool_acquire_cancel);
  tcase_add_test(tc, pool_release_invalid);
  tcase_add_test(tc, pool_exec_query);
  tcase_add_test(tc, pool_query_params_queued);
  if (test_driver() == TEST_SQLITE) {
    static const char* const server_only[] = {
        "pool_kill_idle_validated", "pool_kill_idle_unvalidated",
        "pool_kill_running", "pool_kill_running_borrowed",
        "pool_server_restart"};
    size_t i;
    for (i = 0; i < sizeof(server_only) / sizeof(server_only[0]); i++)
      test_skip(server_only[i],
                "SQLite has no server: no backend to kill or restart");
  } else {
    tcase_add_test(tc, pool_kill_idle_validated);
    tcase_add_test(tc, pool_kill_idle_unvalidated);
    tcase_add_test(tc, pool_kill_running);
    tcase_add_test(tc, pool_kill_running_borrowed);
    if (getenv("UVODBC_TEST_SERVERS_SH") == NULL ||
        getenv("UVODBC_TEST_SERVER_DIR") == NULL)
      test_skip("pool_server_restart",
                "UVODBC_TEST_SERVERS_SH / UVODBC_TEST_SERVER_DIR not set "
                "(servers not started by tests/servers.sh)");
    else
      tcase_add_test(tc, pool_server_restart);
  }
  tcase_add_test(tc, pool_session_state_reset);
  tcase_add_test(tc, pool_release_open_cursor);
  tcase_add_test(tc, pool_temp_table_not_reset);
  tcase_add_test(tc, pool_max_lifetime);
  tcase_add_test(tc, pool_idle_timeout);
  tcase_add_test(tc, pool_setup_hook);
  tcase_add_test(tc, pool_setup_hook_fails);
  tcase_add_test(tc, pool_close_waits_for_borrowers);
  tcase_add_test(tc, pool_terminate);
  tcase_add_test(tc, pool_terminate_after_close);
  tcase_add_test(tc, pool_stats_match);
  tcase_add_test(tc, pool_stress);
  suite_add_tcase(s, tc);
  /* Every pool call after close and terminate and inside callbacks. */
  tc = tcase_create("pool_edges");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, pool_release_after_terminate);
  tcase_add_test(tc, pool_release_twice);
  tcase_add_test(tc, pool_calls_in_callbacks);
  tcase_add_test(tc, pool_terminate_in_setup);
  tcase_add_test(tc, pool_terminate_after_close_finished);
  tcase_add_test(tc, pool_close_while_connecting);
  tcase_add_test(tc, pool_terminate_while_connecting);
  tcase_add_test(tc, pool_conn_close_refused);
  tcase_add_test(tc, pool_conn_use_after_terminate);
  suite_add_tcase(s, tc);
  return s;
}
