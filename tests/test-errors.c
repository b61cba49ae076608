/* Errors: what a failing statement reports (status, SQLSTATE, native code,
 * ODBC function), warnings kept on success, invalid arguments refused
 * before anything is queued, and a connection that keeps working after
 * its statements failed.
 *
 * What each driver really says (asserted below), SQLSTATE/native code:
 *                  SQLite 0.9998   PostgreSQL 15 /   MariaDB 10.11 /
 *                                  psqlODBC 13       Connector 3.1.15
 * bad syntax       HY000/1         42601/1           42000/1064
 * unknown table    HY000/1         42P01/1           42S02/1146
 * duplicate key    HY000/19        23505/1           23000/1062
 * wrong # params   07002/0 (UVODBC_EPARAMS, the library's own, everywhere)
 * psqlODBC's native code is its own error class (1: the server reported an
 * error), not a server code; SQLite's is the SQLite result code. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "uvodbc-test.h"

#define TIMEOUT_S 60

/* The first diagnostic of a request, copied inside its callback: the
 * request's diagnostics are freed when the callback returns. */
typedef struct {
  int calls;
  int status;
  size_t ndiag;
  char sqlstate[6];
  int32_t native;
  char function[32];
  char message[512];
  int has_cursor;
  int64_t rows;
} result_t;

static void capture(result_t* r, uvodbc_req_t* req, int status) {
  r->calls++;
  r->status = status;
  r->ndiag = req->ndiag;
  r->has_cursor = req->cursor != NULL;
  r->rows = req->rows_affected;
  ck_assert_int_eq(req->status, status);
  if (req->ndiag > 0) {
    const uvodbc_diag_t* d = &req->diag[0];
    ck_assert_ptr_nonnull(d->message);
    ck_assert_ptr_nonnull(d->function);
    memcpy(r->sqlstate, d->sqlstate, 6);
    r->native = d->native;
    snprintf(r->function, sizeof(r->function), "%s", d->function);
    snprintf(r->message, sizeof(r->message), "%s", d->message);
  }
}

static void on_result(uvodbc_req_t* req, int status) {
  result_t* r = req->data;
  capture(r, req, status);
  if (req->cursor != NULL) uvodbc_cursor_close(req->cursor, NULL);
}

typedef enum { VIA_EXEC, VIA_QUERY } via_t;

