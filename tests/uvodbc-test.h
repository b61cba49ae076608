/* Shared helpers of the uvodbc test suites.
 *
 * Every suite runs against one real driver, chosen by the runner's argument;
 * connection strings come from the environment (UVODBC_TEST_SQLITE,
 * UVODBC_TEST_PG, UVODBC_TEST_MARIADB), set by tests/servers.sh or by hand.
 * Tests are forked (Check's default), so a crash or hang fails one test. */
#ifndef UVODBC_TEST_H
#define UVODBC_TEST_H

#include <check.h>
#include <stdio.h>
#include <string.h>

#include <uvodbc.h>

typedef enum {
  TEST_SQLITE = 0,
  TEST_PG,
  TEST_MARIADB
} test_driver_t;

/* The driver of this run and its connection string. */
test_driver_t test_driver(void);
const char* test_driver_name(void);
const char* test_connstr(void);
/* The name of a DSN for the same database (tests/servers.sh writes one per
 * driver), from the variable test_dsn_env() names; NULL if it is not set. */
const char* test_dsn(void);
const char* test_dsn_env(void);

/* Records a test that does not apply to this driver: printed and counted in
 * the runner's summary, never silent.  Call it while building a suite. */
void test_skip(const char* test, const char* reason);

/* ---- synchronous helpers for setup and checks (they run the loop) ---- */

/* Connects and returns the open connection; fails the test otherwise. */
uvodbc_conn_t* test_connect(uv_loop_t* loop);
uvodbc_conn_t* test_connect_to(uv_loop_t* loop, const char* connstr);
uvodbc_conn_t* test_connect_with(uv_loop_t* loop, const char* connstr,
                                 const uvodbc_conn_options_t* opts);
/* Runs a statement that must succeed; returns rows affected. */
int64_t test_exec(uv_loop_t* loop, uvodbc_conn_t* conn, const char* sql);
/* Runs `sql` with parameters, which must succeed without a result set, the
 * loop to its end, exactly one callback; returns the rows affected. */
int64_t test_exec_params(uv_loop_t* loop, uvodbc_conn_t* conn,
                         const char* sql, const uvodbc_param_t* params,
                         size_t nparams);
/* Runs a statement, returns its status; diagnostics copied to `state` (the
 * first SQLSTATE, may be NULL). */
int test_exec_status(uv_loop_t* loop, uvodbc_conn_t* conn, const char* sql,
                     char state[6]);
/* Runs a query and returns the whole result (free with test_free_result).
 * Fails the test if it does not succeed. */
uvodbc_batch_t* test_query(uv_loop_t* loop, uvodbc_conn_t* conn,
                           const char* sql, const uvodbc_param_t* params,
                           size_t nparams);
void test_free_result(uvodbc_batch_t* batch);
/* One integer of a one-row result. */
int64_t test_query_int(uv_loop_t* loop, uvodbc_conn_t* conn, const char* sql);
/* The argument for this run's driver. */
const char* test_pick(const char* sqlite, const char* pg, const char* mariadb);
/* Fills (id, v, s) of `table` with id 1..count, v = id * 7919 % 10007,
 * s = 'r<id>', in one statement. */
void test_fill_numbers(uv_loop_t* loop, uvodbc_conn_t* conn,
                       const char* table, int count);
int64_t test_number_v(int64_t id);
/* Checks that the rows of `b` (id, v, s) are those rows from *next_id on,
 * in order; advances *next_id; returns the sum of v. */
int64_t test_check_numbers(const uvodbc_batch_t* b, int64_t* next_id);
/* A cell that must hold a value (the test fails otherwise); text is also
 * checked to be NUL-terminated at its length (`len` may be NULL). */
int64_t test_get_i64(const uvodbc_batch_t* b, size_t col, size_t row);
const char* test_get_text(const uvodbc_batch_t* b, size_t col, size_t row,
                          size_t* len);
/* DROP TABLE IF EXISTS, then CREATE TABLE table (columns). */
void test_make_table(uv_loop_t* loop, uvodbc_conn_t* conn, const char* table,
                     const char* columns);
void test_drop_table(uv_loop_t* loop, uvodbc_conn_t* conn, const char* table);
/* Checks row `row` of `b`, the `index`-th row of the result. */
typedef void (*test_row_check_fn)(const uvodbc_batch_t* b, size_t row,
                                  size_t index, void* arg);
/* Runs `sql` as a QUERY and as an EXEC read to its end by a cursor (two
 * rows a batch); calls `check` on every row of both; each must have
 * `nrows` rows (tests/select-both.c). */
