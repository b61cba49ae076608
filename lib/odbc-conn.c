/* Blocking connect and disconnect, run on a worker.
 *
 * unixODBC 2.3.11 races while it resolves a DSN and sets up or tears down a
 * driver (lib/odbc-connect-lock.c), so allocation, connect, disconnect and
 * free of a connection handle happen inside the connect lock's turn, which
 * runs them alone only when they may do one of those; every path ends the
 * turn. */
#include <ctype.h>
#include <dlfcn.h>
#include <odbcinst.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "odbc.h"

/* unixODBC's SQLGetConnectAttr key for the driver manager's threading level;
 * 3 means every call of the process is serialized, which also defeats
 * SQLCancel. */
#define DM_THREADING_ATTR 1028

static int serialized_dm(SQLHDBC dbc) {
  SQLUINTEGER level = 0;
  SQLRETURN rc = SQLGetConnectAttr(dbc, DM_THREADING_ATTR, &level,
                                   sizeof(level), NULL);
  return SQL_SUCCEEDED(rc) && level >= 3;
}

static uvodbc__driver_t driver_of(SQLHDBC dbc) {
  char name[128] = "";
  SQLGetInfo(dbc, SQL_DRIVER_NAME, name, sizeof(name), NULL);
  if (strstr(name, "sqlite") != NULL) return UVODBC__DRIVER_SQLITE;
  if (strstr(name, "psqlodbc") != NULL) return UVODBC__DRIVER_PSQL;
  if (strstr(name, "maodbc") != NULL) return UVODBC__DRIVER_MARIADB;
  return UVODBC__DRIVER_OTHER;
}

/* 1 if `connstr` loads the driver library whose name contains `lib_part`:
 * its DRIVER= (a name in odbcinst.ini, or a path), or the driver of its
 * DSN= in odbc.ini. */
static int loads(const char* connstr, const char* lib_part) {
  char name[256] = "", lib[1024] = "";
  if (!uvodbc__connstr_get(connstr, "DRIVER", name, sizeof(name))) {
    char dsn[256];
    if (!uvodbc__connstr_get(connstr, "DSN", dsn, sizeof(dsn))) return 0;
    SQLGetPrivateProfileString(dsn, "Driver", "", name, sizeof(name),
                               "odbc.ini");
  }
  if (strchr(name, '/') == NULL)
    SQLGetPrivateProfileString(name, "Driver", "", lib, sizeof(lib),
                               "odbcinst.ini");
  else
    snprintf(lib, sizeof(lib), "%s", name);
  return strstr(lib, lib_part) != NULL;
}

/* A copy of `connstr` with `key_value` appended, or NULL (out of memory). */
static char* append(const char* connstr, const char* key_value) {
  size_t len = strlen(connstr), size = len + strlen(key_value) + 2;
  char* out = uvodbc__malloc(size);
  if (out != NULL)
    snprintf(out, size, "%s%s%s", connstr,
             len > 0 && connstr[len - 1] != ';' ? ";" : "", key_value);
  return out;
}

/* MariaDB Connector/ODBC 3.1 ignores SQL_ATTR_LOGIN_TIMEOUT: its connect
 * and handshake timeout is the CONN_TIMEOUT key, and without one a server
 * that accepts but never answers holds the connect forever.  Returns a copy
 * of `connstr` with CONN_TIMEOUT added when the string has none, else
 * NULL. */
static char* mariadb_login_timeout(const char* connstr, unsigned int s) {
  char kv[32];
  if (s == 0 || uvodbc__connstr_find(connstr, "CONN_TIMEOUT") != NULL)
    return NULL;
  snprintf(kv, sizeof(kv), "CONN_TIMEOUT=%u", s);
  return append(connstr, kv);
}

