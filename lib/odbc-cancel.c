/* Cancelling a running statement, from short-lived threads.
 *
 * psqlODBC opens a TCP connection to cancel, MariaDB needs a whole new
 * connection (see below), so a cancel never runs on the loop thread nor in
 * the worker pool behind the very work it cancels.  Each request gets its
 * own detached thread: a cancel stuck on a frozen server never delays the
 * cancel of another statement.
 *
 * A statement is cancelled only while its worker has it "armed" (inside
 * SQLExecDirect/SQLExecute): a late SQLCancel closes a finished result.
 * The cancel thread marks the request "cancelling" under its lock and
 * calls the driver outside it; disarm waits while it is marked.  So only
 * the statement's own worker ever waits for a cancel, and nobody waits on
 * a lock held across a call to a server.
 *
 * Retries: the cancel may land just before the driver call started (armed,
 * not yet executing), where it does nothing.  While the statement stays
 * armed the thread tries again after 50, 100, 200, 400 and 800 ms, then
 * gives up (MAX_ATTEMPTS calls in all, 1.55 s of waits): the statement then
 * runs to its end and still reports the cancel.  A failed attempt (the
 * server unreachable: MariaDB's kill connection timed out) ends the
 * retries: against a server in trouble, one connection attempt at most.
 *
 * The bound on threads: one per request object at a time (`serving`), and
 * only for an armed statement; a thread lives while its statement is
 * armed, at most MAX_ATTEMPTS calls, and disarm waits for a call in flight.
 * So there are never more cancel threads than statements executing, i.e.
 * than threads running uvodbc's work (libuv's pool, UV_THREADPOOL_SIZE, at
 * most 1024), however many requests time out against a frozen server.
 *
 * MariaDB Connector/ODBC 3.1.15's SQLCancel closes the statement under the
 * executing thread (docs/drivers.md), so it is never called: a request of a
 * MariaDB connection carries a kill target {connection string, server
 * connection id}, read at connect (lib/odbc-conn.c), and the thread runs
 * KILL QUERY <id> on a connection of its own, made before the request is
 * marked "cancelling" (a connect may wait for the connect lock, which the
 * statement's worker must not) and kept for the retries.  The race with
 * the end of the
 * statement: KILL QUERY kills whatever the session runs when it arrives.
 * It is sent only while armed and stays "cancelling" until the KILL has
 * returned, so the worker cannot leave disarm and send the connection's
 * next command before the server has taken the KILL.  A KILL that finds the
 * session idle (the statement just ended) is dropped by the server when the
 * next command starts (MariaDB resets a pending KILL QUERY then; checked by
 * tests/test-cancel.c), so it never kills a later query.
 *
 * SQLite's SQLCancel frees the running statement under its worker, so it
 * is never called either: a SQLite connection's kill target holds its
 * sqlite3*, captured at connect, and the thread calls sqlite3_interrupt()
 * and ends its lock wait (lib/odbc-sqlite.c).  Without one (not captured)
 * nothing is called: the statement runs to its end or its deadline.
 *
 * Every other driver's SQLCancel is called directly, on the driver's own
 * statement handle (SQL_DRIVER_HSTMT), not through unixODBC: 2.3.11's
 * SQLCancel clears the statement's diagnostic list without a lock while
 * the executing worker's SQLExecDirect adds to it (TSan, chaos pg: its
 * free against the worker's malloc).  psqlODBC's own SQLCancel is made to
 * be called from another thread (it sends libpq's cancel request; it still
 * reads its connection without a lock, so a connection dying at that very
 * moment remains a driver race).
 * Without the driver's entry point (dlopen by SQL_DRIVER_NAME failed), the
 * driver manager's SQLCancel is called. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "odbc.h"

#define MAX_ATTEMPTS 6 /* waits before attempts 2..6: 50 << (n - 2) ms */
#define FIRST_WAIT_MS 50
#define KILL_BUCKETS 64

struct uvodbc__kill_s {
  atomic_int refs;
  int sqlite;                /* a SQLite connection's target            */
  uvodbc__sqlite_t* interrupt; /* SQLite: NULL when not captured        */
  uvodbc__driver_cancel_fn driver_cancel; /* else: the driver's own       */
  int pg;           /* psqlODBC: a fetch is cancelled by pg_cancel_backend */
  unsigned long id; /* MariaDB: CONNECTION_ID(); pg: pg_backend_pid()   */
  char connstr[];   /* MariaDB, pg: holds a password, never logged; else "" */
};