/* Runs one statement to completion and returns what its callback saw. */
static result_t run(uv_loop_t* loop, uvodbc_conn_t* conn, via_t via,
                    const char* sql, const uvodbc_param_t* params,
                    size_t nparams) {
  uvodbc_req_t req;
  result_t r;
  int err;
  memset(&r, 0, sizeof(r));
  memset(&req, 0, sizeof(req));
  req.data = &r;
  err = via == VIA_EXEC
            ? uvodbc_conn_exec(conn, &req, sql, params, nparams, NULL,
                               on_result)
            : uvodbc_conn_query(conn, &req, sql, params, nparams, NULL,
                                on_result);
  ck_assert_int_eq(err, 0);
  ck_assert_int_eq(r.calls, 0); /* never inside the starting call */
  uv_run(loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(r.calls, 1);
  uvodbc_req_cleanup(&req);
  return r;
}

/* A failure: status, SQLSTATE, native code and function. */
static void expect_error(const result_t* r, int status, const char* state,
                         int32_t native, const char* function) {
  ck_assert_msg(r->status == status, "status %s, want %s (%s %s)",
                uvodbc_err_name(r->status), uvodbc_err_name(status),
                r->sqlstate, r->message);
  ck_assert_uint_ge(r->ndiag, 1);
  ck_assert_msg(strcmp(r->sqlstate, state) == 0, "SQLSTATE %s, want %s: %s",
                r->sqlstate, state, r->message);
  ck_assert_msg(r->native == native, "native %d, want %d: %s",
                (int)r->native, (int)native, r->message);
  ck_assert_str_eq(r->function, function);
  ck_assert_int_eq(r->has_cursor, 0);
}

static int32_t pick_native(int32_t sqlite, int32_t pg, int32_t maria) {
  switch (test_driver()) {
    case TEST_PG:
      return pg;
    case TEST_MARIADB:
      return maria;
    default:
      return sqlite;
  }
}

/* The connection still answers. */
static void expect_alive(uv_loop_t* loop, uvodbc_conn_t* conn) {
  ck_assert_int_eq(test_query_int(loop, conn, "SELECT 7"), 7);
}

static void create_table(uv_loop_t* loop, uvodbc_conn_t* conn,
                         const char* name, const char* columns) {
  char sql[512];
  snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s", name);
  test_exec(loop, conn, sql);
  snprintf(sql, sizeof(sql), "CREATE TABLE %s (%s)", name, columns);
  test_exec(loop, conn, sql);
}

/* ======================================================================== */

START_TEST(errors_bad_sql) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_param_t p = uvodbc_param_int64(1);
  result_t r;
  via_t via;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  for (via = VIA_EXEC; via <= VIA_QUERY; via++) {
    r = run(&loop, conn, via, "SELEC 1", NULL, 0);
    expect_error(&r, UVODBC_ESQL, test_pick("HY000", "42601", "42000"),
                 pick_native(1, 1, 1064), "SQLExecDirect");
    ck_assert_ptr_nonnull(strstr(r.message, "SELEC"));
    /* With a parameter the statement is prepared first: MariaDB fails
     * there; psqlODBC prepares lazily, and so does SQLite's driver for a
     * statement it does not recognise: both fail at execute. */
    r = run(&loop, conn, via, "SELEC ?", &p, 1);
    expect_error(&r, UVODBC_ESQL, test_pick("HY000", "42601", "42000"),
                 pick_native(1, 1, 1064),
                 test_pick("SQLExecute", "SQLExecute", "SQLPrepare"));
  }
  expect_alive(&loop, conn);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

START_TEST(errors_unknown_table) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_param_t p = uvodbc_param_int64(1);
  result_t r;
  via_t via;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  for (via = VIA_EXEC; via <= VIA_QUERY; via++) {
    r = run(&loop, conn, via, "SELECT * FROM errors_no_such_table", NULL, 0);
    expect_error(&r, UVODBC_ESQL, test_pick("HY000", "42P01", "42S02"),
                 pick_native(1, 1, 1146), "SQLExecDirect");
    ck_assert_ptr_nonnull(strstr(r.message, "errors_no_such_table"));
    r = run(&loop, conn, via,
            "SELECT * FROM errors_no_such_table WHERE id = ?", &p, 1);
    expect_error(&r, UVODBC_ESQL, test_pick("HY000", "42P01", "42S02"),
                 pick_native(1, 1, 1146),
                 test_pick("SQLPrepare", "SQLExecute", "SQLPrepare"));
  }
  expect_alive(&loop, conn);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* uvodbc_req_describe(): the status and every record, one line each, with
 * snprintf's rules for a short or missing buffer. */
typedef struct {
  int done;
  char text[2048];
  char tiny[16];
  size_t need, need_tiny, need_null;
  char line[512];
  size_t need_diag;
  size_t ndiag;
} described_t;

static void on_described(uvodbc_req_t* req, int status) {
  described_t* d = req->data;
  ck_assert_int_eq(status, UVODBC_ESQL);
  d->need = uvodbc_req_describe(req, d->text, sizeof(d->text));
  d->need_tiny = uvodbc_req_describe(req, d->tiny, sizeof(d->tiny));
  d->need_null = uvodbc_req_describe(req, NULL, 0);
  d->need_diag = uvodbc_diag_format(req->diag, req->ndiag, d->line,
                                    sizeof(d->line));
  d->ndiag = req->ndiag;
  d->done = 1;
}

START_TEST(errors_describe) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  described_t d;
  char expect[64];

  memset(&d, 0, sizeof(d));
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  req.data = &d;
  ck_assert_int_eq(uvodbc_conn_exec(conn, &req,
                                    "SELECT * FROM errors_describe_missing",
                                    NULL, 0, NULL, on_described),
                   0);
  TEST_RUN_UNTIL(&loop, d.done, 10000);
  ck_assert_uint_eq(d.need, strlen(d.text));
  ck_assert_msg(strncmp(d.text, "ESQL: ", 6) == 0, "%s", d.text);
  snprintf(expect, sizeof(expect), "\n[%s] ",
           test_pick("HY000", "42P01", "42S02"));
  ck_assert_msg(strstr(d.text, expect) != NULL, "%s", d.text);
  ck_assert_msg(strstr(d.text, " SQLExecDirect: ") != NULL, "%s", d.text);
  ck_assert_msg(strstr(d.text, "errors_describe_missing") != NULL, "%s",
                d.text);
  /* One line per record, even for psqlODBC's two-line message. */
  {
    size_t lines = 0;
    const char* c;
    for (c = d.text; *c != '\0'; c++) lines += *c == '\n';
    ck_assert_uint_ge(d.ndiag, 1);
    ck_assert_uint_eq(lines, d.ndiag);
  }
  /* The records alone are the text's second part. */
  ck_assert_str_eq(d.line, strchr(d.text, '\n') + 1);
  ck_assert_uint_eq(d.need_diag, strlen(d.line));
  /* Short buffer: cut, terminated, the full length returned. */
  ck_assert_uint_eq(d.need_tiny, d.need);
  ck_assert_uint_eq(strlen(d.tiny), sizeof(d.tiny) - 1);
  ck_assert_int_eq(strncmp(d.tiny, d.text, sizeof(d.tiny) - 1), 0);
  ck_assert_uint_eq(d.need_null, d.need);
  ck_assert_uint_eq(uvodbc_req_describe(NULL, d.tiny, sizeof(d.tiny)), 0);
  ck_assert_str_eq(d.tiny, "");
  ck_assert_uint_eq(uvodbc_diag_format(NULL, 3, d.tiny, sizeof(d.tiny)), 0);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* More or fewer values than `?` markers: UVODBC_EPARAMS, 07002, on every
 * driver, whatever the driver itself would have made of it. */
START_TEST(errors_param_count) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_param_t p[3];
  result_t r;
  via_t via;

  p[0] = uvodbc_param_int64(1);
  p[1] = uvodbc_param_int64(2);
  p[2] = uvodbc_param_int64(3);
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  for (via = VIA_EXEC; via <= VIA_QUERY; via++) {
    r = run(&loop, conn, via, "SELECT ?, ?", p, 3); /* too many */
    expect_error(&r, UVODBC_EPARAMS, "07002", 0, "SQLNumParams");
    ck_assert_ptr_nonnull(strstr(r.message, "2 parameter markers, 3 values"));
    r = run(&loop, conn, via, "SELECT ?, ?", p, 1); /* too few */
    expect_error(&r, UVODBC_EPARAMS, "07002", 0, "SQLNumParams");
    ck_assert_ptr_nonnull(strstr(r.message, "2 parameter markers, 1 values"));
    r = run(&loop, conn, via, "SELECT ?", NULL, 0); /* none at all */
    expect_error(&r, UVODBC_EPARAMS, "07002", 0, "SQLNumParams");
    ck_assert_ptr_nonnull(strstr(r.message, "1 parameter markers, 0 values"));
    r = run(&loop, conn, via, "SELECT 1", p, 1); /* values, no markers */
    expect_error(&r, UVODBC_EPARAMS, "07002", 0, "SQLNumParams");
  }
  /* A '?' inside a string literal is no marker. */
  r = run(&loop, conn, VIA_QUERY, "SELECT 'why?'", NULL, 0);
  ck_assert_int_eq(r.status, 0);
  expect_alive(&loop, conn);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

START_TEST(errors_unique_violation) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_param_t p[2];
  result_t r;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  create_table(&loop, conn, "errors_unique_violation",
               "id INTEGER PRIMARY KEY, v VARCHAR(10) UNIQUE");
  test_exec(&loop, conn,
            "INSERT INTO errors_unique_violation VALUES (1, 'a')");
  /* Literal: SQLExecDirect. */
  r = run(&loop, conn, VIA_EXEC,
          "INSERT INTO errors_unique_violation VALUES (2, 'a')", NULL, 0);
  expect_error(&r, UVODBC_ESQL, test_pick("HY000", "23505", "23000"),
               pick_native(19, 1, 1062), "SQLExecDirect");
  /* Parameters: SQLExecute. */
  p[0] = uvodbc_param_int64(1);
  p[1] = uvodbc_param_text("b", 1);
  r = run(&loop, conn, VIA_EXEC,
          "INSERT INTO errors_unique_violation VALUES (?, ?)", p, 2);
  expect_error(&r, UVODBC_ESQL, test_pick("HY000", "23505", "23000"),
               pick_native(19, 1, 1062), "SQLExecute");
  /* Nothing was inserted, and the table is usable. */
  ck_assert_int_eq(
      test_query_int(&loop, conn,
                     "SELECT COUNT(*) FROM errors_unique_violation"),
      1);
  p[0] = uvodbc_param_int64(2);
  r = run(&loop, conn, VIA_EXEC,
          "INSERT INTO errors_unique_violation VALUES (?, ?)", p, 2);
  ck_assert_int_eq(r.status, 0);
  ck_assert_int_eq(r.rows, 1);
  test_exec(&loop, conn, "DROP TABLE errors_unique_violation");
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* Native codes of three different errors, side by side. */
START_TEST(errors_native_codes) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  result_t r;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  create_table(&loop, conn, "errors_native_codes", "id INTEGER PRIMARY KEY");
  test_exec(&loop, conn, "INSERT INTO errors_native_codes VALUES (1)");
  r = run(&loop, conn, VIA_QUERY, "SELEC 1", NULL, 0);
  ck_assert_int_eq(r.native, pick_native(1, 1, 1064));
  r = run(&loop, conn, VIA_QUERY, "SELECT * FROM errors_native_nothing", NULL,
          0);
  ck_assert_int_eq(r.native, pick_native(1, 1, 1146));
  r = run(&loop, conn, VIA_EXEC, "INSERT INTO errors_native_codes VALUES (1)",
          NULL, 0);
  ck_assert_int_eq(r.native, pick_native(19, 1, 1062));
  ck_assert_int_ne(r.native, 0);
  test_exec(&loop, conn, "DROP TABLE errors_native_codes");
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* ======================================================================== */
/* Warnings (SQL_SUCCESS_WITH_INFO) stay in req->diag of a successful call.
 * PostgreSQL: a RAISE WARNING (01000) and a NOTICE (psqlODBC gives notices
 * SQLSTATE 00000).  MariaDB's Connector/ODBC never returns server warnings,
 * SQLite's driver only warns about truncation, which the library consumes
 * itself: no real warning exists there (registered as skipped). */

static void on_warning(uvodbc_req_t* req, int status) {
  result_t* r = req->data;
  size_t i;
  capture(r, req, status);
  /* Every record is complete. */
  for (i = 0; i < req->ndiag; i++) {
    ck_assert_int_eq(strlen(req->diag[i].sqlstate), 5);
    ck_assert_ptr_nonnull(req->diag[i].message);
    ck_assert_ptr_nonnull(req->diag[i].function);
  }
  if (req->cursor != NULL) uvodbc_cursor_close(req->cursor, NULL);
}

static result_t run_warning(uv_loop_t* loop, uvodbc_conn_t* conn, via_t via,
                            const char* sql) {
  uvodbc_req_t req;
  result_t r;
  memset(&r, 0, sizeof(r));
  req.data = &r;
  ck_assert_int_eq(
      via == VIA_EXEC
          ? uvodbc_conn_exec(conn, &req, sql, NULL, 0, NULL, on_warning)
          : uvodbc_conn_query(conn, &req, sql, NULL, 0, NULL, on_warning),
      0);
  uv_run(loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(r.calls, 1);
  uvodbc_req_cleanup(&req);
  return r;
}

START_TEST(errors_warning_kept) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  result_t r;
  via_t via;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_exec(&loop, conn,
            "CREATE OR REPLACE FUNCTION errors_warning_kept() RETURNS integer "
            "LANGUAGE plpgsql AS $$ BEGIN RAISE WARNING 'uvodbc warns'; "
            "RETURN 5; END $$");
  for (via = VIA_EXEC; via <= VIA_QUERY; via++) {
    /* Without a result set. */
    r = run_warning(&loop, conn, via,
                    "DO $$ BEGIN RAISE WARNING 'uvodbc warns'; END $$");
    ck_assert_int_eq(r.status, 0);
    ck_assert_uint_eq(r.ndiag, 1);
    ck_assert_str_eq(r.sqlstate, "01000");
    ck_assert_int_eq(r.native, -1);
    ck_assert_str_eq(r.function, "SQLExecDirect");
    ck_assert_ptr_nonnull(strstr(r.message, "uvodbc warns"));
    /* With one. */
    r = run_warning(&loop, conn, via, "SELECT errors_warning_kept()");
    ck_assert_int_eq(r.status, 0);
    ck_assert_int_eq(r.has_cursor, via == VIA_EXEC);
    ck_assert_uint_eq(r.ndiag, 1);
    /* A cursor streams through a server cursor, and psqlODBC reports a
     * WARNING raised by its FETCH as SQLSTATE 00000 (docs/drivers.md,
     * "Streaming"); the message is kept all the same. */
    ck_assert_str_eq(r.sqlstate, via == VIA_EXEC ? "00000" : "01000");
    ck_assert_ptr_nonnull(strstr(r.message, "uvodbc warns"));
    /* A notice. */
    r = run_warning(&loop, conn, via,
                    "DROP TABLE IF EXISTS errors_warning_nothing");
    ck_assert_int_eq(r.status, 0);
    ck_assert_uint_eq(r.ndiag, 1);
    ck_assert_str_eq(r.sqlstate, "00000");
    ck_assert_ptr_nonnull(strstr(r.message, "errors_warning_nothing"));
  }
  /* A call without warnings has no diagnostics. */
  r = run_warning(&loop, conn, VIA_QUERY, "SELECT 1");
  ck_assert_int_eq(r.status, 0);
  ck_assert_uint_eq(r.ndiag, 0);
  test_exec(&loop, conn, "DROP FUNCTION errors_warning_kept()");
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* ======================================================================== */
/* Invalid arguments: refused with UV_EINVAL before anything is queued; no
 * callback ever runs. */

static int stray_calls;

static void on_stray(uvodbc_req_t* req, int status) {
  (void)req;
  (void)status;
  stray_calls++;
}

typedef int (*start_fn)(uvodbc_conn_t*, uvodbc_req_t*, const char*,
                        const uvodbc_param_t*, size_t,
                        const uvodbc_exec_options_t*, uvodbc_req_cb);

START_TEST(errors_invalid_args) {
  static const start_fn starts[] = {uvodbc_conn_exec, uvodbc_conn_query};
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  uvodbc_param_t p[2];
  size_t i;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  stray_calls = 0;
  memset(&req, 0, sizeof(req));
  for (i = 0; i < 2; i++) {
    start_fn start = starts[i];
    ck_assert_int_eq(start(NULL, &req, "SELECT 1", NULL, 0, NULL, on_stray),
                     UV_EINVAL);
    ck_assert_int_eq(start(conn, NULL, "SELECT 1", NULL, 0, NULL, on_stray),
                     UV_EINVAL);
    ck_assert_int_eq(start(conn, &req, NULL, NULL, 0, NULL, on_stray),
                     UV_EINVAL);
    /* nparams without params */
    ck_assert_int_eq(start(conn, &req, "SELECT ?", NULL, 1, NULL, on_stray),
                     UV_EINVAL);
    /* a type value outside the enum, both ways */
    p[0] = uvodbc_param_int64(1);
    p[0].type = (uvodbc_type_t)42;
    ck_assert_int_eq(start(conn, &req, "SELECT ?", p, 1, NULL, on_stray),
                     UV_EINVAL);
    p[0].type = (uvodbc_type_t)-1;
    ck_assert_int_eq(start(conn, &req, "SELECT ?", p, 1, NULL, on_stray),
                     UV_EINVAL);
    /* text, decimal and binary without bytes but with a length */
    p[0] = uvodbc_param_int64(1);
    p[1] = uvodbc_param_text(NULL, 3);
    ck_assert_int_eq(start(conn, &req, "SELECT ?, ?", p, 2, NULL, on_stray),
                     UV_EINVAL);
    p[1] = uvodbc_param_text(NULL, SIZE_MAX);
    ck_assert_int_eq(start(conn, &req, "SELECT ?, ?", p, 2, NULL, on_stray),
                     UV_EINVAL);
    p[1] = uvodbc_param_decimal(NULL, 1);
    ck_assert_int_eq(start(conn, &req, "SELECT ?, ?", p, 2, NULL, on_stray),
                     UV_EINVAL);
    p[1] = uvodbc_param_binary(NULL, 1);
    ck_assert_int_eq(start(conn, &req, "SELECT ?, ?", p, 2, NULL, on_stray),
                     UV_EINVAL);
    /* binary has no NUL-terminated form */
    p[1] = uvodbc_param_binary("abc", SIZE_MAX);
    ck_assert_int_eq(start(conn, &req, "SELECT ?, ?", p, 2, NULL, on_stray),
                     UV_EINVAL);
    /* The request is reusable after a refused call. */
    ck_assert_ptr_null(req.op);
  }
  /* Cursor calls. */
  ck_assert_int_eq(uvodbc_cursor_fetch(NULL, &req, 0, on_stray), UV_EINVAL);
  ck_assert_int_eq(uvodbc_cursor_next_result(NULL, &req, on_stray),
                   UV_EINVAL);
  ck_assert_int_eq(uvodbc_cursor_close(NULL, NULL), UV_EINVAL);
  ck_assert_int_eq(uvodbc_connect(NULL, &req, "DSN=x", NULL, on_stray),
                   UV_EINVAL);
  ck_assert_int_eq(uvodbc_connect(&loop, &req, NULL, NULL, on_stray),
                   UV_EINVAL);
  ck_assert_int_eq(uvodbc_req_cancel(NULL), UV_EINVAL);
  ck_assert_int_eq(uvodbc_conn_close(NULL, NULL), UV_EINVAL);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(stray_calls, 0);
  /* Nothing got stuck: the connection runs the next statement. */
  expect_alive(&loop, conn);
  test_close(&loop, conn);
  test_loop_close(&loop);
  ck_assert_int_eq(stray_calls, 0);
}
END_TEST

/* ======================================================================== */
/* Errors don't break the connection: failing statements queued back to
 * back, then a good one, all on one connection, each completing in order;
 * then the same chained from inside the callbacks. */

typedef struct {
  uv_loop_t* loop;
  uvodbc_conn_t* conn;
  int order[8];
  int n;
  uvodbc_req_t reqs[6];
  result_t res[6];
  int step;
  uvodbc_req_t chain_req;
  int chain_calls;
} survive_t;

static void on_queued(uvodbc_req_t* req, int status) {
  survive_t* s = uvodbc_conn_get_data(req->conn);
  int i = (int)(req - s->reqs);
  capture(&s->res[i], req, status);
  s->order[s->n++] = i;
  if (req->cursor != NULL) uvodbc_cursor_close(req->cursor, NULL);
}

static const char* const chain_sql[] = {
    "SELEC 1", "SELECT * FROM errors_survive_nothing", "SELECT ?, ?",
    "INSERT INTO errors_connection_survives VALUES (1)", "SELECT 8"};

static void on_chain(uvodbc_req_t* req, int status) {
  survive_t* s = req->data;
  uvodbc_param_t p = uvodbc_param_int64(1);
  s->chain_calls++;
  switch (s->step) {
    case 0:
    case 1:
    case 3:
      ck_assert_int_eq(status, UVODBC_ESQL);
      break;
    case 2:
      ck_assert_int_eq(status, UVODBC_EPARAMS);
      break;
    default:
      ck_assert_int_eq(status, 0);
      ck_assert_uint_eq(uvodbc_batch_nrows(req->batch), 1);
      return;
  }
  /* The next statement, on the same request, from inside the callback. */
  s->step++;
  ck_assert_int_eq(uvodbc_conn_query(s->conn, req, chain_sql[s->step], &p,
                                     s->step == 2 ? 1 : 0, NULL, on_chain),
                   0);
}

START_TEST(errors_connection_survives) {
  uv_loop_t loop;
  survive_t s;
  uvodbc_param_t p = uvodbc_param_int64(1);
  int i;

  memset(&s, 0, sizeof(s));
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  s.loop = &loop;
  s.conn = test_connect(&loop);
  create_table(&loop, s.conn, "errors_connection_survives",
               "id INTEGER PRIMARY KEY");
  test_exec(&loop, s.conn,
            "INSERT INTO errors_connection_survives VALUES (1)");
  uvodbc_conn_set_data(s.conn, &s);

  /* Queued all at once. */
  ck_assert_int_eq(uvodbc_conn_exec(s.conn, &s.reqs[0], chain_sql[0], NULL, 0,
                                    NULL, on_queued),
                   0);
  ck_assert_int_eq(uvodbc_conn_query(s.conn, &s.reqs[1], chain_sql[1], NULL,
                                     0, NULL, on_queued),
                   0);
  ck_assert_int_eq(uvodbc_conn_exec(s.conn, &s.reqs[2], chain_sql[2], &p, 1,
                                    NULL, on_queued),
                   0);
  ck_assert_int_eq(uvodbc_conn_exec(s.conn, &s.reqs[3], chain_sql[3], NULL, 0,
                                    NULL, on_queued),
                   0);
  ck_assert_int_eq(uvodbc_conn_exec(s.conn, &s.reqs[4], chain_sql[4], NULL, 0,
                                    NULL, on_queued),
                   0);
  ck_assert_int_eq(uvodbc_conn_query(s.conn, &s.reqs[5], chain_sql[4], NULL,
                                     0, NULL, on_queued),
                   0);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(s.n, 6);
  for (i = 0; i < 6; i++) {
    ck_assert_int_eq(s.order[i], i);
    ck_assert_int_eq(s.res[i].calls, 1);
  }
  ck_assert_int_eq(s.res[0].status, UVODBC_ESQL);
  ck_assert_int_eq(s.res[1].status, UVODBC_ESQL);
  ck_assert_int_eq(s.res[2].status, UVODBC_EPARAMS);
  ck_assert_int_eq(s.res[3].status, UVODBC_ESQL);
  ck_assert_int_eq(s.res[4].status, 0);
  ck_assert_int_eq(s.res[4].has_cursor, 1); /* closed in the callback */
  ck_assert_int_eq(s.res[5].status, 0);
  /* Each failure kept its own diagnostics. */
  ck_assert_str_eq(s.res[0].sqlstate, test_pick("HY000", "42601", "42000"));
  ck_assert_str_eq(s.res[1].sqlstate, test_pick("HY000", "42P01", "42S02"));
  ck_assert_str_eq(s.res[2].sqlstate, "07002");
  ck_assert_str_eq(s.res[3].sqlstate, test_pick("HY000", "23505", "23000"));
  for (i = 0; i < 6; i++) uvodbc_req_cleanup(&s.reqs[i]);

  /* Chained from the callbacks. */
  s.chain_req.data = &s;
  ck_assert_int_eq(uvodbc_conn_exec(s.conn, &s.chain_req, chain_sql[0], NULL,
                                    0, NULL, on_chain),
                   0);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(s.step, 4);
  ck_assert_int_eq(s.chain_calls, 5);
  uvodbc_req_cleanup(&s.chain_req);

  expect_alive(&loop, s.conn);
  test_exec(&loop, s.conn, "DROP TABLE errors_connection_survives");
  test_close(&loop, s.conn);
  test_loop_close(&loop);
}
END_TEST

/* ======================================================================== */
/* PostgreSQL: several statements in one call.  psqlODBC sends them in one
 * simple-protocol message, which the server runs as one implicit
 * transaction: an error in any statement fails the call at SQLExecDirect
 * and undoes the statements before it. */

START_TEST(errors_multi_statement_pg) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  result_t r;
  via_t via;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  create_table(&loop, conn, "errors_multi_statement_pg",
               "id INTEGER PRIMARY KEY");
  for (via = VIA_EXEC; via <= VIA_QUERY; via++) {
    /* The error in the second statement. */
    r = run(&loop, conn, via, "SELECT 1; SELEC 2", NULL, 0);
    expect_error(&r, UVODBC_ESQL, "42601", 1, "SQLExecDirect");
    /* ...in the third, after two that changed data. */
    r = run(&loop, conn, via,
            "INSERT INTO errors_multi_statement_pg VALUES (1); "
            "INSERT INTO errors_multi_statement_pg VALUES (2); "
            "INSERT INTO errors_multi_statement_pg VALUES (1)",
            NULL, 0);
    expect_error(&r, UVODBC_ESQL, "23505", 1, "SQLExecDirect");
    ck_assert_int_eq(test_query_int(&loop, conn,
                                    "SELECT COUNT(*) FROM "
                                    "errors_multi_statement_pg"),
                     0);
    /* ...in the first: nothing after it runs. */
    r = run(&loop, conn, via,
            "SELECT * FROM errors_multi_nothing; "
            "INSERT INTO errors_multi_statement_pg VALUES (3)",
            NULL, 0);
    expect_error(&r, UVODBC_ESQL, "42P01", 1, "SQLExecDirect");
    ck_assert_int_eq(test_query_int(&loop, conn,
                                    "SELECT COUNT(*) FROM "
                                    "errors_multi_statement_pg"),
                     0);
  }
  expect_alive(&loop, conn);
  test_exec(&loop, conn, "DROP TABLE errors_multi_statement_pg");
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* ======================================================================== */
/* MariaDB: Connector/ODBC 3.1.15 returns from SQLExecDirect with its
 * connection lock still held for a statement under 5 bytes and for a
 * multi-statement batch; every later call on the connection from another
 * worker thread (the next statement, the close) then blocks forever.  The
 * library refuses both on MariaDB before the driver sees them. */

START_TEST(errors_mariadb_lock_traps) {
  /* Each of these hangs the next call on a raw Connector/ODBC 3.1.15
   * connection used from two threads (checked by hand). */
  static const char* const traps[] = {
      "DO 1", "abc", "SELECT 1; SELECT 2", "DO 1; DO 2",
      "INSERT INTO errors_mariadb_nothing VALUES (1); SELECT 1",
      "SELECT 1 ;\n SELEC 2",
      "BEGIN; INSERT INTO errors_mariadb_nothing VALUES (1); COMMIT",
      "START TRANSACTION; SELECT 1; COMMIT",
      "SELECT CASE WHEN 1 THEN 1 END; SELECT 2",
      "CREATE OR REPLACE VIEW errors_mariadb_v AS SELECT 1 AS a; SELECT 2"};
  /* ...and none of these does. */
  static const char* const fine[] = {
      "SELECT 1;", "SELECT 1; ", "SELECT 1; -- c", "SELECT ';' AS x",
      "SELECT 1 /* ; */", "SELECT 1 -- x; y", "SELECT \"a;b\"",
      "SELECT `1;2` FROM (SELECT 1 AS `1;2`) t", "SELECT 'it''s;' AS s",
      "SELECT 'a\\';b' AS s", "SELECT 1 # ; x",
      "SELECT CASE WHEN 1 THEN 'end;' END AS e",
      "CREATE OR REPLACE PROCEDURE errors_mariadb_p() BEGIN DECLARE x INT "
      "DEFAULT 0; SELECT CASE WHEN x THEN 1 END; IF x THEN SELECT 1; END IF; "
      "END",
      "DROP PROCEDURE errors_mariadb_p",
      "CREATE PROCEDURE errors_mariadb_p() BEGIN SELECT 1; SELECT 2; END",
      "DROP PROCEDURE errors_mariadb_p",
      "BEGIN NOT ATOMIC SELECT 1; SELECT 2; END"};
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  result_t r;
  size_t i;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  for (i = 0; i < sizeof(traps) / sizeof(traps[0]); i++) {
    r = run(&loop, conn, i % 2 ? VIA_QUERY : VIA_EXEC, traps[i], NULL, 0);
    ck_assert_msg(r.status == UVODBC_ESQL, "%s: %s", traps[i],
                  uvodbc_err_name(r.status));
    ck_assert_str_eq(r.sqlstate, "42000");
    ck_assert_str_eq(r.function, "SQLExecDirect");
    /* The connection still answers (it would hang here otherwise). */
    expect_alive(&loop, conn);
  }
  for (i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
    r = run(&loop, conn, VIA_EXEC, fine[i], NULL, 0);
    ck_assert_msg(r.status == 0, "%s: %s %s", fine[i],
                  uvodbc_err_name(r.status), r.message);
    expect_alive(&loop, conn);
  }
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* ======================================================================== */
/* Failures that are not disconnects: the server answered and refused (a
 * wrong password, an unknown database; psqlODBC reports both as 08001,
 * which counted as a disconnect before), or SQLite could not open or write
 * its file. */

typedef struct {
  result_t r;
  int disconnect;
} refused_t;

static void on_refused(uvodbc_req_t* req, int status) {
  refused_t* f = req->data;
  capture(&f->r, req, status);
  f->disconnect = uvodbc_req_is_disconnect(req);
}

static void expect_connect_refused(uv_loop_t* loop, const char* connstr) {
  uvodbc_req_t req;
  refused_t f;
  memset(&f, 0, sizeof(f));
  memset(&req, 0, sizeof(req));
  req.data = &f;
  ck_assert_int_eq(uvodbc_connect(loop, &req, connstr, NULL, on_refused), 0);
  uv_run(loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(f.r.calls, 1);
  ck_assert_msg(f.r.status == UVODBC_ESQL && f.r.ndiag > 0,
                "connect: %s", uvodbc_err_name(f.r.status));
  ck_assert_msg(!f.disconnect, "classified as a disconnect: [%s] %d %s",
                f.r.sqlstate, (int)f.r.native, f.r.message);
  test_close(loop, req.conn);
}

START_TEST(errors_refused_not_disconnect) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  refused_t f;
  char connstr[1024];

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  if (test_driver() == TEST_SQLITE) {
    /* A directory that does not exist, a directory as the file. */
    expect_connect_refused(&loop,
                           "DRIVER={SQLite3};Database=/nonexistent-uvodbc/"
                           "x.db;Timeout=2000");
    expect_connect_refused(&loop, "DRIVER={SQLite3};Database=/tmp;"
                                  "Timeout=2000");
  } else {
    snprintf(connstr, sizeof(connstr), "%s;Pwd=uvodbc_wrong_pw",
             test_connstr());
    expect_connect_refused(&loop, connstr);
    snprintf(connstr, sizeof(connstr), "%s;Database=uvodbc_no_such_db",
             test_connstr());
    expect_connect_refused(&loop, connstr);
  }
  /* A write the database refuses (SQLite: "attempt to write a readonly
   * database", 8; the others: a read-only transaction). */
  conn = test_connect(&loop);
  test_exec(&loop, conn,
            test_pick("PRAGMA query_only = 1",
                      "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
                      "SET SESSION TRANSACTION READ ONLY"));
  memset(&f, 0, sizeof(f));
  memset(&req, 0, sizeof(req));
  req.data = &f;
  ck_assert_int_eq(uvodbc_conn_exec(conn, &req,
                                    "CREATE TABLE errors_refused_nd (a INT)",
                                    NULL, 0, NULL, on_refused),
                   0);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(f.r.calls, 1);
  ck_assert_msg(f.r.status == UVODBC_ESQL, "write: %s",
                uvodbc_err_name(f.r.status));
  ck_assert_msg(!f.disconnect, "classified as a disconnect: [%s] %d %s",
                f.r.sqlstate, (int)f.r.native, f.r.message);
  ck_assert(!uvodbc_conn_is_broken(conn));
  expect_alive(&loop, conn);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* ======================================================================== */
/* MariaDB with NO_BACKSLASH_ESCAPES: '\' inside quotes escapes nothing, and
 * the driver splits by the session's real mode.  `SELECT 'a\'; SELECT 2` is
 * then two statements: before the fix it passed the guard (which always
 * read '\' as an escape), the driver kept its lock, and the next statement
 * and the close hung for good (issue 9, part 6).  Now such SQL gets either
 * its correct result or a clean error, and the connection goes on. */

#define NBE_TWO "SELECT 'a\\'; SELECT 2"   /* two statements under NBE  */
#define NBE_ONE "SELECT 'a\\', ';' AS s"   /* one under NBE, two without */

static void prepare_refused(uv_loop_t* loop, uvodbc_conn_t* conn,
                            const char* sql) {
  uvodbc_req_t req;
  result_t r;
  memset(&r, 0, sizeof(r));
  memset(&req, 0, sizeof(req));
  req.data = &r;
  ck_assert_int_eq(uvodbc_conn_prepare(conn, &req, sql, on_result), 0);
  uv_run(loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(r.calls, 1);
  ck_assert_ptr_null(req.prepared);
  expect_error(&r, UVODBC_ESQL, "42000", 0, "SQLPrepare");
  uvodbc_req_cleanup(&req);
}

/* The checks on a connection whose session has NO_BACKSLASH_ESCAPES. */
static void expect_no_backslash_rules(uv_loop_t* loop, uvodbc_conn_t* conn) {
  uvodbc_batch_t* b;
  result_t r;
  size_t len;
  via_t via;
  for (via = VIA_EXEC; via <= VIA_QUERY; via++) {
    r = run(loop, conn, via, NBE_TWO, NULL, 0);
    expect_error(&r, UVODBC_ESQL, "42000", 0, "SQLExecDirect");
    ck_assert_ptr_nonnull(strstr(r.message, "several statements"));
    expect_alive(loop, conn); /* hung here before */
  }
  prepare_refused(loop, conn, NBE_TWO);
  expect_alive(loop, conn);
  /* One statement under this mode (two under the default): it runs. */
  b = test_query(loop, conn, NBE_ONE, NULL, 0);
  ck_assert_uint_eq(uvodbc_batch_nrows(b), 1);
  ck_assert_str_eq(test_get_text(b, 0, 0, &len), "a\\");
  ck_assert_str_eq(test_get_text(b, 1, 0, &len), ";");
  test_free_result(b);
}

/* The mode changes with a statement, and the guard follows each change. */
START_TEST(errors_mariadb_no_backslash_session) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_batch_t* b;
  result_t r;
  size_t len;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_exec(&loop, conn,
            "SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, "
            "',NO_BACKSLASH_ESCAPES')");
  expect_no_backslash_rules(&loop, conn);
  /* Back to the default rules: the same text is one statement now. */
  test_exec(&loop, conn,
            "SET SESSION sql_mode = REPLACE(@@SESSION.sql_mode, "
            "'NO_BACKSLASH_ESCAPES', '')");
  r = run(&loop, conn, VIA_QUERY, NBE_TWO, NULL, 0); /* unterminated */
  expect_error(&r, UVODBC_ESQL, "42000", 1064, "SQLExecDirect");
  b = test_query(&loop, conn, "SELECT 'a\\'; SELECT 2' AS s", NULL, 0);
  ck_assert_uint_eq(uvodbc_batch_nrows(b), 1);
  ck_assert_str_eq(test_get_text(b, 0, 0, &len), "a'; SELECT 2");
  test_free_result(b);
  r = run(&loop, conn, VIA_EXEC, NBE_ONE, NULL, 0);
  expect_error(&r, UVODBC_ESQL, "42000", 0, "SQLExecDirect");
  expect_alive(&loop, conn);
  /* ANSI_QUOTES: "..." is an identifier, '\' inside it escapes nothing. */
  test_exec(&loop, conn,
            "SET SESSION sql_mode = CONCAT(@@SESSION.sql_mode, "
            "',ANSI_QUOTES')");
  r = run(&loop, conn, VIA_QUERY, "SELECT 1 AS \"a\\\"; SELECT 2", NULL, 0);
  expect_error(&r, UVODBC_ESQL, "42000", 0, "SQLExecDirect");
  expect_alive(&loop, conn);
  test_close(&loop, conn); /* hung here before */
  test_loop_close(&loop);
}
END_TEST

/* Takes NO_BACKSLASH_ESCAPES out of the server's global sql_mode (the
 * test servers never have it), whatever else the mode holds. */
#define UNSET_GLOBAL_NBE                                                  \
  "SET GLOBAL sql_mode = TRIM(BOTH ',' FROM REPLACE(CONCAT(',', "         \
  "@@GLOBAL.sql_mode, ','), ',NO_BACKSLASH_ESCAPES,', ','))"

static void on_step(uvodbc_req_t* req, int status) {
  *(int*)req->data = status == 0 ? 1 : -1;
}

static void on_closed_step(uvodbc_conn_t* conn) {
  (void)conn;
}

/* The test case's teardown, in Check's parent process, even after a test
 * failed half-way: in a child of its own, so that the parent never loads
 * a driver or starts threads that later forks would inherit. */
static void unset_global_nbe(void) {
  pid_t pid = fork();
  int st = 0;
  if (pid == 0) {
    uv_loop_t loop;
    uvodbc_req_t req;
    int done = 0;
    memset(&req, 0, sizeof(req));
    req.data = &done;
    if (uv_loop_init(&loop) != 0 ||
        uvodbc_connect(&loop, &req, test_connstr(), NULL, on_step) != 0)
      _exit(1);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (done == 1) {
      uvodbc_conn_t* conn = req.conn;
      done = 0;
      memset(&req, 0, sizeof(req));
      req.data = &done;
      if (uvodbc_conn_exec(conn, &req, UNSET_GLOBAL_NBE, NULL, 0, NULL,
                           on_step) == 0)
        uv_run(&loop, UV_RUN_DEFAULT);
      uvodbc_conn_close(conn, on_closed_step);
      uv_run(&loop, UV_RUN_DEFAULT);
    }
    _exit(done == 1 ? 0 : 1);
  }
  if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
      WEXITSTATUS(st) != 0)
    fprintf(stderr, "errors: could not take NO_BACKSLASH_ESCAPES out of "
                    "the server's global sql_mode\n");
}

/* Set on the server: every new connection starts with it. */
START_TEST(errors_mariadb_no_backslash_global) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_exec(&loop, conn,
            "SET GLOBAL sql_mode = CONCAT(@@GLOBAL.sql_mode, "
            "',NO_BACKSLASH_ESCAPES')");
  test_close(&loop, conn);
  conn = test_connect(&loop);
  ck_assert_int_eq(
      test_query_int(&loop, conn,
                     "SELECT FIND_IN_SET('NO_BACKSLASH_ESCAPES', "
                     "@@SESSION.sql_mode) > 0"),
      1);
  expect_no_backslash_rules(&loop, conn);
  test_exec(&loop, conn, UNSET_GLOBAL_NBE);
  test_close(&loop, conn); /* hung here before */
  test_loop_close(&loop);
}
END_TEST

Suite* errors_suite(void) {
  Suite* s = suite_create("errors");
  TCase* tc = tcase_create("errors");
  tcase_set_timeout(tc, TIMEOUT_S);
  tcase_add_test(tc, errors_bad_sql);
  tcase_add_test(tc, errors_describe);
  tcase_add_test(tc, errors_unknown_table);
  tcase_add_test(tc, errors_param_count);
  tcase_add_test(tc, errors_unique_violation);
  tcase_add_test(tc, errors_native_codes);
  if (test_driver() == TEST_PG)
    tcase_add_test(tc, errors_warning_kept);
  else
    test_skip("errors_warning_kept",
              test_driver() == TEST_MARIADB
                  ? "Connector/ODBC 3.1.15 never reports server warnings "
                    "(SQL_SUCCESS_WITH_INFO) from SQLExecDirect/SQLExecute"
                  : "the SQLite driver warns only about truncation (01004), "
                    "which the library consumes while reading long values");
  tcase_add_test(tc, errors_invalid_args);
  tcase_add_test(tc, errors_connection_survives);
  tcase_add_test(tc, errors_refused_not_disconnect);
  if (test_driver() == TEST_PG)
    tcase_add_test(tc, errors_multi_statement_pg);
  else
    test_skip("errors_multi_statement_pg",
              "several statements in one call: PostgreSQL only (SQLite's "
              "driver refuses them, MariaDB's needs MULTI_STATEMENTS and "
              "hangs the connection, see errors_mariadb_lock_traps)");
  if (test_driver() == TEST_MARIADB)
    tcase_add_test(tc, errors_mariadb_lock_traps);
  else
    test_skip("errors_mariadb_lock_traps",
              "a MariaDB Connector/ODBC 3.1.15 bug");
  suite_add_tcase(s, tc);
  if (test_driver() == TEST_MARIADB) {
    TCase* modes = tcase_create("errors_sql_mode");
    tcase_set_timeout(modes, TIMEOUT_S);
    tcase_add_unchecked_fixture(modes, NULL, unset_global_nbe);
    tcase_add_test(modes, errors_mariadb_no_backslash_session);
    tcase_add_test(modes, errors_mariadb_no_backslash_global);
    suite_add_tcase(s, modes);
  } else {
    test_skip("errors_mariadb_no_backslash_session", "MariaDB's sql_mode");
    test_skip("errors_mariadb_no_backslash_global", "MariaDB's sql_mode");
  }
  return s;
}
