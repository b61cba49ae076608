/* No convoy behind a lock holder (issue 9 part 7, docs/threading.md,
 * "Transactions go first").
 *
 * A connection inside a transaction holds locks (SQLite's write lock on the
 * whole file, row locks on PostgreSQL and MariaDB); other connections'
 * statements that need them wait on a pool thread (SQLite's busy handler
 * sleeps there until `Timeout`, the servers until their lock wait timeout).
 * Before the fix the holder's commit waited for a thread behind them: a
 * convoy until a busy wait gave up with "database is locked" (SQLite, 2 s
 * here), 50 s on MariaDB (innodb_lock_wait_timeout), for ever on
 * PostgreSQL (no lock_timeout).  Now the executor keeps a thread for the
 * holder and runs its operations first. */
#include <stdlib.h>

#include "uvodbc-test.h"

static uv_timer_t ticker;

static void run_for(uv_loop_t* loop, uint64_t ms) {
  uint64_t t0 = uv_hrtime();
  while (test_ms_since(t0) < ms) uv_run(loop, UV_RUN_ONCE);
}

static int is_locked(const uvodbc_req_t* req) {
  size_t i;
  for (i = 0; i < req->ndiag; i++)
    if (req->diag[i].message != NULL &&
        (strstr(req->diag[i].message, "locked") != NULL ||
         strstr(req->diag[i].message, "busy") != NULL))
      return 1;
  return 0;
}

/* ---- a holder's commit while every thread it could use waits for it ---- */

typedef struct {
  int calls;
  int status;
  int locked;
} done_t;

static void on_done(uvodbc_req_t* req, int status) {
  done_t* d = req->data;
  d->calls++;
  d->status = status;
  d->locked = is_locked(req);
  if (status != 0) test_print_diags(req, "convoy");
}

#define MAX_WAITERS 64

static unsigned int calls_of(const done_t* d, unsigned int n) {
  unsigned int i, calls = 0;
  for (i = 0; i < n; i++) calls += (unsigned int)d[i].calls;
  return calls;
}

/* The holder updates row 1 in a transaction; then as many connections as
 * uvodbc may use threads update the same row (autocommit) and wait for its
 * lock; then the holder commits.  The commit must get a thread, so every
 * waiter gets the lock after it and succeeds. */
START_TEST(convoy_holder_commits) {
  uv_loop_t loop;
  uvodbc_conn_t* holder;
  uvodbc_conn_t* w[MAX_WAITERS];
  uvodbc_req_t hreq, wreq[MAX_WAITERS];
  done_t hd = {0, 0, 0}, wd[MAX_WAITERS];
  unsigned int n = uvodbc_get_worker_limit(), i;
  const char* update = "UPDATE t_convoy_holder SET v = v + 1 WHERE id = 1";
  ck_assert_uint_le(n, MAX_WAITERS);
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  test_ticker_start(&loop, &ticker);
  holder = test_connect(&loop);
  test_make_table(&loop, holder, TEST_TABLE("convoy_holder"),
                  "id INTEGER PRIMARY KEY, v INTEGER");
  test_exec(&loop, holder, "INSERT INTO t_convoy_holder VALUES (1, 0)");
  for (i = 0; i < n; i++) w[i] = test_connect(&loop);

  hreq.data = &hd;
  ck_assert_int_eq(uvodbc_conn_begin(holder, &hreq, on_done), 0);
  TEST_RUN_UNTIL(&loop, hd.calls == 1, 10000);
  ck_assert_int_eq(hd.status, 0);
  ck_assert_int_eq(test_exec(&loop, holder, update), 1);

  for (i = 0; i < n; i++) {
    memset(&wd[i], 0, sizeof(wd[i]));
    wreq[i].data = &wd[i];
    ck_assert_int_eq(
        uvodbc_conn_exec(w[i], &wreq[i], update, NULL, 0, NULL, on_done), 0);
  }
  run_for(&loop, 300); /* they now wait for the lock (or for a thread) */
  for (i = 0; i < n; i++) ck_assert_int_eq(wd[i].calls, 0);

  memset(&hd, 0, sizeof(hd));
  ck_assert_int_eq(uvodbc_conn_commit(holder, &hreq, on_done), 0);
  /* Old code: SQLite 2 s (Timeout) then "locked", MariaDB 50 s, PG never. */
  TEST_RUN_UNTIL(&loop, hd.calls == 1, 10000);
  ck_assert_int_eq(hd.status, 0);
  TEST_RUN_UNTIL(&loop, calls_of(wd, n) == n, 20000);
  for (i = 0; i < n; i++) {
    ck_assert_msg(wd[i].status == 0, "waiter %u: %s%s", i,
                  uvodbc_err_name(wd[i].status),
                  wd[i].locked ? " (database is locked: a convoy)" : "");
    ck_assert_int_eq(wd[i].calls, 1);
  }
  ck_assert_int_eq(test_query_int(&loop, holder,
                                  "SELECT v FROM t_convoy_holder WHERE id = 1"),
                   (int64_t)n + 1);
  for (i = 0; i < n; i++) test_close(&loop, w[i]);
  test_drop_table(&loop, holder, TEST_TABLE("convoy_holder"));
  test_close(&loop, holder);
  uv_close((uv_handle_t*)&ticker, NULL);
  test_loop_close(&loop);
}
END_TEST

