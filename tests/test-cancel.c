/* Cancel (lib/odbc-cancel.c): a cancel stuck on a frozen server never
 * delays the cancel of another statement; attempts and threads against a
 * frozen server are bounded; a long statement is cancelled promptly and
 * its connection serves the next one; cancels racing the end of short
 * statements never touch a later statement and never hang.
 *
 * The frozen-server tests freeze this run's server with tests/servers.sh
 * (UVODBC_TEST_SERVERS_SH, UVODBC_TEST_SERVER_DIR) and thaw it in their
 * teardown.  Their second connection is SQLite on a private in-memory
 * database. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "odbc.h"
#include "uvodbc-test.h"

/* Wakes uv_run(UV_RUN_ONCE) every 20 ms, so waits end at their bound. */
static uv_timer_t ticker;

static void on_tick(uv_timer_t* t) {
  (void)t;
}

static void run_for(uv_loop_t* loop, uint64_t ms) {
  uint64_t t0 = uv_hrtime();
  while (test_ms_since(t0) < ms) uv_run(loop, UV_RUN_ONCE);
}

static void start(uv_loop_t* loop) {
  ck_assert_int_eq(uv_loop_init(loop), 0);
  ck_assert_int_eq(uv_timer_init(loop, &ticker), 0);
  ck_assert_int_eq(uv_timer_start(&ticker, on_tick, 20, 20), 0);
}

static void finish(uv_loop_t* loop) {
  uv_close((uv_handle_t*)&ticker, NULL);
  test_loop_close(loop);
}

/* ---- the server ---- */


static void thaw(void) {
  if (test_servers_sh("thaw") != 0) fprintf(stderr, "cancel: cannot thaw\n");
}

/* The loop's clock is refreshed after the blocking script: a timeout
 * counts from the loop's cached time. */
static void freeze(uv_loop_t* loop) {
  ck_assert_msg(test_servers_sh("freeze") == 0, "tests/servers.sh freeze failed");
  uv_update_time(loop);
}

/* ---- requests ---- */

typedef struct {
  uvodbc_req_t req;
  int calls;
  int status;
  int64_t value;
  uint64_t at; /* uv_hrtime() of the callback */
} op_t;

static void op_init(op_t* o) {
  memset(o, 0, sizeof(*o));
  o->req.data = o;
}

static void on_op(uvodbc_req_t* req, int status) {
  op_t* o = req->data;
  o->calls++;
  o->status = status;
  o->at = uv_hrtime();
  if (status == 0 && req->batch != NULL && uvodbc_batch_nrows(req->batch) > 0)
    uvodbc_batch_get_int64(req->batch, 0, 0, &o->value);
  uvodbc_req_cleanup(req);
}

static void query(uvodbc_conn_t* conn, op_t* o, const char* sql,
                  unsigned int timeout_ms) {
  uvodbc_exec_options_t opts;
  uvodbc_exec_options_init(&opts);
  opts.timeout_ms = timeout_ms;
  op_init(o);
  ck_assert_int_eq(uvodbc_conn_query(conn, &o->req, sql, NULL, 0, &opts,
                                     on_op),
                   0);
}

/* A connection whose stuck statement the deadline (tests/test-deadline.c)
 * does not abandon before the thaw: these tests watch the cancel alone. */
static uvodbc_conn_t* connect_patient(uv_loop_t* loop) {
  uvodbc_conn_options_t opts;
  uvodbc_conn_options_init(&opts);
  opts.deadline_grace_ms = 600000;
  return test_connect_with(loop, test_connstr(), &opts);
}

static const char* sqlite_slow_sql =
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
    "WHERE x < 100000000) SELECT max(x) FROM c";

/* ---- a cancel stuck on a frozen server ---- */

/* The server is frozen with a timed-out statement on it, whose cancel
 * cannot finish before the thaw.  A SQLite statement's 500 ms timeout
 * must still come within 500 ms and some slack. */
