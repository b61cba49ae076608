/* statements: running SQL with parameters (docs/statements.md).
 *
 * Creates a table, inserts rows with typed parameters, updates some and
 * checks rows_affected, reads rows through a cursor (uvodbc_conn_exec)
 * and as a whole result (uvodbc_conn_query), and checks what comes back.
 *
 *   statements ["DRIVER={SQLite3};Database=:memory:"]
 */
#include <stdio.h>
#include <string.h>
#include <uvodbc.h>

static int failed;

static void expect(int ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "statements: not as expected: %s\n", what);
    failed = 1;
  }
}

/* Reports a failed request or start, closes everything, returns -1. */
static int check(uvodbc_req_t* req, int status, const char* what) {
  char why[2048];
  if (status == 0) return 0;
  if (req->status == status) uvodbc_req_describe(req, why, sizeof(why));
  else snprintf(why, sizeof(why), "%s", uvodbc_strerror(status));
  fprintf(stderr, "%s: %s\n", what, why);
  failed = 1;
  /* A callback's cursor is still ours; a failed start left none. */
  if (req->status == status && req->cursor != NULL)
    uvodbc_cursor_close(req->cursor, NULL);
  uvodbc_conn_close(req->conn, NULL);
  return -1;
}

static void on_query(uvodbc_req_t* req, int status) {
  const uvodbc_batch_t* b = req->batch;
  if (check(req, status, "query") != 0) return;
  /* The whole result, owned by req until uvodbc_req_cleanup(). */
  expect(req->cursor == NULL, "a query leaves no cursor");
  expect(uvodbc_batch_nrows(b) == 3 && uvodbc_batch_ncols(b) == 3,
         "3 rows of 3 columns");
  for (size_t r = 0; r < uvodbc_batch_nrows(b); r++) {
    int64_t id = 0;
    double price = 0;
    const char* name;
    size_t len;
    uvodbc_batch_get_int64(b, 0, r, &id);
    if (uvodbc_batch_get_text(b, 1, r, &name, &len) == UVODBC_ENULL)
      name = "(null)", len = 6;
    if (uvodbc_batch_get_double(b, 2, r, &price) == UVODBC_ENULL) price = -1;
    printf("  %lld %-8.*s %.2f\n", (long long)id, (int)len, name, price);
  }
  expect(uvodbc_batch_is_null(b, 1, 2) == 1, "row 3's name is NULL");
  printf("columns: %s, %s, %s\n", uvodbc_batch_column(b, 0)->name,
         uvodbc_batch_column(b, 1)->name, uvodbc_batch_column(b, 2)->name);
  uvodbc_req_cleanup(req);
  uvodbc_conn_close(req->conn, NULL);
}

static void on_select(uvodbc_req_t* req, int status) {
  const char* name;
  size_t len;
  if (check(req, status, "select") != 0) return;
  /* A statement with rows: a new cursor, and its first batch. */
  expect(req->cursor != NULL && req->batch != NULL, "a cursor and a batch");
  expect(uvodbc_batch_nrows(req->batch) == 1, "one row");
  expect(uvodbc_batch_get_text(req->batch, 0, 0, &name, &len) == 0 &&
             len == 5 && memcmp(name, "bolts", 5) == 0,
         "the row inserted with a parameter");
  printf("cursor: %zu column(s), first batch %zu row(s)\n",
         uvodbc_cursor_ncols(req->cursor), uvodbc_batch_nrows(req->batch));
  uvodbc_cursor_close(req->cursor, NULL); /* the caller's to close */
  check(req,
        uvodbc_conn_query(req->conn, req,
                          "SELECT id, name, price FROM ex_statements "
                          "ORDER BY id",
                          NULL, 0, NULL, on_query),
        "query");
}

static void on_update(uvodbc_req_t* req, int status) {
  uvodbc_param_t id = uvodbc_param_int64(2);
  if (check(req, status, "update") != 0) return;
  printf("update: %lld row(s) affected\n", (long long)req->rows_affected);
  expect(req->rows_affected == 2, "the UPDATE changed 2 rows");
  check(req,
        uvodbc_conn_exec(req->conn, req,
                         "SELECT name FROM ex_statements WHERE id = ?", &id,
                         1, NULL, on_select),
        "select");
}

static void on_insert(uvodbc_req_t* req, int status) {
  if (check(req, status, "insert") != 0) return;
  expect(req->cursor == NULL && req->rows_affected == 3, "3 rows inserted");
  check(req,
        uvodbc_conn_exec(req->conn, req,
                         "UPDATE ex_statements SET price = price * 2 "
                         "WHERE price IS NOT NULL",
                         NULL, 0, NULL, on_update),
        "update");
}

static void on_create(uvodbc_req_t* req, int status) {
  /* One value per `?`, copied before uvodbc_conn_exec() returns. */
  uvodbc_param_t p[9] = {
      uvodbc_param_int64(1), uvodbc_param_text("nuts", SIZE_MAX),
      uvodbc_param_double(0.25),
      uvodbc_param_int64(2), uvodbc_param_text("bolts", 5),
      uvodbc_param_double(1.5),
      uvodbc_param_int64(3), uvodbc_param_null(), uvodbc_param_null()};
  if (check(req, status, "create") != 0) return;
  check(req,
        uvodbc_conn_exec(req->conn, req,
                         "INSERT INTO ex_statements (id, name, price) "
                         "VALUES (?, ?, ?), (?, ?, ?), (?, ?, ?)",
                         p, 9, NULL, on_insert),
        "insert");
}

static void on_drop(uvodbc_req_t* req, int status) {
  if (check(req, status, "drop") != 0) return;
  check(req,
        uvodbc_conn_exec(req->conn, req,
                         "CREATE TABLE ex_statements (id INTEGER PRIMARY KEY, "
                         "name VARCHAR(16), price DOUBLE PRECISION)",
                         NULL, 0, NULL, on_create),
        "create");
}

static void on_connect(uvodbc_req_t* req, int status) {
  if (check(req, status, "connect") != 0) return;
  check(req,
        uvodbc_conn_exec(req->conn, req, "DROP TABLE IF EXISTS ex_statements",
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
  expect(uv_loop_close(&loop) == 0, "every handle closed");
  expect(uvodbc_shutdown() == 0, "uvodbc_shutdown() == 0");
  return failed;
}
