/* Synchronous helpers for test setup: each runs the loop until its one
 * callback ran, and fails the test on anything unexpected. */
#include <sql.h>
#include <sqlext.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "uvodbc-test.h"

typedef struct {
  int done;
  int status;
  char state[6];
  int64_t rows;
  uvodbc_batch_t* batch;
} sync_t;

void test_print_diags(const uvodbc_req_t* req, const char* what) {
  size_t i;
  for (i = 0; i < req->ndiag; i++)
    fprintf(stderr, "%s: [%s] %d %s: %s\n", what, req->diag[i].sqlstate,
            (int)req->diag[i].native, req->diag[i].function,
            req->diag[i].message);
}

static void on_sync(uvodbc_req_t* req, int status) {
  sync_t* s = req->data;
  s->done++;
  s->status = status;
  s->rows = req->rows_affected;
  s->state[0] = '\0';
  if (req->ndiag > 0) memcpy(s->state, req->diag[0].sqlstate, 6);
  if (status != 0) test_print_diags(req, "sync helper");
  if (req->type == UVODBC_REQ_QUERY && status == 0) {
    s->batch = (uvodbc_batch_t*)req->batch;
    req->batch = NULL; /* ownership moves to the test (test_free_result) */
    /* The request holds nothing now: uvodbc must forget it held a result,
     * or a later request at this stack address would be read for it. */
    uvodbc_req_cleanup(req);
  }
  if (req->cursor != NULL && req->type == UVODBC_REQ_EXEC)
    uvodbc_cursor_close(req->cursor, NULL);
}

static void run_until(uv_loop_t* loop, sync_t* s) {
  while (!s->done) uv_run(loop, UV_RUN_ONCE);
}

uvodbc_conn_t* test_connect(uv_loop_t* loop) {
  return test_connect_to(loop, test_connstr());
}

uvodbc_conn_t* test_connect_to(uv_loop_t* loop, const char* connstr) {
  return test_connect_with(loop, connstr, NULL);
}

uvodbc_conn_t* test_connect_with(uv_loop_t* loop, const char* connstr,
                                 const uvodbc_conn_options_t* opts) {
  uvodbc_req_t req;
  sync_t s = {0};
  req.data = &s;
  ck_assert_int_eq(uvodbc_connect(loop, &req, connstr, opts, on_sync), 0);
  run_until(loop, &s);
  ck_assert_msg(s.status == 0, "connect failed: %s",
                uvodbc_strerror(s.status));
  return req.conn;
}

int test_exec_status(uv_loop_t* loop, uvodbc_conn_t* conn, const char* sql,
                     char state[6]) {
  uvodbc_req_t req;
  sync_t s = {0};
  req.data = &s;
  ck_assert_int_eq(uvodbc_conn_exec(conn, &req, sql, NULL, 0, NULL, on_sync),
                   0);
  run_until(loop, &s);
  if (state != NULL) memcpy(state, s.state, 6);
  return s.status;
}

int64_t test_exec(uv_loop_t* loop, uvodbc_conn_t* conn, const char* sql) {
  uvodbc_req_t req;
  sync_t s = {0};
  req.data = &s;
  ck_assert_int_eq(uvodbc_conn_exec(conn, &req, sql, NULL, 0, NULL, on_sync),
                   0);
  run_until(loop, &s);
  ck_assert_msg(s.status == 0, "exec failed (%s): %s", uvodbc_err_name(s.status),
                sql);
  return s.rows;
}

int64_t test_exec_params(uv_loop_t* loop, uvodbc_conn_t* conn,
                         const char* sql, const uvodbc_param_t* params,
                         size_t nparams) {
  uvodbc_req_t req;
  sync_t s = {0};
  req.data = &s;
  ck_assert_int_eq(
      uvodbc_conn_exec(conn, &req, sql, params, nparams, NULL, on_sync), 0);
  ck_assert_int_eq(s.done, 0); /* never from inside the starting call */
  uv_run(loop, UV_RUN_DEFAULT);
  ck_assert_int_eq(s.done, 1);
  ck_assert_msg(s.status == 0, "%s: %s", sql, uvodbc_err_name(s.status));
  ck_assert_ptr_null(req.cursor);
  uvodbc_req_cleanup(&req);
  return s.rows;
}

