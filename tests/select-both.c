/* A SELECT read both ways: whole (uvodbc_conn_query) and through a cursor
 * two rows a batch (uvodbc_conn_exec + uvodbc_cursor_fetch), each row
 * handed to the same check.  Shared by the types and utf8 suites. */
#include <string.h>

#include "uvodbc-test.h"

typedef struct {
  uvodbc_req_t req;
  int calls;
  int status;
} call_t;

static void on_call(uvodbc_req_t* req, int status) {
  call_t* c = req->data;
  c->calls++;
  c->status = status;
  if (status != 0) test_print_diags(req, "select both");
}

typedef struct {
  test_row_check_fn check;
  void* arg;
  size_t rows;
  int exec_calls, fetch_calls, eof_calls, close_calls;
  uvodbc_req_t exec_req, fetch_req;
  uvodbc_cursor_t* cursor;
} walk_t;

static void walk_batch(walk_t* w, const uvodbc_batch_t* b) {
  size_t r, n = uvodbc_batch_nrows(b);
  for (r = 0; r < n; r++) w->check(b, r, w->rows++, w->arg);
}

static void on_walk_closed(uvodbc_cursor_t* cursor) {
  walk_t* w = uvodbc_cursor_get_data(cursor);
  w->close_calls++;
}

static void on_walk_fetch(uvodbc_req_t* req, int status) {
  walk_t* w = req->data;
  w->fetch_calls++;
  if (status == UV_EOF) {
    w->eof_calls++;
    ck_assert_ptr_null(req->batch);
    ck_assert_int_eq(uvodbc_cursor_close(w->cursor, on_walk_closed), 0);
    return;
  }
  if (status != 0) test_print_diags(req, "fetch");
  ck_assert_int_eq(status, 0);
  ck_assert_ptr_eq(req->cursor, w->cursor);
  ck_assert_uint_gt(uvodbc_batch_nrows(req->batch), 0);
  walk_batch(w, req->batch);
  ck_assert_int_eq(uvodbc_cursor_fetch(w->cursor, &w->fetch_req, 0,
                                       on_walk_fetch),
                   0);
}

static void on_walk_exec(uvodbc_req_t* req, int status) {
  walk_t* w = req->data;
  w->exec_calls++;
  if (status != 0) test_print_diags(req, "exec");
  ck_assert_int_eq(status, 0);
  ck_assert_ptr_nonnull(req->cursor);
  ck_assert_ptr_nonnull(req->batch);
  w->cursor = req->cursor;
  uvodbc_cursor_set_data(w->cursor, w);
  /* The cursor describes the same columns as its batch. */
  ck_assert_uint_eq(uvodbc_cursor_ncols(w->cursor),
                    uvodbc_batch_ncols(req->batch));
  ck_assert_str_eq(uvodbc_cursor_column(w->cursor, 0)->name,
                   uvodbc_batch_column(req->batch, 0)->name);
  walk_batch(w, req->batch);
  w->fetch_req.data = w;
  ck_assert_int_eq(uvodbc_cursor_fetch(w->cursor, &w->fetch_req, 0,
                                       on_walk_fetch),
                   0);
}

/* Runs `sql` as a QUERY and as an EXEC read to its end by a cursor; calls
 * `check` on every row of both; each must have `nrows` rows. */
void test_select_both(uv_loop_t* loop, uvodbc_conn_t* conn, const char* sql,
                      const uvodbc_param_t* params, size_t nparams,
                      size_t nrows, test_row_check_fn check, void* arg) {
  call_t q;
  walk_t w;
  uvodbc_exec_options_t opts;
  size_t r;

  memset(&q, 0, sizeof(q));
  q.req.data = &q;
  ck_assert_int_eq(
      uvodbc_conn_query(conn, &q.req, sql, params, nparams, NULL, on_call), 0);
  uv_run(loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(q.calls, 1);
  ck_assert_msg(q.status == 0, "%s: %s", sql, uvodbc_err_name(q.status));
  ck_assert_ptr_null(q.req.cursor);
  ck_assert_ptr_nonnull(q.req.batch);
  ck_assert_uint_eq(uvodbc_batch_nrows(q.req.batch), nrows);
  for (r = 0; r < nrows; r++) check(q.req.batch, r, r, arg);
  uvodbc_req_cleanup(&q.req);
  ck_assert_ptr_null(q.req.batch);

  memset(&w, 0, sizeof(w));
  w.check = check;
  w.arg = arg;
  w.exec_req.data = &w;
  uvodbc_exec_options_init(&opts);
  opts.batch_rows = 2;
  ck_assert_int_eq(uvodbc_conn_exec(conn, &w.exec_req, sql, params, nparams,
                                    &opts, on_walk_exec),
                   0);
  uv_run(loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(w.exec_calls, 1);
  ck_assert_int_ge(w.fetch_calls, 1);
  ck_assert_int_eq(w.eof_calls, 1);
  ck_assert_int_eq(w.close_calls, 1);
  ck_assert_uint_eq(w.rows, nrows);
}
