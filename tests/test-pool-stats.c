/* Pool statistics (uvodbc_pool_stats_t): acquire wait percentiles against
 * waits the test measures itself, each outcome of a pool exec/query
 * counted once (ok, SQL error, timeout, cancel, disconnect), acquires that
 * never got a connection, and the time spent in the pool's pings and
 * resets.  The disconnect case kills the server with tests/servers.sh, as
 * tests/test-faults.c does, so it runs on PostgreSQL and MariaDB only. */
#include <limits.h>
#include <stdlib.h>

#include "pool-internal.h" /* the histogram's buckets */
#include "uvodbc-test.h"

#define NWAITERS 20
#define HOLD_FIRST_MS 200 /* the first borrower holds the connection   */
#define HOLD_EACH_MS 40   /* ... then each waiter, so waits spread out  */

/* ---- requests ---- */

typedef struct {
  uvodbc_req_t req;
  uvodbc_pool_t* pool;
  uv_timer_t hold;    /* releases the connection after hold_ms        */
  unsigned int hold_ms;
  int calls;
  int status;
  uint64_t t0;        /* uv_hrtime() just before the acquire call      */
  uint64_t wait_us;   /* measured here: call to callback               */
  int released;
} acq_t;

static void on_hold(uv_timer_t* t) {
  acq_t* a = t->data;
  ck_assert_int_eq(uvodbc_pool_release(a->pool, a->req.conn), 0);
  a->released = 1;
}

static void on_acquired(uvodbc_req_t* req, int status) {
  acq_t* a = req->data;
  a->wait_us = (uv_hrtime() - a->t0) / 1000;
  a->calls++;
  a->status = status;
  if (status != 0) return;
  ck_assert_int_eq(uv_timer_start(&a->hold, on_hold, a->hold_ms, 0), 0);
}

static void start_acquire(uv_loop_t* loop, uvodbc_pool_t* pool, acq_t* a,
                          unsigned int hold_ms) {
  memset(a, 0, sizeof(*a));
  a->req.data = a;
  a->pool = pool;
  a->hold_ms = hold_ms;
  ck_assert_int_eq(uv_timer_init(loop, &a->hold), 0);
  a->hold.data = a;
  a->t0 = uv_hrtime();
  ck_assert_int_eq(uvodbc_pool_acquire(pool, &a->req, on_acquired), 0);
}

typedef struct {
  uvodbc_req_t req;
  int calls;
  int status;
  int disconnect;
} op_t;

static void on_op(uvodbc_req_t* req, int status) {
  op_t* o = req->data;
  o->calls++;
  o->status = status;
  o->disconnect = uvodbc_req_is_disconnect(req);
  if (req->type == UVODBC_REQ_QUERY) uvodbc_req_cleanup(req);
}

static void start_query(uvodbc_pool_t* pool, op_t* o, const char* sql,
                        const uvodbc_exec_options_t* opts) {
  memset(o, 0, sizeof(*o));
  o->req.data = o;
  ck_assert_int_eq(uvodbc_pool_query(pool, &o->req, sql, NULL, 0, opts,
                                     on_op),
                   0);
}

/* ---- the pool ---- */

static int ready_calls;
static int closed_calls;

static void on_ready(uvodbc_pool_t* pool, int status) {
  (void)pool;
  ck_assert_int_eq(status, 0);
  ready_calls++;
}

static void on_closed(uvodbc_pool_t* pool) {
  (void)pool;
  closed_calls++;
}

/* One connection, opened at create, never pinged unless a test says. */
static void one_conn_opts(uvodbc_pool_options_t* o) {
  uvodbc_pool_options_init(o);
  o->min_size = 1;
  o->max_size = 1;
  o->validate_after_idle_ms = UINT_MAX;
}

static uvodbc_pool_t* open_pool(uv_loop_t* loop, uvodbc_pool_options_t* o) {
  uvodbc_pool_t* pool = NULL;
  ready_calls = closed_calls = 0;
  ck_assert_int_eq(uvodbc_pool_create(loop, &pool, test_connstr(), o,
                                      on_ready),
                   0);
  TEST_RUN_UNTIL(loop, ready_calls == 1, 20000);
  return pool;
}

static void close_pool(uv_loop_t* loop, uvodbc_pool_t* pool) {
  ck_assert_int_eq(uvodbc_pool_close(pool, on_closed), 0);
  TEST_RUN_UNTIL(loop, closed_calls == 1, 20000);
}

