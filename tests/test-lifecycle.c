/* Library lifecycle: version, error names and messages, init/shutdown of the
 * ODBC environment, the worker limit. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "uvodbc-test.h"

/* ---- version ---- */

START_TEST(lifecycle_version) {
  char expect[32];
  unsigned int hex = ((unsigned int)UVODBC_VERSION_MAJOR << 16) |
                     ((unsigned int)UVODBC_VERSION_MINOR << 8) |
                     (unsigned int)UVODBC_VERSION_PATCH;
  snprintf(expect, sizeof(expect), "%d.%d.%d", UVODBC_VERSION_MAJOR,
           UVODBC_VERSION_MINOR, UVODBC_VERSION_PATCH);
  ck_assert_uint_eq(uvodbc_version(), hex);
  ck_assert_uint_eq(uvodbc_version(), UVODBC_VERSION_HEX);
  ck_assert_ptr_nonnull(uvodbc_version_string());
  ck_assert_str_eq(uvodbc_version_string(), expect);
  /* Static: the same pointer every time. */
  ck_assert_ptr_eq(uvodbc_version_string(), uvodbc_version_string());
}
END_TEST

/* ---- errors ---- */

static const struct {
  int code;
  const char* name;
  const char* msg;
} uvodbc_errors[] = {
#define XX(name, value, msg) {UVODBC_##name, #name, msg},
    UVODBC_ERRNO_MAP(XX)
#undef XX
};
#define NERRORS (sizeof(uvodbc_errors) / sizeof(uvodbc_errors[0]))

START_TEST(lifecycle_strerror_uvodbc) {
  size_t i, j;
  ck_assert_uint_gt(NERRORS, 0);
  for (i = 0; i < NERRORS; i++) {
    int code = uvodbc_errors[i].code;
    const char* msg = uvodbc_strerror(code);
    const char* name = uvodbc_err_name(code);
    ck_assert_ptr_nonnull(msg);
    ck_assert_ptr_nonnull(name);
    ck_assert_msg(strcmp(name, uvodbc_errors[i].name) == 0,
                  "uvodbc_err_name(%d) = %s, expected %s", code, name,
                  uvodbc_errors[i].name);
    ck_assert_msg(strcmp(msg, uvodbc_errors[i].msg) == 0,
                  "uvodbc_strerror(%d) = %s, expected %s", code, msg,
                  uvodbc_errors[i].msg);
    /* Disjoint from libuv's range (-1 .. -4095) and from each other. */
    ck_assert_int_lt(code, -4095);
    for (j = 0; j < i; j++) ck_assert_int_ne(code, uvodbc_errors[j].code);
  }
}
END_TEST

START_TEST(lifecycle_strerror_libuv) {
  static const struct {
    int code;
    const char* name;
  } uv_codes[] = {{UV_ECANCELED, "ECANCELED"}, {UV_EINVAL, "EINVAL"},
                  {UV_ENOMEM, "ENOMEM"},       {UV_ETIMEDOUT, "ETIMEDOUT"},
                  {UV_EOF, "EOF"},             {UV_EBUSY, "EBUSY"}};
  size_t i;
  for (i = 0; i < sizeof(uv_codes) / sizeof(uv_codes[0]); i++) {
    int code = uv_codes[i].code;
    ck_assert_str_eq(uvodbc_err_name(code), uv_codes[i].name);
    ck_assert_str_eq(uvodbc_err_name(code), uv_err_name(code));
    ck_assert_str_eq(uvodbc_strerror(code), uv_strerror(code));
  }
}
END_TEST

/* ---- init / shutdown ---- */

typedef struct {
  int connect_cb;
  int exec_cb;
  int close_cb;
  int status;
} life_t;

static void on_connect(uvodbc_req_t* req, int status) {
  life_t* t = req->data;
  t->connect_cb++;
  t->status = status;
  if (status != 0) test_print_diags(req, "lifecycle connect");
}

static void on_close(uvodbc_conn_t* conn) {
  life_t* t = uvodbc_conn_get_data(conn);
  t->close_cb++;
}

