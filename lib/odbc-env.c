/* The process-wide ODBC environment.
 *
 * One SQLHENV per process, ODBC 3 behaviour set before any connection is
 * allocated.  Allocating it does no I/O, so uvodbc_init() may do it on the
 * loop thread; connects do it lazily on a worker otherwise. */
#include <pthread.h>

#include "odbc.h"

static pthread_mutex_t env_lock = PTHREAD_MUTEX_INITIALIZER;
static SQLHENV env = SQL_NULL_HENV;

int uvodbc__env_acquire(void) {
  int err = 0;
  pthread_mutex_lock(&env_lock);
  if (env == SQL_NULL_HENV) {
    SQLHENV h = SQL_NULL_HENV;
    if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &h))) {
      err = UVODBC_ESQL;
    } else if (!SQL_SUCCEEDED(SQLSetEnvAttr(h, SQL_ATTR_ODBC_VERSION,
                                            (SQLPOINTER)SQL_OV_ODBC3, 0))) {
      SQLFreeHandle(SQL_HANDLE_ENV, h);
      err = UVODBC_ESQL;
    } else {
      env = h;
    }
  }
  pthread_mutex_unlock(&env_lock);
  return err;
}

SQLHENV uvodbc__env(void) {
  SQLHENV h;
  pthread_mutex_lock(&env_lock);
  h = env;
  pthread_mutex_unlock(&env_lock);
  return h;
}

int uvodbc__env_free(void) {
  int err = 0;
  pthread_mutex_lock(&env_lock);
  if (env != SQL_NULL_HENV) {
    if (SQL_SUCCEEDED(SQLFreeHandle(SQL_HANDLE_ENV, env)))
      env = SQL_NULL_HENV;
    else
      err = UVODBC_ESQL; /* connections still allocated */
  }
  pthread_mutex_unlock(&env_lock);
  return err;
}
