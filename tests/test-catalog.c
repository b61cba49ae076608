/* Catalog calls (uvodbc_conn_catalog) against a schema the test creates, and
 * driver information (uvodbc_conn_get_info).
 *
 * Schema: catalog_parent (primary key id), catalog_child (primary key
 * (id, line), a foreign key parent_id -> catalog_parent.id, an index on
 * parent_id) and, on PostgreSQL and MariaDB, a procedure catalog_proc(IN a,
 * INOUT/OUT b).  Each catalog result is read through its cursor to the end,
 * in small batches, and checked by the ODBC column names. */
#include <stdlib.h>
#include <strings.h>

#include <sql.h>
#include <sqlext.h>

#include "uvodbc-test.h"

/* ---- a catalog result as strings ---- */

#define MAX_COLS 32

typedef struct {
  size_t ncols;
  char* names[MAX_COLS];
  size_t nrows, cap;
  char** cells; /* nrows * ncols, NULL for SQL NULL */
} rowset_t;

typedef struct {
  uvodbc_req_t req;
  rowset_t* rs;
  uvodbc_cursor_t* cursor;
  int calls;     /* callbacks of the catalog call and its fetches */
  int status;    /* of the catalog call                           */
  int eof;
  int closed;
  char state[6];
} reader_t;

static char* cell_text(const uvodbc_batch_t* b, size_t col, size_t row) {
  char buf[64];
  const char* s;
  size_t len;
  int64_t i;
  double d;
  int flag;
  if (uvodbc_batch_is_null(b, col, row) == 1) return NULL;
  switch (uvodbc_batch_column(b, col)->type) {
    case UVODBC_TYPE_INT64:
      ck_assert_int_eq(uvodbc_batch_get_int64(b, col, row, &i), 0);
      snprintf(buf, sizeof(buf), "%lld", (long long)i);
      break;
    case UVODBC_TYPE_DOUBLE:
      ck_assert_int_eq(uvodbc_batch_get_double(b, col, row, &d), 0);
      snprintf(buf, sizeof(buf), "%g", d);
      break;
    case UVODBC_TYPE_BOOL:
      ck_assert_int_eq(uvodbc_batch_get_bool(b, col, row, &flag), 0);
      snprintf(buf, sizeof(buf), "%d", flag);
      break;
    case UVODBC_TYPE_TEXT:
    case UVODBC_TYPE_DECIMAL:
      ck_assert_int_eq(uvodbc_batch_get_text(b, col, row, &s, &len), 0);
      return strdup(s);
    default:
      snprintf(buf, sizeof(buf), "?");
      break;
  }
  return strdup(buf);
}

static void take_batch(rowset_t* rs, const uvodbc_batch_t* b) {
  size_t r, c, n = b != NULL ? uvodbc_batch_nrows(b) : 0;
  if (n == 0) return;
  ck_assert_uint_eq(uvodbc_batch_ncols(b), rs->ncols);
  if (rs->nrows + n > rs->cap) {
    rs->cap = (rs->nrows + n) * 2;
    rs->cells = realloc(rs->cells, rs->cap * rs->ncols * sizeof(char*));
    ck_assert_ptr_nonnull(rs->cells);
  }
  for (r = 0; r < n; r++, rs->nrows++)
    for (c = 0; c < rs->ncols; c++)
      rs->cells[rs->nrows * rs->ncols + c] = cell_text(b, c, r);
}

static void on_reader_closed(uvodbc_cursor_t* cursor) {
  reader_t* rd = uvodbc_cursor_get_data(cursor);
  rd->closed++;
}

static void on_fetch(uvodbc_req_t* req, int status) {
  reader_t* rd = req->data;
  rd->calls++;
  if (status == UV_EOF) {
    rd->eof++;
    ck_assert_int_eq(uvodbc_cursor_close(rd->cursor, on_reader_closed), 0);
    return;
  }
  ck_assert_msg(status == 0, "catalog fetch: %s", uvodbc_err_name(status));
  take_batch(rd->rs, req->batch);
  ck_assert_int_eq(uvodbc_cursor_fetch(rd->cursor, req, 0, on_fetch), 0);
}

