/* Bulk execution with parameter arrays, run on a worker.
 *
 * Column-wise arrays (SQL_PARAM_BIND_BY_COLUMN), SQL_ATTR_PARAMSET_SIZE rows
 * per SQLExecute, bound once and refilled per batch; a column is rebound
 * only when a batch needs wider cells.  Rows processed come from
 * SQL_ATTR_PARAMS_PROCESSED_PTR (psqlODBC's SQLRowCount says 1 for an
 * array); the status array is pre-filled because SQLite never writes it. */
#include <stdio.h>
#include <string.h>

#include "odbc.h"

#define NOT_REPORTED 0xEEEE /* not an SQL_PARAM_* value */

typedef struct {
  uvodbc__shape_t shape; /* as bound */
  char* data;            /* batch * shape.width */
  SQLLEN* ind;
} column_t;

const uvodbc_param_t* uvodbc__bulk_cell(const uvodbc__bulk_rows_t* rows,
                                        size_t r, size_t c,
                                        uvodbc_param_t* scratch) {
  const uvodbc_param_column_t* col;
  if (rows->cells != NULL) return &rows->cells[r * rows->ncols + c];
  col = &rows->columns[c];
  memset(scratch, 0, sizeof(*scratch));
  if (col->type == UVODBC_TYPE_NULL || (col->nulls != NULL && col->nulls[r]))
    return scratch; /* UVODBC_TYPE_NULL */
  scratch->type = col->type;
  switch (col->type) {
    case UVODBC_TYPE_INT64:
      scratch->v.i64 = ((const int64_t*)col->values)[r];
      break;
    case UVODBC_TYPE_DOUBLE:
      scratch->v.f64 = ((const double*)col->values)[r];
      break;
    case UVODBC_TYPE_BOOL:
      scratch->v.boolean = ((const uint8_t*)col->values)[r] != 0;
      break;
    case UVODBC_TYPE_TEXT:
    case UVODBC_TYPE_DECIMAL:
    case UVODBC_TYPE_BINARY:
      scratch->v.bytes.ptr = ((const void* const*)col->values)[r];
      scratch->v.bytes.len =
          col->lengths != NULL && col->lengths[r] != SIZE_MAX
              ? col->lengths[r]
              : strlen(scratch->v.bytes.ptr);
      break;
    default: /* DATE, TIME, TIMESTAMP */
      scratch->v.ts = ((const uvodbc_timestamp_t*)col->values)[r];
      break;
  }
  return scratch;
}

/* The shape a batch needs for column `c`: the widest of its cells. */
static void batch_shape(const uvodbc__bulk_rows_t* rows, size_t c, size_t r0,
                        size_t count, uvodbc__driver_t driver,
                        uvodbc__shape_t* out) {
  size_t r;
  int any = 0;
  uvodbc_param_t scratch;
  for (r = r0; r < r0 + count; r++) {
    const uvodbc_param_t* p = uvodbc__bulk_cell(rows, r, c, &scratch);
    uvodbc__shape_t s;
    if (p->type == UVODBC_TYPE_NULL) continue;
    uvodbc__param_shape(p, driver, &s);
    if (!any) {
      *out = s;
      any = 1;
      /* These have one shape whatever the value: no need to look at the
       * other cells (a shape per cell is measurable at 100,000 rows). */
      if (p->type == UVODBC_TYPE_INT64 || p->type == UVODBC_TYPE_DOUBLE ||
          p->type == UVODBC_TYPE_BOOL || p->type == UVODBC_TYPE_DATE)
        return;
      continue;
    }
    if (s.size > out->size) out->size = s.size;
    if (s.digits > out->digits) out->digits = s.digits;
    if (s.width > out->width) out->width = s.width;
    if (s.sqltype == SQL_LONGVARCHAR || s.sqltype == SQL_LONGVARBINARY)
      out->sqltype = s.sqltype;
  }
  if (!any)
    uvodbc__param_shape(uvodbc__bulk_cell(rows, r0, c, &scratch), driver, out);
}

