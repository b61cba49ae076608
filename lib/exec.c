/* Statement execution: uvodbc_conn_exec() (a cursor over the result) and
 * uvodbc_conn_query() (the whole result at once), with timeouts. */
#include <string.h>

#include "internal.h"

#define DEFAULT_MAX_ROWS 1000000
#define DEFAULT_MAX_BYTES (256u << 20)
#define QUERY_BATCH_ROWS 1024

void uvodbc_exec_options_init(uvodbc_exec_options_t* opts) {
  if (opts != NULL) memset(opts, 0, sizeof(*opts));
}

static void on_timeout(uv_timer_t* timer) {
  uvodbc_op_t* op = timer->data;
  if (op->zombie != NULL) return; /* given up already */
  if (op->state == OP_QUEUED) {
    op->timed_out = 1;
    uvodbc__strand_unlink(op->conn, op);
    uvodbc__strand_defer(op->conn, op, UV_ECANCELED);
  } else if (op->state == OP_SUBMITTED) {
    op->timed_out = 1;
    uvodbc__strand_interrupt(op);
    uvodbc__deadline_grace(op); /* if the driver does not return */
  }
}

int uvodbc__op_set_timeout(uvodbc_op_t* op, unsigned int ms) {
  if (ms == 0) return 0;
  op->timer = uvodbc__malloc(sizeof(*op->timer));
  if (op->timer == NULL) return UV_ENOMEM;
  uv_timer_init(op->conn->loop, op->timer);
  op->timer->data = op;
  return uv_timer_start(op->timer, on_timeout, ms, 0);
}

/* uvodbc__exec_op_new(), the text copied, or moved from *owned_sql when
 * that is not NULL (then *owned_sql is NULL on success, kept on error). */
static uvodbc_op_t* op_new(uvodbc_conn_t* conn, uvodbc_prepared_t* prepared,
                           uvodbc_req_t* req, uvodbc__op_kind_t kind,
                           const char* sql, char** owned_sql,
                           const uvodbc_param_t* params, size_t nparams,
                           const uvodbc_exec_options_t* opts, uvodbc_req_cb cb,
                           int* err) {
  uvodbc_op_t* op;
  unsigned int timeout;

  *err = UV_EINVAL;
  if (conn == NULL || req == NULL || sql == NULL) return NULL;
  if (nparams > 0 && params == NULL) return NULL;
  *err = UVODBC_ECLOSED;
  if (conn->closing) return NULL;
  *err = uvodbc__req_start(req, uvodbc_op_kind_name((uvodbc_op_kind_t)kind));
  if (*err != 0) return NULL;
  *err = UV_ENOMEM;
  op = uvodbc__op_new(conn, kind, &uvodbc__exec_vt, req, cb);
  if (op == NULL) return NULL;
  if (opts != NULL) op->opts = *opts;
  if (op->opts.max_rows == 0) op->opts.max_rows = DEFAULT_MAX_ROWS;
  if (op->opts.max_bytes == 0) op->opts.max_bytes = DEFAULT_MAX_BYTES;
  timeout = op->opts.timeout_ms ? op->opts.timeout_ms
                                : conn->options.query_timeout_ms;
  op->prepared = prepared;
  if (prepared == NULL)
    op->sql = owned_sql != NULL ? *owned_sql : uvodbc__strdup(sql);
  op->cancel = uvodbc__cancel_new();
  *err = (op->sql == NULL && prepared == NULL) || op->cancel == NULL
             ? UV_ENOMEM
             : 0;
  if (*err == 0) *err = uvodbc__params_copy(&op->params, params, nparams);
  if (*err == 0) *err = uvodbc__op_set_timeout(op, timeout);
  if (*err != 0) {
    if (owned_sql != NULL) op->sql = NULL; /* still the caller's */
    req->op = NULL;
    uvodbc__op_free(op);
    return NULL;
  }
  if (owned_sql != NULL) *owned_sql = NULL; /* moved */
  return op;
}

