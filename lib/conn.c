/* Connections: connect, close, and the handle's accessors. */
#include <string.h>

#include "internal.h"

void uvodbc_conn_options_init(uvodbc_conn_options_t* opts) {
  if (opts != NULL) memset(opts, 0, sizeof(*opts));
}

int uvodbc_connect(uv_loop_t* loop, uvodbc_req_t* req, const char* connstr,
                   const uvodbc_conn_options_t* opts, uvodbc_req_cb cb) {
  return uvodbc__connect(loop, req, connstr, opts, NULL, cb);
}

int uvodbc__connect(uv_loop_t* loop, uvodbc_req_t* req, const char* connstr,
                    const uvodbc_conn_options_t* opts, uvodbc_pool_t* pool,
                    uvodbc_req_cb cb) {
  uvodbc_conn_t* conn;
  uvodbc_op_t* op;
  int err;

  if (loop == NULL || req == NULL || connstr == NULL) return UV_EINVAL;
  /* No worker for uvodbc (UV_THREADPOOL_SIZE=1): refuse rather than take
   * libuv's only thread from uv_fs_* and DNS. */
  if (uvodbc_get_worker_limit() == 0) return UVODBC_ENOWORKER;
  err = uvodbc__req_start(req, "connect");
  if (err != 0) return err;
  conn = uvodbc__calloc(1, sizeof(*conn));
  if (conn == NULL) return UV_ENOMEM;
  conn->loop = loop;
  conn->autocommit = 1;
  conn->thread = uv_thread_self();
  conn->created_ns = uv_hrtime();
  conn->pool = pool;
  if (opts != NULL) conn->options = *opts;
  op = uvodbc__op_new(conn, OP_CONNECT, &uvodbc__connect_vt, req, cb);
  if (op != NULL) op->connstr = uvodbc__strdup(connstr);
  err = op == NULL || op->connstr == NULL ? UV_ENOMEM
                                          : uvodbc__executor_loop_ref(loop);
  if (err != 0) {
    req->op = NULL;
    if (op != NULL) uvodbc__op_free(op);
    uvodbc__free(conn);
    return err;
  }
  op->connect.connstr = op->connstr;
  op->connect.login_timeout_s =
      conn->options.login_timeout_s == 0 ? UVODBC_LOGIN_TIMEOUT_DEFAULT_S
      : conn->options.login_timeout_s == UVODBC_LOGIN_TIMEOUT_NONE
          ? 0
          : conn->options.login_timeout_s;
  op->connect.allow_serialized = conn->options.allow_serialized;
  uv_idle_init(loop, &conn->idle);
  uvodbc__live_conns_add(1);
  uvodbc__walk_add(&conn->walk, loop, UVODBC_HANDLE_CONN, conn,
                   conn->created_ns);
  uvodbc__strand_push(conn, op);
  return 0;
}

static void connect_work(uvodbc_op_t* op) {
  op->status = uvodbc__odbc_connect(&op->connect, &op->dbc, &op->driver,
                                    &op->streams, &op->diags);
  if (op->status == 0) {
    op->level = uvodbc__odbc_get_isolation(op->dbc);
    op->txn_closes = uvodbc__odbc_txn_closes(op->dbc, op->streams);
  }
}

static void connect_done(uvodbc_op_t* op) {
  uvodbc_conn_t* conn = op->conn;
  if (op->status == 0) {
    conn->dbc = op->dbc; /* a close queued behind us disconnects it */
    conn->driver = op->driver;
    conn->streams = op->streams;
    conn->txn_closes = op->txn_closes;
    conn->initial_isolation = op->level;
    conn->open = !conn->closing;
  }
  uvodbc__op_deliver(op);
}

int uvodbc_conn_close(uvodbc_conn_t* conn, uvodbc_conn_close_cb cb) {
  /* A pool's connection goes back with uvodbc_pool_release/_discard. */
  if (conn == NULL) return UV_EINVAL;
  if (conn->pool_slot != NULL) {
    if (uvodbc__debug_on())
      uvodbc__debug_log("misuse: uvodbc_conn_close on a pool's connection: "
                        "refused with UV_EINVAL (give it back with "
                        "uvodbc_pool_release or uvodbc_pool_discard)");
    return UV_EINVAL;
  }
  return uvodbc__conn_close(conn, cb);
}

int uvodbc__conn_close(uvodbc_conn_t* conn, uvodbc_conn_close_cb cb) {
  uvodbc_op_t* op;
  if (conn == NULL || conn->closing) return UV_EINVAL;
  /* Allocated before any state changes, so a failure leaves conn as is. */
  op = uvodbc__op_new(conn, OP_CONN_CLOSE, &uvodbc__conn_close_vt, NULL,
                      NULL);
  if (op == NULL) return UV_ENOMEM;
  if (uvodbc__deadline_close_start(conn) != 0) {
    uvodbc__op_free(op);
    return UV_ENOMEM;
  }
  conn->closing = 1;
  conn->open = 0;
  conn->close_cb = cb;
  uvodbc__strand_cancel_all(conn);
  uvodbc__strand_push(conn, op);
  return 0;
}

static void doom(uvodbc_op_t* op, uvodbc__stmt_t* s) {
  /* Without the array (out of memory) SQLDisconnect still frees the
   * handle; only the buffers leak. */
  if (s != NULL && op->doomed != NULL) op->doomed[op->ndoomed++] = s;
}