/* psqlODBC 13 derives a "locale encoding" at every connect whose
 * ConnSettings sets no client_encoding: it calls setlocale(LC_CTYPE, "")
 * and reads the name that returns, which another connect's setlocale frees
 * meanwhile (a use-after-free once connects run in parallel; TSan showed
 * it).  The API's text is UTF-8: say so in ConnSettings, which also skips
 * that (psqlODBC 13.02 then leaks the 5 bytes of the name it extracts, once
 * per connect: tests/valgrind.supp).  A string with its own ConnSettings
 * (or A6), or with a DSN (whose
 * odbc.ini entry may have one), is left alone and connects one at a time
 * (lib/odbc-connect-lock.c). */
static int psql_wants_utf8_settings(const char* connstr) {
  return uvodbc__connstr_find(connstr, "ConnSettings") == NULL &&
         uvodbc__connstr_find(connstr, "A6") == NULL &&
         uvodbc__connstr_find(connstr, "DSN") == NULL &&
         uvodbc__connstr_find(connstr, "FILEDSN") == NULL;
}

/* 1 if the user set psqlODBC's `key` for this connect: in the string (or
 * as `abbr`), in its DSN's odbc.ini section, or in its driver's
 * odbcinst.ini section, which psqlODBC 13.02 all read (getDSNinfo,
 * get_Ci_Drivers). */
static int psql_user_set(const char* connstr, const char* key,
                         const char* abbr) {
  char dsn[256] = "", name[256] = "", v[32];
  if (uvodbc__connstr_find(connstr, key) != NULL ||
      uvodbc__connstr_find(connstr, abbr) != NULL)
    return 1;
  if (uvodbc__connstr_get(connstr, "DSN", dsn, sizeof(dsn)) &&
      SQLGetPrivateProfileString(dsn, key, "", v, sizeof(v), "odbc.ini") > 0)
    return 1;
  if (!uvodbc__connstr_get(connstr, "DRIVER", name, sizeof(name)) &&
      dsn[0] != '\0')
    SQLGetPrivateProfileString(dsn, "Driver", "", name, sizeof(name),
                               "odbc.ini");
  return name[0] != '\0' &&
         SQLGetPrivateProfileString(name, key, "", v, sizeof(v),
                                    "odbcinst.ini") > 0;
}

/* Rows per FETCH when uvodbc turns streaming on: uvodbc's smallest default
 * block.  psqlODBC fetches max(Fetch, SQL_ATTR_ROW_ARRAY_SIZE) rows per
 * round trip (QR_next_tuple), so every default block is one round trip,
 * and reads of long columns (one row per SQLFetch) get 1024 rows per round
 * trip instead of the driver's 100 (docs/drivers.md, Streaming). */
#define PSQL_FETCH_ROWS "1024"

/* psqlODBC buffers a whole result at execute unless UseDeclareFetch=1,
 * which runs a SELECT as DECLARE CURSOR + FETCH.  uvodbc decides it per
 * statement (uvodbc__odbc_stream_cursors) unless the user chose either
 * way (CX packs it among other flags). */
static int psql_wants_streaming(const char* connstr) {
  return !psql_user_set(connstr, "UseDeclareFetch", "B6") &&
         uvodbc__connstr_find(connstr, "CX") == NULL;
}

/* A copy of `connstr` with what uvodbc needs of psqlODBC added, or NULL
 * (nothing to add, or out of memory: connect as written).  *streams: 1
 * when uvodbc decides which statements stream.  A Fetch= of the user's
 * stays. */
static char* psql_connstr(const char* connstr, int* streams) {
  char* out = NULL;
  char* next;
  if (psql_wants_utf8_settings(connstr)) {
    /* Braced and ended by ';': its parser (check_client_encoding) reads one
     * byte past a value that ends with the encoding name (valgrind). */
    out = append(connstr, "ConnSettings={set client_encoding to UTF8;}");
    if (out == NULL) return NULL;
  }
  *streams = psql_wants_streaming(connstr);
  if (!*streams || psql_user_set(connstr, "Fetch", "A7")) return out;
  next = append(out != NULL ? out : connstr, "Fetch=" PSQL_FETCH_ROWS);
  uvodbc__free_secret(out);
  if (next == NULL) *streams = 0; /* connect as written */
  return next;
}

