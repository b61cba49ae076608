/* The strand: one operation in flight per connection.
 *
 * Each connection keeps a FIFO of operations; only the head is submitted to
 * the executor, the next one after the previous completed.  Every HDBC and
 * HSTMT is therefore used by one thread at a time, operations complete in
 * submission order, and close simply queues behind what runs.
 *
 * Statements already queued behind a statement (EXEC / QUERY) form a chain:
 * one worker runs them back to back in one hop, and their callbacks follow
 * in order.  A hop costs more than a small query; the chain is the same
 * work, in the same order, on the same thread at a time.
 *
 * Results known without a hop (a cancelled queued operation, EOF already
 * seen) are "deferred": delivered in order from an idle handle on a later
 * loop iteration, never from inside the call that started them. */
#include "internal.h"

#define CHAIN_MAX 32

static void submit_next(uvodbc_conn_t* conn);

static void run_one(uvodbc_op_t* op) {
  SQLHDBC dbc = op->conn->dbc; /* written only by ops, never concurrently */
  op->vt->work(op);
  /* Right after the failure, while the driver still knows why. */
  if (op->status == UVODBC_ESQL && op->kind != OP_CONNECT &&
      op->kind != OP_CONN_CLOSE && dbc != SQL_NULL_HDBC)
    op->conn_dead =
        uvodbc__diags_disconnect(&op->diags) || uvodbc__odbc_is_dead(dbc);
}

static void run_work(uvodbc__task_t* task) {
  uvodbc_op_t* op = (uvodbc_op_t*)task;
  if (op->chain_next == NULL)
    run_one(op);
  else
    uvodbc__exec_chain_run(op, run_one);
}

/* The head of a chain never ran: the ops chained behind it go back to the
 * front of the queue, in order. */
static void unchain(uvodbc_op_t* head) {
  uvodbc_conn_t* conn = head->conn;
  uvodbc_op_t* op = head->chain_next;
  uvodbc_op_t* rest = conn->head;
  uvodbc_op_t** link = &conn->head;
  head->chain_next = NULL;
  while (op != NULL) {
    uvodbc_op_t* next = op->chain_next;
    op->chain_next = NULL;
    op->chained = 0;
    op->state = OP_QUEUED;
    *link = op;
    link = &op->next;
    if (rest == NULL) conn->tail = op;
    op = next;
  }
  *link = rest;
}

static void after_work(uvodbc__task_t* task, int status) {
  uvodbc_op_t* op = (uvodbc_op_t*)task;
  uvodbc_conn_t* conn = op->conn;
  uvodbc_op_t* next;
  conn->running = NULL;
  if (status != 0) { /* never ran: UV_ECANCELED */
    op->status = status;
    unchain(op);
  }
  /* The close op frees the connection in done(): touch nothing after. */
  if (op->kind == OP_CONN_CLOSE) {
    op->vt->done(op);
    return;
  }
  for (next = op->chain_next; next != NULL; next = next->chain_next)
    next->state = OP_FINISHED;
  /* Nothing new starts while ops of the chain wait for their callbacks: a
   * callback may close the connection, and the close must come after their
   * statements went back to it (done() gives it back before the callback,
   * so the last one's callback may start new work at once). */
  for (; op != NULL; op = next) {
    next = op->chain_next;
    op->chain_next = NULL;
    conn->delivering = next != NULL;
    if (op->conn_dead) conn->broken = 1;
    op->vt->done(op);
  }
  submit_next(conn);
}

static uvodbc_op_t* pop(uvodbc_conn_t* conn) {
  uvodbc_op_t* op = conn->head;
  conn->head = op->next;
  if (conn->head == NULL) conn->tail = NULL;
  op->next = NULL;
  op->state = OP_SUBMITTED;
  if (op->vt->prepare != NULL) op->vt->prepare(op);
  return op;
}

static void submit_next(uvodbc_conn_t* conn) {
  uvodbc_op_t* op;
  uvodbc_op_t* last;
  size_t n = 1;
  if (conn->running != NULL || conn->delivering || conn->head == NULL) return;
  op = conn->running = pop(conn);
  if (uvodbc__exec_chainable(op)) {
    for (last = op; n < CHAIN_MAX && conn->head != NULL &&
                    uvodbc__exec_chainable(conn->head);
         n++) {
      last->chain_next = pop(conn);
      last = last->chain_next;
      last->chained = 1;
    }
  }
  uvodbc__executor_submit(conn->loop, &op->task, run_work, after_work);
}

void uvodbc__strand_push(uvodbc_conn_t* conn, uvodbc_op_t* op) {
  op->state = OP_QUEUED;
  op->next = NULL;
  if (conn->tail != NULL)
    conn->tail->next = op;
  else
    conn->head = op;
  conn->tail = op;
  submit_next(conn);
}