START_TEST(cancel_frozen_other_conn) {
  uv_loop_t loop;
  uvodbc_conn_t* frozen;
  uvodbc_conn_t* lite;
  op_t stuck, slow;
  uint64_t t0, took;
  start(&loop);
  frozen = connect_patient(&loop);
  lite = test_connect_to(&loop, "DRIVER={SQLite3};Database=:memory:");
  freeze(&loop);
  query(frozen, &stuck, "SELECT 1", 100);
  run_for(&loop, 600); /* its timeout fired: a cancel is under way */
  ck_assert_msg(stuck.calls == 0, "frozen: %s", uvodbc_err_name(stuck.status));
  t0 = uv_hrtime();
  query(lite, &slow, sqlite_slow_sql, 500);
  TEST_RUN_UNTIL(&loop, slow.calls > 0, 6000);
  took = (slow.at - t0) / 1000000;
  ck_assert_msg(slow.status == UV_ETIMEDOUT, "SQLite: %s",
                uvodbc_err_name(slow.status));
  ck_assert_msg(took < 500 + test_slack_ms(1000), "SQLite's timeout took %u ms",
                (unsigned)took);
  ck_assert_int_eq(stuck.calls, 0); /* the server is still frozen */
  thaw();
  uv_update_time(&loop);
  TEST_RUN_UNTIL(&loop, stuck.calls > 0, 20000);
  ck_assert_msg(stuck.status == UV_ETIMEDOUT, "frozen: %s",
                uvodbc_err_name(stuck.status));
  printf("cancel/%s: SQLite timeout after %u ms with the server frozen\n",
         test_driver_name(), (unsigned)took);
  test_close(&loop, lite);
  test_close(&loop, frozen);
  finish(&loop);
}
END_TEST

/* Against a frozen server the first attempt hangs (psqlODBC: until the
 * thaw) or fails (MariaDB: the kill connection's 2 s connect timeout), and
 * no other follows while frozen (the old code retried every 50 ms for as
 * long as the statement ran); at most 6 in all, none after the statement
 * ended. */
START_TEST(cancel_retries_bounded) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  op_t stuck, after;
  unsigned long calls0, calls;
  start(&loop);
  conn = connect_patient(&loop);
  calls0 = uvodbc__cancel_calls();
  freeze(&loop);
  query(conn, &stuck, "SELECT 1", 100);
  if (test_driver() == TEST_MARIADB) {
    /* The kill connection times out after 2 s: no retry after that. */
    TEST_RUN_UNTIL(&loop, uvodbc__cancel_threads() == 0 &&
                         uvodbc__cancel_calls() - calls0 >= 1,
              10000);
    run_for(&loop, 3000);
    ck_assert_uint_eq(uvodbc__cancel_calls() - calls0, 1);
  } else {
    run_for(&loop, 2000); /* the first attempt hangs until the thaw */
    ck_assert_uint_eq(uvodbc__cancel_calls() - calls0, 1);
    ck_assert_uint_eq(uvodbc__cancel_threads(), 1);
  }
  ck_assert_int_eq(stuck.calls, 0);
  thaw();
  uv_update_time(&loop);
  TEST_RUN_UNTIL(&loop, stuck.calls > 0, 20000);
  ck_assert_msg(stuck.status == UV_ETIMEDOUT, "%s",
                uvodbc_err_name(stuck.status));
  TEST_RUN_UNTIL(&loop, uvodbc__cancel_threads() == 0, 5000);
  calls = uvodbc__cancel_calls() - calls0;
  ck_assert_msg(calls >= 1 && calls <= 6, "%lu cancel calls", calls);
  /* The connection serves the next statement. */
  query(conn, &after, "SELECT 42", 0);
  TEST_RUN_UNTIL(&loop, after.calls > 0, 10000);
  ck_assert_int_eq(after.status, 0);
  ck_assert_int_eq(after.value, 42);
  ck_assert_uint_eq(uvodbc__cancel_calls() - calls0, calls);
  test_close(&loop, conn);
  finish(&loop);
}
END_TEST

/* 20 connections time out against the frozen server at once: cancel
 * threads exist only for statements executing, so never more than the
 * worker limit, each stuck in (or retrying) its first attempts. */
