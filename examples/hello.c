/* hello: the main example.  Opens a database (an embedded SQLite file by
 * default), creates a table, inserts rows with typed parameters, then reads
 * them back through a cursor, batch by batch, without ever blocking the loop.
 *
 *   hello ["DRIVER={SQLite3};Database=/tmp/hello.db"]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uvodbc.h>

typedef struct {
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  int step;
  int failed;
} app_t;

static void next_step(app_t* app);

/* From a callback: the status and every diagnostic record. */
static void report(uvodbc_req_t* req, const char* what) {
  char text[4096];
  uvodbc_req_describe(req, text, sizeof(text));
  fprintf(stderr, "%s: %s\n", what, text);
}

static void on_closed(uvodbc_conn_t* conn) {
  printf("connection closed\n");
}

static void finish(app_t* app, int failed) {
  app->failed = failed;
  uvodbc_conn_close(app->conn, on_closed);
}

static void print_batch(const uvodbc_batch_t* batch) {
  size_t r;
  for (r = 0; r < uvodbc_batch_nrows(batch); r++) {
    int64_t id;
    const char* name;
    size_t len;
    double score;
    uvodbc_timestamp_t ts;
    uvodbc_batch_get_int64(batch, 0, r, &id);
    printf("%" PRId64 " ", id);
    if (uvodbc_batch_get_text(batch, 1, r, &name, &len) == UVODBC_ENULL)
      printf("%-8s ", "NULL");
    else
      printf("%-8.*s ", (int)len, name);
    if (uvodbc_batch_get_double(batch, 2, r, &score) == 0)
      printf("%6.2f ", score);
    if (uvodbc_batch_get_timestamp(batch, 3, r, &ts) == 0)
      printf("%04d-%02d-%02d %02d:%02d:%02d.%06u", ts.year, ts.month, ts.day,
             ts.hour, ts.minute, ts.second, ts.nanosecond / 1000);
    printf("\n");
  }
}

static void on_cursor_closed(uvodbc_cursor_t* cursor) {
  app_t* app = uvodbc_cursor_get_data(cursor);
  finish(app, 0);
}

static void on_fetch(uvodbc_req_t* req, int status) {
  app_t* app = req->data;
  if (status == UV_EOF) {
    uvodbc_cursor_close(req->cursor, on_cursor_closed);
    return;
  }
  if (status != 0) {
    report(req, "fetch");
    finish(app, 1);
    return;
  }
  print_batch(req->batch);
  uvodbc_cursor_fetch(req->cursor, req, 2, on_fetch);
}

static void on_select(uvodbc_req_t* req, int status) {
  app_t* app = req->data;
  size_t i;
  if (status != 0) {
    report(req, "select");
    finish(app, 1);
    return;
  }
  for (i = 0; i < uvodbc_cursor_ncols(req->cursor); i++)
    printf("%s%s", i ? " | " : "", uvodbc_cursor_column(req->cursor, i)->name);
  printf("\n");
  uvodbc_cursor_set_data(req->cursor, app);
  print_batch(req->batch);
  uvodbc_cursor_fetch(req->cursor, req, 2, on_fetch);
}

static void on_step(uvodbc_req_t* req, int status) {
  app_t* app = req->data;
  if (status != 0) {
    report(req, "statement");
    finish(app, 1);
    return;
  }
  next_step(app);
}

static void next_step(app_t* app) {
  static const char* names[] = {"ada", "grace", "edsger", NULL};
  uvodbc_exec_options_t opts;
  uvodbc_param_t p[4];
  uvodbc_timestamp_t when = {2026, 11, 25, 9, 30, 0, 123456000};
  int step = app->step++;
  int err = 0;

  if (step == 0) {
    err = uvodbc_conn_exec(app->conn, &app->req,
                           "DROP TABLE IF EXISTS hello_people", NULL, 0, NULL,
                           on_step);
  } else if (step == 1) {
    err = uvodbc_conn_exec(app->conn, &app->req,
                           "CREATE TABLE hello_people (id INTEGER, name "
                           "VARCHAR(32), score DOUBLE PRECISION, seen "
                           "TIMESTAMP)",
                           NULL, 0, NULL, on_step);
  } else if (step >= 2 && step < 6) {
    int i = step - 2;
    p[0] = uvodbc_param_int64(i + 1);
    p[1] = names[i] ? uvodbc_param_text(names[i], SIZE_MAX)
                    : uvodbc_param_null();
    p[2] = uvodbc_param_double(i * 1.5);
    when.second = (uint8_t)i;
    p[3] = uvodbc_param_datetime(UVODBC_TYPE_TIMESTAMP, when);
    err = uvodbc_conn_exec(app->conn, &app->req,
                           "INSERT INTO hello_people VALUES (?, ?, ?, ?)", p,
                           4, NULL, on_step);
  } else {
    uvodbc_exec_options_init(&opts);
    opts.batch_rows = 2; /* small batches, to show the fetch loop */
    err = uvodbc_conn_exec(app->conn, &app->req,
                           "SELECT id, name, score, seen FROM hello_people "
                           "ORDER BY id",
                           NULL, 0, &opts, on_select);
  }
  if (err != 0) {
    fprintf(stderr, "cannot start step %d: %s\n", step, uvodbc_strerror(err));
    finish(app, 1);
  }
}

static void on_connect(uvodbc_req_t* req, int status) {
  app_t* app = req->data;
  if (status != 0) {
    report(req, "connect");
    finish(app, 1);
    return;
  }
  printf("connected\n");
  next_step(app);
}

int main(int argc, char** argv) {
  const char* connstr =
      argc > 1 ? argv[1] : "DRIVER={SQLite3};Database=/tmp/uvodbc-hello.db";
  uv_loop_t loop;
  app_t app;
  int err;

  memset(&app, 0, sizeof(app));
  uv_loop_init(&loop);
  app.req.data = &app;
  err = uvodbc_connect(&loop, &app.req, connstr, NULL, on_connect);
  if (err != 0) {
    fprintf(stderr, "connect: %s\n", uvodbc_strerror(err));
    return 1;
  }
  app.conn = app.req.conn;
  uv_run(&loop, UV_RUN_DEFAULT);
  err = uv_loop_close(&loop);
  uvodbc_shutdown();
  if (err != 0) fprintf(stderr, "loop not closed cleanly\n");
  return app.failed || err != 0;
}
