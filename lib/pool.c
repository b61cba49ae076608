/* The pool: connections to one connection string, lent to one borrower at
 * a time (DESIGN.md section 5).
 *
 * A layer above connections: every connection is driven only through the
 * public API (uvodbc_connect, _ping, _reset, _close, _exec, _query).  The
 * internals used are uvodbc__conn_is_clean() (reset would have nothing to
 * undo, so release needs no thread hop), a back-pointer in the connection
 * to its slot, and the parameter copy of the exec/query helpers.
 *
 * Each connection lives in a slot: CONNECTING -> (SETUP) -> IDLE <->
 * CHECKING (ping) / BORROWED -> RESETTING -> IDLE, and CLOSING from any
 * state until its close callback.  Requests (acquire, exec, query) wait in
 * one FIFO; dispatch() hands idle slots to them and opens connections for
 * the rest.  Results that need no thread hop are delivered from an idle
 * handle on a later loop iteration, never inside the starting call and
 * never inside another request's call. */
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DEFAULT_MAX_CONNECTING 2
#define DEFAULT_ACQUIRE_TIMEOUT_MS 30000
#define DEFAULT_VALIDATE_AFTER_MS 5000
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 10000

typedef enum {
  S_CONNECTING, /* uvodbc_connect pending                         */
  S_SETUP,      /* the setup hook runs                            */
  S_IDLE,
  S_CHECKING,   /* pinged before checkout                         */
  S_BORROWED,   /* with a borrower, or running a pool exec/query  */
  S_RESETTING,  /* uvodbc_conn_reset after release                */
  S_CLOSING,    /* uvodbc_conn_close pending                      */
  S_CLOSED,     /* closed while the pool closes: kept, with the
                   connection's (freed) address, until the pool's
                   close callback                                 */
  S_NSTATES
} slot_state_t;

typedef struct slot_s slot_t;
typedef struct preq_s preq_t;

struct slot_s {
  uvodbc_pool_setup_t setup;
  uvodbc_pool_t* pool;
  uvodbc_conn_t* conn;
  slot_state_t state;
  uint64_t created;    /* uv_now() at connect                     */
  uint64_t idle_since;
  int initial;         /* one of create's min_size connects        */
  int setup_pending;   /* the hook has not called done yet; the pool
                          does not close the connection before      */
  int revoked;         /* borrowed when terminate closed it: release
                          is a no-op until the pool's close callback */
  preq_t* job;         /* the pool exec/query running on it          */
  uvodbc_req_t req;    /* the pool's own operations                  */
  slot_t* prev;        /* every slot                                 */
  slot_t* next;
  slot_t* idle_prev;   /* idle slots, most recently used first       */
  slot_t* idle_next;
};

typedef enum { P_ACQUIRE, P_EXEC, P_QUERY } preq_kind_t;
typedef enum { P_WAITING, P_READY, P_RUNNING } preq_state_t;

/* A pool request: the pool's half of the caller's uvodbc_req_t. */
struct preq_s {
  uvodbc_pool_t* pool;
  uvodbc_req_t* req;
  uvodbc_req_cb cb;
  preq_kind_t kind;
  preq_state_t state;
  int status;
  uint64_t start_ns; /* uv_hrtime() at the call                      */
  uint64_t deadline; /* uv_now() + acquire timeout                   */
  slot_t* slot;
  uvodbc__diags_t diags; /* a failed connect's                        */
  preq_t* prev;      /* the list of its state                        */
  preq_t* next;
  /* EXEC / QUERY */
  char* sql;
  uvodbc__params_t params;
  uvodbc_exec_options_t opts;
  int has_opts;
  uvodbc_req_t inner;
};

typedef struct {
  preq_t* head;
  preq_t* tail;
  unsigned int n;
} preq_list_t;

struct uvodbc_pool_s {
  uv_loop_t* loop;
  void* data;
  char* connstr;
  uvodbc_pool_options_t opts; /* defaults resolved                     */
  int closing;                /* 1 close, 2 terminate                   */
  int finishing;              /* handles closing, close_cb next         */
  int handles;                /* open uv handles                        */
  uvodbc_pool_close_cb close_cb;
  uvodbc_pool_ready_cb ready_cb;
  int ready_pending;          /* ready_cb not called yet               */
  int ready_due;              /* ... and due on the next iteration     */
  int ready_status;
  unsigned int initial_started, initial_left;
  int initial_status;
  slot_t* slots;
  slot_t* idle_head;
  slot_t* idle_tail;
  unsigned int count[S_NSTATES];
  preq_list_t waiting;
  preq_list_t ready;
  preq_list_t running;
  unsigned int nreqs; /* live pool requests                             */
  uint64_t next_connect; /* uv_now() before which no connect starts      */
  unsigned int backoff_ms;
  uv_timer_t wait_timer;  /* the head waiter's deadline                  */
  uv_timer_t maint_timer; /* lifetime, idle timeout, connect retry       */
  uv_idle_t ready_idle;   /* delivers the ready list                     */
  /* statistics */
  uint64_t acquires, timeouts, connects, connect_errors, evictions, expired;
  uint64_t wait_total_us, wait_max_us;
};