static void on_catalog(uvodbc_req_t* req, int status) {
  reader_t* rd = req->data;
  size_t c;
  rd->calls++;
  rd->status = status;
  rd->state[0] = '\0';
  if (req->ndiag > 0) memcpy(rd->state, req->diag[0].sqlstate, 6);
  if (status != 0) {
    test_print_diags(req, "catalog");
    return;
  }
  ck_assert_ptr_nonnull(req->cursor);
  rd->cursor = req->cursor;
  uvodbc_cursor_set_data(rd->cursor, rd);
  rd->rs->ncols = uvodbc_cursor_ncols(rd->cursor);
  ck_assert_uint_le(rd->rs->ncols, MAX_COLS);
  for (c = 0; c < rd->rs->ncols; c++)
    rd->rs->names[c] = strdup(uvodbc_cursor_column(rd->cursor, c)->name);
  take_batch(rd->rs, req->batch);
  ck_assert_int_eq(uvodbc_cursor_fetch(rd->cursor, req, 0, on_fetch), 0);
}

/* Runs a catalog call and reads it to the end in batches of 3 rows.
 * Returns the call's status; rs filled on success. */
static int catalog(uv_loop_t* loop, uvodbc_conn_t* conn,
                   uvodbc_catalog_t kind, const uvodbc_catalog_args_t* args,
                   rowset_t* rs) {
  reader_t rd;
  uvodbc_exec_options_t opts;
  memset(rs, 0, sizeof(*rs));
  memset(&rd, 0, sizeof(rd));
  rd.rs = rs;
  rd.req.data = &rd;
  uvodbc_exec_options_init(&opts);
  opts.batch_rows = 3;
  ck_assert_int_eq(
      uvodbc_conn_catalog(conn, &rd.req, kind, args, &opts, on_catalog), 0);
  ck_assert_int_eq(rd.calls, 0);
  uv_run(loop, UV_RUN_DEFAULT);

  if (rd.status != 0) {
    ck_assert_int_eq(rd.calls, 1);
    return rd.status;
  }
  ck_assert_int_eq(rd.eof, 1);
  ck_assert_int_eq(rd.closed, 1);
  ck_assert_int_ge(rd.calls, 2);
  return 0;
}

static void free_rowset(rowset_t* rs) {
  size_t i;
  for (i = 0; i < rs->ncols; i++) free(rs->names[i]);
  for (i = 0; i < rs->nrows * rs->ncols; i++) free(rs->cells[i]);
  free(rs->cells);
  memset(rs, 0, sizeof(*rs));
}

static size_t col_of(const rowset_t* rs, const char* name) {
  size_t c;
  for (c = 0; c < rs->ncols; c++)
    if (strcasecmp(rs->names[c], name) == 0) return c;
  return MAX_COLS;
}

/* The cell of `name` in row r (NULL for SQL NULL). */
static const char* cell(const rowset_t* rs, size_t r, const char* name) {
  size_t c = col_of(rs, name);
  return c < rs->ncols ? rs->cells[r * rs->ncols + c] : NULL;
}

static int cell_eq(const rowset_t* rs, size_t r, const char* name,
                   const char* want) {
  const char* v = cell(rs, r, name);
  return v != NULL && strcasecmp(v, want) == 0;
}

/* The first row whose column `name` equals `value` (case-insensitive), or
 * -1. */
static long find_row(const rowset_t* rs, const char* name, const char* value) {
  size_t r;
  for (r = 0; r < rs->nrows; r++)
    if (cell_eq(rs, r, name, value)) return (long)r;
  return -1;
}

static size_t count_rows(const rowset_t* rs, const char* name,
                         const char* value) {
  size_t r, n = 0;
  for (r = 0; r < rs->nrows; r++) n += cell_eq(rs, r, name, value);
  return n;
}

/* ---- the schema ---- */

static void create_schema(uv_loop_t* loop, uvodbc_conn_t* conn) {
  test_exec(loop, conn, "DROP TABLE IF EXISTS catalog_child");
  test_exec(loop, conn, "DROP TABLE IF EXISTS catalog_parent");
  test_exec(loop, conn,
            "CREATE TABLE catalog_parent (id INTEGER NOT NULL, "
            "name VARCHAR(40) NOT NULL, PRIMARY KEY (id))");
  test_exec(loop, conn,
            "CREATE TABLE catalog_child (id INTEGER NOT NULL, "
            "line INTEGER NOT NULL, parent_id INTEGER, note VARCHAR(20), "
            "PRIMARY KEY (id, line), CONSTRAINT catalog_child_fk FOREIGN KEY "
            "(parent_id) REFERENCES catalog_parent (id))");
  test_exec(loop, conn,
            "CREATE INDEX catalog_child_parent_idx ON catalog_child "
            "(parent_id)");
  switch (test_driver()) {
    case TEST_PG:
      test_exec(loop, conn,
                "CREATE OR REPLACE PROCEDURE catalog_proc(IN a integer, "
                "INOUT b integer) LANGUAGE plpgsql AS $$ BEGIN b := a * 2; "
                "END $$");
      break;
    case TEST_MARIADB:
      test_exec(loop, conn, "DROP PROCEDURE IF EXISTS catalog_proc");
      test_exec(loop, conn,
                "CREATE PROCEDURE catalog_proc(IN a INT, OUT b INT) "
                "BEGIN SET b = a * 2; END");
      break;
    default:
      break;
  }
}

