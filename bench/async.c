/* The uvodbc side: the same work through the async API.  Each step starts
 * the next from its callback; every function runs the loop until its chain
 * has finished, so the caller can time it like a blocking call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "core.h"

/* Dies with the request's diagnostics. */
static void fail(const uvodbc_req_t* req, int status, const char* what) {
  size_t i;
  fprintf(stderr, "bench: uvodbc %s failed: %s (%s)\n", what,
          uvodbc_strerror(status), uvodbc_err_name(status));
  for (i = 0; req != NULL && i < req->ndiag; i++)
    fprintf(stderr, "  [%s] %d %s: %s\n", req->diag[i].sqlstate,
            (int)req->diag[i].native, req->diag[i].function,
            req->diag[i].message);
  exit(1);
}

static void run(async_t* a) {
  uv_run(a->loop, UV_RUN_DEFAULT);
}

/* ---- connect / disconnect ---- */

static void on_connect(uvodbc_req_t* req, int status) {
  if (status != 0) fail(req, status, "connect");
}

void async_connect(async_t* a, uv_loop_t* loop, const char* connstr) {
  uvodbc_req_t req;
  int err;
  a->loop = loop;
  err = uvodbc_connect(loop, &req, connstr, NULL, on_connect);
  if (err != 0) fail(NULL, err, "uvodbc_connect");
  a->conn = req.conn;
  run(a);
}

void async_disconnect(async_t* a) {
  int err = uvodbc_conn_close(a->conn, NULL);
  if (err != 0) fail(NULL, err, "uvodbc_conn_close");
  run(a);
  a->conn = NULL;
}

/* ---- SELECT 1 ---- */

typedef struct select1_s {
  async_t* a;
  size_t left;
  uvodbc_req_t req;
} select1_t;

static void check_one(const uvodbc_req_t* req, const uvodbc_batch_t* batch) {
  int64_t v = 0;
  int err = uvodbc_batch_get_int64(batch, 0, 0, &v);
  if (err != 0) fail(req, err, "uvodbc_batch_get_int64");
  if (uvodbc_batch_nrows(batch) != 1 || v != 1)
    bench_die("uvodbc: SELECT 1 returned %lld", (long long)v);
}

static void on_query(uvodbc_req_t* req, int status) {
  select1_t* s = req->data;
  int err;
  if (status != 0) fail(req, status, "query(SELECT 1)");
  check_one(req, req->batch);
  uvodbc_req_cleanup(req); /* frees the result */
  if (--s->left == 0) return;
  err = uvodbc_conn_query(s->a->conn, req, CORE_SELECT1_SQL, NULL, 0, NULL,
                          on_query);
  if (err != 0) fail(NULL, err, "uvodbc_conn_query");
}

void async_select1_query(async_t* a, size_t k) {
  select1_t s;
  int err;
  s.a = a;
  s.left = k;
  s.req.data = &s;
  err = uvodbc_conn_query(a->conn, &s.req, CORE_SELECT1_SQL, NULL, 0, NULL,
                          on_query);
  if (err != 0) fail(NULL, err, "uvodbc_conn_query");
  run(a);
  if (s.left != 0) bench_die("uvodbc: the SELECT 1 sequence stopped early");
}

static void on_exec(uvodbc_req_t* req, int status) {
  select1_t* s = req->data;
  int err;
  if (status != 0) fail(req, status, "exec(SELECT 1)");
  if (req->cursor == NULL) bench_die("uvodbc: SELECT 1 without a cursor");
  check_one(req, req->batch);
  /* Queued on the connection ahead of the next exec: no need to wait. */
  err = uvodbc_cursor_close(req->cursor, NULL);
  if (err != 0) fail(NULL, err, "uvodbc_cursor_close");
  uvodbc_req_cleanup(req);
  if (--s->left == 0) return;
  err = uvodbc_conn_exec(s->a->conn, req, CORE_SELECT1_SQL, NULL, 0, NULL,
                         on_exec);
  if (err != 0) fail(NULL, err, "uvodbc_conn_exec");
}