static void dispatch(uvodbc_pool_t* pool);
static void maybe_finish(uvodbc_pool_t* pool);

/* ---- small helpers ---- */

static void list_push(preq_list_t* l, preq_t* p) {
  p->next = NULL;
  p->prev = l->tail;
  if (l->tail != NULL)
    l->tail->next = p;
  else
    l->head = p;
  l->tail = p;
  l->n++;
}

static void list_unlink(preq_list_t* l, preq_t* p) {
  if (p->prev != NULL)
    p->prev->next = p->next;
  else
    l->head = p->next;
  if (p->next != NULL)
    p->next->prev = p->prev;
  else
    l->tail = p->prev;
  p->prev = p->next = NULL;
  l->n--;
}

static preq_t* list_find(const preq_list_t* l, const uvodbc_req_t* req) {
  preq_t* p;
  for (p = l->head; p != NULL; p = p->next)
    if (p->req == req) return p;
  return NULL;
}

static void set_state(slot_t* s, slot_state_t state) {
  s->pool->count[s->state]--;
  s->pool->count[state]++;
  s->state = state;
}

static unsigned int open_count(const uvodbc_pool_t* pool) {
  return pool->count[S_IDLE] + pool->count[S_CHECKING] +
         pool->count[S_BORROWED] + pool->count[S_RESETTING];
}

static unsigned int connecting_count(const uvodbc_pool_t* pool) {
  return pool->count[S_CONNECTING] + pool->count[S_SETUP];
}

/* Slots that are or will be connections: everything but CLOSING. */
static unsigned int total_count(const uvodbc_pool_t* pool) {
  return open_count(pool) + connecting_count(pool);
}

/* Every slot, closed ones included. */
static unsigned int slot_count(const uvodbc_pool_t* pool) {
  unsigned int n = 0;
  int i;
  for (i = 0; i < S_NSTATES; i++) n += pool->count[i];
  return n;
}

static uint64_t now_ms(const uvodbc_pool_t* pool) {
  return uv_now(pool->loop);
}

/* The libuv pool's size as libuv computes it (read once, at its first
 * use), as executor.c reads it too: UV_THREADPOOL_SIZE, default 4; 0 or
 * junk is 1 thread, a negative value wraps to the maximum, 1024. */
static unsigned int threadpool_size(void) {
  const char* env = getenv("UV_THREADPOOL_SIZE");
  long size = env != NULL ? strtol(env, NULL, 10) : 4;
  if (size == 0) size = 1;
  if (size < 0 || size > 1024) size = 1024;
  return (unsigned int)size;
}

static int expired(const uvodbc_pool_t* pool, const slot_t* s, uint64_t now) {
  return pool->opts.max_lifetime_ms > 0 &&
         now >= s->created + pool->opts.max_lifetime_ms;
}

static void ready_schedule(uvodbc_pool_t* pool);

/* ---- idle list ---- */

static void idle_push(slot_t* s) {
  uvodbc_pool_t* pool = s->pool;
  set_state(s, S_IDLE);
  s->idle_prev = NULL;
  s->idle_next = pool->idle_head;
  if (pool->idle_head != NULL)
    pool->idle_head->idle_prev = s;
  else
    pool->idle_tail = s;
  pool->idle_head = s;
}

static void idle_unlink(slot_t* s) {
  uvodbc_pool_t* pool = s->pool;
  if (s->idle_prev != NULL)
    s->idle_prev->idle_next = s->idle_next;
  else
    pool->idle_head = s->idle_next;
  if (s->idle_next != NULL)
    s->idle_next->idle_prev = s->idle_prev;
  else
    pool->idle_tail = s->idle_prev;
  s->idle_prev = s->idle_next = NULL;
}

static void make_idle(slot_t* s) {
  s->idle_since = now_ms(s->pool);
  idle_push(s);
}

/* ---- slots ---- */

static void slot_free(slot_t* s) {
  uvodbc_pool_t* pool = s->pool;
  pool->count[s->state]--;
  if (s->prev != NULL)
    s->prev->next = s->next;
  else
    pool->slots = s->next;
  if (s->next != NULL) s->next->prev = s->prev;
  uvodbc__free(s);
}

/* The connection is freed when this returns.  A closing pool keeps the
 * slot until its own close callback: a borrower may still name the
 * connection (release after terminate), and the slot answers for it
 * without the freed handle being read. */
static void on_slot_closed(uvodbc_conn_t* conn) {
  slot_t* s = conn->pool_slot;
  uvodbc_pool_t* pool = s->pool;
  if (pool->closing)
    set_state(s, S_CLOSED);
  else
    slot_free(s);
  maybe_finish(pool);
}

