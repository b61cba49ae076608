/* The README's usage example, compiled so that it stays correct. */
#include <stdio.h>
#include <uvodbc.h>

static void on_fetch(uvodbc_req_t* req, int status) {
  if (status != 0) {                 /* UV_EOF: result set exhausted */
    if (status != UV_EOF) fprintf(stderr, "%s\n", uvodbc_strerror(status));
    if (req->cursor != NULL) uvodbc_cursor_close(req->cursor, NULL);
    uvodbc_conn_close(req->conn, NULL);
    return;
  }
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

static void on_connect(uvodbc_req_t* req, int status) {
  uvodbc_param_t min_id = uvodbc_param_int64(10);
  if (status != 0) {                  /* diagnostics live in the request */
    for (size_t i = 0; i < req->ndiag; i++)
      fprintf(stderr, "[%s] %s\n", req->diag[i].sqlstate, req->diag[i].message);
    uvodbc_conn_close(req->conn, NULL);
    return;
  }
  /* Execute, describe and read the first batch in one thread hop; the
   * callback sees req->cursor and req->batch.  on_fetch handles both. */
  uvodbc_conn_exec(req->conn, req, "SELECT id, name FROM people WHERE id > ?",
                   &min_id, 1, NULL, on_fetch);
}

int main(void) {
  uv_loop_t* loop = uv_default_loop();
  uvodbc_req_t req;
  uvodbc_connect(loop, &req, "DRIVER={SQLite3};Database=/tmp/people.db", NULL,
                 on_connect);
  uv_run(loop, UV_RUN_DEFAULT);
  uv_loop_close(loop);
  uvodbc_shutdown();
}