START_TEST(cancel_threads_bounded) {
  enum { N = 20 };
  uv_loop_t loop;
  uvodbc_conn_t* conns[N];
  op_t q[N];
  unsigned int limit = uvodbc_get_worker_limit(), most = 0;
  uint64_t t0;
  int i, done = 0;
  start(&loop);
  for (i = 0; i < N; i++) conns[i] = connect_patient(&loop);
  freeze(&loop);
  for (i = 0; i < N; i++) query(conns[i], &q[i], "SELECT 1", 100);
  t0 = uv_hrtime();
  while (test_ms_since(t0) < 3000) {
    unsigned int n = uvodbc__cancel_threads();
    if (n > most) most = n;
    uv_run(&loop, UV_RUN_ONCE);
  }
  ck_assert_msg(most >= 1 && most <= limit, "%u cancel threads, limit %u",
                most, limit);
  thaw();
  uv_update_time(&loop);
  for (i = 0; i < N; i++) {
    TEST_RUN_UNTIL(&loop, q[i].calls > 0, 20000);
    ck_assert_msg(q[i].status == UV_ETIMEDOUT, "%d: %s", i,
                  uvodbc_err_name(q[i].status));
    done++;
  }
  ck_assert_int_eq(done, N);
  printf("cancel/%s: at most %u cancel threads for %d timeouts (limit %u)\n",
         test_driver_name(), most, N, limit);
  for (i = 0; i < N; i++) test_close(&loop, conns[i]);
  finish(&loop);
}
END_TEST

/* ---- every driver ---- */

/* A 5 s statement times out after 300 ms, or is cancelled, and its
 * callback comes promptly; the connection serves the next statement. */
START_TEST(cancel_long_query) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  op_t q, next;
  uint64_t t0, took;
  start(&loop);
  conn = test_connect(&loop);
  t0 = uv_hrtime();
  query(conn, &q, test_sleep_sql(5), 300);
  TEST_RUN_UNTIL(&loop, q.calls > 0, 4000);
  took = (q.at - t0) / 1000000;
  ck_assert_msg(q.status == UV_ETIMEDOUT, "%s", uvodbc_err_name(q.status));
  ck_assert_msg(took < 300 + test_slack_ms(1500), "took %u ms", (unsigned)took);
  query(conn, &next, "SELECT 42", 0);
  TEST_RUN_UNTIL(&loop, next.calls > 0, 10000);
  ck_assert_int_eq(next.status, 0);
  ck_assert_int_eq(next.value, 42);
  /* The same by uvodbc_req_cancel, 300 ms in. */
  query(conn, &q, test_sleep_sql(5), 0);
  run_for(&loop, 300);
  t0 = uv_hrtime();
  ck_assert_int_eq(uvodbc_req_cancel(&q.req), 0);
  TEST_RUN_UNTIL(&loop, q.calls > 0, 4000);
  took = (q.at - t0) / 1000000;
  ck_assert_msg(q.status == UV_ECANCELED, "%s", uvodbc_err_name(q.status));
  ck_assert_msg(took < test_slack_ms(1500), "took %u ms", (unsigned)took);
  query(conn, &next, "SELECT 43", 0);
  TEST_RUN_UNTIL(&loop, next.calls > 0, 10000);
  ck_assert_int_eq(next.status, 0);
  ck_assert_int_eq(next.value, 43);
  test_close(&loop, conn);
  finish(&loop);
}
END_TEST

/* Runs until statement `q` and the plain "SELECT 1000 + i" queued behind
 * it both called back.  q ended normally or with `stopped` (returns 1);
 * the next statement always succeeds, with its own value. */
static int ended_or(uv_loop_t* loop, op_t* q, op_t* next, int i,
                    int stopped) {
  TEST_RUN_UNTIL(loop, q->calls > 0 && next->calls > 0, 10000);
  ck_assert_msg(q->status == 0 || q->status == stopped, "%d: %s", i,
                uvodbc_err_name(q->status));
  ck_assert_msg(next->status == 0, "%d: the next statement: %s", i,
                uvodbc_err_name(next->status));
  ck_assert_int_eq(next->value, 1000 + i);
  return q->status == stopped;
}

/* 200 short statements, each with a timeout of about its own length, so
 * the cancel lands before, during or just after it; each is followed by a
 * statement without a timeout, which must never be cancelled (MariaDB: a
 * late KILL QUERY would kill it). */
START_TEST(cancel_race_end) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  int i, timed_out = 0;
  char sql[64];
  start(&loop);
  /* Patient: a cancel slowed past the deadline's grace by a loaded machine
   * broke the connection (CI16, ASan mariadb: ENOTCONN at 30), and the
   * deadline is tests/test-deadline.c's subject, not this one's. */
  conn = connect_patient(&loop);
  srand(9);
  for (i = 0; i < 200; i++) {
    op_t q, next;
    query(conn, &q, test_sleep_sql(0.002), 1 + (unsigned)(rand() % 4));
    snprintf(sql, sizeof(sql), "SELECT %d", 1000 + i);
    query(conn, &next, sql, 0);
    timed_out += ended_or(&loop, &q, &next, i, UV_ETIMEDOUT);
  }
  printf("cancel/%s: %d of 200 timed out\n", test_driver_name(), timed_out);
  test_close(&loop, conn);
  TEST_RUN_UNTIL(&loop, uvodbc__cancel_threads() == 0, 5000);
  finish(&loop);
}
END_TEST

