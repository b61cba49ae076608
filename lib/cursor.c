/* Cursors: a statement with a result set, read batch by batch.
 *
 * The cursor owns its statement (or borrows its prepared statement's) until
 * an op takes it: its close op when popped, or a reset or close of the
 * connection, which detaches the cursor.  Ops of a detached cursor complete
 * with UVODBC_ECLOSED, in order; the handle lives until it is closed and
 * none of its ops is pending. */
#include <string.h>

#include "internal.h"

uvodbc_cursor_t* uvodbc__cursor_new(uvodbc_conn_t* conn,
                                    uvodbc__stmt_t* stmt,
                                    const uvodbc_exec_options_t* opts) {
  uvodbc_cursor_t* c = uvodbc__calloc(1, sizeof(*c));
  if (c == NULL) return NULL;
  c->conn = conn;
  c->loop = conn->loop;
  c->stmt = stmt;
  c->opts = *opts;
  c->created_ns = uv_hrtime();
  c->next = conn->cursors;
  if (conn->cursors != NULL) conn->cursors->prev = c;
  conn->cursors = c;
  return c;
}

static void unlink_cursor(uvodbc_cursor_t* c) {
  if (c->conn == NULL) return;
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    c->conn->cursors = c->next;
  if (c->next != NULL) c->next->prev = c->prev;
  c->prev = c->next = NULL;
}

static void finish(void* handle) {
  uvodbc_cursor_t* c = handle;
  uint64_t began;
  uvodbc__read_drop(c);
  uvodbc__walk_remove(&c->walk);
  began = uvodbc__cb_begin();
  if (c->close_cb != NULL) c->close_cb(c);
  uvodbc__cb_end(began, "cursor close callback", NULL);
  uvodbc__free(c->sql);
  uvodbc__free(c);
}

/* A closed, detached cursor goes once none of its ops is pending. */
static void finish_orphan(uvodbc_cursor_t* c) {
  if (c->closing != UVODBC__CLOSE_ORPHAN || c->conn != NULL || c->busy ||
      c->read_op != NULL)
    return;
  c->closing = UVODBC__CLOSE_FINISHING;
  if (uvodbc__defer_close(c->loop, c, finish) != 0)
    c->closing = UVODBC__CLOSE_ORPHAN; /* out of memory: the next try */
}

void uvodbc__cursor_detach(uvodbc_cursor_t* c) {
  unlink_cursor(c);
  if (c->borrowed != NULL) c->borrowed->busy = 0;
  c->borrowed = NULL;
  c->conn = NULL;
  c->stmt = NULL;
  uvodbc__read_drop(c); /* its rows went with the statement */
  /* No longer found through a connection: the walk lists it alone. */
  uvodbc__walk_add(&c->walk, c->loop, UVODBC_HANDLE_CURSOR, c,
                   c->created_ns);
  finish_orphan(c);
}

void uvodbc__cursors_ended(uvodbc_conn_t* conn, const char* why) {
  uvodbc_cursor_t* c;
  for (c = conn->cursors; c != NULL; c = c->next) c->ended_by = why;
}

static const char lost_on_server[] =
    "the transaction this cursor read in ended when a statement failed "
    "(psqlODBC: docs/drivers.md, PostgreSQL: streams)";

void uvodbc__cursors_verify(uvodbc_conn_t* conn) {
  uvodbc_cursor_t* c;
  for (c = conn->cursors; c != NULL; c = c->next)
    if (c->stmt != NULL && c->stmt->declared && !c->stmt->eof) c->verify = 1;
}

/* Each fetch (and next_result) has the statement's timeout: a streaming
 * driver runs the query in its fetches. */
static uvodbc_op_t* timed_op_new(uvodbc_cursor_t* c, uvodbc__op_kind_t kind,
                                 uvodbc_req_t* req, uvodbc_req_cb cb) {
  unsigned int ms = c->opts.timeout_ms ? c->opts.timeout_ms
                                       : c->conn->options.query_timeout_ms;
  uvodbc_op_t* op = uvodbc__op_new(c->conn, kind, &uvodbc__cursor_vt, req,
                                   cb);
  if (op == NULL) return NULL;
  op->cursor = c;
  op->cancel = uvodbc__cancel_new();
  if (op->cancel == NULL || uvodbc__op_set_timeout(op, ms) != 0) {
    if (req != NULL) req->op = NULL;
    uvodbc__op_free(op);
    return NULL;
  }
  return op;
}

uvodbc_op_t* uvodbc__fetch_op_new(uvodbc_cursor_t* c, uvodbc_req_t* req,
                                  uvodbc_req_cb cb) {
  return timed_op_new(c, OP_FETCH, req, cb);
}

