/* The endpoints on uvodbc: every statement runs on libuv's workers, the
 * loop thread only moves bytes.  One job per HTTP request; the job outlives
 * the h2o request when the client goes away first (job->req is NULL then)
 * and ends when its last uvodbc callback has run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

typedef struct job_s job_t;
struct job_s {
  h2o_generator_t gen;  /* first: h2o hands it back to proceed()       */
  app_t* app;
  h2o_req_t* req;       /* NULL once the response is sent or the client
                           has gone                                    */
  job_t** slot;         /* in req->pool: disposing the request clears it */
  uvodbc_req_t q;
  uvodbc_param_t params[3];
  uvodbc_conn_t* conn;  /* borrowed (POST, list)                       */
  uvodbc_cursor_t* cursor;
  item_t item;          /* POST: the parsed body, borrowing from `body` */
  json_t* body;
  char* buf;            /* list: the chunk h2o is sending (until proceed) */
  size_t len, cap, rows;
  int reading, closing;
};

static void list_finish(job_t* job);
static void (*stopped_cb)(app_t* app);
static app_t* stopped_app;

/* The client went away (h2o disposes the request's pool). */
static void on_req_gone(void* p) {
  job_t* job = *(job_t**)p;
  if (job == NULL) return;
  job->req = NULL;
  job->slot = NULL;
  /* A stream between two chunks has no callback coming: end it now. */
  if (job->cursor != NULL && !job->closing) list_finish(job);
}

static job_t* job_new(app_t* app, h2o_req_t* req) {
  job_t* job = calloc(1, sizeof(*job));
  if (job == NULL) return NULL;
  job->slot = h2o_mem_alloc_shared(&req->pool, sizeof(*job->slot),
                                   on_req_gone);
  *job->slot = job;
  job->app = app;
  job->req = req;
  job->q.data = job;
  return job;
}

/* Detaches the request to answer it: after the final send h2o may dispose
 * it at any time. */
static h2o_req_t* take_req(job_t* job) {
  h2o_req_t* req = job->req;
  if (job->slot != NULL) *job->slot = NULL;
  job->slot = NULL;
  job->req = NULL;
  return req;
}

static void job_free(job_t* job) {
  take_req(job);
  json_decref(job->body);
  free(job->buf);
  free(job);
}

static const char* sqlstate_of(const uvodbc_req_t* q) {
  return q->ndiag > 0 ? q->diag[0].sqlstate : NULL;
}

/* Answers a failed operation; false when the client is already gone. */
static void fail(job_t* job, int status) {
  h2o_req_t* req = take_req(job);
  if (req != NULL) respond_db_error(req, status, sqlstate_of(&job->q));
}

static json_t* row_json(const uvodbc_batch_t* b, size_t row) {
  int64_t id = 0, qty = 0;
  const char* name = "";
  size_t len = 0;
  int has_qty;
  uvodbc_batch_get_int64(b, 0, row, &id);
  uvodbc_batch_get_text(b, 1, row, &name, &len);
  has_qty = uvodbc_batch_get_int64(b, 2, row, &qty) == 0;
  return item_json(id, name, len, has_qty, qty);
}

/* GET /items/{id}: one call through the pool ---------------------------- */

static void on_got_item(uvodbc_req_t* q, int status) {
  job_t* job = q->data;
  h2o_req_t* req;
  if (status != 0) {
    fail(job, status);
  } else if ((req = take_req(job)) != NULL) {
    if (q->batch == NULL || uvodbc_batch_nrows(q->batch) == 0)
      respond_error(req, 404, "no such item");
    else
      respond_json(req, 200, row_json(q->batch, 0));
  }
  uvodbc_req_cleanup(q); /* frees the result */
  job_free(job);
}

void async_get_item(app_t* app, h2o_req_t* req, int64_t id) {
  job_t* job = job_new(app, req);
  int err;
  if (job == NULL) {
    respond_error(req, 500, "out of memory");
    return;
  }
  job->params[0] = uvodbc_param_int64(id);
  err = uvodbc_pool_query(app->pool, &job->q, SQL_GET, job->params, 1, NULL,
                          on_got_item);
  if (err != 0) {
    respond_db_error(take_req(job), err, NULL);
    job_free(job);
  }
}

/* GET /slow: a slow statement through the same pool (the measurement) */

static void on_slow(uvodbc_req_t* q, int status) {
  job_t* job = q->data;
  h2o_req_t* req;
  if (status != 0)
    fail(job, status);
  else if ((req = take_req(job)) != NULL)
    respond_json(req, 200, json_pack("{sb}", "done", 1));
  uvodbc_req_cleanup(q);
  job_free(job);
}