static void drop_schema(uv_loop_t* loop, uvodbc_conn_t* conn) {
  test_exec(loop, conn, "DROP TABLE catalog_child");
  test_exec(loop, conn, "DROP TABLE catalog_parent");
  if (test_driver() == TEST_PG)
    test_exec(loop, conn, "DROP PROCEDURE catalog_proc(integer, integer)");
  if (test_driver() == TEST_MARIADB)
    test_exec(loop, conn, "DROP PROCEDURE catalog_proc");
}

/* The name the servers report as TABLE_CAT (the database); NULL on
 * SQLite, which reports "" or NULL there. */
static const char* catalog_name(void) {
  return test_driver() == TEST_SQLITE ? NULL : "uvodbc_test";
}

/* TABLE_CAT / TABLE_SCHEM as each driver reports them for our tables. */
static void check_cat_schem(const rowset_t* rs, size_t r, const char* cat_col,
                            const char* schem_col) {
  const char* cat = cell(rs, r, cat_col);
  const char* schem = cell(rs, r, schem_col);
  switch (test_driver()) {
    case TEST_PG:
      ck_assert_str_eq(cat, catalog_name());
      ck_assert_str_eq(schem, "public");
      break;
    case TEST_MARIADB: /* catalogs are databases; no schemas */
      ck_assert_str_eq(cat, catalog_name());
      ck_assert_ptr_null(schem);
      break;
    default: /* neither */
      ck_assert(cat == NULL || *cat == '\0');
      ck_assert(schem == NULL || *schem == '\0');
      break;
  }
}

START_TEST(catalog_tables) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  rowset_t rs;
  uvodbc_catalog_args_t a;
  long r;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  create_schema(&loop, conn);

  memset(&a, 0, sizeof(a));
  a.table = "catalog\\_%"; /* _ is a wildcard: escaped */
  ck_assert_int_eq(catalog(&loop, conn, UVODBC_CATALOG_TABLES, &a, &rs), 0);
  ck_assert_uint_eq(rs.nrows, 2);
  ck_assert_str_eq(rs.names[2], "TABLE_NAME"); /* ODBC's order */
  r = find_row(&rs, "TABLE_NAME", "catalog_parent");
  ck_assert_int_ge(r, 0);
  ck_assert_str_eq(cell(&rs, (size_t)r, "TABLE_TYPE"), "TABLE");
  check_cat_schem(&rs, (size_t)r, "TABLE_CAT", "TABLE_SCHEM");
  ck_assert_int_ge(find_row(&rs, "TABLE_NAME", "catalog_child"), 0);
  free_rowset(&rs);

  /* Restricted by type: TABLE finds them, VIEW does not. */
  a.table = "catalog_parent";
  a.table_type = "TABLE";
  ck_assert_int_eq(catalog(&loop, conn, UVODBC_CATALOG_TABLES, &a, &rs), 0);
  ck_assert_uint_eq(rs.nrows, 1);
  free_rowset(&rs);
  a.table_type = "VIEW";
  ck_assert_int_eq(catalog(&loop, conn, UVODBC_CATALOG_TABLES, &a, &rs), 0);
  ck_assert_uint_eq(rs.nrows, 0);
  ck_assert_uint_ge(rs.ncols, 5); /* an empty result still has columns */
  free_rowset(&rs);
  a.table = "catalog_no_such_table";
  a.table_type = NULL;
  ck_assert_int_eq(catalog(&loop, conn, UVODBC_CATALOG_TABLES, &a, &rs), 0);
  ck_assert_uint_eq(rs.nrows, 0);
  free_rowset(&rs);

  /* No restriction at all: every table, ours among them. */
  ck_assert_int_eq(catalog(&loop, conn, UVODBC_CATALOG_TABLES, NULL, &rs), 0);
  ck_assert_uint_ge(rs.nrows, 2);
  ck_assert_int_ge(find_row(&rs, "TABLE_NAME", "catalog_child"), 0);
  free_rowset(&rs);

  drop_schema(&loop, conn);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* Columns in ordinal order with type, size and nullability.  The VARCHAR is
 * SQL_WVARCHAR on MariaDB's Unicode driver, SQL_VARCHAR elsewhere. */
