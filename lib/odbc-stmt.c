/* One statement: execute with typed parameters, describe and bind the
 * result, fetch rows into columnar batches.  Runs on a worker.
 *
 * Block mode: every column bound column-wise, SQL_ATTR_ROW_ARRAY_SIZE rows
 * per SQLFetch, the bound buffers are the batch (no copy).
 * Row mode, when a column is long or unbounded: one row per SQLFetch and
 * every column read with SQLGetData, long ones in chunks; SQLGetData is
 * never used with a rowset above 1.
 *
 * Sizes come from drivers, options and data: every product or sum of them
 * is checked (uvodbc__mallocarray, uvodbc__size_add) or bounded first, and
 * a batch's buffers stay within BATCH_BYTES_TARGET (in row mode: its fixed
 * cells, lengths and offsets, and separately its cell data, except that
 * a single row larger than that comes alone). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "odbc.h"

#define DEFAULT_BATCH_ROWS 1024
#define MAX_DEFAULT_BATCH_ROWS 16384
#define DEFAULT_BATCH_BYTES (512u << 10) /* docs/performance.md */
/* uvodbc__stmt_fetch_all(): rows of its first fetch, 8 times more each
 * next one up to the batch (the driver's work per SQLFetch grows with the
 * rowset: SQLite initializes a status per row of it). */
#define FIRST_FETCH_ROWS 64
#define DEFAULT_LONG_COLUMN_BYTES 8192
#define BATCH_BYTES_TARGET (8u << 20)
#define GETDATA_CHUNK (64u << 10)

/* SQL_ATTR_ROW_ARRAY_SIZE, set only when it changes (it outlives
 * SQLFreeStmt(SQL_CLOSE)). */
static SQLRETURN set_array_size(uvodbc__stmt_t* s, SQLULEN n) {
  SQLRETURN rc;
  if (s->array_size == n) return SQL_SUCCESS;
  rc = SQLSetStmtAttr(s->h, SQL_ATTR_ROW_ARRAY_SIZE,
                      (SQLPOINTER)(uintptr_t)n, 0);
  s->array_size = SQL_SUCCEEDED(rc) ? n : 0;
  return rc;
}

static int sql_error(uvodbc__stmt_t* s, const char* fn, uvodbc__diags_t* d) {
  uvodbc__diags_collect(d, SQL_HANDLE_STMT, s->h, fn, NULL);
  return UVODBC_ESQL;
}

int uvodbc__stmt_init(uvodbc__stmt_t* s, SQLHDBC dbc, uvodbc__diags_t* d) {
  memset(s, 0, sizeof(*s));
  s->dbc = dbc;
  if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, dbc, &s->h))) {
    s->h = SQL_NULL_HSTMT;
    uvodbc__diags_collect(d, SQL_HANDLE_DBC, dbc, "SQLAllocHandle", NULL);
    return UVODBC_ESQL;
  }
  s->kill = uvodbc__kill_of(dbc);
  if (uvodbc__kill_wants_driver_stmt(s->kill)) {
    SQLHSTMT h = s->h; /* in: ours; out: the driver's */
    if (SQL_SUCCEEDED(SQLGetInfo(dbc, SQL_DRIVER_HSTMT, &h, sizeof(h), NULL)))
      s->driver_h = h;
  }
  return 0;
}

/* ---- result description ---- */

/* How a column of `sqltype` is read: fills type, ctype and width (0 means
 * long: read with SQLGetData in row mode). */