static uvodbc_pool_stats_t stats_of(const uvodbc_pool_t* pool) {
  uvodbc_pool_stats_t st;
  ck_assert_int_eq(uvodbc_pool_stats(pool, &st), 0);
  return st;
}

static void close_timer(uv_timer_t* t) {
  uv_close((uv_handle_t*)t, NULL);
}

static int cmp_u64(const void* a, const void* b) {
  uint64_t x = *(const uint64_t*)a, y = *(const uint64_t*)b;
  return x < y ? -1 : x > y;
}

/* The pool measures a little less than the test does (from inside the call
 * to just before the callback: more only if the thread is preempted
 * there), and a percentile may be up to 1/32 above the pool's exact value.
 * At slack 1 that stays below HOLD_EACH_MS: a neighbouring rank fails. */
static void expect_near(const char* what, uint64_t got, uint64_t measured) {
  uint64_t slack = test_slack_ms(10) * 1000;
  ck_assert_msg(got + slack >= measured &&
                    got <= measured + measured / 32 + slack,
                "%s: pool says %llu us, measured %llu us", what,
                (unsigned long long)got, (unsigned long long)measured);
}

/* The histogram's promise, over every bucket and every wait below 2^20 us
 * plus a sweep up to 2^40: a wait's bucket bound is never below the wait
 * and at most 1/32 above it (exact below 64 us), buckets follow the waits'
 * order, and each bound is the last wait of its bucket. */
START_TEST(pool_stats_histogram_bound) {
  uint64_t v, up, step;
  unsigned int b, prev = 0;
  for (b = 0; b < POOL_WAIT_BUCKETS; b++) {
    up = uvodbc__pool_wait_bucket_upper(b);
    ck_assert_uint_eq(uvodbc__pool_wait_bucket(up), b);
    if (b + 1 < POOL_WAIT_BUCKETS)
      ck_assert_uint_eq(uvodbc__pool_wait_bucket(up + 1), b + 1);
  }
  ck_assert_uint_eq(uvodbc__pool_wait_bucket((uint64_t)1 << 40),
                    POOL_WAIT_BUCKETS - 1);
  ck_assert_uint_eq(uvodbc__pool_wait_bucket(UINT64_MAX),
                    POOL_WAIT_BUCKETS - 1);
  for (v = 0; v < ((uint64_t)1 << 40); v += step) {
    b = uvodbc__pool_wait_bucket(v);
    up = uvodbc__pool_wait_bucket_upper(b);
    /* Plain ifs: a million ck_asserts would each write to Check's pipe. */
    if (b < prev || b >= POOL_WAIT_BUCKETS || up < v ||
        (v < 64 ? up != v : (up - v) * 32 >= v))
      ck_abort_msg("wait %llu: bucket %u (previous %u), bound %llu",
                   (unsigned long long)v, b, prev, (unsigned long long)up);
    prev = b;
    step = v < ((uint64_t)1 << 20) ? 1 : v / 997;
  }
}
END_TEST

/* One connection: the first borrower holds it HOLD_FIRST_MS, NWAITERS
 * acquires queue behind it and each holds it HOLD_EACH_MS, so the waits
 * grow by about HOLD_EACH_MS each.  p50 and p99 are the nearest-rank
 * percentiles of the measured waits, within the histogram's error. */
