/* trace: what the instruments show (docs/instruments.md).  A pool runs a
 * few statements, one of them failing; a tracing hook prints each
 * finished operation and sums them up by kind; debug mode reports a
 * callback that holds the loop too long.
 *
 *   trace ["DRIVER={SQLite3};Database=:memory:"]
 */
#include <stdio.h>
#include <string.h>

#include <uvodbc.h>

#define NKINDS (UVODBC_OP_CALL + 1)

typedef struct {
  unsigned long count[NKINDS];
  unsigned long failed[NKINDS];
  double work_ms[NKINDS];
  double waited_ms[NKINDS];
} totals_t;

static void on_trace(const uvodbc_trace_event_t* ev, void* data) {
  totals_t* t = data;
  if (ev->phase != UVODBC_TRACE_FINISHED) return;
  t->count[ev->kind]++;
  if (ev->status != 0 && ev->status != UV_EOF) t->failed[ev->kind]++;
  t->work_ms[ev->kind] += (double)ev->work_ns / 1e6;
  t->waited_ms[ev->kind] +=
      (double)(ev->wait_conn_ns + ev->wait_worker_ns) / 1e6;
  printf("trace: %-10s %-6s %-5s %-5s rows %-3llu queued %.2f ms, worker "
         "%.2f ms%s%s\n",
         uvodbc_op_kind_name(ev->kind), ev->detail ? ev->detail : "",
         uvodbc_err_name(ev->status), ev->sqlstate,
         (unsigned long long)ev->rows,
         (double)(ev->wait_conn_ns + ev->wait_worker_ns) / 1e6,
         (double)ev->work_ns / 1e6, ev->sql ? "  " : "", ev->sql ? ev->sql : "");
}

static void on_debug(const char* line, void* data) {
  (void)data;
  printf("debug: %s\n", line);
}

typedef struct {
  uvodbc_pool_t* pool;
  uvodbc_req_t req;
  int step;
} app_t;

static const char* const statements[] = {
    "SELECT 1 AS one",
    "SELECT 'slow callback' AS what", /* its callback sleeps: reported */
    "SELECT no_such_column FROM no_such_table",
    "SELECT 42 AS answer"};

static void next(app_t* app);

static void on_done(uvodbc_req_t* req, int status) {
  app_t* app = req->data;
  char why[1024];
  if (status != 0) {
    uvodbc_req_describe(req, why, sizeof(why));
    printf("statement %d: %s\n", app->step, why);
  }
  if (app->step == 1) uv_sleep(150); /* a callback that blocks the loop */
  uvodbc_req_cleanup(req);
  app->step++;
  next(app);
}

static void next(app_t* app) {
  uvodbc_pool_stats_t st;
  if (app->step < (int)(sizeof(statements) / sizeof(statements[0]))) {
    uvodbc_pool_query(app->pool, &app->req, statements[app->step], NULL, 0,
                      NULL, on_done);
    return;
  }
  uvodbc_pool_stats(app->pool, &st);
  printf("pool: %llu acquires, wait mean %llu us, max %llu us\n",
         (unsigned long long)st.acquires, (unsigned long long)st.wait_mean_us,
         (unsigned long long)st.wait_max_us);
  uvodbc_pool_close(app->pool, NULL);
}

int main(int argc, char** argv) {
  const char* connstr =
      argc > 1 ? argv[1] : "DRIVER={SQLite3};Database=:memory:";
  uvodbc_pool_options_t po;
  uvodbc_debug_options_t dbg;
  totals_t totals;
  app_t app;
  int err, k;
  uv_loop_t* loop = uv_default_loop();

  memset(&totals, 0, sizeof(totals));
  memset(&app, 0, sizeof(app));
  uvodbc_debug_options_init(&dbg);
  dbg.enabled = 1;
  dbg.slow_callback_ms = 100;
  dbg.log = on_debug;
  uvodbc_set_debug(&dbg);

  uvodbc_pool_options_init(&po);
  po.max_size = 2;
  po.conn.trace = on_trace;
  po.conn.trace_data = &totals;
  err = uvodbc_pool_create(loop, &app.pool, connstr, &po, NULL);
  if (err != 0) {
    fprintf(stderr, "pool: %s\n", uvodbc_strerror(err));
    return 1;
  }
  app.req.data = &app;
  next(&app);
  uv_run(loop, UV_RUN_DEFAULT);

  printf("%-14s %5s %6s %10s %10s\n", "kind", "count", "failed", "queued ms",
         "worker ms");
  for (k = 0; k < NKINDS; k++)
    if (totals.count[k] > 0)
      printf("%-14s %5lu %6lu %10.2f %10.2f\n",
             uvodbc_op_kind_name((uvodbc_op_kind_t)k), totals.count[k],
             totals.failed[k], totals.waited_ms[k], totals.work_ms[k]);
  uv_loop_close(loop);
  /* The example expects the failing statement and nothing else to fail. */
  return totals.failed[UVODBC_OP_QUERY] == 1 &&
                 totals.count[UVODBC_OP_QUERY] == 4
             ? uvodbc_shutdown()
             : 1;
}