uvodbc_op_t* uvodbc__exec_op_new(uvodbc_conn_t* conn,
                                 uvodbc_prepared_t* prepared,
                                 uvodbc_req_t* req, uvodbc__op_kind_t kind,
                                 const char* sql,
                                 const uvodbc_param_t* params, size_t nparams,
                                 const uvodbc_exec_options_t* opts,
                                 uvodbc_req_cb cb, int* err) {
  return op_new(conn, prepared, req, kind, sql, NULL, params, nparams, opts, cb,
                err);
}

void uvodbc__exec_submit(uvodbc_op_t* op) {
  if (op->prepared != NULL) op->prepared->busy = 1;
  uvodbc__strand_push(op->conn, op);
}

int uvodbc__exec_start_owned(uvodbc_conn_t* conn, uvodbc_req_t* req,
                             uvodbc__op_kind_t kind, char** sql,
                             uvodbc__params_t* params,
                             const uvodbc_exec_options_t* opts,
                             uvodbc_req_cb cb) {
  int err;
  uvodbc_op_t* op =
      op_new(conn, NULL, req, kind, *sql, sql, NULL, 0, opts, cb, &err);
  if (op == NULL) return err;
  op->params = *params; /* moved, not copied */
  memset(params, 0, sizeof(*params));
  uvodbc__exec_submit(op);
  return 0;
}

static int start(uvodbc_conn_t* conn, uvodbc_prepared_t* prepared,
                 uvodbc_req_t* req, uvodbc__op_kind_t kind, const char* sql,
                 const uvodbc_param_t* params, size_t nparams,
                 const uvodbc_exec_options_t* opts, uvodbc_req_cb cb) {
  int err;
  uvodbc_op_t* op = uvodbc__exec_op_new(conn, prepared, req, kind, sql,
                                        params, nparams, opts, cb, &err);
  if (op != NULL) uvodbc__exec_submit(op);
  return err;
}

int uvodbc_conn_exec(uvodbc_conn_t* conn, uvodbc_req_t* req, const char* sql,
                     const uvodbc_param_t* params, size_t nparams,
                     const uvodbc_exec_options_t* opts, uvodbc_req_cb cb) {
  return start(conn, NULL, req, OP_EXEC, sql, params, nparams, opts, cb);
}

int uvodbc_conn_query(uvodbc_conn_t* conn, uvodbc_req_t* req,
                      const char* sql, const uvodbc_param_t* params,
                      size_t nparams, const uvodbc_exec_options_t* opts,
                      uvodbc_req_cb cb) {
  return start(conn, NULL, req, OP_QUERY, sql, params, nparams, opts, cb);
}

static int start_prepared(uvodbc_prepared_t* p, uvodbc_req_t* req,
                          uvodbc__op_kind_t kind,
                          const uvodbc_param_t* params, size_t nparams,
                          const uvodbc_exec_options_t* opts,
                          uvodbc_req_cb cb) {
  if (p == NULL) return UV_EINVAL;
  if (p->closing || p->conn == NULL) return UVODBC_ECLOSED;
  if (p->busy) return UV_EBUSY;
  return start(p->conn, p, req, kind, "", params, nparams, opts, cb);
}

int uvodbc_prepared_exec(uvodbc_prepared_t* p, uvodbc_req_t* req,
                         const uvodbc_param_t* params, size_t nparams,
                         const uvodbc_exec_options_t* opts,
                         uvodbc_req_cb cb) {
  return start_prepared(p, req, OP_EXEC, params, nparams, opts, cb);
}

int uvodbc_prepared_query(uvodbc_prepared_t* p, uvodbc_req_t* req,
                          const uvodbc_param_t* params, size_t nparams,
                          const uvodbc_exec_options_t* opts,
                          uvodbc_req_cb cb) {
  return start_prepared(p, req, OP_QUERY, params, nparams, opts, cb);
}

int uvodbc_conn_call(uvodbc_conn_t* conn, uvodbc_req_t* req,
                     const char* sql, const uvodbc_param_t* params,
                     size_t nparams, const uvodbc_exec_options_t* opts,
                     uvodbc_req_cb cb) {
  return start(conn, NULL, req, OP_CALL, sql, params, nparams, opts, cb);
}

/* Not with a timeout: in a chain it could only be reported when the hop
 * ends, after the statements before it.  Not a prepared statement that a
 * reset or close took away: it completes without a hop. */