static void close_slot(slot_t* s) {
  if (s->state == S_CLOSING || s->state == S_CLOSED) return;
  if (s->state == S_IDLE) idle_unlink(s);
  set_state(s, S_CLOSING);
  /* Fails only for a connection closed behind the pool's back. */
  uvodbc_conn_close(s->conn, on_slot_closed);
}

static void evict(slot_t* s) {
  s->pool->evictions++;
  close_slot(s);
}

/* ---- delivery ---- */

static void preq_free(preq_t* p) {
  p->pool->nreqs--;
  uvodbc__diags_free(&p->diags);
  uvodbc__params_free(&p->params);
  uvodbc__free(p->sql);
  uvodbc__free(p);
}

static void count_acquire(uvodbc_pool_t* pool, const preq_t* p) {
  uint64_t us = (uv_hrtime() - p->start_ns) / 1000;
  pool->acquires++;
  pool->wait_total_us += us;
  if (us > pool->wait_max_us) pool->wait_max_us = us;
}

static void ready_push(preq_t* p) {
  p->state = P_READY;
  list_push(&p->pool->ready, p);
  ready_schedule(p->pool);
}

static void deliver(preq_t* p) {
  uvodbc_pool_t* pool = p->pool;
  uvodbc_req_t* req = p->req;
  uvodbc_req_cb cb = p->cb;
  int status = p->status;
  uvodbc__diags_t diags = p->diags;

  memset(&p->diags, 0, sizeof(p->diags));
  if (status == 0 && p->kind == P_ACQUIRE) {
    req->conn = p->slot->conn;
    count_acquire(pool, p);
  }
  req->status = status;
  req->ndiag = diags.n;
  req->diag = diags.recs;
  preq_free(p);
  if (cb != NULL) cb(req, status);
  uvodbc__diags_free(&diags);
}

static void on_ready(uv_idle_t* idle) {
  uvodbc_pool_t* pool = idle->data;
  unsigned int n = pool->ready.n;
  if (pool->ready_due) {
    uvodbc_pool_ready_cb cb = pool->ready_cb;
    pool->ready_due = 0;
    pool->ready_pending = 0;
    if (cb != NULL) cb(pool, pool->ready_status);
  }
  /* Only what was ready before: later arrivals wait for the next turn. */
  while (n-- > 0 && pool->ready.head != NULL) {
    preq_t* p = pool->ready.head;
    list_unlink(&pool->ready, p);
    deliver(p);
  }
  if (pool->ready.head == NULL && !pool->ready_due && !pool->finishing)
    uv_idle_stop(&pool->ready_idle);
  maybe_finish(pool);
}

static void ready_schedule(uvodbc_pool_t* pool) {
  if (!pool->finishing) uv_idle_start(&pool->ready_idle, on_ready);
}

/* ---- the waiting queue ---- */

static void on_wait_timeout(uv_timer_t* timer) {
  uvodbc_pool_t* pool = timer->data;
  uint64_t now = now_ms(pool);
  while (pool->waiting.head != NULL && pool->waiting.head->deadline <= now) {
    preq_t* p = pool->waiting.head;
    list_unlink(&pool->waiting, p);
    p->status = UV_ETIMEDOUT;
    pool->timeouts++;
    ready_push(p);
  }
  if (pool->waiting.head != NULL)
    uv_timer_start(&pool->wait_timer, on_wait_timeout,
                   pool->waiting.head->deadline - now, 0);
  dispatch(pool); /* fewer waiters: maybe fewer connects to retry */
}

static preq_t* pop_waiter(uvodbc_pool_t* pool) {
  preq_t* p = pool->waiting.head;
  list_unlink(&pool->waiting, p);
  /* Waiters share one timeout, so the head has the earliest deadline;
   * with nobody waiting the timer must not keep the loop alive. */
  if (pool->waiting.head == NULL) uv_timer_stop(&pool->wait_timer);
  return p;
}

static void on_statement(uvodbc_req_t* inner, int status);

/* Runs a pool exec/query on the slot just assigned to it. */
static void start_statement(preq_t* p, slot_t* s) {
  uvodbc_pool_t* pool = p->pool;
  int err;
  p->state = P_RUNNING;
  p->slot = s;
  s->job = p;
  list_push(&pool->running, p);
  count_acquire(pool, p);
  p->inner.data = p;
  if (p->kind == P_EXEC)
    err = uvodbc_conn_exec(s->conn, &p->inner, p->sql, p->params.v,
                           p->params.n, p->has_opts ? &p->opts : NULL,
                           on_statement);
  else
    err = uvodbc_conn_query(s->conn, &p->inner, p->sql, p->params.v,
                            p->params.n, p->has_opts ? &p->opts : NULL,
                            on_statement);
  if (err != 0) { /* nothing ran: the connection stays good */
    list_unlink(&pool->running, p);
    s->job = NULL;
    p->slot = NULL;
    idle_push(s);
    p->status = err;
    ready_push(p);
  }
}

