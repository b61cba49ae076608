/* The blocking layer: thin wrappers around ODBC that run on worker threads.
 * Nothing here includes uv.h or touches loop-thread state; every function
 * works only on the handles and buffers of the operation that calls it. */
#ifndef UVODBC_ODBC_H
#define UVODBC_ODBC_H

#include <stddef.h>
#include <stdint.h>

#include <sql.h>
#include <sqlext.h>

#include "uvodbc/types.h"

/* ---- alloc.c: the one allocator every file uses ---- */
void* uvodbc__malloc(size_t size);
void* uvodbc__calloc(size_t count, size_t size);
void* uvodbc__realloc(void* ptr, size_t size);
/* count * size bytes, or NULL when the product overflows. */
void* uvodbc__mallocarray(size_t count, size_t size);
void* uvodbc__reallocarray(void* ptr, size_t count, size_t size);
/* *sum += n, or UVODBC__ENOMEM (and *sum unchanged) on overflow. */
int uvodbc__size_add(size_t* sum, size_t n);
void uvodbc__free(void* ptr);
/* Frees a string that may hold a password (a connection string), zeroed
 * first so that no copy outlives its use in freed memory. */
void uvodbc__free_secret(char* s);
char* uvodbc__strndup(const char* s, size_t len);
char* uvodbc__strdup(const char* s);

/* ---- odbc-diag.c: diagnostics of one operation ---- */
typedef struct uvodbc__diags_s {
  size_t n, cap;
  uvodbc_diag_t* recs; /* message strings owned */
} uvodbc__diags_t;

/* Appends every diagnostic record of `handle` (right after the failing or
 * warning call `function`).  `connstr`: the connection string of a connect
 * call (SQLDriverConnect), whose messages may echo it: they are redacted
 * (uvodbc__redact_connect).  NULL for every other call: the server's text
 * is kept as written. */
void uvodbc__diags_collect(uvodbc__diags_t* d, SQLSMALLINT handle_type,
                           SQLHANDLE handle, const char* function,
                           const char* connstr);
/* Appends a record made by uvodbc itself (SQLSTATE "HY000" style). */
void uvodbc__diags_add(uvodbc__diags_t* d, const char* sqlstate,
                       int32_t native, const char* message,
                       const char* function);
void uvodbc__diags_free(uvodbc__diags_t* d);
/* Copies `in` with the values of PWD= and Password= replaced by "***";
 * NULL when out of memory. */
char* uvodbc__redact_connstr(const char* in);
/* Copies a connect diagnostic `msg` with its PWD=/Password= values replaced
 * by "***" and every occurrence of a password of `connstr` (as written and
 * as decoded from braces) starred; NULL when out of memory. */
char* uvodbc__redact_connect(const char* msg, const char* connstr);

/* ---- odbc-connstr.c: connection strings ---- */
/* End of the value that starts at `v`: past its closing brace if it is
 * braced, else at the next ';' or the end. */
const char* uvodbc__connstr_value_end(const char* v);
/* Start of the value of `key` (case-insensitive, no '='), or NULL. */
const char* uvodbc__connstr_find(const char* connstr, const char* key);
/* Copies the value that starts at `v`, braces removed and "}}" read as
 * "}", into `out` (truncated to outlen - 1 bytes); returns its length. */
size_t uvodbc__connstr_decode(const char* v, char* out, size_t outlen);
/* Copies the value of `key`, braces removed, into `out` (truncated to
 * outlen - 1 bytes); returns 1 if the key is there, else 0. */
int uvodbc__connstr_get(const char* connstr, const char* key, char* out,
                        size_t outlen);
/* A copy of `connstr` (free it; NULL: out of memory) starting with
 * key=value, every other `key` pair dropped. */
char* uvodbc__connstr_set(const char* connstr, const char* key,
                          const char* value);
/* 1 if any record's SQLSTATE equals `state`. */
int uvodbc__diags_has(const uvodbc__diags_t* d, const char* state);

/* ---- odbc-env.c: the process-wide environment ---- */
int uvodbc__env_acquire(void); /* 0 or UVODBC_ESQL / UV_ENOMEM-like */
SQLHENV uvodbc__env(void);
int uvodbc__env_free(void);