START_TEST(lifecycle_init_idempotent) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  ck_assert_int_eq(uvodbc_init(), 0);
  ck_assert_int_eq(uvodbc_init(), 0);
  ck_assert_int_eq(uvodbc_init(), 0);
  /* The environment made by init serves connections. */
  conn = test_connect(&loop);
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 41 + 1"), 42);
  ck_assert_int_eq(uvodbc_init(), 0); /* and stays while they run */
  test_close(&loop, conn);
  ck_assert_int_eq(uvodbc_shutdown(), 0);
  /* Shutdown without anything allocated is fine too. */
  ck_assert_int_eq(uvodbc_shutdown(), 0);
  ck_assert_int_eq(uvodbc_init(), 0);
  ck_assert_int_eq(uvodbc_shutdown(), 0);
  test_loop_close(&loop);
}
END_TEST

START_TEST(lifecycle_shutdown_busy) {
  uv_loop_t loop;
  uvodbc_req_t req;
  life_t t = {0};
  uvodbc_conn_t* conn;
  ck_assert_int_eq(uv_loop_init(&loop), 0);

  /* Busy while a connect is pending ... */
  req.data = &t;
  ck_assert_int_eq(uvodbc_connect(&loop, &req, test_connstr(), NULL,
                                  on_connect),
                   0);
  conn = req.conn;
  ck_assert_ptr_nonnull(conn);
  ck_assert_int_eq(uvodbc_shutdown(), UV_EBUSY);
  while (t.connect_cb == 0) uv_run(&loop, UV_RUN_ONCE);
  ck_assert_int_eq(t.connect_cb, 1);
  ck_assert_int_eq(t.status, 0);

  /* ... while it is open ... */
  ck_assert_int_eq(uvodbc_shutdown(), UV_EBUSY);
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 7"), 7);

  /* ... and while it closes, until its close callback ran. */
  uvodbc_conn_set_data(conn, &t);
  ck_assert_int_eq(uvodbc_conn_close(conn, on_close), 0);
  ck_assert_int_eq(uvodbc_shutdown(), UV_EBUSY);
  while (t.close_cb == 0) uv_run(&loop, UV_RUN_ONCE);
  ck_assert_int_eq(t.close_cb, 1);
  ck_assert_int_eq(uvodbc_shutdown(), 0);

  /* The environment is re-created by the next connect. */
  conn = test_connect(&loop);
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 8"), 8);
  test_close(&loop, conn);
  ck_assert_int_eq(uvodbc_shutdown(), 0);
  test_loop_close(&loop);
}
END_TEST

/* The close callback of the last connection may shut the library down. */
static void on_close_shutdown(uvodbc_conn_t* conn) {
  life_t* t = uvodbc_conn_get_data(conn);
  t->close_cb++;
  t->status = uvodbc_shutdown();
}

START_TEST(lifecycle_shutdown_in_close_cb) {
  uv_loop_t loop;
  life_t t = {0};
  uvodbc_conn_t* conn[2];
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn[0] = test_connect(&loop);
  conn[1] = test_connect(&loop);
  /* Not the last one: busy. */
  uvodbc_conn_set_data(conn[0], &t);
  ck_assert_int_eq(uvodbc_conn_close(conn[0], on_close_shutdown), 0);
  while (t.close_cb == 0) uv_run(&loop, UV_RUN_ONCE);
  ck_assert_int_eq(t.status, UV_EBUSY);
  /* The last one. */
  memset(&t, 0, sizeof(t));
  t.status = 1;
  uvodbc_conn_set_data(conn[1], &t);
  ck_assert_int_eq(uvodbc_conn_close(conn[1], on_close_shutdown), 0);
  test_loop_close(&loop);
  ck_assert_int_eq(t.close_cb, 1);
  ck_assert_int_eq(t.status, 0);
}
END_TEST

/* Shutdown also stops the cancel thread; a cancel after re-init must start
 * it again. */
static void on_cancelled(uvodbc_req_t* req, int status) {
  life_t* t = req->data;
  t->exec_cb++;
  t->status = status;
}

static void do_cancel(uv_timer_t* timer) {
  ck_assert_int_eq(uvodbc_req_cancel(timer->data), 0);
}