static void hand(uvodbc_pool_t* pool, preq_t* p, slot_t* s) {
  set_state(s, S_BORROWED);
  if (p->kind == P_ACQUIRE) {
    p->slot = s;
    p->status = 0;
    ready_push(p);
  } else {
    start_statement(p, s);
  }
}

/* ---- connects ---- */

static void initial_done(slot_t* s, int status) {
  uvodbc_pool_t* pool = s->pool;
  if (!s->initial) return;
  s->initial = 0;
  if (status != 0 && pool->initial_status == 0) pool->initial_status = status;
  if (--pool->initial_left == 0 && pool->ready_pending && !pool->ready_due) {
    pool->ready_due = 1;
    pool->ready_status = pool->initial_status;
    ready_schedule(pool);
  }
}

static void connected(slot_t* s) {
  uvodbc_pool_t* pool = s->pool;
  pool->connects++;
  pool->backoff_ms = 0;
  pool->next_connect = 0;
  initial_done(s, 0);
  make_idle(s);
  dispatch(pool);
}

/* A connect or its setup failed: close it, back off, and fail the oldest
 * waiter when nothing open could serve it.  `diag` may be NULL. */
static void connect_failed(slot_t* s, int status, const uvodbc_req_t* diag) {
  uvodbc_pool_t* pool = s->pool;
  pool->connect_errors++;
  pool->backoff_ms = pool->backoff_ms == 0 ? BACKOFF_MIN_MS
                     : pool->backoff_ms >= BACKOFF_MAX_MS / 2
                         ? BACKOFF_MAX_MS
                         : pool->backoff_ms * 2;
  pool->next_connect = now_ms(pool) + pool->backoff_ms;
  initial_done(s, status);
  close_slot(s);
  if (open_count(pool) == 0 && pool->waiting.head != NULL) {
    preq_t* p = pop_waiter(pool);
    size_t i;
    for (i = 0; diag != NULL && i < diag->ndiag; i++)
      uvodbc__diags_add(&p->diags, diag->diag[i].sqlstate,
                        diag->diag[i].native, diag->diag[i].message,
                        diag->diag[i].function);
    p->status = status;
    ready_push(p);
  }
  dispatch(pool);
}

static void on_connected(uvodbc_req_t* req, int status) {
  slot_t* s = req->data;
  uvodbc_pool_t* pool = s->pool;
  if (s->state == S_CLOSING) return; /* the pool closed meanwhile */
  if (status != 0) {
    connect_failed(s, status, req);
    return;
  }
  s->created = now_ms(pool);
  if (pool->opts.setup == NULL) {
    connected(s);
    return;
  }
  set_state(s, S_SETUP);
  s->setup_pending = 1;
  s->setup.data = pool->opts.setup_data;
  s->setup.pool = pool;
  s->setup.conn = s->conn;
  memset(&s->setup.req, 0, sizeof(s->setup.req));
  pool->opts.setup(&s->setup); /* last: it may call setup_done */
}

int uvodbc_pool_setup_done(uvodbc_pool_setup_t* setup, int status) {
  slot_t* s;
  if (setup == NULL) return UV_EINVAL;
  s = (slot_t*)((char*)setup - offsetof(slot_t, setup));
  if (!s->setup_pending) return UV_EINVAL;
  s->setup_pending = 0;
  if (s->pool->closing) { /* close and terminate waited for this */
    close_slot(s);
    return 0;
  }
  if (status == 0 && uvodbc_conn_is_broken(s->conn)) status = UVODBC_ESQL;
  if (status != 0)
    connect_failed(s, status, NULL);
  else
    connected(s);
  return 0;
}

static int start_connect(uvodbc_pool_t* pool) {
  slot_t* s = uvodbc__calloc(1, sizeof(*s));
  int err;
  if (s == NULL) return UV_ENOMEM;
  s->pool = pool;
  s->state = S_CONNECTING;
  s->req.data = s;
  err = uvodbc_connect(pool->loop, &s->req, pool->connstr, &pool->opts.conn,
                       on_connected);
  if (err != 0) {
    uvodbc__free(s);
    return err;
  }
  s->conn = s->req.conn;
  s->conn->pool_slot = s;
  pool->count[S_CONNECTING]++;
  s->next = pool->slots;
  if (pool->slots != NULL) pool->slots->prev = s;
  pool->slots = s;
  if (pool->initial_started < pool->opts.min_size) {
    pool->initial_started++;
    s->initial = 1;
  }
  return 0;
}

/* ---- validation and reset ---- */