static void choose_layout(uvodbc__stmt_t* s, SQLUSMALLINT n,
                          uvodbc_column_t* col, uvodbc__colbuf_t* lay) {
  /* A cell wider than a whole batch may be is read in chunks; the bound
   * also keeps the width arithmetic below from wrapping on a driver's
   * huge (or SQL_NO_TOTAL, i.e. 2^64 - 4) column size. */
  size_t limit = s->opts.long_column_bytes < BATCH_BYTES_TARGET
                     ? s->opts.long_column_bytes
                     : BATCH_BYTES_TARGET;
  SQLULEN size = (SQLULEN)col->size;
  SQLLEN is_unsigned = SQL_FALSE;

  /* SQLite's driver describes every BLOB column and every expression
   * (SELECT ?, upper(t), group_concat(t)) as 255 long, a size SQLite never
   * enforces: bound to it, longer values would fail with UVODBC_ETRUNC.
   * Read those with SQLGetData (a declared VARCHAR(255) comes along). */
  if (s->driver == UVODBC__DRIVER_SQLITE && size == 255) limit = 0;

  lay->width = 0;
  switch (col->sql_type) {
    case SQL_BIGINT:
      SQLColAttribute(s->h, n, SQL_DESC_UNSIGNED, NULL, 0, NULL,
                      &is_unsigned);
      if (is_unsigned == SQL_TRUE) { /* above INT64_MAX: exact text */
        col->type = UVODBC_TYPE_DECIMAL;
        lay->ctype = SQL_C_CHAR;
        lay->width = 24;
        return;
      }
      /* fall through */
    case SQL_TINYINT:
    case SQL_SMALLINT:
    case SQL_INTEGER:
      col->type = UVODBC_TYPE_INT64;
      lay->ctype = SQL_C_SBIGINT;
      lay->width = sizeof(int64_t);
      return;
    case SQL_REAL:
    case SQL_FLOAT:
    case SQL_DOUBLE:
      col->type = UVODBC_TYPE_DOUBLE;
      lay->ctype = SQL_C_DOUBLE;
      lay->width = sizeof(double);
      return;
    case SQL_BIT:
      col->type = UVODBC_TYPE_BOOL;
      lay->ctype = SQL_C_BIT;
      lay->width = 1;
      return;
    case SQL_TYPE_DATE:
      col->type = UVODBC_TYPE_DATE;
      lay->ctype = SQL_C_TYPE_DATE;
      lay->width = sizeof(SQL_DATE_STRUCT);
      return;
    case SQL_TYPE_TIME:
      col->type = UVODBC_TYPE_TIME;
      /* SQL_TIME_STRUCT has no fraction: a TIME with fractional digits (and
       * any TIME on SQLite, which stores it as text) is read as text, which
       * the accessor parses. */
      if (col->decimal_digits > 0 || s->driver == UVODBC__DRIVER_SQLITE) {
        lay->ctype = SQL_C_CHAR;
        lay->width = 40;
        return;
      }
      lay->ctype = SQL_C_TYPE_TIME;
      lay->width = sizeof(SQL_TIME_STRUCT);
      return;
    case SQL_TYPE_TIMESTAMP:
      col->type = UVODBC_TYPE_TIMESTAMP;
      lay->ctype = SQL_C_TYPE_TIMESTAMP;
      lay->width = sizeof(SQL_TIMESTAMP_STRUCT);
      return;
    case SQL_DECIMAL:
    case SQL_NUMERIC:
      col->type = UVODBC_TYPE_DECIMAL;
      lay->ctype = SQL_C_CHAR;
      /* sign, point, leading zero, NUL; unconstrained NUMERIC is long. */
      if (size > 0 && size <= limit && size + 4 <= limit)
        lay->width = (SQLLEN)(size + 4);
      return;
    case SQL_GUID:
      col->type = UVODBC_TYPE_TEXT;
      lay->ctype = SQL_C_CHAR;
      lay->width = 37;
      return;
    case SQL_BINARY:
    case SQL_VARBINARY:
      col->type = UVODBC_TYPE_BINARY;
      lay->ctype = SQL_C_BINARY;
      if (size > 0 && size <= limit) lay->width = (SQLLEN)size;
      return;
    case SQL_LONGVARBINARY:
      col->type = UVODBC_TYPE_BINARY;
      lay->ctype = SQL_C_BINARY;
      return;
    case SQL_CHAR:
    case SQL_VARCHAR:
    case SQL_WCHAR:
    case SQL_WVARCHAR:
      col->type = UVODBC_TYPE_TEXT;
      lay->ctype = SQL_C_CHAR;
      /* Sizes count characters: up to 4 UTF-8 bytes each, plus NUL. */
      if (size > 0 && size <= limit / 4 && size * 4 + 1 <= limit)
        lay->width = (SQLLEN)(size * 4 + 1);
      return;
    default: /* long text, intervals, driver-specific types: as text */
      col->type = UVODBC_TYPE_TEXT;
      lay->ctype = SQL_C_CHAR;
      return;
  }
}

/* Unbinds the columns and frees the buffers they were bound to. */
static void free_buffers(uvodbc__stmt_t* s) {
  if (s->bound_to != NULL) {
    SQLFreeStmt(s->h, SQL_UNBIND);
    s->bound_to = NULL;
  }
  uvodbc__batch_free(&s->batch);
  uvodbc__batch_free(&s->carry);
  uvodbc__batch_free(&s->spare);
}

static void free_shape(uvodbc__stmt_t* s) {
  free_buffers(s);
  uvodbc__free(s->cols); /* layout and names too: one block (describe) */
  s->cols = NULL;
  s->names = NULL;
  s->layout = NULL;
  s->ncols = 0;
  s->kept_ncols = 0;
}

/* Ends the current result.  With `keep`, a whole result read to its end
 * in one bound batch that never grew past FIRST_FETCH_ROWS keeps its shape
 * for the next one (kept_ncols).  Not after an error: a batch that failed
 * to grow may have moved buffers the driver is still bound to. */
static void end_result(uvodbc__stmt_t* s, int keep) {
  if (keep && s->has_result && s->eof && s->opts.whole && !s->row_mode &&
      s->bound_to == s->batch.bufs && s->spare.bufs == NULL &&
      s->batch.cap <= FIRST_FETCH_ROWS) {
    s->kept_ncols = s->ncols;
    s->ncols = 0;
    s->batch.nrows = 0;
  } else {
    free_shape(s);
  }
  s->has_result = 0;
  s->eof = 0;
  s->row_mode = 0;
  s->declared = 0;
}

/* Describe's column storage for `ncols` columns: the kept shape's block
 * when it has as many columns, else a new one. */
