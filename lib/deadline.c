/* Deadlines that hold when the driver does not return.
 *
 * A timeout cancels the statement (SQLCancel), but a server that stopped
 * answering may never let the driver call return, and a close may hang in
 * the driver too (MariaDB 3.1.15 deadlocks).  So a running operation whose
 * timeout fired is given `deadline_grace_ms` more; a close is given
 * `close_timeout_ms`.  After that the call is *abandoned*:
 *
 *   - its callback runs now with UV_ETIMEDOUT (a close's with
 *     uvodbc_conn_close_status() UV_ETIMEDOUT), and the connection is
 *     broken: what is queued fails at once with UVODBC_ENOTCONN;
 *   - the op itself, and everything the worker may still write (its
 *     statement, result, diagnostics), now belongs to a zombie: nothing of
 *     the caller's (request, parameters, cursor or prepared handle) is
 *     touched again;
 *   - the connection's statements are taken at once (its cursors and
 *     prepared statements are detached), and at the close the zombie takes
 *     the driver's connection handle too;
 *   - when the worker returns, a worker frees the statements, disconnects
 *     and frees the connection handle, and the zombie goes.  Until then
 *     uvodbc_shutdown() says UV_EBUSY, and the stuck worker still counts
 *     against the worker limit (it occupies a libuv thread).
 *
 * The zombie's `cleanup` op is a close in all but name: its doomed list and
 * dbc are what the worker frees. */
#include <string.h>

#include "internal.h"

#define RETRY_MS 100 /* out of memory while abandoning: try again */

struct uvodbc__zombie_s {
  uvodbc_op_t* ops;     /* the abandoned op and the ops of its chain     */
  uvodbc_op_t* cleanup; /* statements and dbc to free once they return   */
  uvodbc_conn_t* conn;  /* NULL once the connection closed               */
  uv_loop_t* loop;
  int returned;
  int holds; /* the executor keeps a thread for it (the connection's)    */
};

static unsigned int grace_ms(const uvodbc_conn_t* conn) {
  unsigned int ms = conn->options.deadline_grace_ms;
  return ms == 0 ? UVODBC_DEADLINE_GRACE_DEFAULT_MS : ms;
}

/* Loop side: forget the handle state the op held (busy flags, a close in
 * progress), so that the handles close without it.  Reads only what the
 * loop thread wrote before the op was submitted. */
static void release_handle_state(uvodbc_op_t* op) {
  uvodbc_cursor_t* c = op->cursor;
  switch (op->kind) {
    case OP_EXEC:
    case OP_QUERY:
    case OP_CALL:
    case OP_BULK:
      if (op->prepared != NULL) op->prepared->busy = 0;
      break;
    case OP_FETCH:
    case OP_NEXT_RESULT:
      c->busy = 0;
      if (c->read_op == op) { /* its callback ends the read */
        c->read_op = NULL;
        c->reading = 0;
        c->read_req = NULL;
      }
      uvodbc__read_drop(c);
      break;
    case OP_CURSOR_CLOSE: /* detached below, then closes as an orphan */
      c->closing = UVODBC__CLOSE_ORPHAN;
      break;
    case OP_PREPARED_CLOSE:
      op->prepared->closing = UVODBC__CLOSE_ORPHAN;
      break;
    default:
      break;
  }
}

/* The abandoned op's callback: UV_ETIMEDOUT, with a diagnostic of ours
 * (the op's own diagnostics are still the worker's). */
static void deliver_timeout(uvodbc_op_t* op) {
  uvodbc_req_t* req = op->req;
  uvodbc_req_cb cb = op->cb;
  uvodbc__diags_t d;
  uvodbc_op_kind_t kind = (uvodbc_op_kind_t)op->kind;
  uint64_t began;
  char* sql;
  op->req = NULL;
  op->cb = NULL;
  /* Now: the op outlives its connection (freed when the driver returns). */
  uvodbc__trace_abandoned(op);
  if (req == NULL) return;
  memset(&d, 0, sizeof(d));
  uvodbc__diags_add(&d, "HYT00", 0,
                    "timeout expired and the driver did not return: the "
                    "call is abandoned and the connection is broken",
                    "uvodbc");
  req->status = UV_ETIMEDOUT;
  req->op = NULL;
  req->batch = NULL; /* a read's last batch goes with the statement */
  req->rows_affected = -1;
  req->ndiag = d.n;
  req->diag = d.recs;
  uvodbc__req_untrack(req, NULL); /* reusable from the callback */
  began = uvodbc__cb_begin();
  /* Copied: the callback may close what the op points to. */
  sql = began != 0 && uvodbc__op_sql(op) != NULL
            ? uvodbc__strdup(uvodbc__op_sql(op))
            : NULL;
  if (cb != NULL) cb(req, UV_ETIMEDOUT); /* may reuse req: not touched */
  uvodbc__cb_end(began, uvodbc_op_kind_name(kind), sql);
  uvodbc__free(sql);
  uvodbc__diags_free(&d);
}

