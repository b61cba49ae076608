/* The pool handle: create, close and terminate, and the public calls
 * that only route to the pool's parts (see pool-internal.h for the whole
 * picture). */
#include <string.h>

#include "pool-internal.h"

#define DEFAULT_MAX_CONNECTING 2
#define DEFAULT_ACQUIRE_TIMEOUT_MS 30000
#define DEFAULT_VALIDATE_AFTER_MS 5000

/* ---- close ---- */

static void on_handle_closed(uv_handle_t* handle) {
  uvodbc_pool_t* pool = handle->data;
  uvodbc_pool_close_cb cb;
  uint64_t began;
  if (--pool->handles > 0) return;
  uvodbc__walk_remove(&pool->walk);
  cb = pool->close_cb;
  began = uvodbc__cb_begin();
  if (cb != NULL) cb(pool);
  uvodbc__cb_end(began, "pool close callback", NULL);
  while (pool->slots != NULL) uvodbc__slot_free(pool->slots);
  uvodbc__free_secret(pool->connstr);
  uvodbc__free(pool);
}

void uvodbc__pool_finish(uvodbc_pool_t* pool) {
  if (!pool->closing || pool->finishing) return;
  if (pool_total_count(pool) > 0 || pool->count[S_CLOSING] > 0 ||
      pool->nreqs > 0 || pool->ready_due)
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
    p = uvodbc__pool_pop_waiter(pool);
    p->status = UVODBC_ECLOSED;
    uvodbc__pool_ready_push(p);
  }
  /* Connections handed out but not yet delivered go back and close. */
  for (p = pool->ready.head; p != NULL; p = p->next) {
    if (p->slot == NULL) continue;
    s = p->slot;
    p->slot = NULL;
    p->status = UVODBC_ECLOSED;
    uvodbc__slot_close(s);
  }
  uv_timer_stop(&pool->maint_timer);
  if (pool->ready_pending && !pool->ready_due) {
    pool->ready_due = 1;
    pool->ready_status = UVODBC_ECLOSED;
    uvodbc__pool_ready_schedule(pool);
  }
  for (s = pool->slots; s != NULL; s = next) {
    next = s->next;
    if (s->state == S_BORROWED && pool->closing != 2) continue;
    if (s->state == S_BORROWED && s->job == NULL) s->revoked = 1;
    /* The hook holds setup->conn until it calls setup_done, which then
     * closes it: the handle must not be freed under the hook. */
    if (s->state == S_SETUP) continue;
    uvodbc__slot_close(s);
  }
  uvodbc__pool_finish(pool);
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
  threads = uvodbc__threadpool_size();
  if (limit == 0) return UVODBC_ENOWORKER; /* as uvodbc_connect() */
  if (o.max_size == 0)
    o.max_size = limit < threads ? limit : threads > 1 ? threads - 1 : 1;
  if (!o.oversubscribe && (o.max_size > limit || o.max_size >= threads)) {
    if (uvodbc__debug_on())
      uvodbc__debug_log("misuse: uvodbc_pool_create: max_size %u, but the "
                        "worker limit is %u and UV_THREADPOOL_SIZE %u "
                        "(UVODBC_EPOOLSIZE)",
                        o.max_size, limit, threads);
    return UVODBC_EPOOLSIZE;
  }
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
    uvodbc__pool_ready_schedule(pool);
  }
  pool->created_ns = uv_hrtime();
  uvodbc__walk_add(&pool->walk, loop, UVODBC_HANDLE_POOL, pool,
                   pool->created_ns);
  uvodbc__pool_dispatch(pool);
  *out = pool;
  return 0;
}

int uvodbc_pool_acquire(uvodbc_pool_t* pool, uvodbc_req_t* req,
                        uvodbc_req_cb cb) {
  preq_t* p;
  int err;
  if (pool == NULL || req == NULL) return UV_EINVAL;
  if (pool->closing) return UVODBC_ECLOSED;
  if ((err = uvodbc__req_start(req, "pool acquire")) != 0) return err;
  p = uvodbc__preq_new(pool, req, cb, P_ACQUIRE);
  if (p == NULL) return UV_ENOMEM;
  uvodbc__pool_enqueue(pool, p, UVODBC_REQ_ACQUIRE);
  return 0;
}

/* The caller's conn is found by address, never read: it may be a handle
 * this pool closed and freed (a second release, or one after terminate). */
static int take_back(uvodbc_pool_t* pool, uvodbc_conn_t* conn, int discard) {
  slot_t* s;
  if (pool == NULL || conn == NULL) return UV_EINVAL;
  s = uvodbc__slot_find(pool, conn);
  if (s == NULL) return UV_EINVAL;
  if (s->revoked) return 0; /* terminated under its borrower */
  if (s->state != S_BORROWED || s->job != NULL) return UV_EINVAL;
  uvodbc__slot_give_back(s, discard);
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
  if (uvodbc__pool_unwait(pool, req, &p) == 0) {
    p->status = UV_ECANCELED;
    uvodbc__pool_ready_push(p);
    uvodbc__pool_dispatch(pool);
    return 0;
  }
  p = uvodbc__preq_list_find(&pool->ready, req);
  if (p != NULL) {
    slot_t* s = p->slot;
    if (s == NULL) return UV_EINVAL; /* already failed; callback pending */
    p->slot = NULL; /* handed out but not delivered: take it back */
    p->status = UV_ECANCELED;
    uvodbc__slot_idle_push(s);
    uvodbc__pool_dispatch(pool);
    return 0;
  }
  p = uvodbc__preq_list_find(&pool->running, req);
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
  if (pool == NULL || pool->closing == 2) return UV_EINVAL;
  if (pool->closing == 0 || cb != NULL) pool->close_cb = cb;
  pool->closing = 2;
  /* A graceful close that already closed everything: only its callback is
   * left to come, and it is this one now. */
  if (!pool->finishing) shut_down(pool);
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
