/* threads: several loops, each on its own thread (docs/threading.md,
 * "Several loops").
 *
 * Starts NTHREADS threads.  Each makes its own loop and connection, runs
 * NQUERIES queries on it, closes it, closes its loop and calls
 * uvodbc_shutdown(): the last thread's call succeeds, the others may get
 * UV_EBUSY, which is harmless.  The main thread checks every result and
 * that the environment is gone at the end.
 *
 *   threads ["DRIVER={SQLite3};Database=:memory:"]
 */
#include <stdio.h>
#include <uvodbc.h>

#define NTHREADS 3
#define NQUERIES 50

typedef struct {
  uv_thread_t thread;
  const char* connstr;
  int id;
  int done;    /* queries that returned the value sent */
  int failed;  /* anything else */
  int shutdown_status;
} worker_t;

/* Every callback runs on the thread that runs this worker's loop. */
static void on_query(uvodbc_req_t* req, int status) {
  worker_t* w = req->data;
  int64_t v = -1;
  if (status != 0) {
    char why[2048];
    uvodbc_req_describe(req, why, sizeof(why));
    fprintf(stderr, "thread %d: %s\n", w->id, why);
    w->failed++;
    uvodbc_conn_close(req->conn, NULL);
    return;
  }
  uvodbc_batch_get_int64(req->batch, 0, 0, &v);
  if (v == w->id * 1000 + w->done) w->done++;
  else w->failed++;
  uvodbc_req_cleanup(req);
  if (w->done + w->failed < NQUERIES) {
    uvodbc_param_t p = uvodbc_param_int64(w->id * 1000 + w->done);
    if (uvodbc_conn_query(req->conn, req, "SELECT ? + 0", &p, 1, NULL,
                          on_query) == 0)
      return;
    w->failed++;
  }
  uvodbc_conn_close(req->conn, NULL);
}

static void on_connect(uvodbc_req_t* req, int status) {
  worker_t* w = req->data;
  uvodbc_param_t p = uvodbc_param_int64(w->id * 1000);
  if (status == 0 && uvodbc_conn_query(req->conn, req, "SELECT ? + 0", &p, 1,
                                       NULL, on_query) == 0)
    return;
  w->failed++;
  uvodbc_conn_close(req->conn, NULL);
}

static void run(void* arg) {
  worker_t* w = arg;
  uv_loop_t loop;
  uvodbc_req_t req;
  uv_loop_init(&loop);
  req.data = w; /* kept by every operation started with req */
  if (uvodbc_connect(&loop, &req, w->connstr, NULL, on_connect) != 0)
    w->failed++;
  uv_run(&loop, UV_RUN_DEFAULT);
  /* Every handle of this loop is closed: the loop closes cleanly. */
  if (uv_loop_close(&loop) != 0) w->failed++;
  /* Thread-safe; UV_EBUSY while another thread's connection is open. */
  w->shutdown_status = uvodbc_shutdown();
}

int main(int argc, char** argv) {
  const char* connstr =
      argc > 1 ? argv[1] : "DRIVER={SQLite3};Database=:memory:";
  worker_t workers[NTHREADS] = {0};
  int failed = 0, i;

  for (i = 0; i < NTHREADS; i++) {
    workers[i].connstr = connstr;
    workers[i].id = i + 1;
    if (uv_thread_create(&workers[i].thread, run, &workers[i]) != 0) {
      fprintf(stderr, "threads: cannot start thread %d\n", i + 1);
      return 1;
    }
  }
  for (i = 0; i < NTHREADS; i++) {
    worker_t* w = &workers[i];
    uv_thread_join(&w->thread);
    printf("thread %d: %d queries, %d failed, its uvodbc_shutdown(): %s\n",
           w->id, w->done, w->failed, uvodbc_err_name(w->shutdown_status));
    if (w->done != NQUERIES || w->failed != 0) failed = 1;
    if (w->shutdown_status != 0 && w->shutdown_status != UV_EBUSY) failed = 1;
  }
  /* All closed now: this call succeeds (the last thread's did already). */
  if (uvodbc_shutdown() != 0) {
    fprintf(stderr, "threads: uvodbc_shutdown() refused\n");
    failed = 1;
  }
  return failed;
}