/* ---- the mix: 8 SQLite connections to one file ---- */

/* Each connection runs MIX_ROUNDS rounds, one operation at a time (the next
 * from the callback of the previous): half are transactions (begin,
 * insert, count, insert, commit), the rest an autocommit insert or count.
 * Transactions start with their write, so SQLite never refuses one for a
 * deadlock: every "database is locked" is a busy wait that ran out. */
#define MIX_CONNS 8
#define MIX_ROUNDS 25

enum { M_BEGIN, M_INSERT, M_COUNT, M_INSERT2, M_COMMIT, M_ROLLBACK, M_END };

typedef struct mix_s mix_t;

typedef struct {
  mix_t* mix;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  uint32_t rnd;
  int round;
  int step; /* what runs now */
  int txn;  /* this round is a transaction */
  int finished;
} mixer_t;

struct mix_s {
  mixer_t m[MIX_CONNS];
  int next_id;
  int ops, locked, failed, finished;
  int64_t inserted; /* committed rows */
};

static uint32_t mix_rand(mixer_t* m) {
  m->rnd = m->rnd * 1103515245u + 12345u;
  return m->rnd >> 16;
}

static void mix_step(uvodbc_req_t* req, int status);

static void mix_start(mixer_t* m) {
  char sql[96];
  int err;
  switch (m->step) {
    case M_BEGIN:
      err = uvodbc_conn_begin(m->conn, &m->req, mix_step);
      break;
    case M_INSERT:
    case M_INSERT2:
      snprintf(sql, sizeof(sql), "INSERT INTO t_convoy_mix VALUES (%d, %d)",
               ++m->mix->next_id, (int)(m - m->mix->m));
      err = uvodbc_conn_exec(m->conn, &m->req, sql, NULL, 0, NULL, mix_step);
      break;
    case M_COUNT:
      err = uvodbc_conn_query(m->conn, &m->req,
                              "SELECT count(*) FROM t_convoy_mix", NULL, 0,
                              NULL, mix_step);
      break;
    case M_COMMIT:
      err = uvodbc_conn_commit(m->conn, &m->req, mix_step);
      break;
    default:
      err = uvodbc_conn_rollback(m->conn, &m->req, mix_step);
      break;
  }
  ck_assert_int_eq(err, 0);
}

/* The first step of the next round, or the end. */
static void mix_round(mixer_t* m) {
  if (++m->round > MIX_ROUNDS) {
    m->finished = 1;
    m->mix->finished++;
    return;
  }
  switch (mix_rand(m) % 4) {
    case 0:
    case 1:
      m->txn = 1;
      m->step = M_BEGIN;
      break;
    case 2:
      m->txn = 0;
      m->step = M_INSERT;
      break;
    default:
      m->txn = 0;
      m->step = M_COUNT;
      break;
  }
  mix_start(m);
}

static void mix_step(uvodbc_req_t* req, int status) {
  mixer_t* m = req->data;
  mix_t* mix = m->mix;
  mix->ops++;
  if (m->step == M_COUNT && status == 0)
    ck_assert_uint_eq(uvodbc_batch_nrows(req->batch), 1);
  if (m->step == M_COUNT) uvodbc_req_cleanup(req);
  if (status != 0) {
    if (is_locked(req))
      mix->locked++;
    else
      mix->failed++;
    if (m->txn && m->step != M_BEGIN && m->step < M_COMMIT) {
      m->step = M_ROLLBACK; /* the round ends with a rollback */
      mix_start(m);
      return;
    }
    if (m->txn && m->step == M_COMMIT) {
      m->step = M_ROLLBACK; /* a failed commit leaves it open */
      mix_start(m);
      return;
    }
    mix_round(m);
    return;
  }
  if (!m->txn) {
    if (m->step == M_INSERT) mix->inserted++;
    mix_round(m);
    return;
  }
  if (m->step == M_COMMIT) mix->inserted += 2;
  if (m->step == M_COMMIT || m->step == M_ROLLBACK) {
    mix_round(m);
    return;
  }
  m->step++;
  mix_start(m);
}