/* 300 statements of a few ms, each cancelled at a random point: before,
 * during or after its execution (the loop thread spins 0-3 ms after the
 * submission, then cancels).  SQLite's SQLCancel freed the running
 * statement under its worker (TSan); its cancel is now sqlite3_interrupt
 * alone.  The connection serves the next statement every time. */
static void spin_us(uint64_t us) {
  uint64_t until = uv_hrtime() + us * 1000;
  while (uv_hrtime() < until) {
  }
}

START_TEST(cancel_random_points) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  int i, cancelled = 0;
  unsigned long calls0 = uvodbc__cancel_calls();
  const char* env_seed = getenv("UVODBC_TEST_SEED");
  unsigned int seed = env_seed != NULL ? (unsigned int)strtoul(env_seed, NULL, 10)
                                        : (unsigned int)time(NULL);
  char sql[64];
  char work[4096], wide[2048] = "1 AS column_0";
  uvodbc_param_t params[40];
  size_t j;
  for (i = 1; i < 100; i++)
    snprintf(wide + strlen(wide), sizeof(wide) - strlen(wide),
             ", %d AS column_%d", i, i);
  for (j = 0; j < sizeof(params) / sizeof(params[0]); j++)
    params[j] = uvodbc_param_text(wide, strlen(wide));
  start(&loop);
  conn = connect_patient(&loop); /* as cancel_race_end */
  printf("cancel_random_points/%s: seed %u (UVODBC_TEST_SEED)\n", test_driver_name(), seed);
  fflush(stdout); /* a failing test's process ends without flushing */
  srand(seed);
  for (i = 0; i < 300; i++) {
    op_t q, next;
    int size = rand() % 4000;
    size_t nparams = 0;
    if (test_driver() == TEST_SQLITE && i % 3 == 0)
      snprintf(work, sizeof(work),
               "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 "
               "FROM c WHERE x < %d) SELECT group_concat(printf('%%08d', x)) "
               "FROM c",
               size * 8); /* up to a few ms: long enough to be hit */
    else if (test_driver() == TEST_SQLITE && i % 3 == 1) /* metadata */
      snprintf(work, sizeof(work), "SELECT %s", wide);
    else if (test_driver() == TEST_SQLITE) { /* parameters */
      nparams = sizeof(params) / sizeof(params[0]);
      snprintf(work, sizeof(work), "SELECT ?");
      for (j = 1; j < nparams; j++) strcat(work, ", ?");
    } else
      snprintf(work, sizeof(work), "%s", test_sleep_sql(size / 1e6));
    op_init(&q);
    ck_assert_int_eq(uvodbc_conn_query(conn, &q.req, work,
                                       nparams > 0 ? params : NULL, nparams,
                                       NULL, on_op),
                     0);
    snprintf(sql, sizeof(sql), "SELECT %d", 1000 + i);
    query(conn, &next, sql, 0);
    spin_us((uint64_t)(rand() % 3000));
    uv_run(&loop, UV_RUN_NOWAIT); /* q may have ended: cancel is EINVAL */
    if (q.calls == 0) ck_assert_int_eq(uvodbc_req_cancel(&q.req), 0);
    cancelled += ended_or(&loop, &q, &next, i, UV_ECANCELED);
  }
  printf("cancel_random_points/%s: %d of 300 cancelled\n", test_driver_name(),
         cancelled);
  printf("cancel_random_points/%s: %lu cancel calls\n", test_driver_name(),
         uvodbc__cancel_calls() - calls0);
  ck_assert_int_gt(cancelled, 0);
  /* Some cancels met a running statement (not all were before its start). */
  ck_assert_uint_gt(uvodbc__cancel_calls() - calls0, 0);
  test_close(&loop, conn);
  TEST_RUN_UNTIL(&loop, uvodbc__cancel_threads() == 0, 5000);
  finish(&loop);
}
END_TEST

/* A statement waiting for another connection's lock: its timeout and
 * uvodbc_req_cancel end the wait at once, and the connection stays whole
 * (not given up at its deadline).  SQLite's interrupt does not end a lock
 * wait: uvodbc waits for locks itself there (lib/odbc-sqlite.c), here with
 * the driver's Timeout at 60 s. */
