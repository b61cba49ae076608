/* The executor: the one place that hands work to libuv's thread pool.
 *
 * libuv's pool is global (UV_THREADPOOL_SIZE, default 4) and shared with
 * file-system and DNS work; a long query pins a thread.  So uvodbc never
 * occupies more than `limit` pool threads at once (default: all but one, so
 * uv_fs_* and getaddrinfo keep a thread); tasks beyond it wait here, FIFO.
 *
 * Two lanes (docs/threading.md, "Transactions go first"): a priority task
 * (its connection may hold locks, in a transaction) starts before any
 * waiting normal one, and normal tasks never occupy the last `reserved`
 * threads (one per such connection, at most limit - 1).  So work waiting
 * for a lock can never take every thread from the transaction holding it.
 * Another executor (a private thread pool) would replace this file only. */
#include <stdlib.h>

#include "internal.h"

static unsigned int limit;
static unsigned int in_flight;
static unsigned int normal_in_flight;
static unsigned int reserved;
static uvodbc__task_t* waiting_head[2]; /* [task->priority] */
static uvodbc__task_t* waiting_tail[2];

unsigned int uvodbc__threadpool_size(void) {
  const char* env = getenv("UV_THREADPOOL_SIZE");
  long size = env != NULL ? strtol(env, NULL, 10) : 4;
  /* As libuv reads it (atoi into unsigned): 0 or junk is 1 thread, and a
   * negative value wraps to the maximum. */
  if (size == 0) size = 1;
  if (size < 0 || size > 1024) size = 1024;
  return (unsigned int)size;
}

static unsigned int default_limit(void) {
  unsigned int size = uvodbc__threadpool_size();
  return size > 1 ? size - 1 : 1;
}

unsigned int uvodbc_get_worker_limit(void) {
  if (limit == 0) limit = default_limit();
  return limit;
}

int uvodbc_set_worker_limit(unsigned int n) {
  if (n == 0) return UV_EINVAL;
  limit = n;
  return 0;
}

static void start(uvodbc__task_t* task);

static int may_start(int priority) {
  unsigned int lim = uvodbc_get_worker_limit();
  unsigned int keep = reserved < lim ? reserved : lim - 1;
  if (in_flight >= lim) return 0;
  return priority || normal_in_flight < lim - keep;
}

/* Starts waiting tasks while threads allow: priority ones first. */
static void start_waiting(void) {
  int lane;
  for (lane = 1; lane >= 0; lane--) {
    while (waiting_head[lane] != NULL && may_start(lane)) {
      uvodbc__task_t* next = waiting_head[lane];
      waiting_head[lane] = next->next_waiting;
      if (waiting_head[lane] == NULL) waiting_tail[lane] = NULL;
      next->waiting = 0;
      start(next);
    }
  }
}

void uvodbc__executor_reserve(int delta) {
  reserved = (unsigned int)((int)reserved + delta);
  if (delta < 0) start_waiting();
}

static void after_work(uv_work_t* req, int status) {
  uvodbc__task_t* task = req->data;
  in_flight--;
  if (!task->priority) normal_in_flight--;
  /* done() first: it may make the connection a lock holder, and then this
   * thread is kept for its next operation (started from its callback, or
   * later), not given to normal work waiting here. */
  task->done(task, status);
  start_waiting();
}

static void run_work(uv_work_t* req) {
  uvodbc__task_t* task = req->data;
  task->work(task);
}

static void start(uvodbc__task_t* task) {
  int err;
  task->work_req.data = task;
  in_flight++;
  if (!task->priority) normal_in_flight++;
  err = uv_queue_work(task->loop, &task->work_req, run_work, after_work);
  if (err != 0) { /* only on invalid arguments; report, never lose it */
    in_flight--;
    if (!task->priority) normal_in_flight--;
    task->done(task, err);
  }
}

int uvodbc__executor_submit(uv_loop_t* loop, uvodbc__task_t* task,
                            uvodbc__work_fn work, uvodbc__done_fn done) {
  task->loop = loop;
  task->work = work;
  task->done = done;
  task->next_waiting = NULL;
  task->waiting = 0;
  if (waiting_head[task->priority] == NULL && may_start(task->priority)) {
    start(task);
    return 0;
  }
  task->waiting = 1;
  if (waiting_tail[task->priority] != NULL)
    waiting_tail[task->priority]->next_waiting = task;
  else
    waiting_head[task->priority] = task;
  waiting_tail[task->priority] = task;
  return 0;
}

int uvodbc__executor_cancel(uvodbc__task_t* task) {
  if (task->waiting) {
    uvodbc__task_t** p = &waiting_head[task->priority];
    uvodbc__task_t* prev = NULL;
    while (*p != task) {
      prev = *p;
      p = &(*p)->next_waiting;
    }
    *p = task->next_waiting;
    if (waiting_tail[task->priority] == task)
      waiting_tail[task->priority] = prev;
    task->waiting = 0;
    return 1; /* never started; done() will not run, the caller completes */
  }
  return uv_cancel((uv_req_t*)&task->work_req) == 0 ? 0 : UV_EBUSY;
}