START_TEST(lifecycle_cancel_after_shutdown) {
  uv_loop_t loop;
  uv_timer_t timer;
  uvodbc_req_t req;
  life_t t = {0};
  uvodbc_conn_t* conn;
  int round;
  uint64_t start;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  for (round = 0; round < 2; round++) {
    memset(&t, 0, sizeof(t));
    conn = test_connect(&loop);
    req.data = &t;
    ck_assert_int_eq(uvodbc_conn_exec(conn, &req, test_sleep_sql(5), NULL, 0,
                                      NULL, on_cancelled),
                     0);
    ck_assert_int_eq(uv_timer_init(&loop, &timer), 0);
    timer.data = &req;
    ck_assert_int_eq(uv_timer_start(&timer, do_cancel, 300, 0), 0);
    start = uv_hrtime();
    while (t.exec_cb == 0) uv_run(&loop, UV_RUN_ONCE);
    ck_assert_int_eq(t.exec_cb, 1);
    ck_assert_int_eq(t.status, UV_ECANCELED);
    ck_assert_msg((uv_hrtime() - start) / 1e9 < 2.5 * test_slack(),
                  "round %d: cancel took %.2f s", round,
                  (uv_hrtime() - start) / 1e9);
    uv_close((uv_handle_t*)&timer, NULL);
    test_close(&loop, conn);
    ck_assert_int_eq(uvodbc_shutdown(), 0);
  }
  test_loop_close(&loop);
}
END_TEST

/* ---- worker limit ---- */

/* libuv's pool size as libuv 1.44 reads it: atoi() into an unsigned, 0
 * means 1, capped at 1024. */
static unsigned int pool_size(void) {
  const char* env = getenv("UV_THREADPOOL_SIZE");
  unsigned int n = env != NULL ? (unsigned int)atoi(env) : 4;
  if (n == 0) n = 1;
  if (n > 1024) n = 1024;
  return n;
}

START_TEST(lifecycle_worker_limit) {
  unsigned int def, expect = pool_size() - 1; /* 0: none of a pool of 1 */
  def = uvodbc_get_worker_limit();
  ck_assert_uint_eq(def, expect);

  ck_assert_int_eq(uvodbc_set_worker_limit(0), UV_EINVAL);
  ck_assert_uint_eq(uvodbc_get_worker_limit(), def); /* unchanged */
  ck_assert_int_eq(uvodbc_set_worker_limit(1), 0);
  ck_assert_uint_eq(uvodbc_get_worker_limit(), 1);
  ck_assert_int_eq(uvodbc_set_worker_limit(7), 0);
  ck_assert_uint_eq(uvodbc_get_worker_limit(), 7);
  ck_assert_int_eq(uvodbc_set_worker_limit(0), UV_EINVAL);
  ck_assert_uint_eq(uvodbc_get_worker_limit(), 7);
  ck_assert_int_eq(uvodbc_set_worker_limit(def), 0);
  ck_assert_uint_eq(uvodbc_get_worker_limit(), def);
}
END_TEST

/* The default follows the pool libuv really starts: UV_THREADPOOL_SIZE=0
 * (or junk) is one thread, so the default limit is 0 (uvodbc refuses to
 * take the only thread), not 3.  The default is computed once per
 * process: forked runs only. */
START_TEST(lifecycle_worker_limit_env) {
  static const struct {
    const char* env;
    unsigned int pool, limit;
  } cases[] = {{"0", 1, 0},    {"1", 1, 0},       {"junk", 1, 0},
               {"2", 2, 1},    {"9", 9, 8},       {"-3", 1024, 1023},
               {"5000", 1024, 1023}};
  int i = _i; /* one forked run per case: the default is read once */
  ck_assert_int_eq(setenv("UV_THREADPOOL_SIZE", cases[i].env, 1), 0);
  ck_assert_uint_eq(pool_size(), cases[i].pool);
  ck_assert_msg(uvodbc_get_worker_limit() == cases[i].limit,
                "UV_THREADPOOL_SIZE=%s: limit %u, expected %u", cases[i].env,
                uvodbc_get_worker_limit(), cases[i].limit);
}
END_TEST

/* With a limit of 1, slow statements on two connections run one after the
 * other; with 2 they overlap.  The statements sleep: pg_sleep, SLEEP, and
 * on SQLite a writer waiting out its busy timeout on a private file whose
 * write lock a third connection holds (SQLite's CPU-bound busy loop cannot
 * show overlap on two shared cores). */
typedef struct {
  int n;
  uint64_t done_at[2];
  int status[2];
} two_t;