void test_select_both(uv_loop_t* loop, uvodbc_conn_t* conn, const char* sql,
                      const uvodbc_param_t* params, size_t nparams,
                      size_t nrows, test_row_check_fn check, void* arg);
/* Closes and runs the loop until the close callback ran. */
void test_close(uv_loop_t* loop, uvodbc_conn_t* conn);
/* Asserts uv_loop_close(loop) == 0 (every handle closed). */
void test_loop_close(uv_loop_t* loop);

/* A fresh table name for this test and driver: "t_<name>". */
#define TEST_TABLE(name) "t_" name

/* How much slower than normal this run may be: CK_TIMEOUT_MULTIPLIER
 * (valgrind runs set 10), at least 1.  Time bounds in tests scale by it. */
double test_slack(void);
/* `ms` stretched by test_slack(); milliseconds since `t0` (uv_hrtime). */
uint64_t test_slack_ms(uint64_t ms);
uint64_t test_ms_since(uint64_t t0);
/* Starts a 50 ms repeating timer on `loop` (close it before the loop), so
 * uv_run(UV_RUN_ONCE) returns often and TEST_RUN_UNTIL can give up at its
 * bound even when no callback comes. */
void test_ticker_start(uv_loop_t* loop, uv_timer_t* ticker);
/* Runs the loop until `expr` holds; fails after `ms` * test_slack(). */
#define TEST_RUN_UNTIL(loop, expr, ms)                                    \
  do {                                                                    \
    uint64_t t0_ = uv_hrtime();                                           \
    while (!(expr)) {                                                     \
      ck_assert_msg(test_ms_since(t0_) < test_slack_ms(ms),               \
                    "still no (%s) after %u ms", #expr, (unsigned)(ms));  \
      uv_run((loop), UV_RUN_ONCE);                                        \
    }                                                                     \
  } while (0)

/* A SQLite connection string for a private database file `file` next to
 * the run's shared one, with a busy timeout; malloc'd, free() it. */
char* test_sqlite_file_connstr(const char* file, int timeout_ms);

/* A statement that sleeps `s` seconds on this driver (SQLite: a recursive
 * CTE busy loop of about that long, at the rate measured by
 * test_calibrate_sqlite_sleep). */
const char* test_sleep_sql(double seconds);
/* The same for another process (exec'd: valgrind does not follow it), at
 * a fixed SQLite rate: of about that length natively or under ASan. */
const char* test_sleep_sql_elsewhere(double seconds);
/* Measures how fast SQLite counts in this build (blocking ODBC on
 * `connstr`); the runner calls it once, before the first test forks. */
void test_calibrate_sqlite_sleep(const char* connstr);

/* 1 when the tests run under valgrind. */
int test_under_valgrind(void);

/* tests/servers.sh `verb` (freeze, thaw, kill, restart) on this run's
 * server (PostgreSQL or MariaDB), with UVODBC_TEST_SERVERS_SH and
 * UVODBC_TEST_SERVER_DIR from env.sh; the shell's status, -1 without
 * them. */
int test_servers_sh(const char* verb);
/* Up and not frozen, whatever an earlier (failed) test left behind: thaw,
 * then start-pg / start-mariadb.  0 or the failing step's status. */
int test_server_up(void);

/* Prints every diagnostic of a request (for failure messages). */
void test_print_diags(const uvodbc_req_t* req, const char* what);

/* Suites, one per concept (tests/test-<concept>.c). */
Suite* lifecycle_suite(void);
Suite* conn_suite(void);
Suite* contract_suite(void);
Suite* exec_suite(void);
Suite* cursor_suite(void);
Suite* types_suite(void);
Suite* utf8_suite(void);
Suite* errors_suite(void);
Suite* pool_suite(void);
Suite* pool_stats_suite(void);
Suite* prepared_suite(void);
Suite* txn_suite(void);
Suite* bulk_suite(void);
Suite* call_suite(void);
Suite* catalog_suite(void);
Suite* loops_suite(void);
Suite* read_suite(void);
Suite* chain_suite(void);
Suite* ownership_suite(void);
Suite* faults_suite(void);
Suite* deadline_suite(void);
Suite* driver_values_suite(void);
Suite* stream_driver_suite(void);
Suite* redact_suite(void);
Suite* convoy_suite(void);
Suite* cancel_suite(void);
Suite* trace_suite(void);
Suite* req_misuse_suite(void);
Suite* walk_suite(void);

#endif /* UVODBC_TEST_H */