static int shape_storage(uvodbc__stmt_t* s, size_t ncols, size_t name_max) {
  if (s->kept_ncols == ncols) {
    s->ncols = ncols;
    s->kept_ncols = 0;
    return 0;
  }
  free_shape(s);
  /* cols, layout and names in one block */
  _Static_assert(_Alignof(uvodbc__colbuf_t) <= _Alignof(uvodbc_column_t),
                 "layout follows cols in one block");
  s->cols = uvodbc__calloc(
      ncols, sizeof(*s->cols) + sizeof(*s->layout) + name_max);
  if (s->cols == NULL) return UVODBC__ENOMEM;
  s->ncols = ncols;
  s->layout = (uvodbc__colbuf_t*)(s->cols + ncols);
  s->names = (char*)(s->layout + ncols);
  return 0;
}

static int is_var_type(uvodbc_type_t t) {
  return t == UVODBC_TYPE_TEXT || t == UVODBC_TYPE_DECIMAL ||
         t == UVODBC_TYPE_BINARY;
}

/* Rows per block fetch: as asked, within BATCH_BYTES_TARGET of buffers; by
 * default as many as fit in DEFAULT_BATCH_BYTES (at least
 * DEFAULT_BATCH_ROWS): a thread hop costs tens of microseconds, so narrow
 * rows come in bigger batches. */
static size_t batch_rows_for(uvodbc__stmt_t* s, size_t asked) {
  size_t i, row_bytes = 0, rows = asked;
  for (i = 0; i < s->ncols; i++)
    row_bytes += (size_t)s->layout[i].width + sizeof(SQLLEN);
  if (rows == 0) {
    rows = DEFAULT_BATCH_BYTES / row_bytes;
    if (rows < DEFAULT_BATCH_ROWS) rows = DEFAULT_BATCH_ROWS;
    if (rows > MAX_DEFAULT_BATCH_ROWS) rows = MAX_DEFAULT_BATCH_ROWS;
  }
  if (rows > BATCH_BYTES_TARGET / row_bytes)
    rows = BATCH_BYTES_TARGET / row_bytes;
  return rows > 0 ? rows : 1;
}

/* Row mode: at most `asked` rows (0: 1), and no more than fit their fixed
 * cells, lengths and offsets in BATCH_BYTES_TARGET.  Long cells are
 * bounded as they arrive (fetch_rows). */
static size_t row_mode_rows(const uvodbc__stmt_t* s, size_t asked) {
  size_t i, row_bytes = 0, limit;
  for (i = 0; i < s->ncols; i++)
    row_bytes += sizeof(SQLLEN) + (s->layout[i].width > 0
                                       ? (size_t)s->layout[i].width
                                       : sizeof(size_t));
  limit = BATCH_BYTES_TARGET / row_bytes;
  if (asked > limit) asked = limit;
  return asked > 0 ? asked : 1;
}

/* Rows per batch of the current result: per fetch, or per segment of a
 * whole result. */
static size_t full_rows(uvodbc__stmt_t* s) {
  return s->row_mode ? row_mode_rows(s, s->opts.batch_rows > 0
                                            ? s->opts.batch_rows
                                            : DEFAULT_BATCH_ROWS)
                     : batch_rows_for(s, s->opts.batch_rows);
}

/* Rows per segment of a whole result: a fetch's (`fetch`, full_rows), but
 * at least DEFAULT_BATCH_ROWS within the byte bound, so that small fetches
 * (a small batch_rows) do not make a segment of a few rows each. */
static size_t segment_rows(uvodbc__stmt_t* s, size_t fetch) {
  size_t least = s->row_mode ? row_mode_rows(s, DEFAULT_BATCH_ROWS)
                             : batch_rows_for(s, DEFAULT_BATCH_ROWS);
  return fetch > least ? fetch : least;
}

/* The rows to allocate buffers for at describe: a whole result starts at
 * its first fetch's size and grows (uvodbc__stmt_fetch_all), so a small
 * result costs small buffers. */
static size_t first_rows(uvodbc__stmt_t* s) {
  size_t rows = full_rows(s);
  return s->opts.whole && rows > FIRST_FETCH_ROWS ? FIRST_FETCH_ROWS : rows;
}

static void apply_defaults(uvodbc__stmt_t* s) {
  if (s->opts.long_column_bytes == 0)
    s->opts.long_column_bytes = DEFAULT_LONG_COLUMN_BYTES;
}

/* Block mode: binds the columns to the buffers of `b`.  Bindings may
 * change between fetches, which is how s->batch and s->spare take turns. */
static int bind_columns(uvodbc__stmt_t* s, uvodbc_batch_t* b,
                        uvodbc__diags_t* d) {
  size_t i;
  for (i = 0; i < s->ncols; i++) {
    uvodbc__colbuf_t* c = &b->bufs[i];
    if (!SQL_SUCCEEDED(SQLBindCol(s->h, (SQLUSMALLINT)(i + 1), c->ctype,
                                  c->data, c->width, c->ind))) {
      int err = sql_error(s, "SQLBindCol", d);
      /* No column may stay bound to buffers that are no longer these. */
      SQLFreeStmt(s->h, SQL_UNBIND);
      s->bound_to = NULL;
      return err;
    }
  }
  s->bound_to = b->bufs;
  return 0;
}