static void on_slow(uvodbc_req_t* req, int status) {
  two_t* t = uvodbc_conn_get_data(req->conn);
  int i = (int)(intptr_t)req->data;
  ck_assert_int_eq(t->status[i], 1); /* not yet delivered */
  t->status[i] = status;
  t->done_at[i] = uv_hrtime();
  t->n++;
  if (req->cursor != NULL) /* pg_sleep / SLEEP return a row */
    ck_assert_int_eq(uvodbc_cursor_close(req->cursor, NULL), 0);
}

/* Returns how much later than the first the second statement ended, as a
 * ratio of their durations: about 1 when they overlap, 2 when serial. */
static double run_two(uv_loop_t* loop, uvodbc_conn_t* c[2], const char* sql,
                      int expect) {
  uvodbc_req_t req[2];
  two_t t;
  uint64_t start = uv_hrtime(), first, last;
  int i;
  memset(&t, 0, sizeof(t));
  for (i = 0; i < 2; i++) {
    t.status[i] = 1;
    uvodbc_conn_set_data(c[i], &t);
    req[i].data = (void*)(intptr_t)i;
    ck_assert_int_eq(uvodbc_conn_exec(c[i], &req[i], sql, NULL, 0, NULL,
                                      on_slow),
                     0);
  }
  while (t.n < 2) uv_run(loop, UV_RUN_ONCE);
  ck_assert_int_eq(t.n, 2);
  for (i = 0; i < 2; i++) ck_assert_int_eq(t.status[i], expect);
  first = t.done_at[0] < t.done_at[1] ? t.done_at[0] : t.done_at[1];
  last = t.done_at[0] < t.done_at[1] ? t.done_at[1] : t.done_at[0];
  ck_assert_msg(first - start >= 400000000ull, "statement took only %.2f s",
                (first - start) / 1e9);
  return (double)(last - start) / (double)(first - start);
}

static void on_connect_to(uvodbc_req_t* req, int status) {
  life_t* t = req->data;
  t->connect_cb++;
  t->status = status;
}

static uvodbc_conn_t* connect_to(uv_loop_t* loop, const char* connstr) {
  uvodbc_req_t req;
  life_t t = {0};
  req.data = &t;
  ck_assert_int_eq(uvodbc_connect(loop, &req, connstr, NULL, on_connect_to),
                   0);
  while (t.connect_cb == 0) uv_run(loop, UV_RUN_ONCE);
  ck_assert_int_eq(t.status, 0);
  return req.conn;
}

START_TEST(lifecycle_worker_limit_one) {
  uv_loop_t loop;
  uvodbc_conn_t* c[3] = {NULL, NULL, NULL};
  unsigned int def = uvodbc_get_worker_limit();
  char* connstr = NULL;
  const char* sql;
  double serial, parallel;
  int i, expect = 0;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  if (test_driver() == TEST_SQLITE) {
    connstr = test_sqlite_file_connstr("lifecycle_limit.db", 600);
    for (i = 0; i < 3; i++) c[i] = connect_to(&loop, connstr);
    test_exec(&loop, c[2], "DROP TABLE IF EXISTS lifecycle_limit_t");
    test_exec(&loop, c[2], "CREATE TABLE lifecycle_limit_t (a INT)");
    test_exec(&loop, c[2], "BEGIN IMMEDIATE TRANSACTION");
    sql = "INSERT INTO lifecycle_limit_t VALUES (1)";
    expect = UVODBC_ESQL; /* database is locked */
  } else {
    c[0] = test_connect(&loop);
    c[1] = test_connect(&loop);
    sql = test_sleep_sql(0.5);
  }
  ck_assert_int_eq(uvodbc_set_worker_limit(1), 0);
  serial = run_two(&loop, c, sql, expect);
  ck_assert_int_eq(uvodbc_set_worker_limit(2), 0);
  parallel = run_two(&loop, c, sql, expect);
  ck_assert_int_eq(uvodbc_set_worker_limit(def), 0);
  ck_assert_msg(serial >= 1.7, "limit 1: the second ended at %.2fx the first",
                serial);
  ck_assert_msg(parallel < 1.4, "limit 2: the second ended at %.2fx the first",
                parallel);
  if (c[2] != NULL) {
    test_exec(&loop, c[2], "ROLLBACK");
    test_exec(&loop, c[2], "DROP TABLE lifecycle_limit_t");
    test_close(&loop, c[2]);
  }
  test_close(&loop, c[0]);
  test_close(&loop, c[1]);
  free(connstr);
  test_loop_close(&loop);
}
END_TEST