START_TEST(catalog_columns) {
  static const char* names[] = {"id", "line", "parent_id", "note"};
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  rowset_t rs;
  uvodbc_catalog_args_t a;
  size_t r;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  create_schema(&loop, conn);
  memset(&a, 0, sizeof(a));
  a.table = "catalog_child";
  ck_assert_int_eq(catalog(&loop, conn, UVODBC_CATALOG_COLUMNS, &a, &rs), 0);
  ck_assert_uint_eq(rs.nrows, 4);
  ck_assert_str_eq(rs.names[3], "COLUMN_NAME");
  for (r = 0; r < 4; r++) {
    char pos[8];
    snprintf(pos, sizeof(pos), "%zu", r + 1);
    ck_assert_str_eq(cell(&rs, r, "TABLE_NAME"), "catalog_child");
    ck_assert_str_eq(cell(&rs, r, "COLUMN_NAME"), names[r]);
    ck_assert_str_eq(cell(&rs, r, "ORDINAL_POSITION"), pos);
    ck_assert_str_eq(cell(&rs, r, "NULLABLE"), r < 2 ? "0" : "1");
    check_cat_schem(&rs, r, "TABLE_CAT", "TABLE_SCHEM");
    ck_assert_ptr_nonnull(cell(&rs, r, "TYPE_NAME"));
    if (r < 3) {
      ck_assert_str_eq(cell(&rs, r, "DATA_TYPE"), "4"); /* SQL_INTEGER */
    } else {
      ck_assert_str_eq(cell(&rs, r, "DATA_TYPE"),
                       test_driver() == TEST_MARIADB ? "-9" : "12");
      ck_assert_str_eq(cell(&rs, r, "COLUMN_SIZE"), "20");
    }
    /* IS_NULLABLE: psqlODBC leaves it NULL. */
    if (test_driver() == TEST_PG)
      ck_assert_ptr_null(cell(&rs, r, "IS_NULLABLE"));
    else
      ck_assert_str_eq(cell(&rs, r, "IS_NULLABLE"), r < 2 ? "NO" : "YES");
  }
  free_rowset(&rs);

  a.column = "note";
  ck_assert_int_eq(catalog(&loop, conn, UVODBC_CATALOG_COLUMNS, &a, &rs), 0);
  ck_assert_uint_eq(rs.nrows, 1);
  ck_assert_str_eq(cell(&rs, 0, "COLUMN_NAME"), "note");
  free_rowset(&rs);

  drop_schema(&loop, conn);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* Primary keys with KEY_SEQ; PK_NAME is the constraint name on PostgreSQL,
 * PRIMARY on MariaDB, NULL on SQLite. */
START_TEST(catalog_primary_keys) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  rowset_t rs;
  uvodbc_catalog_args_t a;
  size_t r;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  create_schema(&loop, conn);
  memset(&a, 0, sizeof(a));
  a.table = "catalog_child";
  ck_assert_int_eq(
      catalog(&loop, conn, UVODBC_CATALOG_PRIMARY_KEYS, &a, &rs), 0);
  ck_assert_uint_eq(rs.nrows, 2);
  for (r = 0; r < 2; r++) {
    ck_assert_str_eq(cell(&rs, r, "TABLE_NAME"), "catalog_child");
    ck_assert_str_eq(cell(&rs, r, "COLUMN_NAME"), r == 0 ? "id" : "line");
    ck_assert_str_eq(cell(&rs, r, "KEY_SEQ"), r == 0 ? "1" : "2");
    switch (test_driver()) {
      case TEST_PG:
        ck_assert_str_eq(cell(&rs, r, "PK_NAME"), "catalog_child_pkey");
        break;
      case TEST_MARIADB:
        ck_assert_str_eq(cell(&rs, r, "PK_NAME"), "PRIMARY");
        break;
      default:
        ck_assert_ptr_null(cell(&rs, r, "PK_NAME"));
        break;
    }
  }
  free_rowset(&rs);
  a.table = "catalog_parent";
  ck_assert_int_eq(
      catalog(&loop, conn, UVODBC_CATALOG_PRIMARY_KEYS, &a, &rs), 0);
  ck_assert_uint_eq(rs.nrows, 1);
  ck_assert_str_eq(cell(&rs, 0, "COLUMN_NAME"), "id");
  ck_assert_str_eq(cell(&rs, 0, "KEY_SEQ"), "1");
  free_rowset(&rs);
  drop_schema(&loop, conn);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* The foreign key, asked from either side.  Rules: NO ACTION (3) on
 * PostgreSQL and SQLite, RESTRICT (1) on MariaDB; FK_NAME is NULL on
 * SQLite. */
static void check_fk_row(const rowset_t* rs) {
  const char* rule = test_driver() == TEST_MARIADB ? "1" : "3";
  ck_assert_uint_eq(rs->nrows, 1);
  ck_assert_str_eq(cell(rs, 0, "PKTABLE_NAME"), "catalog_parent");
  ck_assert_str_eq(cell(rs, 0, "PKCOLUMN_NAME"), "id");
  ck_assert_str_eq(cell(rs, 0, "FKTABLE_NAME"), "catalog_child");
  ck_assert_str_eq(cell(rs, 0, "FKCOLUMN_NAME"), "parent_id");
  ck_assert_str_eq(cell(rs, 0, "KEY_SEQ"), "1");
  ck_assert_str_eq(cell(rs, 0, "UPDATE_RULE"), rule);
  ck_assert_str_eq(cell(rs, 0, "DELETE_RULE"), rule);
  ck_assert_str_eq(cell(rs, 0, "DEFERRABILITY"), "7"); /* NOT_DEFERRABLE */
  check_cat_schem(rs, 0, "PKTABLE_CAT", "PKTABLE_SCHEM");
  check_cat_schem(rs, 0, "FKTABLE_CAT", "FKTABLE_SCHEM");
  if (test_driver() == TEST_SQLITE)
    ck_assert_ptr_null(cell(rs, 0, "FK_NAME"));
  else
    ck_assert_str_eq(cell(rs, 0, "FK_NAME"), "catalog_child_fk");
}

START_TEST(catalog_foreign_keys) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  rowset_t rs;
  uvodbc_catalog_args_t a;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  create_schema(&loop, conn);
  memset(&a, 0, sizeof(a));
  a.table = "catalog_parent"; /* keys referencing it */
  ck_assert_int_eq(
      catalog(&loop, conn, UVODBC_CATALOG_FOREIGN_KEYS, &a, &rs), 0);
  ck_assert_str_eq(rs.names[2], "PKTABLE_NAME");
  check_fk_row(&rs);
  free_rowset(&rs);
  memset(&a, 0, sizeof(a));
  a.fk_table = "catalog_child"; /* keys it holds */
  ck_assert_int_eq(
      catalog(&loop, conn, UVODBC_CATALOG_FOREIGN_KEYS, &a, &rs), 0);
  check_fk_row(&rs);
  free_rowset(&rs);
  a.table = "catalog_parent"; /* both sides */
  ck_assert_int_eq(
      catalog(&loop, conn, UVODBC_CATALOG_FOREIGN_KEYS, &a, &rs), 0);
  check_fk_row(&rs);
  free_rowset(&rs);
  memset(&a, 0, sizeof(a));
  a.fk_table = "catalog_parent"; /* holds none */
  ck_assert_int_eq(
      catalog(&loop, conn, UVODBC_CATALOG_FOREIGN_KEYS, &a, &rs), 0);
  ck_assert_uint_eq(rs.nrows, 0);
  free_rowset(&rs);
  drop_schema(&loop, conn);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* Indexes: ours (non-unique, on parent_id) and the primary key's (unique,
 * two columns; its name is the driver's: catalog_child_pkey, PRIMARY,
 * sqlite_autoindex_catalog_child_1).  No driver adds a SQL_TABLE_STAT row
 * with SQL_QUICK. */