/* Widens and rebinds column `c` if this batch needs more than is bound. */
static int ensure_bound(SQLHSTMT h, column_t* col, SQLUSMALLINT n,
                        const uvodbc__shape_t* need, size_t batch, int force,
                        uvodbc__diags_t* d) {
  uvodbc__shape_t s = col->data != NULL ? col->shape : *need;
  int rebind = col->data == NULL || force;
  if (need->width > s.width || need->size > s.size ||
      need->digits > s.digits || need->sqltype != s.sqltype) {
    if (need->width > s.width) s.width = need->width;
    if (need->size > s.size) s.size = need->size;
    if (need->digits > s.digits) s.digits = need->digits;
    s.sqltype = need->sqltype;
    s.ctype = need->ctype;
    rebind = 1;
  }
  if (!rebind) return 0;
  if ((size_t)s.width > (size_t)col->shape.width || col->data == NULL) {
    char* data = uvodbc__reallocarray(col->data, batch, (size_t)s.width);
    if (data == NULL) return UVODBC__ENOMEM;
    col->data = data;
  }
  col->shape = s;
  if (!SQL_SUCCEEDED(SQLBindParameter(h, n, SQL_PARAM_INPUT, s.ctype,
                                      s.sqltype, s.size, s.digits, col->data,
                                      s.width, col->ind))) {
    uvodbc__diags_collect(d, SQL_HANDLE_STMT, h, "SQLBindParameter", NULL);
    return UVODBC_ESQL;
  }
  return 0;
}

/* When a batch fails and the driver wrote no row status: rows before the
 * failing one ran, the failing one is `failing`, the rest did not run.
 * ODBC counts the failing row in SQL_ATTR_PARAMS_PROCESSED_PTR; SQLite's
 * driver counts only the rows that succeeded. */
static SQLULEN failing_row(SQLULEN processed, uvodbc__driver_t driver) {
  if (driver == UVODBC__DRIVER_SQLITE) return processed;
  return processed > 0 ? processed - 1 : 0;
}

static uint8_t row_status(SQLUSMALLINT st, int executed_ok, SQLULEN i,
                          SQLULEN failing) {
  switch (st) {
    case SQL_PARAM_SUCCESS:
    case SQL_PARAM_SUCCESS_WITH_INFO:
      return UVODBC_ROW_OK;
    case SQL_PARAM_ERROR:
      return UVODBC_ROW_ERROR;
    case SQL_PARAM_UNUSED:
      return UVODBC_ROW_NOT_RUN;
    case NOT_REPORTED:
      if (executed_ok || i < failing) return UVODBC_ROW_OK;
      return i == failing ? UVODBC_ROW_ERROR : UVODBC_ROW_NOT_RUN;
    default: /* SQL_PARAM_DIAG_UNAVAILABLE */
      return UVODBC_ROW_UNKNOWN;
  }
}

static int has_binary(const uvodbc__bulk_rows_t* rows) {
  size_t i;
  if (rows->columns != NULL) {
    for (i = 0; i < rows->ncols; i++)
      if (rows->columns[i].type == UVODBC_TYPE_BINARY) return 1;
    return 0;
  }
  for (i = 0; i < rows->nrows * rows->ncols; i++)
    if (rows->cells[i].type == UVODBC_TYPE_BINARY) return 1;
  return 0;
}

static int set_attrs(SQLHSTMT h, size_t count, SQLULEN* processed,
                     SQLUSMALLINT* status) {
  return SQL_SUCCEEDED(SQLSetStmtAttr(h, SQL_ATTR_PARAM_BIND_TYPE,
                                      (SQLPOINTER)SQL_PARAM_BIND_BY_COLUMN,
                                      0)) &&
         SQL_SUCCEEDED(SQLSetStmtAttr(h, SQL_ATTR_PARAMSET_SIZE,
                                      (SQLPOINTER)(uintptr_t)count, 0)) &&
         SQL_SUCCEEDED(
             SQLSetStmtAttr(h, SQL_ATTR_PARAMS_PROCESSED_PTR, processed, 0)) &&
         SQL_SUCCEEDED(SQLSetStmtAttr(h, SQL_ATTR_PARAM_STATUS_PTR, status, 0));
}