/* ---- odbc-connect-lock.c: which connects and disconnects may overlap ----
 * unixODBC 2.3.11 races while it sets up or tears down a driver and while it
 * resolves a DSN; those run alone, other connects and disconnects in
 * parallel.  connect_enter before SQLAllocHandle(DBC), connect_leave after
 * the connect with the connected handle (or SQL_NULL_HDBC: none);
 * disconnect_enter before SQLDisconnect, disconnect_leave after the free
 * (freed = 0: the handle stays connected).  connect_enter returns NULL when
 * out of memory; disconnect_enter returns NULL for a handle it does not
 * know, and disconnect_leave accepts that NULL. */
typedef struct uvodbc__connect_ticket_s uvodbc__connect_ticket_t;
uvodbc__connect_ticket_t* uvodbc__connect_enter(const char* connstr);
void uvodbc__connect_leave(uvodbc__connect_ticket_t* t, SQLHDBC dbc);
uvodbc__connect_ticket_t* uvodbc__disconnect_enter(SQLHDBC dbc);
void uvodbc__disconnect_leave(uvodbc__connect_ticket_t* t, int freed);

/* ---- odbc-cancel.c: cancelling a running statement ---- */
/* A kill target: how to stop a connection's running statement without
 * the driver's SQLCancel.  MariaDB: the connection string (a password:
 * never logged) and the server's id of the session, for KILL QUERY.
 * SQLite: its sqlite3* and lock wait, for sqlite3_interrupt.
 * Immutable, reference-counted; one per connection handle, registered at
 * connect, forgotten at disconnect. */
typedef struct uvodbc__kill_s uvodbc__kill_t;
typedef struct uvodbc__sqlite_s uvodbc__sqlite_t; /* odbc-sqlite.c */
uvodbc__kill_t* uvodbc__kill_new(const char* connstr, unsigned long id);
/* Takes over `s` (NULL: no interrupt; a cancel then does nothing). */
uvodbc__kill_t* uvodbc__kill_new_sqlite(uvodbc__sqlite_t* s);
/* Other drivers: their own SQLCancel, on their own statement handle (the
 * driver manager's is unsafe from another thread: lib/odbc-cancel.c). */
typedef SQLRETURN (*uvodbc__driver_cancel_fn)(SQLHSTMT driver_stmt);
uvodbc__kill_t* uvodbc__kill_new_driver(uvodbc__driver_cancel_fn fn);
/* psqlODBC: its own SQLCancel while a statement executes; while it fetches
 * (a server cursor's FETCH: UseDeclareFetch) that SQLCancel does nothing,
 * so pg_cancel_backend(pid) from a connection of its own, made with
 * `connstr` (a password: never logged), as MariaDB's KILL QUERY. */
uvodbc__kill_t* uvodbc__kill_new_psql(uvodbc__driver_cancel_fn fn,
                                      const char* connstr, unsigned long pid);
/* 1 if statements of this target need their driver handle at arm. */
int uvodbc__kill_wants_driver_stmt(const uvodbc__kill_t* k);
void uvodbc__kill_unref(uvodbc__kill_t* k);
/* Takes over the reference. */
int uvodbc__kill_register(SQLHDBC dbc, uvodbc__kill_t* k);
void uvodbc__kill_forget(SQLHDBC dbc);
/* Before SQLDisconnect: SQLite's busy handler removed (odbc-sqlite.c). */
void uvodbc__kill_disconnecting(SQLHDBC dbc);
/* Borrowed: valid while `dbc` stays connected.  NULL: use SQLCancel. */
uvodbc__kill_t* uvodbc__kill_of(SQLHDBC dbc);

/* Shared between the worker running a statement and its cancel thread.
 * The worker arms it around the call that may block; the cancel thread
 * cancels only while it is armed, and disarm waits for a cancel in flight
 * on this statement.  Reference-counted because a cancel request may
 * outlive the operation. */
typedef struct uvodbc__cancel_s uvodbc__cancel_t;
uvodbc__cancel_t* uvodbc__cancel_new(void);
void uvodbc__cancel_unref(uvodbc__cancel_t* c);
/* `driver_stmt` and `kill`: the statement's uvodbc__stmt_t fields (may be
 * NULL). */
void uvodbc__cancel_arm(uvodbc__cancel_t* c, SQLHSTMT stmt,
                        SQLHSTMT driver_stmt, uvodbc__kill_t* kill);
/* The same around SQLFetch (a streaming driver's fetch may wait for the
 * server: psqlODBC then needs its session cancel). */