/* Describes the current result (SQLNumResultCols > 0) and binds it. */
int uvodbc__stmt_describe(uvodbc__stmt_t* s, uvodbc__diags_t* d) {
  apply_defaults(s);
  SQLSMALLINT ncols = 0, i;
  SQLLEN rowcount = -1;
  size_t names_len = 0, rows;
  SQLCHAR name[256];
  uvodbc__colbuf_t was;
  int reuse;

  if (!SQL_SUCCEEDED(SQLNumResultCols(s->h, &ncols)))
    return sql_error(s, "SQLNumResultCols", d);
  if (ncols <= 0) {
    if (!SQL_SUCCEEDED(SQLRowCount(s->h, &rowcount))) rowcount = -1;
    s->rows_affected = rowcount;
    return 0;
  }
  reuse = s->kept_ncols == (size_t)ncols; /* until a layout differs */
  if (shape_storage(s, (size_t)ncols, sizeof(name)) != 0)
    return UVODBC__ENOMEM;
  for (i = 0; i < ncols; i++) {
    uvodbc_column_t* c = &s->cols[i];
    SQLSMALLINT len = 0, type = 0, digits = 0, nullable = 0;
    SQLULEN size = 0;
    if (!SQL_SUCCEEDED(SQLDescribeCol(s->h, (SQLUSMALLINT)(i + 1), name,
                                      sizeof(name), &len, &type, &size,
                                      &digits, &nullable)))
      return sql_error(s, "SQLDescribeCol", d);
    if (len < 0) len = 0;
    if ((size_t)len >= sizeof(name)) len = sizeof(name) - 1;
    memcpy(s->names + names_len, name, (size_t)len);
    s->names[names_len + (size_t)len] = '\0';
    c->name = s->names + names_len;
    names_len += (size_t)len + 1;
    c->sql_type = type;
    c->size = size;
    c->decimal_digits = digits;
    c->nullable = nullable;
    was = s->layout[i];
    choose_layout(s, (SQLUSMALLINT)(i + 1), c, &s->layout[i]);
    if (s->layout[i].width == 0) s->row_mode = 1;
    if (was.ctype != s->layout[i].ctype || was.width != s->layout[i].width)
      reuse = 0;
  }
  /* The kept batch and bindings serve a result that would allocate the
   * same: same layout, same rows (a cursor may ask for fewer). */
  if (reuse && !s->row_mode && s->batch.cap == first_rows(s)) {
    s->has_result = 1;
    s->rows_affected = -1;
    return 0;
  }
  free_buffers(s); /* of the kept shape, if any */
  s->has_result = 1;
  s->rows_affected = -1;

  if (s->row_mode) {
    /* One row per SQLFetch: the result before SQLMoreResults may have left
     * a larger rowset, and SQLGetData would read only its first row. */
    if (!SQL_SUCCEEDED(set_array_size(s, 1)))
      return sql_error(s, "SQLSetStmtAttr", d);
    /* Fixed columns keep their width; text-like ones become variable. */
    for (i = 0; i < ncols; i++)
      if (is_var_type(s->cols[i].type)) s->layout[i].width = 0;
    if (uvodbc__batch_alloc(&s->carry, s->cols, s->layout, s->ncols, 1))
      return UVODBC__ENOMEM;
    return uvodbc__batch_alloc(&s->batch, s->cols, s->layout, s->ncols,
                               first_rows(s));
  }
  rows = first_rows(s);
  if (uvodbc__batch_alloc(&s->batch, s->cols, s->layout, s->ncols, rows))
    return UVODBC__ENOMEM;
  if (!s->attrs_set) {
    if (!SQL_SUCCEEDED(SQLSetStmtAttr(s->h, SQL_ATTR_ROW_BIND_TYPE,
                                      (SQLPOINTER)SQL_BIND_BY_COLUMN, 0)) ||
        !SQL_SUCCEEDED(SQLSetStmtAttr(s->h, SQL_ATTR_ROWS_FETCHED_PTR,
                                      &s->rows_fetched, 0)))
      return sql_error(s, "SQLSetStmtAttr", d);
    s->attrs_set = 1;
  }
  return bind_columns(s, &s->batch, d);
}


/* The session's quoting rules now, from @@SESSION.sql_mode.  The reply
 * also carries the server status flags that the driver splits by, so
 * nothing can change them before the statement that follows. */
static int session_quoting(SQLHDBC dbc, unsigned* rules, uvodbc__diags_t* d) {
  uvodbc__stmt_t q;
  char mode[2048] = "";
  SQLLEN len = 0;
  int err = uvodbc__stmt_init(&q, dbc, d);
  if (err != 0) return err;
  if (!SQL_SUCCEEDED(SQLExecDirect(
          q.h, (SQLCHAR*)"SELECT @@SESSION.sql_mode", SQL_NTS)) ||
      !SQL_SUCCEEDED(SQLFetch(q.h)) ||
      !SQL_SUCCEEDED(SQLGetData(q.h, 1, SQL_C_CHAR, mode, sizeof(mode),
                                &len)))
    err = sql_error(&q, "SQLExecDirect", d);
  uvodbc__stmt_free(&q);
  *rules = 0;
  if (strstr(mode, "NO_BACKSLASH_ESCAPES") != NULL)
    *rules |= UVODBC__SPLIT_NO_BACKSLASH;
  if (strstr(mode, "ANSI_QUOTES") != NULL) *rules |= UVODBC__SPLIT_ANSI_QUOTES;
  return err;
}

