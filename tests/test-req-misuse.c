/* Requests misused: started again while pending (UV_EBUSY, nothing
 * changes), restarted while holding a result (the result is freed), and
 * debug mode's reports of both and of a pool's connection given to
 * uvodbc_conn_close().  A request reused from its own callback, and a
 * request whose address an earlier one had, must still be accepted. */
#include <stdint.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
/* The sanitizers' allocator (mallinfo2 does not see it); declared here:
 * Debian's gcc has no <sanitizer/allocator_interface.h>. */
size_t __sanitizer_get_current_allocated_bytes(void);
#define HEAP_IN_USE() __sanitizer_get_current_allocated_bytes()
#else
#include <malloc.h>
static size_t heap_mallinfo(void) {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}
#define HEAP_IN_USE() heap_mallinfo()
#endif

#include "internal.h" /* req-track.c's table, for req_table_random */
#include "uvodbc-test.h"

#define NMANY 100 /* pending at once: beyond the table's inline slots */

typedef struct {
  uvodbc_req_t req;
  int calls;
  int status;
  int64_t first; /* first cell of a result, -1 for none */
  size_t rows;
} rec_t;

static int strays; /* callbacks of starts that were refused */

static void on_stray(uvodbc_req_t* req, int status) {
  (void)req;
  (void)status;
  strays++;
}

static void rec_init(rec_t* r) {
  memset(r, 0xA5, sizeof(*r)); /* garbage, as an uninitialised request */
  r->req.data = r;
  r->calls = 0;
  r->status = 1;
  r->first = -1;
  r->rows = 0;
}

/* Records the result; keeps it (no uvodbc_req_cleanup). */
static void on_rec(uvodbc_req_t* req, int status) {
  rec_t* r = req->data;
  const uvodbc_batch_t* b = req->batch;
  r->calls++;
  r->status = status;
  r->first = -1;
  if (status == 0 && req->type == UVODBC_REQ_CALL && req->nresults > 0)
    b = req->results[0];
  if (status == 0 && b != NULL) {
    r->rows = uvodbc_batch_nrows(b);
    if (r->rows > 0) uvodbc_batch_get_int64(b, 0, 0, &r->first);
  }
}

static void run_until_calls(uv_loop_t* loop, const rec_t* r, int calls) {
  TEST_RUN_UNTIL(loop, r->calls >= calls, 30000);
  ck_assert_int_eq(r->calls, calls);
}

/* Every start function given the pending request `req`: UV_EBUSY. */
static void refuse_all(uv_loop_t* loop, uvodbc_conn_t* conn,
                       uvodbc_cursor_t* cursor, uvodbc_prepared_t* prepared,
                       uvodbc_req_t* req) {
  uvodbc_param_t row[1];
  int64_t values[1] = {1};
  uvodbc_param_column_t col = {UVODBC_TYPE_INT64, values, NULL, NULL};
  uvodbc_catalog_args_t args;
  row[0] = uvodbc_param_int64(1);
  memset(&args, 0, sizeof(args));
  ck_assert_int_eq(uvodbc_connect(loop, req, test_connstr(), NULL, on_stray),
                   UV_EBUSY);
  ck_assert_int_eq(
      uvodbc_conn_exec(conn, req, "SELECT 1", NULL, 0, NULL, on_stray),
      UV_EBUSY);
  ck_assert_int_eq(
      uvodbc_conn_query(conn, req, "SELECT 1", NULL, 0, NULL, on_stray),
      UV_EBUSY);
  ck_assert_int_eq(uvodbc_conn_prepare(conn, req, "SELECT 1", on_stray),
                   UV_EBUSY);
  ck_assert_int_eq(
      uvodbc_prepared_exec(prepared, req, NULL, 0, NULL, on_stray), UV_EBUSY);
  ck_assert_int_eq(
      uvodbc_prepared_query(prepared, req, NULL, 0, NULL, on_stray),
      UV_EBUSY);
  ck_assert_int_eq(uvodbc_conn_set_autocommit(conn, req, 1, on_stray),
                   UV_EBUSY);
  ck_assert_int_eq(uvodbc_conn_begin(conn, req, on_stray), UV_EBUSY);
  ck_assert_int_eq(uvodbc_conn_commit(conn, req, on_stray), UV_EBUSY);
  ck_assert_int_eq(uvodbc_conn_rollback(conn, req, on_stray), UV_EBUSY);
  ck_assert_int_eq(uvodbc_conn_set_isolation(
                       conn, req, UVODBC_ISOLATION_READ_COMMITTED, on_stray),
                   UV_EBUSY);
  ck_assert_int_eq(uvodbc_conn_ping(conn, req, on_stray), UV_EBUSY);
  ck_assert_int_eq(uvodbc_conn_reset(conn, req, on_stray), UV_EBUSY);
  ck_assert_int_eq(uvodbc_conn_catalog(conn, req, UVODBC_CATALOG_TABLES,
                                       &args, NULL, on_stray),
                   UV_EBUSY);
  ck_assert_int_eq(uvodbc_conn_get_info(conn, req, on_stray), UV_EBUSY);
  ck_assert_int_eq(uvodbc_conn_bulk(conn, req, "SELECT ?", row, 1, 1, NULL,
                                    on_stray),
                   UV_EBUSY);
  ck_assert_int_eq(uvodbc_conn_bulk_columns(conn, req, "SELECT ?", &col, 1,
                                            1, NULL, on_stray),
                   UV_EBUSY);
  ck_assert_int_eq(
      uvodbc_conn_call(conn, req, "SELECT 1", NULL, 0, NULL, on_stray),
      UV_EBUSY);
  ck_assert_int_eq(uvodbc_cursor_fetch(cursor, req, 0, on_stray), UV_EBUSY);
  ck_assert_int_eq(uvodbc_cursor_next_result(cursor, req, on_stray),
                   UV_EBUSY);
  ck_assert_int_eq(uvodbc_cursor_read_start(cursor, req, 0, on_stray),
                   UV_EBUSY);
}

