/* Pool requests: the FIFO of acquires and one-call jobs waiting for a
 * connection, their shared timeout, the hand-off of idle slots to them
 * (dispatch), and delivery of results that need no thread hop on a later
 * loop iteration. */
#include <limits.h>
#include <string.h>

#include "pool-internal.h"

/* ---- lists ---- */

void uvodbc__preq_list_push(preq_list_t* l, preq_t* p) {
  p->next = NULL;
  p->prev = l->tail;
  if (l->tail != NULL)
    l->tail->next = p;
  else
    l->head = p;
  l->tail = p;
  l->n++;
}

void uvodbc__preq_list_unlink(preq_list_t* l, preq_t* p) {
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

preq_t* uvodbc__preq_list_find(const preq_list_t* l,
                               const uvodbc_req_t* req) {
  preq_t* p;
  for (p = l->head; p != NULL; p = p->next)
    if (p->req == req) return p;
  return NULL;
}

/* ---- requests ---- */

preq_t* uvodbc__preq_new(uvodbc_pool_t* pool, uvodbc_req_t* req,
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

void uvodbc__preq_free(preq_t* p) {
  uvodbc__req_forget(p->req, p);
  p->pool->nreqs--;
  uvodbc__diags_free(&p->diags);
  uvodbc__params_free(&p->params);
  uvodbc__free(p->sql);
  uvodbc__free(p);
}

/* ---- delivery on a later tick ---- */

static void deliver(preq_t* p) {
  uvodbc_pool_t* pool = p->pool;
  uvodbc_req_t* req = p->req;
  uvodbc_req_cb cb = p->cb;
  int status = p->status;
  uvodbc__diags_t diags = p->diags;
  uint64_t began;

  memset(&p->diags, 0, sizeof(p->diags));
  if (status == 0 && p->kind == P_ACQUIRE) {
    req->conn = p->slot->conn;
    uvodbc__pool_count_acquire(pool, p, uv_hrtime());
  } else if (status != 0) {
    uvodbc__pool_count_failed(pool, status);
  }
  req->status = status;
  req->ndiag = diags.n;
  req->diag = diags.recs;
  uvodbc__req_untrack(req, p); /* reusable from the callback */
  uvodbc__preq_free(p);
  began = uvodbc__cb_begin();
  if (cb != NULL) cb(req, status);
  uvodbc__cb_end(began, "pool acquire", NULL);
  uvodbc__diags_free(&diags);
}

static void on_ready(uv_idle_t* idle) {
  uvodbc_pool_t* pool = idle->data;
  unsigned int n = pool->ready.n;
  if (pool->ready_due) {
    uvodbc_pool_ready_cb cb = pool->ready_cb;
    pool->ready_due = 0;
    uint64_t began = uvodbc__cb_begin();
    pool->ready_pending = 0;
    if (cb != NULL) cb(pool, pool->ready_status);
    uvodbc__cb_end(began, "pool ready callback", NULL);
  }
  /* Only what was ready before: later arrivals wait for the next turn. */
  while (n-- > 0 && pool->ready.head != NULL) {
    preq_t* p = pool->ready.head;
    uvodbc__preq_list_unlink(&pool->ready, p);
    deliver(p);
  }
  if (pool->ready.head == NULL && !pool->ready_due && !pool->finishing)
    uv_idle_stop(&pool->ready_idle);
  uvodbc__pool_finish(pool);
}

void uvodbc__pool_ready_schedule(uvodbc_pool_t* pool) {
  if (!pool->finishing) uv_idle_start(&pool->ready_idle, on_ready);
}

void uvodbc__pool_ready_push(preq_t* p) {
  p->state = P_READY;
  uvodbc__preq_list_push(&p->pool->ready, p);
  uvodbc__pool_ready_schedule(p->pool);
}

/* ---- the waiting queue ---- */

static void on_wait_timeout(uv_timer_t* timer) {
  uvodbc_pool_t* pool = timer->data;
  uint64_t now = pool_now(pool);
  while (pool->waiting.head != NULL && pool->waiting.head->deadline <= now) {
    preq_t* p = pool->waiting.head;
    uvodbc__preq_list_unlink(&pool->waiting, p);
    p->status = UV_ETIMEDOUT;
    pool->timeouts++;
    uvodbc__pool_ready_push(p);
  }
  if (pool->waiting.head != NULL)
    uv_timer_start(&pool->wait_timer, on_wait_timeout,
                   pool->waiting.head->deadline - now, 0);
  uvodbc__pool_dispatch(pool); /* fewer waiters: maybe fewer connects */
}

void uvodbc__pool_enqueue(uvodbc_pool_t* pool, preq_t* p,
                          uvodbc_req_type_t type) {
  uvodbc_req_t* req = p->req;
  void* data = req->data;
  uvodbc__req_track(req, p);
  memset(req, 0, sizeof(*req));
  req->data = data;
  req->type = type;
  req->rows_affected = -1;
  p->state = P_WAITING;
  p->deadline = pool_now(pool) + pool->opts.acquire_timeout_ms;
  uvodbc__preq_list_push(&pool->waiting, p);
  if (!uv_is_active((uv_handle_t*)&pool->wait_timer))
    uv_timer_start(&pool->wait_timer, on_wait_timeout,
                   pool->opts.acquire_timeout_ms, 0);
  uvodbc__pool_dispatch(pool);
}

static void unlink_waiter(uvodbc_pool_t* pool, preq_t* p) {
  uvodbc__preq_list_unlink(&pool->waiting, p);
  /* Waiters share one timeout, so the head has the earliest deadline;
   * with nobody waiting the timer must not keep the loop alive. */
  if (pool->waiting.head == NULL) uv_timer_stop(&pool->wait_timer);
}

preq_t* uvodbc__pool_pop_waiter(uvodbc_pool_t* pool) {
  preq_t* p = pool->waiting.head;
  unlink_waiter(pool, p);
  return p;
}

int uvodbc__pool_unwait(uvodbc_pool_t* pool, const uvodbc_req_t* req,
                        preq_t** out) {
  preq_t* p = uvodbc__preq_list_find(&pool->waiting, req);
  if (p == NULL) return UV_EINVAL;
  unlink_waiter(pool, p);
  *out = p;
  return 0;
}

/* ---- hand-off ---- */

static void hand(preq_t* p, slot_t* s) {
  uvodbc__slot_set_state(s, S_BORROWED);
  if (p->kind == P_ACQUIRE) {
    p->slot = s;
    p->status = 0;
    uvodbc__pool_ready_push(p);
  } else {
    uvodbc__job_start(p, s);
  }
}

void uvodbc__pool_dispatch(uvodbc_pool_t* pool) {
  const uvodbc_pool_options_t* o = &pool->opts;
  uint64_t now;
  unsigned int total, connecting, soon;
  int want_connect = 0;

  if (pool->closing) return;
  now = pool_now(pool);
  /* Idle connections to waiters; pinging ones are promised to waiters. */
  while (pool->waiting.n > pool->count[S_CHECKING] &&
         pool->idle_head != NULL) {
    slot_t* s = pool->idle_head;
    if (uvodbc__slot_expired(s, now)) {
      pool->expired++;
      uvodbc__slot_close(s);
      continue;
    }
    uvodbc__slot_idle_unlink(s);
    if (o->validate_after_idle_ms != UINT_MAX &&
        now - s->idle_since >= o->validate_after_idle_ms)
      uvodbc__slot_check(s);
    else
      hand(uvodbc__pool_pop_waiter(pool), s);
  }
  /* New connections for waiters that nothing under way will serve. */
  total = pool_total_count(pool);
  connecting = pool_connecting_count(pool);
  soon = connecting + pool->count[S_CHECKING] + pool->count[S_RESETTING];
  while (pool->waiting.n > soon && total < o->max_size &&
         connecting < o->max_connecting) {
    /* Backing off after a failure, unless nothing at all is open or on
     * its way: then each waiter gets its own attempt (and its error). */
    if (now < pool->next_connect && total > 0) {
      want_connect = 1;
      break;
    }
    if (uvodbc__slot_connect(pool) != 0) break;
    total++, connecting++, soon++;
  }
  uvodbc__pool_maintain(pool, now, want_connect);
}