static void txn(uv_loop_t* loop, uvodbc_conn_t* conn, int commit) {
  op_t o;
  op_init(&o);
  ck_assert_int_eq(commit ? uvodbc_conn_commit(conn, &o.req, on_op)
                          : uvodbc_conn_begin(conn, &o.req, on_op),
                   0);
  TEST_RUN_UNTIL(loop, o.calls > 0, 10000);
  ck_assert_int_eq(o.status, 0);
}

START_TEST(cancel_lock_wait) {
  uv_loop_t loop;
  uvodbc_conn_t *holder, *waiter;
  char* cs = NULL;
  const char* t = TEST_TABLE("cancel_lock");
  char update[128], sql[128];
  int round;
  start(&loop);
  if (test_driver() == TEST_SQLITE)
    cs = test_sqlite_file_connstr("cancel_lock.db", 60000);
  holder = cs != NULL ? test_connect_to(&loop, cs) : test_connect(&loop);
  waiter = cs != NULL ? test_connect_to(&loop, cs) : test_connect(&loop);
  test_make_table(&loop, holder, t, "id INTEGER, v INTEGER");
  snprintf(sql, sizeof(sql), "INSERT INTO %s (id, v) VALUES (1, 0)", t);
  ck_assert_int_eq(test_exec(&loop, holder, sql), 1);
  txn(&loop, holder, 0);
  snprintf(sql, sizeof(sql), "UPDATE %s SET v = 1 WHERE id = 1", t);
  ck_assert_int_eq(test_exec(&loop, holder, sql), 1);
  snprintf(update, sizeof(update), "UPDATE %s SET v = 2 WHERE id = 1", t);
  for (round = 0; round < 2; round++) {
    op_t q;
    uint64_t t0 = uv_hrtime(), took;
    query(waiter, &q, update, round == 0 ? 300 : 0);
    if (round == 1) {
      run_for(&loop, 300);
      ck_assert_int_eq(q.calls, 0);
      ck_assert_int_eq(uvodbc_req_cancel(&q.req), 0);
    }
    TEST_RUN_UNTIL(&loop, q.calls > 0, 10000);
    took = (q.at - t0) / 1000000;
    ck_assert_msg(q.status == (round == 0 ? UV_ETIMEDOUT : UV_ECANCELED),
                  "round %d: %s", round, uvodbc_err_name(q.status));
    ck_assert_msg(!uvodbc_conn_is_broken(waiter),
                  "round %d: given up after %u ms", round, (unsigned)took);
    /* At once: given up at the deadline, it would be 300 + 1000 ms. */
    ck_assert_msg(took < 300 + test_slack_ms(700), "round %d: %u ms", round,
                  (unsigned)took);
    printf("cancel/%s: a lock wait ended after %u ms (%s)\n",
           test_driver_name(), (unsigned)took,
           round == 0 ? "timeout 300" : "cancel at 300");
  }
  if (cs != NULL) { /* the driver's Timeout, 400 ms, waited out once */
    char* short_cs = test_sqlite_file_connstr("cancel_lock.db", 400);
    uvodbc_conn_t* impatient = test_connect_to(&loop, short_cs);
    op_t q;
    uint64_t t0 = uv_hrtime(), took;
    query(impatient, &q, update, 0);
    TEST_RUN_UNTIL(&loop, q.calls > 0, 10000);
    took = (q.at - t0) / 1000000;
    printf("cancel/%s: Timeout=400 ran out after %u ms\n", test_driver_name(),
           (unsigned)took);
    ck_assert_msg(q.status == UVODBC_ESQL, "%s", uvodbc_err_name(q.status));
    ck_assert_msg(took >= 400 && took < 400 + test_slack_ms(350),
                  "took %u ms", (unsigned)took);
    test_close(&loop, impatient);
    free(short_cs);
  }
  txn(&loop, holder, 1);
  ck_assert_int_eq(test_exec(&loop, waiter, update), 1);
  ck_assert_int_eq(test_query_int(&loop, waiter, "SELECT 42"), 42);
  test_drop_table(&loop, holder, t);
  test_close(&loop, waiter);
  test_close(&loop, holder);
  free(cs);
  finish(&loop);
}
END_TEST

