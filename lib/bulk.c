/* uvodbc_conn_bulk() and uvodbc_conn_bulk_columns(): many rows of
 * parameters in batches, one thread hop. */
#include <string.h>

#include "internal.h"

#define DEFAULT_BULK_BATCH 1000

/* Each column holds one type (or NULLs): parameter arrays bind a column
 * once, with one C type. */
static int check_rows(const uvodbc_param_t* rows, size_t nrows,
                      size_t ncols) {
  size_t r, c;
  for (c = 0; c < ncols; c++) {
    uvodbc_type_t type = UVODBC_TYPE_NULL;
    for (r = 0; r < nrows; r++) {
      const uvodbc_param_t* p = &rows[r * ncols + c];
      if (p->direction != UVODBC_PARAM_IN) return UV_EINVAL;
      if (p->type == UVODBC_TYPE_NULL) continue;
      if (type != UVODBC_TYPE_NULL && p->type != type) return UV_EINVAL;
      type = p->type;
    }
  }
  return 0;
}

static int valid_type(uvodbc_type_t t) {
  return (unsigned)t <= (unsigned)UVODBC_TYPE_TIMESTAMP;
}

static int has_pointers(uvodbc_type_t t) {
  return t == UVODBC_TYPE_TEXT || t == UVODBC_TYPE_DECIMAL ||
         t == UVODBC_TYPE_BINARY;
}

static int is_calendar(uvodbc_type_t t) {
  return t == UVODBC_TYPE_DATE || t == UVODBC_TYPE_TIME ||
         t == UVODBC_TYPE_TIMESTAMP;
}

/* Every date and time of a column within its calendar range. */
static int check_calendar(const uvodbc_param_column_t* col, size_t nrows) {
  uvodbc_param_t p;
  size_t r;
  memset(&p, 0, sizeof(p));
  p.type = col->type;
  for (r = 0; r < nrows; r++) {
    if (col->nulls != NULL && col->nulls[r]) continue;
    p.v.ts = ((const uvodbc_timestamp_t*)col->values)[r];
    if (!uvodbc__param_calendar_ok(&p)) return UV_EINVAL;
  }
  return 0;
}

/* Everything the worker would trip over, checked before anything is
 * queued: each text or binary pointer of a row that is not NULL, each date
 * and time. */
static int check_columns(const uvodbc_param_column_t* cols, size_t ncols,
                         size_t nrows) {
  size_t r, c;
  for (c = 0; c < ncols; c++) {
    const uvodbc_param_column_t* col = &cols[c];
    if (!valid_type(col->type)) return UV_EINVAL;
    if (col->type == UVODBC_TYPE_NULL) continue;
    if (col->values == NULL) return UV_EINVAL;
    if (col->type == UVODBC_TYPE_BINARY && col->lengths == NULL)
      return UV_EINVAL;
    if (is_calendar(col->type) && check_calendar(col, nrows) != 0)
      return UV_EINVAL;
    if (!has_pointers(col->type)) continue;
    for (r = 0; r < nrows; r++) {
      if (col->nulls != NULL && col->nulls[r]) continue;
      if (((const void* const*)col->values)[r] == NULL) return UV_EINVAL;
      if (col->type == UVODBC_TYPE_BINARY && col->lengths[r] == SIZE_MAX)
        return UV_EINVAL;
    }
  }
  return 0;
}

static void bulk_prepare(uvodbc_op_t* op) {
  op->dbc = op->conn->dbc;
  op->driver = op->conn->driver;
  op->flag = !op->conn->autocommit; /* psqlODBC rolls back a failed batch */
}

