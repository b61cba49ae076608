/* The executor: the one place that hands work to libuv's thread pool.
 *
 * libuv's pool is global (UV_THREADPOOL_SIZE, default 4) and shared with
 * file-system and DNS work; a long query pins a thread.  So uvodbc never
 * occupies more than `limit` pool threads at once (default: all but one, so
 * uv_fs_* and getaddrinfo keep a thread; none at all when the pool has one
 * thread); tasks beyond it wait here, FIFO.
 *
 * Two lanes (docs/threading.md, "Transactions go first"): a priority task
 * (its connection may hold locks, in a transaction) starts before any
 * waiting normal one, and normal tasks never occupy the last `reserved`
 * threads (one per such connection, at most limit - 1).  So work waiting
 * for a lock can never take every thread from the transaction holding it.
 *
 * Any number of loops, each on its own thread, share the limit: a slot is
 * a process-wide count, and each lane is one FIFO across loops.
 * uv_queue_work(loop) must run on that loop's thread, so when a slot frees
 * on loop A and the next waiting task belongs to loop B, A reserves the
 * slot for it, puts it on B's `handed` list and wakes B with B's uv_async;
 * B starts it.  The per-loop state lives while the loop has a connection
 * (uvodbc__executor_loop_ref/unref) and is closed with the last one.  Its
 * async is referenced only while tasks of the loop wait: a waiting task
 * keeps its loop alive, as a running one does, and nothing else does.
 *
 * Another executor (a private thread pool) would replace this file only. */
#include <pthread.h>
#include <stdlib.h>

#include "internal.h"

enum { NOT_WAITING, WAITING, HANDED }; /* task->waiting */

/* A FIFO of tasks.  One struct with push/pop/remove so another lane (a
 * priority list) can sit next to it. */
typedef struct {
  uvodbc__task_t* head;
  uvodbc__task_t* tail;
} waitlist_t;

typedef struct loop_state_s loop_state_t;
struct loop_state_s {
  uv_loop_t* loop;
  uv_async_t async;   /* wakes the loop for tasks handed to it */
  waitlist_t handed;  /* tasks holding a slot, to start on this loop */
  unsigned int refs;  /* live connections of the loop */
  unsigned int nwaiting; /* tasks of the loop waiting or handed */
  loop_state_t* next; /* the registry */
};

/* Everything below is shared by every loop thread: under `lock`. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int limit;
static int limit_known;        /* set, or the default computed */
static unsigned int in_flight; /* slots held: running or handed tasks */
static unsigned int normal_in_flight; /* of them, normal tasks */
static unsigned int reserved;  /* threads kept for priority tasks */
static waitlist_t waiting[2];  /* [task->priority] */
static loop_state_t* loops;

static void waitlist_push(waitlist_t* l, uvodbc__task_t* t) {
  t->next_waiting = NULL;
  if (l->tail != NULL)
    l->tail->next_waiting = t;
  else
    l->head = t;
  l->tail = t;
}

static uvodbc__task_t* waitlist_pop(waitlist_t* l) {
  uvodbc__task_t* t = l->head;
  if (t == NULL) return NULL;
  l->head = t->next_waiting;
  if (l->head == NULL) l->tail = NULL;
  t->next_waiting = NULL;
  return t;
}

static void waitlist_remove(waitlist_t* l, uvodbc__task_t* t) {
  uvodbc__task_t** p = &l->head;
  uvodbc__task_t* prev = NULL;
  while (*p != t) {
    prev = *p;
    p = &(*p)->next_waiting;
  }
  *p = t->next_waiting;
  if (l->tail == t) l->tail = prev;
  t->next_waiting = NULL;
}

unsigned int uvodbc__threadpool_size(void) {
  const char* env = getenv("UV_THREADPOOL_SIZE");
  long size = env != NULL ? strtol(env, NULL, 10) : 4;
  /* As libuv reads it (atoi into unsigned): 0 or junk is 1 thread, and a
   * negative value wraps to the maximum. */
  if (size == 0) size = 1;
  if (size < 0 || size > 1024) size = 1024;
  return (unsigned int)size;
}

/* All but one thread; with one thread, none: uvodbc never takes a pool's
 * only thread unless told to (uvodbc_set_worker_limit). */
static unsigned int locked_limit(void) {
  if (!limit_known) {
    limit = uvodbc__threadpool_size() - 1;
    limit_known = 1;
  }
  return limit;
}