/* psqlODBC's connection attribute SQL_ATTR_PGOPT_USE_DECLAREFETCH
 * (pgapifunc.h), read at each execute (convert.c). */
#define PSQL_ATTR_USE_DECLAREFETCH 65539

void uvodbc__odbc_stream_cursors(SQLHDBC dbc, int on) {
  SQLSetConnectAttr(dbc, PSQL_ATTR_USE_DECLAREFETCH,
                    (SQLPOINTER)(uintptr_t)(on != 0), SQL_IS_UINTEGER);
}

int uvodbc__odbc_streams_now(SQLHDBC dbc) {
  SQLUINTEGER on = 0;
  return SQL_SUCCEEDED(SQLGetConnectAttr(dbc, PSQL_ATTR_USE_DECLAREFETCH, &on,
                                         sizeof(on), NULL)) &&
         on != 0;
}

/* The connection string to pass to SQLDriverConnect: `connstr`, or a copy
 * with what the driver needs added (free it; SQLite: `*sqlite_timeout_ms`
 * set, see lib/odbc-sqlite.c).  Called in the connect's turn:
 * it reads the same ini files as the connect. */
static char* driver_connstr(const uvodbc__connect_args_t* args,
                            long* sqlite_timeout_ms, int* streams) {
  if (loads(args->connstr, "maodbc"))
    return mariadb_login_timeout(args->connstr, args->login_timeout_s);
  if (loads(args->connstr, "psqlodbc"))
    return psql_connstr(args->connstr, streams);
  if (loads(args->connstr, "sqlite"))
    return uvodbc__sqlite_connstr(args->connstr, sqlite_timeout_ms);
  return NULL;
}

/* psqlODBC takes the session's client_encoding from the process locale
 * after an ANSI connect (SQL_ASCII under C: no conversion, so a database in
 * another encoding would hand out non-UTF-8 bytes).  The API's text is
 * UTF-8: say so to the server. */
static int psql_client_utf8(SQLHDBC dbc, uvodbc__diags_t* diags) {
  SQLHSTMT st = SQL_NULL_HSTMT;
  SQLRETURN rc;
  if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, dbc, &st))) {
    uvodbc__diags_collect(diags, SQL_HANDLE_DBC, dbc, "SQLAllocHandle", NULL);
    return UVODBC_ESQL;
  }
  rc = SQLExecDirect(st, (SQLCHAR*)"SET client_encoding TO 'UTF8'", SQL_NTS);
  if (!SQL_SUCCEEDED(rc))
    uvodbc__diags_collect(diags, SQL_HANDLE_STMT, st, "SQLExecDirect", NULL);
  SQLFreeHandle(SQL_HANDLE_STMT, st);
  return SQL_SUCCEEDED(rc) ? 0 : UVODBC_ESQL;
}

/* Takes over `k` (NULL: out of memory). */
static int register_kill(SQLHDBC dbc, uvodbc__kill_t* k,
                         uvodbc__diags_t* diags) {
  if (k == NULL || uvodbc__kill_register(dbc, k) != 0) {
    uvodbc__kill_unref(k);
    uvodbc__diags_add(diags, "HY001", 0, "out of memory", "SQLDriverConnect");
    return UVODBC_ESQL;
  }
  return 0;
}

/* SQLite's SQLCancel is unsafe too: a cancel interrupts the sqlite3*
 * captured at connect (NULL: a cancel does nothing), and lock waits are
 * ours (lib/odbc-sqlite.c). */
static int sqlite_kill_target(SQLHDBC dbc, void* db, long timeout_ms,
                              uvodbc__diags_t* diags) {
  uvodbc__sqlite_t* s = NULL;
  if (db != NULL && (s = uvodbc__sqlite_new(db, timeout_ms)) == NULL)
    return register_kill(dbc, NULL, diags); /* out of memory */
  if (register_kill(dbc, uvodbc__kill_new_sqlite(s), diags) != 0)
    return UVODBC_ESQL;
  if (s != NULL) uvodbc__sqlite_wait_locks(s);
  return 0;
}