void async_slow(app_t* app, h2o_req_t* req) {
  job_t* job = job_new(app, req);
  int err;
  if (job == NULL) {
    respond_error(req, 500, "out of memory");
    return;
  }
  err = uvodbc_pool_query(app->pool, &job->q, app->slow_sql, NULL, 0, NULL,
                          on_slow);
  if (err != 0) {
    respond_db_error(take_req(job), err, NULL);
    job_free(job);
  }
}

/* POST /items: begin, insert, commit on a borrowed connection ----------- */

/* Ends a POST: the release rolls back a transaction left open. */
static void post_done(job_t* job, int status) {
  if (status != 0) fail(job, status);
  if (job->conn != NULL) uvodbc_pool_release(job->app->pool, job->conn);
  job_free(job);
}

static void on_committed(uvodbc_req_t* q, int status) {
  job_t* job = q->data;
  h2o_req_t* req;
  if (status == 0 && (req = take_req(job)) != NULL)
    respond_json(req, 201,
                 item_json(job->item.id, job->item.name, job->item.name_len,
                           job->item.has_qty, job->item.qty));
  post_done(job, status);
}

static void on_inserted(uvodbc_req_t* q, int status) {
  job_t* job = q->data;
  if (status == 0) {
    if (q->cursor != NULL) uvodbc_cursor_close(q->cursor, NULL);
    status = uvodbc_conn_commit(job->conn, q, on_committed);
    if (status == 0) return;
  }
  post_done(job, status);
}

static void on_begun(uvodbc_req_t* q, int status) {
  job_t* job = q->data;
  if (status == 0) {
    job->params[0] = uvodbc_param_int64(job->item.id);
    job->params[1] = uvodbc_param_text(job->item.name, job->item.name_len);
    job->params[2] = job->item.has_qty ? uvodbc_param_int64(job->item.qty)
                                       : uvodbc_param_null();
    status = uvodbc_conn_exec(job->conn, q, SQL_INSERT, job->params, 3, NULL,
                              on_inserted);
    if (status == 0) return;
  }
  post_done(job, status);
}

static void on_post_acquired(uvodbc_req_t* q, int status) {
  job_t* job = q->data;
  if (status == 0) {
    job->conn = q->conn;
    status = uvodbc_conn_begin(job->conn, q, on_begun);
    if (status == 0) return;
  }
  post_done(job, status);
}

void async_post_item(app_t* app, h2o_req_t* req) {
  job_t* job = job_new(app, req);
  const char* why;
  int err;
  if (job == NULL) {
    respond_error(req, 500, "out of memory");
    return;
  }
  if (parse_item(&req->entity, &job->body, &job->item, &why) != 0) {
    respond_error(take_req(job), 400, why);
    job_free(job);
    return;
  }
  err = uvodbc_pool_acquire(app->pool, &job->q, on_post_acquired);
  if (err != 0) post_done(job, err);
}

/* GET /items?limit=N: a cursor streamed as chunked JSON ----------------- */
/* One chunk per batch.  The read is stopped while h2o sends a chunk and
 * started again from proceed(): a slow client slows the fetches instead of
 * piling batches up in memory. */

static void on_list_cursor_closed(uvodbc_cursor_t* cursor) {
  job_t* job = uvodbc_cursor_get_data(cursor);
  uvodbc_pool_release(job->app->pool, job->conn);
  job_free(job);
}

static void list_finish(job_t* job) {
  job->closing = 1;
  uvodbc_cursor_set_data(job->cursor, job);
  uvodbc_cursor_close(job->cursor, on_list_cursor_closed);
  job->cursor = NULL;
}

static int append(job_t* job, const char* s, size_t n) {
  if (job->len + n > job->cap) {
    size_t cap = job->cap > 0 ? job->cap : 4096;
    char* p;
    while (cap < job->len + n) cap *= 2;
    p = realloc(job->buf, cap);
    if (p == NULL) return -1;
    job->buf = p;
    job->cap = cap;
  }
  memcpy(job->buf + job->len, s, n);
  job->len += n;
  return 0;
}

static int append_rows(job_t* job, const uvodbc_batch_t* b) {
  size_t i, n = b != NULL ? uvodbc_batch_nrows(b) : 0;
  for (i = 0; i < n; i++) {
    json_t* row = row_json(b, i);
    char* text = row != NULL ? json_dumps(row, JSON_COMPACT) : NULL;
    int err = text == NULL || (job->rows++ > 0 && append(job, ",", 1) != 0) ||
              append(job, text, strlen(text)) != 0;
    json_decref(row);
    free(text);
    if (err) return -1;
  }
  return 0;
}