static uvodbc_cursor_t* open_cursor(uv_loop_t* loop, uvodbc_conn_t* conn) {
  rec_t r;
  uvodbc_exec_options_t o;
  uvodbc_exec_options_init(&o);
  o.batch_rows = 1;
  rec_init(&r);
  ck_assert_int_eq(uvodbc_conn_exec(conn, &r.req,
                                    "SELECT 1 UNION ALL SELECT 2", NULL, 0,
                                    &o, on_rec),
                   0);
  run_until_calls(loop, &r, 1);
  ck_assert_int_eq(r.status, 0);
  ck_assert_ptr_nonnull(r.req.cursor);
  return r.req.cursor;
}

static uvodbc_prepared_t* prepare(uv_loop_t* loop, uvodbc_conn_t* conn) {
  rec_t r;
  rec_init(&r);
  ck_assert_int_eq(uvodbc_conn_prepare(conn, &r.req, "SELECT 7", on_rec), 0);
  run_until_calls(loop, &r, 1);
  ck_assert_int_eq(r.status, 0);
  return r.req.prepared;
}

/* Every start function refuses a pending request of each kind (QUERY,
 * CONNECT, PREPARE), and the pending operation then completes normally. */
START_TEST(req_pending_refused) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_conn_t* conn2;
  uvodbc_cursor_t* cursor;
  uvodbc_prepared_t* prepared;
  rec_t r;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  strays = 0;
  conn = test_connect(&loop);
  cursor = open_cursor(&loop, conn);
  prepared = prepare(&loop, conn);

  rec_init(&r);
  ck_assert_int_eq(
      uvodbc_conn_query(conn, &r.req, "SELECT 41", NULL, 0, NULL, on_rec), 0);
  refuse_all(&loop, conn, cursor, prepared, &r.req);
  ck_assert_int_eq(r.req.type, UVODBC_REQ_QUERY); /* untouched */
  ck_assert_ptr_eq(r.req.data, &r);
  run_until_calls(&loop, &r, 1);
  ck_assert_int_eq(r.status, 0);
  ck_assert_int_eq(r.first, 41);
  uvodbc_req_cleanup(&r.req);

  /* A pending connect. */
  rec_init(&r);
  ck_assert_int_eq(
      uvodbc_connect(&loop, &r.req, test_connstr(), NULL, on_rec), 0);
  refuse_all(&loop, conn, cursor, prepared, &r.req);
  run_until_calls(&loop, &r, 1);
  ck_assert_int_eq(r.status, 0);
  conn2 = r.req.conn;
  ck_assert_int_eq(uvodbc_conn_is_open(conn2), 1);

  /* A pending prepare, then the request starts again once finished. */
  rec_init(&r);
  ck_assert_int_eq(uvodbc_conn_prepare(conn2, &r.req, "SELECT 5", on_rec), 0);
  refuse_all(&loop, conn, cursor, prepared, &r.req);
  run_until_calls(&loop, &r, 1);
  ck_assert_int_eq(r.status, 0);
  ck_assert_int_eq(uvodbc_prepared_close(r.req.prepared, NULL), 0);
  ck_assert_int_eq(
      uvodbc_conn_query(conn2, &r.req, "SELECT 43", NULL, 0, NULL, on_rec), 0);
  run_until_calls(&loop, &r, 2);
  ck_assert_int_eq(r.first, 43);
  uvodbc_req_cleanup(&r.req);

  ck_assert_int_eq(uvodbc_cursor_close(cursor, NULL), 0);
  ck_assert_int_eq(uvodbc_prepared_close(prepared, NULL), 0);
  test_close(&loop, conn2);
  test_close(&loop, conn);
  test_loop_close(&loop);
  ck_assert_int_eq(strays, 0);
}
END_TEST

