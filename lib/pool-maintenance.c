/* Pool maintenance: connections up to min_size, and one timer for what
 * comes due later: an idle connection's max lifetime or idle timeout, and
 * the end of a connect backoff. */
#include "pool-internal.h"

static void on_maintenance(uv_timer_t* timer);

static void schedule(uvodbc_pool_t* pool, uint64_t now, int want_connect) {
  const uvodbc_pool_options_t* o = &pool->opts;
  uint64_t next = UINT64_MAX;
  slot_t* s;
  for (s = pool->idle_head; s != NULL; s = s->idle_next) {
    if (o->max_lifetime_ms > 0 && s->created + o->max_lifetime_ms < next)
      next = s->created + o->max_lifetime_ms;
    if (o->idle_timeout_ms > 0 && pool_total_count(pool) > o->min_size &&
        s->idle_since + o->idle_timeout_ms < next)
      next = s->idle_since + o->idle_timeout_ms;
  }
  if (want_connect && pool->next_connect < next) next = pool->next_connect;
  if (next == UINT64_MAX) {
    uv_timer_stop(&pool->maint_timer);
    return;
  }
  uv_timer_start(&pool->maint_timer, on_maintenance,
                 next > now ? next - now : 0, 0);
}

void uvodbc__pool_maintain(uvodbc_pool_t* pool, uint64_t now,
                           int want_connect) {
  const uvodbc_pool_options_t* o = &pool->opts;
  unsigned int total = pool_total_count(pool);
  unsigned int connecting = pool_connecting_count(pool);
  while (total < o->min_size && connecting < o->max_connecting) {
    if (now < pool->next_connect) { /* backing off after a failure */
      want_connect = 1;
      break;
    }
    if (uvodbc__slot_connect(pool) != 0) break;
    total++, connecting++;
  }
  schedule(pool, now, want_connect);
}

/* Closes idle connections past their lifetime, and the longest idle ones
 * above min_size past the idle timeout; then refills. */
static void on_maintenance(uv_timer_t* timer) {
  uvodbc_pool_t* pool = timer->data;
  uint64_t now = pool_now(pool);
  slot_t* s;
  slot_t* next;
  unsigned int total;
  if (pool->closing) return;
  for (s = pool->idle_head; s != NULL; s = next) {
    next = s->idle_next;
    if (uvodbc__slot_expired(s, now)) {
      pool->expired++;
      uvodbc__slot_close(s);
    }
  }
  if (pool->opts.idle_timeout_ms > 0) {
    total = pool_total_count(pool);
    for (s = pool->idle_tail; s != NULL && total > pool->opts.min_size;
         s = next) {
      next = s->idle_prev;
      if (now >= s->idle_since + pool->opts.idle_timeout_ms) {
        pool->expired++;
        uvodbc__slot_close(s);
        total--;
      }
    }
  }
  uvodbc__pool_dispatch(pool);
}