/* uvodbc_conn_bulk_columns() reads the caller's arrays on the worker until
 * its callback: it cannot be given up without the worker reading memory
 * that is no longer ours. */
static int borrows_caller_memory(const uvodbc_op_t* op) {
  return op->kind == OP_BULK && op->columns != NULL;
}

/* Gives up on what runs on `conn`.  0; UV_ENOMEM (nothing changed, try
 * again); UV_EBUSY (it cannot be given up: wait for it). */
static int abandon(uvodbc_conn_t* conn) {
  uvodbc_op_t* head = conn->running;
  uvodbc_op_t* op;
  uvodbc__zombie_t* z;
  uvodbc_op_t* cleanup;
  for (op = head; op != NULL; op = op->chain_next)
    if (borrows_caller_memory(op)) return UV_EBUSY;
  z = uvodbc__calloc(1, sizeof(*z));
  cleanup = z != NULL ? uvodbc__op_new(conn, OP_CONN_CLOSE, NULL, NULL, NULL)
                      : NULL;
  if (cleanup == NULL) {
    uvodbc__free(z);
    return UV_ENOMEM;
  }
  z->ops = head;
  z->cleanup = cleanup;
  z->conn = conn;
  z->loop = conn->loop;
  /* Its tasks (the stuck one, the cleanup) need the loop's executor state
   * after the connection is gone; the connection holds a ref, so this one
   * only counts. */
  uvodbc__executor_loop_ref(z->loop);
  uvodbc__live_conns_add(1); /* uvodbc_shutdown() waits for it */
  conn->running = NULL;
  conn->zombie = z;
  conn->broken = 1;
  /* Its session may still hold locks until the cleanup's rollback and
   * disconnect: the thread kept for it, and its priority, go with it. */
  z->holds = conn->holds;
  conn->holds = 0;
  for (op = head; op != NULL; op = op->chain_next) {
    op->zombie = z;
    if (op->timer != NULL) uv_timer_stop(op->timer); /* its timeout is moot */
    release_handle_state(op);
  }
  /* The statements of its cursors and prepared statements: never used
   * again, freed after the stuck call returns. */
  uvodbc__conn_take_stmts(conn, cleanup);
  if (head->kind == OP_CONN_CLOSE) { /* the close itself hangs */
    /* Its FINISHED now: the connection is freed before the worker
     * returns with the op. */
    uvodbc__trace_abandoned(head);
    z->conn = NULL;
    conn->zombie = NULL;
    uvodbc__conn_closed(conn, UV_ETIMEDOUT);
  } else {
    /* The chain's ops are the zombie's: their callbacks first, in order
     * (chain_next is never written again). */
    for (op = head; op != NULL; op = op->chain_next) deliver_timeout(op);
    uvodbc__strand_resume(conn); /* queued ops fail at once: it is broken */
  }
  /* Still waiting for a thread (a close or reset behind stuck work): it
   * will not run now, so it "returns" here, and what it held goes to the
   * cleanup. */
  if (uvodbc__executor_cancel(&head->task) == 1)
    uvodbc__deadline_returned(head, UV_ECANCELED);
  return 0;
}

static void on_grace(uv_timer_t* timer) {
  uvodbc_op_t* op = timer->data;
  /* Still on its worker: the callback, and so the op, is still ours. */
  if (op->zombie != NULL || op->conn->running != op) return;
  if (abandon(op->conn) == UV_ENOMEM)
    uv_timer_start(timer, on_grace, RETRY_MS, 0);
}

void uvodbc__deadline_grace(uvodbc_op_t* op) {
  if (op->state != OP_SUBMITTED || op->timer == NULL) return;
  uv_timer_start(op->timer, on_grace, grace_ms(op->conn), 0);
}

/* ---- the close's deadline ---- */

static void free_timer(uv_handle_t* handle) {
  uvodbc__free(handle);
}

static void on_close_deadline(uv_timer_t* timer) {
  uvodbc_conn_t* conn = timer->data;
  /* Nothing runs: the close is on its way without a hop. */
  if (conn->running == NULL) return;
  /* Out of memory, or a bulk_columns that cannot be given up: the close
   * keeps its deadline for what runs after it. */
  if (abandon(conn) != 0)
    uv_timer_start(timer, on_close_deadline, RETRY_MS, 0);
}

int uvodbc__deadline_close_start(uvodbc_conn_t* conn) {
  unsigned int ms = conn->options.close_timeout_ms;
  if (ms == UVODBC_CLOSE_TIMEOUT_NONE) return 0;
  if (ms == 0) ms = UVODBC_CLOSE_TIMEOUT_DEFAULT_MS;
  conn->close_timer = uvodbc__malloc(sizeof(*conn->close_timer));
  if (conn->close_timer == NULL) return UV_ENOMEM;
  uv_timer_init(conn->loop, conn->close_timer);
  conn->close_timer->data = conn;
  return uv_timer_start(conn->close_timer, on_close_deadline, ms, 0);
}