/* MariaDB Connector/ODBC 3.1.15 returns from SQLPrepare and SQLExecDirect
 * with its connection lock still held for a statement under 5 bytes and for
 * several statements in one string ("SELECT 1; SELECT 2", "BEGIN; ...;
 * COMMIT"): every later call on the connection from another worker thread
 * (the next statement, the close) then blocks forever.  Such SQL is refused
 * before the driver sees it; statements are split as the driver splits
 * them (odbc-split.c).  Where the split depends on the sql_mode ('\' inside
 * quotes before a ';'), the session's mode is read first.  ANSI_QUOTES
 * counts both ways: the driver knows of it only if the server reports it. */
static int mariadb_lock_trap(uvodbc__stmt_t* s, const char* sql,
                             const char* fn, uvodbc__diags_t* d) {
  const char* why = NULL;
  unsigned rules = 0;
  if (s->driver != UVODBC__DRIVER_MARIADB) return 0;
  if (strlen(sql) < 5)
    why = "statement shorter than 5 bytes";
  else if (uvodbc__split_ambiguous(sql) &&
           session_quoting(s->dbc, &rules, d) != 0)
    return UVODBC_ESQL;
  else if (uvodbc__split_several(sql, rules) ||
           uvodbc__split_several(sql, rules & ~UVODBC__SPLIT_ANSI_QUOTES))
    why = "several statements in one call";
  if (why == NULL) return 0;
  {
    char msg[256];
    snprintf(msg, sizeof(msg),
             "%s: refused on MariaDB, whose Connector/ODBC would leave the "
             "connection locked (send statements one at a time)",
             why);
    uvodbc__diags_add(d, "42000", 0, msg, fn);
  }
  return UVODBC_ESQL;
}

int uvodbc__stmt_prepare(uvodbc__stmt_t* s, const char* sql,
                         uvodbc__diags_t* d) {
  SQLSMALLINT markers = 0;
  SQLRETURN rc;
  uvodbc__stmt_reset(s);
  s->prepared = 0;
  if (mariadb_lock_trap(s, sql, "SQLPrepare", d)) return UVODBC_ESQL;
  s->clean = 0;
  rc = SQLPrepare(s->h, (SQLCHAR*)sql, SQL_NTS);
  if (rc != SQL_SUCCESS)
    uvodbc__diags_collect(d, SQL_HANDLE_STMT, s->h, "SQLPrepare", NULL);
  if (!SQL_SUCCEEDED(rc)) return UVODBC_ESQL;
  if (!SQL_SUCCEEDED(SQLNumParams(s->h, &markers)))
    return sql_error(s, "SQLNumParams", d);
  s->nparams = (size_t)markers;
  s->prepared = 1;
  return 0;
}

/* Runs the statement: prepared (sql NULL) or direct.  Arms `cancel` around
 * the call that may block, then describes and binds the result, if any. */
static int execute(uvodbc__stmt_t* s, const char* sql,
                   uvodbc__params_t* params, uvodbc__cancel_t* cancel,
                   uvodbc__diags_t* d) {
  size_t n = params != NULL ? params->n : 0;
  const char* fn = sql != NULL ? "SQLExecDirect" : "SQLExecute";
  SQLRETURN rc;
  int err = 0;

  apply_defaults(s);
  if (!s->clean) SQLFreeStmt(s->h, SQL_CLOSE); /* a result may be open */
  s->clean = 0;
  s->rows_affected = -1;
  if (sql == NULL && n != s->nparams) {
    char msg[128];
    snprintf(msg, sizeof(msg),
             "statement has %zu parameter markers, %zu values given",
             s->nparams, n);
    uvodbc__diags_add(d, "07002", 0, msg, "SQLNumParams");
    return UVODBC_EPARAMS;
  }
  if (n > 0) err = uvodbc__params_bind(s->h, s->driver, params, d);
  if (err == 0) {
    uvodbc__cancel_arm(cancel, s->h, s->driver_h, s->kill);
    if (uvodbc__cancel_requested(cancel))
      rc = SQL_ERROR;
    else if (sql != NULL)
      rc = SQLExecDirect(s->h, (SQLCHAR*)sql, SQL_NTS);
    else
      rc = SQLExecute(s->h);
    uvodbc__cancel_disarm(cancel);
    if (rc != SQL_SUCCESS && rc != SQL_NO_DATA)
      uvodbc__diags_collect(d, SQL_HANDLE_STMT, s->h, fn, NULL);
    if (uvodbc__cancel_requested(cancel))
      err = UVODBC__ECANCELED;
    else if (rc == SQL_NO_DATA)
      s->rows_affected = 0; /* a zero-row UPDATE/DELETE, not an error */
    else if (!SQL_SUCCEEDED(rc))
      err = UVODBC_ESQL;
    else
      err = uvodbc__stmt_describe(s, d);
  }
  if (n > 0 && (!s->keep_params || err != 0))
    SQLFreeStmt(s->h, SQL_RESET_PARAMS);
  if (err != 0) uvodbc__stmt_reset(s);
  return err;
}

int uvodbc__stmt_execute(uvodbc__stmt_t* s, uvodbc__params_t* params,
                         uvodbc__cancel_t* cancel, uvodbc__diags_t* d) {
  return execute(s, NULL, params, cancel, d);
}

