/* Prepared statements: prepared once on the server, executed many times
 * with different parameters.  The handle owns its statement; a cursor over
 * one of its results borrows it, so the next execution waits (UV_EBUSY)
 * until that cursor is closed. */
#include <string.h>

#include "internal.h"

static void link_prepared(uvodbc_conn_t* conn, uvodbc_prepared_t* p) {
  p->conn = conn;
  p->next = conn->prepared;
  if (conn->prepared != NULL) conn->prepared->prev = p;
  conn->prepared = p;
}

static void unlink_prepared(uvodbc_prepared_t* p) {
  if (p->conn == NULL) return;
  if (p->prev != NULL)
    p->prev->next = p->next;
  else
    p->conn->prepared = p->next;
  if (p->next != NULL) p->next->prev = p->prev;
  p->prev = p->next = NULL;
}

static void free_prepared(void* handle) {
  uvodbc_prepared_t* p = handle;
  uint64_t began;
  uvodbc__walk_remove(&p->walk);
  began = uvodbc__cb_begin();
  if (p->close_cb != NULL) p->close_cb(p);
  uvodbc__cb_end(began, "prepared close callback", p->sql);
  uvodbc__free(p->params);
  uvodbc__free(p->sql);
  uvodbc__free(p);
}

/* Closed while detached (or while the connection was closing): goes one
 * loop iteration later, never while an execution of it is pending. */
static void finish_orphan(uvodbc_prepared_t* p) {
  if (p->closing != UVODBC__CLOSE_ORPHAN || p->conn != NULL || p->busy)
    return;
  p->closing = UVODBC__CLOSE_FINISHING;
  if (uvodbc__defer_close(p->loop, p, free_prepared) != 0)
    p->closing = UVODBC__CLOSE_ORPHAN; /* out of memory: the next try */
}

/* A reset or close took the statement. */
void uvodbc__prepared_detach(uvodbc_prepared_t* p) {
  unlink_prepared(p);
  p->conn = NULL;
  p->stmt = NULL;
  /* No longer found through a connection: the walk lists it alone. */
  uvodbc__walk_add(&p->walk, p->loop, UVODBC_HANDLE_PREPARED, p,
                   p->created_ns);
  finish_orphan(p);
}

/* When popped: PREPARE needs the connection; PREPARED_CLOSE takes the
 * statement, unless a reset or close took it first. */
static void prepare_prepare(uvodbc_op_t* op) {
  op->dbc = op->conn->dbc;
  op->driver = op->conn->driver;
  if (op->kind == OP_PREPARED_CLOSE) {
    op->stmt = op->prepared->stmt;
    op->prepared->stmt = NULL;
    if (op->stmt == NULL) uvodbc__op_complete_early(op, 0);
  }
}

/* Describes each parameter where the driver can (SQLDescribeParam); where
 * it cannot, the entry says so (described 0) and binding uses our types. */
static void describe_params(uvodbc__stmt_t* s, uvodbc_param_info_t* info) {
  size_t i;
  for (i = 0; i < s->nparams; i++) {
    SQLSMALLINT type = 0, digits = 0, nullable = SQL_NULLABLE_UNKNOWN;
    SQLULEN size = 0;
    SQLRETURN rc = SQLDescribeParam(s->h, (SQLUSMALLINT)(i + 1), &type,
                                    &size, &digits, &nullable);
    info[i].described = SQL_SUCCEEDED(rc);
    info[i].sql_type = info[i].described ? type : 0;
    info[i].size = info[i].described ? size : 0;
    info[i].decimal_digits = info[i].described ? digits : 0;
    info[i].nullable = info[i].described ? nullable : SQL_NULLABLE_UNKNOWN;
  }
}

static void prepare_work(uvodbc_op_t* op) {
  uvodbc__stmt_t* s;
  if (!uvodbc__op_has_dbc(op, "SQLPrepare")) return;
  s = uvodbc__calloc(1, sizeof(*s));
  if (s == NULL) {
    op->status = UV_ENOMEM;
    return;
  }
  op->status = uvodbc__stmt_init(s, op->dbc, &op->diags);
  if (op->status == 0) {
    s->driver = op->driver;
    op->status = uvodbc__stmt_prepare(s, op->sql, &op->diags);
  }
  if (op->status == 0 && s->nparams > 0) {
    op->result_params = uvodbc__calloc(s->nparams, sizeof(uvodbc_param_info_t));
    if (op->result_params == NULL)
      op->status = UV_ENOMEM;
    else
      describe_params(s, op->result_params);
  }
  if (op->status != 0) {
    uvodbc__stmt_free(s);
    uvodbc__free(s);
    s = NULL;
  }
  op->stmt = s;
}