/* SQLite, when the connect cannot capture the driver's sqlite3* (here: the
 * process reset SQLite's auto-extensions): the connect is made again as
 * written and works, later connects are not rewritten, and a cancel calls
 * nothing (SQLCancel is never called).  Forked: the give-up is for the
 * process. */
START_TEST(cancel_sqlite_uncaptured) {
  uv_loop_t loop;
  uvodbc_conn_t *first, *second;
  void* lib;
  void (*reset)(void);
  unsigned long calls0;
  op_t q;
  int i;
  start(&loop);
  first = test_connect(&loop); /* registers the extension */
  lib = dlopen("libsqlite3.so.0", RTLD_NOW | RTLD_NOLOAD);
  ck_assert_ptr_nonnull(lib);
  *(void**)&reset = dlsym(lib, "sqlite3_reset_auto_extension");
  ck_assert_ptr_nonnull(reset);
  reset();
  for (i = 0; i < 2; i++) { /* the fallback, then no rewrite at all */
    second = test_connect(&loop);
    ck_assert_int_eq(test_query_int(&loop, second, "SELECT 42"), 42);
    calls0 = uvodbc__cancel_calls();
    query(second, &q,
          "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
          "WHERE x < 400000) SELECT max(x) FROM c",
          0);
    run_for(&loop, 10);
    if (q.calls == 0) ck_assert_int_eq(uvodbc_req_cancel(&q.req), 0);
    TEST_RUN_UNTIL(&loop, q.calls > 0, 50000);
    /* It ran to its end: reported cancelled if asked before. */
    ck_assert_msg(q.status == 0 || q.status == UV_ECANCELED, "%s",
                  uvodbc_err_name(q.status));
    ck_assert_uint_eq(uvodbc__cancel_calls(), calls0);
    test_close(&loop, second);
  }
  /* The first connection, captured before, still cancels. */
  calls0 = uvodbc__cancel_calls();
  query(first, &q, sqlite_slow_sql, 0);
  run_for(&loop, 100);
  ck_assert_int_eq(uvodbc_req_cancel(&q.req), 0);
  TEST_RUN_UNTIL(&loop, q.calls > 0, 10000);
  ck_assert_int_eq(q.status, UV_ECANCELED);
  ck_assert_uint_gt(uvodbc__cancel_calls(), calls0);
  test_close(&loop, first);
  dlclose(lib);
  finish(&loop);
}
END_TEST


/* A MariaDB cancel needs a connect (KILL QUERY on its own connection), and
 * a connect waits while another one runs alone: here the first connect of
 * an unrelated string to a server that accepts TCP but never answers, for
 * its whole 8 s login timeout.  The KILL comes too late, but the deadline
 * holds: the callback comes at the timeout plus the grace, and the
 * statement's worker never waited for the kill's connect. */
static void on_fake(uvodbc_req_t* req, int status) {
  op_t* o = req->data;
  o->calls++;
  o->status = status;
  uvodbc_req_cleanup(req);
}

START_TEST(cancel_behind_hung_connect) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_conn_t* fconn;
  uvodbc_conn_options_t copts;
  op_t fake, slow;
  struct sockaddr_in addr;
  socklen_t alen = sizeof(addr);
  int fd;
  char cs[256];
  uint64_t t0, took;
  if (test_driver() != TEST_MARIADB) return;
  start(&loop);
  conn = test_connect(&loop);
  fd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ck_assert_int_eq(bind(fd, (struct sockaddr*)&addr, sizeof(addr)), 0);
  ck_assert_int_eq(listen(fd, 16), 0); /* never accepted, never answered */
  getsockname(fd, (struct sockaddr*)&addr, &alen);
  snprintf(cs, sizeof(cs),
           "DRIVER={PostgreSQL Unicode};Server=127.0.0.1;Port=%u;"
           "Database=x;Uid=x;Pwd=x",
           (unsigned)ntohs(addr.sin_port));
  uvodbc_conn_options_init(&copts);
  copts.login_timeout_s = 8;
  op_init(&fake);
  ck_assert_int_eq(uvodbc_connect(&loop, &fake.req, cs, &copts, on_fake), 0);
  fconn = fake.req.conn;
  run_for(&loop, 300); /* it is in its exclusive turn now */
  t0 = uv_hrtime();
  query(conn, &slow, test_sleep_sql(5), 200);
  TEST_RUN_UNTIL(&loop, slow.calls > 0, 20000);
  took = (slow.at - t0) / 1000000;
  printf("cancel/%s: a 200 ms timeout behind a hung connect came after %u "
         "ms\n", test_driver_name(), (unsigned)took);
  ck_assert_msg(slow.status == UV_ETIMEDOUT, "%s",
                uvodbc_err_name(slow.status));
  ck_assert_msg(took < 200 + UVODBC_DEADLINE_GRACE_DEFAULT_MS +
                           test_slack_ms(1000),
                "the timeout took %u ms", (unsigned)took);
  TEST_RUN_UNTIL(&loop, fake.calls > 0, 20000);
  close(fd);
  test_close(&loop, fconn);
  test_close(&loop, conn);
  finish(&loop);
}
END_TEST