START_TEST(catalog_statistics) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  rowset_t rs;
  uvodbc_catalog_args_t a;
  long r;
  size_t i;
  const char* pk_index = test_driver() == TEST_PG ? "catalog_child_pkey"
                         : test_driver() == TEST_MARIADB
                             ? "PRIMARY"
                             : "sqlite_autoindex_catalog_child_1";

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  create_schema(&loop, conn);
  memset(&a, 0, sizeof(a));
  a.table = "catalog_child";
  ck_assert_int_eq(catalog(&loop, conn, UVODBC_CATALOG_STATISTICS, &a, &rs),
                   0);
  ck_assert_uint_eq(rs.nrows, 3);
  ck_assert_str_eq(rs.names[5], "INDEX_NAME");
  r = find_row(&rs, "INDEX_NAME", "catalog_child_parent_idx");
  ck_assert_int_ge(r, 0);
  ck_assert_str_eq(cell(&rs, (size_t)r, "NON_UNIQUE"), "1");
  ck_assert_str_eq(cell(&rs, (size_t)r, "COLUMN_NAME"), "parent_id");
  ck_assert_str_eq(cell(&rs, (size_t)r, "ORDINAL_POSITION"), "1");
  ck_assert_str_eq(cell(&rs, (size_t)r, "TYPE"), "3"); /* SQL_INDEX_OTHER */
  ck_assert_str_eq(cell(&rs, (size_t)r, "ASC_OR_DESC"), "A");
  ck_assert_uint_eq(count_rows(&rs, "INDEX_NAME", pk_index), 2);
  for (i = 0; i < rs.nrows; i++) {
    ck_assert_str_eq(cell(&rs, i, "TABLE_NAME"), "catalog_child");
    if (cell_eq(&rs, i, "INDEX_NAME", pk_index)) {
      ck_assert_str_eq(cell(&rs, i, "NON_UNIQUE"), "0");
      ck_assert_str_eq(cell(&rs, i, "COLUMN_NAME"),
                       cell_eq(&rs, i, "ORDINAL_POSITION", "1") ? "id"
                                                                : "line");
    }
  }
  free_rowset(&rs);

  a.unique_only = 1;
  ck_assert_int_eq(catalog(&loop, conn, UVODBC_CATALOG_STATISTICS, &a, &rs),
                   0);
  ck_assert_uint_eq(rs.nrows, 2);
  ck_assert_uint_eq(count_rows(&rs, "INDEX_NAME", pk_index), 2);
  free_rowset(&rs);
  drop_schema(&loop, conn);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* The procedure and its parameters.  Measured: psqlODBC names SQLProcedures'
 * columns in lower case, spells SQLProcedureColumns' second column
 * PROCEDUR_SCHEM, and reports a PROCEDURE as SQL_PT_FUNCTION (2); MariaDB
 * reports SQL_PT_PROCEDURE (1).  b is INOUT (2) on PostgreSQL, OUT (4) on
 * MariaDB.  SQLite: both calls succeed with no rows. */
