/* Pool slots: one connection each, from connect (and the setup hook)
 * through the idle list, the ping before checkout, the reset after
 * release, to eviction and close. */
#include <stddef.h>
#include <string.h>

#include "pool-internal.h"

#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 10000

void uvodbc__slot_set_state(slot_t* s, slot_state_t state) {
  s->pool->count[s->state]--;
  s->pool->count[state]++;
  s->state = state;
}

int uvodbc__slot_expired(const slot_t* s, uint64_t now) {
  unsigned int lifetime = s->pool->opts.max_lifetime_ms;
  return lifetime > 0 && now >= s->created + lifetime;
}

/* ---- the idle list ---- */

void uvodbc__slot_idle_push(slot_t* s) {
  uvodbc_pool_t* pool = s->pool;
  uvodbc__slot_set_state(s, S_IDLE);
  s->idle_prev = NULL;
  s->idle_next = pool->idle_head;
  if (pool->idle_head != NULL)
    pool->idle_head->idle_prev = s;
  else
    pool->idle_tail = s;
  pool->idle_head = s;
}

void uvodbc__slot_idle_unlink(slot_t* s) {
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
  s->idle_since = pool_now(s->pool);
  uvodbc__slot_idle_push(s);
}

/* ---- close ---- */

void uvodbc__slot_free(slot_t* s) {
  uvodbc_pool_t* pool = s->pool;
  if (s->state == S_CLOSED) uvodbc__free(s->conn); /* closed, kept for us */
  pool->count[s->state]--;
  if (s->prev != NULL)
    s->prev->next = s->next;
  else
    pool->slots = s->next;
  if (s->next != NULL) s->next->prev = s->prev;
  uvodbc__free(s);
}

/* A closing pool keeps the slot, and the connection's memory, until its
 * own close callback: a borrower may still name the connection (release,
 * or an operation that fails with UVODBC_ECLOSED, after terminate).
 * Otherwise the connection is freed when this returns. */
static void on_slot_closed(uvodbc_conn_t* conn) {
  slot_t* s = conn->pool_slot;
  uvodbc_pool_t* pool = s->pool;
  if (pool->closing) {
    uvodbc__slot_set_state(s, S_CLOSED);
  } else {
    conn->pool_slot = NULL;
    uvodbc__slot_free(s);
  }
  uvodbc__pool_finish(pool);
}

void uvodbc__slot_close(slot_t* s) {
  if (s->state == S_CLOSING || s->state == S_CLOSED) return;
  if (s->state == S_IDLE) uvodbc__slot_idle_unlink(s);
  uvodbc__slot_set_state(s, S_CLOSING);
  /* Fails only out of memory: the slot then stays CLOSING (leaked). */
  uvodbc__conn_close(s->conn, on_slot_closed);
}

static void evict(slot_t* s) {
  s->pool->evictions++;
  uvodbc__slot_close(s);
}

slot_t* uvodbc__slot_find(uvodbc_pool_t* pool, const uvodbc_conn_t* conn) {
  slot_t* s;
  slot_t* closed = NULL;
  for (s = pool->slots; s != NULL; s = s->next) {
    if (s->conn != conn) continue;
    if (s->state != S_CLOSED) return s;
    closed = s; /* a live slot wins if the address was reused */
  }
  return closed;
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
    uvodbc__pool_ready_schedule(pool);
  }
}

static void connected(slot_t* s) {
  uvodbc_pool_t* pool = s->pool;
  pool->connects++;
  pool->backoff_ms = 0;
  pool->next_connect = 0;
  initial_done(s, 0);
  make_idle(s);
  uvodbc__pool_dispatch(pool);
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
  pool->next_connect = pool_now(pool) + pool->backoff_ms;
  initial_done(s, status);
  uvodbc__slot_close(s);
  if (pool_open_count(pool) == 0 && pool->waiting.head != NULL) {
    preq_t* p = uvodbc__pool_pop_waiter(pool);
    size_t i;
    for (i = 0; diag != NULL && i < diag->ndiag; i++)
      uvodbc__diags_add(&p->diags, diag->diag[i].sqlstate,
                        diag->diag[i].native, diag->diag[i].message,
                        diag->diag[i].function);
    p->status = status;
    uvodbc__pool_ready_push(p);
  }
  uvodbc__pool_dispatch(pool);
}