void uvodbc__cancel_arm_fetch(uvodbc__cancel_t* c, SQLHSTMT stmt,
                              SQLHSTMT driver_stmt, uvodbc__kill_t* kill);
void uvodbc__cancel_disarm(uvodbc__cancel_t* c);
/* Marks the operation cancelled and, if it is armed, starts a thread that
 * cancels it (retrying, bounded, while it stays armed).  Never blocks. */
int uvodbc__cancel_request(uvodbc__cancel_t* c);
int uvodbc__cancel_requested(uvodbc__cancel_t* c);
/* Waits for the cancel threads to end (shutdown: nothing is armed). */
void uvodbc__cancel_thread_stop(void);
/* For tests: cancel attempts (SQLCancel, KILL, sqlite3_interrupt), threads
 * alive. */
unsigned long uvodbc__cancel_calls(void);
unsigned int uvodbc__cancel_threads(void);

/* ---- odbc-conn.c ---- */
typedef struct uvodbc__connect_args_s {
  const char* connstr;
  unsigned int login_timeout_s; /* 0: none (the driver's default) */
  int allow_serialized;
} uvodbc__connect_args_t;

/* Drivers whose quirks uvodbc works around (from SQL_DRIVER_NAME). */
typedef enum {
  UVODBC__DRIVER_OTHER = 0,
  UVODBC__DRIVER_SQLITE,
  UVODBC__DRIVER_PSQL,
  UVODBC__DRIVER_MARIADB
} uvodbc__driver_t;

/* *streams: 1 when uvodbc decides per statement whether a result streams
 * (psqlODBC, unless the user set UseDeclareFetch). */
int uvodbc__odbc_connect(const uvodbc__connect_args_t* args, SQLHDBC* out,
                         uvodbc__driver_t* driver, int* streams,
                         uvodbc__diags_t* diags);
/* Which transaction ends close every cursor of the connection (the driver
 * manager closes them): UVODBC__COMMIT_CLOSES | UVODBC__ROLLBACK_CLOSES.
 * Right after connect: it also fixes the answer the driver manager keeps
 * (odbc-txn.c). */
#define UVODBC__COMMIT_CLOSES 1u
#define UVODBC__ROLLBACK_CLOSES 2u
unsigned uvodbc__odbc_txn_closes(SQLHDBC dbc, int streams);
/* psqlODBC: whether the next executes read through a server cursor
 * (UseDeclareFetch) or buffer their result. */
void uvodbc__odbc_stream_cursors(SQLHDBC dbc, int on);
/* psqlODBC: 1 when the next execute would read through a server cursor. */
int uvodbc__odbc_streams_now(SQLHDBC dbc);
/* Rolls back, disconnects and frees the handle (SQLite: settling its
 * driver's stale transaction flag first if needed): 0, or UVODBC_ESQL when
 * the driver refused to disconnect (the handle is then still allocated). */
int uvodbc__odbc_disconnect(SQLHDBC dbc, uvodbc__driver_t driver,
                            uvodbc__diags_t* diags);
/* MariaDB's cancel: a connection of its own to the server of `connstr`
 * (short connect, read and write timeouts; SQL_NULL_HDBC when it fails),
 * KILL QUERY <id> on it (0 or UVODBC_ESQL), and its close. */
SQLHDBC uvodbc__odbc_kill_connect(const char* connstr, int mariadb);
/* Runs `sql` (KILL QUERY, pg_cancel_backend) on the kill connection. */
int uvodbc__odbc_kill_run(SQLHDBC dbc, const char* sql);
void uvodbc__odbc_kill_close(SQLHDBC dbc);

/* ---- odbc-sqlite.c: SQLite's cancel and lock waits ---- */
/* The string to connect with (free it; NULL: `connstr` as it is, no
 * capture): the driver's own lock waiting cut, `*timeout_ms` set to the
 * user's for uvodbc__sqlite_new.  In the connect's turn (it reads the DSN). */
char* uvodbc__sqlite_connstr(const char* connstr, long* timeout_ms);
/* Around the SQLite driver's SQLDriverConnect, on the connecting thread:
 * `*slot` receives the sqlite3* the driver opens (NULL if none, or if
 * libsqlite3 cannot be reached).  capture_failed: a rewritten connect
 * captured nothing; no later connect is rewritten. */
void uvodbc__sqlite_capture_begin(void** slot);
void uvodbc__sqlite_capture_end(void);
void uvodbc__sqlite_capture_failed(void);
/* A connection's state (NULL: out of memory).  wait_locks installs the
 * busy handler once the state is registered (it must outlive every call on
 * the connection); forget removes it, before SQLDisconnect. */