static int exec_chainable(const uvodbc_op_t* op) {
  return (op->kind == OP_EXEC || op->kind == OP_QUERY) &&
         op->catalog == NULL && op->timer == NULL &&
         (op->prepared == NULL || op->prepared->stmt != NULL);
}

/* An EXEC that succeeded with a result set: its statement becomes a
 * cursor's in exec_done(). */
static int becomes_cursor(const uvodbc_op_t* op) {
  return op->stmt != NULL && op->status == 0 && op->kind == OP_EXEC &&
         op->stmt->has_result;
}

/* The statement goes back to the connection's spare in exec_done() unless
 * it is a prepared statement's or a cursor's. */
static int stmt_returns_to_conn(const uvodbc_op_t* op) {
  return op->prepared == NULL && op->stmt != NULL && !becomes_cursor(op);
}

/* Worker side: runs a chain in order.  An op that needs a statement takes
 * the one an earlier op is done with, so a chain holds no more statements
 * than its ops run one by one would.  Once an op finds the connection
 * dead, the rest do not touch it. */
static void exec_run_chain(uvodbc_op_t* head, void (*run)(uvodbc_op_t* op)) {
  uvodbc_op_t* holder = NULL; /* the op whose statement is free */
  uvodbc_op_t* op;
  int dead = 0;
  for (op = head; op != NULL; op = op->chain_next) {
    if (dead) {
      uvodbc__op_fail_broken(op);
      continue;
    }
    if (holder != NULL && op->prepared == NULL && op->stmt == NULL) {
      op->stmt = holder->stmt;
      holder->stmt = NULL;
      holder = NULL;
    }
    run(op);
    dead = op->conn_dead;
    if (stmt_returns_to_conn(op)) holder = op;
  }
}

/* At submission: the prepared statement, or the connection's spare. */
static void exec_prepare(uvodbc_op_t* op) {
  if (op->prepared != NULL) {
    op->stmt = op->prepared->stmt;
    if (op->stmt == NULL) { /* taken by a reset or close before us */
      uvodbc__op_complete_early(op, UVODBC_ECLOSED);
      return;
    }
  } else if (op->stmt == NULL) { /* a chain that never ran keeps its own */
    op->stmt = op->conn->spare_stmt;
    op->conn->spare_stmt = NULL;
  }
  op->dbc = op->conn->dbc;
  op->driver = op->conn->driver;
  /* A cursor's rows stream; a whole result is read in one hop anyway, and
   * a server cursor would cost it round trips. */
  op->streams = op->conn->streams ? op->kind == OP_EXEC : -1;
}

/* CALL: every result set in full, then the OUT values, which MariaDB only
 * delivers once the results are consumed. */
static int run_call(uvodbc_op_t* op, uvodbc__stmt_t* s) {
  int err = 0;
  while (err == 0 && s->has_result) {
    uvodbc_batch_t** grown;
    uvodbc_batch_t* b = uvodbc__calloc(1, sizeof(*b));
    grown = uvodbc__realloc(op->results,
                            (op->nresults + 1) * sizeof(*op->results));
    if (b == NULL || grown == NULL) {
      uvodbc__free(b);
      if (grown != NULL) op->results = grown;
      return UV_ENOMEM;
    }
    op->results = grown;
    err = uvodbc__stmt_fetch_all(s, op->opts.max_rows, op->opts.max_bytes,
                                 op->cancel, b, &op->diags);
    if (err != 0) {
      uvodbc__free(b);
      break;
    }
    op->results[op->nresults++] = b;
    err = uvodbc__stmt_next_result(s, &op->diags);
    while (err == 0 && !s->has_result) /* skip row counts between results */
      err = uvodbc__stmt_next_result(s, &op->diags);
  }
  if (err == UV_EOF) err = 0;
  if (err == 0) {
    op->outputs = uvodbc__calloc(1, sizeof(*op->outputs));
    err = op->outputs != NULL
              ? uvodbc__params_outputs(&op->params, op->outputs)
              : UV_ENOMEM;
  }
  SQLFreeStmt(s->h, SQL_RESET_PARAMS);
  s->keep_params = 0;
  uvodbc__stmt_reset(s);
  return err;
}

