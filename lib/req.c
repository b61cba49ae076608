/* Requests and the operations behind them.
 *
 * An operation (uvodbc_op_t) is the library's private half of a request: its
 * payload, its diagnostics and its place in the strand.  It is freed right
 * after the callback; what the callback may keep (a QUERY result) moves to
 * the request. */
#include <string.h>

#include "internal.h"

void uvodbc__op_attach(uvodbc_op_t* op, uvodbc_req_t* req,
                       uvodbc_req_cb cb) {
  static const uvodbc_req_type_t req_types[] = {
      [OP_CONNECT] = UVODBC_REQ_CONNECT, [OP_EXEC] = UVODBC_REQ_EXEC,
      [OP_QUERY] = UVODBC_REQ_QUERY,     [OP_FETCH] = UVODBC_REQ_FETCH,
      [OP_NEXT_RESULT] = UVODBC_REQ_NEXT_RESULT, [OP_TXN] = UVODBC_REQ_TXN,
      [OP_PREPARE] = UVODBC_REQ_PREPARE, [OP_INFO] = UVODBC_REQ_INFO,
      [OP_BULK] = UVODBC_REQ_BULK,       [OP_CALL] = UVODBC_REQ_CALL};
  if (op->req != NULL && op->req != req) uvodbc__req_forget(op->req, op);
  op->req = req;
  op->cb = cb;
  if (req != NULL) {
    uvodbc__req_track(req, op);
    void* data = req->data;
    memset(req, 0, sizeof(*req));
    req->data = data;
    req->type = req_types[op->kind];
    req->conn = op->conn;
    req->rows_affected = -1;
    req->op = op;
  }
}

uvodbc_op_t* uvodbc__op_new(uvodbc_conn_t* conn, uvodbc__op_kind_t kind,
                            const uvodbc__op_vtable_t* vt, uvodbc_req_t* req,
                            uvodbc_req_cb cb) {
  uvodbc_op_t* op = uvodbc__calloc(1, sizeof(*op));
  if (op == NULL) return NULL;
  op->kind = kind;
  op->vt = vt;
  op->conn = conn;
  op->queued_ns = uv_hrtime();
  uvodbc__debug_check_thread(conn,
                             uvodbc_op_kind_name((uvodbc_op_kind_t)kind));
  uvodbc__op_attach(op, req, cb);
  return op;
}

static void free_timer(uv_handle_t* handle) {
  uvodbc__free(handle);
}

void uvodbc__op_free(uvodbc_op_t* op) {
  if (op->req != NULL) uvodbc__req_forget(op->req, op);
  uvodbc__trace_finished(op, op->status);
  if (op->timer != NULL) {
    uv_timer_stop(op->timer);
    uv_close((uv_handle_t*)op->timer, free_timer);
  }
  uvodbc__cancel_unref(op->cancel);
  uvodbc__diags_free(&op->diags);
  uvodbc__params_free(&op->params);
  uvodbc__free_secret(op->connstr);
  uvodbc__free(op->sql);
  uvodbc__free(op->doomed);
  uvodbc__free(op->result_params);
  uvodbc__free(op->catalog);
  uvodbc__free(op->info);
  uvodbc__free(op->row_status);
  uvodbc__free(op->columns);
  uvodbc__free_results(op->outputs, op->results, op->nresults);
  if (op->result != NULL) {
    uvodbc__batch_free(op->result);
    uvodbc__free(op->result);
  }
  uvodbc__free(op);
}

int uvodbc__op_has_dbc(uvodbc_op_t* op, const char* function) {
  if (op->dbc != SQL_NULL_HDBC) return 1;
  uvodbc__diags_add(&op->diags, "08003", 0, "connection is not open",
                    function);
  op->status = UVODBC_ENOTCONN;
  return 0;
}

