/* The pool's private header: connections to one connection string, lent to
 * one borrower at a time (docs/design.md, section 5).
 *
 * A layer above connections: every connection is driven only through the
 * public API (uvodbc_connect, _ping, _reset, _close), plus
 * uvodbc__conn_is_clean() (reset would have nothing to undo, so release
 * needs no thread hop), a back-pointer in the connection to its slot, and
 * uvodbc__exec_start_owned() (a pool exec/query hands its one copy of the
 * text and parameters to the connection).
 *
 * The files, one concept each:
 *   pool.c             create, close, terminate, the public glue
 *   pool-slots.c       slots: connect, setup, ping, reset, the idle list,
 *                      eviction, give-back
 *   pool-waiters.c     the FIFO of requests, their timeout, the hand-off of
 *                      idle slots (dispatch), delivery on a later tick
 *   pool-jobs.c        uvodbc_pool_exec / _query: one statement on a slot
 *   pool-maintenance.c the timer: lifetime, idle timeout, min_size, backoff
 *   pool-stats.c       statistics: the wait histogram, outcomes, timings
 *
 * Each connection lives in a slot: CONNECTING -> (SETUP) -> IDLE <->
 * CHECKING (ping) / BORROWED -> RESETTING -> IDLE, and CLOSING from any
 * state until its close callback; then the slot is freed, or, once the
 * pool closes, kept as CLOSED until the pool's close callback.  Requests
 * (acquire, exec, query) wait in one FIFO; dispatch() hands idle slots to
 * them and opens connections for the rest.  Results that need no thread
 * hop are delivered from an idle handle on a later loop iteration, never
 * inside the starting call and never inside another request's call. */
#ifndef UVODBC_POOL_INTERNAL_H
#define UVODBC_POOL_INTERNAL_H

#include <stdint.h>

#include "internal.h"

typedef enum {
  S_CONNECTING, /* uvodbc_connect pending                         */
  S_SETUP,      /* the setup hook runs                            */
  S_IDLE,
  S_CHECKING,   /* pinged before checkout                         */
  S_BORROWED,   /* with a borrower, or running a pool exec/query  */
  S_RESETTING,  /* uvodbc_conn_reset after release                */
  S_CLOSING,    /* uvodbc_conn_close pending                      */
  S_CLOSED,     /* closed while the pool closes: kept, with the
                   connection's memory, until the pool's close
                   callback                                       */
  S_NSTATES
} slot_state_t;

typedef struct slot_s slot_t;
typedef struct preq_s preq_t;

struct slot_s {
  uvodbc_pool_setup_t setup;
  uvodbc_pool_t* pool;
  uvodbc_conn_t* conn; /* closed but not freed once CLOSED            */
  slot_state_t state;
  uint64_t created;    /* uv_now() at connect                     */
  uint64_t idle_since;
  int initial;         /* one of create's min_size connects        */
  int setup_pending;   /* the hook has not called done yet; the pool
                          does not close the connection before      */
  int revoked;         /* borrowed when terminate closed it: release
                          is a no-op until the pool's close callback */
  preq_t* job;         /* the pool exec/query running on it          */
  uint64_t check_ns;   /* uv_hrtime() at the ping or reset            */
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
  uvodbc__params_t params; /* the one copy: moves to the statement    */
  uvodbc_exec_options_t opts;
  int has_opts;
  uvodbc_req_t inner;
};

/* The wait histogram (pool-stats.c): 32 buckets per power of two of the
 * wait in microseconds, waits from 2^40 us (12 days) on in the last. */
#define POOL_WAIT_SUB_BITS 5
#define POOL_WAIT_MAX_BITS 40
#define POOL_WAIT_BUCKETS \
  ((POOL_WAIT_MAX_BITS - POOL_WAIT_SUB_BITS + 1) << POOL_WAIT_SUB_BITS)

typedef enum {
  OUT_OK,
  OUT_SQL_ERROR,
  OUT_TIMEOUT,
  OUT_CANCELLED,
  OUT_DISCONNECT,
  OUT_OTHER,
  POOL_NOUTCOMES
} pool_outcome_t;

typedef struct {
  uint64_t n, total_us, max_us;
} pool_timing_t;

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
  uint64_t wait_hist[POOL_WAIT_BUCKETS]; /* acquires by wait, log scale  */
  uint64_t ops[POOL_NOUTCOMES];
  uint64_t acquire_cancelled, acquire_errors;
  pool_timing_t resets, validations;
  uint64_t created_ns;        /* uv_hrtime() at create                  */
  uvodbc__walk_node_t walk;   /* until its close callback (walk.c)      */
};

/* ---- counts ---- */

static inline unsigned int pool_open_count(const uvodbc_pool_t* pool) {
  return pool->count[S_IDLE] + pool->count[S_CHECKING] +
         pool->count[S_BORROWED] + pool->count[S_RESETTING];
}

static inline unsigned int pool_connecting_count(const uvodbc_pool_t* pool) {
  return pool->count[S_CONNECTING] + pool->count[S_SETUP];
}

