/* Procedure and function calls: uvodbc_conn_call() with IN, OUT and INOUT
 * parameters and result sets.
 *
 * MariaDB: procedures with OUT / INOUT parameters that also return one or
 * several result sets.  PostgreSQL: a function with OUT / INOUT parameters
 * through the {CALL} escape, a function's return value through
 * {? = CALL}, and a PROCEDURE (PostgreSQL 11+) with INOUT parameters.
 * SQLite has no procedures. */
#include <stdlib.h>

#include <sql.h>
#include <sqlext.h>

#include "uvodbc-test.h"

/* ---- helpers ---- */

typedef struct {
  int calls;
  int status;
  size_t ndiag;
  char state[6];
  int32_t native;
} outcome_t;

/* The request keeps its results until the test cleans it up. */
static void record(uvodbc_req_t* req, int status) {
  outcome_t* o = req->data;
  o->calls++;
  o->status = status;
  ck_assert_int_eq(req->status, status);
  ck_assert_int_eq(req->type, UVODBC_REQ_CALL);
  ck_assert_ptr_null(req->cursor);
  o->ndiag = req->ndiag;
  o->state[0] = '\0';
  o->native = 0;
  if (req->ndiag > 0) {
    memcpy(o->state, req->diag[0].sqlstate, 6);
    o->native = req->diag[0].native;
  }
  if (status != 0) test_print_diags(req, "call test");
}

