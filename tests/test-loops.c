/* A loop per thread (issue 9 part 3): several threads, each with its own
 * loop and its own connections and pools, share libuv's pool, the worker
 * limit and the ODBC environment.  Run under TSan, these tests find any
 * process-wide state left unguarded. */
#include <pthread.h>
#include <stdlib.h>

#include "uvodbc-test.h"

#define NTHREADS 4
#define ROUNDS 12

/* SQLite: a file per thread, so four writers never wait on one lock. */
static char* connstr_for(const char* file) {
  if (test_driver() == TEST_SQLITE) return test_sqlite_file_connstr(file, 5000);
  return strdup(test_connstr());
}

static void on_pool_closed(uvodbc_pool_t* pool) {
  int* closed = uvodbc_pool_get_data(pool);
  (*closed)++;
}

/* ---- loops_four_threads: mixed work on four loops at once ---- */

typedef struct {
  int id;
  uv_loop_t loop;
  char* connstr;
  char* pool_connstr; /* SQLite: another file */
  char table[64], ptable[64];
  char insert[128], count[128], update[128], select[128];
  char insert_p[128], sum_p[128];
  uvodbc_conn_t* c[2];
  uvodbc_pool_t* pool;
  int pending; /* operations of the round still to call back */
  int calls;   /* callbacks, for the exactly-once count */
  int64_t round;
  uvodbc_req_t txn, query, pool_query, borrow, upd;
  uvodbc_param_t params[2];
} worker_t;

static void round_done(worker_t* w) {
  w->pending--;
  w->calls++;
}

static void on_commit(uvodbc_req_t* req, int status) {
  worker_t* w = req->data;
  if (status != 0) test_print_diags(req, "commit");
  ck_assert_int_eq(status, 0);
  round_done(w);
}

static void on_insert(uvodbc_req_t* req, int status) {
  worker_t* w = req->data;
  if (status != 0) test_print_diags(req, "insert");
  ck_assert_int_eq(status, 0);
  ck_assert_int_eq(req->rows_affected, 1);
  ck_assert_int_eq(uvodbc_conn_commit(w->c[0], req, on_commit), 0);
}

static void on_begin(uvodbc_req_t* req, int status) {
  worker_t* w = req->data;
  ck_assert_int_eq(status, 0);
  w->params[0] = uvodbc_param_int64(w->round);
  w->params[1] = uvodbc_param_int64(w->round * 10);
  ck_assert_int_eq(uvodbc_conn_exec(w->c[0], req, w->insert, w->params, 2,
                                    NULL, on_insert),
                   0);
}

static void on_count(uvodbc_req_t* req, int status) {
  worker_t* w = req->data;
  int64_t n = -1;
  if (status != 0) test_print_diags(req, "count");
  ck_assert_int_eq(status, 0);
  ck_assert_int_eq(uvodbc_batch_get_int64(req->batch, 0, 0, &n), 0);
  /* The insert of this round runs on the other connection: committed or
   * not yet, never more. */
  ck_assert_msg(n == w->round - 1 || n == w->round, "round %d: %d rows",
                (int)w->round, (int)n);
  uvodbc_req_cleanup(req);
  round_done(w);
}

static void on_pool_query(uvodbc_req_t* req, int status) {
  worker_t* w = req->data;
  int64_t n = -1;
  if (status != 0) test_print_diags(req, "pool query");
  ck_assert_int_eq(status, 0);
  ck_assert_int_eq(uvodbc_batch_get_int64(req->batch, 0, 0, &n), 0);
  ck_assert_int_eq(n, w->round * 1000 + w->id);
  uvodbc_req_cleanup(req);
  round_done(w);
}

static void on_update(uvodbc_req_t* req, int status) {
  worker_t* w = req->data;
  if (status != 0) test_print_diags(req, "update");
  ck_assert_int_eq(status, 0);
  ck_assert_int_eq(uvodbc_pool_release(w->pool, req->conn), 0);
  round_done(w);
}

static void on_borrow(uvodbc_req_t* req, int status) {
  worker_t* w = req->data;
  ck_assert_int_eq(status, 0);
  ck_assert_int_eq(uvodbc_conn_exec(req->conn, &w->upd, w->update, NULL, 0,
                                    NULL, on_update),
                   0);
}

