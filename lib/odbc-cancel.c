/* SQLCancel from a dedicated thread.
 *
 * psqlODBC and MariaDB open a TCP connection to cancel, so SQLCancel must not
 * run on the loop thread; and it must not wait in the worker pool behind the
 * very work it cancels.  One lazily started thread serves every request.
 *
 * A statement is cancelled only while its worker has it "armed" (inside
 * SQLExecDirect/SQLExecute): a late SQLCancel closes a finished result, and
 * SQLite's driver frees the running statement inside SQLCancel, so it must
 * never meet a fetch.  The arm lock makes "armed" and "SQLCancel" atomic with
 * respect to each other.  While a request stays armed the thread retries
 * every RETRY_MS, which closes the window where the cancel lands just before
 * the driver call started. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "odbc.h"

#define RETRY_MS 50

struct uvodbc__cancel_s {
  pthread_mutex_t lock;
  SQLHSTMT stmt;       /* armed when not NULL */
  atomic_int requested;
  atomic_int refs;
  uvodbc__cancel_t* next_pending; /* cancel-thread list, under q_lock */
  int queued;                     /* under q_lock */
};

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_cond;
static uvodbc__cancel_t* pending;
static pthread_t thread;
static int running;
static atomic_int stopping; /* read outside q_lock by the thread */

uvodbc__cancel_t* uvodbc__cancel_new(void) {
  uvodbc__cancel_t* c = uvodbc__calloc(1, sizeof(*c));
  if (c == NULL) return NULL;
  pthread_mutex_init(&c->lock, NULL);
  atomic_init(&c->requested, 0);
  atomic_init(&c->refs, 1);
  return c;
}

void uvodbc__cancel_unref(uvodbc__cancel_t* c) {
  if (c == NULL) return;
  if (atomic_fetch_sub(&c->refs, 1) == 1) {
    pthread_mutex_destroy(&c->lock);
    uvodbc__free(c);
  }
}

void uvodbc__cancel_arm(uvodbc__cancel_t* c, SQLHSTMT stmt) {
  if (c == NULL) return;
  pthread_mutex_lock(&c->lock);
  c->stmt = stmt;
  pthread_mutex_unlock(&c->lock);
}

void uvodbc__cancel_disarm(uvodbc__cancel_t* c) {
  if (c == NULL) return;
  pthread_mutex_lock(&c->lock);
  c->stmt = NULL;
  pthread_mutex_unlock(&c->lock);
}

int uvodbc__cancel_requested(uvodbc__cancel_t* c) {
  return c != NULL && atomic_load(&c->requested);
}

/* Calls SQLCancel if armed.  Returns 1 while the request should be retried. */
static int cancel_once(uvodbc__cancel_t* c) {
  int armed;
  pthread_mutex_lock(&c->lock);
  armed = c->stmt != NULL;
  if (armed) SQLCancel(c->stmt);
  pthread_mutex_unlock(&c->lock);
  return armed;
}

static void* cancel_thread(void* arg) {
  (void)arg;
  pthread_mutex_lock(&q_lock);
  while (!stopping || pending != NULL) {
    uvodbc__cancel_t* list = pending;
    uvodbc__cancel_t* keep = NULL;
    struct timespec until;
    if (list == NULL) {
      pthread_cond_wait(&q_cond, &q_lock);
      continue;
    }
    pending = NULL;
    pthread_mutex_unlock(&q_lock);
    while (list != NULL) {
      uvodbc__cancel_t* c = list;
      int retry;
      list = c->next_pending;
      retry = !atomic_load(&stopping) && cancel_once(c);
      pthread_mutex_lock(&q_lock);
      if (retry) {
        c->next_pending = keep;
        keep = c;
        pthread_mutex_unlock(&q_lock);
      } else {
        c->queued = 0;
        pthread_mutex_unlock(&q_lock);
        uvodbc__cancel_unref(c);
      }
    }
    pthread_mutex_lock(&q_lock);
    while (keep != NULL) {
      uvodbc__cancel_t* c = keep;
      keep = c->next_pending;
      c->next_pending = pending;
      pending = c;
    }
    if (pending != NULL && !stopping) {
      clock_gettime(CLOCK_MONOTONIC, &until);
      until.tv_nsec += RETRY_MS * 1000000L;
      if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
      }
      pthread_cond_timedwait(&q_cond, &q_lock, &until);
    }
  }
  pthread_mutex_unlock(&q_lock);
  return NULL;
}

static int start_thread(void) {
  pthread_condattr_t attr;
  if (running) return 0;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&q_cond, &attr);
  pthread_condattr_destroy(&attr);
  atomic_store(&stopping, 0);
  if (pthread_create(&thread, NULL, cancel_thread, NULL) != 0) {
    pthread_cond_destroy(&q_cond);
    return UVODBC__ENOMEM;
  }
  running = 1;
  return 0;
}

int uvodbc__cancel_request(uvodbc__cancel_t* c) {
  int err;
  if (c == NULL) return UVODBC__EINVAL;
  atomic_store(&c->requested, 1);
  pthread_mutex_lock(&q_lock);
  err = start_thread();
  if (err == 0 && !c->queued) {
    c->queued = 1;
    atomic_fetch_add(&c->refs, 1);
    c->next_pending = pending;
    pending = c;
    pthread_cond_signal(&q_cond);
  }
  pthread_mutex_unlock(&q_lock);
  return err;
}

void uvodbc__cancel_thread_stop(void) {
  pthread_mutex_lock(&q_lock);
  if (!running) {
    pthread_mutex_unlock(&q_lock);
    return;
  }
  atomic_store(&stopping, 1);
  pthread_cond_signal(&q_cond);
  pthread_mutex_unlock(&q_lock);
  pthread_join(thread, NULL);
  pthread_cond_destroy(&q_cond);
  running = 0;
}
