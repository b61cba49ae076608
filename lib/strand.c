/* The strand: one operation in flight per connection.
 *
 * Each connection keeps a FIFO of operations; only the head is submitted to
 * the executor, the next one after the previous completed.  Every HDBC and
 * HSTMT is therefore used by one thread at a time, operations complete in
 * submission order, and close simply queues behind what runs.
 *
 * Ownership moves only when an operation is popped: its `prepare` takes the
 * statement it will use from its handle (or finds the handle detached by an
 * earlier reset or close, and completes without a hop).  Nothing is taken
 * at call time, so whatever ran before has settled.
 *
 * Operations whose result is known without a hop (cancelled, a detached
 * handle, EOF already seen, a read's held batch) wait in the connection's
 * ready list and are delivered in order from an idle handle on a later loop
 * iteration, never from inside the call that started them.  A drain
 * delivers the ready list as it was when the drain began (libuv's rule for
 * its own queues): what the callbacks add waits for the next iteration, so
 * timers and I/O are never starved.  Nothing is submitted while results
 * wait there, so a close never overtakes them.
 *
 * Operations a chain can take (vt->chainable) that are already queued
 * behind each other run back to back in one hop (vt->run_chain), and their
 * callbacks follow in order. */
#include "internal.h"

#define CHAIN_MAX 32

static void submit_next(uvodbc_conn_t* conn);

/* Failed on the server, or cancelled (a timeout is UV_ECANCELED until its
 * callback), on a psqlODBC connection: see lib/odbc-txn.c. */
static int psql_failed(const uvodbc_op_t* op) {
  return (op->status == UVODBC_ESQL || op->status == UV_ECANCELED) &&
         op->driver == UVODBC__DRIVER_PSQL && op->kind != OP_CONNECT &&
         op->kind != OP_CONN_CLOSE;
}

static void run_one(uvodbc_op_t* op) {
  SQLHDBC dbc = op->run_dbc; /* never op->conn: it may be gone (abandoned) */
  uint64_t began = op->timed ? uv_hrtime() : 0;
  op->vt->work(op);
  if (op->timed) op->work_ns = uv_hrtime() - began;
  /* Right after the failure, while the driver still knows why. */
  if (op->status == UVODBC_ESQL && op->kind != OP_CONNECT &&
      op->kind != OP_CONN_CLOSE && dbc != SQL_NULL_HDBC)
    op->conn_dead =
        uvodbc__diags_disconnect(&op->diags) || uvodbc__odbc_is_dead(dbc);
  if (psql_failed(op) && !op->conn_dead && dbc != SQL_NULL_HDBC)
    uvodbc__odbc_psql_settle(dbc, &op->diags);
}

static void run_work(uvodbc__task_t* task) {
  uvodbc_op_t* op = (uvodbc_op_t*)task;
  uvodbc__trace_hop(op);
  if (op->chain_next == NULL)
    run_one(op);
  else
    op->vt->run_chain(op, run_one);
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
    if (conn->closing) { /* as uvodbc__strand_cancel_all() would have */
      op->state = OP_CANCELLED;
      op->status = UV_ECANCELED;
    }
    *link = op;
    link = &op->next;
    if (rest == NULL) conn->tail = op;
    op = next;
  }
  *link = rest;
}

static void after_work(uvodbc__task_t* task, int status) {
  uvodbc_op_t* op = (uvodbc_op_t*)task;
  uvodbc_conn_t* conn;
  uvodbc_op_t* next;
  /* Given up at its deadline: the connection may be gone, the callbacks
   * have run. */
  if (op->zombie != NULL) {
    uvodbc__deadline_returned(op, status);
    return;
  }
  conn = op->conn;
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
    if (psql_failed(op)) uvodbc__cursors_verify(conn);
    if (conn->broken)
      uvodbc__strand_hold(conn, 0); /* the server dropped its locks */
    else if (!conn->autocommit && op->kind != OP_TXN &&
             op->kind != OP_CONNECT)
      uvodbc__strand_hold(conn, 1);
    op->vt->done(op);
  }
  submit_next(conn);
}

static void on_idle(uv_idle_t* idle);

static void ready_push(uvodbc_conn_t* conn, uvodbc_op_t* op) {
  uvodbc__trace_queued(op); /* if it never was */
  op->state = OP_READY;
  op->next = NULL;
  if (conn->ready_tail != NULL)
    conn->ready_tail->next = op;
  else
    conn->ready_head = op;
  conn->ready_tail = op;
  conn->idle.data = conn;
  uv_idle_start(&conn->idle, on_idle);
}

void uvodbc__op_complete_early(uvodbc_op_t* op, int status) {
  op->status = status;
  op->state = OP_READY;
}

void uvodbc__op_fail_broken(uvodbc_op_t* op) {
  uvodbc__diags_add(&op->diags, "08S01", 0,
                    "the connection is broken (the server closed it or "
                    "stopped answering): close it",
                    "uvodbc");
  op->status = UVODBC_ENOTCONN;
}

/* Close operations always run: they release handles. */
static int releases_handles(const uvodbc_op_t* op) {
  return op->kind == OP_CONN_CLOSE || op->kind == OP_CURSOR_CLOSE ||
         op->kind == OP_PREPARED_CLOSE;
}

/* Pops the head and lets it take what it needs; 0 when it completed
 * without needing a hop (it is then in the ready list). */