static void run_mix(void) {
  uv_loop_t loop;
  uvodbc_conn_t* admin;
  mix_t mix;
  int i;
  uint64_t t0;
  double s;
  memset(&mix, 0, sizeof(mix));
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  test_ticker_start(&loop, &ticker);
  admin = test_connect(&loop);
  test_make_table(&loop, admin, TEST_TABLE("convoy_mix"),
                  "id INTEGER PRIMARY KEY, c INTEGER");
  for (i = 0; i < MIX_CONNS; i++) {
    mix.m[i].mix = &mix;
    mix.m[i].conn = test_connect(&loop);
    mix.m[i].req.data = &mix.m[i];
    mix.m[i].rnd = 1000u + (uint32_t)i;
  }
  t0 = uv_hrtime();
  for (i = 0; i < MIX_CONNS; i++) mix_round(&mix.m[i]);
  /* Old code: 3 operations/s with 3 threads, minutes for the mix. */
  while (mix.finished < MIX_CONNS && test_ms_since(t0) < test_slack_ms(60000))
    uv_run(&loop, UV_RUN_ONCE);
  s = (double)(uv_hrtime() - t0) / 1e9;
  ck_assert_msg(mix.finished == MIX_CONNS,
                "the mix did not end in %.0f s: %d ops (%.0f ops/s), %d "
                "database is locked: a convoy",
                s, mix.ops, mix.ops / s, mix.locked);
  printf(
      "convoy: %d ops on %d SQLite connections in %.2f s (%.0f ops/s), "
      "%d database is locked, UV_THREADPOOL_SIZE %s, worker limit %u\n",
      mix.ops, MIX_CONNS, s, mix.ops / s, mix.locked,
      getenv("UV_THREADPOOL_SIZE") ? getenv("UV_THREADPOOL_SIZE") : "unset",
      uvodbc_get_worker_limit());
  ck_assert_int_eq(mix.failed, 0);
  ck_assert_msg(mix.locked == 0,
                "%d operations failed with database is locked (%.0f ops/s): "
                "a convoy",
                mix.locked, mix.ops / s);
  ck_assert_int_eq(
      test_query_int(&loop, admin, "SELECT count(*) FROM t_convoy_mix"),
      mix.inserted);
  for (i = 0; i < MIX_CONNS; i++) test_close(&loop, mix.m[i].conn);
  test_drop_table(&loop, admin, TEST_TABLE("convoy_mix"));
  test_close(&loop, admin);
  uv_close((uv_handle_t*)&ticker, NULL);
  test_loop_close(&loop);
}

/* At this run's pool size (4 unless UV_THREADPOOL_SIZE says otherwise):
 * 3 threads for 8 connections. */
START_TEST(convoy_sqlite_mix) { run_mix(); }
END_TEST

/* At UV_THREADPOOL_SIZE=8 (issue 9: 44 operations/s, 146 locked). */
START_TEST(convoy_sqlite_mix_pool8) {
  /* Read by libuv at the first work of this (forked) process. */
  setenv("UV_THREADPOOL_SIZE", "8", 1);
  ck_assert_int_eq(uvodbc_set_worker_limit(7), 0);
  run_mix();
}
END_TEST

Suite* convoy_suite(void) {
  Suite* s = suite_create("convoy");
  TCase* tc = tcase_create("convoy");
  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, convoy_holder_commits);
  if (test_driver() == TEST_SQLITE) {
    tcase_add_test(tc, convoy_sqlite_mix);
    tcase_add_test(tc, convoy_sqlite_mix_pool8);
  } else {
    const char* why =
        "one database file's lock; row locks: "
        "convoy_holder_commits";
    test_skip("convoy_sqlite_mix", why);
    test_skip("convoy_sqlite_mix_pool8", why);
  }
  suite_add_tcase(s, tc);
  return s;
}
