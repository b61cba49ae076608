/* SQLite's cancel, without the driver's SQLCancel.
 *
 * sqliteodbc 0.9998's SQLCancel calls sqlite3_interrupt() and then
 * SQLFreeStmt(SQL_CLOSE), which frees the statement's result and state
 * while the worker is still inside SQLExecute using them (TSan: its
 * sqlite3_free on the cancel thread against the driver's strcpy on the
 * worker).  sqlite3_interrupt() alone is what SQLite documents as safe
 * from another thread, but it needs the connection's sqlite3*, which the
 * driver keeps to itself.
 *
 * So the connect captures it: a process-wide SQLite auto-extension, whose
 * entry point SQLite calls with every database connection it opens, records
 * the first handle opened on the connecting worker's thread while that
 * thread is inside the SQLite driver's SQLDriverConnect.  libsqlite3 is
 * opened by its soname (the library the driver links), once a SQLite
 * connection is made.  A connect that captures nothing (the process has
 * another SQLite, or reset the auto-extensions) is made again as the user
 * wrote it, and no later one is rewritten: its cancel then does nothing
 * (the deadline holds), its lock waits are the driver's.
 *
 * An interrupt does not end a wait for another connection's lock: SQLite's
 * busy handler runs in a loop that checks none, and the driver retries a
 * busy statement with its own handler for the whole `Timeout` again.  So
 * the driver's own waiting is cut to its least (`Timeout=1` in the
 * connection string, in place of the user's: one retry after 10 ms; 0
 * would mean 1000 s) and the lock wait is ours: a busy handler with the
 * user's Timeout (the string's, else the DSN's, else the driver's default
 * 100 s, read as the driver reads it) that gives up when cancelled.  The
 * connect itself runs before it is installed: a JournalMode= change that
 * meets a lock at connect is dropped (the driver ignores its failure).
 *
 * Side effects: registering the extension initializes the process's
 * libsqlite3 (a later sqlite3_config() of the application's own fails), and
 * a PRAGMA busy_timeout on a uvodbc connection replaces the handler (its
 * lock waits then ignore cancel). */
#include <dlfcn.h>
#include <odbcinst.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "odbc.h"

#define SQLITE_LIB "libsqlite3.so.0"
#define BUSY_SLEEP_MS 10 /* as the driver's own handler */
#define RETRY_WINDOW_MS 1000 /* the driver's retry comes 10 ms after */

typedef struct sqlite3 sqlite3;
typedef int (*entry_point_fn)(sqlite3* db, char** err, const void* api);
typedef int (*busy_fn)(void* arg, int count);

struct uvodbc__sqlite_s {
  sqlite3* db;
  long timeout_ms; /* the user's lock timeout */
  /* The worker's alone (the thread running the connection's call): */
  uint64_t wait_started; /* ms */
  uint64_t ran_out_at;   /* a wait ran out then (0: no retry pending) */
  atomic_int cancelled;  /* set while armed, cleared at arm and disarm */
};

static void (*interrupt_fn)(sqlite3* db);
static int (*busy_handler_fn)(sqlite3* db, busy_fn fn, void* arg);
static pthread_once_t once = PTHREAD_ONCE_INIT;
static atomic_int capture_failed; /* a connect captured nothing: give up */
static __thread sqlite3** capture_slot; /* set during a capturing connect */

static int on_open(sqlite3* db, char** err, const void* api) {
  (void)err;
  (void)api;
  /* The first: the driver's own; a LoadExt= extension may open more. */
  if (capture_slot != NULL && *capture_slot == NULL) *capture_slot = db;
  return 0; /* SQLITE_OK */
}

static void install(void) {
  int (*auto_extension)(void (*)(void));
  void* open_global;
  void* open_ours;
  void* lib = dlopen(SQLITE_LIB, RTLD_NOW | RTLD_LOCAL);
  if (lib == NULL) return;
  *(void**)&auto_extension = dlsym(lib, "sqlite3_auto_extension");
  *(void**)&interrupt_fn = dlsym(lib, "sqlite3_interrupt");
  *(void**)&busy_handler_fn = dlsym(lib, "sqlite3_busy_handler");
  /* A SQLite of the program's own, exported, is the one the driver binds
   * to: this one would never see its connections. */
  open_global = dlsym(RTLD_DEFAULT, "sqlite3_open_v2");
  open_ours = dlsym(lib, "sqlite3_open_v2");
  if (auto_extension == NULL || interrupt_fn == NULL ||
      busy_handler_fn == NULL ||
      (open_global != NULL && open_global != open_ours) ||
      auto_extension((void (*)(void))(entry_point_fn)on_open) != 0)
    interrupt_fn = NULL;
  /* The library stays loaded: SQLite keeps the entry point (and libuvodbc
   * is linked -z nodelete for the same reason). */
}