uvodbc__sqlite_t* uvodbc__sqlite_new(void* db, long timeout_ms);
void uvodbc__sqlite_wait_locks(uvodbc__sqlite_t* s);
void uvodbc__sqlite_forget(uvodbc__sqlite_t* s);
void uvodbc__sqlite_free(uvodbc__sqlite_t* s);
/* From the cancel thread, while armed: sqlite3_interrupt, and a lock wait
 * gives up.  rearm (the worker, at arm and disarm: no cancel in flight)
 * clears it. */
void uvodbc__sqlite_interrupt(uvodbc__sqlite_t* s);
void uvodbc__sqlite_rearm(uvodbc__sqlite_t* s);

/* ---- odbc-txn.c: transactions and connection state ---- */
int uvodbc__odbc_set_autocommit(SQLHDBC dbc, int on, uvodbc__diags_t* d);
int uvodbc__odbc_end_tran(SQLHDBC dbc, int commit, uvodbc__diags_t* d);
/* psqlODBC in autocommit mode, after a failed call whose diagnostics are
 * `d`: ends the transaction when a cancel left it aborted (odbc-txn.c). */
void uvodbc__odbc_psql_settle(SQLHDBC dbc, const uvodbc__diags_t* d);
/* psqlODBC: 1 when the server cursor of h's result is gone (a rollback
 * ended it); 0 when it is there or that cannot be told. */
int uvodbc__odbc_psql_cursor_gone(SQLHDBC dbc, SQLHSTMT h);
/* level: SQL_TXN_* or 0 for "leave as is". */
int uvodbc__odbc_set_isolation(SQLHDBC dbc, SQLUINTEGER level,
                               uvodbc__diags_t* d);
SQLUINTEGER uvodbc__odbc_get_isolation(SQLHDBC dbc);
/* 1 when the driver reports the connection dead (a cached flag on some). */
int uvodbc__odbc_is_dead(SQLHDBC dbc);
/* A round trip ("SELECT 1"): 0, or UVODBC_ESQL. */
int uvodbc__odbc_ping(SQLHDBC dbc, uvodbc__diags_t* d);
/* ---- odbc-disconnect.c ---- */
/* 1 if the diagnostics say the server cannot be reached or the connection
 * is gone (one table for every driver, docs/drivers.md). */
int uvodbc__diags_disconnect(const uvodbc__diags_t* d);

/* ---- odbc-params.c: statement parameters ---- */
/* How one value is bound: C and SQL types, column size and digits, and the
 * bytes a cell of it needs in a bound buffer. */
typedef struct uvodbc__shape_s {
  SQLSMALLINT ctype, sqltype;
  SQLULEN size;
  SQLSMALLINT digits;
  SQLLEN width;
} uvodbc__shape_t;

typedef struct uvodbc__params_s {
  size_t n;
  uvodbc_param_t* v; /* bytes point into `heap` */
  SQLLEN* ind;
  char* heap;
  uvodbc__shape_t* shapes; /* once bound                              */
  char* buf;               /* bound cells, also where OUT values land */
} uvodbc__params_t;

void uvodbc__param_shape(const uvodbc_param_t* p, uvodbc__driver_t driver,
                         uvodbc__shape_t* s);
/* Writes the C value of `p` into `dst` (shape width bytes); returns the
 * indicator: length, 0, or SQL_NULL_DATA. */
SQLLEN uvodbc__param_write(const uvodbc_param_t* p, uvodbc__driver_t driver,
                           void* dst);

/* 0 when a DATE / TIME / TIMESTAMP input has a field out of its calendar
 * range (month 1-12, day 1-31, year 0-9999, hour 0-23, minute 0-59,
 * second 0-61, nanosecond below 10^9); 1 otherwise. */
int uvodbc__param_calendar_ok(const uvodbc_param_t* p);
int uvodbc__params_copy(uvodbc__params_t* out, const uvodbc_param_t* in,
                        size_t n);
void uvodbc__params_free(uvodbc__params_t* p);
/* Shapes every parameter and allocates the cells they are bound to (once:
 * a prepared statement keeps them). */
int uvodbc__params_layout(uvodbc__params_t* p, uvodbc__driver_t driver);
/* Binds every parameter to `h` (SQLBindParameter), typed, with its
 * direction. */