static void send_chunk(job_t* job) {
  h2o_iovec_t chunk = h2o_iovec_init(job->buf, job->len);
  h2o_send(job->req, &chunk, 1, H2O_SEND_STATE_IN_PROGRESS);
}

/* The last chunk, or an abort after an error (the status line is out). */
static void send_last(job_t* job, int ok) {
  static const char tail[] = "]}";
  h2o_iovec_t chunk = h2o_iovec_init(tail, 2);
  h2o_req_t* req = take_req(job);
  if (ok)
    h2o_send(req, &chunk, 1, H2O_SEND_STATE_FINAL);
  else
    h2o_send(req, NULL, 0, H2O_SEND_STATE_ERROR);
  list_finish(job);
}

static void on_list_read(uvodbc_req_t* q, int status) {
  job_t* job = q->data;
  job->reading = 0;
  if (status == 0) {
    job->len = 0; /* h2o is done with the last chunk (proceed came) */
    uvodbc_cursor_read_stop(job->cursor);
    if (append_rows(job, q->batch) != 0) {
      send_last(job, 0);
      return;
    }
    send_chunk(job);
  } else {
    if (status != UV_EOF)
      fprintf(stderr, "http-server: list: %s\n", uvodbc_err_name(status));
    send_last(job, status == UV_EOF);
  }
}

/* h2o has sent the last chunk: fetch the next. */
static void on_proceed(h2o_generator_t* gen, h2o_req_t* req) {
  job_t* job = (job_t*)gen;
  int err;
  (void)req;
  if (job->closing || job->reading) return;
  job->reading = 1;
  err = uvodbc_cursor_read_start(job->cursor, &job->q, 0, on_list_read);
  if (err != 0) {
    job->reading = 0;
    send_last(job, 0);
  }
}

static void on_stop(h2o_generator_t* gen, h2o_req_t* req) {
  (void)gen; /* on_req_gone() ends the job */
  (void)req;
}

static void on_list_exec(uvodbc_req_t* q, int status) {
  job_t* job = q->data;
  h2o_req_t* req = job->req;
  if (status != 0 || q->cursor == NULL) {
    fail(job, status != 0 ? status : UVODBC_ESQL);
    uvodbc_pool_release(job->app->pool, job->conn);
    job_free(job);
    return;
  }
  job->cursor = q->cursor;
  if (req == NULL) { /* the client went away */
    list_finish(job);
    return;
  }
  req->res.status = 200;
  req->res.reason = "OK";
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL,
                 H2O_STRLIT("application/json"));
  job->gen.proceed = on_proceed;
  job->gen.stop = on_stop;
  h2o_start_response(req, &job->gen);
  if (append(job, "{\"items\":[", 10) != 0 ||
      append_rows(job, q->batch) != 0) {
    send_last(job, 0);
    return;
  }
  send_chunk(job);
}

static void on_list_acquired(uvodbc_req_t* q, int status) {
  job_t* job = q->data;
  uvodbc_exec_options_t opts;
  if (status != 0) {
    fail(job, status);
    job_free(job);
    return;
  }
  job->conn = q->conn;
  if (job->req == NULL) {
    uvodbc_pool_release(job->app->pool, job->conn);
    job_free(job);
    return;
  }
  uvodbc_exec_options_init(&opts);
  opts.batch_rows = job->app->batch_rows;
  status = uvodbc_conn_exec(job->conn, q, SQL_LIST, job->params, 1, &opts,
                            on_list_exec);
  if (status != 0) {
    fail(job, status);
    uvodbc_pool_release(job->app->pool, job->conn);
    job_free(job);
  }
}

void async_list_items(app_t* app, h2o_req_t* req, long limit) {
  job_t* job = job_new(app, req);
  int err;
  if (job == NULL) {
    respond_error(req, 500, "out of memory");
    return;
  }
  job->params[0] = uvodbc_param_int64(limit);
  err = uvodbc_pool_acquire(app->pool, &job->q, on_list_acquired);
  if (err != 0) {
    fail(job, err);
    job_free(job);
  }
}

/* GET /stats ------------------------------------------------------------- */