void async_select1_exec(async_t* a, size_t k) {
  select1_t s;
  int err;
  s.a = a;
  s.left = k;
  s.req.data = &s;
  err = uvodbc_conn_exec(a->conn, &s.req, CORE_SELECT1_SQL, NULL, 0, NULL,
                         on_exec);
  if (err != 0) fail(NULL, err, "uvodbc_conn_exec");
  run(a); /* returns after the last cursor's close ran */
  if (s.left != 0) bench_die("uvodbc: the SELECT 1 sequence stopped early");
}

typedef struct pipeline_s {
  async_t* a;
  size_t to_start, left;
  uvodbc_req_t reqs[CORE_PIPELINE_DEPTH];
} pipeline_t;

static void start_pipelined(pipeline_t* p, uvodbc_req_t* req);

static void on_pipelined(uvodbc_req_t* req, int status) {
  pipeline_t* p = req->data;
  if (status != 0) fail(req, status, "query(SELECT 1), pipelined");
  check_one(req, req->batch);
  uvodbc_req_cleanup(req);
  p->left--;
  if (p->to_start > 0) start_pipelined(p, req);
}

static void start_pipelined(pipeline_t* p, uvodbc_req_t* req) {
  int err;
  p->to_start--;
  req->data = p;
  err = uvodbc_conn_query(p->a->conn, req, CORE_SELECT1_SQL, NULL, 0, NULL,
                          on_pipelined);
  if (err != 0) fail(NULL, err, "uvodbc_conn_query");
}

void async_select1_pipelined(async_t* a, size_t k) {
  pipeline_t* p = calloc(1, sizeof(*p));
  size_t i;
  if (p == NULL) bench_die("out of memory");
  p->a = a;
  p->to_start = p->left = k;
  for (i = 0; i < CORE_PIPELINE_DEPTH && p->to_start > 0; i++)
    start_pipelined(p, &p->reqs[i]);
  run(a);
  if (p->left != 0) bench_die("uvodbc: the pipelined SELECT 1 stopped early");
  free(p);
}

/* ---- fetch ---- */

typedef struct fetch_s {
  async_t* a;
  uvodbc_cursor_t* cursor;
  size_t batch_rows;
  core_sums_t* sums;
  int read;
  uvodbc_req_t req;
  int closed;
} fetch_t;

static void count_null(const uvodbc_req_t* req, core_sums_t* sums, int err,
                       const char* what) {
  if (err != UVODBC_ENULL) fail(req, err, what);
  sums->nulls++;
}

/* Reads every value of the batch through the public accessors. */
static void consume(const uvodbc_req_t* req, const uvodbc_batch_t* batch,
                    core_sums_t* sums) {
  size_t r, n = uvodbc_batch_nrows(batch);
  for (r = 0; r < n; r++) {
    int64_t i;
    double x;
    const char* text;
    size_t len;
    uvodbc_timestamp_t ts;
    int err;
    if ((err = uvodbc_batch_get_int64(batch, 0, r, &i)) == 0)
      sums->ints += i;
    else
      count_null(req, sums, err, "uvodbc_batch_get_int64");
    if ((err = uvodbc_batch_get_double(batch, 1, r, &x)) == 0)
      sums->doubles += x;
    else
      count_null(req, sums, err, "uvodbc_batch_get_double");
    if ((err = uvodbc_batch_get_text(batch, 2, r, &text, &len)) == 0)
      sums->text_bytes += (int64_t)len;
    else
      count_null(req, sums, err, "uvodbc_batch_get_text");
    if ((err = uvodbc_batch_get_timestamp(batch, 3, r, &ts)) == 0) {
      sums->seconds += core_ts_seconds(ts.day, ts.hour, ts.minute, ts.second);
      sums->nanos += ts.nanosecond;
    } else {
      count_null(req, sums, err, "uvodbc_batch_get_timestamp");
    }
  }
  sums->rows += (int64_t)n;
}

static void on_cursor_closed(uvodbc_cursor_t* cursor) {
  fetch_t* f = uvodbc_cursor_get_data(cursor);
  f->closed = 1;
}

/* One batch of either way of reading: 1 when there are more. */
static int take_batch(fetch_t* f, uvodbc_req_t* req, int status,
                      const char* what) {
  int err;
  if (status == UV_EOF) {
    err = uvodbc_cursor_close(f->cursor, on_cursor_closed);
    if (err != 0) fail(NULL, err, "uvodbc_cursor_close");
    return 0;
  }
  if (status != 0) fail(req, status, what);
  consume(req, req->batch, f->sums);
  core_batch_work(uvodbc_batch_nrows(req->batch));
  return 1;
}