/* One unsigned integer from `sql` (a one-row, one-column query). */
static int query_id(SQLHDBC dbc, const char* sql, SQLUBIGINT* id,
                    uvodbc__diags_t* diags) {
  SQLHSTMT st = SQL_NULL_HSTMT;
  SQLRETURN rc;
  if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, dbc, &st))) {
    uvodbc__diags_collect(diags, SQL_HANDLE_DBC, dbc, "SQLAllocHandle", NULL);
    return UVODBC_ESQL;
  }
  rc = SQLExecDirect(st, (SQLCHAR*)sql, SQL_NTS);
  if (SQL_SUCCEEDED(rc)) rc = SQLFetch(st);
  if (SQL_SUCCEEDED(rc))
    rc = SQLGetData(st, 1, SQL_C_UBIGINT, id, sizeof(*id), NULL);
  if (!SQL_SUCCEEDED(rc))
    uvodbc__diags_collect(diags, SQL_HANDLE_STMT, st, "SQLExecDirect", NULL);
  SQLFreeHandle(SQL_HANDLE_STMT, st);
  return SQL_SUCCEEDED(rc) ? 0 : UVODBC_ESQL;
}

/* 1 if psqlODBC's statements on `dbc` may read through server cursors:
 * uvodbc turns them on for cursors (`streams`), or the user did. */
static int psql_may_stream(SQLHDBC dbc, int streams) {
  SQLUINTEGER on = 0;
  if (streams) return 1;
  return SQL_SUCCEEDED(SQLGetConnectAttr(dbc, PSQL_ATTR_USE_DECLAREFETCH,
                                         &on, SQL_IS_UINTEGER, NULL)) &&
         on != 0;
}

/* Any other driver: its own SQLCancel, called on its own statement handle
 * (lib/odbc-cancel.c).  Its entry point is looked up in the library the
 * driver manager loaded (named by SQL_DRIVER_NAME, its soname); none
 * found: no target, the driver manager's SQLCancel is used.  psqlODBC's
 * does nothing to a fetch from a server cursor: when there may be one, the
 * target also holds the backend's pid, for pg_cancel_backend (a server
 * without pg_backend_pid() just goes without). */
static int driver_kill_target(SQLHDBC dbc, const char* connstr, int psql,
                              int streams, uvodbc__diags_t* diags) {
  SQLUBIGINT pid = 0;
  uvodbc__diags_t ignored = {0};
  char name[256] = "";
  void* lib;
  uvodbc__driver_cancel_fn fn = NULL;
  SQLGetInfo(dbc, SQL_DRIVER_NAME, name, sizeof(name), NULL);
  lib = name[0] != '\0' ? dlopen(name, RTLD_LAZY | RTLD_NOLOAD) : NULL;
  if (lib == NULL) return 0;
  *(void**)&fn = dlsym(lib, "SQLCancel");
  dlclose(lib); /* the driver manager keeps it loaded while connected */
  if (fn == NULL) return 0;
  if (psql && psql_may_stream(dbc, streams)) {
    int err = query_id(dbc, "SELECT pg_backend_pid()", &pid, &ignored);
    uvodbc__diags_free(&ignored);
    if (err == 0)
      return register_kill(dbc, uvodbc__kill_new_psql(fn, connstr,
                                                      (unsigned long)pid),
                           diags);
  }
  return register_kill(dbc, uvodbc__kill_new_driver(fn), diags);
}

/* MariaDB's SQLCancel is unsafe (docs/drivers.md): a cancel sends KILL
 * QUERY with the session's id instead (lib/odbc-cancel.c).  Reads the id
 * and registers the kill target of `dbc`. */
static int mariadb_kill_target(SQLHDBC dbc, const char* connstr,
                               uvodbc__diags_t* diags) {
  SQLUBIGINT id = 0;
  int err = query_id(dbc, "SELECT CONNECTION_ID()", &id, diags);
  if (err != 0) return err;
  return register_kill(dbc, uvodbc__kill_new(connstr, (unsigned long)id),
                       diags);
}

