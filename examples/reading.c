/* reading: the three ways to read a result (docs/reading.md).
 *
 * The same 5000 rows (made by a query, no table) are read three times:
 * pulled batch by batch with uvodbc_cursor_fetch(), pushed with
 * uvodbc_cursor_read_start() (stopped once for backpressure, then
 * resumed), and whole with uvodbc_conn_query(), which also meets its
 * max_rows limit.  Each way must see every row once, in order.
 *
 *   reading ["DRIVER={SQLite3};Database=:memory:"]
 */
#include <stdio.h>
#include <uvodbc.h>

#define NROWS 5000
/* 1 to 5000 from a table of ten digits: portable SQL (MariaDB stops a
 * recursive CTE after max_recursive_iterations, 1000 by default). */
#define DIGITS                                                              \
  "WITH d(n) AS (SELECT 0 UNION ALL SELECT 1 UNION ALL SELECT 2 "           \
  "UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL "     \
  "SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) "
#define SQL                                                                 \
  DIGITS "SELECT a.n * 1000 + b.n * 100 + c.n * 10 + e.n + 1 AS x "        \
  "FROM d a, d b, d c, d e WHERE a.n < 5 ORDER BY x"

static int failed;
static int64_t seen;  /* rows seen by the current way of reading */
static uv_timer_t resume_timer;
static uvodbc_req_t read_req;
static uvodbc_cursor_t* reading; /* the cursor being pushed */
static uvodbc_conn_t* connection;

static void on_rows(uvodbc_req_t* req, int status);

static void expect(int ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "reading: not as expected: %s\n", what);
    failed = 1;
  }
}

static int fail(uvodbc_req_t* req, const char* what) {
  char why[2048];
  uvodbc_req_describe(req, why, sizeof(why));
  fprintf(stderr, "%s: %s\n", what, why);
  failed = 1;
  return -1;
}

/* Checks that a batch continues the sequence 1, 2, 3, ... */
static void count(const uvodbc_batch_t* b) {
  for (size_t r = 0; r < uvodbc_batch_nrows(b); r++) {
    int64_t x = 0;
    uvodbc_batch_get_int64(b, 0, r, &x);
    if (x != ++seen) {
      expect(0, "rows in order, none lost");
      seen = x;
    }
  }
}

static void on_query(uvodbc_req_t* req, int status) {
  if (status != 0) {
    fail(req, "query");
  } else {
    count(req->batch);
    printf("query: %zu rows in one batch\n", uvodbc_batch_nrows(req->batch));
    expect(seen == NROWS, "the query saw every row");
  }
  uvodbc_req_cleanup(req); /* frees the result */
  uvodbc_conn_close(req->conn, NULL);
}

static void on_limited(uvodbc_req_t* req, int status) {
  uvodbc_exec_options_t opts;
  printf("query with max_rows 100: %s\n", uvodbc_err_name(status));
  expect(status == UVODBC_ELIMIT && req->batch == NULL,
         "past max_rows: UVODBC_ELIMIT and no rows");
  uvodbc_exec_options_init(&opts);
  seen = 0;
  if (uvodbc_conn_query(req->conn, req, SQL, NULL, 0, &opts, on_query) != 0) {
    expect(0, "query starts");
    uvodbc_conn_close(req->conn, NULL);
  }
}

static void start_limited_query(uvodbc_conn_t* conn) {
  uvodbc_exec_options_t opts;
  uvodbc_exec_options_init(&opts);
  opts.max_rows = 100;
  if (uvodbc_conn_query(conn, &read_req, SQL, NULL, 0, &opts, on_limited)) {
    expect(0, "query starts");
    uvodbc_conn_close(conn, NULL);
  }
}

static void on_resume(uv_timer_t* t) {
  printf("push: resumed after %lld rows\n", (long long)seen);
  uv_close((uv_handle_t*)t, NULL);
  /* Same req and callback as before: the read goes on where it stopped. */
  expect(uvodbc_cursor_read_start(reading, &read_req, 0, on_rows) == 0,
         "read_start again");
}