int uvodbc__params_bind(SQLHSTMT h, uvodbc__driver_t driver,
                        uvodbc__params_t* p, uvodbc__diags_t* d);

/* ---- batch.c: columnar rows ---- */
typedef struct uvodbc__colbuf_s {
  SQLSMALLINT ctype;
  SQLLEN width;     /* bytes per cell in `data`; 0 for variable cells      */
  char* data;       /* fixed or block-bound cells: cap * width             */
  SQLLEN* ind;      /* cap: length or SQL_NULL_DATA                         */
  char* arena;      /* variable cells: bytes, each NUL-terminated          */
  size_t arena_len, arena_cap;
  size_t* offset;   /* variable cells: cap offsets into arena              */
} uvodbc__colbuf_t;

struct uvodbc_batch_s {
  size_t nrows, cap, ncols;
  const uvodbc_column_t* cols; /* owned by the statement or by `owned_cols` */
  uvodbc__colbuf_t* bufs;
  uvodbc_column_t* owned_cols; /* a QUERY result owns its metadata, names
                                  after the columns in the same block     */
  /* A whole result (uvodbc__result_append): rows in segments of seg_rows
   * rows, all full but the last; `bufs` then holds the layout only. */
  uvodbc_batch_t* segs;
  size_t nsegs, segs_cap, seg_rows;
  /* `bufs` is one allocation holding, after the column buffers, their
   * ind / data / offset arrays (a segment) or the owned columns and names
   * (a whole result): one malloc instead of 2-3 per column, each of which
   * the loop thread frees on another thread's arena (docs/performance.md).
   * Arenas stay separate. */
  int packed;
};

int uvodbc__batch_alloc(uvodbc_batch_t* b, const uvodbc_column_t* cols,
                        const uvodbc__colbuf_t* layout, size_t ncols,
                        size_t cap);
void uvodbc__batch_free(uvodbc_batch_t* b);
/* Grows to at least `cap` rows, keeping content. */
int uvodbc__batch_reserve(uvodbc_batch_t* b, size_t cap);
/* Appends `len` bytes to the variable cell being built at `row` of `col`
 * (start with uvodbc__batch_var_begin). */
int uvodbc__batch_var_begin(uvodbc_batch_t* b, size_t col, size_t row);
int uvodbc__batch_var_append(uvodbc_batch_t* b, size_t col, size_t row,
                             const void* bytes, size_t len);
/* Appends all rows of `src` (same columns) to `dst`. */
int uvodbc__batch_append(uvodbc_batch_t* dst, const uvodbc_batch_t* src);
/* Moves the last row of `src` (at least one row) into `dst` (same
 * columns), which then holds that row only. */
int uvodbc__batch_move_last(uvodbc_batch_t* dst, uvodbc_batch_t* src);
/* Bytes of cell data (fixed widths plus variable lengths). */
size_t uvodbc__batch_bytes(const uvodbc_batch_t* b);
/* A whole result, empty, of `ncols` columns read as `layout` says (width 0:
 * a variable column, compacted), stored in segments of `seg_rows` rows,
 * with its own copy of `cols` (names included). */
int uvodbc__result_init(uvodbc_batch_t* result, const uvodbc_column_t* cols,
                        const uvodbc__colbuf_t* layout, size_t ncols,
                        size_t seg_rows);
/* Appends every row of `block` to `result`, copying each cell once into
 * its segment (no growing buffer moves what came before); adds the bytes
 * of cell data appended to *bytes. */
int uvodbc__result_append(uvodbc_batch_t* result, const uvodbc_batch_t* block,
                          size_t* bytes);
/* Copies column metadata (names included) into storage the batch owns. */
int uvodbc__batch_own_columns(uvodbc_batch_t* b);

/* OUT / INOUT parameter values after execution, as a one-row batch. */
int uvodbc__params_outputs(const uvodbc__params_t* p, uvodbc_batch_t* out);

/* ---- odbc-split.c: statements in one string, as MariaDB splits them ---- */
/* Quoting rules, from the session's sql_mode (0: '\' escapes in '' and ""). */
#define UVODBC__SPLIT_NO_BACKSLASH 1u /* NO_BACKSLASH_ESCAPES: never       */
#define UVODBC__SPLIT_ANSI_QUOTES 2u  /* ANSI_QUOTES: not in "identifiers" */
/* End of the first statement of `sql`: its terminating ';' (outside quotes,
 * comments and BEGIN/CASE ... END blocks), or the terminating NUL (also for
 * a routine body: CREATE PROCEDURE / FUNCTION / DEFINER, BEGIN NOT ATOMIC). */
