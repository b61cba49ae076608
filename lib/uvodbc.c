/* Library lifecycle: version, the ODBC environment, shutdown.
 *
 * Loops on several threads share what is here: the count of live
 * connections and shutdown check and change it under one lock, so a
 * shutdown never frees the environment under a connect that another loop
 * just started. */
#include <pthread.h>

#include "internal.h"

#define STR(x) #x
#define XSTR(x) STR(x)

static pthread_mutex_t life_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned int live_conns; /* under life_lock */

unsigned int uvodbc_version(void) {
  return UVODBC_VERSION_HEX;
}

const char* uvodbc_version_string(void) {
  return XSTR(UVODBC_VERSION_MAJOR) "." XSTR(UVODBC_VERSION_MINOR) "." XSTR(
      UVODBC_VERSION_PATCH);
}

void uvodbc__live_conns_add(int n) {
  pthread_mutex_lock(&life_lock);
  live_conns += (unsigned int)n;
  pthread_mutex_unlock(&life_lock);
}

/* SQLAllocHandle(ENV) does no I/O, so this one ODBC call may run here. */
int uvodbc_init(void) {
  return uvodbc__env_acquire();
}

int uvodbc_shutdown(void) {
  int err = UV_EBUSY;
  pthread_mutex_lock(&life_lock);
  if (live_conns == 0) {
    uvodbc__cancel_thread_stop();
    err = uvodbc__env_free() == 0 ? 0 : UV_EBUSY;
  }
  pthread_mutex_unlock(&life_lock);
  /* Outside the lock: the log function is the application's. */
  if (err != 0 && uvodbc__debug_on()) uvodbc__walk_report();
  return err;
}