static int run_call(uv_loop_t* loop, uvodbc_conn_t* conn, uvodbc_req_t* req,
                    outcome_t* o, const char* sql,
                    const uvodbc_param_t* params, size_t nparams) {
  int err;
  memset(o, 0, sizeof(*o));
  req->data = o;
  err = uvodbc_conn_call(conn, req, sql, params, nparams, NULL, record);
  ck_assert_msg(err == 0, "call start (%s): %s", uvodbc_err_name(err), sql);
  ck_assert_int_eq(o->calls, 0);
  uv_run(loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(o->calls, 1);
  return o->status;
}

static void connect_cb(uvodbc_req_t* req, int status) {
  outcome_t* o = req->data;
  o->calls++;
  o->status = status;
  if (status != 0) test_print_diags(req, "call test connect");
}

/* A one-row result holding the OUT values (int, text) under these names. */
static void check_out_row(const uvodbc_batch_t* b, const char* n1,
                          const char* n2, int64_t v1, const char* v2) {
  ck_assert_uint_eq(uvodbc_batch_nrows(b), 1);
  ck_assert_uint_eq(uvodbc_batch_ncols(b), 2);
  ck_assert_str_eq(uvodbc_batch_column(b, 0)->name, n1);
  ck_assert_str_eq(uvodbc_batch_column(b, 1)->name, n2);
  ck_assert_int_eq(test_get_i64(b, 0, 0), v1);
  ck_assert_str_eq(test_get_text(b, 1, 0, NULL), v2);
}

static void exec_ok(uv_loop_t* loop, uvodbc_conn_t* conn, const char* sql) {
  test_exec(loop, conn, sql);
}

/* ---- MariaDB ---- */

/* IN a, OUT b = a * 2, INOUT c = c || '!' and a result set (a, c). */
START_TEST(call_mariadb_out_inout) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  outcome_t o;
  uvodbc_param_t p[3];
  const uvodbc_batch_t* out;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  exec_ok(&loop, conn, "DROP PROCEDURE IF EXISTS call_mariadb_p");
  exec_ok(&loop, conn,
          "CREATE PROCEDURE call_mariadb_p(IN a INT, OUT b INT, "
          "INOUT c VARCHAR(64)) "
          "BEGIN SET b = a * 2; SET c = CONCAT(c, '!'); "
          "SELECT a AS x, c AS y; END");

  p[0] = uvodbc_param_int64(21);
  p[1] = uvodbc_param_out(UVODBC_TYPE_INT64, 0);
  p[2] = uvodbc_param_inout(uvodbc_param_text("héllo", SIZE_MAX), 64);
  ck_assert_int_eq(run_call(&loop, conn, &req, &o,
                            "{CALL call_mariadb_p(?, ?, ?)}", p, 3),
                   0);
  /* The procedure's SELECT, then the OUT row that Connector/ODBC 3.1 also
   * returns as a result set (columns named after the parameters). */
  ck_assert_uint_eq(req.nresults, 2);
  ck_assert_ptr_eq(req.batch, req.results[0]);
  ck_assert_uint_eq(uvodbc_batch_nrows(req.results[0]), 1);
  ck_assert_uint_eq(uvodbc_batch_ncols(req.results[0]), 2);
  ck_assert_str_eq(uvodbc_batch_column(req.results[0], 0)->name, "x");
  ck_assert_int_eq(test_get_i64(req.results[0], 0, 0), 21);
  ck_assert_str_eq(test_get_text(req.results[0], 1, 0, NULL), "héllo!");
  check_out_row(req.results[1], "b", "c", 42, "héllo!");
  out = req.outputs;
  ck_assert_ptr_nonnull(out);
  ck_assert_uint_eq(uvodbc_batch_nrows(out), 1);
  ck_assert_uint_eq(uvodbc_batch_ncols(out), 2);
  ck_assert_str_eq(uvodbc_batch_column(out, 0)->name, "2");
  ck_assert_str_eq(uvodbc_batch_column(out, 1)->name, "3");
  ck_assert_int_eq(test_get_i64(out, 0, 0), 42);
  ck_assert_str_eq(test_get_text(out, 1, 0, NULL), "héllo!");
  uvodbc_req_cleanup(&req);
  ck_assert_ptr_null(req.outputs);
  ck_assert_uint_eq(req.nresults, 0);

  /* NULL in, NULL out.  Connector/ODBC 3.1 never marks an OUT value NULL
   * (it leaves the buffer alone and sets the length 0); for numbers, read
   * as text there, uvodbc takes the empty text as NULL.  A text OUT set to
   * NULL is indistinguishable from '' (the OUT row result set still shows
   * the NULL). */
  p[0] = uvodbc_param_null();
  p[2] = uvodbc_param_inout(uvodbc_param_text("", 0), 64);
  ck_assert_int_eq(run_call(&loop, conn, &req, &o,
                            "{CALL call_mariadb_p(?, ?, ?)}", p, 3),
                   0);
  ck_assert_int_eq(uvodbc_batch_is_null(req.outputs, 0, 0), 1);
  ck_assert_str_eq(test_get_text(req.outputs, 1, 0, NULL), "!");
  ck_assert_uint_eq(req.nresults, 2);
  ck_assert_int_eq(uvodbc_batch_is_null(req.results[0], 0, 0), 1);
  ck_assert_int_eq(uvodbc_batch_is_null(req.results[1], 0, 0), 1);
  uvodbc_req_cleanup(&req);

  exec_ok(&loop, conn, "DROP PROCEDURE call_mariadb_p");
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* OUT values longer than their cells.  Connector/ODBC 3.1.15 fills a cell
 * without a NUL and reports the full length: text comes back cut to
 * out_size, at a whole UTF-8 character; a number (read as text, 32 bytes) parsed past its cell, the
 * last one past the buffer (ASan: heap-buffer-overflow).  A 40-digit
 * DECIMAL is no INT64: UVODBC_ETYPE. */
START_TEST(call_mariadb_out_too_long) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  outcome_t o;
  uvodbc_param_t p[3];
  size_t len = 0;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  exec_ok(&loop, conn, "DROP PROCEDURE IF EXISTS call_mariadb_out_too_long");
  exec_ok(&loop, conn,
          "CREATE PROCEDURE call_mariadb_out_too_long(IN k INT, "
          "OUT t VARCHAR(64), OUT n DECIMAL(65,0)) "
          "BEGIN SET t = CONCAT('z', REPEAT('é', 20)); "
          "SET n = IF(k = 1, CAST(REPEAT('9', 40) AS DECIMAL(65,0)), "
          "-12345); END");
  p[0] = uvodbc_param_int64(2);
  p[1] = uvodbc_param_out(UVODBC_TYPE_TEXT, 8);
  p[2] = uvodbc_param_out(UVODBC_TYPE_INT64, 0);
  ck_assert_int_eq(run_call(&loop, conn, &req, &o,
                            "{CALL call_mariadb_out_too_long(?, ?, ?)}", p,
                            3),
                   0);
  /* 8 bytes would end inside the fourth é. */
  ck_assert_str_eq(test_get_text(req.outputs, 0, 0, &len), "zééé");
  ck_assert_uint_eq(len, 7);
  ck_assert_int_eq(test_get_i64(req.outputs, 1, 0), -12345);
  uvodbc_req_cleanup(&req);

  p[0] = uvodbc_param_int64(1);
  ck_assert_int_eq(run_call(&loop, conn, &req, &o,
                            "{CALL call_mariadb_out_too_long(?, ?, ?)}", p,
                            3),
                   UVODBC_ETYPE);
  ck_assert_ptr_null(req.outputs);
  uvodbc_req_cleanup(&req);

  exec_ok(&loop, conn, "DROP PROCEDURE call_mariadb_out_too_long");
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* Three result sets (the last empty) and an OUT parameter, all in one
 * request. */
START_TEST(call_mariadb_multiple_results) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  outcome_t o;
  uvodbc_param_t p[2];

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  exec_ok(&loop, conn, "DROP PROCEDURE IF EXISTS call_mariadb_multi");
  exec_ok(&loop, conn,
          "CREATE PROCEDURE call_mariadb_multi(IN n INT, OUT total INT) "
          "BEGIN "
          "SELECT 'first' AS s; "
          "SELECT n AS a, n * 2 AS b UNION ALL SELECT n + 1, (n + 1) * 2 "
          "UNION ALL SELECT n + 2, (n + 2) * 2; "
          "SELECT 1.5 AS d FROM DUAL WHERE 1 = 0; "
          "SET total = n * 10; END");
  p[0] = uvodbc_param_int64(7);
  p[1] = uvodbc_param_out(UVODBC_TYPE_INT64, 0);
  ck_assert_int_eq(run_call(&loop, conn, &req, &o,
                            "{CALL call_mariadb_multi(?, ?)}", p, 2),
                   0);
  ck_assert_uint_eq(req.nresults, 4); /* 3 SELECTs and the OUT row */
  ck_assert_uint_eq(uvodbc_batch_nrows(req.results[0]), 1);
  ck_assert_str_eq(test_get_text(req.results[0], 0, 0, NULL), "first");
  ck_assert_uint_eq(uvodbc_batch_nrows(req.results[1]), 3);
  ck_assert_uint_eq(uvodbc_batch_ncols(req.results[1]), 2);
  ck_assert_int_eq(test_get_i64(req.results[1], 0, 2), 9);
  ck_assert_int_eq(test_get_i64(req.results[1], 1, 2), 18);
  ck_assert_uint_eq(uvodbc_batch_nrows(req.results[2]), 0);
  ck_assert_uint_eq(uvodbc_batch_ncols(req.results[2]), 1);
  ck_assert_str_eq(uvodbc_batch_column(req.results[2], 0)->name, "d");
  ck_assert_uint_eq(uvodbc_batch_ncols(req.results[3]), 1);
  ck_assert_str_eq(uvodbc_batch_column(req.results[3], 0)->name, "total");
  ck_assert_int_eq(test_get_i64(req.results[3], 0, 0), 70);
  ck_assert_int_eq(test_get_i64(req.outputs, 0, 0), 70);
  uvodbc_req_cleanup(&req);

  /* No OUT parameters: the results only; outputs has no columns. */
  exec_ok(&loop, conn, "DROP PROCEDURE IF EXISTS call_mariadb_multi2");
  exec_ok(&loop, conn,
          "CREATE PROCEDURE call_mariadb_multi2(IN n INT) "
          "BEGIN SELECT n AS a; SELECT n + 1 AS b; END");
  ck_assert_int_eq(run_call(&loop, conn, &req, &o,
                            "CALL call_mariadb_multi2(?)", p, 1),
                   0);
  ck_assert_uint_eq(req.nresults, 2);
  ck_assert_int_eq(test_get_i64(req.results[0], 0, 0), 7);
  ck_assert_int_eq(test_get_i64(req.results[1], 0, 0), 8);
  ck_assert(req.outputs == NULL || uvodbc_batch_ncols(req.outputs) == 0);
  uvodbc_req_cleanup(&req);

  /* The connection goes on normally afterwards. */
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 5"), 5);
  exec_ok(&loop, conn, "DROP PROCEDURE call_mariadb_multi");
  exec_ok(&loop, conn, "DROP PROCEDURE call_mariadb_multi2");
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* ---- PostgreSQL ---- */

/* An OUT text longer than out_size: psqlODBC cuts it (with a NUL) and
 * reports the full length; uvodbc keeps whole UTF-8 characters. */
START_TEST(call_pg_out_too_long) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  outcome_t o;
  uvodbc_param_t p[1];
  size_t len = 0;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  exec_ok(&loop, conn,
          "CREATE OR REPLACE FUNCTION call_pg_out_too_long(OUT t text) AS "
          "$$ BEGIN t := 'z' || repeat('é', 20); END $$ LANGUAGE plpgsql");
  p[0] = uvodbc_param_out(UVODBC_TYPE_TEXT, 8);
  ck_assert_int_eq(run_call(&loop, conn, &req, &o,
                            "{CALL call_pg_out_too_long(?)}", p, 1),
                   0);
  ck_assert_str_eq(test_get_text(req.outputs, 0, 0, &len), "zééé");
  ck_assert_uint_eq(len, 7);
  uvodbc_req_cleanup(&req);
  exec_ok(&loop, conn, "DROP FUNCTION call_pg_out_too_long()");
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* A function with OUT and INOUT parameters through the {CALL} escape
 * (psqlODBC turns it into SELECT * FROM f(...) and hands the columns to the
 * output parameters). */
START_TEST(call_pg_function_out_inout) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  outcome_t o;
  uvodbc_param_t p[3];
  const uvodbc_batch_t* out;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  exec_ok(&loop, conn,
          "CREATE OR REPLACE FUNCTION call_pg_f(a integer, OUT b integer, "
          "INOUT c text) AS $$ BEGIN b := a * 2; c := c || '!'; END $$ "
          "LANGUAGE plpgsql");
  p[0] = uvodbc_param_int64(21);
  p[1] = uvodbc_param_out(UVODBC_TYPE_INT64, 0);
  p[2] = uvodbc_param_inout(uvodbc_param_text("héllo", SIZE_MAX), 64);
  ck_assert_int_eq(
      run_call(&loop, conn, &req, &o, "{CALL call_pg_f(?, ?, ?)}", p, 3), 0);
  out = req.outputs;
  ck_assert_ptr_nonnull(out);
  ck_assert_uint_eq(uvodbc_batch_ncols(out), 2);
  ck_assert_int_eq(test_get_i64(out, 0, 0), 42);
  ck_assert_str_eq(test_get_text(out, 1, 0, NULL), "héllo!");
  /* psqlODBC runs SELECT * FROM call_pg_f(...): its row is also the
   * result. */
  ck_assert_uint_eq(req.nresults, 1);
  check_out_row(req.results[0], "b", "c", 42, "héllo!");
  uvodbc_req_cleanup(&req);
  exec_ok(&loop, conn, "DROP FUNCTION call_pg_f(integer, text)");
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* A function's return value: {? = CALL f(?)}.  Measured with plain ODBC
 * too: with psqlODBC's default server-side prepare (UseServerSidePrepare=1)
 * SQLPrepare + SQLExecute of this escape sends the call without its
 * argument ("function call_pg_sq() does not exist", 42883) and writes past
 * a 4-byte heap block inside the driver (valgrind: invalid write in
 * SQLExecute).  uvodbc_conn_call prepares before executing, so this test
 * does not go there; it uses UseServerSidePrepare=0, where the escape
 * works and the row goes to the return value (no result set). */
START_TEST(call_pg_function_return) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  outcome_t o;
  uvodbc_param_t p[2];
  char connstr[1024];

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  snprintf(connstr, sizeof(connstr), "%s;UseServerSidePrepare=0",
           test_connstr());
  memset(&o, 0, sizeof(o));
  req.data = &o;
  ck_assert_int_eq(uvodbc_connect(&loop, &req, connstr, NULL, connect_cb), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(o.calls, 1);
  ck_assert_int_eq(o.status, 0);
  conn = req.conn;
  exec_ok(&loop, conn,
          "CREATE OR REPLACE FUNCTION call_pg_sq(a integer) RETURNS bigint "
          "AS 'SELECT a::bigint * a' LANGUAGE sql");
  p[0] = uvodbc_param_out(UVODBC_TYPE_INT64, 0);
  p[1] = uvodbc_param_int64(3000000);
  ck_assert_int_eq(
      run_call(&loop, conn, &req, &o, "{? = CALL call_pg_sq(?)}", p, 2), 0);
  ck_assert_uint_eq(uvodbc_batch_ncols(req.outputs), 1);
  ck_assert_int_eq(test_get_i64(req.outputs, 0, 0), 9000000000000LL);
  ck_assert_uint_eq(req.nresults, 0); /* the row went to the return value */
  uvodbc_req_cleanup(&req);
  exec_ok(&loop, conn, "DROP FUNCTION call_pg_sq(integer)");
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* A PROCEDURE (PostgreSQL 11+) with INOUT parameters: the plain CALL
 * statement works (the server returns the INOUT values as a row, which is
 * also the one result set); the {CALL} escape does not, since psqlODBC
 * turns it into SELECT * FROM p(...): "is a procedure" (42809). */
START_TEST(call_pg_procedure_inout) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  outcome_t o;
  uvodbc_param_t p[3];

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  exec_ok(&loop, conn,
          "CREATE OR REPLACE PROCEDURE call_pg_pp(a integer, INOUT b integer, "
          "INOUT c text) LANGUAGE plpgsql AS $$ BEGIN b := a + b; "
          "c := upper(c); END $$");
  p[0] = uvodbc_param_int64(40);
  p[1] = uvodbc_param_inout(uvodbc_param_int64(2), 0);
  p[2] = uvodbc_param_inout(uvodbc_param_text("abc", SIZE_MAX), 16);
  ck_assert_int_eq(
      run_call(&loop, conn, &req, &o, "CALL call_pg_pp(?, ?, ?)", p, 3), 0);
  ck_assert_uint_eq(uvodbc_batch_ncols(req.outputs), 2);
  ck_assert_int_eq(test_get_i64(req.outputs, 0, 0), 42);
  ck_assert_str_eq(test_get_text(req.outputs, 1, 0, NULL), "ABC");
  ck_assert_uint_eq(req.nresults, 1);
  check_out_row(req.results[0], "b", "c", 42, "ABC");
  uvodbc_req_cleanup(&req);

  ck_assert_int_eq(
      run_call(&loop, conn, &req, &o, "{CALL call_pg_pp(?, ?, ?)}", p, 3),
      UVODBC_ESQL);
  ck_assert_str_eq(o.state, "42809");
  uvodbc_req_cleanup(&req);

  exec_ok(&loop, conn, "DROP PROCEDURE call_pg_pp(integer, integer, text)");
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* ---- every driver ---- */

/* A procedure that does not exist: UVODBC_ESQL with the driver's
 * diagnostics; nothing to clean up but cleanup is harmless. */
START_TEST(call_missing_procedure) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  outcome_t o;
  uvodbc_param_t p[2];

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  p[0] = uvodbc_param_int64(1);
  p[1] = uvodbc_param_out(UVODBC_TYPE_INT64, 0);
  ck_assert_int_eq(run_call(&loop, conn, &req, &o,
                            "{CALL call_no_such_procedure(?, ?)}", p, 2),
                   UVODBC_ESQL);
  ck_assert_int_gt(o.ndiag, 0);
  /* SQLite: a syntax error (no CALL statement at all). */
  ck_assert_str_eq(o.state, test_driver() == TEST_PG        ? "42883"
                            : test_driver() == TEST_MARIADB ? "42000"
                                                            : "HY000");
  if (test_driver() == TEST_MARIADB) ck_assert_int_eq(o.native, 1305);
  ck_assert_ptr_null(req.outputs);
  ck_assert_uint_eq(req.nresults, 0);
  uvodbc_req_cleanup(&req);
  uvodbc_req_cleanup(&req);
  ck_assert_int_eq(test_query_int(&loop, conn, "SELECT 3"), 3);
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

Suite* call_suite(void) {
  Suite* s = suite_create("call");
  TCase* tc = tcase_create("call");
  test_driver_t d = test_driver();
  tcase_set_timeout(tc, 120);
  const char* no_proc = d == TEST_SQLITE
                            ? "SQLite has no stored procedures or functions "
                              "callable with CALL"
                            : NULL;
  if (d == TEST_MARIADB) {
    tcase_add_test(tc, call_mariadb_out_inout);
    tcase_add_test(tc, call_mariadb_multiple_results);
    tcase_add_test(tc, call_mariadb_out_too_long);
  } else {
    const char* why = no_proc ? no_proc
                              : "MariaDB procedure syntax (the PostgreSQL "
                                "equivalents are the call_pg_* tests)";
    test_skip("call_mariadb_out_inout", why);
    test_skip("call_mariadb_multiple_results", why);
    test_skip("call_mariadb_out_too_long", why);
  }
  if (d == TEST_PG) {
    tcase_add_test(tc, call_pg_function_out_inout);
    tcase_add_test(tc, call_pg_function_return);
    tcase_add_test(tc, call_pg_procedure_inout);
    tcase_add_test(tc, call_pg_out_too_long);
  } else {
    const char* why = no_proc ? no_proc
                              : "PostgreSQL function and procedure syntax "
                                "(the MariaDB equivalents are the "
                                "call_mariadb_* tests)";
    test_skip("call_pg_function_out_inout", why);
    test_skip("call_pg_function_return", why);
    test_skip("call_pg_procedure_inout", why);
    test_skip("call_pg_out_too_long", why);
  }
  tcase_add_test(tc, call_missing_procedure);
  suite_add_tcase(s, tc);
  return s;
}