static void on_connected(uvodbc_req_t* req, int status) {
  slot_t* s = req->data;
  uvodbc_pool_t* pool = s->pool;
  uint64_t began;
  if (s->state == S_CLOSING) return; /* the pool closed meanwhile */
  if (status != 0) {
    connect_failed(s, status, req);
    return;
  }
  s->created = pool_now(pool);
  if (pool->opts.setup == NULL) {
    connected(s);
    return;
  }
  uvodbc__slot_set_state(s, S_SETUP);
  s->setup_pending = 1;
  s->setup.data = pool->opts.setup_data;
  s->setup.pool = pool;
  s->setup.conn = s->conn;
  memset(&s->setup.req, 0, sizeof(s->setup.req));
  began = uvodbc__cb_begin();
  pool->opts.setup(&s->setup); /* last: it may call setup_done */
  uvodbc__cb_end(began, "pool setup hook", NULL);
}

int uvodbc_pool_setup_done(uvodbc_pool_setup_t* setup, int status) {
  slot_t* s;
  if (setup == NULL) return UV_EINVAL;
  s = (slot_t*)((char*)setup - offsetof(slot_t, setup));
  if (!s->setup_pending) return UV_EINVAL;
  s->setup_pending = 0;
  if (s->pool->closing) { /* close and terminate waited for this */
    uvodbc__slot_close(s);
    return 0;
  }
  if (status == 0 && uvodbc_conn_is_broken(s->conn)) status = UVODBC_ESQL;
  if (status != 0)
    connect_failed(s, status, NULL);
  else
    connected(s);
  return 0;
}

int uvodbc__slot_connect(uvodbc_pool_t* pool) {
  slot_t* s = uvodbc__calloc(1, sizeof(*s));
  int err;
  if (s == NULL) return UV_ENOMEM;
  s->pool = pool;
  s->state = S_CONNECTING;
  s->req.data = s;
  err = uvodbc__connect(pool->loop, &s->req, pool->connstr, &pool->opts.conn,
                        pool, on_connected);
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

/* ---- ping before checkout, reset after release ---- */

/* The ping or reset ended: idle again, or evicted. */
static void on_checked(uvodbc_req_t* req, int status) {
  slot_t* s = req->data;
  uvodbc_pool_t* pool = s->pool;
  if (s->state == S_CLOSING) return;
  uvodbc__pool_count_time(
      s->state == S_CHECKING ? &pool->validations : &pool->resets,
      s->check_ns);
  if (status == 0 && !uvodbc_conn_is_broken(s->conn))
    make_idle(s); /* fresh: the next dispatch hands it out */
  else
    evict(s);
  uvodbc__pool_dispatch(pool);
}

void uvodbc__slot_check(slot_t* s) {
  uvodbc__slot_set_state(s, S_CHECKING);
  s->check_ns = uv_hrtime();
  if (uvodbc_conn_ping(s->conn, &s->req, on_checked) != 0) evict(s);
}

void uvodbc__slot_give_back(slot_t* s, int discard) {
  uvodbc_pool_t* pool = s->pool;
  if (pool->closing || discard) {
    uvodbc__slot_close(s);
  } else if (uvodbc_conn_is_broken(s->conn)) {
    evict(s);
  } else if (uvodbc__slot_expired(s, pool_now(pool))) {
    pool->expired++;
    uvodbc__slot_close(s);
  } else if (uvodbc__conn_is_clean(s->conn)) {
    make_idle(s);
  } else {
    uvodbc__slot_set_state(s, S_RESETTING);
    s->check_ns = uv_hrtime();
    if (uvodbc_conn_reset(s->conn, &s->req, on_checked) != 0) evict(s);
  }
  uvodbc__pool_dispatch(pool);
}