static void on_fetch(uvodbc_req_t* req, int status) {
  fetch_t* f = req->data;
  int err;
  if (!take_batch(f, req, status, "cursor_fetch")) return;
  err = uvodbc_cursor_fetch(f->cursor, req, f->batch_rows, on_fetch);
  if (err != 0) fail(NULL, err, "uvodbc_cursor_fetch");
}

/* The read's callback: the next batch is already being fetched. */
static void on_read(uvodbc_req_t* req, int status) {
  take_batch(req->data, req, status, "cursor_read");
}

static void on_fetch_exec(uvodbc_req_t* req, int status) {
  fetch_t* f = req->data;
  const uvodbc_batch_t* first;
  int err;
  if (status != 0) fail(req, status, "exec(fetch)");
  if (req->cursor == NULL) bench_die("uvodbc: the fetch query has no rows");
  f->sums->first_batch_at = bench_now(); /* in the application's hands */
  f->sums->first_batch_rows = (int64_t)uvodbc_batch_nrows(req->batch);
  f->cursor = req->cursor;
  uvodbc_cursor_set_data(f->cursor, f);
  if (!f->read) {
    on_fetch(req, 0); /* the first batch came with the exec */
    return;
  }
  /* The second batch is fetched while the first one is read (the
   * request is the read's now: keep the batch). */
  first = req->batch;
  err = uvodbc_cursor_read_start(f->cursor, req, f->batch_rows, on_read);
  if (err != 0) fail(NULL, err, "uvodbc_cursor_read_start");
  consume(req, first, f->sums);
  core_batch_work(uvodbc_batch_nrows(first));
}

void async_fetch(async_t* a, size_t batch_rows, int read,
                 core_sums_t* sums) {
  fetch_t f = {0};
  uvodbc_exec_options_t opts;
  int err;
  f.a = a;
  f.batch_rows = batch_rows;
  f.sums = sums;
  f.read = read;
  f.req.data = &f;
  memset(sums, 0, sizeof(*sums));
  uvodbc_exec_options_init(&opts);
  if (batch_rows > 0) opts.batch_rows = batch_rows; /* else the default */
  err = uvodbc_conn_exec(a->conn, &f.req, CORE_FETCH_SQL, NULL, 0, &opts,
                         on_fetch_exec);
  if (err != 0) fail(NULL, err, "uvodbc_conn_exec");
  run(a);
  if (!f.closed) bench_die("uvodbc: the fetch chain stopped early");
}

/* ---- the whole result in one request ---- */

typedef struct query_fetch_s {
  core_sums_t* sums;
  int done;
} query_fetch_t;

static void on_query_fetch(uvodbc_req_t* req, int status) {
  query_fetch_t* q = req->data;
  if (status != 0) fail(req, status, "query(fetch)");
  if (req->batch == NULL) bench_die("uvodbc: the fetch query has no rows");
  q->sums->first_batch_at = bench_now();
  q->sums->first_batch_rows = (int64_t)uvodbc_batch_nrows(req->batch);
  consume(req, req->batch, q->sums);
  core_batch_work(uvodbc_batch_nrows(req->batch));
  uvodbc_req_cleanup(req); /* frees the result */
  q->done = 1;
}

void async_query_fetch(async_t* a, size_t rows, size_t batch_rows,
                       core_sums_t* sums) {
  query_fetch_t q = {0};
  uvodbc_req_t req;
  uvodbc_exec_options_t opts;
  int err;
  q.sums = sums;
  req.data = &q;
  memset(sums, 0, sizeof(*sums));
  uvodbc_exec_options_init(&opts);
  if (batch_rows > 0) opts.batch_rows = batch_rows; /* else the default */
  opts.max_rows = rows + 1; /* the defaults stop at 1,000,000 rows, 256 MiB */
  opts.max_bytes = SIZE_MAX;
  err = uvodbc_conn_query(a->conn, &req, CORE_FETCH_SQL, NULL, 0, &opts,
                          on_query_fetch);
  if (err != 0) fail(NULL, err, "uvodbc_conn_query");
  run(a);
  if (!q.done) bench_die("uvodbc: the whole-result query never called back");
}