static void on_done_count(uvodbc_req_t* req, int status) {
  int* done = req->data;
  ck_assert_int_eq(status, 0);
  if (req->cursor != NULL)
    ck_assert_int_eq(uvodbc_cursor_close(req->cursor, NULL), 0);
  (*done)++;
}

/* A raised limit starts what waits for a thread at once, not when some
 * running statement ends. */
START_TEST(lifecycle_worker_limit_raise) {
  uv_loop_t loop;
  uvodbc_conn_t* c[2];
  uvodbc_req_t slow, quick;
  unsigned int def = uvodbc_get_worker_limit();
  int slow_done = 0, quick_done = 0;
  uint64_t t0;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  c[0] = test_connect(&loop);
  c[1] = test_connect(&loop);
  ck_assert_int_eq(uvodbc_set_worker_limit(1), 0);
  slow.data = &slow_done;
  quick.data = &quick_done;
  ck_assert_int_eq(uvodbc_conn_exec(c[0], &slow, test_sleep_sql(3), NULL, 0,
                                    NULL, on_done_count),
                   0);
  ck_assert_int_eq(uvodbc_conn_exec(c[1], &quick, "SELECT 1", NULL, 0, NULL,
                                    on_done_count),
                   0);
  t0 = uv_hrtime();
  while (uv_hrtime() - t0 < 300000000ull) uv_run(&loop, UV_RUN_NOWAIT);
  ck_assert_int_eq(quick_done, 0); /* it waits for the only thread */
  ck_assert_int_eq(uvodbc_set_worker_limit(2), 0);
  while (quick_done == 0) uv_run(&loop, UV_RUN_ONCE);
  ck_assert_msg(slow_done == 0, "the waiting statement ran only after the "
                                "running one ended");
  while (slow_done == 0) uv_run(&loop, UV_RUN_ONCE);
  ck_assert_int_eq(uvodbc_set_worker_limit(def), 0);
  test_close(&loop, c[0]);
  test_close(&loop, c[1]);
  test_loop_close(&loop);
}
END_TEST

/* UV_THREADPOOL_SIZE=1 (issue 9 part 5): libuv reads it once, when its
 * pool starts, so the checks run in a fresh process, the helper
 * tests/threadpool-one.c, with the variable set before it starts. */
START_TEST(lifecycle_threadpool_one) {
  pid_t pid;
  int status;
  char sleep_sql[256];
  snprintf(sleep_sql, sizeof(sleep_sql), "%s",
           test_sleep_sql_elsewhere(1.0));
  fflush(NULL);
  pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    char* argv[] = {(char*)UVODBC_TEST_THREADPOOL_ONE, (char*)test_connstr(),
                    sleep_sql, NULL};
    setenv("UV_THREADPOOL_SIZE", "1", 1);
    execv(argv[0], argv);
    perror("execv " UVODBC_TEST_THREADPOOL_ONE);
    _exit(127);
  }
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "threadpool-one helper failed (status 0x%x); its stderr "
                "says why",
                status);
}
END_TEST

Suite* lifecycle_suite(void) {
  Suite* s = suite_create("lifecycle");
  TCase* tc = tcase_create("lifecycle");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, lifecycle_version);
  tcase_add_test(tc, lifecycle_strerror_uvodbc);
  tcase_add_test(tc, lifecycle_strerror_libuv);
  tcase_add_test(tc, lifecycle_init_idempotent);
  tcase_add_test(tc, lifecycle_shutdown_busy);
  tcase_add_test(tc, lifecycle_shutdown_in_close_cb);
  tcase_add_test(tc, lifecycle_cancel_after_shutdown);
  tcase_add_test(tc, lifecycle_worker_limit);
  if (getenv("CK_FORK") != NULL && strcmp(getenv("CK_FORK"), "no") == 0)
    test_skip("lifecycle_worker_limit_env",
              "the default limit is read once per process (needs CK_FORK)");
  else
    tcase_add_loop_test(tc, lifecycle_worker_limit_env, 0, 7);
  tcase_add_test(tc, lifecycle_worker_limit_one);
  tcase_add_test(tc, lifecycle_worker_limit_raise);
  tcase_add_test(tc, lifecycle_threadpool_one);
  suite_add_tcase(s, tc);
  return s;
}
