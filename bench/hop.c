/* The bare hop: SELECT 1 through uv_queue_work with nothing else, the
 * blocking baseline's three ODBC calls on a worker.  What any async wrapper
 * around those calls must pay at least, so conn_query's cost splits into
 * the hop and uvodbc's own work. */
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "bench.h"
#include "core.h"

typedef struct hop_s {
  uv_loop_t* loop;
  baseline_t* b;
  uv_work_t work;
  size_t left;
  SQLRETURN rc; /* of the last query, set on the worker */
  const char* what;
} hop_t;

static void hop_queue(hop_t* h);

static void hop_work(uv_work_t* work) {
  hop_t* h = work->data;
  h->rc = baseline_select1_once(h->b, &h->what);
}

static void hop_after(uv_work_t* work, int status) {
  hop_t* h = work->data;
  if (status != 0) bench_die("bare hop: %s", uv_strerror(status));
  /* The loop thread reads the diagnostics: the worker is done with them. */
  baseline_select1_check(h->b, h->rc, h->what);
  if (--h->left > 0) hop_queue(h);
}

static void hop_queue(hop_t* h) {
  int err = uv_queue_work(h->loop, &h->work, hop_work, hop_after);
  if (err != 0) bench_die("uv_queue_work: %s", uv_strerror(err));
}

void hop_select1(uv_loop_t* loop, baseline_t* b, size_t k) {
  hop_t h;
  memset(&h, 0, sizeof(h));
  h.loop = loop;
  h.b = b;
  h.left = k;
  h.work.data = &h;
  if (k == 0) return;
  hop_queue(&h);
  uv_run(loop, UV_RUN_DEFAULT);
  if (h.left != 0) bench_die("bare hop: the SELECT 1 sequence stopped early");
}