/* The pool's starts refuse a pending request, and the connection's starts
 * refuse a request pending in the pool (and the other way round). */
START_TEST(req_pending_refused_pool) {
  uv_loop_t loop;
  uvodbc_pool_t* pool = NULL;
  uvodbc_pool_options_t o;
  uvodbc_conn_t* conn;
  rec_t q, a;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  strays = 0;
  conn = test_connect(&loop);
  uvodbc_pool_options_init(&o);
  o.max_size = 1;
  ck_assert_int_eq(uvodbc_pool_create(&loop, &pool, test_connstr(), &o, NULL),
                   0);
  rec_init(&q);
  ck_assert_int_eq(uvodbc_pool_query(pool, &q.req, "SELECT 42", NULL, 0,
                                     NULL, on_rec),
                   0);
  ck_assert_int_eq(uvodbc_pool_query(pool, &q.req, "SELECT 1", NULL, 0, NULL,
                                     on_stray),
                   UV_EBUSY);
  ck_assert_int_eq(uvodbc_pool_exec(pool, &q.req, "SELECT 1", NULL, 0, NULL,
                                    on_stray),
                   UV_EBUSY);
  ck_assert_int_eq(uvodbc_pool_acquire(pool, &q.req, on_stray), UV_EBUSY);
  ck_assert_int_eq(
      uvodbc_conn_query(conn, &q.req, "SELECT 1", NULL, 0, NULL, on_stray),
      UV_EBUSY);
  /* An acquire waits behind it (max_size 1). */
  rec_init(&a);
  ck_assert_int_eq(uvodbc_pool_acquire(pool, &a.req, on_rec), 0);
  ck_assert_int_eq(uvodbc_pool_acquire(pool, &a.req, on_stray), UV_EBUSY);
  ck_assert_int_eq(uvodbc_conn_ping(conn, &a.req, on_stray), UV_EBUSY);
  run_until_calls(&loop, &q, 1);
  ck_assert_int_eq(q.status, 0);
  ck_assert_int_eq(q.first, 42);
  run_until_calls(&loop, &a, 1);
  ck_assert_int_eq(a.status, 0);
  /* Finished: both start again, on the connection and in the pool. */
  ck_assert_int_eq(uvodbc_conn_query(a.req.conn, &q.req, "SELECT 44", NULL, 0,
                                     NULL, on_rec),
                   0);
  run_until_calls(&loop, &q, 2);
  ck_assert_int_eq(q.first, 44);
  ck_assert_int_eq(uvodbc_pool_release(pool, a.req.conn), 0);
  ck_assert_int_eq(uvodbc_pool_query(pool, &a.req, "SELECT 45", NULL, 0, NULL,
                                     on_rec),
                   0);
  run_until_calls(&loop, &a, 2);
  ck_assert_int_eq(a.first, 45);
  uvodbc_req_cleanup(&q.req);
  uvodbc_req_cleanup(&a.req);
  ck_assert_int_eq(uvodbc_pool_close(pool, NULL), 0);
  test_close(&loop, conn);
  uv_run(&loop, UV_RUN_DEFAULT);
  test_loop_close(&loop);
  ck_assert_int_eq(strays, 0);
}
END_TEST

/* A fetch loop: each callback starts the next fetch on its own request
 * (accepted), after which the request is pending again (refused). */
typedef struct {
  uvodbc_req_t req;
  uvodbc_conn_t* conn;
  int calls;
  int refused;
  int64_t sum;
  int last;
} loop_t;

