/* Debug mode: reports what the normal build lets pass quietly (slow
 * callbacks, long waits for a worker, misuse) through one log function.
 *
 * The settings are process-wide: any thread may set them, every loop reads
 * them.  The hot path reads one atomic flag; the rest is read under a lock,
 * and only when debug mode is on. */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define DEFAULT_SLOW_MS 100
#define SQL_SHOWN 80 /* characters of SQL in a report */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static uvodbc_debug_options_t settings; /* under lock */
static atomic_int enabled;              /* settings.enabled, for readers */

static void read_env(void) {
  const char* v = getenv("UVODBC_DEBUG");
  if (v == NULL || atoi(v) <= 0) return;
  pthread_mutex_lock(&lock);
  settings.enabled = 1;
  atomic_store(&enabled, 1);
  pthread_mutex_unlock(&lock);
}

int uvodbc__debug_on(void) {
  pthread_once(&env_once, read_env);
  return atomic_load_explicit(&enabled, memory_order_relaxed);
}

void uvodbc_debug_options_init(uvodbc_debug_options_t* opts) {
  if (opts != NULL) memset(opts, 0, sizeof(*opts));
}

int uvodbc_set_debug(const uvodbc_debug_options_t* opts) {
  if (opts == NULL) return UV_EINVAL;
  pthread_once(&env_once, read_env); /* so it never overrides this call */
  pthread_mutex_lock(&lock);
  settings = *opts;
  settings.enabled = opts->enabled != 0;
  atomic_store(&enabled, settings.enabled);
  pthread_mutex_unlock(&lock);
  return 0;
}

void uvodbc_get_debug(uvodbc_debug_options_t* opts) {
  if (opts == NULL) return;
  pthread_once(&env_once, read_env);
  pthread_mutex_lock(&lock);
  *opts = settings;
  pthread_mutex_unlock(&lock);
  if (opts->slow_callback_ms == 0) opts->slow_callback_ms = DEFAULT_SLOW_MS;
  if (opts->slow_worker_wait_ms == 0)
    opts->slow_worker_wait_ms = DEFAULT_SLOW_MS;
}

void uvodbc__debug_log(const char* fmt, ...) {
  char line[512];
  uvodbc_debug_options_t o;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  uvodbc_get_debug(&o);
  if (o.log != NULL)
    o.log(line, o.log_data);
  else
    fprintf(stderr, "uvodbc debug: %s\n", line);
}

void uvodbc__debug_sql(char* out, size_t size, const char* sql) {
  size_t n;
  out[0] = '\0';
  if (sql == NULL) return;
  n = strlen(sql);
  if (n > SQL_SHOWN && size > SQL_SHOWN + 3) {
    snprintf(out, size, ": %.*s...", SQL_SHOWN, sql);
  } else {
    snprintf(out, size, ": %s", sql);
  }
  /* One line per report. */
  for (; *out != '\0'; out++)
    if (*out == '\n' || *out == '\r' || *out == '\t') *out = ' ';
}

uint64_t uvodbc__cb_begin(void) {
  return uvodbc__debug_on() ? uv_hrtime() : 0;
}

void uvodbc__cb_end(uint64_t began, const char* what, const char* sql) {
  uvodbc_debug_options_t o;
  uint64_t ms;
  char shown[SQL_SHOWN + 8];
  if (began == 0) return;
  ms = (uv_hrtime() - began) / 1000000;
  uvodbc_get_debug(&o);
  if (ms < o.slow_callback_ms) return;
  uvodbc__debug_sql(shown, sizeof(shown), sql);
  uvodbc__debug_log("slow callback: %s held the loop for %llu ms (threshold "
                    "%u ms)%s",
                    what, (unsigned long long)ms, o.slow_callback_ms, shown);
}

void uvodbc__debug_worker_wait(uint64_t wait_ns, const char* what,
                               const char* sql) {
  uvodbc_debug_options_t o;
  uint64_t ms = wait_ns / 1000000;
  char shown[SQL_SHOWN + 8];
  if (!uvodbc__debug_on()) return; /* a hook times ops too */
  uvodbc_get_debug(&o);
  if (ms < o.slow_worker_wait_ms) return;
  uvodbc__debug_sql(shown, sizeof(shown), sql);
  uvodbc__debug_log("slow start: %s waited %llu ms for a worker thread "
                    "(threshold %u ms; uvodbc's worker limit %u, "
                    "UV_THREADPOOL_SIZE %u)%s",
                    what, (unsigned long long)ms, o.slow_worker_wait_ms,
                    uvodbc_get_worker_limit(), uvodbc__threadpool_size(),
                    shown);
}

void uvodbc__debug_check_thread(const uvodbc_conn_t* conn,
                                const char* function) {
  uv_thread_t self;
  if (!uvodbc__debug_on()) return;
  self = uv_thread_self();
  if (uv_thread_equal(&self, &conn->thread)) return;
  uvodbc__debug_log("misuse: %s on a connection of another thread's loop "
                    "(every call on a handle belongs on its loop's thread)",
                    function);
}
