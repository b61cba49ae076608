/* The README's usage example, compiled and run by CI so that it stays
 * correct.  Creates a table in an in-memory SQLite database (or the database
 * given as argv[1]), inserts rows, reads them back; on failure prints every
 * diagnostic record and exits 1. */
#include <stdio.h>
#include <uvodbc.h>

static int failed;

/* 0 when status is 0; else reports, closes the connection and returns -1.
 * In a callback, the request says why (its diagnostics live until the
 * callback returns); a call that failed to start only has its status. */
static int check(uvodbc_req_t* req, int status, const char* what) {
  char why[4096];
  if (status == 0) return 0;
  if (req->status == status)
    uvodbc_req_describe(req, why, sizeof(why));
  else
    snprintf(why, sizeof(why), "%s", uvodbc_strerror(status));
  fprintf(stderr, "%s: %s\n", what, why);
  failed = 1;
  if (req->cursor != NULL) uvodbc_cursor_close(req->cursor, NULL);
  uvodbc_conn_close(req->conn, NULL);
  return -1;
}

/* Runs one statement on the request's connection; cb gets the outcome. */
static void run(uvodbc_req_t* req, const char* sql, const uvodbc_param_t* p,
                size_t n, uvodbc_req_cb cb) {
  check(req, uvodbc_conn_exec(req->conn, req, sql, p, n, NULL, cb), sql);
}

static void on_fetch(uvodbc_req_t* req, int status) {
  if (status == UV_EOF) {            /* result set exhausted */
    uvodbc_cursor_close(req->cursor, NULL);
    uvodbc_conn_close(req->conn, NULL);
    return;
  }
  if (check(req, status, "SELECT") != 0) return;
  for (size_t r = 0; r < uvodbc_batch_nrows(req->batch); r++) {
    int64_t id;
    const char* name;
    size_t len;
    uvodbc_batch_get_int64(req->batch, 0, r, &id);
    if (uvodbc_batch_get_text(req->batch, 1, r, &name, &len) == UVODBC_ENULL)
      name = "NULL", len = 4;
    printf("%lld %.*s\n", (long long)id, (int)len, name);
  }
  uvodbc_cursor_fetch(req->cursor, req, 0, on_fetch);  /* next batch */
}

static void on_insert(uvodbc_req_t* req, int status) {
  uvodbc_param_t min_id = uvodbc_param_int64(10);
  if (check(req, status, "INSERT") != 0) return;
  /* Execute, describe and read the first batch in one thread hop; the
   * callback sees req->cursor and req->batch.  on_fetch handles both. */
  run(req, "SELECT id, name FROM people WHERE id > ? ORDER BY id", &min_id, 1,
      on_fetch);
}

static void on_create(uvodbc_req_t* req, int status) {
  if (check(req, status, "CREATE TABLE") != 0) return;
  run(req, "INSERT INTO people VALUES (1, 'ada'), (11, 'grace'), (12, NULL)",
      NULL, 0, on_insert);
}

static void on_connect(uvodbc_req_t* req, int status) {
  if (check(req, status, "connect") != 0) return;
  run(req, "CREATE TABLE people (id INTEGER, name VARCHAR(32))", NULL, 0,
      on_create);
}

int main(int argc, char** argv) {
  const char* connstr =
      argc > 1 ? argv[1] : "DRIVER={SQLite3};Database=:memory:";
  uv_loop_t* loop = uv_default_loop();
  uvodbc_req_t req;
  int err = uvodbc_connect(loop, &req, connstr, NULL, on_connect);
  if (err != 0) {
    fprintf(stderr, "connect: %s\n", uvodbc_strerror(err));
    return 1;
  }
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  uvodbc_shutdown();
  return failed;
}
