/* uvodbc_pool_exec / uvodbc_pool_query: a request that waits for a
 * connection like an acquire, runs one statement on it, gives it back and
 * delivers the statement's result.  The text and parameters are copied
 * once, at the call, and that copy moves to the statement. */
#include "pool-internal.h"

static void on_statement(uvodbc_req_t* inner, int status) {
  preq_t* p = inner->data;
  uvodbc_pool_t* pool = p->pool;
  slot_t* s = p->slot;
  uvodbc_req_t* req = p->req;
  uvodbc_req_cb cb = p->cb;

  uvodbc__preq_list_unlink(&pool->running, p);
  uvodbc__pool_count_outcome(pool, inner, status);
  req->status = status;
  req->rows_affected = inner->rows_affected;
  req->ndiag = inner->ndiag; /* valid until this callback returns */
  req->diag = inner->diag;
  if (p->kind == P_QUERY && status == 0) {
    req->batch = inner->batch; /* ownership moves to the caller's req */
    inner->batch = NULL;
  }
  uvodbc_req_cleanup(inner); /* forgets it: the result moved */
  if (inner->cursor != NULL) { /* pool_exec returns no rows */
    uvodbc_cursor_close(inner->cursor, NULL);
    req->rows_affected = -1;
  }
  s->job = NULL;
  p->slot = NULL;
  if (s->state == S_BORROWED) /* else terminated */
    uvodbc__slot_give_back(s, 0);
  uvodbc__req_untrack(req, p); /* reusable from the callback */
  uvodbc__preq_free(p);
  if (cb != NULL) cb(req, status);
  uvodbc__pool_finish(pool);
}

void uvodbc__job_start(preq_t* p, slot_t* s) {
  uvodbc_pool_t* pool = p->pool;
  uint64_t handed_ns = uv_hrtime(); /* the wait ends before the statement's
                                       submission wakes a worker */
  int err;
  p->state = P_RUNNING;
  p->slot = s;
  s->job = p;
  uvodbc__preq_list_push(&pool->running, p);
  p->inner.data = p;
  err = uvodbc__exec_start_owned(s->conn, &p->inner,
                                 p->kind == P_EXEC ? OP_EXEC : OP_QUERY,
                                 &p->sql, &p->params,
                                 p->has_opts ? &p->opts : NULL, on_statement);
  if (err == 0) {
    uvodbc__pool_count_acquire(pool, p, handed_ns);
  } else { /* nothing ran: the connection stays good; counted as failed */
    uvodbc__preq_list_unlink(&pool->running, p);
    s->job = NULL;
    p->slot = NULL;
    uvodbc__slot_idle_push(s);
    p->status = err;
    uvodbc__pool_ready_push(p);
  }
}

static int start_job(uvodbc_pool_t* pool, uvodbc_req_t* req, preq_kind_t kind,
                     const char* sql, const uvodbc_param_t* params,
                     size_t nparams, const uvodbc_exec_options_t* opts,
                     uvodbc_req_cb cb) {
  preq_t* p;
  size_t i;
  int err;
  if (pool == NULL || req == NULL || sql == NULL) return UV_EINVAL;
  if (nparams > 0 && params == NULL) return UV_EINVAL;
  for (i = 0; i < nparams; i++) /* an OUT value would have nowhere to go */
    if (params[i].direction != UVODBC_PARAM_IN) return UV_EINVAL;
  if (pool->closing) return UVODBC_ECLOSED;
  err = uvodbc__req_start(req, kind == P_EXEC ? "pool exec" : "pool query");
  if (err != 0) return err;
  p = uvodbc__preq_new(pool, req, cb, kind);
  if (p == NULL) return UV_ENOMEM;
  p->sql = uvodbc__strdup(sql);
  err = p->sql == NULL ? UV_ENOMEM
                       : uvodbc__params_copy(&p->params, params, nparams);
  if (err != 0) {
    uvodbc__preq_free(p);
    return err;
  }
  if (opts != NULL) {
    p->opts = *opts;
    p->has_opts = 1;
  }
  uvodbc__pool_enqueue(pool, p,
                       kind == P_EXEC ? UVODBC_REQ_EXEC : UVODBC_REQ_QUERY);
  return 0;
}

int uvodbc_pool_exec(uvodbc_pool_t* pool, uvodbc_req_t* req, const char* sql,
                     const uvodbc_param_t* params, size_t nparams,
                     const uvodbc_exec_options_t* opts, uvodbc_req_cb cb) {
  return start_job(pool, req, P_EXEC, sql, params, nparams, opts, cb);
}

int uvodbc_pool_query(uvodbc_pool_t* pool, uvodbc_req_t* req,
                      const char* sql, const uvodbc_param_t* params,
                      size_t nparams, const uvodbc_exec_options_t* opts,
                      uvodbc_req_cb cb) {
  return start_job(pool, req, P_QUERY, sql, params, nparams, opts, cb);
}