static void on_checked(uvodbc_req_t* req, int status) {
  slot_t* s = req->data;
  uvodbc_pool_t* pool = s->pool;
  if (s->state == S_CLOSING) return;
  if (status == 0 && !uvodbc_conn_is_broken(s->conn))
    make_idle(s); /* fresh: the next dispatch hands it out */
  else
    evict(s);
  dispatch(pool);
}

static void start_check(slot_t* s) {
  set_state(s, S_CHECKING);
  if (uvodbc_conn_ping(s->conn, &s->req, on_checked) != 0) evict(s);
}

static void on_reset(uvodbc_req_t* req, int status) {
  slot_t* s = req->data;
  uvodbc_pool_t* pool = s->pool;
  if (s->state == S_CLOSING) return;
  if (status == 0 && !uvodbc_conn_is_broken(s->conn))
    make_idle(s);
  else
    evict(s);
  dispatch(pool);
}

/* A borrowed slot comes back: close it, reuse it at once, or reset it. */
static void give_back(slot_t* s, int discard) {
  uvodbc_pool_t* pool = s->pool;
  if (pool->closing || discard) {
    close_slot(s);
  } else if (uvodbc_conn_is_broken(s->conn)) {
    evict(s);
  } else if (expired(pool, s, now_ms(pool))) {
    pool->expired++;
    close_slot(s);
  } else if (uvodbc__conn_is_clean(s->conn)) {
    make_idle(s);
  } else {
    set_state(s, S_RESETTING);
    if (uvodbc_conn_reset(s->conn, &s->req, on_reset) != 0) evict(s);
  }
  dispatch(pool);
}

/* ---- dispatch and maintenance ---- */

static void on_maintenance(uv_timer_t* timer);

static void schedule_maintenance(uvodbc_pool_t* pool, uint64_t now,
                                 int want_connect) {
  uint64_t next = UINT64_MAX;
  slot_t* s;
  for (s = pool->idle_head; s != NULL; s = s->idle_next) {
    if (pool->opts.max_lifetime_ms > 0 &&
        s->created + pool->opts.max_lifetime_ms < next)
      next = s->created + pool->opts.max_lifetime_ms;
    if (pool->opts.idle_timeout_ms > 0 &&
        total_count(pool) > pool->opts.min_size &&
        s->idle_since + pool->opts.idle_timeout_ms < next)
      next = s->idle_since + pool->opts.idle_timeout_ms;
  }
  if (want_connect && pool->next_connect < next) next = pool->next_connect;
  if (next == UINT64_MAX) {
    uv_timer_stop(&pool->maint_timer);
    return;
  }
  uv_timer_start(&pool->maint_timer, on_maintenance,
                 next > now ? next - now : 0, 0);
}

static void dispatch(uvodbc_pool_t* pool) {
  const uvodbc_pool_options_t* o = &pool->opts;
  uint64_t now;
  unsigned int total, connecting, soon;
  int want_connect = 0;

  if (pool->closing) return;
  now = now_ms(pool);
  /* Idle connections to waiters; pinging ones are promised to waiters. */
  while (pool->waiting.n > pool->count[S_CHECKING] &&
         pool->idle_head != NULL) {
    slot_t* s = pool->idle_head;
    if (expired(pool, s, now)) {
      pool->expired++;
      close_slot(s);
      continue;
    }
    idle_unlink(s);
    if (o->validate_after_idle_ms != UINT_MAX &&
        now - s->idle_since >= o->validate_after_idle_ms)
      start_check(s);
    else
      hand(pool, pop_waiter(pool), s);
  }
  /* New connections for waiters that nothing under way will serve. */
  total = total_count(pool);
  connecting = connecting_count(pool);
  soon = connecting + pool->count[S_CHECKING] + pool->count[S_RESETTING];
  while (pool->waiting.n > soon && total < o->max_size &&
         connecting < o->max_connecting) {
    /* Backing off after a failure, unless nothing at all is open or on
     * its way: then each waiter gets its own attempt (and its error). */
    if (now < pool->next_connect && total > 0) {
      want_connect = 1;
      break;
    }
    if (start_connect(pool) != 0) break;
    total++, connecting++, soon++;
  }
  while (total < o->min_size && connecting < o->max_connecting) {
    if (now < pool->next_connect) {
      want_connect = 1;
      break;
    }
    if (start_connect(pool) != 0) break;
    total++, connecting++;
  }
  schedule_maintenance(pool, now, want_connect);
}

/* Closes idle connections past their lifetime, and the longest idle ones
 * above min_size past the idle timeout; then refills. */