/* psqlODBC in autocommit mode runs a streaming SELECT in a transaction of
 * its own and rolls it back when the SELECT fails.  A second cancel can
 * cancel that ROLLBACK (the postmaster signals a backend twice, and
 * uvodbc's cancel retries): psqlODBC did not notice, and every statement
 * after it failed with 25P02, for good (CI: contract_cancel_race).  Here
 * another connection signals the statement's backend as fast as it can
 * (pg_cancel_backend, 250 to 32000 times), so its ROLLBACK is cancelled
 * in most rounds.
 * uvodbc rolls back after such a failure; a cancel from outside may still
 * hit that ROLLBACK too, and then the next statement fails with 25P02 and
 * is rolled back in turn: never a second one.  In odd rounds a cursor is
 * open meanwhile (psqlODBC then rolls back to a savepoint): it reads all
 * its rows, or, where uvodbc had to roll back, fails with 24000; never a
 * short result. */
typedef struct {
  uvodbc_conn_t* conn;
  op_t op;
  char sql[160];
} hammer_t;

typedef struct {
  uvodbc_req_t req;
  int calls, status;
  uvodbc_cursor_t* cursor;
  size_t rows;
  char state[6];
} read_t;

static void on_read(uvodbc_req_t* req, int status) {
  read_t* r = req->data;
  r->calls++;
  r->status = status;
  if (req->cursor != NULL) r->cursor = req->cursor;
  if (status == 0 && req->batch != NULL)
    r->rows += uvodbc_batch_nrows(req->batch);
  memset(r->state, 0, sizeof(r->state));
  if (req->ndiag > 0) memcpy(r->state, req->diag[0].sqlstate, 5);
  uvodbc_req_cleanup(req);
}

/* Reads the cursor to its end or first error; closes it.  1 when it was
 * refused with 24000 (uvodbc rolled back under it). */
static int read_all_or_refused(uv_loop_t* loop, read_t* r, size_t total) {
  int refused;
  while (r->status == 0) {
    int calls = r->calls;
    r->req.data = r;
    ck_assert_int_eq(uvodbc_cursor_fetch(r->cursor, &r->req, 0, on_read), 0);
    TEST_RUN_UNTIL(loop, r->calls > calls, 10000);
  }
  refused = r->status == UVODBC_ESQL && strcmp(r->state, "24000") == 0;
  ck_assert_msg(refused || (r->status == UV_EOF && r->rows == total),
                "cursor: %s [%s] after %zu of %zu rows",
                uvodbc_err_name(r->status), r->state, r->rows, total);
  ck_assert_int_eq(uvodbc_cursor_close(r->cursor, NULL), 0);
  return refused;
}

static void hammer_start(uv_timer_t* t) {
  hammer_t* h = t->data;
  query(h->conn, &h->op, h->sql, 0);
}

