/* Reading a cursor: uvodbc_cursor_read_start() / _read_stop().
 *
 * A read keeps one fetch in flight: when a batch arrives, the fetch of the
 * next one is queued before the callback runs, into the statement's spare
 * buffers (stmt->spare), so the worker fills one set of buffers while the
 * application reads the other.  A batch becomes the application's (a swap,
 * uvodbc__stmt_swap) only when its callback runs, so the batch of the
 * previous callback is never written while it may still be read: it is
 * given back by the next callback.
 *
 * Stopping does not stop the fetch in flight (c->read_op): it loses its
 * request and, when done, is held (c->held) with its rows in stmt->spare.
 * The next read_start, or a pull fetch, takes it and delivers it from the
 * ready list, so no row is lost.  A read's fetch is an ordinary FETCH op
 * (op->read set): timeouts, cancels, closes and deadlines treat it as one. */
#include "internal.h"

/* A fetch of the read, not yet queued (NULL: out of memory). */
static uvodbc_op_t* read_fetch_new(uvodbc_cursor_t* c) {
  uvodbc_op_t* op = uvodbc__fetch_op_new(c, NULL, NULL);
  if (op == NULL) return NULL;
  op->read = 1;
  op->max_rows = c->read_rows;
  return op;
}

/* Queues `op` with the read's request.  `ended`: the read was cancelled
 * but the fetch before `op` finished first (its rows are delivered all the
 * same), or the connection is closing: `op` then only ends the read, with
 * UV_ECANCELED, on a later loop iteration. */
static void queue_fetch(uvodbc_cursor_t* c, uvodbc_op_t* op, int ended) {
  /* Not uvodbc__op_attach: the request still holds the batch of the
   * callback about to run. */
  op->req = c->read_req;
  op->cb = c->read_cb;
  c->read_req->op = op;
  uvodbc__req_track(c->read_req, op); /* pending between callbacks */
  c->read_op = op;
  if (ended || c->conn->closing)
    uvodbc__strand_defer(c->conn, op, UV_ECANCELED);
  else
    uvodbc__strand_push(c->conn, op);
}

/* Gives the read's fetch `op`, pending or held, to `req`: a held one
 * (its rows, or the status it ended with) on a later loop iteration. */
static void hand_to(uvodbc_cursor_t* c, uvodbc_op_t* op, uvodbc_req_t* req,
                    uvodbc_req_cb cb) {
  uvodbc__op_attach(op, req, cb);
  req->cursor = c;
  if (op == c->held) {
    c->held = NULL;
    c->read_op = op;
    uvodbc__strand_defer(c->conn, op, op->status);
  }
}

int uvodbc_cursor_read_start(uvodbc_cursor_t* c, uvodbc_req_t* req,
                             size_t max_rows, uvodbc_req_cb cb) {
  const uvodbc_batch_t* last;
  uvodbc_op_t* op;
  int err;
  if (c == NULL || req == NULL || cb == NULL) return UV_EINVAL;
  if (c->closing || c->conn == NULL || c->conn->closing)
    return UVODBC_ECLOSED;
  if (c->reading) return UV_EALREADY;
  if (c->busy) return UV_EBUSY;
  /* From here to the read's end (its last callback, or read_stop). */
  if ((err = uvodbc__req_start(req, "read")) != 0) return err;
  c->read_rows = max_rows > 0 ? max_rows : c->opts.batch_rows;
  op = c->held != NULL ? c->held : c->read_op;
  if (op == NULL && (op = read_fetch_new(c)) == NULL) return UV_ENOMEM;
  c->read_req = req;
  c->read_cb = cb;
  c->reading = 1;
  /* The last batch stays the caller's until the next callback, also in
   * req->batch, which starting an operation would clear. */
  last = req->batch;
  hand_to(c, op, req, cb);
  req->type = UVODBC_REQ_READ;
  req->batch = last;
  if (op != c->read_op) queue_fetch(c, op, 0); /* a new one */
  return 0;
}

int uvodbc_cursor_read_stop(uvodbc_cursor_t* c) {
  if (c == NULL) return UV_EINVAL;
  if (!c->reading) return 0;
  c->reading = 0;
  if (c->read_op != NULL && c->read_op->req == c->read_req)
    uvodbc__op_attach(c->read_op, NULL, NULL);
  c->read_req->op = NULL; /* the caller's again */
  uvodbc__req_untrack(c->read_req, NULL);
  c->read_req = NULL;
  c->read_cb = NULL;
  return 0;
}

int uvodbc__read_take(uvodbc_cursor_t* c, uvodbc_req_t* req,
                      uvodbc_req_cb cb) {
  uvodbc_op_t* op = c->held != NULL ? c->held : c->read_op;
  if (op == NULL) return 0;
  hand_to(c, op, req, cb);
  c->busy = 1;
  return 1;
}

static void hold(uvodbc_cursor_t* c, uvodbc_op_t* op) {
  if (c->stmt == NULL || c->conn == NULL || c->closing) { /* nobody will
                                                              ask for it */
    uvodbc__op_free(op);
    return;
  }
  if (op->timer != NULL) uv_timer_stop(op->timer);
  op->state = OP_FINISHED;
  c->held = op;
}

int uvodbc__read_done(uvodbc_cursor_t* c, uvodbc_op_t* op) {
  uvodbc_req_t* req = op->req;
  uvodbc_conn_t* conn = c->conn;
  uvodbc_op_t* next;
  int hold_queue;
  if (c->read_op == op) c->read_op = NULL;
  if (!c->reading) {
    if (req != NULL) return 0; /* a pull fetch took it */
    hold(c, op);
    return 1;
  }
  if (op->status == 0 && c->stmt == NULL) op->status = UVODBC_ECLOSED;
  /* The next batch is fetched while the callback reads this one. */
  next = op->status == 0 ? read_fetch_new(c) : NULL;
  if (op->status == 0 && next == NULL) { /* out of memory: try again */
    c->read_op = op;
    uvodbc__strand_defer(c->conn, op, op->status);
    return 1;
  }
  req->batch = NULL; /* the last callback's */
  uvodbc__cursor_result(c, op);
  /* The next fetch starts now only if nothing is queued before it: an op
   * queued earlier (a reset, a release) would be popped here and take the
   * statement whose batch this callback is about to read.  It starts after
   * the callback (after_work, the ready list's drain). */
  hold_queue = conn != NULL && conn->head != NULL && !conn->delivering;
  if (hold_queue) conn->delivering = 1;
  if (op->status == 0) {
    queue_fetch(c, next, uvodbc__cancel_requested(op->cancel));
  } else { /* the read ends with this callback */
    if (next != NULL) uvodbc__op_free(next);
    c->reading = 0;
    c->read_req = NULL;
    c->read_cb = NULL;
  }
  uvodbc__op_deliver(op);
  if (hold_queue) conn->delivering = 0; /* the close op, which frees conn,
                                           cannot have run meanwhile */
  return 1;
}

void uvodbc__read_drop(uvodbc_cursor_t* c) {
  if (c->held == NULL) return;
  uvodbc__op_free(c->held);
  c->held = NULL;
}
