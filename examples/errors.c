/* errors: error codes and diagnostics (docs/errors.md).
 *
 * A call refused before it starts (a return code, no callback); a
 * statement the database rejects (UVODBC_ESQL, described with
 * uvodbc_req_describe and uvodbc_diag_format); a wrong parameter count;
 * the batch accessors' codes; and a failed connect whose connection
 * string holds a password that must not appear in its diagnostics.
 *
 *   errors ["DRIVER={SQLite3};Database=:memory:"]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uvodbc.h>

static int failed;
static uvodbc_req_t bad_connect;

static void expect(int ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "errors: not as expected: %s\n", what);
    failed = 1;
  }
}

static void fail(uvodbc_req_t* req, const char* what) {
  char why[2048];
  uvodbc_req_describe(req, why, sizeof(why));
  fprintf(stderr, "%s: %s\n", what, why);
  failed = 1;
  uvodbc_req_cleanup(req);
  uvodbc_conn_close(req->conn, NULL);
}

static void on_bad_connect(uvodbc_req_t* req, int status) {
  char why[2048];
  uvodbc_req_describe(req, why, sizeof(why));
  printf("connect to a missing directory:\n%s\n", why);
  expect(status == UVODBC_ESQL, "UVODBC_ESQL");
  expect(strstr(why, "hunter2") == NULL, "the password is not shown");
  /* The database answered "no": not a lost connection. */
  expect(!uvodbc_req_is_disconnect(req), "not a disconnect");
  uvodbc_conn_close(req->conn, NULL); /* ours, though it never opened */
}

static void on_rows(uvodbc_req_t* req, int status) {
  const uvodbc_batch_t* b = req->batch;
  const char* s;
  size_t len;
  int64_t i;
  if (status != 0) {
    fail(req, "select");
    return;
  }
  /* Accessors return codes too; they never call back. */
  expect(uvodbc_batch_get_text(b, 1, 0, &s, &len) == UVODBC_ENULL,
         "a NULL cell: UVODBC_ENULL");
  expect(uvodbc_batch_get_text(b, 0, 0, &s, &len) == UVODBC_ETYPE,
         "text from an integer column: UVODBC_ETYPE");
  expect(uvodbc_batch_get_int64(b, 7, 0, &i) == UVODBC_ERANGE,
         "column 7 of 2: UVODBC_ERANGE");
  expect(uvodbc_batch_get_int64(b, 0, 0, &i) == 0 && i == 1, "id 1");
  printf("accessors: %s, %s, %s\n", uvodbc_err_name(UVODBC_ENULL),
         uvodbc_err_name(UVODBC_ETYPE), uvodbc_err_name(UVODBC_ERANGE));
  uvodbc_req_cleanup(req);
  uvodbc_conn_close(req->conn, NULL);
}

static void on_insert(uvodbc_req_t* req, int status) {
  if (status != 0) {
    fail(req, "insert");
    return;
  }
  if (uvodbc_conn_query(req->conn, req, "SELECT id, name FROM ex_errors",
                        NULL, 0, NULL, on_rows) != 0) {
    expect(0, "query starts");
    uvodbc_conn_close(req->conn, NULL);
  }
}

static void on_wrong_count(uvodbc_req_t* req, int status) {
  char why[1024];
  uvodbc_req_describe(req, why, sizeof(why));
  printf("two markers, one value:\n%s\n", why);
  expect(status == UVODBC_EPARAMS, "UVODBC_EPARAMS");
  if (uvodbc_conn_exec(req->conn, req,
                       "INSERT INTO ex_errors (id, name) VALUES (1, NULL)",
                       NULL, 0, NULL, on_insert) != 0) {
    expect(0, "insert starts");
    uvodbc_conn_close(req->conn, NULL);
  }
}