int uvodbc__stmt_exec(uvodbc__stmt_t* s, const char* sql,
                      uvodbc__params_t* params, uvodbc__cancel_t* cancel,
                      uvodbc__diags_t* d) {
  int err;
  if (params == NULL || params->n == 0) {
    SQLSMALLINT markers = 0;
    int has_marker = strchr(sql, '?') != NULL;
    if (!s->clean) uvodbc__stmt_reset(s);
    s->prepared = 0;
    if (mariadb_lock_trap(s, sql, "SQLExecDirect", d)) return UVODBC_ESQL;
    /* Markers without values: our EPARAMS, not whatever each driver makes
     * of it (SQLite: HY000, MariaDB: a malformed packet).  Only SQL with a
     * '?' pays for the extra prepare; a failing one is left to
     * SQLExecDirect to report. */
    if (has_marker) s->clean = 0; /* prepared below */
    if (has_marker &&
        SQL_SUCCEEDED(SQLPrepare(s->h, (SQLCHAR*)sql, SQL_NTS)) &&
        SQL_SUCCEEDED(SQLNumParams(s->h, &markers)) && markers > 0) {
      char msg[128];
      snprintf(msg, sizeof(msg),
               "statement has %d parameter markers, 0 values given",
               (int)markers);
      uvodbc__diags_add(d, "07002", 0, msg, "SQLNumParams");
      uvodbc__stmt_reset(s);
      return UVODBC_EPARAMS;
    }
    return execute(s, sql, NULL, cancel, d);
  }
  /* Prepare first so that a wrong parameter count is our clear error
   * rather than whatever each driver makes of it. */
  err = uvodbc__stmt_prepare(s, sql, d);
  return err != 0 ? err : execute(s, NULL, params, cancel, d);
}

/* ---- fetch ---- */

static int check_truncation(uvodbc__stmt_t* s, const uvodbc_batch_t* batch,
                            uvodbc__diags_t* d) {
  size_t i, r;
  for (i = 0; i < s->ncols; i++) {
    const uvodbc__colbuf_t* b = &batch->bufs[i];
    SQLLEN room = b->ctype == SQL_C_CHAR ? b->width - 1 : b->width;
    if (b->ctype != SQL_C_CHAR && b->ctype != SQL_C_BINARY) continue;
    for (r = 0; r < batch->nrows; r++) {
      /* SQL_NO_TOTAL, or any other length that is not one, would be read
       * past the cell (uvodbc__batch_append, the text accessors). */
      if ((b->ind[r] < 0 && b->ind[r] != SQL_NULL_DATA) ||
          b->ind[r] > room) {
        char msg[384];
        snprintf(msg, sizeof(msg),
                 "column %zu (%s) holds a value longer than its declared "
                 "size %llu; set long_column_bytes below it to read it "
                 "with SQLGetData",
                 i + 1, s->cols[i].name, (unsigned long long)s->cols[i].size);
        uvodbc__diags_add(d, "01004", 0, msg, "SQLFetch");
        return UVODBC_ETRUNC;
      }
    }
  }
  return 0;
}

/* SQLFetch armed for a cancel: a streaming driver runs the query here
 * (psqlODBC's FETCH from a server cursor, SQLite's step).  MariaDB's
 * driver fetches from the result it holds: nothing to cancel, and its
 * cancel would cost a connection. */
static SQLRETURN fetch_armed(uvodbc__stmt_t* s, uvodbc__cancel_t* cancel,
                             uvodbc__diags_t* d) {
  SQLRETURN rc;
  if (cancel == NULL || s->driver == UVODBC__DRIVER_MARIADB) {
    rc = SQLFetch(s->h);
  } else {
    uvodbc__cancel_arm_fetch(cancel, s->h, s->driver_h, s->kill);
    if (uvodbc__cancel_requested(cancel)) {
      uvodbc__cancel_disarm(cancel);
      return SQL_ERROR; /* never called */
    }
    rc = SQLFetch(s->h);
    uvodbc__cancel_disarm(cancel);
  }
  /* Also when cancelled: a PostgreSQL 57014 may call for a rollback
   * (lib/strand.c, run_one). */
  if (rc != SQL_SUCCESS && rc != SQL_NO_DATA)
    uvodbc__diags_collect(d, SQL_HANDLE_STMT, s->h, "SQLFetch", NULL);
  return rc;
}

static int fetch_block(uvodbc__stmt_t* s, uvodbc_batch_t* batch,
                       size_t max_rows, uvodbc__cancel_t* cancel,
                       uvodbc__diags_t* d) {
  SQLRETURN rc;
  size_t want = max_rows > 0 && max_rows < batch->cap ? max_rows : batch->cap;
  int err;
  if (s->bound_to != batch->bufs && (err = bind_columns(s, batch, d)) != 0)
    return err;
  if (!SQL_SUCCEEDED(set_array_size(s, want)))
    return sql_error(s, "SQLSetStmtAttr", d);
  s->rows_fetched = 0; /* MariaDB leaves it untouched on SQL_NO_DATA */
  rc = fetch_armed(s, cancel, d);
  if (uvodbc__cancel_requested(cancel)) return UVODBC__ECANCELED;
  if (rc == SQL_NO_DATA) {
    batch->nrows = 0;
    s->eof = 1;
    return 0;
  }
  if (!SQL_SUCCEEDED(rc)) return UVODBC_ESQL;
  /* Never more rows than the buffers hold, whatever the driver says. */
  batch->nrows = s->rows_fetched < want ? (size_t)s->rows_fetched : want;
  if (batch->nrows < want) s->eof = 1;
  return check_truncation(s, batch, d);
}