struct uvodbc__cancel_s {
  pthread_mutex_t lock;
  pthread_cond_t cond; /* cancelling ended, or disarmed */
  SQLHSTMT stmt;       /* armed when not NULL */
  SQLHSTMT driver_stmt; /* the driver's own handle of stmt, or NULL */
  uvodbc__kill_t* kill; /* while armed: how to cancel (NULL: SQLCancel) */
  int fetching;         /* armed around SQLFetch                   */
  int cancelling;       /* a thread is cancelling stmt (see kill)    */
  int serving;          /* a thread owns this request */
  atomic_int requested;
  atomic_int refs;
};

/* Live cancel threads, so shutdown waits for them. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cond = PTHREAD_COND_INITIALIZER;
static unsigned int live;
static atomic_int stopping;

static atomic_ulong calls;

/* ---- kill targets, by connection handle ---- */

typedef struct entry_s {
  SQLHDBC dbc;
  uvodbc__kill_t* kill;
  struct entry_s* next;
} entry_t;

static pthread_mutex_t k_lock = PTHREAD_MUTEX_INITIALIZER;
static entry_t* buckets[KILL_BUCKETS];

static entry_t** bucket(SQLHDBC dbc) {
  return &buckets[((uintptr_t)dbc >> 4) % KILL_BUCKETS];
}

uvodbc__kill_t* uvodbc__kill_new(const char* connstr, unsigned long id) {
  size_t len = strlen(connstr) + 1;
  uvodbc__kill_t* k = uvodbc__malloc(sizeof(*k) + len);
  if (k == NULL) return NULL;
  atomic_init(&k->refs, 1);
  k->sqlite = 0;
  k->interrupt = NULL;
  k->driver_cancel = NULL;
  k->pg = 0;
  k->id = id;
  memcpy(k->connstr, connstr, len);
  return k;
}

uvodbc__kill_t* uvodbc__kill_new_sqlite(uvodbc__sqlite_t* s) {
  uvodbc__kill_t* k = uvodbc__kill_new("", 0);
  if (k == NULL) {
    uvodbc__sqlite_free(s);
    return NULL;
  }
  k->sqlite = 1;
  k->interrupt = s;
  return k;
}

uvodbc__kill_t* uvodbc__kill_new_driver(uvodbc__driver_cancel_fn fn) {
  uvodbc__kill_t* k = uvodbc__kill_new("", 0);
  if (k != NULL) k->driver_cancel = fn;
  return k;
}

uvodbc__kill_t* uvodbc__kill_new_psql(uvodbc__driver_cancel_fn fn,
                                      const char* connstr, unsigned long pid) {
  uvodbc__kill_t* k = uvodbc__kill_new(connstr, pid);
  if (k != NULL) {
    k->driver_cancel = fn;
    k->pg = 1;
  }
  return k;
}

static int is_driver(const uvodbc__kill_t* k) {
  return k != NULL && k->driver_cancel != NULL;
}

static int is_mariadb(const uvodbc__kill_t* k) {
  return k != NULL && !k->sqlite && k->driver_cancel == NULL;
}

/* Cancelled from a connection of its own (under c->lock). */
static int by_session(const uvodbc__cancel_t* c) {
  return is_mariadb(c->kill) || (c->fetching && c->kill != NULL && c->kill->pg);
}

int uvodbc__kill_wants_driver_stmt(const uvodbc__kill_t* k) {
  return is_driver(k);
}

static int is_sqlite(const uvodbc__kill_t* k) {
  return k != NULL && k->sqlite;
}

static uvodbc__kill_t* kill_ref(uvodbc__kill_t* k) {
  if (k != NULL) atomic_fetch_add(&k->refs, 1);
  return k;
}

void uvodbc__kill_unref(uvodbc__kill_t* k) {
  if (k != NULL && atomic_fetch_sub(&k->refs, 1) == 1) {
    explicit_bzero(k->connstr, strlen(k->connstr));
    uvodbc__sqlite_free(k->interrupt);
    uvodbc__free(k);
  }
}

int uvodbc__kill_register(SQLHDBC dbc, uvodbc__kill_t* k) {
  entry_t* e = uvodbc__malloc(sizeof(*e));
  if (e == NULL) return UVODBC__ENOMEM;
  e->dbc = dbc;
  e->kill = k;
  pthread_mutex_lock(&k_lock);
  e->next = *bucket(dbc);
  *bucket(dbc) = e;
  pthread_mutex_unlock(&k_lock);
  return 0;
}