int uvodbc__stmt_bulk(uvodbc__stmt_t* s, const char* sql,
                      const uvodbc__bulk_rows_t* rows, size_t batch,
                      uvodbc__bulk_result_t* res, uvodbc__cancel_t* cancel,
                      uvodbc__diags_t* d) {
  size_t nrows = rows->nrows, ncols = rows->ncols;
  size_t r0 = 0, c, i, bound_count = 0;
  column_t* cols = NULL;
  SQLUSMALLINT* status = NULL;
  SQLULEN processed = 0;
  int err, rebind_each = 0;

  res->ok_rows = 0;
  res->failed_row = -1;
  for (i = 0; i < nrows; i++) res->row_status[i] = UVODBC_ROW_NOT_RUN;
  if (batch == 0 || batch > nrows) batch = nrows;
  /* SQLite's driver (0.9998) reads a binary parameter's length once, at the
   * first SQLExecute after it is bound, and applies it to every row and
   * every later execution: run such statements one row per SQLExecute (its
   * arrays are a loop of single-row steps anyway), rebinding each time. */
  if (s->driver == UVODBC__DRIVER_SQLITE && has_binary(rows)) {
    batch = 1;
    rebind_each = 1;
  }
  err = uvodbc__stmt_prepare(s, sql, d);
  if (err != 0) return err;
  if (s->nparams != ncols) {
    char msg[128];
    snprintf(msg, sizeof(msg),
             "statement has %zu parameter markers, rows have %zu values",
             s->nparams, ncols);
    uvodbc__diags_add(d, "07002", 0, msg, "SQLNumParams");
    return UVODBC_EPARAMS;
  }
  cols = uvodbc__calloc(ncols, sizeof(*cols));
  status = uvodbc__mallocarray(batch, sizeof(*status));
  if (cols == NULL || status == NULL) err = UVODBC__ENOMEM;
  for (c = 0; c < ncols && err == 0; c++) {
    cols[c].ind = uvodbc__mallocarray(batch, sizeof(SQLLEN));
    if (cols[c].ind == NULL) err = UVODBC__ENOMEM;
  }

  while (err == 0 && r0 < nrows) {
    size_t count = nrows - r0 < batch ? nrows - r0 : batch;
    SQLRETURN rc;
    int ok;
    if (count != bound_count) {
      if (!set_attrs(s->h, count, &processed, status)) {
        uvodbc__diags_collect(d, SQL_HANDLE_STMT, s->h, "SQLSetStmtAttr",
                              NULL);
        err = UVODBC_ESQL;
        break;
      }
      bound_count = count;
    }
    /* Size the columns for this batch first, then fill: no row already
     * written is ever lost to a reallocation. */
    for (c = 0; c < ncols && err == 0; c++) {
      uvodbc__shape_t need;
      batch_shape(rows, c, r0, count, s->driver, &need);
      err = ensure_bound(s->h, &cols[c], (SQLUSMALLINT)(c + 1), &need, batch,
                         rebind_each, d);
    }
    if (err != 0) break;
    for (c = 0; c < ncols; c++) {
      for (i = 0; i < count; i++) {
        uvodbc_param_t scratch;
        cols[c].ind[i] = uvodbc__param_write(
            uvodbc__bulk_cell(rows, r0 + i, c, &scratch), s->driver,
            cols[c].data + i * (size_t)cols[c].shape.width);
      }
    }
    for (i = 0; i < count; i++) status[i] = NOT_REPORTED;
    processed = 0;
    s->clean = 0;
    uvodbc__cancel_arm(cancel, s->h, s->driver_h, s->kill);
    rc = uvodbc__cancel_requested(cancel) ? SQL_ERROR : SQLExecute(s->h);
    uvodbc__cancel_disarm(cancel);
    ok = SQL_SUCCEEDED(rc) || rc == SQL_NO_DATA;
    if (rc != SQL_SUCCESS && rc != SQL_NO_DATA)
      uvodbc__diags_collect(d, SQL_HANDLE_STMT, s->h, "SQLExecute", NULL);
    if (ok && processed == 0) processed = count; /* driver left it unset */
    for (i = 0; i < count; i++) {
      uint8_t st =
          row_status(status[i], ok, i, failing_row(processed, s->driver));
      /* Inside a transaction psqlODBC rolls a failed SQLExecute back as a
       * whole (statement-level rollback) although it marks the chunks
       * before the error SQL_PARAM_SUCCESS: none of them landed. */
      if (!ok && res->in_txn && s->driver == UVODBC__DRIVER_PSQL &&
          st == UVODBC_ROW_OK)
        st = UVODBC_ROW_UNKNOWN;
      res->row_status[r0 + i] = st;
      if (st == UVODBC_ROW_OK) res->ok_rows++;
      if (st == UVODBC_ROW_ERROR && res->failed_row < 0)
        res->failed_row = (int64_t)(r0 + i);
    }
    if (uvodbc__cancel_requested(cancel)) {
      err = UVODBC__ECANCELED;
    } else if (!ok) {
      /* No row marked: the driver rejected the batch as a whole (MariaDB
       * runs it as one statement); report its first row. */
      if (res->failed_row < 0) res->failed_row = (int64_t)r0;
      err = UVODBC_ESQL;
    }
    SQLFreeStmt(s->h, SQL_CLOSE);
    r0 += count;
  }

  SQLFreeStmt(s->h, SQL_RESET_PARAMS);
  for (c = 0; cols != NULL && c < ncols; c++) {
    uvodbc__free(cols[c].data);
    uvodbc__free(cols[c].ind);
  }
  uvodbc__free(cols);
  uvodbc__free(status);
  return err;
}