int uvodbc__odbc_connect(const uvodbc__connect_args_t* args, SQLHDBC* out,
                         uvodbc__driver_t* driver, int* streams,
                         uvodbc__diags_t* diags) {
  SQLHDBC dbc = SQL_NULL_HDBC;
  SQLRETURN rc;
  int err = 0;
  long sqlite_timeout_ms = 0; /* SQLite, rewritten: lib/odbc-sqlite.c */
  void* sqlite_db = NULL;     /* its sqlite3*, captured */
  char* rewritten;
  const char* connstr = args->connstr;
  uvodbc__connect_ticket_t* turn;

  *out = SQL_NULL_HDBC;
  if (uvodbc__env_acquire() != 0) {
    uvodbc__diags_add(diags, "HY001", 0, "cannot allocate the ODBC environment",
                      "SQLAllocHandle");
    return UVODBC_ESQL;
  }

  turn = uvodbc__connect_enter(connstr);
  if (turn == NULL) {
    uvodbc__diags_add(diags, "HY001", 0, "out of memory", "SQLDriverConnect");
    return UVODBC_ESQL;
  }
  rc = SQLAllocHandle(SQL_HANDLE_DBC, uvodbc__env(), &dbc);
  if (!SQL_SUCCEEDED(rc)) {
    uvodbc__diags_collect(diags, SQL_HANDLE_ENV, uvodbc__env(),
                          "SQLAllocHandle", NULL);
    uvodbc__connect_leave(turn, SQL_NULL_HDBC);
    return UVODBC_ESQL;
  }
  if (args->login_timeout_s > 0) /* unsupported is not a failure */
    SQLSetConnectAttr(dbc, SQL_ATTR_LOGIN_TIMEOUT,
                      (SQLPOINTER)(uintptr_t)args->login_timeout_s, 0);
  *streams = 0;
  rewritten = driver_connstr(args, &sqlite_timeout_ms, streams);
  if (rewritten != NULL) connstr = rewritten;
  if (sqlite_timeout_ms > 0) uvodbc__sqlite_capture_begin(&sqlite_db);
  rc = SQLDriverConnect(dbc, NULL, (SQLCHAR*)connstr, SQL_NTS, NULL, 0, NULL,
                        SQL_DRIVER_NOPROMPT);
  if (sqlite_timeout_ms > 0) {
    uvodbc__sqlite_capture_end();
    if (SQL_SUCCEEDED(rc) && sqlite_db == NULL) {
      /* Nothing captured: as the user wrote it, with the driver's waits. */
      uvodbc__sqlite_capture_failed();
      SQLDisconnect(dbc);
      connstr = args->connstr;
      rc = SQLDriverConnect(dbc, NULL, (SQLCHAR*)connstr, SQL_NTS, NULL, 0,
                            NULL, SQL_DRIVER_NOPROMPT);
    }
  }
  if (rc == SQL_SUCCESS_WITH_INFO || !SQL_SUCCEEDED(rc))
    uvodbc__diags_collect(diags, SQL_HANDLE_DBC, dbc, "SQLDriverConnect",
                          connstr);
  uvodbc__free_secret(rewritten);
  if (!SQL_SUCCEEDED(rc)) {
    err = UVODBC_ESQL;
  } else if (!args->allow_serialized && serialized_dm(dbc)) {
    uvodbc__diags_add(diags, "HY000", 0,
                      "the driver manager serializes every call "
                      "(Threading=3 in odbcinst.ini): queries would not run "
                      "in parallel and cancel would not work; set Threading=0 "
                      "or allow_serialized",
                      "SQLGetConnectAttr");
    SQLDisconnect(dbc);
    err = UVODBC_ESERIAL;
  }
  if (err == 0) *driver = driver_of(dbc);
  if (err != 0) {
    SQLFreeHandle(SQL_HANDLE_DBC, dbc);
    dbc = SQL_NULL_HDBC;
  }
  uvodbc__connect_leave(turn, dbc);
  if (err == 0 && *driver == UVODBC__DRIVER_PSQL)
    err = psql_client_utf8(dbc, diags);
  if (err == 0 && *driver == UVODBC__DRIVER_MARIADB)
    err = mariadb_kill_target(dbc, args->connstr, diags);
  if (err == 0 && *driver == UVODBC__DRIVER_SQLITE)
    err = sqlite_kill_target(dbc, sqlite_db, sqlite_timeout_ms, diags);
  /* Under Threading=3 (allow_serialized) the driver is not to be called
   * from two threads at once: its SQLCancel goes through the driver
   * manager, which serializes it. */
  if (err == 0 && (*driver == UVODBC__DRIVER_PSQL ||
                   *driver == UVODBC__DRIVER_OTHER) &&
      !serialized_dm(dbc))
    err = driver_kill_target(dbc, args->connstr,
                             *driver == UVODBC__DRIVER_PSQL, *streams, diags);
  if (err != 0 && dbc != SQL_NULL_HDBC) {
    uvodbc__odbc_disconnect(dbc, *driver, diags);
    dbc = SQL_NULL_HDBC;
  }
  *out = dbc;
  return err;
}