static int run(uvodbc_op_t* op) {
  uvodbc__stmt_t* s = op->stmt;
  int err;
  if (op->streams >= 0) uvodbc__odbc_stream_cursors(op->dbc, op->streams);
  s->driver = op->driver;
  s->keep_params = op->kind == OP_CALL;
  s->opts.batch_rows = op->opts.batch_rows;
  /* The whole result in this hop: bigger batches would save no hop, only
   * cost buffers for every small result. */
  if ((op->kind == OP_QUERY || op->kind == OP_CALL) &&
      s->opts.batch_rows == 0)
    s->opts.batch_rows = QUERY_BATCH_ROWS;
  s->opts.long_column_bytes = op->opts.long_column_bytes;
  s->opts.whole = op->kind == OP_QUERY || op->kind == OP_CALL;
  if (op->catalog != NULL)
    err = uvodbc__stmt_catalog(s, op->catalog_kind, op->catalog, &op->diags);
  else if (op->prepared != NULL)
    err = uvodbc__stmt_execute(s, &op->params, op->cancel, &op->diags);
  else
    err = uvodbc__stmt_exec(s, op->sql, &op->params, op->cancel, &op->diags);
  if (op->kind == OP_CALL) return err != 0 ? err : run_call(op, s);
  if (err != 0 || !s->has_result) return err;
  if (op->kind == OP_EXEC) { /* first batch in the same hop */
    s->declared = uvodbc__stmt_on_server(s);
    err = uvodbc__stmt_fetch(s, 0, op->cancel, &op->diags);
    return err == UV_EOF ? 0 : err;
  }
  op->result = uvodbc__calloc(1, sizeof(*op->result));
  if (op->result == NULL) return UV_ENOMEM;
  err = uvodbc__stmt_fetch_all(s, op->opts.max_rows, op->opts.max_bytes,
                               op->cancel, op->result, &op->diags);
  uvodbc__stmt_reset(s);
  return err;
}

static void exec_work(uvodbc_op_t* op) {
  if (!uvodbc__op_has_dbc(op, "SQLExecDirect")) return;
  if (op->stmt == NULL) {
    op->stmt = uvodbc__calloc(1, sizeof(*op->stmt));
    if (op->stmt == NULL) {
      op->status = UV_ENOMEM;
      return;
    }
    op->status = uvodbc__stmt_init(op->stmt, op->dbc, &op->diags);
    if (op->status != 0) {
      uvodbc__free(op->stmt);
      op->stmt = NULL;
      return;
    }
  }
  op->status = run(op);
  /* Cancelled or timed out: decided by our own flag, not by SQLSTATE. */
  if (uvodbc__cancel_requested(op->cancel)) op->status = UV_ECANCELED;
  if (op->status != 0) uvodbc__stmt_reset(op->stmt);
  op->rows_affected = op->stmt->rows_affected;
}

static void exec_done(uvodbc_op_t* op) {
  uvodbc_conn_t* conn = op->conn;
  uvodbc__stmt_t* s = op->stmt;
  uvodbc_req_t* req = op->req;
  int cursor = becomes_cursor(op);

  op->stmt = NULL;
  if (cursor) {
    uvodbc_cursor_t* c = uvodbc__cursor_new(conn, s, &op->opts);
    if (c != NULL) {
      const char* sql = uvodbc__op_sql(op);
      c->sql = sql != NULL ? uvodbc__strdup(sql) : NULL; /* for the walk */
      c->borrowed = op->prepared; /* stays busy until the cursor closes */
      req->cursor = c;
      req->batch = &s->batch;
      uvodbc__op_deliver(op);
      return;
    }
    op->status = UV_ENOMEM; /* the next exec resets the statement */
  }
  if (op->status == 0) req->rows_affected = op->rows_affected;
  if (op->prepared != NULL)
    op->prepared->busy = 0;
  else if (s != NULL)
    conn->spare_stmt = s; /* only one exec holds it at a time */
  uvodbc__op_deliver(op);
}

const uvodbc__op_vtable_t uvodbc__exec_vt = {
    exec_prepare, exec_work, exec_done, exec_chainable, exec_run_chain};