void uvodbc__kill_forget(SQLHDBC dbc) {
  entry_t** p;
  entry_t* e = NULL;
  pthread_mutex_lock(&k_lock);
  for (p = bucket(dbc); *p != NULL; p = &(*p)->next) {
    if ((*p)->dbc == dbc) {
      e = *p;
      *p = e->next;
      break;
    }
  }
  pthread_mutex_unlock(&k_lock);
  if (e == NULL) return;
  uvodbc__kill_unref(e->kill);
  uvodbc__free(e);
}

void uvodbc__kill_disconnecting(SQLHDBC dbc) {
  uvodbc__kill_t* k = uvodbc__kill_of(dbc);
  if (is_sqlite(k) && k->interrupt != NULL)
    uvodbc__sqlite_forget(k->interrupt);
}

uvodbc__kill_t* uvodbc__kill_of(SQLHDBC dbc) {
  entry_t* e;
  uvodbc__kill_t* k = NULL;
  pthread_mutex_lock(&k_lock);
  for (e = *bucket(dbc); e != NULL && k == NULL; e = e->next)
    if (e->dbc == dbc) k = e->kill;
  pthread_mutex_unlock(&k_lock);
  return k;
}

/* ---- requests ---- */

uvodbc__cancel_t* uvodbc__cancel_new(void) {
  uvodbc__cancel_t* c = uvodbc__calloc(1, sizeof(*c));
  if (c == NULL) return NULL;
  pthread_mutex_init(&c->lock, NULL);
  pthread_cond_init(&c->cond, NULL);
  atomic_init(&c->requested, 0);
  atomic_init(&c->refs, 1);
  return c;
}

void uvodbc__cancel_unref(uvodbc__cancel_t* c) {
  if (c == NULL) return;
  if (atomic_fetch_sub(&c->refs, 1) == 1) {
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    uvodbc__free(c);
  }
}

static void arm(uvodbc__cancel_t* c, SQLHSTMT stmt, SQLHSTMT driver_stmt,
                uvodbc__kill_t* kill, int fetching) {
  if (c == NULL) return;
  if (is_sqlite(kill) && kill->interrupt != NULL)
    uvodbc__sqlite_rearm(kill->interrupt);
  pthread_mutex_lock(&c->lock);
  c->stmt = stmt;
  c->driver_stmt = driver_stmt;
  c->kill = kill;
  c->fetching = fetching;
  pthread_mutex_unlock(&c->lock);
}

void uvodbc__cancel_arm(uvodbc__cancel_t* c, SQLHSTMT stmt,
                        SQLHSTMT driver_stmt, uvodbc__kill_t* kill) {
  arm(c, stmt, driver_stmt, kill, 0);
}

void uvodbc__cancel_arm_fetch(uvodbc__cancel_t* c, SQLHSTMT stmt,
                              SQLHSTMT driver_stmt, uvodbc__kill_t* kill) {
  arm(c, stmt, driver_stmt, kill, 1);
}

void uvodbc__cancel_disarm(uvodbc__cancel_t* c) {
  if (c == NULL) return;
  pthread_mutex_lock(&c->lock);
  while (c->cancelling) pthread_cond_wait(&c->cond, &c->lock);
  if (is_sqlite(c->kill) && c->kill->interrupt != NULL)
    uvodbc__sqlite_rearm(c->kill->interrupt);
  c->stmt = NULL;
  c->driver_stmt = SQL_NULL_HSTMT;
  c->kill = NULL;
  pthread_cond_broadcast(&c->cond); /* a thread waiting to retry ends */
  pthread_mutex_unlock(&c->lock);
}

int uvodbc__cancel_requested(uvodbc__cancel_t* c) {
  return c != NULL && atomic_load(&c->requested);
}