START_TEST(catalog_procedures) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  rowset_t rs;
  uvodbc_catalog_args_t a;
  size_t r;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  create_schema(&loop, conn);
  memset(&a, 0, sizeof(a));
  a.procedure = "catalog_proc";
  ck_assert_int_eq(catalog(&loop, conn, UVODBC_CATALOG_PROCEDURES, &a, &rs),
                   0);
  ck_assert_uint_eq(rs.ncols, 8);
  ck_assert_str_eq(rs.names[2], test_driver() == TEST_PG ? "procedure_name"
                                                          : "PROCEDURE_NAME");
  if (test_driver() == TEST_SQLITE) {
    ck_assert_uint_eq(rs.nrows, 0);
  } else {
    ck_assert_uint_eq(rs.nrows, 1);
    ck_assert_str_eq(cell(&rs, 0, "PROCEDURE_NAME"), "catalog_proc");
    ck_assert_str_eq(cell(&rs, 0, "PROCEDURE_TYPE"),
                     test_driver() == TEST_PG ? "2" : "1");
  }
  free_rowset(&rs);

  ck_assert_int_eq(
      catalog(&loop, conn, UVODBC_CATALOG_PROCEDURE_COLUMNS, &a, &rs), 0);
  ck_assert_str_eq(rs.names[1], test_driver() == TEST_PG ? "PROCEDUR_SCHEM"
                                                          : "PROCEDURE_SCHEM");
  if (test_driver() == TEST_SQLITE) {
    ck_assert_uint_eq(rs.nrows, 0);
  } else {
    ck_assert_uint_eq(rs.nrows, 2);
    for (r = 0; r < 2; r++) {
      ck_assert_str_eq(cell(&rs, r, "PROCEDURE_NAME"), "catalog_proc");
      ck_assert_str_eq(cell(&rs, r, "COLUMN_NAME"), r == 0 ? "a" : "b");
      ck_assert_str_eq(cell(&rs, r, "DATA_TYPE"), "4");
      ck_assert_str_eq(cell(&rs, r, "ORDINAL_POSITION"), r == 0 ? "1" : "2");
    }
    ck_assert_str_eq(cell(&rs, 0, "COLUMN_TYPE"), "1"); /* SQL_PARAM_INPUT */
    ck_assert_str_eq(cell(&rs, 1, "COLUMN_TYPE"),
                     test_driver() == TEST_PG ? "2" : "4");
  }
  free_rowset(&rs);
  /* One parameter by name: MariaDB finds it; psqlODBC 13 returns nothing
   * for a column restriction (measured), SQLite nothing anyway. */
  a.column = "b";
  ck_assert_int_eq(
      catalog(&loop, conn, UVODBC_CATALOG_PROCEDURE_COLUMNS, &a, &rs), 0);
  ck_assert_uint_eq(rs.nrows, test_driver() == TEST_MARIADB ? 1 : 0);
  free_rowset(&rs);
  drop_schema(&loop, conn);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* Every type, then only SQL_INTEGER ones. */