START_TEST(pool_stats_wait_percentiles) {
  uv_loop_t loop;
  uvodbc_pool_options_t o;
  uvodbc_pool_t* pool;
  uvodbc_pool_stats_t st;
  acq_t a[NWAITERS + 1];
  uint64_t waits[NWAITERS + 1];
  const size_t n = NWAITERS + 1;
  size_t i;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  one_conn_opts(&o);
  o.acquire_timeout_ms = (unsigned int)test_slack_ms(30000);
  pool = open_pool(&loop, &o);
  st = stats_of(pool);
  ck_assert_uint_eq(st.wait_p50_us, 0);
  ck_assert_uint_eq(st.wait_p99_us, 0);

  start_acquire(&loop, pool, &a[0], HOLD_FIRST_MS);
  for (i = 1; i < n; i++) start_acquire(&loop, pool, &a[i], HOLD_EACH_MS);
  TEST_RUN_UNTIL(&loop, a[n - 1].released, 30000);
  for (i = 0; i < n; i++) {
    ck_assert_int_eq(a[i].calls, 1);
    ck_assert_int_eq(a[i].status, 0);
    waits[i] = a[i].wait_us;
  }
  /* Queued behind the holder: every waiter waited at least its hold, less
   * the millisecond libuv's timers round the loop's clock down to (the
   * hold's timer starts from uv_now(); a run saw 199645 us of 200 ms). */
  ck_assert_uint_ge(a[1].wait_us + 1000, HOLD_FIRST_MS * 1000);
  qsort(waits, n, sizeof(waits[0]), cmp_u64);

  st = stats_of(pool);
  ck_assert_uint_eq(st.acquires, n);
  expect_near("max", st.wait_max_us, waits[n - 1]);
  expect_near("p50", st.wait_p50_us, waits[(n + 1) / 2 - 1]);
  expect_near("p99", st.wait_p99_us, waits[(n * 99 + 99) / 100 - 1]);
  ck_assert_uint_ge(st.wait_p99_us, st.wait_p50_us);
  ck_assert_uint_ge(st.wait_max_us, st.wait_p99_us);
  ck_assert_uint_gt(st.wait_p50_us, st.wait_mean_us / 2);
  /* Not the max: half the waits end HOLD_EACH_MS * NWAITERS / 2 earlier. */
  ck_assert_uint_lt(st.wait_p50_us, st.wait_max_us);

  close_pool(&loop, pool);
  for (i = 0; i < n; i++) close_timer(&a[i].hold);
  test_loop_close(&loop);
}
END_TEST

/* Each outcome of a pool query, one after the other, counted once in its
 * own field and nowhere else. */
static void expect_ops(const uvodbc_pool_t* pool, uint64_t ok, uint64_t sql,
                       uint64_t timeouts, uint64_t cancelled) {
  uvodbc_pool_stats_t st = stats_of(pool);
  ck_assert_uint_eq(st.ops_ok, ok);
  ck_assert_uint_eq(st.ops_sql_errors, sql);
  ck_assert_uint_eq(st.ops_timeouts, timeouts);
  ck_assert_uint_eq(st.ops_cancelled, cancelled);
  ck_assert_uint_eq(st.ops_disconnects, 0);
  ck_assert_uint_eq(st.ops_other, 0);
}

START_TEST(pool_stats_outcomes) {
  uv_loop_t loop;
  uv_timer_t ticker;
  uvodbc_pool_options_t o;
  uvodbc_exec_options_t eo;
  uvodbc_pool_t* pool;
  uvodbc_pool_stats_t st;
  op_t q, w;
  uint64_t t0;
  int rc;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  test_ticker_start(&loop, &ticker);
  one_conn_opts(&o);
  pool = open_pool(&loop, &o);
  expect_ops(pool, 0, 0, 0, 0);

  start_query(pool, &q, "SELECT 1", NULL);
  TEST_RUN_UNTIL(&loop, q.calls == 1, 20000);
  ck_assert_int_eq(q.status, 0);
  expect_ops(pool, 1, 0, 0, 0);

  start_query(pool, &q, "SELECT * FROM t_pool_stats_no_such_table", NULL);
  TEST_RUN_UNTIL(&loop, q.calls == 1, 20000);
  ck_assert_int_eq(q.status, UVODBC_ESQL);
  ck_assert_int_eq(q.disconnect, 0);
  expect_ops(pool, 1, 1, 0, 0);

  uvodbc_exec_options_init(&eo);
  eo.timeout_ms = 300;
  start_query(pool, &q, test_sleep_sql(5), &eo);
  TEST_RUN_UNTIL(&loop, q.calls == 1, 20000);
  ck_assert_int_eq(q.status, UV_ETIMEDOUT);
  expect_ops(pool, 1, 1, 1, 0);

  /* Cancelled while it runs; a second request waits for the connection
   * and is cancelled there: an acquire that never got one. */
  start_query(pool, &q, test_sleep_sql(5), NULL);
  start_query(pool, &w, "SELECT 2", NULL);
  TEST_RUN_UNTIL(&loop, stats_of(pool).in_use == 1, 20000);
  ck_assert_int_eq(uvodbc_pool_cancel(pool, &w.req), 0);
  t0 = uv_hrtime();
  /* UV_EBUSY until the statement is on the driver's side. */
  while ((rc = uvodbc_pool_cancel(pool, &q.req)) == UV_EBUSY) {
    ck_assert_uint_lt(test_ms_since(t0), test_slack_ms(3000));
    uv_run(&loop, UV_RUN_ONCE);
  }
  ck_assert_int_eq(rc, 0);
  TEST_RUN_UNTIL(&loop, q.calls == 1 && w.calls == 1, 20000);
  ck_assert_int_eq(q.status, UV_ECANCELED);
  ck_assert_int_eq(w.status, UV_ECANCELED);
  expect_ops(pool, 1, 1, 1, 1);

  st = stats_of(pool);
  ck_assert_uint_eq(st.acquire_cancelled, 1);
  ck_assert_uint_eq(st.acquire_errors, 0);
  ck_assert_uint_eq(st.timeouts, 0);
  ck_assert_uint_eq(st.acquires, 4); /* the statements that ran */

  close_pool(&loop, pool);
  close_timer(&ticker);
  test_loop_close(&loop);
}
END_TEST

