/* connect: opening and closing connections (docs/connecting.md).
 *
 * Opens a connection with options, reads the driver's facts, pings the
 * server, closes it and checks the close status.  Then a connect that
 * fails (an unknown DSN, with a password in the string): the caller still
 * owns and closes that handle, and the password is not in the message.
 *
 *   connect ["DRIVER={SQLite3};Database=:memory:"]
 */
#include <stdio.h>
#include <string.h>
#include <uvodbc.h>

static int failed;

static void expect(int ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "connect: not as expected: %s\n", what);
    failed = 1;
  }
}

/* Prints why a request failed (in its callback, while req->diag lives). */
static void report(uvodbc_req_t* req, const char* what) {
  char why[2048];
  uvodbc_req_describe(req, why, sizeof(why));
  fprintf(stderr, "%s: %s\n", what, why);
  failed = 1;
}

static void on_close(uvodbc_conn_t* conn) {
  /* Only meaningful here, in the close callback. */
  int st = uvodbc_conn_close_status(conn);
  expect(st == 0, "the driver's handles were freed");
  printf("closed (close status %s)\n", uvodbc_err_name(st));
}

static void on_bad_connect(uvodbc_req_t* req, int status) {
  char why[2048];
  expect(status == UVODBC_ESQL, "an unknown DSN fails with UVODBC_ESQL");
  expect(req->ndiag > 0, "a failed connect has diagnostics");
  uvodbc_req_describe(req, why, sizeof(why));
  expect(strstr(why, "hunter2") == NULL, "no password in the diagnostics");
  expect(!uvodbc_conn_is_open(req->conn), "a failed connect is not open");
  printf("failed connect, as expected: %s\n", why);
  /* The handle is the caller's even after a failed connect. */
  uvodbc_conn_close(req->conn, NULL);
}

static void on_ping(uvodbc_req_t* req, int status) {
  if (status != 0) report(req, "ping");
  else printf("ping: alive\n");
  expect(!uvodbc_conn_is_broken(req->conn), "not broken");
  uvodbc_conn_close(req->conn, on_close);
}

static void on_info(uvodbc_req_t* req, int status) {
  if (status != 0) {
    report(req, "get_info");
    uvodbc_conn_close(req->conn, on_close);
    return;
  }
  printf("connected to %s %s through %s %s\n", req->info->dbms_name,
         req->info->dbms_version, req->info->driver_name,
         req->info->driver_version);
  expect(req->info->dbms_name[0] != '\0', "the driver names its DBMS");
  uvodbc_req_cleanup(req); /* frees req->info */
  if (uvodbc_conn_ping(req->conn, req, on_ping) != 0) {
    expect(0, "ping starts");
    uvodbc_conn_close(req->conn, on_close);
  }
}

static void on_connect(uvodbc_req_t* req, int status) {
  if (status != 0) {
    report(req, "connect");
    uvodbc_conn_close(req->conn, NULL); /* also after a failed connect */
    return;
  }
  expect(uvodbc_conn_is_open(req->conn), "open after connect");
  if (uvodbc_conn_get_info(req->conn, req, on_info) != 0) {
    expect(0, "get_info starts");
    uvodbc_conn_close(req->conn, on_close);
  }
}

int main(int argc, char** argv) {
  const char* connstr =
      argc > 1 ? argv[1] : "DRIVER={SQLite3};Database=:memory:";
  uvodbc_conn_options_t opts;
  uvodbc_req_t req, bad;
  uv_loop_t loop;
  int err;

  uv_loop_init(&loop);
  uvodbc_conn_options_init(&opts);  /* zeroes: every default */
  opts.login_timeout_s = 5;         /* give up on an unreachable server */
  opts.query_timeout_ms = 30000;    /* default timeout of each statement */
  err = uvodbc_connect(&loop, &req, connstr, &opts, on_connect);
  if (err != 0) {
    /* Nothing was started: no callback, no handle. */
    fprintf(stderr, "connect: %s\n", uvodbc_strerror(err));
    return 1;
  }
  /* req.conn is usable at once: operations queue behind the connect. */
  err = uvodbc_connect(&loop, &bad, "DSN=uvodbc_no_such_dsn;UID=u;PWD=hunter2",
                       NULL, on_bad_connect);
  expect(err == 0, "the failing connect starts");
  uv_run(&loop, UV_RUN_DEFAULT);
  expect(uv_loop_close(&loop) == 0, "every handle closed");
  expect(uvodbc_shutdown() == 0, "uvodbc_shutdown() == 0");
  return failed;
}