unsigned int uvodbc_get_worker_limit(void) {
  unsigned int n;
  pthread_mutex_lock(&lock);
  n = locked_limit();
  pthread_mutex_unlock(&lock);
  return n;
}


static loop_state_t* find(uv_loop_t* loop) {
  loop_state_t* s;
  for (s = loops; s != NULL && s->loop != loop; s = s->next) continue;
  return s;
}

/* Under the lock, on s->loop's thread: n more (or fewer) of its tasks
 * wait; the async keeps the loop alive while any does. */
static void count_waiting(loop_state_t* s, int n) {
  unsigned int before = s->nwaiting;
  s->nwaiting += (unsigned int)n;
  if (before == 0 && s->nwaiting > 0) uv_ref((uv_handle_t*)&s->async);
  if (before > 0 && s->nwaiting == 0) uv_unref((uv_handle_t*)&s->async);
}

/* Under the lock. */
static int may_start(int priority) {
  unsigned int lim = locked_limit();
  unsigned int keep = reserved < lim ? reserved : lim - 1;
  if (in_flight >= lim) return 0;
  return priority || normal_in_flight < lim - keep;
}

static void take_slot(const uvodbc__task_t* task) {
  in_flight++;
  if (!task->priority) normal_in_flight++;
}

static void give_slot(const uvodbc__task_t* task) {
  in_flight--;
  if (!task->priority) normal_in_flight--;
}

static void run_work(uv_work_t* req) {
  uvodbc__task_t* task = req->data;
  task->work(task);
}

static void after_work(uv_work_t* req, int status);

/* On task->loop's thread, with a slot already counted for it. */
static void start(uvodbc__task_t* task) {
  int err;
  task->work_req.data = task;
  if (task->on_start != NULL) task->on_start(task);
  err = uv_queue_work(task->loop, &task->work_req, run_work, after_work);
  if (err != 0) { /* only on invalid arguments; report, never lose it */
    pthread_mutex_lock(&lock);
    give_slot(task);
    pthread_mutex_unlock(&lock);
    task->done(task, err);
  }
}

/* Under the lock: `next` holds a slot.  The caller starts it if it is of
 * its own loop; another loop's thread is woken to start it. */
static void hand_one(uv_loop_t* loop, uvodbc__task_t* next, waitlist_t* mine) {
  if (next->loop == loop) {
    next->waiting = NOT_WAITING;
    count_waiting(find(loop), -1);
    waitlist_push(mine, next);
  } else {
    /* Found: the task's connection holds its loop's state. */
    loop_state_t* s = find(next->loop);
    next->waiting = HANDED;
    waitlist_push(&s->handed, next);
    uv_async_send(&s->async);
  }
}

/* Under the lock: gives free slots to waiting tasks, priority ones first,
 * each lane in FIFO order.  Those of `loop` (the calling thread's) go to
 * `mine` for the caller to start; those of other loops are handed to
 * them. */
static void hand_out(uv_loop_t* loop, waitlist_t* mine) {
  uvodbc__task_t* next;
  int lane;
  for (lane = 1; lane >= 0; lane--)
    while (waiting[lane].head != NULL && may_start(lane)) {
      next = waitlist_pop(&waiting[lane]);
      take_slot(next);
      hand_one(loop, next, mine);
    }
}

static void start_all(waitlist_t* l) {
  uvodbc__task_t* t;
  while ((t = waitlist_pop(l)) != NULL) start(t);
}

static void after_work(uv_work_t* req, int status) {
  uvodbc__task_t* task = req->data;
  uv_loop_t* loop = task->loop;
  waitlist_t mine = {NULL, NULL};
  pthread_mutex_lock(&lock);
  give_slot(task);
  pthread_mutex_unlock(&lock);
  /* done() first: it may make the connection a lock holder, and then this
   * thread is kept for its next operation (started from its callback, or
   * later), not given to normal work waiting here. */
  task->done(task, status);
  pthread_mutex_lock(&lock);
  hand_out(loop, &mine);
  pthread_mutex_unlock(&lock);
  start_all(&mine);
}

/* Any thread: a raised limit starts waiting tasks at once, each woken on
 * its own loop (no loop is the caller's here). */
