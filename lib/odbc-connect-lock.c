/* The connect lock: which connects and disconnects may overlap.
 *
 * unixODBC 2.3.11 is not safe for connects in parallel where it (and the
 * drivers) set up process-wide state: the first use of a driver (the
 * driver manager's lt_dlinit and dlopen, its per-driver environment, the
 * driver's own library initialization; libodbcinst's cached ini paths), the
 * last disconnect of a driver (it frees that environment), and DSN
 * resolution (__find_lib_name switches the process-wide ini "config mode" to
 * user-only and system-only DSNs while every other thread's ini reads,
 * drivers' included, follow it).  Everything else of a connect (the
 * driver's login, the network part) is safe in parallel, as it is for a
 * program with a thread per connection.
 *
 * So a connect or disconnect is EXCLUSIVE (runs alone) when its connection
 * string has no DRIVER= (a DSN: resolution) or has psqlODBC's ConnSettings
 * (lib/odbc-conn.c: the driver then races), when no connection of the same
 * string is open (the driver may not be set up), or when it is the last
 * open one of its string (the driver may be torn down); else SHARED (runs
 * alongside other shared ones).  A shared operation runs while another
 * connection of its string stays open: that one's disconnect is exclusive
 * (it is then the last) and waits for every shared operation, so the
 * driver's environment lives through each shared one.  Connects of a string
 * whose first connect is running wait for its outcome instead of all
 * queueing as exclusive.  A waiting exclusive operation holds new shared
 * ones back, so it does not starve. */
#include <pthread.h>
#include <string.h>

#include "odbc.h"

typedef struct entry_s entry_t;

/* One distinct connection string. */
struct entry_s {
  entry_t* next;
  char* connstr;
  unsigned open;  /* connected, no disconnect started                  */
  unsigned users; /* connects in flight + connections allocated        */
  int probing;    /* its exclusive first connect is running             */
  int alone;      /* every connect and disconnect exclusive (a DSN, ...) */
};

/* One connection handle and its string, from connect to free. */
struct uvodbc__connect_ticket_s {
  uvodbc__connect_ticket_t* next;
  entry_t* entry;
  SQLHDBC dbc;
  int exclusive;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static entry_t* entries;
static uvodbc__connect_ticket_t* tickets; /* of connected handles */
static unsigned shared_running;
static unsigned exclusive_waiting;
static int exclusive_running;

static entry_t* find(const char* connstr) {
  entry_t* e;
  for (e = entries; e != NULL; e = e->next)
    if (strcmp(e->connstr, connstr) == 0) return e;
  return NULL;
}

static entry_t* add(const char* connstr) {
  char driver[8];
  size_t len = strlen(connstr);
  entry_t* e = uvodbc__calloc(1, sizeof(*e));
  if (e == NULL) return NULL;
  e->connstr = uvodbc__malloc(len + 1);
  if (e->connstr == NULL) {
    uvodbc__free(e);
    return NULL;
  }
  memcpy(e->connstr, connstr, len + 1);
  /* unixODBC takes whichever of DSN= and DRIVER= comes first.  psqlODBC
   * races at connect unless uvodbc can set its ConnSettings
   * (lib/odbc-conn.c). */
  e->alone = !uvodbc__connstr_get(connstr, "DRIVER", driver,
                                  sizeof(driver)) ||
             uvodbc__connstr_find(connstr, "DSN") != NULL ||
             uvodbc__connstr_find(connstr, "FILEDSN") != NULL ||
             uvodbc__connstr_find(connstr, "ConnSettings") != NULL ||
             uvodbc__connstr_find(connstr, "A6") != NULL;
  e->next = entries;
  entries = e;
  return e;
}

static void drop_user(entry_t* e) {
  entry_t** p;
  if (--e->users > 0) return;
  for (p = &entries; *p != e; p = &(*p)->next) {
  }
  *p = e->next;
  uvodbc__free_secret(e->connstr);
  uvodbc__free(e);
}

/* Waits (lock held) until `t` may run, as exclusive or shared. */
static void wait_turn(uvodbc__connect_ticket_t* t, int connecting) {
  entry_t* e = t->entry;
  for (;;) {
    int shared = !e->alone && e->open > 0;
    if (shared && !exclusive_running && exclusive_waiting == 0) {
      t->exclusive = 0;
      shared_running++;
      return;
    }
    /* A connect waits for the first connect of its string. */
    if (!shared && !(connecting && e->probing)) {
      exclusive_waiting++;
      while (exclusive_running || shared_running > 0)
        pthread_cond_wait(&changed, &lock);
      exclusive_waiting--;
      exclusive_running = 1;
      t->exclusive = 1;
      if (connecting) e->probing = 1;
      return;
    }
    pthread_cond_wait(&changed, &lock);
  }
}

static void end_turn(uvodbc__connect_ticket_t* t) {
  if (t->exclusive)
    exclusive_running = 0;
  else
    shared_running--;
  pthread_cond_broadcast(&changed);
}

uvodbc__connect_ticket_t* uvodbc__connect_enter(const char* connstr) {
  uvodbc__connect_ticket_t* t = uvodbc__calloc(1, sizeof(*t));
  if (t == NULL) return NULL;
  pthread_mutex_lock(&lock);
  t->entry = find(connstr);
  if (t->entry == NULL) t->entry = add(connstr);
  if (t->entry == NULL) {
    pthread_mutex_unlock(&lock);
    uvodbc__free(t);
    return NULL;
  }
  t->entry->users++;
  wait_turn(t, 1);
  pthread_mutex_unlock(&lock);
  return t;
}

void uvodbc__connect_leave(uvodbc__connect_ticket_t* t, SQLHDBC dbc) {
  pthread_mutex_lock(&lock);
  if (t->exclusive) t->entry->probing = 0;
  end_turn(t);
  if (dbc != SQL_NULL_HDBC) {
    t->entry->open++;
    t->dbc = dbc;
    t->next = tickets;
    tickets = t;
    t = NULL;
  } else {
    drop_user(t->entry);
  }
  pthread_mutex_unlock(&lock);
  uvodbc__free(t);
}

uvodbc__connect_ticket_t* uvodbc__disconnect_enter(SQLHDBC dbc) {
  uvodbc__connect_ticket_t** p;
  uvodbc__connect_ticket_t* t;
  pthread_mutex_lock(&lock);
  for (p = &tickets; *p != NULL && (*p)->dbc != dbc; p = &(*p)->next) {
  }
  t = *p;
  if (t != NULL) {
    *p = t->next;
    t->entry->open--;
    wait_turn(t, 0);
  }
  pthread_mutex_unlock(&lock);
  return t;
}

void uvodbc__disconnect_leave(uvodbc__connect_ticket_t* t, int freed) {
  if (t == NULL) return;
  pthread_mutex_lock(&lock);
  end_turn(t);
  if (freed) {
    drop_user(t->entry);
  } else {
    /* Still connected: it counts as open again. */
    t->entry->open++;
    t->next = tickets;
    tickets = t;
    t = NULL;
  }
  pthread_mutex_unlock(&lock);
  uvodbc__free(t);
}