void uvodbc__deadline_close_stop(uvodbc_conn_t* conn) {
  if (conn->close_timer == NULL) return;
  uv_timer_stop(conn->close_timer);
  uv_close((uv_handle_t*)conn->close_timer, free_timer);
  conn->close_timer = NULL;
}

/* ---- the stuck worker returns ---- */

static int doomed_has(const uvodbc_op_t* cleanup, const uvodbc__stmt_t* s) {
  size_t i;
  for (i = 0; i < cleanup->ndoomed; i++)
    if (cleanup->doomed[i] == s) return 1;
  return 0;
}

/* Out of memory: the statement leaks, SQLDisconnect still frees it. */
static void doom(uvodbc_op_t* cleanup, uvodbc__stmt_t* s) {
  uvodbc__stmt_t** grown;
  if (s == NULL || doomed_has(cleanup, s)) return;
  grown = uvodbc__realloc(cleanup->doomed,
                          (cleanup->ndoomed + 1) * sizeof(*grown));
  if (grown == NULL) return;
  cleanup->doomed = grown;
  cleanup->doomed[cleanup->ndoomed++] = s;
}

/* Moves what `from` would free (its statements, and with `dbc` its
 * connection handle) to `to`. */
static void hand_over(uvodbc_op_t* from, uvodbc_op_t* to, int dbc) {
  size_t i;
  for (i = 0; i < from->ndoomed; i++) doom(to, from->doomed[i]);
  from->ndoomed = 0;
  if (dbc && from->dbc != SQL_NULL_HDBC) {
    to->dbc = from->dbc;
    to->driver = from->driver;
    from->dbc = SQL_NULL_HDBC;
  }
}

static void zombie_free(uvodbc__zombie_t* z) {
  uv_loop_t* loop = z->loop;
  if (z->holds) uvodbc__executor_reserve(loop, -1);
  if (z->cleanup != NULL) uvodbc__op_free(z->cleanup);
  uvodbc__free(z);
  uvodbc__live_conns_add(-1);
  uvodbc__executor_loop_unref(loop);
}

static void cleanup_work(uvodbc__task_t* task) {
  uvodbc_op_t* op = (uvodbc_op_t*)task;
  uvodbc__free_stmts(op);
  op->status = uvodbc__odbc_disconnect(op->dbc, op->driver, &op->diags);
}

static void cleanup_done(uvodbc__task_t* task, int status) {
  uvodbc_op_t* op = (uvodbc_op_t*)task;
  (void)status; /* never cancelled */
  zombie_free(op->zombie);
}

static void start_cleanup(uvodbc__zombie_t* z) {
  uvodbc_op_t* op = z->cleanup;
  if (op->ndoomed == 0 && op->dbc == SQL_NULL_HDBC) {
    zombie_free(z);
    return;
  }
  op->zombie = z;
  op->task.priority = z->holds;
  uvodbc__executor_submit(z->loop, &op->task, cleanup_work, cleanup_done);
}

void uvodbc__deadline_returned(uvodbc_op_t* head, int status) {
  uvodbc__zombie_t* z = head->zombie;
  uvodbc_op_t* op;
  uvodbc_op_t* next;
  for (op = head; op != NULL; op = next) {
    next = op->chain_next;
    doom(z->cleanup, op->stmt); /* a statement it made or still holds */
    op->stmt = NULL;
    /* What it did not free (it never ran: a close, a reset), and a
     * connect's new handle.  Other ops' dbc is the connection's. */
    hand_over(op, z->cleanup,
              op->kind == OP_CONNECT ||
                  (op->kind == OP_CONN_CLOSE && status != 0));
    uvodbc__op_free(op);
  }
  z->ops = NULL;
  z->returned = 1;
  if (z->conn == NULL) start_cleanup(z); /* else the close frees it all */
}

int uvodbc__deadline_close(uvodbc_conn_t* conn, uvodbc_op_t* close_op) {
  uvodbc__zombie_t* z = conn->zombie;
  if (z == NULL) return 0;
  conn->zombie = NULL;
  if (z->returned) { /* the close frees what the zombie left, as usual */
    hand_over(z->cleanup, close_op, 1);
    /* Its session may hold locks until this close's rollback: the kept
     * thread goes back to the connection, which the close ends with. */
    conn->holds = z->holds;
    z->holds = 0;
    zombie_free(z);
    return 0;
  }
  close_op->dbc = conn->dbc;
  close_op->driver = conn->driver;
  hand_over(close_op, z->cleanup, 1);
  z->conn = NULL;
  return 1;
}