int uvodbc_set_worker_limit(unsigned int n) {
  waitlist_t none = {NULL, NULL};
  if (n == 0) return UV_EINVAL;
  pthread_mutex_lock(&lock);
  limit = n;
  limit_known = 1;
  hand_out(NULL, &none);
  pthread_mutex_unlock(&lock);
  return 0;
}

void uvodbc__executor_reserve(uv_loop_t* loop, int delta) {
  waitlist_t mine = {NULL, NULL};
  pthread_mutex_lock(&lock);
  reserved = (unsigned int)((int)reserved + delta);
  if (delta < 0) hand_out(loop, &mine);
  pthread_mutex_unlock(&lock);
  start_all(&mine);
}

static void on_handed(uv_async_t* async) {
  loop_state_t* s = async->data;
  waitlist_t mine;
  uvodbc__task_t* t;
  pthread_mutex_lock(&lock);
  mine = s->handed;
  s->handed.head = s->handed.tail = NULL;
  for (t = mine.head; t != NULL; t = t->next_waiting) {
    t->waiting = NOT_WAITING;
    count_waiting(s, -1);
  }
  pthread_mutex_unlock(&lock);
  start_all(&mine);
}

int uvodbc__executor_submit(uv_loop_t* loop, uvodbc__task_t* task,
                            uvodbc__work_fn work, uvodbc__done_fn done) {
  int now;
  task->loop = loop;
  task->work = work;
  task->done = done;
  task->next_waiting = NULL;
  task->waiting = NOT_WAITING;
  pthread_mutex_lock(&lock);
  /* Behind tasks of its lane, or of the priority lane, that wait already,
   * whichever loop they belong to. */
  now = waiting[task->priority].head == NULL && waiting[1].head == NULL &&
        may_start(task->priority);
  if (now) {
    take_slot(task);
  } else {
    task->waiting = WAITING;
    waitlist_push(&waiting[task->priority], task);
    count_waiting(find(loop), 1); /* found: the connection holds it */
  }
  pthread_mutex_unlock(&lock);
  if (now) start(task);
  return 0;
}

int uvodbc__executor_cancel(uvodbc__task_t* task) {
  waitlist_t mine = {NULL, NULL};
  int where;
  pthread_mutex_lock(&lock);
  where = task->waiting;
  if (where == WAITING) {
    waitlist_remove(&waiting[task->priority], task);
  } else if (where == HANDED) {
    /* It holds a slot it will never use: pass it on. */
    waitlist_remove(&find(task->loop)->handed, task);
    give_slot(task);
    hand_out(task->loop, &mine);
  }
  if (where != NOT_WAITING) count_waiting(find(task->loop), -1);
  task->waiting = NOT_WAITING;
  pthread_mutex_unlock(&lock);
  if (where != NOT_WAITING) {
    start_all(&mine);
    return 1; /* never started; done() will not run, the caller completes */
  }
  return uv_cancel((uv_req_t*)&task->work_req) == 0 ? 0 : UV_EBUSY;
}

int uvodbc__executor_loop_ref(uv_loop_t* loop) {
  loop_state_t* s;
  pthread_mutex_lock(&lock);
  s = find(loop);
  if (s != NULL) s->refs++;
  pthread_mutex_unlock(&lock);
  if (s != NULL) return 0;
  /* Only this thread adds this loop's state: no one can race us to it. */
  s = uvodbc__calloc(1, sizeof(*s));
  if (s == NULL) return UV_ENOMEM;
  if (uv_async_init(loop, &s->async, on_handed) != 0) {
    uvodbc__free(s);
    return UV_EINVAL;
  }
  uv_unref((uv_handle_t*)&s->async);
  s->async.data = s;
  s->loop = loop;
  s->refs = 1;
  pthread_mutex_lock(&lock);
  s->next = loops;
  loops = s;
  pthread_mutex_unlock(&lock);
  return 0;
}

static void on_async_closed(uv_handle_t* handle) {
  uvodbc__free(handle->data);
}

void uvodbc__executor_loop_unref(uv_loop_t* loop) {
  loop_state_t** p;
  loop_state_t* s;
  int last;
  pthread_mutex_lock(&lock);
  for (p = &loops; (*p)->loop != loop; p = &(*p)->next) continue;
  s = *p;
  last = --s->refs == 0;
  if (last) *p = s->next; /* no one can hand it tasks now */
  pthread_mutex_unlock(&lock);
  if (last) uv_close((uv_handle_t*)&s->async, on_async_closed);
}