static void on_maintenance(uv_timer_t* timer) {
  uvodbc_pool_t* pool = timer->data;
  uint64_t now = now_ms(pool);
  slot_t* s;
  slot_t* next;
  unsigned int total;
  if (pool->closing) return;
  for (s = pool->idle_head; s != NULL; s = next) {
    next = s->idle_next;
    if (expired(pool, s, now)) {
      pool->expired++;
      close_slot(s);
    }
  }
  if (pool->opts.idle_timeout_ms > 0) {
    total = total_count(pool);
    for (s = pool->idle_tail; s != NULL && total > pool->opts.min_size;
         s = next) {
      next = s->idle_prev;
      if (now >= s->idle_since + pool->opts.idle_timeout_ms) {
        pool->expired++;
        close_slot(s);
        total--;
      }
    }
  }
  dispatch(pool);
}

/* ---- close ---- */

static void on_handle_closed(uv_handle_t* handle) {
  uvodbc_pool_t* pool = handle->data;
  uvodbc_pool_close_cb cb;
  if (--pool->handles > 0) return;
  cb = pool->close_cb;
  if (cb != NULL) cb(pool);
  while (pool->slots != NULL) slot_free(pool->slots);
  uvodbc__free(pool->connstr);
  uvodbc__free(pool);
}

static void maybe_finish(uvodbc_pool_t* pool) {
  if (!pool->closing || pool->finishing) return;
  if (pool->count[S_CLOSED] < slot_count(pool) || pool->nreqs > 0 ||
      pool->ready_due)
    return;
  pool->finishing = 1;
  uv_close((uv_handle_t*)&pool->wait_timer, on_handle_closed);
  uv_close((uv_handle_t*)&pool->maint_timer, on_handle_closed);
  uv_close((uv_handle_t*)&pool->ready_idle, on_handle_closed);
}

static void shut_down(uvodbc_pool_t* pool) {
  preq_t* p;
  slot_t* s;
  slot_t* next;
  while (pool->waiting.head != NULL) {
    p = pop_waiter(pool);
    p->status = UVODBC_ECLOSED;
    ready_push(p);
  }
  /* Connections handed out but not yet delivered go back and close. */
  for (p = pool->ready.head; p != NULL; p = p->next) {
    if (p->slot == NULL) continue;
    s = p->slot;
    p->slot = NULL;
    p->status = UVODBC_ECLOSED;
    close_slot(s);
  }
  uv_timer_stop(&pool->maint_timer);
  if (pool->ready_pending && !pool->ready_due) {
    pool->ready_due = 1;
    pool->ready_status = UVODBC_ECLOSED;
    ready_schedule(pool);
  }
  for (s = pool->slots; s != NULL; s = next) {
    next = s->next;
    if (s->state == S_BORROWED && pool->closing != 2) continue;
    if (s->state == S_BORROWED && s->job == NULL) s->revoked = 1;
    /* The hook holds setup->conn until it calls setup_done, which then
     * closes it: the handle must not be freed under the hook. */
    if (s->state == S_SETUP) continue;
    close_slot(s);
  }
  maybe_finish(pool);
}

/* ---- public API ---- */

void uvodbc_pool_options_init(uvodbc_pool_options_t* opts) {
  if (opts != NULL) memset(opts, 0, sizeof(*opts));
}

int uvodbc_pool_create(uv_loop_t* loop, uvodbc_pool_t** out,
                       const char* connstr, const uvodbc_pool_options_t* opts,
                       uvodbc_pool_ready_cb ready_cb) {
  uvodbc_pool_options_t o;
  uvodbc_pool_t* pool;
  unsigned int limit, threads;

  if (loop == NULL || out == NULL || connstr == NULL) return UV_EINVAL;
  if (opts != NULL)
    o = *opts;
  else
    memset(&o, 0, sizeof(o));
  /* The footprint rule (see uvodbc.h). */
  limit = uvodbc_get_worker_limit();
  threads = threadpool_size();
  if (o.max_size == 0)
    o.max_size = limit < threads ? limit : threads > 1 ? threads - 1 : 1;
  if (!o.oversubscribe && (o.max_size > limit || o.max_size >= threads))
    return UV_EINVAL;
  if (o.min_size > o.max_size) return UV_EINVAL;
  if (o.max_connecting == 0) o.max_connecting = DEFAULT_MAX_CONNECTING;
  if (o.max_connecting > o.max_size) o.max_connecting = o.max_size;
  if (o.acquire_timeout_ms == 0) o.acquire_timeout_ms = DEFAULT_ACQUIRE_TIMEOUT_MS;
  if (o.validate_after_idle_ms == 0)
    o.validate_after_idle_ms = DEFAULT_VALIDATE_AFTER_MS;

  pool = uvodbc__calloc(1, sizeof(*pool));
  if (pool == NULL) return UV_ENOMEM;
  pool->connstr = uvodbc__strdup(connstr);
  if (pool->connstr == NULL) {
    uvodbc__free(pool);
    return UV_ENOMEM;
  }
  pool->loop = loop;
  pool->opts = o;
  pool->ready_cb = ready_cb;
  pool->ready_pending = ready_cb != NULL;
  pool->initial_left = o.min_size;
  uv_timer_init(loop, &pool->wait_timer);
  uv_timer_init(loop, &pool->maint_timer);
  uv_idle_init(loop, &pool->ready_idle);
  pool->wait_timer.data = pool->maint_timer.data = pool->ready_idle.data =
      pool;
  /* Housekeeping alone does not keep the loop alive. */
  uv_unref((uv_handle_t*)&pool->maint_timer);
  pool->handles = 3;
  if (o.min_size == 0 && pool->ready_pending) {
    pool->ready_due = 1;
    ready_schedule(pool);
  }
  dispatch(pool);
  *out = pool;
  return 0;
}