static void on_fetch(uvodbc_req_t* req, int status) {
  loop_t* l = req->data;
  const uvodbc_batch_t* b = req->batch;
  size_t i;
  l->calls++;
  l->last = status;
  if (status != 0) return;
  for (i = 0; i < uvodbc_batch_nrows(b); i++) {
    int64_t v;
    ck_assert_int_eq(uvodbc_batch_get_int64(b, 0, i, &v), 0);
    l->sum += v;
  }
  ck_assert_int_eq(uvodbc_cursor_fetch(req->cursor, req, 1, on_fetch), 0);
  if (uvodbc_conn_query(l->conn, req, "SELECT 1", NULL, 0, NULL, on_stray) ==
      UV_EBUSY)
    l->refused++;
}

static void on_query_again(uvodbc_req_t* req, int status) {
  loop_t* l = req->data;
  int64_t v = 0;
  l->calls++;
  l->last = status;
  ck_assert_int_eq(status, 0);
  ck_assert_int_eq(uvodbc_batch_get_int64(req->batch, 0, 0, &v), 0);
  l->sum += v;
  if (l->calls == 5) return;
  /* Restarted from its own callback, without uvodbc_req_cleanup(). */
  ck_assert_int_eq(uvodbc_conn_query(l->conn, req, "SELECT 10", NULL, 0,
                                     NULL, on_query_again),
                   0);
  if (uvodbc_conn_query(l->conn, req, "SELECT 1", NULL, 0, NULL, on_stray) ==
      UV_EBUSY)
    l->refused++;
}

START_TEST(req_reuse_in_callback) {
  uv_loop_t loop;
  loop_t l;
  uvodbc_exec_options_t o;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  strays = 0;
  memset(&l, 0, sizeof(l));
  l.req.data = &l;
  l.conn = test_connect(&loop);
  uvodbc_exec_options_init(&o);
  o.batch_rows = 1;
  ck_assert_int_eq(uvodbc_conn_exec(l.conn, &l.req,
                                    "SELECT 1 UNION ALL SELECT 2 UNION ALL "
                                    "SELECT 3 UNION ALL SELECT 4",
                                    NULL, 0, &o, on_fetch),
                   0);
  TEST_RUN_UNTIL(&loop, l.last == UV_EOF, 30000);
  ck_assert_int_eq(l.calls, 5); /* the exec, 3 fetches, the EOF */
  ck_assert_int_eq(l.sum, 10);
  ck_assert_int_eq(l.refused, 4);
  ck_assert_int_eq(uvodbc_cursor_close(l.req.cursor, NULL), 0);

  memset(&l.req, 0xA5, sizeof(l.req));
  l.req.data = &l;
  l.calls = l.refused = 0;
  l.sum = 0;
  ck_assert_int_eq(uvodbc_conn_query(l.conn, &l.req, "SELECT 10", NULL, 0,
                                     NULL, on_query_again),
                   0);
  TEST_RUN_UNTIL(&loop, l.calls == 5, 30000);
  ck_assert_int_eq(l.sum, 50);
  ck_assert_int_eq(l.refused, 4);
  uvodbc_req_cleanup(&l.req);
  test_close(&loop, l.conn);
  test_loop_close(&loop);
  ck_assert_int_eq(strays, 0);
}
END_TEST

/* A read's request is pending from read_start to the read's end: refused
 * between batches, accepted in the last callback and after read_stop. */
typedef struct {
  uvodbc_req_t req;
  uvodbc_conn_t* conn;
  int calls;
  int refused;
  int stop_after; /* read_stop in this callback (0: read to the end) */
  int last;
  rec_t after; /* the query started on req once the read is over */
} reader_t;

static void on_after(uvodbc_req_t* req, int status) {
  reader_t* rd = req->data;
  rd->after.calls++;
  rd->after.status = status;
  if (status == 0) uvodbc_batch_get_int64(req->batch, 0, 0, &rd->after.first);
  uvodbc_req_cleanup(req);
}

static void on_read(uvodbc_req_t* req, int status) {
  reader_t* rd = req->data;
  rd->calls++;
  rd->last = status;
  if (status == 0 && rd->calls != rd->stop_after) {
    if (uvodbc_conn_query(rd->conn, req, "SELECT 1", NULL, 0, NULL,
                          on_stray) == UV_EBUSY)
      rd->refused++;
    return;
  }
  if (status == 0) ck_assert_int_eq(uvodbc_cursor_read_stop(req->cursor), 0);
  ck_assert_int_eq(uvodbc_conn_query(rd->conn, req, "SELECT 46", NULL, 0,
                                     NULL, on_after),
                   0);
}