static void bulk_work(uvodbc_op_t* op) {
  uvodbc__stmt_t s;
  uvodbc__bulk_result_t res;
  uvodbc__bulk_rows_t rows;
  if (!uvodbc__op_has_dbc(op, "SQLExecute")) return;
  op->status = uvodbc__stmt_init(&s, op->dbc, &op->diags);
  if (op->status != 0) return;
  s.driver = op->driver;
  res.row_status = op->row_status;
  res.in_txn = op->flag;
  rows.nrows = op->nrows;
  rows.ncols = op->ncols;
  rows.cells = op->columns == NULL ? op->params.v : NULL;
  rows.columns = op->columns;
  op->status = uvodbc__stmt_bulk(&s, op->sql, &rows, op->opts.batch_rows,
                                 &res, op->cancel, &op->diags);
  op->rows_ok = res.ok_rows;
  op->failed_row = res.failed_row;
  uvodbc__stmt_free(&s);
  if (uvodbc__cancel_requested(op->cancel)) op->status = UV_ECANCELED;
}

static void bulk_done(uvodbc_op_t* op) {
  uvodbc_req_t* req = op->req;
  req->rows_affected = (int64_t)op->rows_ok;
  req->failed_row = op->failed_row;
  req->row_status = op->row_status;
  req->nrow_status = op->nrows;
  op->row_status = NULL; /* the request owns it until cleanup */
  uvodbc__op_deliver(op);
}

static const uvodbc__op_vtable_t bulk_vt = {
    .prepare = bulk_prepare, .work = bulk_work, .done = bulk_done};

/* Both entry points: `cells` (row-major, copied) or `columns` (borrowed). */
static int start_bulk(uvodbc_conn_t* conn, uvodbc_req_t* req, const char* sql,
                      const uvodbc_param_t* cells,
                      const uvodbc_param_column_t* columns, size_t nrows,
                      size_t ncols, const uvodbc_exec_options_t* opts,
                      uvodbc_req_cb cb) {
  uvodbc_op_t* op;
  int err;
  op = uvodbc__exec_op_new(conn, NULL, req, OP_BULK, sql, cells,
                           cells != NULL ? nrows * ncols : 0, opts, cb, &err);
  if (op == NULL) return err;
  op->vt = &bulk_vt;
  op->ncols = ncols;
  op->nrows = nrows;
  if (op->opts.batch_rows == 0) op->opts.batch_rows = DEFAULT_BULK_BATCH;
  op->row_status = uvodbc__malloc(nrows);
  if (columns != NULL) {
    op->columns = uvodbc__mallocarray(ncols, sizeof(*columns));
    if (op->columns != NULL)
      memcpy(op->columns, columns, ncols * sizeof(*columns));
  }
  if (op->row_status == NULL || (columns != NULL && op->columns == NULL)) {
    req->op = NULL;
    uvodbc__op_free(op);
    return UV_ENOMEM;
  }
  memset(op->row_status, UVODBC_ROW_NOT_RUN, nrows);
  uvodbc__exec_submit(op);
  return 0;
}

static int valid_shape(uvodbc_conn_t* conn, uvodbc_req_t* req,
                       const char* sql, const void* values, size_t nrows,
                       size_t ncols) {
  return conn != NULL && req != NULL && sql != NULL && values != NULL &&
         nrows > 0 && ncols > 0 && nrows <= SIZE_MAX / ncols;
}

int uvodbc_conn_bulk(uvodbc_conn_t* conn, uvodbc_req_t* req, const char* sql,
                     const uvodbc_param_t* rows, size_t nrows, size_t ncols,
                     const uvodbc_exec_options_t* opts, uvodbc_req_cb cb) {
  int err;
  if (!valid_shape(conn, req, sql, rows, nrows, ncols)) return UV_EINVAL;
  err = check_rows(rows, nrows, ncols);
  if (err != 0) return err;
  return start_bulk(conn, req, sql, rows, NULL, nrows, ncols, opts, cb);
}

int uvodbc_conn_bulk_columns(uvodbc_conn_t* conn, uvodbc_req_t* req,
                             const char* sql,
                             const uvodbc_param_column_t* columns,
                             size_t ncols, size_t nrows,
                             const uvodbc_exec_options_t* opts,
                             uvodbc_req_cb cb) {
  int err;
  if (!valid_shape(conn, req, sql, columns, nrows, ncols)) return UV_EINVAL;
  err = check_columns(columns, ncols, nrows);
  if (err != 0) return err;
  return start_bulk(conn, req, sql, NULL, columns, nrows, ncols, opts, cb);
}