const char* uvodbc__split_end(const char* sql, unsigned rules);
/* 1 if `s` holds only blanks, comments and ';' (no statement). */
int uvodbc__split_blank(const char* s);
/* 1 if `sql` holds more than one statement under `rules`. */
int uvodbc__split_several(const char* sql, unsigned rules);
/* 1 if the quoting rules disagree on whether `sql` is several statements
 * (only the session's sql_mode can tell). */
int uvodbc__split_ambiguous(const char* sql);

/* ---- odbc-stmt.c: one statement and its result ---- */
typedef struct uvodbc__fetch_opts_s {
  size_t batch_rows;
  size_t long_column_bytes;
  int whole; /* read by uvodbc__stmt_fetch_all: buffers start small */
} uvodbc__fetch_opts_t;

typedef struct uvodbc__stmt_s {
  SQLHSTMT h;
  SQLHDBC dbc;           /* its connection                                 */
  uvodbc__kill_t* kill;  /* how to cancel it (uvodbc__kill_of), or NULL  */
  SQLHSTMT driver_h;     /* the driver's own handle, when kill wants it   */
  uvodbc__driver_t driver;
  uvodbc__fetch_opts_t opts;
  int prepared;          /* SQLPrepare done: uvodbc__stmt_execute runs it  */
  int keep_params;       /* OUT values arrive after the last result: the
                            caller unbinds parameters                      */
  size_t nparams;        /* parameter markers of the prepared statement    */
  int has_result;        /* the current result has columns                 */
  int eof;               /* SQL_NO_DATA seen for the current result        */
  int declared;          /* psqlODBC: the result reads through a server
                            cursor (set by lib/exec.c)                    */
  int row_mode;          /* a long column: one row per SQLFetch + GetData  */
  int64_t rows_affected;
  size_t ncols;
  uvodbc_column_t* cols;
  char* names;           /* column names, in the block of `cols`         */
  uvodbc__colbuf_t* layout;
  uvodbc_batch_t batch;  /* the rowset handed to the application           */
  uvodbc_batch_t carry;  /* row mode: a row fetched past the byte bound of
                            the last batch, the first of the next one      */
  uvodbc_batch_t spare;  /* a read's next rowset, fetched while the
                            application reads `batch` (allocated by the
                            first uvodbc__stmt_fetch_spare)                */
  const uvodbc__colbuf_t* bound_to; /* block mode: the buffers bound now,
                                       NULL when nothing is bound        */
  SQLULEN rows_fetched;  /* stable address bound to ROWS_FETCHED_PTR       */
  /* Driver calls a statement need not repeat (SELECT 1 made 20, now 7):
   * clean: closed since uvodbc__stmt_reset, nothing run on it since;
   * array_size: SQL_ATTR_ROW_ARRAY_SIZE as set (0: unknown);
   * attrs_set: column-wise binding and ROWS_FETCHED_PTR set (both stay). */
  int clean;
  SQLULEN array_size;
  int attrs_set;
  /* kept_ncols > 0: the last small whole result's cols block, `batch` and
   * its bindings (they outlive SQL_CLOSE on every driver), kept for the
   * next result of the same shape: SELECT 1 again costs no allocation and
   * no SQLBindCol.  `ncols` is 0 meanwhile. */
  size_t kept_ncols;
} uvodbc__stmt_t;

int uvodbc__stmt_init(uvodbc__stmt_t* s, SQLHDBC dbc, uvodbc__diags_t* d);
/* Executes with parameters; arms `cancel` around the call.  Then describes
 * and binds the result, if any. */
/* Prepares `sql` and counts its parameter markers. */
int uvodbc__stmt_prepare(uvodbc__stmt_t* s, const char* sql,
                         uvodbc__diags_t* d);
/* Executes the prepared statement with `params` (count checked). */
int uvodbc__stmt_execute(uvodbc__stmt_t* s, uvodbc__params_t* params,
                         uvodbc__cancel_t* cancel, uvodbc__diags_t* d);
int uvodbc__stmt_exec(uvodbc__stmt_t* s, const char* sql,
                      uvodbc__params_t* params, uvodbc__cancel_t* cancel,
                      uvodbc__diags_t* d);