static void on_create(uvodbc_req_t* req, int status) {
  uvodbc_param_t one = uvodbc_param_int64(1);
  if (status != 0) {
    fail(req, "create");
    return;
  }
  if (uvodbc_conn_exec(req->conn, req,
                       "INSERT INTO ex_errors (id, name) VALUES (?, ?)", &one,
                       1, NULL, on_wrong_count) != 0) {
    expect(0, "exec starts");
    uvodbc_conn_close(req->conn, NULL);
  }
}

static void on_missing_table(uvodbc_req_t* req, int status) {
  char short_buf[16], *text;
  size_t need;
  expect(status == UVODBC_ESQL && req->status == status, "UVODBC_ESQL");
  expect(req->ndiag > 0 && req->diag[0].sqlstate[0] != '\0',
         "a diagnostic with a SQLSTATE");
  /* Measure, then format: snprintf's rules. */
  need = uvodbc_diag_format(req->diag, req->ndiag, NULL, 0);
  text = malloc(need + 1);
  if (text != NULL) {
    expect(uvodbc_diag_format(req->diag, req->ndiag, text, need + 1) == need &&
               strlen(text) == need,
           "the measured length");
    printf("missing table: %s (%s)\n%s\n", uvodbc_err_name(status),
           uvodbc_strerror(status), text);
    free(text);
  }
  /* A short buffer is cut, NUL-terminated; the return says how long. */
  expect(uvodbc_req_describe(req, short_buf, sizeof(short_buf)) >
                 sizeof(short_buf) &&
             strlen(short_buf) == sizeof(short_buf) - 1,
         "a cut description");
  expect(!uvodbc_req_is_disconnect(req), "not a disconnect");
  expect(!uvodbc_conn_is_broken(req->conn), "the connection is fine");
  if (uvodbc_conn_exec(req->conn, req,
                       "CREATE TABLE ex_errors (id INTEGER, name VARCHAR(8))",
                       NULL, 0, NULL, on_create) != 0) {
    expect(0, "create starts");
    uvodbc_conn_close(req->conn, NULL);
  }
}

static void on_drop(uvodbc_req_t* req, int status) {
  int err;
  if (status != 0) {
    fail(req, "drop");
    return;
  }
  /* Refused at the call: a return code, and no callback. */
  err = uvodbc_conn_exec(req->conn, req, NULL, NULL, 0, NULL, on_drop);
  printf("exec without SQL: %s (%s)\n", uvodbc_err_name(err),
         uvodbc_strerror(err));
  expect(err == UV_EINVAL, "UV_EINVAL");
  if (uvodbc_conn_exec(req->conn, req, "SELECT * FROM ex_no_such_table",
                       NULL, 0, NULL, on_missing_table) != 0) {
    expect(0, "select starts");
    uvodbc_conn_close(req->conn, NULL);
  }
}

static void on_connect(uvodbc_req_t* req, int status) {
  if (status != 0) {
    fail(req, "connect");
    return;
  }
  if (uvodbc_conn_exec(req->conn, req, "DROP TABLE IF EXISTS ex_errors", NULL,
                       0, NULL, on_drop) != 0) {
    expect(0, "drop starts");
    uvodbc_conn_close(req->conn, NULL);
  }
}

int main(int argc, char** argv) {
  const char* connstr =
      argc > 1 ? argv[1] : "DRIVER={SQLite3};Database=:memory:";
  uvodbc_req_t req;
  uv_loop_t loop;
  uv_loop_init(&loop);
  if (uvodbc_connect(&loop, &req, connstr, NULL, on_connect) != 0) return 1;
  /* SQLite's driver, whatever argv[1] names: a file that cannot be made. */
  expect(uvodbc_connect(&loop, &bad_connect,
                        "DRIVER={SQLite3};Database=/nonexistent/dir/x.db;"
                        "UID=app;PWD=hunter2",
                        NULL, on_bad_connect) == 0,
         "the failing connect starts");
  uv_run(&loop, UV_RUN_DEFAULT);
  expect(uv_loop_close(&loop) == 0, "every handle closed");
  expect(uvodbc_shutdown() == 0, "uvodbc_shutdown() == 0");
  return failed;
}
