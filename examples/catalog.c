/* catalog: what the driver and the database say about themselves, and
 * procedure calls (docs/catalog.md).
 *
 * Reads the driver's facts (uvodbc_conn_get_info), creates a table and
 * finds it, its columns and its primary key with catalog functions
 * (uvodbc_conn_catalog).  Then, where the database has procedures
 * (PostgreSQL, MariaDB; not SQLite), creates one with an INOUT parameter
 * and calls it with uvodbc_conn_call.
 *
 *   catalog ["DRIVER={SQLite3};Database=:memory:"]
 */
#include <stdio.h>
#include <string.h>
#include <strings.h> /* strncasecmp */
#include <uvodbc.h>

static int failed;
static char dbms[128];

static void expect(int ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "catalog: not as expected: %s\n", what);
    failed = 1;
  }
}

/* Reports a failed request or start and closes the connection; -1 then. */
static int check(uvodbc_req_t* req, int status, const char* what) {
  char why[2048];
  if (status == 0) return 0;
  if (req->status == status) uvodbc_req_describe(req, why, sizeof(why));
  else snprintf(why, sizeof(why), "%s", uvodbc_strerror(status));
  fprintf(stderr, "%s: %s\n", what, why);
  failed = 1;
  if (req->status == status && req->cursor != NULL)
    uvodbc_cursor_close(req->cursor, NULL);
  uvodbc_conn_close(req->conn, NULL);
  return -1;
}

/* Is the text in (col, row) of b equal to s (any case: drivers differ)? */
static int text_is(const uvodbc_batch_t* b, size_t col, size_t row,
                   const char* s) {
  const char* v;
  size_t len;
  return uvodbc_batch_get_text(b, col, row, &v, &len) == 0 &&
         len == strlen(s) && strncasecmp(v, s, len) == 0;
}

static void on_call(uvodbc_req_t* req, int status) {
  int64_t b = 0;
  if (check(req, status, "call") != 0) return;
  /* One row: column i is the i-th OUT or INOUT parameter. */
  expect(req->outputs != NULL &&
             uvodbc_batch_get_int64(req->outputs, 0, 0, &b) == 0 && b == 42,
         "INOUT b = 2 + 40");
  printf("call: INOUT b came back as %lld; %zu result set(s)\n",
         (long long)b, req->nresults);
  uvodbc_req_cleanup(req); /* frees outputs and results */
  uvodbc_conn_close(req->conn, NULL);
}

static void on_procedure(uvodbc_req_t* req, int status) {
  /* {CALL} is ODBC's escape; PostgreSQL procedures need a plain CALL. */
  const char* sql = strcmp(dbms, "PostgreSQL") == 0
                        ? "CALL ex_catalog_p(?, ?)"
                        : "{CALL ex_catalog_p(?, ?)}";
  uvodbc_param_t p[2] = {uvodbc_param_int64(2),
                         uvodbc_param_inout(uvodbc_param_int64(40), 0)};
  if (check(req, status, "create procedure") != 0) return;
  check(req, uvodbc_conn_call(req->conn, req, sql, p, 2, NULL, on_call),
        "call");
}

static void on_drop_procedure(uvodbc_req_t* req, int status) {
  const char* sql =
      strcmp(dbms, "PostgreSQL") == 0
          ? "CREATE PROCEDURE ex_catalog_p(a integer, INOUT b integer) "
            "LANGUAGE plpgsql AS $$ BEGIN b := a + b; END $$"
          : "CREATE PROCEDURE ex_catalog_p(IN a INT, INOUT b INT) "
            "SET b = a + b";
  if (check(req, status, "drop procedure") != 0) return;
  check(req, uvodbc_conn_exec(req->conn, req, sql, NULL, 0, NULL,
                              on_procedure),
        "create procedure");
}

static void on_primary_keys(uvodbc_req_t* req, int status) {
  if (check(req, status, "primary keys") != 0) return;
  /* SQLPrimaryKeys: COLUMN_NAME is column 3. */
  expect(req->batch != NULL && uvodbc_batch_nrows(req->batch) == 1 &&
             text_is(req->batch, 3, 0, "id"),
         "the primary key is id");
  printf("primary key: id\n");
  uvodbc_cursor_close(req->cursor, NULL);
  if (strcmp(dbms, "PostgreSQL") != 0 && strcmp(dbms, "MariaDB") != 0) {
    printf("call: not run, %s has no stored procedures\n", dbms);
    uvodbc_conn_close(req->conn, NULL);
    return;
  }
  check(req,
        uvodbc_conn_exec(req->conn, req,
                         "DROP PROCEDURE IF EXISTS ex_catalog_p", NULL, 0,
                         NULL, on_drop_procedure),
        "drop procedure");
}