/* Fetches up to `max_rows` rows into the statement's batch; arms
 * `cancel` (may be NULL) around the driver calls. */
int uvodbc__stmt_fetch(uvodbc__stmt_t* s, size_t max_rows,
                       uvodbc__cancel_t* cancel, uvodbc__diags_t* d);
/* The same into s->spare, leaving s->batch alone (the loop thread may be
 * reading it). */
int uvodbc__stmt_fetch_spare(uvodbc__stmt_t* s, size_t max_rows,
                             uvodbc__cancel_t* cancel, uvodbc__diags_t* d);
/* Makes the spare rowset the application's batch, and the old batch's
 * buffers the spare. */
void uvodbc__stmt_swap(uvodbc__stmt_t* s);
/* Fetches everything into `out` (allocated here), within the limits. */
int uvodbc__stmt_fetch_all(uvodbc__stmt_t* s, size_t max_rows,
                           size_t max_bytes, uvodbc__cancel_t* cancel,
                           uvodbc_batch_t* out, uvodbc__diags_t* d);
/* The bytes of a value the driver reported as `ind` long (not
 * SQL_NULL_DATA) in a buffer of `size` bytes: never more than the buffer
 * holds (text: before its NUL).  A truncated value's full length gives
 * the whole buffer; a length the driver did not know (SQL_NO_TOTAL) or
 * gave as another negative number gives, for text, the bytes before the
 * NUL ODBC puts in the buffer, for binary the whole buffer. */
size_t uvodbc__filled_len(SQLSMALLINT ctype, const char* buf, SQLLEN size,
                          SQLLEN ind);
/* 1 when psqlODBC reads the current result through a server cursor. */
int uvodbc__stmt_on_server(uvodbc__stmt_t* s);
/* Describes and binds the current result (after any call producing one). */
int uvodbc__stmt_describe(uvodbc__stmt_t* s, uvodbc__diags_t* d);
/* ---- odbc-catalog.c ---- */
int uvodbc__stmt_catalog(uvodbc__stmt_t* s, uvodbc_catalog_t kind,
                         const uvodbc_catalog_args_t* args,
                         uvodbc__diags_t* d);
void uvodbc__odbc_get_info(SQLHDBC dbc, uvodbc_info_t* info);
/* ---- odbc-bulk.c ---- */
typedef struct uvodbc__bulk_result_s {
  uint8_t* row_status; /* one uvodbc_row_status_t per row, caller-sized */
  int in_txn;          /* in: autocommit is off                         */
  uint64_t ok_rows;
  int64_t failed_row;  /* first failed row, -1 if none                 */
} uvodbc__bulk_result_t;

/* The rows of a bulk execution: row-major uvodbc_param_t values (`cells`,
 * copied at submission) or the caller's columns (`columns`, borrowed). */
typedef struct uvodbc__bulk_rows_s {
  size_t nrows, ncols;
  const uvodbc_param_t* cells;
  const uvodbc_param_column_t* columns;
} uvodbc__bulk_rows_t;

/* Cell (r, c) as a parameter: a pointer into `cells`, or `scratch` filled
 * from the columns. */
const uvodbc_param_t* uvodbc__bulk_cell(const uvodbc__bulk_rows_t* rows,
                                        size_t r, size_t c,
                                        uvodbc_param_t* scratch);

/* Prepares `sql` and executes it for every row of `rows` in batches of
 * `batch` rows; stops after the first failing batch. */
int uvodbc__stmt_bulk(uvodbc__stmt_t* s, const char* sql,
                      const uvodbc__bulk_rows_t* rows, size_t batch,
                      uvodbc__bulk_result_t* res, uvodbc__cancel_t* cancel,
                      uvodbc__diags_t* d);

/* SQLMoreResults; then describes the next result.  UV_EOF when none. */
int uvodbc__stmt_next_result(uvodbc__stmt_t* s, uvodbc__diags_t* d);
/* Closes the cursor and unbinds, keeping the handle for reuse. */
void uvodbc__stmt_reset(uvodbc__stmt_t* s);
/* Frees the handle and buffers. */
void uvodbc__stmt_free(uvodbc__stmt_t* s);

/* Hand-written status codes used by the blocking layer (libuv values). */
#define UVODBC__EOF (-4095)
#define UVODBC__ECANCELED (-125)
#define UVODBC__ENOMEM (-12)
#define UVODBC__EINVAL (-22)

#endif /* UVODBC_ODBC_H */