/* SQLite's driver keeps its own "in a transaction" flag, and SQLDisconnect
 * refuses while it is set (25000 "incomplete transaction").  It can stay
 * set with nothing to end: SQLite itself rolled back an interrupted write
 * (SQLEndTran then fails, "no transaction is active"), or a commit failed
 * when autocommit was switched back on (SQLEndTran is then a no-op).  So:
 * autocommit off, a transaction for the driver's ROLLBACK to end, and the
 * ROLLBACK, which clears the flag. */
static void settle_transaction(SQLHDBC dbc) {
  SQLHSTMT h;
  SQLSetConnectAttr(dbc, SQL_ATTR_AUTOCOMMIT, (SQLPOINTER)SQL_AUTOCOMMIT_OFF,
                    0);
  if (SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, dbc, &h))) {
    SQLExecDirect(h, (SQLCHAR*)"BEGIN", SQL_NTS);
    SQLFreeHandle(SQL_HANDLE_STMT, h);
  }
  SQLEndTran(SQL_HANDLE_DBC, dbc, SQL_ROLLBACK);
}

int uvodbc__odbc_disconnect(SQLHDBC dbc, uvodbc__driver_t driver,
                            uvodbc__diags_t* diags) {
  SQLRETURN rc;
  uvodbc__connect_ticket_t* turn;
  if (dbc == SQL_NULL_HDBC) return 0;
  /* An open transaction makes SQLDisconnect fail (25000) on some drivers,
   * SQLite among them; roll back whatever is open first. */
  SQLEndTran(SQL_HANDLE_DBC, dbc, SQL_ROLLBACK);
  if (driver == UVODBC__DRIVER_SQLITE) uvodbc__kill_disconnecting(dbc);
  turn = uvodbc__disconnect_enter(dbc);
  rc = SQLDisconnect(dbc);
  if (!SQL_SUCCEEDED(rc) && driver == UVODBC__DRIVER_SQLITE) {
    settle_transaction(dbc);
    rc = SQLDisconnect(dbc);
  }
  if (!SQL_SUCCEEDED(rc)) {
    /* Still connected: freeing would fail too (HY010).  The handle stays
     * allocated, and the caller says so. */
    uvodbc__diags_collect(diags, SQL_HANDLE_DBC, dbc, "SQLDisconnect", NULL);
    uvodbc__disconnect_leave(turn, 0);
    return UVODBC_ESQL;
  }
  uvodbc__kill_forget(dbc);
  SQLFreeHandle(SQL_HANDLE_DBC, dbc);
  uvodbc__disconnect_leave(turn, 1);
  return 0;
}

/* ---- MariaDB's cancel ---- */

/* The cancel's connection must not hang on a frozen server: the KILL's
 * statement's worker waits for it (lib/odbc-cancel.c).  Seconds, for each
 * of connect, read and write. */
#define KILL_TIMEOUT_S 2

/* Keys the kill connection must not take from the user's string: its own
 * timeouts replace these, and the user's init statement is not for it. */