/* An acquire that times out in the queue is a `timeouts`, not an
 * acquire error; one that is still waiting when the pool closes is. */
START_TEST(pool_stats_acquire_failures) {
  uv_loop_t loop;
  uvodbc_pool_options_t o;
  uvodbc_pool_t* pool;
  uvodbc_pool_stats_t st;
  acq_t holder, late;
  op_t q;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  one_conn_opts(&o);
  o.acquire_timeout_ms = 100;
  pool = open_pool(&loop, &o);
  start_acquire(&loop, pool, &holder, 60000);
  TEST_RUN_UNTIL(&loop, holder.calls == 1, 20000);
  start_acquire(&loop, pool, &late, 0);
  TEST_RUN_UNTIL(&loop, late.calls == 1, 20000);
  ck_assert_int_eq(late.status, UV_ETIMEDOUT);
  st = stats_of(pool);
  ck_assert_uint_eq(st.timeouts, 1);
  ck_assert_uint_eq(st.acquire_errors, 0);
  ck_assert_uint_eq(st.acquire_cancelled, 0);

  start_query(pool, &q, "SELECT 1", NULL);
  ck_assert_int_eq(uvodbc_pool_close(pool, on_closed), 0);
  uv_timer_stop(&holder.hold);
  ck_assert_int_eq(uvodbc_pool_release(pool, holder.req.conn), 0);
  TEST_RUN_UNTIL(&loop, q.calls == 1, 20000);
  ck_assert_int_eq(q.status, UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_pool_stats(pool, &st), 0);
  ck_assert_uint_eq(st.acquire_errors, 1);
  ck_assert_uint_eq(st.ops_ok + st.ops_other, 0);
  TEST_RUN_UNTIL(&loop, closed_calls == 1, 20000);
  close_timer(&holder.hold);
  close_timer(&late.hold);
  test_loop_close(&loop);
}
END_TEST

/* validate_after_idle_ms 1: every checkout after a pause pings first;
 * a release inside a transaction resets.  Each is counted and timed. */
START_TEST(pool_stats_reset_validate) {
  uv_loop_t loop;
  uv_timer_t ticker;
  uvodbc_pool_options_t o;
  uvodbc_pool_t* pool;
  uvodbc_pool_stats_t st;
  acq_t a[2];
  op_t b;
  uint64_t t0;
  int round;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  test_ticker_start(&loop, &ticker);
  one_conn_opts(&o);
  o.validate_after_idle_ms = 1;
  pool = open_pool(&loop, &o);
  st = stats_of(pool);
  ck_assert_uint_eq(st.validations + st.resets, 0);
  ck_assert_uint_eq(st.validate_us_total + st.reset_us_total, 0);

  for (round = 1; round <= 2; round++) {
    acq_t* x = &a[round - 1];
    t0 = uv_hrtime();
    while (test_ms_since(t0) < 20) uv_run(&loop, UV_RUN_ONCE); /* idle */
    start_acquire(&loop, pool, x, 60000);
    TEST_RUN_UNTIL(&loop, x->calls == 1, 20000);
    ck_assert_int_eq(x->status, 0);
    st = stats_of(pool);
    ck_assert_uint_eq(st.validations, (uint64_t)round);
    ck_assert_uint_gt(st.validate_us_total, 0);
    ck_assert_uint_ge(st.validate_us_total, st.validate_max_us);
    ck_assert_uint_gt(st.validate_max_us, 0);
    ck_assert_uint_eq(st.resets, (uint64_t)(round - 1));

    /* A transaction left open: the release must reset. */
    memset(&b, 0, sizeof(b));
    b.req.data = &b;
    ck_assert_int_eq(uvodbc_conn_begin(x->req.conn, &b.req, on_op), 0);
    TEST_RUN_UNTIL(&loop, b.calls == 1, 20000);
    ck_assert_int_eq(b.status, 0);
    uv_timer_stop(&x->hold);
    ck_assert_int_eq(uvodbc_pool_release(pool, x->req.conn), 0);
    TEST_RUN_UNTIL(&loop, stats_of(pool).idle == 1, 20000);
    st = stats_of(pool);
    ck_assert_uint_eq(st.resets, (uint64_t)round);
    ck_assert_uint_gt(st.reset_us_total, 0);
    ck_assert_uint_ge(st.reset_us_total, st.reset_max_us);
    ck_assert_uint_gt(st.reset_max_us, 0);
    ck_assert_uint_eq(st.evictions, 0);
  }
  /* Means are plausible: a ping or reset here takes well under 10 s. */
  ck_assert_uint_lt(st.validate_max_us, test_slack_ms(10000) * 1000);
  ck_assert_uint_lt(st.reset_max_us, test_slack_ms(10000) * 1000);

  close_pool(&loop, pool);
  close_timer(&a[0].hold);
  close_timer(&a[1].hold);
  close_timer(&ticker);
  test_loop_close(&loop);
}
END_TEST