static void run_round(worker_t* w) {
  uvodbc_param_t p = uvodbc_param_int64(w->round * 1000 + w->id);
  w->pending = 4;
  w->txn.data = w->query.data = w->pool_query.data = w->borrow.data =
      w->upd.data = w;
  ck_assert_int_eq(uvodbc_conn_begin(w->c[0], &w->txn, on_begin), 0);
  ck_assert_int_eq(uvodbc_conn_query(w->c[1], &w->query, w->count, NULL, 0,
                                     NULL, on_count),
                   0);
  ck_assert_int_eq(uvodbc_pool_query(w->pool, &w->pool_query, w->select, &p,
                                     1, NULL, on_pool_query),
                   0);
  ck_assert_int_eq(uvodbc_pool_acquire(w->pool, &w->borrow, on_borrow), 0);
  while (w->pending > 0) uv_run(&w->loop, UV_RUN_ONCE);
}

static void* worker_main(void* arg) {
  worker_t* w = arg;
  uvodbc_pool_options_t o;
  uvodbc_conn_t* pc;
  int closed = 0, i;
  unsigned int limit = uvodbc_get_worker_limit();

  ck_assert_int_eq(uv_loop_init(&w->loop), 0);
  w->c[0] = test_connect_to(&w->loop, w->connstr);
  w->c[1] = test_connect_to(&w->loop, w->connstr);
  uvodbc_pool_options_init(&o);
  o.max_size = limit < 2 ? limit : 2;
  ck_assert_int_eq(uvodbc_pool_create(&w->loop, &w->pool, w->pool_connstr,
                                      &o, NULL),
                   0);
  uvodbc_pool_set_data(w->pool, &closed);
  test_make_table(&w->loop, w->c[0], w->table, "id INT, v INT");
  pc = test_connect_to(&w->loop, w->pool_connstr);
  test_make_table(&w->loop, pc, w->ptable, "id INT, v INT");
  test_exec(&w->loop, pc, w->insert_p);
  for (w->round = 1; w->round <= ROUNDS; w->round++) run_round(w);
  ck_assert_int_eq(w->calls, 4 * ROUNDS);
  ck_assert_int_eq(test_query_int(&w->loop, w->c[1], w->count), ROUNDS);
  ck_assert_int_eq(test_query_int(&w->loop, pc, w->sum_p), ROUNDS);
  test_drop_table(&w->loop, w->c[0], w->table);
  test_drop_table(&w->loop, pc, w->ptable);
  test_close(&w->loop, pc);
  ck_assert_int_eq(uvodbc_pool_close(w->pool, on_pool_closed), 0);
  for (i = 0; i < 2; i++) test_close(&w->loop, w->c[i]);
  test_loop_close(&w->loop);
  ck_assert_int_eq(closed, 1);
  return NULL;
}

