/* Library lifecycle: version, the ODBC environment, shutdown. */
#include "internal.h"

#define STR(x) #x
#define XSTR(x) STR(x)

unsigned int uvodbc__live_conns;

unsigned int uvodbc_version(void) {
  return UVODBC_VERSION_HEX;
}

const char* uvodbc_version_string(void) {
  return XSTR(UVODBC_VERSION_MAJOR) "." XSTR(UVODBC_VERSION_MINOR) "." XSTR(
      UVODBC_VERSION_PATCH);
}

/* SQLAllocHandle(ENV) does no I/O, so this one ODBC call may run here. */
int uvodbc_init(void) {
  return uvodbc__env_acquire();
}

int uvodbc_shutdown(void) {
  /* A stuck driver call (docs/threading.md) still holds a connection. */
  if (uvodbc__live_conns > 0 || uvodbc__zombies > 0) return UV_EBUSY;
  uvodbc__cancel_thread_stop();
  return uvodbc__env_free() == 0 ? 0 : UV_EBUSY;
}