START_TEST(catalog_type_info) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  rowset_t rs;
  uvodbc_catalog_args_t a;
  size_t r;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  ck_assert_int_eq(catalog(&loop, conn, UVODBC_CATALOG_TYPE_INFO, NULL, &rs),
                   0);
  ck_assert_str_eq(rs.names[0], "TYPE_NAME");
  ck_assert_str_eq(rs.names[1], "DATA_TYPE");
  ck_assert_uint_ge(rs.nrows, 10);
  for (r = 0; r < rs.nrows; r++)
    ck_assert_ptr_nonnull(cell(&rs, r, "TYPE_NAME"));
  ck_assert_uint_ge(count_rows(&rs, "DATA_TYPE", "4"), 1);
  ck_assert_uint_ge(count_rows(&rs, "DATA_TYPE",
                               test_driver() == TEST_MARIADB ? "-9" : "12"),
                    1);
  ck_assert_uint_ge(count_rows(&rs, "DATA_TYPE", "93"), 1); /* TIMESTAMP */
  free_rowset(&rs);

  memset(&a, 0, sizeof(a));
  a.data_type = SQL_INTEGER;
  ck_assert_int_eq(catalog(&loop, conn, UVODBC_CATALOG_TYPE_INFO, &a, &rs),
                   0);
  ck_assert_uint_ge(rs.nrows, 1);
  ck_assert_uint_eq(count_rows(&rs, "DATA_TYPE", "4"), rs.nrows);
  free_rowset(&rs);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* Refused synchronously; an unknown table is an empty result, not an
 * error. */
START_TEST(catalog_invalid_args) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  int calls = 0;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  req.data = &calls;
  ck_assert_int_eq(uvodbc_conn_catalog(conn, &req, (uvodbc_catalog_t)99, NULL,
                                       NULL, on_catalog),
                   UV_EINVAL);
  ck_assert_int_eq(uvodbc_conn_catalog(NULL, &req, UVODBC_CATALOG_TABLES,
                                       NULL, NULL, on_catalog),
                   UV_EINVAL);
  ck_assert_int_eq(uvodbc_conn_catalog(conn, NULL, UVODBC_CATALOG_TABLES,
                                       NULL, NULL, on_catalog),
                   UV_EINVAL);
  ck_assert_int_eq(uvodbc_conn_get_info(NULL, &req, on_catalog), UV_EINVAL);
  ck_assert_int_eq(uvodbc_conn_get_info(conn, NULL, on_catalog), UV_EINVAL);
  ck_assert_int_eq(uvodbc_conn_close(conn, NULL), 0);
  ck_assert_int_eq(uvodbc_conn_catalog(conn, &req, UVODBC_CATALOG_TABLES,
                                       NULL, NULL, on_catalog),
                   UVODBC_ECLOSED);
  ck_assert_int_eq(uvodbc_conn_get_info(conn, &req, on_catalog),
                   UVODBC_ECLOSED);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(calls, 0);
  test_loop_close(&loop);
}
END_TEST

static void on_info(uvodbc_req_t* req, int status) {
  int* calls = req->data;
  (*calls)++;
  ck_assert_int_eq(status, 0);
  ck_assert_int_eq(req->type, UVODBC_REQ_INFO);
  ck_assert_ptr_nonnull(req->info);
}