static int is_dropped_key(const char* k, size_t n) {
  static const char* keys[] = {"CONN_TIMEOUT", "READ_TIMEOUT",
                               "WRITE_TIMEOUT", "INITSTMT"};
  size_t i;
  for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
    if (strlen(keys[i]) == n && strncasecmp(k, keys[i], n) == 0) return 1;
  return 0;
}

/* `connstr` without those keys, with our timeouts added (MariaDB's keys:
 * psqlODBC honours the login timeout attribute, set by the caller). */
static char* kill_connstr(const char* connstr, int mariadb) {
  size_t cap = strlen(connstr) + 96;
  char* out = uvodbc__malloc(cap);
  size_t len = 0;
  const char* p = connstr;
  if (out == NULL) return NULL;
  while (*p != '\0') {
    const char* k;
    const char* end;
    size_t n;
    while (isspace((unsigned char)*p) || *p == ';') p++;
    k = p;
    p += strcspn(p, "=;");
    n = (size_t)(p - k);
    while (n > 0 && isspace((unsigned char)k[n - 1])) n--;
    end = *p == '=' ? uvodbc__connstr_value_end(p + 1) : p;
    if (end > k && !is_dropped_key(k, n)) {
      memcpy(out + len, k, (size_t)(end - k));
      len += (size_t)(end - k);
      out[len++] = ';';
    }
    p = end;
  }
  out[len] = '\0';
  if (mariadb)
    snprintf(out + len, cap - len, "CONN_TIMEOUT=%d;READ_TIMEOUT=%d;"
             "WRITE_TIMEOUT=%d", KILL_TIMEOUT_S, KILL_TIMEOUT_S,
             KILL_TIMEOUT_S);
  return out;
}

SQLHDBC uvodbc__odbc_kill_connect(const char* connstr, int mariadb) {
  SQLHDBC dbc = SQL_NULL_HDBC;
  uvodbc__connect_ticket_t* turn;
  char* cs = kill_connstr(connstr, mariadb);
  if (cs == NULL) return SQL_NULL_HDBC;
  /* The ticket is the cancelled connection's own string: that connection is
   * open (its driver set up), so this connect overlaps with others; only
   * the keys above differ, which no DSN or driver resolution reads. */
  turn = uvodbc__connect_enter(connstr);
  if (turn != NULL &&
      SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_DBC, uvodbc__env(), &dbc))) {
    SQLSetConnectAttr(dbc, SQL_ATTR_LOGIN_TIMEOUT,
                      (SQLPOINTER)(uintptr_t)KILL_TIMEOUT_S, 0);
    if (!SQL_SUCCEEDED(SQLDriverConnect(dbc, NULL, (SQLCHAR*)cs, SQL_NTS,
                                        NULL, 0, NULL,
                                        SQL_DRIVER_NOPROMPT))) {
      SQLFreeHandle(SQL_HANDLE_DBC, dbc);
      dbc = SQL_NULL_HDBC;
    }
  }
  if (turn != NULL) uvodbc__connect_leave(turn, dbc);
  uvodbc__free_secret(cs);
  return dbc;
}

int uvodbc__odbc_kill_run(SQLHDBC dbc, const char* sql) {
  SQLHSTMT st = SQL_NULL_HSTMT;
  SQLRETURN rc;
  rc = SQLAllocHandle(SQL_HANDLE_STMT, dbc, &st);
  if (SQL_SUCCEEDED(rc)) {
    rc = SQLExecDirect(st, (SQLCHAR*)sql, SQL_NTS);
    SQLFreeHandle(SQL_HANDLE_STMT, st);
  }
  return SQL_SUCCEEDED(rc) ? 0 : UVODBC_ESQL;
}

void uvodbc__odbc_kill_close(SQLHDBC dbc) {
  uvodbc__connect_ticket_t* turn = uvodbc__disconnect_enter(dbc);
  SQLDisconnect(dbc);
  SQLFreeHandle(SQL_HANDLE_DBC, dbc);
  uvodbc__disconnect_leave(turn, 1);
}