void async_stats(app_t* app, h2o_req_t* req) {
  uvodbc_pool_stats_t st;
  json_t* ops = json_object();
  int k;
  if (uvodbc_pool_stats(app->pool, &st) != 0) {
    json_decref(ops);
    respond_error(req, 500, "no statistics");
    return;
  }
  for (k = 0; k <= UVODBC_OP_CALL; k++) {
    if (app->ops[k].count == 0) continue;
    json_object_set_new(
        ops, uvodbc_op_kind_name((uvodbc_op_kind_t)k),
        json_pack("{sIsIsfsfsf}", "count", (json_int_t)app->ops[k].count,
                  "failed", (json_int_t)app->ops[k].failed, "queued_ms",
                  app->ops[k].queued_ms, "waited_ms", app->ops[k].waited_ms,
                  "worked_ms", app->ops[k].worked_ms));
  }
  respond_json(req, 200, json_pack(
      "{sIs{sIsIsIsIsIsIsIsIsIsIsIsIsIsIsIsIsIsIsIsIsIsIsIsI}so}",
      "requests", (json_int_t)app->requests, "pool",
      "size", (json_int_t)st.size, "idle", (json_int_t)st.idle,
      "in_use", (json_int_t)st.in_use, "waiting", (json_int_t)st.waiting,
      "connecting", (json_int_t)st.connecting,
      "acquires", (json_int_t)st.acquires, "timeouts", (json_int_t)st.timeouts,
      "connects", (json_int_t)st.connects,
      "connect_errors", (json_int_t)st.connect_errors,
      "evictions", (json_int_t)st.evictions, "expired", (json_int_t)st.expired,
      "wait_mean_us", (json_int_t)st.wait_mean_us,
      "wait_max_us", (json_int_t)st.wait_max_us,
      "wait_p50_us", (json_int_t)st.wait_p50_us,
      "wait_p99_us", (json_int_t)st.wait_p99_us,
      "ops_ok", (json_int_t)st.ops_ok,
      "ops_sql_errors", (json_int_t)st.ops_sql_errors,
      "ops_timeouts", (json_int_t)st.ops_timeouts,
      "ops_cancelled", (json_int_t)st.ops_cancelled,
      "ops_disconnects", (json_int_t)st.ops_disconnects,
      "resets", (json_int_t)st.resets,
      "reset_us_total", (json_int_t)st.reset_us_total,
      "validations", (json_int_t)st.validations,
      "validate_us_total", (json_int_t)st.validate_us_total,
      "operations", ops));
}

/* Every operation of the pool's connections, summed by kind for /stats. */
static void on_trace(const uvodbc_trace_event_t* ev, void* data) {
  app_t* app = data;
  if (ev->phase != UVODBC_TRACE_FINISHED) return;
  app->ops[ev->kind].count++;
  if (ev->status != 0 && ev->status != UV_EOF) app->ops[ev->kind].failed++;
  app->ops[ev->kind].queued_ms += (double)ev->wait_conn_ns / 1e6;
  app->ops[ev->kind].waited_ms += (double)ev->wait_worker_ns / 1e6;
  app->ops[ev->kind].worked_ms += (double)ev->work_ns / 1e6;
}

/* Start and stop --------------------------------------------------------- */

static int created;

static void on_created(uvodbc_req_t* q, int status) {
  size_t i;
  created = status == 0 ? 1 : -1;
  if (status != 0) {
    /* Diagnostic messages are redacted of passwords by uvodbc. */
    fprintf(stderr, "http-server: creating table items: %s\n",
            uvodbc_strerror(status));
    for (i = 0; i < q->ndiag; i++)
      fprintf(stderr, "  [%s] %s\n", q->diag[i].sqlstate, q->diag[i].message);
  }
}

int async_start(app_t* app, const char* connstr, unsigned int pool_size) {
  uvodbc_pool_options_t opts;
  uvodbc_req_t q;
  int err;
  uvodbc_pool_options_init(&opts);
  opts.min_size = 1;
  opts.max_size = pool_size;
  opts.acquire_timeout_ms = 10000;
  opts.conn.trace = on_trace;
  opts.conn.trace_data = app;
  err = uvodbc_pool_create(app->loop, &app->pool, connstr, &opts, NULL);
  if (err != 0) {
    fprintf(stderr, "http-server: pool: %s\n", uvodbc_strerror(err));
    return err;
  }
  /* The table exists before the first request is accepted. */
  err = uvodbc_pool_exec(app->pool, &q, SQL_CREATE, NULL, 0, NULL,
                         on_created);
  while (err == 0 && created == 0) uv_run(app->loop, UV_RUN_ONCE);
  if (err != 0 || created < 0) {
    uvodbc_pool_close(app->pool, NULL);
    return err != 0 ? err : -1;
  }
  return 0;
}

static void on_pool_closed(uvodbc_pool_t* pool) {
  (void)pool;
  stopped_cb(stopped_app);
}

/* After it, no callback of a job runs: main() stops the loop. */
void async_terminate(app_t* app) {
  uvodbc_pool_terminate(app->pool, on_pool_closed);
}

void async_stop(app_t* app, void (*done)(app_t* app)) {
  stopped_cb = done;
  stopped_app = app;
  uvodbc_pool_close(app->pool, on_pool_closed);
}