void uvodbc__op_deliver(uvodbc_op_t* op) {
  uvodbc_req_t* req = op->req;
  uvodbc_req_cb cb = op->cb;
  /* A cancel we issued because of the timer is a timeout. */
  int status = op->timed_out && op->status == UV_ECANCELED ? UV_ETIMEDOUT
                                                           : op->status;
  uvodbc__diags_t diags;
  uvodbc_op_kind_t kind = (uvodbc_op_kind_t)op->kind;
  char* sql = op->sql; /* for debug mode's report, after op is gone */
  uint64_t began;
  int done = req != NULL && req->op == op; /* else a read's next fetch
                                              answers req */

  if (req != NULL) {
    req->status = status;
    if (done) req->op = NULL;
    if (op->kind == OP_QUERY && status == 0) {
      req->batch = op->result;
      op->result = NULL;
    }
    if (op->kind == OP_INFO && status == 0) {
      req->info = op->info;
      op->info = NULL;
    }
    if (op->kind == OP_CALL && status == 0) {
      req->outputs = op->outputs;
      req->results = (const uvodbc_batch_t* const*)op->results;
      req->nresults = op->nresults;
      req->batch = op->nresults > 0 ? op->results[0] : NULL;
      op->outputs = NULL;
      op->results = NULL;
      op->nresults = 0;
    }
  }
  uvodbc__trace_set_rows(op, req);
  uvodbc__trace_finished(op, status);
  /* The diagnostics live until the callback returns: the callback may reuse
   * the request for its next operation. */
  diags = op->diags;
  memset(&op->diags, 0, sizeof(op->diags));
  if (req != NULL) {
    req->ndiag = diags.n;
    req->diag = diags.recs;
  }
  if (done) uvodbc__req_untrack(req, op); /* reusable from the callback */
  op->sql = NULL;
  uvodbc__op_free(op);
  began = uvodbc__cb_begin();
  if (cb != NULL) cb(req, status); /* may free or reuse req: not touched */
  uvodbc__cb_end(began, uvodbc_op_kind_name(kind), sql);
  uvodbc__free(sql);
  uvodbc__diags_free(&diags);
}

void uvodbc_req_cleanup(uvodbc_req_t* req) {
  if (req == NULL || uvodbc__req_cleaning(req) != 0 || req->op != NULL)
    return;
  if (req->type == UVODBC_REQ_QUERY && req->batch != NULL) {
    uvodbc__batch_free((uvodbc_batch_t*)req->batch);
    uvodbc__free((void*)req->batch);
  }
  req->batch = NULL;
  if (req->type == UVODBC_REQ_INFO) uvodbc__free((void*)req->info);
  req->info = NULL;
  if (req->type == UVODBC_REQ_BULK) uvodbc__free((void*)req->row_status);
  req->row_status = NULL;
  req->nrow_status = 0;
  if (req->type == UVODBC_REQ_CALL)
    uvodbc__free_results((uvodbc_batch_t*)req->outputs,
                         (uvodbc_batch_t**)req->results, req->nresults);
  req->outputs = NULL;
  req->results = NULL;
  req->nresults = 0;
}

void uvodbc__free_results(uvodbc_batch_t* outputs, uvodbc_batch_t** results,
                          size_t n) {
  size_t i;
  if (outputs != NULL) uvodbc__batch_free(outputs);
  uvodbc__free(outputs);
  for (i = 0; i < n; i++) {
    uvodbc__batch_free(results[i]);
    uvodbc__free(results[i]);
  }
  uvodbc__free(results);
}

int uvodbc_req_cancel(uvodbc_req_t* req) {
  uvodbc_op_t* op;
  if (req == NULL || req->op == NULL) return UV_EINVAL;
  op = req->op;
  switch (op->state) {
    case OP_QUEUED:
      uvodbc__strand_unlink(op->conn, op);
      uvodbc__strand_defer(op->conn, op, UV_ECANCELED);
      return 0;
    case OP_SUBMITTED:
      if (op->kind == OP_CONNECT) return UV_EBUSY;
      return uvodbc__strand_interrupt(op);
    default:
      return UV_EINVAL; /* already finished, callback pending */
  }
}