static void read_case(int stop_after) {
  uv_loop_t loop;
  reader_t rd;
  uvodbc_cursor_t* cursor;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  strays = 0;
  memset(&rd, 0xA5, sizeof(rd));
  rd.req.data = &rd;
  rd.calls = rd.refused = 0;
  rd.stop_after = stop_after;
  rd.last = 1;
  rd.after.calls = 0;
  rd.conn = test_connect(&loop);
  cursor = open_cursor(&loop, rd.conn); /* rows 1 and 2, batches of 1 */
  ck_assert_int_eq(uvodbc_cursor_read_start(cursor, &rd.req, 1, on_read), 0);
  ck_assert_int_eq(uvodbc_conn_query(rd.conn, &rd.req, "SELECT 1", NULL, 0,
                                     NULL, on_stray),
                   UV_EBUSY);
  TEST_RUN_UNTIL(&loop, rd.after.calls == 1, 30000);
  ck_assert_int_eq(rd.after.status, 0);
  ck_assert_int_eq(rd.after.first, 46);
  if (stop_after) {
    ck_assert_int_eq(rd.calls, 1);
    ck_assert_int_eq(rd.refused, 0);
  } else {
    ck_assert_int_eq(rd.calls, 2); /* row 2, then UV_EOF */
    ck_assert_int_eq(rd.last, UV_EOF);
    ck_assert_int_eq(rd.refused, 1);
  }
  ck_assert_int_eq(uvodbc_cursor_close(cursor, NULL), 0);
  test_close(&loop, rd.conn);
  test_loop_close(&loop);
  ck_assert_int_eq(strays, 0);
}

START_TEST(req_read_pending_until_end) {
  read_case(0);
}
END_TEST

START_TEST(req_read_pending_until_stop) {
  read_case(1);
}
END_TEST

/* Many requests pending at once (the table grows), each refused, each
 * accepted once finished; a start that fails after taking the request
 * leaves nothing behind; a new request at a finished one's address (the
 * heap gives it back) is accepted. */
START_TEST(req_many_and_reused_addresses) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  rec_t* recs;
  rec_t* h;
  uvodbc_param_t bad;
  int i, round;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  strays = 0;
  conn = test_connect(&loop);
  recs = malloc(NMANY * sizeof(*recs));
  ck_assert_ptr_nonnull(recs);
  for (round = 0; round < 2; round++) {
    for (i = 0; i < NMANY; i++) {
      if (round == 0) rec_init(&recs[i]);
      ck_assert_int_eq(uvodbc_conn_query(conn, &recs[i].req, "SELECT 3",
                                         NULL, 0, NULL, on_rec),
                       0);
    }
    for (i = 0; i < NMANY; i++)
      ck_assert_int_eq(uvodbc_conn_exec(conn, &recs[i].req, "SELECT 1", NULL,
                                        0, NULL, on_stray),
                       UV_EBUSY);
    for (i = 0; i < NMANY; i++) {
      run_until_calls(&loop, &recs[i], round + 1);
      ck_assert_int_eq(recs[i].first, 3);
    }
  }
  for (i = 0; i < NMANY; i++) uvodbc_req_cleanup(&recs[i].req);
  free(recs);

  /* A parameter the call rejects after the op took the request. */
  memset(&bad, 0, sizeof(bad));
  bad.type = (uvodbc_type_t)999;
  for (i = 0; i < 3; i++) {
    h = malloc(sizeof(*h));
    ck_assert_ptr_nonnull(h);
    rec_init(h);
    ck_assert_int_ne(uvodbc_conn_query(conn, &h->req, "SELECT ?", &bad, 1,
                                       NULL, on_stray),
                     0);
    ck_assert_int_eq(uvodbc_conn_query(conn, &h->req, "SELECT 9", NULL, 0,
                                       NULL, on_rec),
                     0);
    ck_assert_int_eq(uvodbc_conn_query(conn, &h->req, "SELECT 9", NULL, 0,
                                       NULL, on_stray),
                     UV_EBUSY);
    run_until_calls(&loop, h, 1);
    ck_assert_int_eq(h->first, 9);
    uvodbc_req_cleanup(&h->req);
    free(h); /* the next malloc likely returns the same address */
  }
  test_close(&loop, conn);
  test_loop_close(&loop);
  ck_assert_int_eq(strays, 0);
}
END_TEST