START_TEST(cancel_pg_rollback_cancelled) {
  uv_loop_t loop;
  uv_timer_t timer;
  uvodbc_conn_t* conn;
  hammer_t h;
  int round, second = 0, refused = 0;
  int64_t pid;
  start(&loop);
  conn = test_connect(&loop);
  memset(&h, 0, sizeof(h));
  h.conn = test_connect(&loop);
  pid = test_query_int(&loop, conn, "SELECT pg_backend_pid()");
  ck_assert_int_eq(uv_timer_init(&loop, &timer), 0);
  timer.data = &h;
  for (round = 0; round < 8; round++) {
    int signals = 250 << round;
    op_t sleep;
    read_t r;
    char state[6];
    int status;
    memset(&r, 0, sizeof(r));
    if (round % 2 == 1) {
      r.req.data = &r;
      ck_assert_int_eq(
          uvodbc_conn_exec(conn, &r.req,
                           "SELECT x FROM (SELECT generate_series(1, 20000) "
                           "AS x) s",
                           NULL, 0, NULL, on_read),
          0);
      TEST_RUN_UNTIL(&loop, r.calls == 1, 10000);
      ck_assert_int_eq(r.status, 0);
      ck_assert_ptr_nonnull(r.cursor);
    }
    snprintf(h.sql, sizeof(h.sql),
             "SELECT count(*) FROM generate_series(1, %d) "
             "WHERE pg_cancel_backend(%lld)",
             signals, (long long)pid);
    op_init(&sleep);
    ck_assert_int_eq(uvodbc_conn_exec(conn, &sleep.req, "SELECT pg_sleep(5)",
                                      NULL, 0, NULL, on_op),
                     0);
    ck_assert_int_eq(uv_timer_start(&timer, hammer_start, 100, 0), 0);
    TEST_RUN_UNTIL(&loop, sleep.calls == 1 && h.op.calls == 1, 10000);
    ck_assert_msg(h.op.status == 0 && h.op.value == signals, "hammer: %s, %lld",
                  uvodbc_err_name(h.op.status), (long long)h.op.value);
    ck_assert_msg(sleep.status == UVODBC_ESQL, "round %d: %s", round,
                  uvodbc_err_name(sleep.status));
    status = test_exec_status(&loop, conn, "SELECT 7", state);
    ck_assert_msg(status == 0 || strcmp(state, "25P02") == 0,
                  "round %d: %s [%s]", round, uvodbc_err_name(status), state);
    second += status != 0;
    ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 8"), 8);
    if (r.cursor != NULL) refused += read_all_or_refused(&loop, &r, 20000);
  }
  printf("cancel/pg: %d of 8 next statements failed 25P02, %d of 4 cursors "
         "refused (24000)\n",
         second, refused);
  uv_close((uv_handle_t*)&timer, NULL);
  test_close(&loop, h.conn);
  test_close(&loop, conn);
  finish(&loop);
}
END_TEST

Suite* cancel_suite(void) {
  Suite* s = suite_create("cancel");
  TCase* tc = tcase_create("cancel");
  TCase* frozen;
  const char* skip = NULL;
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, cancel_long_query);
  tcase_add_test(tc, cancel_race_end);
  tcase_add_test(tc, cancel_random_points);
  tcase_add_test(tc, cancel_lock_wait);
  if (test_driver() != TEST_SQLITE)
    test_skip("cancel_sqlite_uncaptured", "SQLite only");
  else if (getenv("CK_FORK") != NULL && strcmp(getenv("CK_FORK"), "no") == 0)
    test_skip("cancel_sqlite_uncaptured",
              "it gives up the capture for the process (needs CK_FORK)");
  else
    tcase_add_test(tc, cancel_sqlite_uncaptured);
  tcase_add_test(tc, cancel_behind_hung_connect);
  if (test_driver() == TEST_PG)
    tcase_add_test(tc, cancel_pg_rollback_cancelled);
  else
    test_skip("cancel_pg_rollback_cancelled",
              "psqlODBC's own transaction around a streaming SELECT");
  suite_add_tcase(s, tc);
  if (test_driver() == TEST_SQLITE)
    skip = "SQLite has no server to freeze";
  else if (getenv("UVODBC_TEST_SERVERS_SH") == NULL ||
           getenv("UVODBC_TEST_SERVER_DIR") == NULL)
    skip = "UVODBC_TEST_SERVERS_SH / UVODBC_TEST_SERVER_DIR not set "
           "(servers not started by tests/servers.sh)";
  if (skip != NULL) {
    test_skip("cancel_frozen_other_conn", skip);
    test_skip("cancel_retries_bounded", skip);
    test_skip("cancel_threads_bounded", skip);
    return s;
  }
  frozen = tcase_create("cancel_frozen");
  tcase_set_timeout(frozen, 120);
  /* A failed test ends its process at once: the next one thaws first, and
   * the teardown once more for the suites after. */
  tcase_add_checked_fixture(frozen, thaw, NULL);
  tcase_add_unchecked_fixture(frozen, NULL, thaw);
  tcase_add_test(frozen, cancel_frozen_other_conn);
  tcase_add_test(frozen, cancel_retries_bounded);
  tcase_add_test(frozen, cancel_threads_bounded);
  suite_add_tcase(s, frozen);
  return s;
}