uvodbc_batch_t* test_query(uv_loop_t* loop, uvodbc_conn_t* conn,
                           const char* sql, const uvodbc_param_t* params,
                           size_t nparams) {
  uvodbc_req_t req;
  sync_t s = {0};
  req.data = &s;
  ck_assert_int_eq(
      uvodbc_conn_query(conn, &req, sql, params, nparams, NULL, on_sync), 0);
  run_until(loop, &s);
  ck_assert_msg(s.status == 0, "query failed (%s): %s",
                uvodbc_err_name(s.status), sql);
  ck_assert_ptr_nonnull(s.batch);
  return s.batch;
}

void test_free_result(uvodbc_batch_t* batch) {
  uvodbc_req_t req;
  memset(&req, 0, sizeof(req));
  req.type = UVODBC_REQ_QUERY;
  req.batch = batch;
  uvodbc_req_cleanup(&req);
}

int64_t test_query_int(uv_loop_t* loop, uvodbc_conn_t* conn,
                       const char* sql) {
  uvodbc_batch_t* b = test_query(loop, conn, sql, NULL, 0);
  int64_t v = 0;
  ck_assert_uint_eq(uvodbc_batch_nrows(b), 1);
  if (uvodbc_batch_get_int64(b, 0, 0, &v) != 0) {
    /* Some drivers type COUNT(*) and friends as DECIMAL or text. */
    const char* text;
    size_t len;
    ck_assert_int_eq(uvodbc_batch_get_text(b, 0, 0, &text, &len), 0);
    v = strtoll(text, NULL, 10);
  }
  test_free_result(b);
  return v;
}

double test_slack(void) {
  const char* m = getenv("CK_TIMEOUT_MULTIPLIER");
  double f = m != NULL ? atof(m) : 1.0;
  return f > 1.0 ? f : 1.0;
}

uint64_t test_slack_ms(uint64_t ms) {
  return (uint64_t)((double)ms * test_slack());
}

uint64_t test_ms_since(uint64_t t0) {
  return (uv_hrtime() - t0) / 1000000;
}

static void on_tick(uv_timer_t* t) {
  (void)t;
}

void test_ticker_start(uv_loop_t* loop, uv_timer_t* ticker) {
  ck_assert_int_eq(uv_timer_init(loop, ticker), 0);
  ck_assert_int_eq(uv_timer_start(ticker, on_tick, 50, 50), 0);
}

const char* test_pick(const char* sqlite, const char* pg,
                      const char* mariadb) {
  switch (test_driver()) {
    case TEST_PG:
      return pg;
    case TEST_MARIADB:
      return mariadb;
    default:
      return sqlite;
  }
}

/* A digits cross join: MariaDB caps recursion at 1000. */
void test_fill_numbers(uv_loop_t* loop, uvodbc_conn_t* conn,
                       const char* table, int count) {
  char sql[1024];
  snprintf(sql, sizeof(sql),
           "INSERT INTO %s (id, v, s) "
           "WITH RECURSIVE d(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM d "
           "WHERE x < 9) "
           "SELECT n, (n * 7919) %% 10007, %s FROM (SELECT a.x + 10 * b.x + "
           "100 * c.x + 1000 * e.x + 1 AS n FROM d a, d b, d c, d e) q "
           "WHERE n <= %d",
           table, test_pick("'r' || n", "'r' || n", "CONCAT('r', n)"), count);
  ck_assert_int_eq(test_exec(loop, conn, sql), count);
}

int64_t test_number_v(int64_t id) {
  return id * 7919 % 10007;
}

int64_t test_check_numbers(const uvodbc_batch_t* b, int64_t* next_id) {
  size_t r, n = uvodbc_batch_nrows(b);
  int64_t sum_v = 0;
  for (r = 0; r < n; r++) {
    char want[24];
    int64_t id = test_get_i64(b, 0, r);
    ck_assert_int_eq(id, *next_id);
    ck_assert_int_eq(test_get_i64(b, 1, r), test_number_v(id));
    snprintf(want, sizeof(want), "r%lld", (long long)id);
    ck_assert_str_eq(test_get_text(b, 2, r, NULL), want);
    sum_v += test_number_v(id);
    (*next_id)++;
  }
  return sum_v;
}