/* Slots that are or will be connections: everything but CLOSING/CLOSED. */
static inline unsigned int pool_total_count(const uvodbc_pool_t* pool) {
  return pool_open_count(pool) + pool_connecting_count(pool);
}

static inline uint64_t pool_now(const uvodbc_pool_t* pool) {
  return uv_now(pool->loop);
}

/* ---- pool.c ---- */
/* Calls the close callback (after closing the pool's handles) once a
 * closing pool has nothing left: no open slot, no request. */
void uvodbc__pool_finish(uvodbc_pool_t* pool);

/* ---- pool-slots.c ---- */
void uvodbc__slot_set_state(slot_t* s, slot_state_t state);
/* 1 when `s` has passed max_lifetime_ms at `now`. */
int uvodbc__slot_expired(const slot_t* s, uint64_t now);
void uvodbc__slot_idle_push(slot_t* s);
void uvodbc__slot_idle_unlink(slot_t* s);
/* Opens a new connection in a new slot.  Returns 0 or an error. */
int uvodbc__slot_connect(uvodbc_pool_t* pool);
/* Pings an idle slot (unlinked) before checkout. */
void uvodbc__slot_check(slot_t* s);
/* Closes the connection; no-op when closing or closed already. */
void uvodbc__slot_close(slot_t* s);
/* A borrowed slot comes back: close it, reuse it at once, or reset it. */
void uvodbc__slot_give_back(slot_t* s, int discard);
/* The slot of `conn`, by address (never reading *conn), or NULL. */
slot_t* uvodbc__slot_find(uvodbc_pool_t* pool, const uvodbc_conn_t* conn);
void uvodbc__slot_free(slot_t* s);

/* ---- pool-waiters.c ---- */
void uvodbc__preq_list_push(preq_list_t* l, preq_t* p);
void uvodbc__preq_list_unlink(preq_list_t* l, preq_t* p);
preq_t* uvodbc__preq_list_find(const preq_list_t* l, const uvodbc_req_t* req);
preq_t* uvodbc__preq_new(uvodbc_pool_t* pool, uvodbc_req_t* req,
                         uvodbc_req_cb cb, preq_kind_t kind);
void uvodbc__preq_free(preq_t* p);
/* Queues `p` (FIFO, with the acquire timeout) and dispatches. */
void uvodbc__pool_enqueue(uvodbc_pool_t* pool, preq_t* p,
                          uvodbc_req_type_t type);
/* Removes the oldest waiter (there must be one). */
preq_t* uvodbc__pool_pop_waiter(uvodbc_pool_t* pool);
/* Removes a waiting request; UV_EINVAL if `req` is not waiting. */
int uvodbc__pool_unwait(uvodbc_pool_t* pool, const uvodbc_req_t* req,
                        preq_t** out);
/* Completes `p` with p->status on a later loop iteration. */
void uvodbc__pool_ready_push(preq_t* p);
/* Makes sure the ready handle runs (ready_cb, ready list). */
void uvodbc__pool_ready_schedule(uvodbc_pool_t* pool);
/* Hands idle slots to waiters, opens connections for the rest and for
 * min_size, and schedules maintenance. */
void uvodbc__pool_dispatch(uvodbc_pool_t* pool);

/* ---- pool-jobs.c ---- */
/* Runs a pool exec/query on the slot just assigned to it. */
void uvodbc__job_start(preq_t* p, slot_t* s);

/* ---- pool-stats.c ---- */
/* The histogram bucket of a wait of `us`: exact below 2 * 32; above, the
 * power of two and the next POOL_WAIT_SUB_BITS bits below the leading one.
 * The largest wait in bucket `b` is at most 1/32 above any wait in it. */
unsigned int uvodbc__pool_wait_bucket(uint64_t us);
uint64_t uvodbc__pool_wait_bucket_upper(unsigned int b);
/* Counts a hand-out at `now_ns` (uv_hrtime): its wait in the mean, max and
 * histogram. */
void uvodbc__pool_count_acquire(uvodbc_pool_t* pool, const preq_t* p,
                                uint64_t now_ns);
/* Counts a request delivered with `status` without a connection. */
void uvodbc__pool_count_failed(uvodbc_pool_t* pool, int status);
/* Counts a pool exec/query statement's outcome (`inner` its request). */
void uvodbc__pool_count_outcome(uvodbc_pool_t* pool,
                                const uvodbc_req_t* inner, int status);
/* Counts a completed ping or reset that began at `began_ns`. */
void uvodbc__pool_count_time(pool_timing_t* t, uint64_t began_ns);

/* ---- pool-maintenance.c ---- */
/* Opens connections up to min_size, then arms the maintenance timer for
 * the next expiry (or the end of a connect backoff if `want_connect`). */
void uvodbc__pool_maintain(uvodbc_pool_t* pool, uint64_t now,
                           int want_connect);

#endif /* UVODBC_POOL_INTERNAL_H */