/* ---- disconnect: the server is killed under a running pool query ---- */

static void kill_setup(void) {
  ck_assert_msg(test_server_up() == 0, "cannot bring %s back", test_driver_name());
}

static void kill_teardown(void) {
  if (test_server_up() != 0)
    fprintf(stderr, "pool_stats: cannot bring %s back\n", test_driver_name());
}

START_TEST(pool_stats_disconnect) {
  uv_loop_t loop;
  uv_timer_t ticker;
  uvodbc_pool_options_t o;
  uvodbc_pool_t* pool;
  uvodbc_pool_stats_t st;
  op_t q;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  test_ticker_start(&loop, &ticker);
  one_conn_opts(&o);
  pool = open_pool(&loop, &o);
  start_query(pool, &q, test_sleep_sql(60), NULL);
  TEST_RUN_UNTIL(&loop, stats_of(pool).in_use == 1, 20000);
  {
    uint64_t t0 = uv_hrtime(); /* the statement reaches the server */
    while (test_ms_since(t0) < 500) uv_run(&loop, UV_RUN_ONCE);
  }
  ck_assert_msg(test_servers_sh("kill") == 0, "servers.sh kill failed");
  TEST_RUN_UNTIL(&loop, q.calls == 1, 10000);
  ck_assert_int_ne(q.status, 0);
  ck_assert_int_eq(q.disconnect, 1);
  st = stats_of(pool);
  ck_assert_uint_eq(st.ops_disconnects, 1);
  ck_assert_uint_eq(st.ops_ok + st.ops_sql_errors + st.ops_timeouts +
                        st.ops_cancelled + st.ops_other,
                    0);
  ck_assert_uint_ge(st.evictions, 1);
  ck_assert_msg(test_servers_sh("restart") == 0, "servers.sh restart failed");

  close_pool(&loop, pool);
  close_timer(&ticker);
  test_loop_close(&loop);
}
END_TEST

Suite* pool_stats_suite(void) {
  Suite* s = suite_create("pool_stats");
  TCase* tc = tcase_create("pool_stats");
  const char* skip = NULL;
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, pool_stats_histogram_bound);
  tcase_add_test(tc, pool_stats_wait_percentiles);
  tcase_add_test(tc, pool_stats_outcomes);
  tcase_add_test(tc, pool_stats_acquire_failures);
  tcase_add_test(tc, pool_stats_reset_validate);
  suite_add_tcase(s, tc);

  if (test_driver() == TEST_SQLITE)
    skip = "SQLite has no server to kill";
  else if (getenv("UVODBC_TEST_SERVERS_SH") == NULL ||
           getenv("UVODBC_TEST_SERVER_DIR") == NULL)
    skip = "UVODBC_TEST_SERVERS_SH / UVODBC_TEST_SERVER_DIR not set "
           "(servers not started by tests/servers.sh)";
  if (skip != NULL) {
    test_skip("pool_stats_disconnect", skip);
    return s;
  }
  tc = tcase_create("pool_stats_kill");
  tcase_set_timeout(tc, 120);
  tcase_add_checked_fixture(tc, kill_setup, kill_teardown);
  tcase_add_test(tc, pool_stats_disconnect);
  suite_add_tcase(s, tc);
  return s;
}