static int pop(uvodbc_conn_t* conn) {
  uvodbc_op_t* op = conn->head;
  conn->head = op->next;
  if (conn->head == NULL) conn->tail = NULL;
  op->next = NULL;
  uvodbc__trace_popped(op);
  if (op->state == OP_CANCELLED) {
    op->state = OP_READY;
  } else {
    op->state = OP_SUBMITTED;
    op->run_dbc = conn->dbc;
    if (op->kind != OP_CONNECT) op->driver = conn->driver;
    /* A dead connection's handles are never used again, only freed: the
     * drivers reuse freed memory after "lost connection". */
    if (conn->broken && !releases_handles(op) && op->kind != OP_CONNECT) {
      uvodbc__op_fail_broken(op);
      op->state = OP_READY;
    } else if (op->vt->prepare != NULL) {
      op->vt->prepare(op);
    }
  }
  if (op->state != OP_READY) return 1;
  ready_push(conn, op);
  return 0;
}

static int chainable(const uvodbc_op_t* op) {
  return op->vt->chainable != NULL && op->vt->chainable(op) &&
         !op->conn->broken;
}

static void submit_next(uvodbc_conn_t* conn) {
  uvodbc_op_t* op;
  uvodbc_op_t* last;
  size_t n = 1;
  if (conn->running != NULL || conn->delivering || conn->head == NULL ||
      conn->ready_head != NULL)
    return;
  op = conn->head;
  if (!pop(conn)) return;
  conn->running = op;
  if (chainable(op)) {
    for (last = op; n < CHAIN_MAX && conn->head != NULL &&
                    conn->head->state == OP_QUEUED && chainable(conn->head);
         n++) {
      uvodbc_op_t* next = conn->head;
      if (!pop(conn)) break; /* completed early: the chain ends here */
      last->chain_next = next;
      last = next;
      last->chained = 1;
    }
  }
  op->task.priority = conn->holds;
  uvodbc__trace_submit(op);
  uvodbc__executor_submit(conn->loop, &op->task, run_work, after_work);
}

/* A connection may hold locks from the first statement that ran with
 * autocommit off until its transaction ends (txn.c), it breaks or closes.
 * Its operations then go first, and the executor keeps a thread for it
 * (docs/threading.md, "Transactions go first"). */
void uvodbc__strand_hold(uvodbc_conn_t* conn, int on) {
  if (conn->holds == on) return;
  conn->holds = on;
  uvodbc__executor_reserve(conn->loop, on ? 1 : -1);
}

void uvodbc__strand_push(uvodbc_conn_t* conn, uvodbc_op_t* op) {
  uvodbc__trace_queued(op);
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

/* Delivers what is ready now, not what the callbacks add meanwhile. */
static void drain(uvodbc_conn_t* conn) {
  uvodbc_op_t* last = conn->ready_tail;
  uvodbc_op_t* op;
  do {
    op = conn->ready_head;
    if (op == NULL) break;
    conn->ready_head = op->next;
    if (conn->ready_head == NULL) conn->ready_tail = NULL;
    op->next = NULL;
    op->vt->done(op);
  } while (op != last);
}

static void on_idle(uv_idle_t* idle) {
  uvodbc_conn_t* conn = idle->data;
  drain(conn);
  if (conn->closed) return; /* the idle handle now ends the close */
  if (conn->ready_head == NULL) uv_idle_stop(&conn->idle);
  submit_next(conn);
}

void uvodbc__strand_resume(uvodbc_conn_t* conn) {
  submit_next(conn);
}

void uvodbc__strand_flush_ready(uvodbc_conn_t* conn) {
  while (conn->ready_head != NULL) drain(conn);
  uv_idle_stop(&conn->idle);
}

void uvodbc__strand_defer(uvodbc_conn_t* conn, uvodbc_op_t* op, int status) {
  op->status = status;
  ready_push(conn, op);
}

int uvodbc__strand_interrupt(uvodbc_op_t* op) {
  int rc;
  /* It took handles to free (a reset): it runs, or they would leak. */
  if (op->frees_handles) return UV_EBUSY;
  /* Waiting in, or running in, the hop of an earlier op: the worker sees
   * the request before it starts the statement, or SQLCancel ends it. */
  if (op->chained) return uvodbc__cancel_request(op->cancel);
  rc = uvodbc__executor_cancel(&op->task);
  if (rc == 1) { /* never reached a thread */
    op->conn->running = NULL;
    unchain(op);
    uvodbc__strand_defer(op->conn, op, UV_ECANCELED);
    return 0;
  }
  if (rc == 0) return 0; /* after_work will report UV_ECANCELED */
  if (op->cancel != NULL) return uvodbc__cancel_request(op->cancel);
  return UV_EBUSY;
}

/* Close: what is queued is cancelled where it stands, so its callbacks
 * come in submission order, after the running op's; what runs is
 * interrupted. */
void uvodbc__strand_cancel_all(uvodbc_conn_t* conn) {
  uvodbc_op_t* op = conn->running;
  uvodbc_op_t* it;
  if (op != NULL && !releases_handles(op)) {
    for (it = op->chain_next; it != NULL; it = it->chain_next)
      uvodbc__strand_interrupt(it);
    uvodbc__strand_interrupt(op); /* last: it may put the chain back */
  }
  for (op = conn->head; op != NULL; op = op->next) {
    if (releases_handles(op)) continue;
    op->state = OP_CANCELLED;
    op->status = UV_ECANCELED;
  }
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
