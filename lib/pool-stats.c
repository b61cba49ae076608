/* Pool statistics: totals since create, the acquire wait histogram that
 * gives percentiles without keeping every sample, the outcomes of pool
 * exec/query statements, and the time spent in pings and resets.  All on
 * the loop thread: one increment or two per event, the percentiles are
 * computed when uvodbc_pool_stats() asks. */
#include <string.h>

#include "pool-internal.h"

#define SUB (1u << POOL_WAIT_SUB_BITS) /* buckets per power of two */

unsigned int uvodbc__pool_wait_bucket(uint64_t us) {
  unsigned int shift = 0;
  if (us >> POOL_WAIT_MAX_BITS) us = ((uint64_t)1 << POOL_WAIT_MAX_BITS) - 1;
  while ((us >> shift) >= 2 * SUB) shift++;
  return (shift << POOL_WAIT_SUB_BITS) + (unsigned int)(us >> shift);
}

uint64_t uvodbc__pool_wait_bucket_upper(unsigned int b) {
  unsigned int shift;
  if (b < 2 * SUB) return b;
  shift = (b >> POOL_WAIT_SUB_BITS) - 1;
  return (((uint64_t)(b & (SUB - 1)) + SUB + 1) << shift) - 1;
}

/* The smallest bucket bound with at least `permille` / 1000 of the waits
 * at or below it (the nearest-rank percentile), capped at the max. */
static uint64_t wait_percentile(const uvodbc_pool_t* pool,
                                unsigned int permille) {
  uint64_t rank, seen = 0, bound;
  unsigned int b;
  if (pool->acquires == 0) return 0;
  rank = (pool->acquires * permille + 999) / 1000;
  for (b = 0; b < POOL_WAIT_BUCKETS; b++) {
    seen += pool->wait_hist[b];
    if (seen >= rank) break;
  }
  if (b == POOL_WAIT_BUCKETS) b--; /* not reached: the counts add up */
  bound = uvodbc__pool_wait_bucket_upper(b);
  return bound < pool->wait_max_us ? bound : pool->wait_max_us;
}

void uvodbc__pool_count_acquire(uvodbc_pool_t* pool, const preq_t* p,
                                uint64_t now_ns) {
  uint64_t us = (now_ns - p->start_ns) / 1000;
  pool->acquires++;
  pool->wait_total_us += us;
  if (us > pool->wait_max_us) pool->wait_max_us = us;
  pool->wait_hist[uvodbc__pool_wait_bucket(us)]++;
}

void uvodbc__pool_count_failed(uvodbc_pool_t* pool, int status) {
  if (status == UV_ETIMEDOUT) return; /* counted in `timeouts` at expiry */
  if (status == UV_ECANCELED)
    pool->acquire_cancelled++;
  else
    pool->acquire_errors++;
}

void uvodbc__pool_count_outcome(uvodbc_pool_t* pool,
                                const uvodbc_req_t* inner, int status) {
  pool_outcome_t o;
  /* First: a dead connection fails with UVODBC_ESQL or, mid-cancel or at
   * a deadline, another status; its diagnostics tell in every case. */
  if (status != 0 && uvodbc_req_is_disconnect(inner))
    o = OUT_DISCONNECT;
  else if (status == 0)
    o = OUT_OK;
  else if (status == UVODBC_ESQL)
    o = OUT_SQL_ERROR;
  else if (status == UV_ETIMEDOUT)
    o = OUT_TIMEOUT;
  else if (status == UV_ECANCELED)
    o = OUT_CANCELLED;
  else
    o = OUT_OTHER;
  pool->ops[o]++;
}

void uvodbc__pool_count_time(pool_timing_t* t, uint64_t began_ns) {
  uint64_t us = (uv_hrtime() - began_ns) / 1000;
  t->n++;
  t->total_us += us;
  if (us > t->max_us) t->max_us = us;
}

int uvodbc_pool_stats(const uvodbc_pool_t* pool, uvodbc_pool_stats_t* st) {
  if (pool == NULL || st == NULL) return UV_EINVAL;
  memset(st, 0, sizeof(*st));
  st->size = pool_open_count(pool);
  st->idle = pool->count[S_IDLE];
  st->in_use = st->size - st->idle;
  st->waiting = pool->waiting.n;
  st->connecting = pool_connecting_count(pool);
  st->acquires = pool->acquires;
  st->timeouts = pool->timeouts;
  st->connects = pool->connects;
  st->connect_errors = pool->connect_errors;
  st->evictions = pool->evictions;
  st->expired = pool->expired;
  st->wait_mean_us =
      pool->acquires > 0 ? pool->wait_total_us / pool->acquires : 0;
  st->wait_max_us = pool->wait_max_us;
  st->wait_p50_us = wait_percentile(pool, 500);
  st->wait_p99_us = wait_percentile(pool, 990);
  st->ops_ok = pool->ops[OUT_OK];
  st->ops_sql_errors = pool->ops[OUT_SQL_ERROR];
  st->ops_timeouts = pool->ops[OUT_TIMEOUT];
  st->ops_cancelled = pool->ops[OUT_CANCELLED];
  st->ops_disconnects = pool->ops[OUT_DISCONNECT];
  st->ops_other = pool->ops[OUT_OTHER];
  st->acquire_cancelled = pool->acquire_cancelled;
  st->acquire_errors = pool->acquire_errors;
  st->resets = pool->resets.n;
  st->reset_us_total = pool->resets.total_us;
  st->reset_max_us = pool->resets.max_us;
  st->validations = pool->validations.n;
  st->validate_us_total = pool->validations.total_us;
  st->validate_max_us = pool->validations.max_us;
  return 0;
}