/* ---- restarted while holding a result ---- */

/* ~1000 rows of ~190 bytes: a result of a few hundred KB. */
static const char* big_sql(void) {
  return "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r "
         "WHERE i < 1000) SELECT i, '01234567890123456789012345678901234567"
         "890123456789012345678901234567890123456789012345678901234567890123"
         "456789012345678901234567890123456789012345678901234567890123456789"
         "' FROM r"; /* MariaDB's CTE recursion stops at 1000 */
}

typedef enum { K_QUERY, K_PREPARED, K_POOL, K_CALL, K_INFO, K_BULK } kind_t;

typedef struct {
  uv_loop_t* loop;
  uvodbc_conn_t* conn;
  uvodbc_prepared_t* prepared;
  uvodbc_pool_t* pool;
  int64_t* values; /* K_BULK's column */
  size_t nvalues;
} env_t;

static int start_kind(env_t* e, kind_t k, rec_t* r) {
  uvodbc_param_column_t col = {UVODBC_TYPE_INT64, e->values, NULL, NULL};
  switch (k) {
    case K_QUERY:
      return uvodbc_conn_query(e->conn, &r->req, big_sql(), NULL, 0, NULL,
                               on_rec);
    case K_PREPARED:
      return uvodbc_prepared_query(e->prepared, &r->req, NULL, 0, NULL,
                                   on_rec);
    case K_POOL:
      return uvodbc_pool_query(e->pool, &r->req, big_sql(), NULL, 0, NULL,
                               on_rec);
    case K_CALL:
      return uvodbc_conn_call(e->conn, &r->req, big_sql(), NULL, 0, NULL,
                              on_rec);
    case K_INFO:
      return uvodbc_conn_get_info(e->conn, &r->req, on_rec);
    case K_BULK: /* fails at prepare: every row's status comes back */
      return uvodbc_conn_bulk_columns(e->conn, &r->req,
                                      "INSERT INTO req_no_such_table VALUES "
                                      "(?)",
                                      &col, 1, e->nvalues, NULL, on_rec);
  }
  return UV_EINVAL;
}

/* Restarts a request of kind `k` n times without uvodbc_req_cleanup():
 * the heap must not grow by the results (each `size` bytes or more). */
static void restart_kind(env_t* e, kind_t k, int n, size_t size) {
  rec_t r;
  size_t before = 0, after;
  int i;
  rec_init(&r);
  for (i = 0; i < n; i++) {
    ck_assert_int_eq(start_kind(e, k, &r), 0);
    run_until_calls(e->loop, &r, i + 1);
    if (k == K_BULK) {
      ck_assert_int_ne(r.status, 0);
      ck_assert_uint_eq(r.req.nrow_status, e->nvalues);
    } else {
      ck_assert_int_eq(r.status, 0);
    }
    if (k != K_INFO && k != K_BULK) ck_assert_uint_eq(r.rows, 1000);
    if (i == 2) before = HEAP_IN_USE(); /* after a warm-up */
  }
  after = HEAP_IN_USE();
  /* Leaking would add (n - 3) results: allow a quarter of that. */
  ck_assert_msg(after < before + (size_t)(n - 3) * size / 4,
                "kind %d: the heap grew by %zd bytes over %d restarts", (int)k,
                (ssize_t)(after - before), n - 3);
  uvodbc_req_cleanup(&r.req);
  uvodbc_req_cleanup(&r.req); /* twice is safe */
  ck_assert_ptr_null(r.req.batch);
}