int64_t test_get_i64(const uvodbc_batch_t* b, size_t col, size_t row) {
  int64_t v = 0;
  int err = uvodbc_batch_get_int64(b, col, row, &v);
  ck_assert_msg(err == 0, "get_int64(%zu, %zu): %s", col, row,
                uvodbc_err_name(err));
  return v;
}

const char* test_get_text(const uvodbc_batch_t* b, size_t col, size_t row,
                          size_t* len) {
  const char* s = NULL;
  size_t n = 0;
  int err = uvodbc_batch_get_text(b, col, row, &s, &n);
  ck_assert_msg(err == 0, "get_text(%zu, %zu): %s", col, row,
                uvodbc_err_name(err));
  ck_assert_msg(s[n] == '\0', "text cell (%zu, %zu) not NUL-terminated", col,
                row);
  if (len != NULL) *len = n;
  return s;
}

void test_make_table(uv_loop_t* loop, uvodbc_conn_t* conn, const char* table,
                     const char* columns) {
  char sql[1024];
  snprintf(sql, sizeof(sql), "DROP TABLE IF EXISTS %s", table);
  test_exec(loop, conn, sql);
  ck_assert_int_lt(snprintf(sql, sizeof(sql), "CREATE TABLE %s (%s)", table,
                            columns),
                   (int)sizeof(sql));
  test_exec(loop, conn, sql);
}

void test_drop_table(uv_loop_t* loop, uvodbc_conn_t* conn, const char* table) {
  char sql[256];
  snprintf(sql, sizeof(sql), "DROP TABLE %s", table);
  test_exec(loop, conn, sql);
}

static void on_close(uvodbc_conn_t* conn) {
  int* done = uvodbc_conn_get_data(conn);
  (*done)++;
}

void test_close(uv_loop_t* loop, uvodbc_conn_t* conn) {
  int done = 0;
  uvodbc_conn_set_data(conn, &done);
  ck_assert_int_eq(uvodbc_conn_close(conn, on_close), 0);
  while (!done) uv_run(loop, UV_RUN_ONCE);
  ck_assert_int_eq(done, 1);
}

void test_loop_close(uv_loop_t* loop) {
  uv_run(loop, UV_RUN_DEFAULT); /* finish pending close callbacks */
  ck_assert_int_eq(uv_loop_close(loop), 0);
  /* Joins the cancel threads when nothing is open any more (EBUSY
   * otherwise, ignored): one still inside psqlODBC (its kill connection's
   * disconnect) when the test's process exits races with the driver's
   * exit-time destructors (TSan: a destroyed mutex in use). */
  (void)uvodbc_shutdown();
}

char* test_sqlite_file_connstr(const char* file, int timeout_ms) {
  const char* db = strstr(test_connstr(), "Database=");
  char dir[512] = "/tmp";
  char* out = malloc(1024);
  ck_assert_ptr_nonnull(out);
  if (db != NULL) {
    const char* v = db + 9;
    size_t len = strcspn(v, ";");
    while (len > 0 && v[len - 1] != '/') len--;
    if (len > 1) snprintf(dir, sizeof(dir), "%.*s", (int)(len - 1), v);
  }
  snprintf(out, 1024, "DRIVER={SQLite3};Database=%s/%s;Timeout=%d", dir, file,
           timeout_ms);
  return out;
}

/* How fast SQLite counts in test_sleep_sql's CTE, in rows per second.  It
 * depends on the build: valgrind counts about 30 times slower than a
 * release build, so a fixed rate made a 3 s "sleep" last 100 s there. */
#define SQLITE_DEFAULT_ROWS_PER_S 1500000.0
static double sqlite_rows_per_s = SQLITE_DEFAULT_ROWS_PER_S;

static double count_seconds(SQLHSTMT h, long rows) {
  char sql[160];
  uint64_t t0 = uv_hrtime();
  snprintf(sql, sizeof(sql),
           "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
           "WHERE x < %ld) SELECT max(x) FROM c",
           rows);
  if (!SQL_SUCCEEDED(SQLExecDirect(h, (SQLCHAR*)sql, SQL_NTS)) ||
      !SQL_SUCCEEDED(SQLFetch(h))) /* the count is done by its one row */
    return -1;
  SQLFreeStmt(h, SQL_CLOSE);
  return (double)(uv_hrtime() - t0) / 1e9;
}