void uvodbc__conn_take_stmts(uvodbc_conn_t* conn, uvodbc_op_t* op) {
  uvodbc_cursor_t* c;
  uvodbc_prepared_t* p;
  size_t n = 1;
  for (c = conn->cursors; c != NULL; c = c->next) n++;
  for (p = conn->prepared; p != NULL; p = p->next) n++;
  op->doomed = uvodbc__calloc(n, sizeof(*op->doomed));
  op->frees_handles = 1;
  doom(op, conn->spare_stmt);
  conn->spare_stmt = NULL;
  while (conn->cursors != NULL) {
    c = conn->cursors;
    if (!c->borrowed) doom(op, c->stmt); /* else its prepared owns it */
    uvodbc__cursor_detach(c);
  }
  while (conn->prepared != NULL) {
    p = conn->prepared;
    doom(op, p->stmt);
    uvodbc__prepared_detach(p);
  }
}

void uvodbc__free_stmts(uvodbc_op_t* op) {
  size_t i;
  for (i = 0; i < op->ndoomed; i++) {
    uvodbc__stmt_free(op->doomed[i]);
    uvodbc__free(op->doomed[i]);
  }
  op->ndoomed = 0;
}

/* At submission, when nothing else of the connection runs: take every
 * statement the connection still owns, so the worker frees them first. */
static void close_prepare(uvodbc_op_t* op) {
  uvodbc__conn_take_stmts(op->conn, op);
  op->dbc = op->conn->dbc;
  op->driver = op->conn->driver;
  /* A call abandoned at its deadline still runs on the connection: the
   * handles are freed when it returns (lib/deadline.c). */
  if (uvodbc__deadline_close(op->conn, op))
    uvodbc__op_complete_early(op, UV_ETIMEDOUT);
}

static void close_work(uvodbc_op_t* op) {
  uvodbc__free_stmts(op);
  op->status = uvodbc__odbc_disconnect(op->dbc, op->driver, &op->diags);
}

static void on_closed(uv_handle_t* idle) {
  uvodbc_conn_t* conn = idle->data;
  uvodbc_conn_close_cb cb = conn->close_cb;
  uv_loop_t* loop = conn->loop;
  uint64_t began;
  uvodbc__live_conns_add(-1);
  uvodbc__walk_remove(&conn->walk);
  uvodbc__strand_hold(conn, 0);
  began = uvodbc__cb_begin();
  if (cb != NULL) cb(conn);
  uvodbc__cb_end(began, "conn close callback", NULL);
  /* After the callback: a new connection it opens keeps the loop's state. */
  uvodbc__executor_loop_unref(loop);
  uvodbc__diags_free(&conn->close_diags);
  /* A pool that still names it (pool_slot) frees it at its own close. */
  if (conn->pool_slot == NULL) uvodbc__free(conn);
}

/* Close callbacks of cursors and prepared statements detached by this close
 * ride uv_close (uvodbc__defer_close), and libuv runs a loop iteration's
 * close callbacks last-in first-out: closing the idle handle right away
 * could run close_cb before them.  One idle tick later, they have run. */
static void on_last_tick(uv_idle_t* idle) {
  uv_idle_stop(idle);
  uv_close((uv_handle_t*)idle, on_closed);
}

void uvodbc__conn_closed(uvodbc_conn_t* conn, int status) {
  conn->dbc = SQL_NULL_HDBC;
  conn->close_status = status; /* for the close callback */
  conn->closed = 1;
  uvodbc__deadline_close_stop(conn);
  /* Every other callback of the connection runs before close_cb. */
  uvodbc__strand_flush_ready(conn);
  conn->idle.data = conn;
  uv_idle_start(&conn->idle, on_last_tick);
}

static void close_done(uvodbc_op_t* op) {
  uvodbc_conn_t* conn = op->conn;
  int status = op->status;
  conn->close_diags = op->diags;
  memset(&op->diags, 0, sizeof(op->diags));
  uvodbc__op_free(op);
  uvodbc__conn_closed(conn, status);
}

const uvodbc__op_vtable_t uvodbc__connect_vt = {
    .prepare = NULL, .work = connect_work, .done = connect_done};
const uvodbc__op_vtable_t uvodbc__conn_close_vt = {
    .prepare = close_prepare, .work = close_work, .done = close_done};

void* uvodbc_conn_get_data(const uvodbc_conn_t* conn) {
  return conn != NULL ? conn->data : NULL;
}

void uvodbc_conn_set_data(uvodbc_conn_t* conn, void* data) {
  if (conn != NULL) conn->data = data;
}

uv_loop_t* uvodbc_conn_get_loop(const uvodbc_conn_t* conn) {
  return conn != NULL ? conn->loop : NULL;
}

int uvodbc_conn_is_open(const uvodbc_conn_t* conn) {
  return conn != NULL && conn->open;
}

int uvodbc_conn_close_status(const uvodbc_conn_t* conn) {
  return conn != NULL ? conn->close_status : 0;
}

const uvodbc_diag_t* uvodbc_conn_close_diag(const uvodbc_conn_t* conn,
                                            size_t* n) {
  if (n != NULL) *n = conn != NULL ? conn->close_diags.n : 0;
  return conn != NULL && conn->close_diags.n > 0 ? conn->close_diags.recs
                                                 : NULL;
}

int uvodbc_conn_is_broken(const uvodbc_conn_t* conn) {
  return conn != NULL && conn->broken;
}