static void on_rows(uvodbc_req_t* req, int status) {
  static int stopped;
  if (status == 0) {
    count(req->batch);  /* the batch is valid until the next callback */
    if (!stopped) {
      /* Backpressure: no more callbacks until read_start is called again. */
      stopped = 1;
      uvodbc_cursor_read_stop(reading);
      uv_timer_start(&resume_timer, on_resume, 10, 0);
    }
    return;
  }
  /* UV_EOF, or an error: the read is over, req is ours again. */
  if (status != UV_EOF) fail(req, "read");
  printf("push: %lld rows, then %s\n", (long long)seen,
         uvodbc_err_name(status));
  expect(status == UV_EOF && seen == NROWS, "the read saw every row");
  uvodbc_cursor_close(reading, NULL);
  start_limited_query(connection);
}

static void on_exec_for_read(uvodbc_req_t* req, int status) {
  if (status != 0) {
    fail(req, "exec");
    uvodbc_conn_close(req->conn, NULL);
    return;
  }
  seen = 0;
  count(req->batch);  /* exec brings the first batch */
  reading = req->cursor;
  if (uvodbc_cursor_read_start(reading, req, 0, on_rows) != 0) {
    expect(0, "read_start");
    uvodbc_cursor_close(req->cursor, NULL);
    uvodbc_conn_close(req->conn, NULL);
  }
}

static void on_fetch(uvodbc_req_t* req, int status) {
  static int batches;
  if (status == 0) {
    batches++;
    count(req->batch);
    /* The batch is invalid from the next fetch on. */
    if (uvodbc_cursor_fetch(req->cursor, req, 0, on_fetch) == 0) return;
    expect(0, "fetch starts");
  } else if (status != UV_EOF) {
    fail(req, "fetch");
  }
  printf("pull: %lld rows in %d batches, then %s\n", (long long)seen,
         batches, uvodbc_err_name(status));
  expect(status == UV_EOF && seen == NROWS, "the fetches saw every row");
  uvodbc_cursor_close(req->cursor, NULL);
  /* Now the same rows pushed. */
  if (uvodbc_conn_exec(req->conn, req, SQL, NULL, 0, NULL,
                       on_exec_for_read) != 0) {
    expect(0, "exec starts");
    uvodbc_conn_close(req->conn, NULL);
  }
}

static void on_connect(uvodbc_req_t* req, int status) {
  uvodbc_exec_options_t opts;
  if (status != 0) {
    fail(req, "connect");
    uvodbc_conn_close(req->conn, NULL);
    return;
  }
  connection = req->conn;
  uvodbc_exec_options_init(&opts);
  opts.batch_rows = 1000; /* rows per thread hop */
  /* exec with a 1000-row batch: the callback is on_fetch's first batch. */
  if (uvodbc_conn_exec(req->conn, req, SQL, NULL, 0, &opts, on_fetch) != 0) {
    expect(0, "exec starts");
    uvodbc_conn_close(req->conn, NULL);
  }
}

int main(int argc, char** argv) {
  const char* connstr =
      argc > 1 ? argv[1] : "DRIVER={SQLite3};Database=:memory:";
  uv_loop_t loop;
  uv_loop_init(&loop);
  uv_timer_init(&loop, &resume_timer);
  if (uvodbc_connect(&loop, &read_req, connstr, NULL, on_connect) != 0)
    return 1;
  uv_run(&loop, UV_RUN_DEFAULT);
  if (!uv_is_closing((uv_handle_t*)&resume_timer)) {
    uv_close((uv_handle_t*)&resume_timer, NULL); /* never started */
    uv_run(&loop, UV_RUN_DEFAULT);
  }
  expect(uv_loop_close(&loop) == 0, "every handle closed");
  expect(uvodbc_shutdown() == 0, "uvodbc_shutdown() == 0");
  return failed;
}
