/* cancel: stopping statements, by hand and by timeout (docs/cancel.md).
 *
 * A query that would run for minutes (a billion-row cross join) is
 * cancelled by a timer with uvodbc_req_cancel(), and a statement queued
 * behind it is cancelled before it starts.  Then the same query runs with
 * a 200 ms timeout.  After each, the connection must still work.
 *
 *   cancel ["DRIVER={SQLite3};Database=:memory:"]
 */
#include <stdio.h>
#include <uvodbc.h>

#define LONG_SQL                                                            \
  "WITH d(n) AS (SELECT 0 UNION ALL SELECT 1 UNION ALL SELECT 2 "           \
  "UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL "     \
  "SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) "     \
  "SELECT COUNT(*) FROM d a, d b, d c, d e, d f, d g, d h, d i, d j"

static int failed;
static uv_timer_t timer;
static uvodbc_req_t long_req, queued_req;
static uint64_t t0;
static int pending = 2; /* the long query and the one queued behind it */

static void expect(int ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "cancel: not as expected: %s\n", what);
    failed = 1;
  }
}

static double ms(void) { return (double)(uv_hrtime() - t0) / 1e6; }

static void done(uvodbc_req_t* req) {
  uvodbc_req_cleanup(req);
  uv_close((uv_handle_t*)&timer, NULL);
  uvodbc_conn_close(req->conn, NULL);
}

static void on_after_timeout(uvodbc_req_t* req, int status) {
  expect(status == 0, "the connection works after a timeout");
  expect(uvodbc_req_cancel(req) == UV_EINVAL,
         "cancelling a finished request: UV_EINVAL");
  printf("after the timeout: SELECT 1 %s\n", uvodbc_err_name(status));
  done(req);
}

static void on_timed_out(uvodbc_req_t* req, int status) {
  printf("with timeout_ms 200: %s after %.0f ms\n", uvodbc_err_name(status),
         ms());
  expect(status == UV_ETIMEDOUT, "the timeout ends it with UV_ETIMEDOUT");
  /* The cancel worked in time: the connection is not broken. */
  expect(!uvodbc_conn_is_broken(req->conn), "not broken");
  if (uvodbc_conn_query(req->conn, req, "SELECT 1", NULL, 0, NULL,
                        on_after_timeout) != 0) {
    expect(0, "query starts");
    done(req);
  }
}

static void start_timed(uvodbc_req_t* req) {
  uvodbc_exec_options_t opts;
  uvodbc_exec_options_init(&opts);
  opts.timeout_ms = 200; /* else the connection's query_timeout_ms */
  t0 = uv_hrtime();
  if (uvodbc_conn_query(req->conn, req, LONG_SQL, NULL, 0, &opts,
                        on_timed_out) != 0) {
    expect(0, "query starts");
    done(req);
  }
}

static void on_after_cancel(uvodbc_req_t* req, int status) {
  expect(status == 0, "the connection works after a cancel");
  printf("after the cancel: SELECT 1 %s\n", uvodbc_err_name(status));
  uvodbc_req_cleanup(req);
  start_timed(req);
}

/* Both cancelled requests end here; the second to end goes on. */
static void on_cancelled(uvodbc_req_t* req, int status) {
  const char* which = req == &long_req ? "running query" : "queued query";
  printf("%s: %s after %.0f ms\n", which, uvodbc_err_name(status), ms());
  expect(status == UV_ECANCELED, "a cancelled request: UV_ECANCELED");
  uvodbc_req_cleanup(req);
  if (--pending > 0) return;
  if (uvodbc_conn_query(req->conn, req, "SELECT 1", NULL, 0, NULL,
                        on_after_cancel) != 0) {
    expect(0, "query starts");
    done(req);
  }
}

static void on_timer(uv_timer_t* t) {
  (void)t;
  /* Running: the driver is asked to stop (docs/cancel.md, per driver). */
  expect(uvodbc_req_cancel(&long_req) == 0, "cancel of the running query");
}

static void on_connect(uvodbc_req_t* req, int status) {
  if (status != 0) {
    char why[2048];
    uvodbc_req_describe(req, why, sizeof(why));
    fprintf(stderr, "connect: %s\n", why);
    failed = 1;
    uv_close((uv_handle_t*)&timer, NULL);
    uvodbc_conn_close(req->conn, NULL);
    return;
  }
  t0 = uv_hrtime();
  if (uvodbc_conn_query(req->conn, &long_req, LONG_SQL, NULL, 0, NULL,
                        on_cancelled) != 0 ||
      uvodbc_conn_query(req->conn, &queued_req, "SELECT 1", NULL, 0, NULL,
                        on_cancelled) != 0) {
    expect(0, "queries start");
    done(req);
    return;
  }
  /* Queued behind the long one: it never starts. */
  expect(uvodbc_req_cancel(&queued_req) == 0, "cancel of the queued query");
  uv_timer_start(&timer, on_timer, 200, 0);
}

int main(int argc, char** argv) {
  const char* connstr =
      argc > 1 ? argv[1] : "DRIVER={SQLite3};Database=:memory:";
  uvodbc_req_t req;
  uv_loop_t loop;
  uv_loop_init(&loop);
  uv_timer_init(&loop, &timer);
  if (uvodbc_connect(&loop, &req, connstr, NULL, on_connect) != 0) return 1;
  /* A connect cannot be interrupted: it stays pending. */
  expect(uvodbc_req_cancel(&req) == UV_EBUSY, "cancel of a connect: EBUSY");
  uv_run(&loop, UV_RUN_DEFAULT);
  expect(uv_loop_close(&loop) == 0, "every handle closed");
  expect(uvodbc_shutdown() == 0, "uvodbc_shutdown() == 0");
  return failed;
}