/* Waits `ms` on c->cond (held), or less if the statement is disarmed. */
static void wait_armed(uvodbc__cancel_t* c, long ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += ms / 1000;
  until.tv_nsec += (ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  while (c->stmt != NULL && !atomic_load(&stopping))
    if (pthread_cond_timedwait(&c->cond, &c->lock, &until) != 0) break;
}

static void* cancel_thread(void* arg) {
  uvodbc__cancel_t* c = arg;
  uvodbc__kill_t* kill = NULL;
  SQLHDBC kill_dbc = SQL_NULL_HDBC;
  int attempt, ok = 1;
  pthread_mutex_lock(&c->lock);
  for (attempt = 1; attempt <= MAX_ATTEMPTS && ok; attempt++) {
    SQLHSTMT stmt;
    uvodbc__sqlite_t* interrupt;
    SQLHSTMT driver_stmt;
    uvodbc__driver_cancel_fn driver_cancel;
    int session;
    if (attempt > 1) wait_armed(c, (long)FIRST_WAIT_MS << (attempt - 2));
    if (c->stmt == NULL || atomic_load(&stopping)) break;
    if (!is_sqlite(c->kill) || c->kill->interrupt != NULL)
      atomic_fetch_add(&calls, 1); /* an attempt, whatever its end */
    session = by_session(c);
    if (session && kill_dbc == SQL_NULL_HDBC) {
      /* Connect before marking the request: the connect may wait for the
       * connect lock or a slow server, and the statement's worker must
       * never wait for that.  One connection serves every attempt. */
      if (kill == NULL) kill = kill_ref(c->kill);
      pthread_mutex_unlock(&c->lock);
      kill_dbc = uvodbc__odbc_kill_connect(kill->connstr, !kill->pg);
      pthread_mutex_lock(&c->lock);
      if (kill_dbc == SQL_NULL_HDBC) break; /* unreachable: no retry */
      if (c->stmt == NULL || atomic_load(&stopping)) break;
    }
    c->cancelling = 1;
    stmt = c->stmt;
    driver_stmt = is_driver(c->kill) ? c->driver_stmt : SQL_NULL_HSTMT;
    driver_cancel = is_driver(c->kill) ? c->kill->driver_cancel : NULL;
    interrupt = is_sqlite(c->kill) ? c->kill->interrupt : NULL;
    ok = !is_sqlite(c->kill) || interrupt != NULL;
    pthread_mutex_unlock(&c->lock);
    if (session) {
      char sql[64];
      snprintf(sql, sizeof(sql),
               kill->pg ? "SELECT pg_cancel_backend(%lu)" : "KILL QUERY %lu",
               kill->id);
      ok = uvodbc__odbc_kill_run(kill_dbc, sql) == 0;
    } else if (interrupt != NULL)
      uvodbc__sqlite_interrupt(interrupt);
    else if (ok && driver_stmt != SQL_NULL_HSTMT)
      ok = SQL_SUCCEEDED(driver_cancel(driver_stmt));
    else if (ok)
      ok = SQL_SUCCEEDED(SQLCancel(stmt));
    pthread_mutex_lock(&c->lock);
    c->cancelling = 0;
    pthread_cond_broadcast(&c->cond);
  }
  c->serving = 0;
  pthread_mutex_unlock(&c->lock);
  if (kill_dbc != SQL_NULL_HDBC) uvodbc__odbc_kill_close(kill_dbc);
  uvodbc__kill_unref(kill);
  uvodbc__cancel_unref(c);
  pthread_mutex_lock(&g_lock);
  if (--live == 0) pthread_cond_broadcast(&g_cond);
  pthread_mutex_unlock(&g_lock);
  return NULL;
}

/* Under c->lock. */
static int start_thread(uvodbc__cancel_t* c) {
  pthread_attr_t attr;
  pthread_t thread;
  int rc;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_mutex_lock(&g_lock);
  live++;
  pthread_mutex_unlock(&g_lock);
  atomic_fetch_add(&c->refs, 1);
  c->serving = 1;
  rc = pthread_create(&thread, &attr, cancel_thread, c);
  pthread_attr_destroy(&attr);
  if (rc == 0) return 0;
  c->serving = 0;
  atomic_fetch_sub(&c->refs, 1);
  pthread_mutex_lock(&g_lock);
  live--;
  pthread_mutex_unlock(&g_lock);
  return UVODBC__ENOMEM;
}

int uvodbc__cancel_request(uvodbc__cancel_t* c) {
  int err = 0;
  if (c == NULL) return UVODBC__EINVAL;
  /* Set before the armed check: a worker arming after it sees the flag
   * and does not start the statement. */
  atomic_store(&c->requested, 1);
  pthread_mutex_lock(&c->lock);
  if (c->stmt != NULL && !c->serving && !atomic_load(&stopping))
    err = start_thread(c);
  pthread_mutex_unlock(&c->lock);
  return err;
}

unsigned long uvodbc__cancel_calls(void) {
  return atomic_load(&calls);
}

unsigned int uvodbc__cancel_threads(void) {
  unsigned int n;
  pthread_mutex_lock(&g_lock);
  n = live;
  pthread_mutex_unlock(&g_lock);
  return n;
}

/* No connection is left, so nothing is armed: the threads are ending. */
void uvodbc__cancel_thread_stop(void) {
  atomic_store(&stopping, 1);
  pthread_mutex_lock(&g_lock);
  while (live > 0) pthread_cond_wait(&g_cond, &g_lock);
  pthread_mutex_unlock(&g_lock);
  atomic_store(&stopping, 0);
}