static preq_t* preq_new(uvodbc_pool_t* pool, uvodbc_req_t* req,
                        uvodbc_req_cb cb, preq_kind_t kind) {
  preq_t* p = uvodbc__calloc(1, sizeof(*p));
  if (p == NULL) return NULL;
  p->pool = pool;
  p->req = req;
  p->cb = cb;
  p->kind = kind;
  p->start_ns = uv_hrtime();
  pool->nreqs++;
  return p;
}

static void enqueue(uvodbc_pool_t* pool, preq_t* p, uvodbc_req_type_t type) {
  uvodbc_req_t* req = p->req;
  void* data = req->data;
  memset(req, 0, sizeof(*req));
  req->data = data;
  req->type = type;
  req->rows_affected = -1;
  p->state = P_WAITING;
  p->deadline = now_ms(pool) + pool->opts.acquire_timeout_ms;
  list_push(&pool->waiting, p);
  if (!uv_is_active((uv_handle_t*)&pool->wait_timer))
    uv_timer_start(&pool->wait_timer, on_wait_timeout,
                   pool->opts.acquire_timeout_ms, 0);
  dispatch(pool);
}

int uvodbc_pool_acquire(uvodbc_pool_t* pool, uvodbc_req_t* req,
                        uvodbc_req_cb cb) {
  preq_t* p;
  if (pool == NULL || req == NULL) return UV_EINVAL;
  if (pool->closing) return UVODBC_ECLOSED;
  p = preq_new(pool, req, cb, P_ACQUIRE);
  if (p == NULL) return UV_ENOMEM;
  enqueue(pool, p, UVODBC_REQ_ACQUIRE);
  return 0;
}

static void on_statement(uvodbc_req_t* inner, int status) {
  preq_t* p = inner->data;
  uvodbc_pool_t* pool = p->pool;
  slot_t* s = p->slot;
  uvodbc_req_t* req = p->req;
  uvodbc_req_cb cb = p->cb;

  list_unlink(&pool->running, p);
  req->status = status;
  req->rows_affected = inner->rows_affected;
  req->ndiag = inner->ndiag; /* valid until this callback returns */
  req->diag = inner->diag;
  if (p->kind == P_QUERY && status == 0) {
    req->batch = inner->batch; /* ownership moves to the caller's req */
    inner->batch = NULL;
  }
  if (inner->cursor != NULL) { /* pool_exec returns no rows */
    uvodbc_cursor_close(inner->cursor, NULL);
    req->rows_affected = -1;
  }
  s->job = NULL;
  p->slot = NULL;
  if (s->state == S_BORROWED) give_back(s, 0); /* else terminated */
  preq_free(p);
  if (cb != NULL) cb(req, status);
  maybe_finish(pool);
}

static int start_job(uvodbc_pool_t* pool, uvodbc_req_t* req, preq_kind_t kind,
                     const char* sql, const uvodbc_param_t* params,
                     size_t nparams, const uvodbc_exec_options_t* opts,
                     uvodbc_req_cb cb) {
  preq_t* p;
  size_t i;
  int err;
  if (pool == NULL || req == NULL || sql == NULL) return UV_EINVAL;
  if (nparams > 0 && params == NULL) return UV_EINVAL;
  for (i = 0; i < nparams; i++) /* an OUT value would have nowhere to go */
    if (params[i].direction != UVODBC_PARAM_IN) return UV_EINVAL;
  if (pool->closing) return UVODBC_ECLOSED;
  p = preq_new(pool, req, cb, kind);
  if (p == NULL) return UV_ENOMEM;
  p->sql = uvodbc__strdup(sql);
  err = p->sql == NULL ? UV_ENOMEM
                       : uvodbc__params_copy(&p->params, params, nparams);
  if (err != 0) {
    preq_free(p);
    return err;
  }
  if (opts != NULL) {
    p->opts = *opts;
    p->has_opts = 1;
  }
  enqueue(pool, p, kind == P_EXEC ? UVODBC_REQ_EXEC : UVODBC_REQ_QUERY);
  return 0;
}