static int usable(void) {
  pthread_once(&once, install);
  return interrupt_fn != NULL && !atomic_load(&capture_failed);
}

/* The lock timeout the driver would take from `connstr` (sqliteodbc
 * 0.9998: drvdriverconnect, then dbopen). */
static long lock_timeout_ms(const char* connstr) {
  char v[32] = "", dsn[256];
  char* end;
  long ms = 100000;
  uvodbc__connstr_get(connstr, "Timeout", v, sizeof(v));
  if (v[0] == '\0' && uvodbc__connstr_get(connstr, "DSN", dsn, sizeof(dsn)))
    SQLGetPrivateProfileString(dsn, "Timeout", "100000", v, sizeof(v),
                               "odbc.ini");
  if (v[0] != '\0') {
    long parsed = strtol(v, &end, 0);
    if (*end == '\0') ms = parsed;
  }
  return ms < 1 || ms > 1000000 ? 1000000 : ms;
}

char* uvodbc__sqlite_connstr(const char* connstr, long* timeout_ms) {
  if (!usable()) return NULL;
  *timeout_ms = lock_timeout_ms(connstr);
  return uvodbc__connstr_set(connstr, "Timeout", "1");
}

void uvodbc__sqlite_capture_begin(void** slot) {
  *slot = NULL;
  capture_slot = usable() ? (sqlite3**)slot : NULL;
}

void uvodbc__sqlite_capture_end(void) {
  capture_slot = NULL;
}

void uvodbc__sqlite_capture_failed(void) {
  atomic_store(&capture_failed, 1);
}

static uint64_t now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* SQLite calls it on the worker running the statement (count: 0 first).
 * After a wait that ran out, the driver retries the statement once (its
 * Timeout of 1 ms): that retry must not wait all over again. */
static int on_busy(void* arg, int count) {
  uvodbc__sqlite_t* s = arg;
  struct timespec nap = {0, BUSY_SLEEP_MS * 1000000L};
  uint64_t now = now_ms();
  if (atomic_load(&s->cancelled)) return 0;
  if (count == 0) {
    int retry = s->ran_out_at != 0 && now - s->ran_out_at < RETRY_WINDOW_MS;
    s->ran_out_at = 0;
    if (retry) return 0;
    s->wait_started = now;
  }
  if (now - s->wait_started > (uint64_t)s->timeout_ms) {
    s->ran_out_at = now;
    return 0;
  }
  nanosleep(&nap, NULL);
  return 1;
}

uvodbc__sqlite_t* uvodbc__sqlite_new(void* db, long timeout_ms) {
  uvodbc__sqlite_t* s = uvodbc__calloc(1, sizeof(*s));
  if (s == NULL) return NULL;
  s->db = db;
  s->timeout_ms = timeout_ms;
  atomic_init(&s->cancelled, 0);
  return s;
}

void uvodbc__sqlite_wait_locks(uvodbc__sqlite_t* s) {
  busy_handler_fn(s->db, on_busy, s);
}

void uvodbc__sqlite_forget(uvodbc__sqlite_t* s) {
  /* Before SQLDisconnect: a driver manager that pools connections keeps
   * the sqlite3 open, and `s` goes with the kill target. */
  busy_handler_fn(s->db, NULL, NULL);
}

void uvodbc__sqlite_free(uvodbc__sqlite_t* s) {
  uvodbc__free(s);
}

void uvodbc__sqlite_interrupt(uvodbc__sqlite_t* s) {
  atomic_store(&s->cancelled, 1);
  interrupt_fn(s->db);
}

void uvodbc__sqlite_rearm(uvodbc__sqlite_t* s) {
  atomic_store(&s->cancelled, 0);
  s->ran_out_at = 0;
}