size_t uvodbc__filled_len(SQLSMALLINT ctype, const char* buf, SQLLEN size,
                          SQLLEN ind) {
  size_t room = size > 0 ? (size_t)size - (ctype == SQL_C_CHAR) : 0;
  const char* nul;
  if (ind >= 0) return (size_t)ind < room ? (size_t)ind : room;
  if (ctype != SQL_C_CHAR) return room;
  nul = memchr(buf, '\0', room);
  return nul != NULL ? (size_t)(nul - buf) : room;
}

/* Reads column `n` of the current row in chunks into a variable cell. */
static int get_var(uvodbc__stmt_t* s, uvodbc_batch_t* batch, size_t col,
                   size_t row, char* chunk, uvodbc__diags_t* d) {
  SQLSMALLINT ctype = batch->bufs[col].ctype;
  int err = uvodbc__batch_var_begin(batch, col, row);
  while (err == 0) {
    SQLLEN ind = 0;
    SQLRETURN rc = SQLGetData(s->h, (SQLUSMALLINT)(col + 1), ctype, chunk,
                              GETDATA_CHUNK, &ind);
    if (rc == SQL_NO_DATA) break; /* every byte already read */
    if (!SQL_SUCCEEDED(rc)) return sql_error(s, "SQLGetData", d);
    if (ind == SQL_NULL_DATA) {
      batch->bufs[col].ind[row] = SQL_NULL_DATA;
      break;
    }
    /* A full chunk (01004) holds its size in bytes minus, for text, the
     * NUL the driver added, and the length of the whole rest (or
     * SQL_NO_TOTAL); text may end inside a UTF-8 sequence, which the next
     * chunk completes since the bytes are joined before anyone reads them. */
    err = uvodbc__batch_var_append(
        batch, col, row, chunk,
        uvodbc__filled_len(ctype, chunk, GETDATA_CHUNK, ind));
    if (rc == SQL_SUCCESS) break;
  }
  return err;
}

/* Row mode.  A batch ends before the row that would take its cell data
 * past BATCH_BYTES_TARGET: that row, already fetched, waits in s->carry and
 * starts the next batch (a row larger than the bound comes alone). */
static int fetch_rows(uvodbc__stmt_t* s, uvodbc_batch_t* batch,
                      size_t max_rows, uvodbc__cancel_t* cancel,
                      uvodbc__diags_t* d) {
  size_t want = row_mode_rows(s, max_rows > 0             ? max_rows
                                 : s->opts.batch_rows > 0 ? s->opts.batch_rows
                                                          : DEFAULT_BATCH_ROWS);
  size_t i;
  char* chunk = uvodbc__malloc(GETDATA_CHUNK);
  int err = 0;

  if (chunk == NULL) return UVODBC__ENOMEM;
  for (i = 0; i < s->ncols; i++) batch->bufs[i].arena_len = 0;
  if (s->carry.nrows > 0) {
    err = uvodbc__batch_append(batch, &s->carry);
    s->carry.nrows = 0;
  }
  while (err == 0 && batch->nrows < want) {
    size_t row = batch->nrows;
    SQLRETURN rc;
    if (row == batch->cap &&
        uvodbc__batch_reserve(batch, row <= want / 2 ? row * 2 : want)) {
      err = UVODBC__ENOMEM;
      break;
    }
    if (uvodbc__cancel_requested(cancel)) {
      err = UVODBC__ECANCELED;
      break;
    }
    rc = fetch_armed(s, cancel, d);
    if (uvodbc__cancel_requested(cancel)) {
      err = UVODBC__ECANCELED;
      break;
    }
    if (rc == SQL_NO_DATA) {
      s->eof = 1;
      break;
    }
    if (!SQL_SUCCEEDED(rc)) {
      err = UVODBC_ESQL;
      break;
    }
    for (i = 0; i < s->ncols && err == 0; i++) {
      uvodbc__colbuf_t* b = &batch->bufs[i];
      if (b->width == 0) {
        err = get_var(s, batch, i, row, chunk, d);
      } else if (!SQL_SUCCEEDED(SQLGetData(s->h, (SQLUSMALLINT)(i + 1),
                                           b->ctype,
                                           b->data + row * (size_t)b->width,
                                           b->width, &b->ind[row]))) {
        err = sql_error(s, "SQLGetData", d);
      }
    }
    if (err != 0) break;
    batch->nrows = row + 1;
    if (row > 0 && uvodbc__batch_bytes(batch) > BATCH_BYTES_TARGET)
      err = uvodbc__batch_move_last(&s->carry, batch);
    if (s->carry.nrows > 0) break;
  }
  if (err != 0) {
    batch->nrows = 0;
    s->carry.nrows = 0;
  }
  uvodbc__free(chunk);
  return err;
}