START_TEST(req_restart_frees_result) {
  uv_loop_t loop;
  env_t e;
  rec_t r;
  uvodbc_pool_options_t o;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  memset(&e, 0, sizeof(e));
  e.loop = &loop;
  e.conn = test_connect(&loop);
  rec_init(&r);
  ck_assert_int_eq(uvodbc_conn_prepare(e.conn, &r.req, big_sql(), on_rec), 0);
  run_until_calls(&loop, &r, 1);
  ck_assert_int_eq(r.status, 0);
  e.prepared = r.req.prepared;
  uvodbc_pool_options_init(&o);
  o.max_size = 1;
  ck_assert_int_eq(uvodbc_pool_create(&loop, &e.pool, test_connstr(), &o,
                                      NULL),
                   0);
  e.nvalues = 100000;
  e.values = calloc(e.nvalues, sizeof(*e.values));
  ck_assert_ptr_nonnull(e.values);

  restart_kind(&e, K_QUERY, 23, 100000);
  restart_kind(&e, K_PREPARED, 23, 100000);
  restart_kind(&e, K_POOL, 23, 100000);
  restart_kind(&e, K_CALL, 23, 100000);
  restart_kind(&e, K_INFO, 203, sizeof(uvodbc_info_t));
  restart_kind(&e, K_BULK, 23, e.nvalues);

  free(e.values);
  ck_assert_int_eq(uvodbc_prepared_close(e.prepared, NULL), 0);
  ck_assert_int_eq(uvodbc_pool_close(e.pool, NULL), 0);
  test_close(&loop, e.conn);
  uv_run(&loop, UV_RUN_DEFAULT);
  test_loop_close(&loop);
}
END_TEST

/* ---- debug mode's reports ---- */

#define MAX_LINES 16

static char lines[MAX_LINES][512];
static int nlines;

static void on_log(const char* line, void* data) {
  ck_assert_ptr_eq(data, lines);
  ck_assert_int_lt(nlines, MAX_LINES);
  snprintf(lines[nlines++], sizeof(lines[0]), "%s", line);
  ck_assert_ptr_null(strchr(line, '\n'));
}

/* The connection string's password, if any ("" for none). */
static void password_of(const char* connstr, char* out, size_t size) {
  const char* p = strstr(connstr, "PWD=");
  size_t n = 0;
  out[0] = '\0';
  if (p == NULL) p = strstr(connstr, "Password=");
  if (p == NULL) return;
  p = strchr(p, '=') + 1;
  while (p[n] != '\0' && p[n] != ';' && n + 1 < size) n++;
  memcpy(out, p, n);
  out[n] = '\0';
}

static void on_acquired(uvodbc_req_t* req, int status) {
  rec_t* r = req->data;
  r->calls++;
  r->status = status;
}

START_TEST(req_debug_reports) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_pool_t* pool = NULL;
  uvodbc_pool_options_t o;
  uvodbc_debug_options_t d;
  rec_t r, a;
  char pwd[128];
  int i;
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  strays = 0;
  nlines = 0;
  uvodbc_debug_options_init(&d);
  d.enabled = 1;
  d.slow_callback_ms = 60000; /* only misuse here */
  d.slow_worker_wait_ms = 60000;
  d.log = on_log;
  d.log_data = lines;
  ck_assert_int_eq(uvodbc_set_debug(&d), 0);
  conn = test_connect(&loop);
  ck_assert_int_eq(nlines, 0);

  /* 1: a query started on a pending query's request. */
  rec_init(&r);
  ck_assert_int_eq(
      uvodbc_conn_query(conn, &r.req, "SELECT 5", NULL, 0, NULL, on_rec), 0);
  ck_assert_int_eq(
      uvodbc_conn_query(conn, &r.req, "SELECT 6", NULL, 0, NULL, on_stray),
      UV_EBUSY);
  ck_assert_int_eq(nlines, 1);
  ck_assert_ptr_nonnull(strstr(lines[0], "misuse"));
  ck_assert_ptr_nonnull(strstr(lines[0], "pending"));
  ck_assert_ptr_nonnull(strstr(lines[0], "query"));
  ck_assert_ptr_nonnull(strstr(lines[0], "UV_EBUSY"));
  run_until_calls(&loop, &r, 1);
  ck_assert_int_eq(r.first, 5);

  /* 2: restarted while holding its result. */
  ck_assert_int_eq(
      uvodbc_conn_exec(conn, &r.req, "SELECT 7", NULL, 0, NULL, on_rec), 0);
  ck_assert_int_eq(nlines, 2);
  ck_assert_ptr_nonnull(strstr(lines[1], "misuse"));
  ck_assert_ptr_nonnull(strstr(lines[1], "exec"));
  ck_assert_ptr_nonnull(strstr(lines[1], "query result"));
  ck_assert_ptr_nonnull(strstr(lines[1], "uvodbc_req_cleanup"));
  run_until_calls(&loop, &r, 2);
  ck_assert_int_eq(r.first, 7);
  ck_assert_int_eq(uvodbc_cursor_close(r.req.cursor, NULL), 0);
  /* Not reported: an EXEC holds nothing to free. */
  ck_assert_int_eq(
      uvodbc_conn_query(conn, &r.req, "SELECT 8", NULL, 0, NULL, on_rec), 0);
  run_until_calls(&loop, &r, 3);
  uvodbc_req_cleanup(&r.req);
  ck_assert_int_eq(nlines, 2);

  /* 3: a pool's connection given to uvodbc_conn_close(). */
  uvodbc_pool_options_init(&o);
  o.max_size = 1;
  ck_assert_int_eq(uvodbc_pool_create(&loop, &pool, test_connstr(), &o, NULL),
                   0);
  rec_init(&a);
  ck_assert_int_eq(uvodbc_pool_acquire(pool, &a.req, on_acquired), 0);
  run_until_calls(&loop, &a, 1);
  ck_assert_int_eq(a.status, 0);
  ck_assert_int_eq(uvodbc_conn_close(a.req.conn, NULL), UV_EINVAL);
  ck_assert_int_eq(nlines, 3);
  ck_assert_ptr_nonnull(strstr(lines[2], "misuse"));
  ck_assert_ptr_nonnull(strstr(lines[2], "uvodbc_conn_close"));
  ck_assert_ptr_nonnull(strstr(lines[2], "pool"));
  ck_assert_int_eq(uvodbc_conn_is_open(a.req.conn), 1); /* untouched */
  ck_assert_int_eq(uvodbc_pool_release(pool, a.req.conn), 0);
  ck_assert_int_eq(uvodbc_pool_close(pool, NULL), 0);

  password_of(test_connstr(), pwd, sizeof(pwd));
  for (i = 0; i < nlines; i++) {
    ck_assert_ptr_null(strchr(lines[i], '\n'));
    if (pwd[0] != '\0') ck_assert_ptr_null(strstr(lines[i], pwd));
  }
  test_close(&loop, conn);
  uv_run(&loop, UV_RUN_DEFAULT);
  test_loop_close(&loop);
  ck_assert_int_eq(nlines, 3);
  ck_assert_int_eq(strays, 0);
  d.enabled = 0;
  ck_assert_int_eq(uvodbc_set_debug(&d), 0);
}
END_TEST