int uvodbc_pool_exec(uvodbc_pool_t* pool, uvodbc_req_t* req, const char* sql,
                     const uvodbc_param_t* params, size_t nparams,
                     const uvodbc_exec_options_t* opts, uvodbc_req_cb cb) {
  return start_job(pool, req, P_EXEC, sql, params, nparams, opts, cb);
}

int uvodbc_pool_query(uvodbc_pool_t* pool, uvodbc_req_t* req,
                      const char* sql, const uvodbc_param_t* params,
                      size_t nparams, const uvodbc_exec_options_t* opts,
                      uvodbc_req_cb cb) {
  return start_job(pool, req, P_QUERY, sql, params, nparams, opts, cb);
}

/* The slot of `conn`, found by address only: the caller's pointer may be
 * to a connection this pool closed and freed, or to none of its own. */
static slot_t* find_slot(uvodbc_pool_t* pool, const uvodbc_conn_t* conn) {
  slot_t* s;
  slot_t* closed = NULL;
  for (s = pool->slots; s != NULL; s = s->next) {
    if (s->conn != conn) continue;
    if (s->state != S_CLOSED) return s;
    closed = s; /* a live slot wins if the address was reused */
  }
  return closed;
}

static int take_back(uvodbc_pool_t* pool, uvodbc_conn_t* conn, int discard) {
  slot_t* s;
  if (pool == NULL || conn == NULL) return UV_EINVAL;
  s = find_slot(pool, conn);
  if (s == NULL) return UV_EINVAL;
  if (s->revoked) return 0; /* terminated under its borrower */
  if (s->state != S_BORROWED || s->job != NULL) return UV_EINVAL;
  give_back(s, discard);
  return 0;
}

int uvodbc_pool_release(uvodbc_pool_t* pool, uvodbc_conn_t* conn) {
  return take_back(pool, conn, 0);
}

int uvodbc_pool_discard(uvodbc_pool_t* pool, uvodbc_conn_t* conn) {
  return take_back(pool, conn, 1);
}

int uvodbc_pool_cancel(uvodbc_pool_t* pool, uvodbc_req_t* req) {
  preq_t* p;
  if (pool == NULL || req == NULL) return UV_EINVAL;
  p = list_find(&pool->waiting, req);
  if (p != NULL) {
    list_unlink(&pool->waiting, p);
    if (pool->waiting.head == NULL) uv_timer_stop(&pool->wait_timer);
    p->status = UV_ECANCELED;
    ready_push(p);
    dispatch(pool);
    return 0;
  }
  p = list_find(&pool->ready, req);
  if (p != NULL) {
    slot_t* s = p->slot;
    if (s == NULL) return UV_EINVAL; /* already failed; callback pending */
    p->slot = NULL; /* handed out but not delivered: take it back */
    p->status = UV_ECANCELED;
    idle_push(s);
    dispatch(pool);
    return 0;
  }
  p = list_find(&pool->running, req);
  if (p != NULL) return uvodbc_req_cancel(&p->inner);
  return UV_EINVAL;
}

int uvodbc_pool_close(uvodbc_pool_t* pool, uvodbc_pool_close_cb cb) {
  if (pool == NULL || pool->closing) return UV_EINVAL;
  pool->closing = 1;
  pool->close_cb = cb;
  shut_down(pool);
  return 0;
}

int uvodbc_pool_terminate(uvodbc_pool_t* pool, uvodbc_pool_close_cb cb) {
  if (pool == NULL || pool->closing == 2 || pool->finishing) return UV_EINVAL;
  if (pool->closing == 0 || cb != NULL) pool->close_cb = cb;
  pool->closing = 2;
  shut_down(pool);
  return 0;
}

int uvodbc_pool_stats(const uvodbc_pool_t* pool, uvodbc_pool_stats_t* st) {
  if (pool == NULL || st == NULL) return UV_EINVAL;
  memset(st, 0, sizeof(*st));
  st->size = open_count(pool);
  st->idle = pool->count[S_IDLE];
  st->in_use = st->size - st->idle;
  st->waiting = pool->waiting.n;
  st->connecting = connecting_count(pool);
  st->acquires = pool->acquires;
  st->timeouts = pool->timeouts;
  st->connects = pool->connects;
  st->connect_errors = pool->connect_errors;
  st->evictions = pool->evictions;
  st->expired = pool->expired;
  st->wait_mean_us =
      pool->acquires > 0 ? pool->wait_total_us / pool->acquires : 0;
  st->wait_max_us = pool->wait_max_us;
  return 0;
}

void* uvodbc_pool_get_data(const uvodbc_pool_t* pool) {
  return pool != NULL ? pool->data : NULL;
}

void uvodbc_pool_set_data(uvodbc_pool_t* pool, void* data) {
  if (pool != NULL) pool->data = data;
}

uv_loop_t* uvodbc_pool_get_loop(const uvodbc_pool_t* pool) {
  return pool != NULL ? pool->loop : NULL;
}
