/* prepared: prepare once, execute many times; then bulk inserts
 * (docs/prepared.md, docs/bulk.md).
 *
 * Prepares an INSERT, runs it for three rows, sees a wrong parameter
 * count refused, inserts 1000 rows from arrays with
 * uvodbc_conn_bulk_columns(), sees a bulk insert stop at a duplicate key,
 * then reads back through a prepared SELECT, as a whole result and as a
 * cursor that borrows the statement.
 *
 *   prepared ["DRIVER={SQLite3};Database=:memory:"]
 */
#include <stdio.h>
#include <string.h>
#include <uvodbc.h>

#define NBULK 1000

static int failed;
static uvodbc_prepared_t* insert;   /* INSERT INTO ex_prepared ... */
static uvodbc_prepared_t* select_;  /* SELECT name ... WHERE id = ? */
static int inserted;
static int64_t ids[NBULK];
static const char* names[NBULK];

static void expect(int ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "prepared: not as expected: %s\n", what);
    failed = 1;
  }
}

/* Reports a failed request or start and closes everything; -1 then. */
static int check(uvodbc_req_t* req, int status, const char* what) {
  char why[2048];
  if (status == 0) return 0;
  if (req->status == status) uvodbc_req_describe(req, why, sizeof(why));
  else snprintf(why, sizeof(why), "%s", uvodbc_strerror(status));
  fprintf(stderr, "%s: %s\n", what, why);
  failed = 1;
  if (insert != NULL) uvodbc_prepared_close(insert, NULL);
  if (select_ != NULL) uvodbc_prepared_close(select_, NULL);
  insert = select_ = NULL;
  uvodbc_conn_close(req->conn, NULL);
  return -1;
}

static void on_select_closed(uvodbc_prepared_t* p) {
  (void)p;
  printf("prepared statements closed\n");
}

static void on_cursor_closed(uvodbc_cursor_t* cursor) {
  uvodbc_conn_t* conn = uvodbc_cursor_get_data(cursor);
  expect(uvodbc_prepared_close(select_, on_select_closed) == 0,
         "the statement closes once its cursor has");
  select_ = NULL;
  uvodbc_conn_close(conn, NULL); /* runs after the close above */
}

static void on_cursor(uvodbc_req_t* req, int status) {
  uvodbc_param_t id = uvodbc_param_int64(3);
  uvodbc_req_t other;
  const char* name;
  size_t len;
  if (check(req, status, "prepared exec") != 0) return;
  expect(uvodbc_batch_get_text(req->batch, 0, 0, &name, &len) == 0 &&
             len == 6 && memcmp(name, "name-3", 6) == 0,
         "the cursor reads name-3");
  /* The cursor borrows the statement: no execution until it closes. */
  expect(uvodbc_prepared_exec(select_, &other, &id, 1, NULL, on_cursor) ==
             UV_EBUSY,
         "UV_EBUSY while its cursor is open");
  /* The statement stays busy until the cursor's close has called back. */
  expect(uvodbc_prepared_close(select_, on_select_closed) == UV_EBUSY,
         "UV_EBUSY while its cursor is open");
  uvodbc_cursor_set_data(req->cursor, req->conn);
  uvodbc_cursor_close(req->cursor, on_cursor_closed);
}

static void on_query(uvodbc_req_t* req, int status) {
  uvodbc_param_t id = uvodbc_param_int64(3);
  const char* name;
  size_t len;
  if (check(req, status, "prepared query") != 0) return;
  expect(uvodbc_batch_nrows(req->batch) == 1 &&
             uvodbc_batch_get_text(req->batch, 0, 0, &name, &len) == 0 &&
             len == 6 && memcmp(name, "name-2", 6) == 0,
         "the query reads name-2");
  uvodbc_req_cleanup(req);
  check(req, uvodbc_prepared_exec(select_, req, &id, 1, NULL, on_cursor),
        "prepared exec");
}

static void on_select_prepared(uvodbc_req_t* req, int status) {
  uvodbc_param_t id = uvodbc_param_int64(2);
  if (check(req, status, "prepare select") != 0) return;
  select_ = req->prepared;
  check(req, uvodbc_prepared_query(select_, req, &id, 1, NULL, on_query),
        "prepared query");
}

static void on_bad_bulk(uvodbc_req_t* req, int status) {
  /* Rows 0..2; row 1 repeats id 1.  Which rows ran is the driver's
   * business (docs/bulk.md); the failure and its row are not. */
  printf("bulk with a duplicate: %s, %lld row(s) ran, first failed row "
         "%lld\n",
         uvodbc_err_name(status), (long long)req->rows_affected,
         (long long)req->failed_row);
  expect(status == UVODBC_ESQL && req->ndiag > 0, "the duplicate fails");
  expect(req->failed_row == 0 || req->failed_row == 1, "failed_row 0 or 1");
  expect(req->nrow_status == 3, "one status per row");
  uvodbc_req_cleanup(req); /* frees row_status */
  check(req,
        uvodbc_conn_prepare(req->conn, req,
                            "SELECT name FROM ex_prepared WHERE id = ?",
                            on_select_prepared),
        "prepare select");
}