static int cursor_op(uvodbc_cursor_t* cursor, uvodbc_req_t* req,
                     uvodbc__op_kind_t kind, size_t max_rows,
                     uvodbc_req_cb cb) {
  uvodbc_conn_t* conn;
  uvodbc_op_t* op;
  int err;
  if (cursor == NULL || req == NULL) return UV_EINVAL;
  conn = cursor->conn;
  if (cursor->closing || conn == NULL || conn->closing) return UVODBC_ECLOSED;
  if (cursor->busy || cursor->reading) return UV_EBUSY;
  err = uvodbc__req_start(req, uvodbc_op_kind_name((uvodbc_op_kind_t)kind));
  if (err != 0) return err;
  if (kind == OP_FETCH && uvodbc__read_take(cursor, req, cb)) return 0;
  op = timed_op_new(cursor, kind, req, cb);
  if (op == NULL) return UV_ENOMEM;
  op->cursor = cursor;
  op->max_rows = max_rows > 0 ? max_rows : cursor->opts.batch_rows;
  req->cursor = cursor;
  cursor->busy = 1;
  uvodbc__strand_push(conn, op);
  return 0;
}

int uvodbc_cursor_fetch(uvodbc_cursor_t* cursor, uvodbc_req_t* req,
                        size_t max_rows, uvodbc_req_cb cb) {
  return cursor_op(cursor, req, OP_FETCH, max_rows, cb);
}

int uvodbc_cursor_next_result(uvodbc_cursor_t* cursor, uvodbc_req_t* req,
                              uvodbc_req_cb cb) {
  return cursor_op(cursor, req, OP_NEXT_RESULT, 0, cb);
}

int uvodbc_cursor_close(uvodbc_cursor_t* cursor, uvodbc_cursor_close_cb cb) {
  uvodbc_op_t* op;
  if (cursor == NULL || cursor->closing) return UV_EINVAL;
  cursor->close_cb = cb;
  uvodbc_cursor_read_stop(cursor);
  /* Detached, or about to be by the connection's close. */
  if (cursor->conn == NULL || cursor->conn->closing) {
    cursor->closing = UVODBC__CLOSE_ORPHAN;
    finish_orphan(cursor);
    return 0;
  }
  op = uvodbc__op_new(cursor->conn, OP_CURSOR_CLOSE, &uvodbc__cursor_vt,
                      NULL, NULL);
  if (op == NULL) return UV_ENOMEM;
  cursor->closing = UVODBC__CLOSE_QUEUED;
  op->cursor = cursor;
  uvodbc__strand_push(cursor->conn, op);
  return 0;
}

/* When popped: the statement to use (FETCH, NEXT_RESULT) or to release
 * (CURSOR_CLOSE, which takes it), unless a reset or close took it first. */
static void cursor_prepare(uvodbc_op_t* op) {
  uvodbc_cursor_t* c = op->cursor;
  op->stmt = c->stmt;
  if (op->kind == OP_CURSOR_CLOSE) {
    c->stmt = NULL;
    op->flag = c->borrowed != NULL; /* reset it, its prepared keeps it */
    /* A prepared statement of a broken connection is never used again,
     * not even reset: the connection's close frees it. */
    if (op->stmt == NULL || (op->flag && op->conn->broken))
      uvodbc__op_complete_early(op, 0);
  } else if (op->stmt == NULL) {
    uvodbc__op_complete_early(op, UVODBC_ECLOSED);
  } else if (c->ended_by != NULL &&
             !(op->kind == OP_FETCH && op->stmt->eof)) {
    char msg[256];
    snprintf(msg, sizeof(msg),
             "%s: its remaining rows and results are gone; close it",
             c->ended_by);
    uvodbc__diags_add(&op->diags, "24000", 0, msg,
                      op->kind == OP_FETCH ? "SQLFetch" : "SQLMoreResults");
    uvodbc__op_complete_early(op, UVODBC_ESQL);
  } else if (op->kind == OP_FETCH && c->lost != 0) {
    uvodbc__diags_add(&op->diags, "HY008", 0,
                      "an earlier fetch of this cursor was cancelled or "
                      "timed out and its rows are gone: close the cursor",
                      "SQLFetch");
    uvodbc__op_complete_early(op, c->lost);
  } else if (op->kind == OP_FETCH && op->stmt->eof) {
    uvodbc__op_complete_early(op, UV_EOF); /* nothing left: no hop */
  } else if (op->kind == OP_FETCH) {
    op->verify_cursor = c->verify;
  }
}