static int fetch_into(uvodbc__stmt_t* s, uvodbc_batch_t* batch,
                      size_t max_rows, uvodbc__cancel_t* cancel,
                      uvodbc__diags_t* d) {
  batch->nrows = 0;
  if (!s->has_result || s->eof) return UVODBC__EOF;
  return s->row_mode ? fetch_rows(s, batch, max_rows, cancel, d)
                     : fetch_block(s, batch, max_rows, cancel, d);
}

int uvodbc__stmt_fetch(uvodbc__stmt_t* s, size_t max_rows,
                       uvodbc__cancel_t* cancel, uvodbc__diags_t* d) {
  return fetch_into(s, &s->batch, max_rows, cancel, d);
}

int uvodbc__stmt_fetch_spare(uvodbc__stmt_t* s, size_t max_rows,
                             uvodbc__cancel_t* cancel, uvodbc__diags_t* d) {
  if (s->spare.bufs == NULL && s->has_result &&
      uvodbc__batch_alloc(&s->spare, s->cols, s->layout, s->ncols,
                          s->batch.cap) != 0) {
    uvodbc__batch_free(&s->spare);
    return UVODBC__ENOMEM;
  }
  return fetch_into(s, &s->spare, max_rows, cancel, d);
}

void uvodbc__stmt_swap(uvodbc__stmt_t* s) {
  uvodbc_batch_t t = s->batch;
  s->batch = s->spare;
  s->spare = t;
}

int uvodbc__stmt_fetch_all(uvodbc__stmt_t* s, size_t max_rows,
                           size_t max_bytes, uvodbc__cancel_t* cancel,
                           uvodbc_batch_t* out, uvodbc__diags_t* d) {
  size_t i, step = FIRST_FETCH_ROWS, bytes = 0, fetch_rows, seg_rows;
  int err;

  memset(out, 0, sizeof(*out));
  if (!s->has_result) return 0;
  fetch_rows = full_rows(s);
  seg_rows = segment_rows(s, fetch_rows);
  err = uvodbc__result_init(out, s->cols, s->layout, s->ncols, seg_rows);
  for (i = 0; err == 0 && i < s->ncols; i++)
    if (is_var_type(s->cols[i].type)) out->bufs[i].width = 0; /* compact */
  while (err == 0 && !s->eof) {
    /* Up to the end of the segment being filled, so blocks are not split. */
    size_t want = seg_rows - out->nrows % seg_rows;
    if (want > fetch_rows) want = fetch_rows;
    if (step > 0 && want > step) want = step;
    if (!s->row_mode && want > s->batch.cap) { /* grow the bound buffers */
      if (uvodbc__batch_reserve(&s->batch, want)) {
        err = UVODBC__ENOMEM;
        break;
      }
      s->bound_to = NULL; /* moved: bind them again */
    }
    err = uvodbc__stmt_fetch(s, want, cancel, d);
    step = step > 0 && step < fetch_rows / 8 ? step * 8 : 0;
    if (err == 0) err = uvodbc__result_append(out, &s->batch, &bytes);
    if (err == 0 && uvodbc__cancel_requested(cancel)) err = UVODBC__ECANCELED;
    if (err == 0 && (out->nrows > max_rows || bytes > max_bytes)) {
      char msg[160];
      snprintf(msg, sizeof(msg),
               "result exceeds the limit of %zu rows or %zu bytes",
               max_rows, max_bytes);
      uvodbc__diags_add(d, "HY000", 0, msg, "SQLFetch");
      err = UVODBC_ELIMIT;
    }
  }
  if (err == UVODBC__EOF) err = 0;
  if (err != 0) uvodbc__batch_free(out);
  return err;
}

int uvodbc__stmt_next_result(uvodbc__stmt_t* s, uvodbc__diags_t* d) {
  SQLRETURN rc;
  end_result(s, 0);
  s->rows_affected = -1;
  rc = SQLMoreResults(s->h);
  if (rc == SQL_NO_DATA) return UVODBC__EOF;
  if (rc != SQL_SUCCESS)
    uvodbc__diags_collect(d, SQL_HANDLE_STMT, s->h, "SQLMoreResults", NULL);
  if (!SQL_SUCCEEDED(rc)) return UVODBC_ESQL;
  return uvodbc__stmt_describe(s, d);
}

/* psqlODBC answers SQLRowCount with -1 exactly for a result it reads
 * through a server cursor (results.c: QR_get_cursor), and with the row
 * count for one it buffered: several statements, VALUES, SHOW, a SELECT
 * it did not recognise as one. */
int uvodbc__stmt_on_server(uvodbc__stmt_t* s) {
  SQLLEN rows = 0;
  return s->driver == UVODBC__DRIVER_PSQL && s->has_result &&
         SQL_SUCCEEDED(SQLRowCount(s->h, &rows)) && rows == -1;
}

void uvodbc__stmt_reset(uvodbc__stmt_t* s) {
  if (s->h == SQL_NULL_HSTMT) return;
  SQLFreeStmt(s->h, SQL_CLOSE);
  end_result(s, 1);
  s->clean = 1;
}

void uvodbc__stmt_free(uvodbc__stmt_t* s) {
  s->bound_to = NULL; /* SQLFreeHandle unbinds */
  end_result(s, 0);
  if (s->h != SQL_NULL_HSTMT) SQLFreeHandle(SQL_HANDLE_STMT, s->h);
  s->h = SQL_NULL_HSTMT;
}