/* Driver and DBMS facts, as measured on the three drivers. */
START_TEST(catalog_get_info) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  int calls = 0;
  const uvodbc_info_t* i;
  test_driver_t d = test_driver();

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  req.data = &calls;
  ck_assert_int_eq(uvodbc_conn_get_info(conn, &req, on_info), 0);
  ck_assert_int_eq(calls, 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(calls, 1);
  i = req.info;
  ck_assert_ptr_nonnull(strstr(i->dbms_name, d == TEST_PG ? "PostgreSQL"
                                             : d == TEST_MARIADB ? "MariaDB"
                                                                 : "SQLite"));
  ck_assert_str_eq(i->driver_name, d == TEST_PG        ? "psqlodbcw.so"
                                   : d == TEST_MARIADB ? "libmaodbc.so"
                                                       : "sqlite3odbc.so");
  ck_assert_int_eq(strncmp(i->dbms_version,
                           d == TEST_PG        ? "15."
                           : d == TEST_MARIADB ? "10."
                                               : "3.",
                           d == TEST_SQLITE ? 2 : 3),
                   0);
  ck_assert_int_eq(strncmp(i->driver_version,
                           d == TEST_PG        ? "13."
                           : d == TEST_MARIADB ? "03.01"
                                               : "0.99",
                           d == TEST_PG ? 3 : 4),
                   0);
  ck_assert_str_eq(i->driver_odbc_version, d == TEST_SQLITE ? "03.00"
                                                            : "03.51");
  ck_assert_str_eq(i->dm_odbc_version, "03.52"); /* unixODBC */
  ck_assert_str_eq(i->identifier_quote, d == TEST_MARIADB ? "`" : "\"");
  ck_assert_str_eq(i->catalog_separator, ".");
  ck_assert_str_eq(i->search_pattern_escape, "\\");
  if (d == TEST_SQLITE) {
    ck_assert_ptr_nonnull(strstr(i->database_name, ".db"));
    ck_assert_str_eq(i->user_name, "");
    ck_assert_str_eq(i->catalog_term, "");
  } else {
    ck_assert_str_eq(i->database_name, "uvodbc_test");
    ck_assert_str_eq(i->user_name, "uvodbc");
    ck_assert_str_eq(i->server_name, "127.0.0.1");
    ck_assert_str_eq(i->catalog_term, d == TEST_PG ? "catalog" : "database");
  }
  ck_assert_str_eq(i->schema_term, d == TEST_PG ? "schema" : "");
  ck_assert_int_eq(i->procedures, d != TEST_SQLITE);
  ck_assert_int_eq(i->multiple_result_sets, d != TEST_SQLITE);
  /* SQL_TC_ALL; MariaDB: DDL commits (SQL_TC_DDL_COMMIT). */
  ck_assert_uint_eq(i->txn_capable,
                    d == TEST_MARIADB ? SQL_TC_DDL_COMMIT : SQL_TC_ALL);
  /* MariaDB's driver does not report its default level (REPEATABLE READ). */
  ck_assert_uint_eq(i->default_txn_isolation,
                    d == TEST_PG       ? SQL_TXN_READ_COMMITTED
                    : d == TEST_SQLITE ? SQL_TXN_SERIALIZABLE
                                       : 0);
  ck_assert_uint_eq(i->txn_isolation_options,
                    d == TEST_SQLITE
                        ? SQL_TXN_SERIALIZABLE
                        : SQL_TXN_READ_UNCOMMITTED | SQL_TXN_READ_COMMITTED |
                              SQL_TXN_REPEATABLE_READ | SQL_TXN_SERIALIZABLE);
  ck_assert_uint_eq(i->param_array_row_counts,
                    d == TEST_PG        ? SQL_PARC_BATCH
                    : d == TEST_MARIADB ? SQL_PARC_NO_BATCH
                                        : 0);
  ck_assert_uint_eq(i->max_column_name_len, d == TEST_PG ? 63 : 255);
  ck_assert_uint_ne(i->getdata_extensions & SQL_GD_ANY_COLUMN, 0);
  ck_assert_int_eq(i->keywords[0] == '\0', d == TEST_PG);
  uvodbc_req_cleanup(&req);
  ck_assert_ptr_null(req.info);
  uvodbc_req_cleanup(&req); /* twice: harmless */

  /* The request reused. */
  ck_assert_int_eq(uvodbc_conn_get_info(conn, &req, on_info), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(calls, 2);
  uvodbc_req_cleanup(&req);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

Suite* catalog_suite(void) {
  Suite* s = suite_create("catalog");
  TCase* tc = tcase_create("catalog");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, catalog_tables);
  tcase_add_test(tc, catalog_columns);
  tcase_add_test(tc, catalog_primary_keys);
  tcase_add_test(tc, catalog_foreign_keys);
  tcase_add_test(tc, catalog_statistics);
  tcase_add_test(tc, catalog_procedures);
  tcase_add_test(tc, catalog_type_info);
  tcase_add_test(tc, catalog_invalid_args);
  tcase_add_test(tc, catalog_get_info);
  suite_add_tcase(s, tc);
  return s;
}