START_TEST(loops_four_threads) {
  worker_t w[NTHREADS];
  pthread_t th[NTHREADS];
  int i;
  memset(w, 0, sizeof(w));
  for (i = 0; i < NTHREADS; i++) {
    char file[64], table[64], ptable[64];
    w[i].id = i;
    snprintf(file, sizeof(file), "loops_four_%d.db", i);
    w[i].connstr = connstr_for(file);
    snprintf(file, sizeof(file), "loops_four_%d_p.db", i);
    w[i].pool_connstr = connstr_for(file);
    snprintf(table, sizeof(table), TEST_TABLE("loops_four_%d"), i);
    snprintf(ptable, sizeof(ptable), TEST_TABLE("loops_four_%d_p"), i);
    memcpy(w[i].table, table, sizeof(table));
    memcpy(w[i].ptable, ptable, sizeof(ptable));
    snprintf(w[i].insert_p, sizeof(w[i].insert_p),
             "INSERT INTO %s (id, v) VALUES (1, 0)", ptable);
    snprintf(w[i].sum_p, sizeof(w[i].sum_p), "SELECT SUM(v) FROM %s", ptable);
    snprintf(w[i].insert, sizeof(w[i].insert),
             "INSERT INTO %s (id, v) VALUES (?, ?)", table);
    snprintf(w[i].count, sizeof(w[i].count), "SELECT COUNT(*) FROM %s",
             table);
    /* Another table (SQLite: file): waiting on the transaction's lock,
     * it would hold a worker the transaction's commit may need. */
    snprintf(w[i].update, sizeof(w[i].update), "UPDATE %s SET v = v + 1",
             ptable);
    snprintf(w[i].select, sizeof(w[i].select), "SELECT ? + 0");
  }
  for (i = 0; i < NTHREADS; i++)
    ck_assert_int_eq(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
  for (i = 0; i < NTHREADS; i++) ck_assert_int_eq(pthread_join(th[i], NULL), 0);
  for (i = 0; i < NTHREADS; i++) {
    ck_assert_int_eq(w[i].calls, 4 * ROUNDS);
    free(w[i].connstr);
    free(w[i].pool_connstr);
  }
  ck_assert_int_eq(uvodbc_shutdown(), 0); /* every loop's handles freed */
}
END_TEST

/* ---- loops_close_isolated: one loop closes while another works ---- */

typedef struct {
  uv_loop_t loop;
  char* connstr;
  const char* slow;
  pthread_mutex_t lock;
  int stop;      /* under lock: the churning thread is done */
  int ok, calls; /* the steady loop's statements */
} steady_t;

static void on_steady(uvodbc_req_t* req, int status) {
  steady_t* s = req->data;
  if (status != 0) test_print_diags(req, "steady statement");
  ck_assert_int_eq(status, 0);
  if (req->cursor != NULL)
    ck_assert_int_eq(uvodbc_cursor_close(req->cursor, NULL), 0);
  s->calls++;
  s->ok++;
}

static void* steady_main(void* arg) {
  steady_t* s = arg;
  uvodbc_conn_t* c[2];
  uvodbc_req_t req[2];
  int stop = 0, i;
  ck_assert_int_eq(uv_loop_init(&s->loop), 0);
  for (i = 0; i < 2; i++) c[i] = test_connect_to(&s->loop, s->connstr);
  while (!stop) {
    int before = s->calls;
    for (i = 0; i < 2; i++) {
      req[i].data = s;
      ck_assert_int_eq(uvodbc_conn_exec(c[i], &req[i],
                                        i == 0 ? s->slow : "SELECT 1", NULL,
                                        0, NULL, on_steady),
                       0);
    }
    while (s->calls < before + 2) uv_run(&s->loop, UV_RUN_ONCE);
    pthread_mutex_lock(&s->lock);
    stop = s->stop;
    pthread_mutex_unlock(&s->lock);
  }
  for (i = 0; i < 2; i++) test_close(&s->loop, c[i]);
  test_loop_close(&s->loop);
  return NULL;
}

typedef struct {
  int calls, cancelled, closed;
} churn_t;

static void on_churn(uvodbc_req_t* req, int status) {
  churn_t* t = req->data;
  /* Closed under it: what had not run is cancelled; what ran, ran. */
  ck_assert_msg(status == 0 || status == UV_ECANCELED ||
                    status == UVODBC_ECLOSED,
                "churn statement: %s", uvodbc_err_name(status));
  if (status != 0) t->cancelled++;
  if (status == 0 && req->cursor != NULL)
    ck_assert_int_eq(uvodbc_cursor_close(req->cursor, NULL), 0);
  t->calls++;
}

static void on_churn_closed(uvodbc_conn_t* conn) {
  churn_t* t = uvodbc_conn_get_data(conn);
  t->closed++;
}

static void on_churn_pool_closed(uvodbc_pool_t* pool) {
  churn_t* t = uvodbc_pool_get_data(pool);
  t->closed++;
}

START_TEST(loops_close_isolated) {
  steady_t s;
  pthread_t th;
  unsigned int def = uvodbc_get_worker_limit();
  int cycle, i, cancelled = 0;
  memset(&s, 0, sizeof(s));
  pthread_mutex_init(&s.lock, NULL);
  s.connstr = connstr_for("loops_close_steady.db");
  s.slow = test_sleep_sql(0.05);
  /* One slot: the two loops' statements queue behind each other, so a
   * close finds its work waiting for, or handed, another loop's slot. */
  ck_assert_int_eq(uvodbc_set_worker_limit(1), 0);
  ck_assert_int_eq(pthread_create(&th, NULL, steady_main, &s), 0);
  for (cycle = 0; cycle < 6; cycle++) {
    uv_loop_t loop;
    uvodbc_conn_t* c[2];
    uvodbc_req_t req[2][3];
    uvodbc_pool_t* pool;
    uvodbc_pool_options_t o;
    churn_t t = {0, 0, 0};
    int j;
    char* connstr = connstr_for("loops_close_churn.db");
    ck_assert_int_eq(uv_loop_init(&loop), 0);
    for (i = 0; i < 2; i++) {
      c[i] = test_connect_to(&loop, connstr);
      uvodbc_conn_set_data(c[i], &t);
    }
    uvodbc_pool_options_init(&o);
    o.max_size = 1;
    o.min_size = 1;
    ck_assert_int_eq(uvodbc_pool_create(&loop, &pool, connstr, &o, NULL), 0);
    uvodbc_pool_set_data(pool, &t);
    for (i = 0; i < 2; i++)
      for (j = 0; j < 3; j++) {
        req[i][j].data = &t;
        ck_assert_int_eq(uvodbc_conn_exec(c[i], &req[i][j], "SELECT 2", NULL,
                                          0, NULL, on_churn),
                         0);
      }
    /* Closed at once on odd cycles, on even ones after a statement that
     * got the slot from the steady loop ran (others then hold or wait for
     * the slot). */
    if (cycle % 2 == 0)
      while (t.calls == 0) uv_run(&loop, UV_RUN_ONCE);
    for (i = 0; i < 2; i++)
      ck_assert_int_eq(uvodbc_conn_close(c[i], on_churn_closed), 0);
    ck_assert_int_eq(uvodbc_pool_terminate(pool, on_churn_pool_closed), 0);
    test_loop_close(&loop); /* runs the loop to its end first */
    ck_assert_int_eq(t.calls, 6);
    ck_assert_int_eq(t.closed, 3);
    cancelled += t.cancelled;
    free(connstr);
  }
  pthread_mutex_lock(&s.lock);
  s.stop = 1;
  pthread_mutex_unlock(&s.lock);
  ck_assert_int_eq(pthread_join(th, NULL), 0);
  ck_assert_int_eq(uvodbc_set_worker_limit(def), 0);
  /* Every steady statement succeeded (on_steady asserts it), and some
   * churn statements were closed under a waiting task. */
  ck_assert_int_eq(s.ok, s.calls);
  ck_assert_int_gt(s.ok, 0);
  ck_assert_int_gt(cancelled, 0);
  ck_assert_int_lt(cancelled, 6 * 6);
  printf("loops_close_isolated: %d steady statements, %d churn cancelled\n",
         s.ok, cancelled);
  free(s.connstr);
  pthread_mutex_destroy(&s.lock);
  ck_assert_int_eq(uvodbc_shutdown(), 0);
}
END_TEST

/* ---- loops_fair_fifo: with one slot, two loops take turns ---- */

#define FAIR_OPS 3

typedef struct {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int turn; /* whose submission is next, under lock */
  int connected; /* sides done connecting, under lock */
  const char* connstr;
} fair_t;

typedef struct {
  fair_t* f;
  int side;    /* 0: A, 1: B */
  int calls;
  uv_loop_t loop;
} fair_side_t;

static void on_fair(uvodbc_req_t* req, int status) {
  fair_side_t* s = req->data;
  if (status != 0) test_print_diags(req, "fair insert");
  ck_assert_int_eq(status, 0);
  s->calls++;
}

static void wait_turn(fair_t* f, int turn) {
  pthread_mutex_lock(&f->lock);
  while (f->turn != turn) pthread_cond_wait(&f->cond, &f->lock);
  pthread_mutex_unlock(&f->lock);
}

static void next_turn(fair_t* f) {
  pthread_mutex_lock(&f->lock);
  f->turn++;
  pthread_cond_broadcast(&f->cond);
  pthread_mutex_unlock(&f->lock);
}

/* Both sides connected before the first turn: A's first statement holds
 * the only slot until A's loop runs again, so a connect of B's still
 * waiting for that slot would never get it. */
static void wait_connected(fair_t* f) {
  pthread_mutex_lock(&f->lock);
  f->connected++;
  pthread_cond_broadcast(&f->cond);
  while (f->connected < 2) pthread_cond_wait(&f->cond, &f->lock);
  pthread_mutex_unlock(&f->lock);
}

/* Submission order: A's first, then B, A, B, ... one statement a turn,
 * each on its own connection.  A's first holds the only slot, and its
 * loop does not run until every statement is submitted, so all the others
 * wait in the executor's FIFO. */
static void* fair_main(void* arg) {
  fair_side_t* s = arg;
  uvodbc_conn_t* c[FAIR_OPS];
  uvodbc_req_t req[FAIR_OPS];
  char sql[FAIR_OPS][128];
  int i;
  ck_assert_int_eq(uv_loop_init(&s->loop), 0);
  for (i = 0; i < FAIR_OPS; i++) c[i] = test_connect_to(&s->loop, s->f->connstr);
  wait_connected(s->f);
  for (i = 0; i < FAIR_OPS; i++) {
    int turn = 2 * i + s->side;
    snprintf(sql[i], sizeof(sql[i]),
             "INSERT INTO " TEST_TABLE("loops_fair") " (label) VALUES ('%c%d')",
             s->side == 0 ? 'a' : 'b', i);
    wait_turn(s->f, turn);
    req[i].data = s;
    ck_assert_int_eq(uvodbc_conn_exec(c[i], &req[i], sql[i], NULL, 0, NULL,
                                      on_fair),
                     0);
    next_turn(s->f);
  }
  while (s->calls < FAIR_OPS) uv_run(&s->loop, UV_RUN_ONCE);
  for (i = 0; i < FAIR_OPS; i++) test_close(&s->loop, c[i]);
  test_loop_close(&s->loop);
  return NULL;
}

START_TEST(loops_fair_fifo) {
  fair_t f;
  fair_side_t side[2];
  pthread_t th[2];
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_batch_t* b;
  unsigned int def = uvodbc_get_worker_limit();
  char got[64] = "";
  size_t row;
  int i;
  memset(&f, 0, sizeof(f));
  pthread_mutex_init(&f.lock, NULL);
  pthread_cond_init(&f.cond, NULL);
  f.connstr = test_connstr();
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, TEST_TABLE("loops_fair"),
                  test_pick("seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                            "label VARCHAR(8)",
                            "seq SERIAL PRIMARY KEY, label VARCHAR(8)",
                            "seq INT AUTO_INCREMENT PRIMARY KEY, "
                            "label VARCHAR(8)"));
  ck_assert_int_eq(uvodbc_set_worker_limit(1), 0);
  for (i = 0; i < 2; i++) {
    memset(&side[i], 0, sizeof(side[i]));
    side[i].f = &f;
    side[i].side = i;
    ck_assert_int_eq(pthread_create(&th[i], NULL, fair_main, &side[i]), 0);
  }
  for (i = 0; i < 2; i++) ck_assert_int_eq(pthread_join(th[i], NULL), 0);
  ck_assert_int_eq(uvodbc_set_worker_limit(def), 0);
  /* The inserts ran one at a time: their order in the table is the order
   * the executor started them. */
  b = test_query(&loop, conn,
                 "SELECT label FROM " TEST_TABLE("loops_fair") " ORDER BY seq",
                 NULL, 0);
  for (row = 0; row < uvodbc_batch_nrows(b); row++) {
    strcat(got, test_get_text(b, 0, row, NULL));
    strcat(got, " ");
  }
  test_free_result(b);
  ck_assert_str_eq(got, "a0 b0 a1 b1 a2 b2 ");
  test_drop_table(&loop, conn, TEST_TABLE("loops_fair"));
  test_close(&loop, conn);
  test_loop_close(&loop);
  pthread_cond_destroy(&f.cond);
  pthread_mutex_destroy(&f.lock);
}
END_TEST

Suite* loops_suite(void) {
  Suite* s = suite_create("loops");
  TCase* tc = tcase_create("loops");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, loops_four_threads);
  tcase_add_test(tc, loops_close_isolated);
  tcase_add_test(tc, loops_fair_fifo);
  suite_add_tcase(s, tc);
  return s;
}