int uvodbc__strand_unlink(uvodbc_conn_t* conn, uvodbc_op_t* op) {
  uvodbc_op_t* prev = NULL;
  uvodbc_op_t* it;
  for (it = conn->head; it != NULL; prev = it, it = it->next) {
    if (it != op) continue;
    if (prev != NULL)
      prev->next = op->next;
    else
      conn->head = op->next;
    if (conn->tail == op) conn->tail = prev;
    op->next = NULL;
    return 0;
  }
  return UV_EINVAL;
}

void uvodbc__strand_flush_deferred(uvodbc_conn_t* conn) {
  while (conn->deferred_head != NULL) {
    uvodbc_op_t* op = conn->deferred_head;
    conn->deferred_head = op->next;
    if (conn->deferred_head == NULL) conn->deferred_tail = NULL;
    op->next = NULL;
    op->vt->done(op);
  }
  uv_idle_stop(&conn->idle);
}

static void on_idle(uv_idle_t* idle) {
  uvodbc__strand_flush_deferred(idle->data);
}

void uvodbc__strand_defer(uvodbc_conn_t* conn, uvodbc_op_t* op, int status) {
  op->state = OP_DEFERRED;
  op->status = status;
  op->next = NULL;
  if (conn->deferred_tail != NULL)
    conn->deferred_tail->next = op;
  else
    conn->deferred_head = op;
  conn->deferred_tail = op;
  conn->idle.data = conn;
  uv_idle_start(&conn->idle, on_idle);
}

int uvodbc__strand_interrupt(uvodbc_op_t* op) {
  int rc;
  /* Waiting in, or running in, the hop of an earlier op: the worker sees
   * the request before it starts the statement, or SQLCancel ends it. */
  if (op->chained) return uvodbc__cancel_request(op->cancel);
  rc = uvodbc__executor_cancel(&op->task);
  if (rc == 1) { /* never reached a thread */
    op->conn->running = NULL;
    unchain(op);
    uvodbc__strand_defer(op->conn, op, UV_ECANCELED);
    submit_next(op->conn);
    return 0;
  }
  if (rc == 0) return 0; /* after_work will report UV_ECANCELED */
  if (op->cancel != NULL) return uvodbc__cancel_request(op->cancel);
  return UV_EBUSY;
}

void uvodbc__strand_cancel_all(uvodbc_conn_t* conn) {
  uvodbc_op_t* op = conn->head;
  uvodbc_op_t* it;
  uvodbc_op_t* keep_head = NULL;
  uvodbc_op_t* keep_tail = NULL;
  conn->head = conn->tail = NULL;
  while (op != NULL) {
    uvodbc_op_t* next = op->next;
    /* Close operations still run: they release handles. */
    if (op->kind == OP_CONN_CLOSE || op->kind == OP_CURSOR_CLOSE ||
        op->kind == OP_PREPARED_CLOSE) {
      op->next = NULL;
      if (keep_tail != NULL)
        keep_tail->next = op;
      else
        keep_head = op;
      keep_tail = op;
    } else {
      uvodbc__strand_defer(conn, op, UV_ECANCELED);
    }
    op = next;
  }
  conn->head = keep_head;
  conn->tail = keep_tail;
  op = conn->running;
  if (op == NULL || op->kind == OP_CONN_CLOSE || op->kind == OP_CURSOR_CLOSE ||
      op->kind == OP_PREPARED_CLOSE)
    return;
  for (it = op->chain_next; it != NULL; it = it->chain_next)
    uvodbc__strand_interrupt(it);
  uvodbc__strand_interrupt(op); /* last: it may put the chain back */
}

/* A close callback of a handle that no longer has a connection must still
 * not run inside the closing call: it rides a throwaway uv handle's close
 * callback, one loop iteration later. */
typedef struct {
  uv_timer_t timer;
  void* handle;
  void (*cb)(void* handle);
} deferred_close_t;

static void on_deferred_close(uv_handle_t* timer) {
  deferred_close_t* d = (deferred_close_t*)timer;
  d->cb(d->handle);
  uvodbc__free(d);
}

int uvodbc__defer_close(uv_loop_t* loop, void* handle,
                        void (*cb)(void* handle)) {
  deferred_close_t* d = uvodbc__malloc(sizeof(*d));
  if (d == NULL) return UV_ENOMEM;
  uv_timer_init(loop, &d->timer);
  d->handle = handle;
  d->cb = cb;
  uv_close((uv_handle_t*)&d->timer, on_deferred_close);
  return 0;
}