/* req-track.c's table against a model: random starts, completions and
 * failed starts over 600 requests (the table grows, shrinks, wraps). */
START_TEST(req_table_random) {
  enum { N = 600 };
  static uvodbc_req_t reqs[N];
  static int pending[N];
  unsigned int seed = 12345;
  int owner_tag = 0; /* an owner the table only compares */
  int i, step;
  memset(reqs, 0, sizeof(reqs)); /* type UNKNOWN: holds no result */
  for (step = 0; step < 200000; step++) {
    seed = seed * 1103515245u + 12345u;
    i = (int)((seed >> 8) % N);
    if (pending[i]) {
      ck_assert_int_eq(uvodbc__req_start(&reqs[i], "test"), UV_EBUSY);
      if ((seed >> 4) & 1)
        uvodbc__req_untrack(&reqs[i], &owner_tag);
      else
        uvodbc__req_forget(&reqs[i], &owner_tag);
      pending[i] = 0;
    } else {
      ck_assert_int_eq(uvodbc__req_start(&reqs[i], "test"), 0);
      uvodbc__req_track(&reqs[i], &owner_tag);
      pending[i] = 1;
    }
    if (step % 50000 == 49999) /* everything completes: back to empty */
      for (i = 0; i < N; i++)
        if (pending[i]) {
          uvodbc__req_untrack(&reqs[i], NULL);
          pending[i] = 0;
        }
  }
  for (i = 0; i < N; i++) {
    ck_assert_int_eq(uvodbc__req_start(&reqs[i], "test"), 0);
    uvodbc__req_forget(&reqs[i], &owner_tag); /* nothing to forget */
  }
}
END_TEST

Suite* req_misuse_suite(void) {
  Suite* s = suite_create("req_misuse");
  TCase* tc = tcase_create("req_misuse");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, req_pending_refused);
  tcase_add_test(tc, req_pending_refused_pool);
  tcase_add_test(tc, req_reuse_in_callback);
  tcase_add_test(tc, req_read_pending_until_end);
  tcase_add_test(tc, req_read_pending_until_stop);
  tcase_add_test(tc, req_many_and_reused_addresses);
  tcase_add_test(tc, req_restart_frees_result);
  tcase_add_test(tc, req_debug_reports);
  tcase_add_test(tc, req_table_random);
  suite_add_tcase(s, tc);
  return s;
}