static void on_bulk(uvodbc_req_t* req, int status) {
  uvodbc_param_t rows[6] = {
      uvodbc_param_int64(5000), uvodbc_param_text("a", SIZE_MAX),
      uvodbc_param_int64(1), uvodbc_param_text("dup", SIZE_MAX),
      uvodbc_param_int64(5001), uvodbc_param_text("b", SIZE_MAX)};
  if (check(req, status, "bulk") != 0) return;
  printf("bulk_columns: %lld rows, failed_row %lld\n",
         (long long)req->rows_affected, (long long)req->failed_row);
  expect(req->rows_affected == NBULK && req->failed_row == -1,
         "every row inserted");
  uvodbc_req_cleanup(req);
  /* The row-major form copies its values; 3 rows of 2 columns. */
  check(req,
        uvodbc_conn_bulk(req->conn, req,
                         "INSERT INTO ex_prepared (id, name) VALUES (?, ?)",
                         rows, 3, 2, NULL, on_bad_bulk),
        "bulk");
}

static void start_bulk(uvodbc_req_t* req) {
  /* Borrowed, not copied: the arrays must live until the callback. */
  uvodbc_param_column_t cols[2] = {
      {UVODBC_TYPE_INT64, ids, NULL, NULL},
      {UVODBC_TYPE_TEXT, names, NULL, NULL}};
  for (int i = 0; i < NBULK; i++) {
    ids[i] = 100 + i;
    names[i] = i % 2 ? "odd" : "even";
  }
  check(req,
        uvodbc_conn_bulk_columns(
            req->conn, req, "INSERT INTO ex_prepared (id, name) VALUES (?, ?)",
            cols, 2, NBULK, NULL, on_bulk),
        "bulk_columns");
}

static void on_insert_closed(uvodbc_prepared_t* p) {
  (void)p;
  printf("insert statement closed after %d executions\n", inserted);
}

static void on_insert(uvodbc_req_t* req, int status);

static int insert_row(uvodbc_req_t* req, int64_t id) {
  char name[32];
  uvodbc_param_t p[2];
  snprintf(name, sizeof(name), "name-%lld", (long long)id);
  p[0] = uvodbc_param_int64(id);
  p[1] = uvodbc_param_text(name, SIZE_MAX); /* copied by the call */
  return uvodbc_prepared_exec(insert, req, p, 2, NULL, on_insert);
}

static void on_wrong_count(uvodbc_req_t* req, int status) {
  printf("one value for two markers: %s [%s]\n", uvodbc_err_name(status),
         req->ndiag > 0 ? req->diag[0].sqlstate : "");
  expect(status == UVODBC_EPARAMS, "a wrong count is UVODBC_EPARAMS");
  uvodbc_prepared_close(insert, on_insert_closed);
  insert = NULL;
  start_bulk(req);
}

static void on_insert(uvodbc_req_t* req, int status) {
  uvodbc_param_t only_one = uvodbc_param_int64(99);
  if (check(req, status, "insert") != 0) return;
  expect(req->rows_affected == 1, "one row per execution");
  if (++inserted < 3) {
    check(req, insert_row(req, inserted + 1), "insert");
    return;
  }
  check(req,
        uvodbc_prepared_exec(insert, req, &only_one, 1, NULL, on_wrong_count),
        "insert");
}

static void on_insert_prepared(uvodbc_req_t* req, int status) {
  uvodbc_param_info_t info;
  if (check(req, status, "prepare insert") != 0) return;
  insert = req->prepared;
  expect(uvodbc_prepared_nparams(insert) == 2, "two markers");
  expect(uvodbc_prepared_param(insert, 0, &info) == 0, "param 0 described");
  printf("prepared: %zu parameters; the first %s (SQL type %d)\n",
         uvodbc_prepared_nparams(insert),
         info.described ? "described by the driver" : "not described",
         info.sql_type);
  check(req, insert_row(req, 1), "insert");
}

static void on_create(uvodbc_req_t* req, int status) {
  if (check(req, status, "create") != 0) return;
  check(req,
        uvodbc_conn_prepare(req->conn, req,
                            "INSERT INTO ex_prepared (id, name) VALUES (?, ?)",
                            on_insert_prepared),
        "prepare insert");
}

static void on_drop(uvodbc_req_t* req, int status) {
  if (check(req, status, "drop") != 0) return;
  check(req,
        uvodbc_conn_exec(req->conn, req,
                         "CREATE TABLE ex_prepared (id INTEGER PRIMARY KEY, "
                         "name VARCHAR(32))",
                         NULL, 0, NULL, on_create),
        "create");
}

static void on_connect(uvodbc_req_t* req, int status) {
  if (check(req, status, "connect") != 0) return;
  check(req,
        uvodbc_conn_exec(req->conn, req, "DROP TABLE IF EXISTS ex_prepared",
                         NULL, 0, NULL, on_drop),
        "drop");
}

int main(int argc, char** argv) {
  const char* connstr =
      argc > 1 ? argv[1] : "DRIVER={SQLite3};Database=:memory:";
  uvodbc_req_t req;
  uv_loop_t loop;
  uv_loop_init(&loop);
  if (uvodbc_connect(&loop, &req, connstr, NULL, on_connect) != 0) return 1;
  uv_run(&loop, UV_RUN_DEFAULT);
  expect(inserted == 3, "three prepared executions");
  expect(uv_loop_close(&loop) == 0, "every handle closed");
  expect(uvodbc_shutdown() == 0, "uvodbc_shutdown() == 0");
  return failed;
}