/* The rate, measured with blocking ODBC; -1 if it could not be. */
static double measure_sqlite_rate(const char* connstr) {
  SQLHENV env = SQL_NULL_HENV;
  SQLHDBC dbc = SQL_NULL_HDBC;
  SQLHSTMT h = SQL_NULL_HSTMT;
  const long rows = 200000;
  double best = -1, t;
  int i;
  SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &env);
  SQLSetEnvAttr(env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER)SQL_OV_ODBC3, 0);
  SQLAllocHandle(SQL_HANDLE_DBC, env, &dbc);
  if (!SQL_SUCCEEDED(SQLDriverConnect(dbc, NULL, (SQLCHAR*)connstr, SQL_NTS,
                                      NULL, 0, NULL, SQL_DRIVER_NOPROMPT)) ||
      !SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, dbc, &h)))
    return -1;
  for (i = 0; i < 2; i++) /* the faster of two: the first warms up */
    if ((t = count_seconds(h, rows)) > 0 && (best < 0 || t < best)) best = t;
  return best > 0 ? (double)rows / best : -1;
}

/* In a child process that exits without closing anything: the runner
 * never loads the driver itself, and nothing is unloaded (glibc leaks a
 * block at a dlclose, which valgrind counts in every test). */
void test_calibrate_sqlite_sleep(const char* connstr) {
  double rate = -1;
  int fds[2];
  pid_t pid;
  fflush(NULL);
  if (pipe(fds) != 0) return;
  pid = fork();
  if (pid == 0) {
    rate = measure_sqlite_rate(connstr);
    if (write(fds[1], &rate, sizeof(rate)) != sizeof(rate)) _exit(1);
    _exit(0);
  }
  close(fds[1]);
  if (pid > 0 && read(fds[0], &rate, sizeof(rate)) != sizeof(rate)) rate = -1;
  close(fds[0]);
  if (pid > 0) waitpid(pid, NULL, 0);
  /* Between a slow valgrind run and a fast machine, or not believed. */
  if (rate >= 1e4 && rate <= 1e9) sqlite_rows_per_s = rate;
  else rate = -1;
  printf("sqlite: test_sleep_sql counts %.0f rows per second%s\n",
         sqlite_rows_per_s, rate > 0 ? "" : " (not measured: the default)");
}

static const char* sleep_sql(double seconds, double sqlite_rate) {
  static char sql[256];
  switch (test_driver()) {
    case TEST_PG:
      snprintf(sql, sizeof(sql), "SELECT pg_sleep(%.3f)", seconds);
      break;
    case TEST_MARIADB:
      snprintf(sql, sizeof(sql), "SELECT SLEEP(%.3f)", seconds);
      break;
    default:
      /* A CPU-bound statement SQLite can interrupt. */
      snprintf(sql, sizeof(sql),
               "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM "
               "c WHERE x < %.0f) SELECT max(x) FROM c",
               seconds * sqlite_rate);
      break;
  }
  return sql;
}

const char* test_sleep_sql(double seconds) {
  return sleep_sql(seconds, sqlite_rows_per_s);
}

const char* test_sleep_sql_elsewhere(double seconds) {
  return sleep_sql(seconds, SQLITE_DEFAULT_ROWS_PER_S);
}

int test_under_valgrind(void) {
  /* valgrind preloads its core into the programs it runs. */
  const char* preload = getenv("LD_PRELOAD");
  return preload != NULL && strstr(preload, "vgpreload") != NULL;
}

int test_servers_sh(const char* verb) {
  const char* sh = getenv("UVODBC_TEST_SERVERS_SH");
  const char* dir = getenv("UVODBC_TEST_SERVER_DIR");
  char cmd[1024];
  if (sh == NULL || dir == NULL) return -1;
  snprintf(cmd, sizeof(cmd), "'%s' %s '%s' %s >&2", sh, verb, dir,
           test_driver() == TEST_PG ? "pg" : "mariadb");
  return system(cmd);
}

int test_server_up(void) {
  const char* sh = getenv("UVODBC_TEST_SERVERS_SH");
  const char* dir = getenv("UVODBC_TEST_SERVER_DIR");
  char cmd[1024];
  int err = test_servers_sh("thaw");
  if (err != 0) return err;
  snprintf(cmd, sizeof(cmd), "'%s' start-%s '%s' >&2", sh, test_driver_name(),
           dir);
  return system(cmd);
}