static void on_columns(uvodbc_req_t* req, int status) {
  uvodbc_catalog_args_t args = {0};
  const uvodbc_batch_t* b = req->batch;
  if (check(req, status, "columns") != 0) return;
  /* SQLColumns: COLUMN_NAME is column 3, TYPE_NAME column 5, in order. */
  expect(b != NULL && uvodbc_batch_nrows(b) == 2 && text_is(b, 3, 0, "id") &&
             text_is(b, 3, 1, "name"),
         "columns id and name");
  for (size_t r = 0; b != NULL && r < uvodbc_batch_nrows(b); r++) {
    const char *col = "", *type = "";
    size_t clen = 0, tlen = 0;
    uvodbc_batch_get_text(b, 3, r, &col, &clen);
    uvodbc_batch_get_text(b, 5, r, &type, &tlen);
    printf("column: %.*s %.*s\n", (int)clen, col, (int)tlen, type);
  }
  uvodbc_cursor_close(req->cursor, NULL);
  args.table = "ex_catalog";
  check(req,
        uvodbc_conn_catalog(req->conn, req, UVODBC_CATALOG_PRIMARY_KEYS,
                            &args, NULL, on_primary_keys),
        "primary keys");
}

static void on_tables(uvodbc_req_t* req, int status) {
  uvodbc_catalog_args_t args = {0};
  if (check(req, status, "tables") != 0) return;
  /* SQLTables: TABLE_CAT, TABLE_SCHEM, TABLE_NAME, TABLE_TYPE, REMARKS. */
  expect(req->batch != NULL && uvodbc_batch_nrows(req->batch) == 1 &&
             text_is(req->batch, 2, 0, "ex_catalog"),
         "the table is found");
  printf("tables: found ex_catalog (column 2 is named %s)\n",
         uvodbc_batch_column(req->batch, 2)->name);
  uvodbc_cursor_close(req->cursor, NULL);
  args.table = "ex_catalog"; /* a pattern: _ matches any one character */
  check(req,
        uvodbc_conn_catalog(req->conn, req, UVODBC_CATALOG_COLUMNS, &args,
                            NULL, on_columns),
        "columns");
}

static void on_create(uvodbc_req_t* req, int status) {
  uvodbc_catalog_args_t args = {0}; /* NULL: no restriction */
  if (check(req, status, "create") != 0) return;
  args.table = "ex_catalog";
  args.table_type = "TABLE";
  check(req,
        uvodbc_conn_catalog(req->conn, req, UVODBC_CATALOG_TABLES, &args,
                            NULL, on_tables),
        "tables");
}

static void on_drop(uvodbc_req_t* req, int status) {
  if (check(req, status, "drop") != 0) return;
  check(req,
        uvodbc_conn_exec(req->conn, req,
                         "CREATE TABLE ex_catalog (id INTEGER PRIMARY KEY, "
                         "name VARCHAR(20))",
                         NULL, 0, NULL, on_create),
        "create");
}

static void on_info(uvodbc_req_t* req, int status) {
  const uvodbc_info_t* i = req->info;
  if (check(req, status, "get_info") != 0) return;
  printf("%s %s, %s %s; procedures: %s, quote: %s\n", i->dbms_name,
         i->dbms_version, i->driver_name, i->driver_version,
         i->procedures ? "yes" : "no", i->identifier_quote);
  snprintf(dbms, sizeof(dbms), "%s", i->dbms_name);
  uvodbc_req_cleanup(req); /* req->info is invalid from here on */
  check(req,
        uvodbc_conn_exec(req->conn, req, "DROP TABLE IF EXISTS ex_catalog",
                         NULL, 0, NULL, on_drop),
        "drop");
}

static void on_connect(uvodbc_req_t* req, int status) {
  if (check(req, status, "connect") != 0) return;
  check(req, uvodbc_conn_get_info(req->conn, req, on_info), "get_info");
}

int main(int argc, char** argv) {
  const char* connstr =
      argc > 1 ? argv[1] : "DRIVER={SQLite3};Database=:memory:";
  uvodbc_req_t req;
  uv_loop_t loop;
  uv_loop_init(&loop);
  if (uvodbc_connect(&loop, &req, connstr, NULL, on_connect) != 0) return 1;
  uv_run(&loop, UV_RUN_DEFAULT);
  expect(uv_loop_close(&loop) == 0, "every handle closed");
  expect(uvodbc_shutdown() == 0, "uvodbc_shutdown() == 0");
  return failed;
}