static void prepare_done(uvodbc_op_t* op) {
  uvodbc_prepared_t* p = NULL;
  if (op->status == 0) {
    p = uvodbc__calloc(1, sizeof(*p));
    if (p == NULL) {
      op->status = UV_ENOMEM; /* the statement goes with the connection */
      op->stmt->h = SQL_NULL_HSTMT;
      uvodbc__stmt_free(op->stmt);
      uvodbc__free(op->stmt);
    } else {
      p->loop = op->conn->loop;
      p->created_ns = uv_hrtime();
      p->stmt = op->stmt;
      p->params = op->result_params;
      p->sql = uvodbc__strdup(op->sql);
      op->result_params = NULL;
      link_prepared(op->conn, p);
    }
  }
  op->stmt = NULL;
  if (op->req != NULL) op->req->prepared = p;
  uvodbc__op_deliver(op);
}

static void close_work(uvodbc_op_t* op) {
  uvodbc__stmt_free(op->stmt);
  uvodbc__free(op->stmt);
  op->stmt = NULL;
}

static void close_done(uvodbc_op_t* op) {
  uvodbc_prepared_t* p = op->prepared;
  op->stmt = NULL; /* freed by close_work */
  uvodbc__op_free(op);
  unlink_prepared(p);
  free_prepared(p);
}

static void prepared_work(uvodbc_op_t* op) {
  if (op->kind == OP_PREPARE)
    prepare_work(op);
  else
    close_work(op);
}

static void prepared_done(uvodbc_op_t* op) {
  if (op->kind == OP_PREPARE)
    prepare_done(op);
  else
    close_done(op);
}

const uvodbc__op_vtable_t uvodbc__prepared_vt = {
    .prepare = prepare_prepare, .work = prepared_work, .done = prepared_done};

int uvodbc_conn_prepare(uvodbc_conn_t* conn, uvodbc_req_t* req,
                        const char* sql, uvodbc_req_cb cb) {
  uvodbc_op_t* op;
  int err;
  if (conn == NULL || req == NULL || sql == NULL) return UV_EINVAL;
  if (conn->closing) return UVODBC_ECLOSED;
  if ((err = uvodbc__req_start(req, "prepare")) != 0) return err;
  op = uvodbc__op_new(conn, OP_PREPARE, &uvodbc__prepared_vt, req, cb);
  if (op == NULL) return UV_ENOMEM;
  op->sql = uvodbc__strdup(sql);
  if (op->sql == NULL) {
    req->op = NULL;
    uvodbc__op_free(op);
    return UV_ENOMEM;
  }
  uvodbc__strand_push(conn, op);
  return 0;
}

int uvodbc_prepared_close(uvodbc_prepared_t* p, uvodbc_prepared_close_cb cb) {
  uvodbc_op_t* op;
  if (p == NULL || p->closing) return UV_EINVAL;
  if (p->busy) return UV_EBUSY; /* its cursor still reads the statement */
  p->close_cb = cb;
  /* Detached, or about to be by the connection's close. */
  if (p->conn == NULL || p->conn->closing) {
    p->closing = UVODBC__CLOSE_ORPHAN;
    finish_orphan(p);
    return 0;
  }
  op = uvodbc__op_new(p->conn, OP_PREPARED_CLOSE, &uvodbc__prepared_vt, NULL,
                      NULL);
  if (op == NULL) return UV_ENOMEM;
  p->closing = UVODBC__CLOSE_QUEUED;
  op->prepared = p;
  uvodbc__strand_push(p->conn, op);
  return 0;
}

size_t uvodbc_prepared_nparams(const uvodbc_prepared_t* p) {
  return p != NULL && p->stmt != NULL ? p->stmt->nparams : 0;
}

int uvodbc_prepared_param(const uvodbc_prepared_t* p, size_t i,
                          uvodbc_param_info_t* out) {
  if (p == NULL || out == NULL) return UV_EINVAL;
  if (p->stmt == NULL) return UVODBC_ECLOSED;
  if (i >= p->stmt->nparams) return UVODBC_ERANGE;
  *out = p->params[i];
  return 0;
}

void* uvodbc_prepared_get_data(const uvodbc_prepared_t* p) {
  return p != NULL ? p->data : NULL;
}

void uvodbc_prepared_set_data(uvodbc_prepared_t* p, void* data) {
  if (p != NULL) p->data = data;
}