static void cursor_work(uvodbc_op_t* op) {
  uvodbc__stmt_t* s = op->stmt;
  switch (op->kind) {
    case OP_FETCH:
      if (op->verify_cursor) {
        op->verify_cursor = 2;
        op->cursor_gone = uvodbc__odbc_psql_cursor_gone(op->run_dbc, s->h);
      }
      if (op->cursor_gone) {
        char msg[256];
        snprintf(msg, sizeof(msg), "%s: its remaining rows are gone; close it",
                 lost_on_server);
        uvodbc__diags_add(&op->diags, "24000", 0, msg, "SQLFetch");
        op->status = UVODBC_ESQL;
        break;
      }
      op->status = op->read ? uvodbc__stmt_fetch_spare(s, op->max_rows,
                                                       op->cancel, &op->diags)
                            : uvodbc__stmt_fetch(s, op->max_rows, op->cancel,
                                                 &op->diags);
      /* Cancelled or timed out: decided by our own flag (as exec_work).
       * What it fetched is dropped, so the cursor cannot go on. */
      if (uvodbc__cancel_requested(op->cancel)) {
        op->status = UV_ECANCELED;
        op->lost_rows = 1;
      }
      break;
    case OP_NEXT_RESULT:
      op->status = uvodbc__stmt_next_result(s, &op->diags);
      if (op->status == 0 && s->has_result) {
        op->status = uvodbc__stmt_fetch(s, 0, op->cancel, &op->diags);
        if (op->status == UV_EOF) op->status = 0;
      }
      if (uvodbc__cancel_requested(op->cancel)) { /* as a fetch's */
        op->status = UV_ECANCELED;
        op->lost_rows = 1;
      }
      break;
    default: /* OP_CURSOR_CLOSE */
      if (op->flag) {
        uvodbc__stmt_reset(s);
        break;
      }
      uvodbc__stmt_free(s);
      uvodbc__free(s);
      op->stmt = NULL;
      break;
  }
}

static void cursor_done(uvodbc_op_t* op) {
  uvodbc_cursor_t* c = op->cursor;
  op->stmt = NULL;
  /* Asked, and no failure since (a failed fetch marked it again) */
  if (op->verify_cursor == 2 && op->status != UVODBC_ESQL &&
      op->status != UV_ECANCELED)
    c->verify = 0;
  if (op->cursor_gone) c->ended_by = lost_on_server;
  if (op->kind == OP_CURSOR_CLOSE) {
    if (c->borrowed != NULL) c->borrowed->busy = 0;
    unlink_cursor(c);
    uvodbc__op_free(op);
    finish(c);
    return;
  }
  if (op->read && uvodbc__read_done(c, op)) {
    finish_orphan(c);
    return;
  }
  c->busy = 0;
  /* Rows a stopped read fetched of the old result go unread. */
  if (op->kind == OP_NEXT_RESULT) uvodbc__read_drop(c);
  uvodbc__cursor_result(c, op);
  uvodbc__op_deliver(op);
  finish_orphan(c); /* closed while this op was pending */
}

void uvodbc__cursor_result(uvodbc_cursor_t* c, uvodbc_op_t* op) {
  uvodbc_req_t* req = op->req;
  uvodbc__stmt_t* s = c->stmt;
  if (op->lost_rows)
    c->lost = op->timed_out ? UV_ETIMEDOUT : UV_ECANCELED;
  if (op->status == 0 && s == NULL) op->status = UVODBC_ECLOSED;
  if (op->kind == OP_FETCH && op->status == 0) {
    const uvodbc_batch_t* rows = op->read ? &s->spare : &s->batch;
    if (rows->nrows == 0)
      op->status = UV_EOF;
    else if (op->read) /* the batch it replaces was the application's
                          until this callback */
      uvodbc__stmt_swap(s);
  }
  if (op->status == 0 && req != NULL) {
    if (s->has_result)
      req->batch = &s->batch;
    else
      req->rows_affected = s->rows_affected;
  }
}

const uvodbc__op_vtable_t uvodbc__cursor_vt = {
    .prepare = cursor_prepare, .work = cursor_work, .done = cursor_done};

size_t uvodbc_cursor_ncols(const uvodbc_cursor_t* cursor) {
  return cursor != NULL && cursor->stmt != NULL ? cursor->stmt->ncols : 0;
}

const uvodbc_column_t* uvodbc_cursor_column(const uvodbc_cursor_t* cursor,
                                            size_t col) {
  if (cursor == NULL || cursor->stmt == NULL || col >= cursor->stmt->ncols)
    return NULL;
  return &cursor->stmt->cols[col];
}

void* uvodbc_cursor_get_data(const uvodbc_cursor_t* cursor) {
  return cursor != NULL ? cursor->data : NULL;
}

void uvodbc_cursor_set_data(uvodbc_cursor_t* cursor, void* data) {
  if (cursor != NULL) cursor->data = data;
}
