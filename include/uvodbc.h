/* uvodbc: non-blocking SQL through ODBC for libuv programs.
 *
 * Every blocking ODBC call runs on libuv's worker pool; every result comes
 * back as a callback on the loop thread.  Four handles (connection, cursor,
 * prepared statement, pool) and one request type.  docs/design.md says how
 * it is built; docs/README.md lists a page per concept.
 *
 * Thread: handles are not thread-safe.  Call a handle's functions only on
 * the thread that runs the loop it belongs to; its callbacks run there.
 * Any number of loops may each run on their own thread, with their own
 * handles: they share the ODBC environment and the worker limit, which are
 * thread-safe.  uvodbc_init(), uvodbc_shutdown(), the worker-limit calls,
 * uvodbc_strerror(), uvodbc_err_name() and the version calls may be called
 * from any thread.  A loop whose uvodbc handles have all closed (their
 * close callbacks ran) closes with uv_loop_close() == 0.  See
 * docs/threading.md, "Several loops".
 *
 * Delivery contract: a call that returns an error never calls its callback;
 * a call that returns 0 calls it exactly once (uvodbc_cursor_read_start():
 * once per batch until the read ends), on the loop thread, never from
 * inside the starting call.
 *
 * Errors: 0 or a negative code.  libuv codes where the meaning matches
 * (UV_EINVAL, UV_ENOMEM, UV_ECANCELED, UV_ETIMEDOUT, UV_EOF, UV_EBUSY), the
 * UVODBC_E* codes below otherwise.
 */
#ifndef UVODBC_H
#define UVODBC_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "uvodbc/types.h"
#include "uvodbc/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(UVODBC_BUILDING) && defined(__GNUC__)
#define UVODBC_EXTERN __attribute__((visibility("default")))
#else
#define UVODBC_EXTERN extern
#endif

/* ------------------------------------------------------------------------ */
/* Errors (codes in uvodbc/types.h) */

/* Message for a uvodbc or libuv error code ("success" for 0).  Returns: a
 * static string (libuv allocates one for codes it does not know). */
UVODBC_EXTERN const char* uvodbc_strerror(int err);
/* Name of a uvodbc or libuv error code ("ESQL", "ECANCELED", "OK"). */
UVODBC_EXTERN const char* uvodbc_err_name(int err);

/* ------------------------------------------------------------------------ */
/* Library lifecycle */

/* Version as 0xMMmmpp and as "M.m.p".  Static string. */
UVODBC_EXTERN unsigned int uvodbc_version(void);
UVODBC_EXTERN const char* uvodbc_version_string(void);

/* Allocates the process-wide ODBC environment (ODBC 3).  Optional: the first
 * connect does it too.  Returns 0, UV_ENOMEM or UVODBC_ESQL.  Idempotent
 * (not counted).  Thread: any. */
UVODBC_EXTERN int uvodbc_init(void);

/* Frees the ODBC environment and stops the cancel thread, when no
 * connection of any loop is open or closing (every close callback has run)
 * and no driver call abandoned at its deadline is still to be cleaned up
 * (its connection's handles are still allocated: docs/threading.md, "When
 * the driver does not return").  Returns 0, or UV_EBUSY (nothing changed)
 * while one is.  With several loops, each may call it when its handles are
 * closed: the last call succeeds.  A later connect makes a new
 * environment.  uvodbc_walk() lists what is open; in debug mode a refusal
 * logs that list, for every loop.  Thread: any. */
UVODBC_EXTERN int uvodbc_shutdown(void);

/* How many libuv pool threads uvodbc may occupy at once.  libuv's pool is
 * global (UV_THREADPOOL_SIZE, default 4, read once at its first use) and
 * shared with uv_fs_* and DNS work; a running query pins a thread.  The
 * default leaves one thread free: UV_THREADPOOL_SIZE - 1.  So with
 * UV_THREADPOOL_SIZE=1 it is 0, and uvodbc_connect() and
 * uvodbc_pool_create() return UVODBC_ENOWORKER until
 * uvodbc_set_worker_limit(1) accepts holding the only thread (a pool then
 * also needs `oversubscribe`: its footprint rule, below).  One limit for
 * the process: operations of every loop beyond it wait in one FIFO, in
 * submission order; raising it starts waiting ones at once.  Returns 0 or
 * UV_EINVAL (0).  Thread: any. */
UVODBC_EXTERN int uvodbc_set_worker_limit(unsigned int n);
UVODBC_EXTERN unsigned int uvodbc_get_worker_limit(void);

/* ------------------------------------------------------------------------ */
/* Debug mode (docs/instruments.md) */

/* Receives one report: a line without its newline, never with a secret.
 * Called on the thread whose call or loop made the report, so from several
 * loop threads at once when several loops run; a log function that is
 * replaced (uvodbc_set_debug) may still be running on another thread, or
 * about to: keep its data alive while any loop may still report. */
typedef void (*uvodbc_log_fn)(const char* line, void* data);

typedef struct uvodbc_debug_options_s {
  int enabled;
  /* A callback of uvodbc's (request, close, pool) that holds the loop this
   * long is reported.  0: 100. */
  unsigned int slow_callback_ms;
  /* An operation that waited this long for a worker thread is reported.
   * 0: 100. */
  unsigned int slow_worker_wait_ms;
  uvodbc_log_fn log; /* NULL: "uvodbc debug: <line>" on stderr */
  void* log_data;
} uvodbc_debug_options_t;

/* Zeroes *opts: debug mode off, default thresholds. */
UVODBC_EXTERN void uvodbc_debug_options_init(uvodbc_debug_options_t* opts);
/* Turns debug mode on or off for the process.  Reported then: slow
 * callbacks, long waits for a worker, misuse that is otherwise refused
 * quietly (a request started while pending, a handle used off its loop's
 * thread, a pool's connection given to uvodbc_conn_close), and what is
 * still open when uvodbc_shutdown() refuses.  Without this call, debug
 * mode is on with the defaults when the environment has UVODBC_DEBUG=1
 * (read at the first call that needs it).  Copies *opts.  Returns 0 or
 * UV_EINVAL (NULL).  Thread: any. */
UVODBC_EXTERN int uvodbc_set_debug(const uvodbc_debug_options_t* opts);
/* The settings in force (the environment's, or the last set). */
UVODBC_EXTERN void uvodbc_get_debug(uvodbc_debug_options_t* opts);

/* ------------------------------------------------------------------------ */
/* Handles and requests */

typedef struct uvodbc_conn_s uvodbc_conn_t;
typedef struct uvodbc_cursor_s uvodbc_cursor_t;
typedef struct uvodbc_prepared_s uvodbc_prepared_t;
typedef struct uvodbc_req_s uvodbc_req_t;
typedef struct uvodbc_op_s uvodbc_op_t; /* private */
typedef struct uvodbc_pool_s uvodbc_pool_t;

typedef enum {
  UVODBC_REQ_UNKNOWN = 0,
  UVODBC_REQ_CONNECT,
  UVODBC_REQ_EXEC,
  UVODBC_REQ_QUERY,
  UVODBC_REQ_FETCH,
  UVODBC_REQ_NEXT_RESULT,
  UVODBC_REQ_TXN,
  UVODBC_REQ_PREPARE,
  UVODBC_REQ_INFO,
  UVODBC_REQ_BULK,
  UVODBC_REQ_CALL,
  UVODBC_REQ_ACQUIRE,
  UVODBC_REQ_READ
} uvodbc_req_type_t;

typedef void (*uvodbc_req_cb)(uvodbc_req_t* req, int status);
typedef void (*uvodbc_conn_close_cb)(uvodbc_conn_t* conn);
typedef void (*uvodbc_cursor_close_cb)(uvodbc_cursor_t* cursor);
typedef void (*uvodbc_prepared_close_cb)(uvodbc_prepared_t* prepared);

/* A request: one asynchronous operation.  Caller-owned (stack, struct member
 * or heap); it must stay valid until its callback returns, and may then be
 * reused at once, also from inside the callback (a fetch loop does that).
 * It needs no initialisation before its first start.
 *
 * Pending: from a successful start until its callback runs (a read's
 * request: from uvodbc_cursor_read_start() until the read's last callback
 * or uvodbc_cursor_read_stop()).  Starting any operation (uvodbc_conn_*,
 * uvodbc_prepared_*, uvodbc_cursor_*, uvodbc_pool_acquire/_exec/_query,
 * uvodbc_connect) on a pending request returns UV_EBUSY and changes
 * nothing: the pending operation goes on and calls back as usual.
 *
 * Finished: starting an operation overwrites every field but `data`.  A
 * result the request still holds (what uvodbc_req_cleanup() frees: QUERY,
 * INFO, BULK and CALL results) is freed first, as uvodbc_req_cleanup()
 * would: pointers to it taken earlier become invalid.  Call
 * uvodbc_req_cleanup() as soon as the result is no longer needed anyway:
 * a request that is never started again holds its result until then.
 * Debug mode reports both (a start on a pending request, a result freed
 * by a restart) as misuse.
 *
 * Thread: start, cancel and clean up a request on its loop's thread
 * (uvodbc remembers pending requests and held results per thread, by the
 * request's address).  So a request is its memory: do not copy one and
 * clean up the copy, and clean up (or let a restart free) a request's
 * result before freeing the request's memory.
 *
 * Public fields are read-only for the caller except `data`. */
struct uvodbc_req_s {
  void* data;               /* for the caller                               */
  uvodbc_req_type_t type;
  int status;               /* same as the callback's status                */
  uvodbc_conn_t* conn;      /* the connection the operation runs on         */
  uvodbc_cursor_t* cursor;  /* EXEC with a result set: a new cursor, owned by
                               the caller (uvodbc_cursor_close); FETCH,
                               NEXT_RESULT and READ: the cursor             */
  int64_t rows_affected;    /* EXEC / NEXT_RESULT without a result set; -1
                               where the driver does not tell               */
  const uvodbc_batch_t* batch; /* EXEC, FETCH, NEXT_RESULT, READ: the first
                               / next rows, valid until the cursor's next
                               callback, fetch, next_result or close, or
                               the connection's close or reset.
                               QUERY: every row, valid until
                               uvodbc_req_cleanup().                        */
  uvodbc_prepared_t* prepared; /* PREPARE: the new handle, owned by the
                               caller (uvodbc_prepared_close)               */
  const uvodbc_info_t* info; /* INFO: valid until uvodbc_req_cleanup()     */
  const uint8_t* row_status; /* BULK: a uvodbc_row_status_t per row, and */
  size_t nrow_status;        /* the first failed row (-1: none); valid    */
  int64_t failed_row;        /* until uvodbc_req_cleanup()                */
  const uvodbc_batch_t* outputs; /* CALL: OUT/INOUT values, one row     */
  const uvodbc_batch_t* const* results; /* CALL: every result set, in  */
  size_t nresults;           /* order; all valid until uvodbc_req_cleanup() */
  size_t ndiag;             /* diagnostics of this operation, valid until   */
  const uvodbc_diag_t* diag; /* the callback returns                        */
  uvodbc_op_t* op;          /* private                                      */
};

/* Frees the result a finished request holds (QUERY: req->batch; INFO,
 * BULK, CALL: their results).  Safe on any finished request and twice;
 * does nothing while the operation is pending.  Never frees a cursor.
 * Diagnostics need no cleanup: they are freed when the callback returns. */
UVODBC_EXTERN void uvodbc_req_cleanup(uvodbc_req_t* req);

/* Diagnostic records as text, one line each ("[42S02] 1146 SQLExecDirect:
 * Table 'x' doesn't exist"; line breaks inside a driver's message become
 * spaces), into buf with snprintf's rules: at most
 * `size` bytes with the NUL, and the return is the length the whole text
 * needs (buf may be NULL with size 0, to measure). */
UVODBC_EXTERN size_t uvodbc_diag_format(const uvodbc_diag_t* diag, size_t n,
                                        char* buf, size_t size);
/* What a finished request says: "ESQL: <uvodbc_strerror>" and then its
 * diagnostics as uvodbc_diag_format() writes them.  Call it in the
 * callback, while req->diag is valid.  Same rules for buf as above. */
UVODBC_EXTERN size_t uvodbc_req_describe(const uvodbc_req_t* req, char* buf,
                                         size_t size);

/* Cancels a pending request.  Queued: it completes with UV_ECANCELED on a
 * later loop iteration.  Running: the statement is cancelled with SQLCancel
 * from a dedicated thread (never the loop, never the worker pool); the
 * request completes with UV_ECANCELED if the cancel took effect, or with its
 * normal result if it had already finished.  A fetch or a read (its fetch
 * in flight) is cancelled the same way; a fetch cancelled (or timed out)
 * while it ran has dropped the rows it took from the driver, so every later
 * fetch or read of that cursor fails the same way (HY008): close it.
 * Returns 0, UV_EINVAL
 * (no such pending request, or its callback is already on its way) or
 * UV_EBUSY (the operation cannot be interrupted now: connect; it stays
 * pending).  A statement that
 * waits in the hop of an earlier one (docs/threading.md, "Chains") does not
 * start; its UV_ECANCELED comes in order when that hop ends.  One that
 * already ran in such a hop returns UV_EINVAL: its callback is pending. */
UVODBC_EXTERN int uvodbc_req_cancel(uvodbc_req_t* req);

/* ------------------------------------------------------------------------ */
/* Tracing: one event per phase of every operation (docs/instruments.md) */

/* What an operation does.  A read's fetches are UVODBC_OP_FETCH. */
typedef enum {
  UVODBC_OP_CONNECT,
  UVODBC_OP_EXEC,
  UVODBC_OP_QUERY,
  UVODBC_OP_FETCH,
  UVODBC_OP_NEXT_RESULT,
  UVODBC_OP_CURSOR_CLOSE,
  UVODBC_OP_CONN_CLOSE,
  UVODBC_OP_TXN,
  UVODBC_OP_PREPARE,
  UVODBC_OP_PREPARED_CLOSE,
  UVODBC_OP_INFO,
  UVODBC_OP_BULK,
  UVODBC_OP_CALL
} uvodbc_op_kind_t;

/* "connect", "exec", ... ("?" for an unknown kind).  Static string. */
UVODBC_EXTERN const char* uvodbc_op_kind_name(uvodbc_op_kind_t kind);

typedef enum {
  /* The operation joined its connection's queue. */
  UVODBC_TRACE_QUEUED,
  /* It was handed to libuv's thread pool (with the operations chained
   * behind it: docs/threading.md, "Chains"). */
  UVODBC_TRACE_STARTED,
  /* Its result is known; its callback comes next.  Every QUEUED event is
   * followed by one FINISHED event, with or without a STARTED between
   * (cancelled while queued, completed without a thread hop). */
  UVODBC_TRACE_FINISHED
} uvodbc_trace_phase_t;

/* One event.  Valid only during the hook's call; every string in it is
 * uvodbc's, never a parameter value nor a connection string. */
typedef struct uvodbc_trace_event_s {
  uvodbc_trace_phase_t phase;
  uvodbc_op_kind_t kind;
  uint64_t op_id;        /* the same in one operation's events; unique in
                            the process                                */
  uvodbc_conn_t* conn;
  uvodbc_pool_t* pool;   /* the pool that owns conn, or NULL          */
  const char* sql;       /* the statement's text, the catalog function or
                            procedure call; NULL when there is none   */
  const char* detail;    /* TXN: "begin", "commit", "rollback",
                            "autocommit", "isolation", "ping", "reset";
                            FETCH: "read" for a read's fetch; else NULL */
  uint64_t queued_at_ns; /* uv_hrtime() when it was queued            */
  /* STARTED and FINISHED (0 for an operation that never started): */
  uint64_t wait_conn_ns;   /* queued behind the connection's other work */
  uint64_t wait_worker_ns; /* then waiting for a thread: in STARTED until
                              it went to libuv's pool, in FINISHED until
                              a worker began it                        */
  /* FINISHED: */
  uint64_t work_ns;      /* on the worker thread (0: it never ran)      */
  int status;            /* the callback's status                      */
  uint64_t rows;         /* rows delivered (EXEC's first batch, FETCH,
                            QUERY, CALL's result sets)                 */
  int64_t rows_affected; /* -1: none, or not told by the driver        */
  char sqlstate[6];      /* the first diagnostic record's, or ""       */
  int native;            /* and its native error code                  */
} uvodbc_trace_event_t;

/* Runs on the loop thread, inside uvodbc: it must not block, and must not
 * start or close anything on the connection it is told about. */
typedef void (*uvodbc_trace_cb)(const uvodbc_trace_event_t* event,
                                void* data);

/* ------------------------------------------------------------------------ */
/* Connection */

/* What uvodbc_conn_options_t.login_timeout_s = 0 means: enough for any
 * reachable server, short enough that an unreachable one does not hold
 * every other connect for long. */
#define UVODBC_LOGIN_TIMEOUT_DEFAULT_S 15
/* login_timeout_s: no timeout of uvodbc's; the driver's default applies. */
#define UVODBC_LOGIN_TIMEOUT_NONE UINT_MAX
/* What deadline_grace_ms = 0 means. */
#define UVODBC_DEADLINE_GRACE_DEFAULT_MS 1000
/* What close_timeout_ms = 0 means: longer than the default login timeout,
 * so a close that waits for a connect to fail normally still does. */
#define UVODBC_CLOSE_TIMEOUT_DEFAULT_MS 30000
/* close_timeout_ms: a close waits for the driver however long it takes. */
#define UVODBC_CLOSE_TIMEOUT_NONE UINT_MAX

typedef struct uvodbc_conn_options_s {
  /* Login timeout in seconds, passed to SQL_ATTR_LOGIN_TIMEOUT; 0 means
   * UVODBC_LOGIN_TIMEOUT_DEFAULT_S, UVODBC_LOGIN_TIMEOUT_NONE leaves the
   * driver's default (often none).  MariaDB's driver ignores that attribute:
   * for it (found by DRIVER= or by the DSN's driver) uvodbc adds
   * CONN_TIMEOUT= to the connection string unless the string has one.
   * Without a timeout, a connect to a server that never answers waits
   * forever, and when it is one that runs alone (the first of its
   * connection string, or a DSN=; docs/threading.md) the connects and
   * closes of other connections wait behind it: hence a default. */
  unsigned int login_timeout_s;
  /* Default timeout for every statement on this connection, in ms; 0 = none.
   * Enforced by uvodbc's own timer and SQLCancel, on every driver.  If the
   * driver call has not returned deadline_grace_ms after the timeout (the
   * server stopped answering, the cancel did not work), it is abandoned:
   * the callback comes with UV_ETIMEDOUT and SQLSTATE HYT00, the
   * connection is broken (uvodbc_conn_is_broken(); what is queued fails at
   * once with UVODBC_ENOTCONN), and nothing of the request (parameters,
   * buffers) is touched again.  The worker stays in the driver until it
   * returns; docs/threading.md says what is freed when. */
  unsigned int query_timeout_ms;
  /* The grace above, in ms; 0 means UVODBC_DEADLINE_GRACE_DEFAULT_MS. */
  unsigned int deadline_grace_ms;
  /* The longest a close waits for the driver (a running operation, then
   * the disconnect), in ms from uvodbc_conn_close(); 0 means
   * UVODBC_CLOSE_TIMEOUT_DEFAULT_MS, UVODBC_CLOSE_TIMEOUT_NONE no limit.
   * Past it, what runs is abandoned as above (its callback: UV_ETIMEDOUT),
   * and the close callback comes with uvodbc_conn_close_status()
   * UV_ETIMEDOUT. */
  unsigned int close_timeout_ms;
  /* Non-zero accepts a driver manager that serializes all calls
   * (Threading=3); by default such a connect fails with UVODBC_ESERIAL. */
  int allow_serialized;
  /* The tracing hook, or NULL (no cost then), and its `data`.  A pool's
   * connections take it from the pool's options (uvodbc_pool_options_t
   * .conn), with event->pool set. */
  uvodbc_trace_cb trace;
  void* trace_data;
} uvodbc_conn_options_t;

/* Zeroes *opts, which means defaults. */
UVODBC_EXTERN void uvodbc_conn_options_init(uvodbc_conn_options_t* opts);

/* Opens a connection with SQLDriverConnect.  `connstr` is a connection
 * string ("DRIVER={SQLite3};Database=/tmp/x.db") or "DSN=name;UID=..".
 * Returns: 0, UV_EINVAL, UV_ENOMEM, UVODBC_ENOWORKER (the worker limit is
 * 0: UV_THREADPOOL_SIZE=1; see uvodbc_set_worker_limit).
 * On 0, req->conn is the new handle, already usable: operations queue
 * behind the connect.  The caller owns it and closes it with
 * uvodbc_conn_close(), also after a failed connect.
 * Callback: once, status 0, UVODBC_ESQL (see req->diag), UV_ECANCELED
 * (closed before it ran), UVODBC_ESERIAL.
 * Ownership: connstr and opts are copied; opts may be NULL. */
UVODBC_EXTERN int uvodbc_connect(uv_loop_t* loop, uvodbc_req_t* req,
                                 const char* connstr,
                                 const uvodbc_conn_options_t* opts,
                                 uvodbc_req_cb cb);

/* Closes a connection: refuses new work (UVODBC_ECLOSED), cancels running
 * work, completes queued work with UV_ECANCELED (after the running work's
 * callback, in submission order), then on a worker frees the
 * statements of its cursors, rolls back an open transaction, disconnects and
 * frees the handle.  Cursors of the connection stay allocated until the
 * caller closes them, but fail every operation with UVODBC_ECLOSED.
 * Returns: 0, UV_EINVAL (NULL, already closing, or borrowed from a pool:
 * give it back with uvodbc_pool_release() or uvodbc_pool_discard()),
 * UV_ENOMEM.
 * Callback: once, last, after every other callback of the connection, at
 * most close_timeout_ms after this call (and at once when a call abandoned
 * at its deadline still holds the connection); the handle is freed when it
 * returns.  May be NULL.  Callable from inside any
 * callback; statements that already ran in the same hop as the one whose
 * callback closes (docs/threading.md, "Chains") keep their results. */
UVODBC_EXTERN int uvodbc_conn_close(uvodbc_conn_t* conn,
                                    uvodbc_conn_close_cb cb);

/* Inside the close callback: 0 when the driver's handles of the connection
 * were freed, UVODBC_ESQL when the driver refused to disconnect even after a
 * rollback (its handle stays allocated, uvodbc_shutdown() then returns
 * UV_EBUSY); uvodbc_conn_close_diag() gives the driver's reasons.
 * UV_ETIMEDOUT when a driver call on the connection did not return in time
 * (close_timeout_ms passed, or an operation was abandoned at its deadline
 * and is still stuck): the close callback comes anyway, and the handles are
 * freed on a worker when that call returns (until then uvodbc_shutdown()
 * returns UV_EBUSY).
 * Outside the close callback: 0. */
UVODBC_EXTERN int uvodbc_conn_close_status(const uvodbc_conn_t* conn);
/* Inside the close callback: the diagnostics of a failed disconnect (*n of
 * them, NULL when none); valid until the callback returns. */
UVODBC_EXTERN const uvodbc_diag_t* uvodbc_conn_close_diag(
    const uvodbc_conn_t* conn, size_t* n);

UVODBC_EXTERN void* uvodbc_conn_get_data(const uvodbc_conn_t* conn);
UVODBC_EXTERN void uvodbc_conn_set_data(uvodbc_conn_t* conn, void* data);
UVODBC_EXTERN uv_loop_t* uvodbc_conn_get_loop(const uvodbc_conn_t* conn);
/* Non-zero once a connect succeeded and until close. */
UVODBC_EXTERN int uvodbc_conn_is_open(const uvodbc_conn_t* conn);

/* Non-zero once an operation failed because the connection is gone
 * (a diagnostic uvodbc_req_is_disconnect() recognises, or the driver's
 * SQL_ATTR_CONNECTION_DEAD after an error).  Close it: from then on
 * every operation but a close fails at once with UVODBC_ENOTCONN (SQLSTATE
 * 08S01), without touching the driver. */
UVODBC_EXTERN int uvodbc_conn_is_broken(const uvodbc_conn_t* conn);

/* Non-zero if a finished request's diagnostics say the server cannot be
 * reached or the connection is gone: a connect to a server that is down,
 * a connection lost or closed by the server.  Not for a server that
 * answered and refused (wrong password, unknown database).  The list per
 * driver: SQLSTATE class 08 (but psqlODBC's 08001 carrying the server's
 * "FATAL:" refusal), PostgreSQL 57P01-57P03, MariaDB 2002, 2003, 2005,
 * 2006, 2013, 2055, 5013, 5014 (docs/drivers.md).  Call it inside the
 * callback (diagnostics live until it returns). */
UVODBC_EXTERN int uvodbc_req_is_disconnect(const uvodbc_req_t* req);

/* ------------------------------------------------------------------------ */
/* Transactions and connection state
 *
 * Each call below is an operation on the connection's queue, like an exec.
 * Returns: 0, UV_EINVAL, UVODBC_ECLOSED, UV_ENOMEM.  Callback: once, with
 * 0, UVODBC_ESQL (diagnostics; also when the driver does not support the
 * request, e.g. an isolation level), UVODBC_ENOTCONN, UV_ECANCELED. */

typedef enum {
  UVODBC_ISOLATION_DEFAULT = 0,
  UVODBC_ISOLATION_READ_UNCOMMITTED,
  UVODBC_ISOLATION_READ_COMMITTED,
  UVODBC_ISOLATION_REPEATABLE_READ,
  UVODBC_ISOLATION_SERIALIZABLE
} uvodbc_isolation_t;

/* Autocommit is on after connect.  Turning it off starts a transaction
 * that lasts until commit or rollback; autocommit stays off after them
 * (only the end of a uvodbc_conn_begin() turns it back on).  Turning it on
 * commits an open transaction (ODBC's rule). */
UVODBC_EXTERN int uvodbc_conn_set_autocommit(uvodbc_conn_t* conn,
                                             uvodbc_req_t* req, int on,
                                             uvodbc_req_cb cb);
/* Starts a transaction (autocommit off); the commit or rollback that ends
 * it turns autocommit back on. */
UVODBC_EXTERN int uvodbc_conn_begin(uvodbc_conn_t* conn, uvodbc_req_t* req,
                                    uvodbc_req_cb cb);
/* Commit and rollback.  Where the driver's cursor behaviour for that end
 * is not SQL_CB_PRESERVE (PostgreSQL's rollback, and a commit that fails
 * there), every cursor open on the connection is closed by it: its next
 * fetch short of its end and its next_result fail with UVODBC_ESQL,
 * SQLSTATE 24000 (docs/transactions.md). */
UVODBC_EXTERN int uvodbc_conn_commit(uvodbc_conn_t* conn, uvodbc_req_t* req,
                                     uvodbc_req_cb cb);
UVODBC_EXTERN int uvodbc_conn_rollback(uvodbc_conn_t* conn,
                                       uvodbc_req_t* req, uvodbc_req_cb cb);
/* Sets the isolation level of the next transactions (SQL_ATTR_TXN_ISOLATION).
 * UV_EINVAL for UVODBC_ISOLATION_DEFAULT or an unknown level. */
UVODBC_EXTERN int uvodbc_conn_set_isolation(uvodbc_conn_t* conn,
                                            uvodbc_req_t* req,
                                            uvodbc_isolation_t level,
                                            uvodbc_req_cb cb);
/* A round trip to the server ("SELECT 1") after checking the driver's
 * dead-connection flag.  Status 0 when alive; uvodbc_conn_is_broken() tells
 * whether a failure was the connection dying. */
UVODBC_EXTERN int uvodbc_conn_ping(uvodbc_conn_t* conn, uvodbc_req_t* req,
                                   uvodbc_req_cb cb);
/* Returns the connection to its state after connect: frees the statements
 * of open cursors and prepared statements (those handles then fail with
 * UVODBC_ECLOSED and still need their _close), rolls back and restores
 * autocommit if uvodbc turned it off, restores the isolation level if uvodbc
 * changed it.  Session state made with SQL (SET, temporary tables) is not
 * undone.  The statements are taken when the reset runs, not when it is
 * called: operations queued before it run on them; operations of those
 * handles queued after it complete with UVODBC_ECLOSED (a close of one, with
 * 0), in order.  Fails at once with UVODBC_ENOTCONN once the connection is
 * broken (as every operation but a close does). */
UVODBC_EXTERN int uvodbc_conn_reset(uvodbc_conn_t* conn, uvodbc_req_t* req,
                                    uvodbc_req_cb cb);

/* ------------------------------------------------------------------------ */
/* Statements */

typedef struct uvodbc_exec_options_s {
  /* Timeout in ms (0: the connection's query_timeout_ms), of the execution
   * and, for a cursor, of each later fetch (a streaming driver runs the
   * query while it fetches: docs/reading.md).  As that one, it holds when
   * the driver never returns: uvodbc_conn_options_t. */
  unsigned int timeout_ms;
  /* Rows per batch, i.e. per thread hop.  0: as many as fit in about
   * 512 KiB of buffers (docs/performance.md), 1024 to 16384 (1024 when a
   * long column is read in chunks).
   * Always bounded so that a batch's buffers stay within 8 MiB: a larger
   * value (SIZE_MAX included) means as many rows as fit.  When a long
   * column is read in chunks, a batch also ends before the row that would
   * take its cell data past 8 MiB (that row starts the next batch); a
   * single row larger than that comes alone.
   * uvodbc_conn_query() reads its whole result in one hop: there, 0 means
   * 1024 rows per SQLFetch, and the first fetches ask for fewer (64, then
   * 8 times more each), so a small result costs a small rowset. */
  size_t batch_rows;
  /* uvodbc_conn_query(): fail with UVODBC_ELIMIT past this many rows or
   * bytes of cell data (0: 1,000,000 rows, 256 MiB). */
  size_t max_rows;
  size_t max_bytes;
  /* Columns whose declared size is above this many bytes, or unbounded,
   * are read with chunked SQLGetData, one row per SQLFetch (0: 8192; at
   * most 8 MiB). */
  size_t long_column_bytes;
} uvodbc_exec_options_t;

UVODBC_EXTERN void uvodbc_exec_options_init(uvodbc_exec_options_t* opts);

/* Executes `sql` (UTF-8) with typed parameters bound to its `?` markers, and
 * reads the first batch of the result in the same thread hop.
 * Returns: 0, UV_EINVAL (NULL conn/req/sql, nparams without params, a
 * parameter with an unknown type or direction, NULL bytes with a non-zero
 * length, binary with length SIZE_MAX, an OUT / INOUT out_size above
 * INT32_MAX - 1, a date or time field out of its range: month 1-12, day
 * 1-31, year 0-9999, hour 0-23, minute 0-59, second 0-61, nanosecond below
 * 10^9), UVODBC_ECLOSED, UV_ENOMEM.
 * Callback: once.  Status 0: req->cursor is NULL and req->rows_affected set
 * (0 for an UPDATE that matched nothing), or req->cursor is a new cursor
 * positioned after req->batch.  Errors: UVODBC_ESQL (diagnostics),
 * UVODBC_EPARAMS, UV_ECANCELED, UV_ETIMEDOUT, UVODBC_ETRUNC.
 * Ownership: sql and params (with their text and binary) are copied; opts
 * may be NULL. */
UVODBC_EXTERN int uvodbc_conn_exec(uvodbc_conn_t* conn, uvodbc_req_t* req,
                                   const char* sql,
                                   const uvodbc_param_t* params,
                                   size_t nparams,
                                   const uvodbc_exec_options_t* opts,
                                   uvodbc_req_cb cb);

/* Like uvodbc_conn_exec(), but reads the whole first result set in one hop
 * into req->batch, which the request owns until uvodbc_req_cleanup().
 * req->cursor stays NULL; the statement is freed before the callback.
 * Column metadata: uvodbc_batch_column().  Extra status: UVODBC_ELIMIT when
 * opts->max_rows or max_bytes is exceeded (nothing is returned then). */
UVODBC_EXTERN int uvodbc_conn_query(uvodbc_conn_t* conn, uvodbc_req_t* req,
                                    const char* sql,
                                    const uvodbc_param_t* params,
                                    size_t nparams,
                                    const uvodbc_exec_options_t* opts,
                                    uvodbc_req_cb cb);

/* ------------------------------------------------------------------------ */
/* Prepared statements */

/* Prepares `sql` once (SQLPrepare) for many executions.  Callback: status
 * 0 with req->prepared, a new handle the caller closes with
 * uvodbc_prepared_close(); UVODBC_ESQL for SQL the driver rejects at
 * prepare time (which errors those are differs: psqlODBC reports them all
 * at execution, SQLite and MariaDB some at prepare). */
UVODBC_EXTERN int uvodbc_conn_prepare(uvodbc_conn_t* conn, uvodbc_req_t* req,
                                      const char* sql, uvodbc_req_cb cb);
/* Executes the prepared statement with `params` (their count must match
 * the markers: UVODBC_EPARAMS otherwise).  Results as uvodbc_conn_exec():
 * rows affected, or a cursor that borrows the statement; until that
 * cursor's close callback has run, or while an execution is pending, this
 * returns UV_EBUSY. */
UVODBC_EXTERN int uvodbc_prepared_exec(uvodbc_prepared_t* prepared,
                                       uvodbc_req_t* req,
                                       const uvodbc_param_t* params,
                                       size_t nparams,
                                       const uvodbc_exec_options_t* opts,
                                       uvodbc_req_cb cb);
/* As uvodbc_conn_query(), on the prepared statement. */
UVODBC_EXTERN int uvodbc_prepared_query(uvodbc_prepared_t* prepared,
                                        uvodbc_req_t* req,
                                        const uvodbc_param_t* params,
                                        size_t nparams,
                                        const uvodbc_exec_options_t* opts,
                                        uvodbc_req_cb cb);
/* Number of parameter markers, and the driver's description of one. */
UVODBC_EXTERN size_t uvodbc_prepared_nparams(
    const uvodbc_prepared_t* prepared);
/* Returns 0, UVODBC_ERANGE, UVODBC_ECLOSED, UV_EINVAL. */
UVODBC_EXTERN int uvodbc_prepared_param(const uvodbc_prepared_t* prepared,
                                        size_t i, uvodbc_param_info_t* out);
/* Frees the statement on a worker, in order behind the connection's other
 * work.  Returns 0, UV_EINVAL (NULL or closing), UV_EBUSY (its cursor's
 * close callback has not run yet, or an execution is pending).  Callback
 * once; the handle is freed when it returns.  After the connection closed
 * or was reset the handle fails every execution with UVODBC_ECLOSED and
 * still needs this call. */
UVODBC_EXTERN int uvodbc_prepared_close(uvodbc_prepared_t* prepared,
                                        uvodbc_prepared_close_cb cb);
UVODBC_EXTERN void* uvodbc_prepared_get_data(
    const uvodbc_prepared_t* prepared);
UVODBC_EXTERN void uvodbc_prepared_set_data(uvodbc_prepared_t* prepared,
                                            void* data);

/* ------------------------------------------------------------------------ */
/* Catalog and driver information */

/* Runs a catalog function (SQLTables, SQLColumns, ...; see
 * uvodbc_catalog_t) with `args` (NULL: no restriction).  Results exactly as
 * uvodbc_conn_exec(): a cursor with the first batch.  Column names and
 * order are the ODBC ones (TABLE_NAME, COLUMN_NAME, ...); values are as the
 * driver reports them.  Ownership: args and its strings are copied. */
UVODBC_EXTERN int uvodbc_conn_catalog(uvodbc_conn_t* conn, uvodbc_req_t* req,
                                      uvodbc_catalog_t kind,
                                      const uvodbc_catalog_args_t* args,
                                      const uvodbc_exec_options_t* opts,
                                      uvodbc_req_cb cb);
/* Reads driver and DBMS facts (SQLGetInfo) into req->info, which the
 * request owns until uvodbc_req_cleanup(). */
UVODBC_EXTERN int uvodbc_conn_get_info(uvodbc_conn_t* conn,
                                       uvodbc_req_t* req, uvodbc_req_cb cb);

/* ------------------------------------------------------------------------ */
/* Bulk execution and procedure calls */

/* Executes `sql` once per row of `rows` (row-major: nrows * ncols values,
 * each column of one type or NULL, input only) with parameter arrays:
 * opts->batch_rows rows per SQLExecute (0: 1000), bound column-wise once
 * and refilled per batch.  Text and binary columns grow as needed.  Stops
 * after the first batch that fails.
 * Returns: 0, UV_EINVAL (mixed types in a column, OUT parameters, zero
 * sizes, a date or time out of range as for uvodbc_conn_exec),
 * UVODBC_ECLOSED, UV_ENOMEM.
 * Callback: status 0 or UVODBC_ESQL / UVODBC_EPARAMS / UV_ECANCELED;
 * either way req->rows_affected is the number of rows executed
 * successfully (SQL_ATTR_PARAMS_PROCESSED_PTR and the row status array,
 * not SQLRowCount), req->row_status the fate of each row and
 * req->failed_row the first failed row.  What happens to the other rows of
 * a failing batch depends on the driver: see docs/bulk.md.
 * Ownership: rows (with text and binary) are copied. */
UVODBC_EXTERN int uvodbc_conn_bulk(uvodbc_conn_t* conn, uvodbc_req_t* req,
                                   const char* sql,
                                   const uvodbc_param_t* rows, size_t nrows,
                                   size_t ncols,
                                   const uvodbc_exec_options_t* opts,
                                   uvodbc_req_cb cb);
/* uvodbc_conn_bulk() for values already in columns: ncols columns of nrows
 * values each (uvodbc_param_column_t), nothing copied.  The fastest way to
 * insert many rows: the worker writes the values straight into the bound
 * parameter arrays.
 * Returns: as uvodbc_conn_bulk(); UV_EINVAL also for an unknown type, a
 * missing `values` or BINARY `lengths`, or a NULL text or binary pointer in
 * a row not marked NULL.  Callback and request fields: as uvodbc_conn_bulk().
 * Ownership: borrowed, like uv_write()'s buffers: `columns` is copied, but
 * the arrays it points at, and the text and binary they point at, must stay
 * valid and unchanged until the callback.  So this call is never abandoned
 * at its deadline (uvodbc_conn_options_t.query_timeout_ms): if the driver
 * does not return, neither does the callback, nor a close behind it. */
UVODBC_EXTERN int uvodbc_conn_bulk_columns(
    uvodbc_conn_t* conn, uvodbc_req_t* req, const char* sql,
    const uvodbc_param_column_t* columns, size_t ncols, size_t nrows,
    const uvodbc_exec_options_t* opts, uvodbc_req_cb cb);

/* Calls a procedure or function ("{CALL p(?, ?)}", "{? = CALL f(?)}",
 * "CALL p(?)") with IN, OUT and INOUT parameters (uvodbc_param_out,
 * uvodbc_param_inout) and reads everything in one hop: every result set
 * into req->results (req->batch is the first, or NULL), then the OUT and
 * INOUT values into req->outputs, a one-row batch whose column i is the
 * i-th OUT/INOUT parameter.  MariaDB and psqlODBC also return the OUT
 * values as a last one-row result set, which stays in req->results.
 * PostgreSQL procedures need plain "CALL p(?)"; MariaDB reports a NULL
 * OUT text as empty.  An OUT text or binary value longer than its
 * out_size comes back cut to out_size bytes (text at a whole UTF-8
 * character); one whose length the driver does not report (SQL_NO_TOTAL)
 * is the text before the NUL ODBC ends it with, or all out_size bytes of
 * binary.  Extra status: UVODBC_ETYPE when an OUT number comes back (as
 * text, from MariaDB) as something that is not a number of its type, such
 * as a DECIMAL(65) beyond INT64.  All owned by the request until
 * uvodbc_req_cleanup().  Limits of opts apply to each result set. */
UVODBC_EXTERN int uvodbc_conn_call(uvodbc_conn_t* conn, uvodbc_req_t* req,
                                   const char* sql,
                                   const uvodbc_param_t* params,
                                   size_t nparams,
                                   const uvodbc_exec_options_t* opts,
                                   uvodbc_req_cb cb);

/* ------------------------------------------------------------------------ */
/* Cursor */

/* A cursor is read in one of two ways (docs/reading.md):
 *   - pull: uvodbc_cursor_fetch(), one batch per call, one thread hop each;
 *   - push: uvodbc_cursor_read_start(), in the spirit of uv_read_start():
 *     the callback runs once per batch until UV_EOF or an error, and the
 *     next batch is fetched on a worker while the callback handles the
 *     current one.
 * Memory: a cursor holds the buffers of one batch (its batch_rows rows,
 * within the 8 MiB bound above; about 512 KiB by default) and, once read
 * with read_start, a second set for the batch in flight: at most
 * 2 x batch buffers + the driver's own buffer.  The driver's buffer is the
 * whole result unless the driver streams: uvodbc makes psqlODBC's cursors
 * stream (a server cursor, 1024 rows of buffer); SQLite's and MariaDB's
 * drivers read the whole result at execute (docs/drivers.md,
 * "Streaming"). */

/* Reads the next batch of up to max_rows rows (0: the exec option) in one
 * thread hop.  The batch stays within the exec option batch_rows' bounds:
 * when a long column is read in chunks, at most what fits the 8 MiB bound
 * whatever max_rows is (SIZE_MAX included); otherwise at most batch_rows
 * rows, the buffers bound to the statement.  After uvodbc_cursor_read_stop()
 * a batch the read had already fetched (or was fetching) comes first, whole
 * (up to read_start's max_rows rows), without a hop.
 * Returns: 0, UV_EINVAL, UVODBC_ECLOSED, UV_EBUSY (another operation of
 * this cursor is pending, or it is reading).
 * Callback: once.  Status 0 with req->batch holding >= 1 row; UV_EOF when
 * the result set is exhausted (req->batch NULL); UVODBC_ESQL, UV_ECANCELED,
 * UV_ETIMEDOUT (the exec option timeout_ms, per fetch), UVODBC_ETRUNC.
 * Ownership: the previous batch of this cursor is invalid from this call
 * on. */
UVODBC_EXTERN int uvodbc_cursor_fetch(uvodbc_cursor_t* cursor,
                                      uvodbc_req_t* req, size_t max_rows,
                                      uvodbc_req_cb cb);

/* Reads the rest of the current result set, batch by batch, into `cb`:
 * status 0 with req->batch (>= 1 row, up to max_rows rows; 0: the exec
 * option batch_rows), again and again, then UV_EOF; or an error status
 * (as uvodbc_cursor_fetch's), after which the read is over.  One fetch is
 * in flight at a time: the next batch is fetched while `cb` handles the
 * current one, so req->batch is valid until the next callback (not only
 * until `cb` returns).
 * Returns 0, UV_EINVAL (NULL cursor, req or cb), UVODBC_ECLOSED,
 * UV_EALREADY (already reading), UV_EBUSY (a fetch or next_result of the
 * cursor is pending), UV_ENOMEM.
 * `req` is the read's until it ends: the callback with UV_EOF or an error,
 * or the return of uvodbc_cursor_read_stop() or uvodbc_cursor_close().
 * uvodbc_req_cancel(req) cancels the fetch in flight: the read ends with
 * UV_ECANCELED (after that fetch's batch, if it had already finished).
 * Each fetch has the exec option timeout_ms (UV_ETIMEDOUT).
 * While reading, uvodbc_cursor_fetch() and _next_result() return UV_EBUSY.
 * Ownership: the previous batch (the exec's, a fetch's or the last read
 * callback's) stays valid until the first callback, and read_start leaves
 * req->batch as it was (it clears every other field but `data`). */
UVODBC_EXTERN int uvodbc_cursor_read_start(uvodbc_cursor_t* cursor,
                                           uvodbc_req_t* req,
                                           size_t max_rows,
                                           uvodbc_req_cb cb);

/* Stops calling the read's callback (backpressure), also from inside it.
 * No fetch starts until uvodbc_cursor_read_start() or
 * uvodbc_cursor_fetch() is called again; the fetch already in flight
 * completes and its batch waits for that call, so no row is lost.  The
 * batch of the last callback stays valid until the next one.  Returns 0
 * (also when not reading) or UV_EINVAL (NULL). */
UVODBC_EXTERN int uvodbc_cursor_read_stop(uvodbc_cursor_t* cursor);

/* Moves to the next result set (SQLMoreResults) and reads its first batch.
 * A batch fetched by a stopped read of the old result set is dropped.
 * Callback: status 0 with new columns and req->batch, or with
 * req->rows_affected for a statement without rows (req->batch NULL then);
 * UV_EOF when there are no more results. */
UVODBC_EXTERN int uvodbc_cursor_next_result(uvodbc_cursor_t* cursor,
                                            uvodbc_req_t* req,
                                            uvodbc_req_cb cb);

/* Column metadata of the current result set.  Pointer valid until the next
 * uvodbc_cursor_next_result() or the cursor's close. */
UVODBC_EXTERN size_t uvodbc_cursor_ncols(const uvodbc_cursor_t* cursor);
UVODBC_EXTERN const uvodbc_column_t* uvodbc_cursor_column(
    const uvodbc_cursor_t* cursor, size_t col);

/* Closes the cursor: frees its statement on a worker, in order behind the
 * connection's other work.  A read stops first: no read callback follows.
 * Returns 0 or UV_EINVAL (NULL, already closing).
 * Callback: once; the handle is freed when it returns.  May be NULL. */
UVODBC_EXTERN int uvodbc_cursor_close(uvodbc_cursor_t* cursor,
                                      uvodbc_cursor_close_cb cb);

UVODBC_EXTERN void* uvodbc_cursor_get_data(const uvodbc_cursor_t* cursor);
UVODBC_EXTERN void uvodbc_cursor_set_data(uvodbc_cursor_t* cursor,
                                          void* data);

/* ------------------------------------------------------------------------ */
/* Batch: rows in columnar form.  Accessors return 0, UVODBC_ENULL (the cell
 * is NULL), UVODBC_ETYPE (wrong accessor for uvodbc_batch_column()->type),
 * UVODBC_ERANGE or UV_EINVAL.  Pointers they return stay valid as long as
 * the batch. */

UVODBC_EXTERN size_t uvodbc_batch_nrows(const uvodbc_batch_t* batch);
UVODBC_EXTERN size_t uvodbc_batch_ncols(const uvodbc_batch_t* batch);
UVODBC_EXTERN const uvodbc_column_t* uvodbc_batch_column(
    const uvodbc_batch_t* batch, size_t col);
/* 1 if NULL, 0 if not, negative error. */
UVODBC_EXTERN int uvodbc_batch_is_null(const uvodbc_batch_t* batch,
                                       size_t col, size_t row);
UVODBC_EXTERN int uvodbc_batch_get_int64(const uvodbc_batch_t* batch,
                                         size_t col, size_t row,
                                         int64_t* out);
/* DOUBLE columns; INT64 columns converted. */
UVODBC_EXTERN int uvodbc_batch_get_double(const uvodbc_batch_t* batch,
                                          size_t col, size_t row,
                                          double* out);
UVODBC_EXTERN int uvodbc_batch_get_bool(const uvodbc_batch_t* batch,
                                        size_t col, size_t row, int* out);
/* TEXT and DECIMAL columns: bytes (NUL-terminated too) and length. */
UVODBC_EXTERN int uvodbc_batch_get_text(const uvodbc_batch_t* batch,
                                        size_t col, size_t row,
                                        const char** out, size_t* len);
/* BINARY columns (TEXT too, as its UTF-8 bytes). */
UVODBC_EXTERN int uvodbc_batch_get_binary(const uvodbc_batch_t* batch,
                                          size_t col, size_t row,
                                          const void** out, size_t* len);
/* DATE, TIME and TIMESTAMP columns. */
UVODBC_EXTERN int uvodbc_batch_get_timestamp(const uvodbc_batch_t* batch,
                                             size_t col, size_t row,
                                             uvodbc_timestamp_t* out);

/* ------------------------------------------------------------------------ */
/* Pool
 *
 * Connections to one connection string, lent to one borrower at a time
 * (docs/design.md, section 5).  Min and max size; a FIFO of waiting acquires
 * with a timeout; connects run in parallel, up to a limit; a connection
 * is closed when it reaches its max lifetime or sits idle too long; one
 * that sat idle is pinged before it is handed out; released connections
 * are reset, broken ones evicted and replaced; graceful close and
 * immediate terminate; statistics.  The pool is built on the connection
 * API above and never uses the driver manager's pooling.
 *
 * Thread-pool footprint.  A connection runs one operation at a time, and a
 * running operation occupies one libuv pool thread, so a pool of max_size
 * connections can occupy max_size threads.  libuv's thread pool is
 * global: 4 threads unless UV_THREADPOOL_SIZE is set before the process's
 * first uv_queue_work (set it at the top of main(), before any loop does
 * work).  It is shared with uv_fs_* and getaddrinfo.  uvodbc occupies at
 * most uvodbc_get_worker_limit() of those threads (default:
 * UV_THREADPOOL_SIZE - 1).  So uvodbc_pool_create() refuses, with
 * UVODBC_EPOOLSIZE (debug mode logs the numbers):
 *   - a max_size above the worker limit.  The extra connections could never
 *     run at the same time as the others.  Their operations would wait,
 *     unseen, in uvodbc's queue while still holding a server connection;
 *   - a max_size that reaches UV_THREADPOOL_SIZE.  That pool could occupy
 *     every thread and stall file-system and DNS work.
 * For a larger pool, raise UV_THREADPOOL_SIZE and, if needed,
 * uvodbc_set_worker_limit().  Or set `oversubscribe` when most borrowed
 * connections sit without running anything (transactions driven by other
 * I/O).  Pools and plain connections all share the one worker limit.
 *
 * What reset promises.  uvodbc_pool_release() resets a connection with
 * uvodbc_conn_reset() (nothing to do, and no thread hop, when the borrower
 * changed none of the following): it frees the statements of cursors and
 * prepared statements left open, rolls back a transaction started with
 * uvodbc_conn_begin() or uvodbc_conn_set_autocommit(0), turns autocommit
 * back on, and restores an isolation level changed with
 * uvodbc_conn_set_isolation().  Session state made with SQL is not undone:
 * temporary tables, SET / session variables, a transaction opened with a
 * literal BEGIN statement, prepared statements made with PREPARE, advisory
 * locks.  A borrower that makes such state either undoes it before release
 * (DISCARD ALL on PostgreSQL) or hands the connection back with
 * uvodbc_pool_discard(), which closes it.
 *
 * Thread: as everywhere, the loop thread only. */

typedef struct uvodbc_pool_setup_s uvodbc_pool_setup_t;

typedef void (*uvodbc_pool_ready_cb)(uvodbc_pool_t* pool, int status);
typedef void (*uvodbc_pool_close_cb)(uvodbc_pool_t* pool);
/* The setup hook: see uvodbc_pool_options_t.setup. */
typedef void (*uvodbc_pool_setup_cb)(uvodbc_pool_setup_t* setup);

typedef struct uvodbc_pool_options_s {
  /* Connections opened at create and kept open (replaced when they close).
   * 0: none; connections open on demand. */
  unsigned int min_size;
  /* At most this many connections, including those still connecting.
   * 0: uvodbc_get_worker_limit(), within the footprint rule above. */
  unsigned int max_size;
  /* Connects (with their setup) in flight at once.  0: 2.  Never above
   * max_size. */
  unsigned int max_connecting;
  /* An acquire that waits this long fails with UV_ETIMEDOUT.  0: 30000. */
  unsigned int acquire_timeout_ms;
  /* A connection this old is closed when it is idle or next released.
   * 0: no limit. */
  unsigned int max_lifetime_ms;
  /* An idle connection, above min_size, is closed after this long idle.
   * 0: never. */
  unsigned int idle_timeout_ms;
  /* A connection idle at least this long is pinged (uvodbc_conn_ping)
   * before it is handed out; one that fails is evicted and the acquire
   * moves on to another connection.  0: 5000.  UINT_MAX: never; 1: on
   * nearly every checkout. */
  unsigned int validate_after_idle_ms;
  /* Non-zero accepts a max_size that breaks the footprint rule above. */
  int oversubscribe;
  /* The setup hook, or NULL.  It runs on each new connection before the
   * pool hands the connection out (session setup: SET statements, a
   * schema, a time zone).  It receives `setup`, which the pool owns, with
   * the open connection.  It may run any number of operations on it.
   * Then it calls uvodbc_pool_setup_done() exactly once, from inside the
   * hook or later.  setup->req is free for those operations.  A failed
   * setup closes the connection and counts as a failed connect.  The pool
   * never closes a connection in setup: close and terminate wait for
   * uvodbc_pool_setup_done(), so setup->conn stays valid until then. */
  uvodbc_pool_setup_cb setup;
  void* setup_data; /* copied to setup->data */
  /* Options of every connection (login and query timeouts, ...). */
  uvodbc_conn_options_t conn;
} uvodbc_pool_options_t;

/* Given to the setup hook; valid until uvodbc_pool_setup_done() returns. */
struct uvodbc_pool_setup_s {
  void* data;           /* options.setup_data; the hook may change it */
  uvodbc_pool_t* pool;
  uvodbc_conn_t* conn;  /* the new, open connection                    */
  uvodbc_req_t req;     /* free for the hook's operations (req.data too) */
};

/* Ends the setup of setup->conn.  Status 0: the connection joins the pool.
 * Any other status: the pool closes the connection.  If nothing else is
 * open, the oldest waiting acquire fails with that status.
 * Returns 0, or UV_EINVAL (NULL, or called twice from the same callback).
 * After this call, setup is no longer valid: the pool may free it on a
 * later loop iteration, so do not call this again. */
UVODBC_EXTERN int uvodbc_pool_setup_done(uvodbc_pool_setup_t* setup,
                                         int status);

/* Zeroes *opts, which means defaults. */
UVODBC_EXTERN void uvodbc_pool_options_init(uvodbc_pool_options_t* opts);

/* Creates a pool and starts opening min_size connections, up to
 * max_connecting of them at once.
 * Returns: 0, UV_EINVAL (NULL loop, pool or connstr; min_size > max_size),
 * UVODBC_EPOOLSIZE (the thread-pool footprint rule above), UV_ENOMEM,
 * UVODBC_ENOWORKER (as uvodbc_connect).  On 0, *pool is the
 * new handle, usable at once.  Acquires wait for the first connections.
 * Callback: ready_cb (may be NULL) runs once, when each of the min_size
 * first connects has finished.  Status 0 if all of them succeeded, else
 * the first failure (UVODBC_ESQL, ...); failed ones are retried with
 * backoff.  With min_size 0 it runs on the next loop iteration.  A pool
 * closed before then gets UVODBC_ECLOSED, before the close callback.
 * Ownership: connstr and opts are copied; opts may be NULL. */
UVODBC_EXTERN int uvodbc_pool_create(uv_loop_t* loop, uvodbc_pool_t** pool,
                                     const char* connstr,
                                     const uvodbc_pool_options_t* opts,
                                     uvodbc_pool_ready_cb ready_cb);

/* Borrows a connection.  Waiting acquires are served in FIFO order.  A
 * connection comes from the idle ones (the most recently used first,
 * pinged first if it sat idle long enough), or a new one is opened below
 * max_size.  Never blocks the loop.
 * Returns: 0, UV_EINVAL, UVODBC_ECLOSED (the pool is closing).
 * Callback: once.  Status 0: req->conn is the borrowed connection.  Use it
 * like any connection, then give it back with uvodbc_pool_release() (or
 * uvodbc_pool_discard()), never with uvodbc_conn_close() (which refuses
 * it with UV_EINVAL).
 * Errors: UV_ETIMEDOUT (acquire_timeout_ms passed); UV_ECANCELED
 * (uvodbc_pool_cancel); UVODBC_ECLOSED (the pool closed while waiting);
 * the status of a failed connect (UVODBC_ESQL with the connect's
 * diagnostics in req->diag).  A failed connect fails the oldest waiter
 * only when no connection is open (the server is down or refuses): such an
 * acquire fails at once rather than at its timeout.  Otherwise waiters go
 * on waiting for a released connection, while connects are retried with
 * backoff.
 * req->type is UVODBC_REQ_ACQUIRE; req->diag is valid until the callback
 * returns. */
UVODBC_EXTERN int uvodbc_pool_acquire(uvodbc_pool_t* pool, uvodbc_req_t* req,
                                      uvodbc_req_cb cb);

/* Gives a borrowed connection back.  Call it after every operation you
 * started on the connection has called back.  Cursors and prepared
 * statements may still be open: the reset frees their statements, but you
 * still close their handles.  The connection is then either
 *   - closed: it is broken (uvodbc_conn_is_broken), past its max lifetime,
 *     or the pool is closing;
 *   - or reset (see "What reset promises"), then made idle or handed to the
 *     next waiter; if the reset fails, it is closed.
 * Returns: 0, UV_EINVAL (NULL, or conn is not borrowed from this pool:
 * never lent by it, given back already, even if the pool has closed it
 * since, or lent to a pool exec/query).  The pool never reads *conn to
 * decide: it compares the address with its own connections.  For a
 * connection that was borrowed when the pool was terminated, returns 0
 * and does nothing until the terminate callback has returned; see
 * uvodbc_pool_terminate().  The borrower must not use conn after this
 * call. */
UVODBC_EXTERN int uvodbc_pool_release(uvodbc_pool_t* pool,
                                      uvodbc_conn_t* conn);
/* Gives a borrowed connection back to be closed, not reused (e.g. after
 * session state that reset does not undo).  A replacement opens when
 * waiters or min_size need one.  Returns as uvodbc_pool_release(). */
UVODBC_EXTERN int uvodbc_pool_discard(uvodbc_pool_t* pool,
                                      uvodbc_conn_t* conn);

/* One-call helpers: acquire a connection, run the statement on it, release
 * it, and deliver the result to `req`, as uvodbc_conn_exec() /
 * uvodbc_conn_query() would, except that:
 *   - uvodbc_pool_query() returns the whole result in req->batch, owned by
 *     req until uvodbc_req_cleanup();
 *   - uvodbc_pool_exec() is for statements without rows.  It gives
 *     req->rows_affected.  If the statement returns a result set anyway,
 *     the pool closes the cursor; req->cursor and req->batch stay NULL, and
 *     rows_affected is -1.  To read a result through a cursor, use
 *     uvodbc_pool_acquire() and uvodbc_conn_exec(): the connection is yours
 *     until you release it;
 *   - req->conn is NULL in the callback: the connection is back in the
 *     pool, and no automatic retry happens on another connection;
 *   - params are IN parameters only.
 * Returns: 0, UV_EINVAL, UVODBC_ECLOSED, UV_ENOMEM.
 * Callback: once, with the statement's status.  Or with an acquire error:
 * UV_ETIMEDOUT, UV_ECANCELED, UVODBC_ECLOSED, a failed connect's status.
 * A connection that dies during the statement gives UVODBC_ESQL
 * (uvodbc_req_is_disconnect() tells) and is evicted.
 * Ownership: sql, params and opts are copied; opts may be NULL. */
UVODBC_EXTERN int uvodbc_pool_exec(uvodbc_pool_t* pool, uvodbc_req_t* req,
                                   const char* sql,
                                   const uvodbc_param_t* params,
                                   size_t nparams,
                                   const uvodbc_exec_options_t* opts,
                                   uvodbc_req_cb cb);
UVODBC_EXTERN int uvodbc_pool_query(uvodbc_pool_t* pool, uvodbc_req_t* req,
                                    const char* sql,
                                    const uvodbc_param_t* params,
                                    size_t nparams,
                                    const uvodbc_exec_options_t* opts,
                                    uvodbc_req_cb cb);

/* Cancels a pending uvodbc_pool_acquire / _exec / _query request.  While
 * it waits for a connection, or before its callback has received one, it
 * completes with UV_ECANCELED on a later loop iteration.  While its
 * statement runs, this is uvodbc_req_cancel() on that statement.  Use
 * this, not uvodbc_req_cancel(), for pool requests.
 * Returns: 0, UV_EINVAL (no such pending request of this pool), UV_EBUSY
 * (the statement cannot be interrupted now). */
UVODBC_EXTERN int uvodbc_pool_cancel(uvodbc_pool_t* pool, uvodbc_req_t* req);

/* Graceful close.  New acquires fail with UVODBC_ECLOSED, and waiting
 * ones complete with it.  Idle connections, and those connecting or
 * being checked or reset, close now; one in its setup hook closes when the
 * hook calls uvodbc_pool_setup_done().  Borrowed connections, and running
 * pool exec/query statements, close when they come back.
 * Returns: 0, UV_EINVAL (NULL, or already closing).
 * Callback: once, last, after every other callback of the pool and
 * after every connection has closed; the handle is freed when it returns.
 * May be NULL.  Callable from inside any callback. */
UVODBC_EXTERN int uvodbc_pool_close(uvodbc_pool_t* pool,
                                    uvodbc_pool_close_cb cb);

/* Immediate close: as uvodbc_pool_close(), but borrowed connections are
 * closed now too (uvodbc_conn_close: queued operations complete with
 * UV_ECANCELED, running ones are cancelled).  What a borrower sees: its
 * pending operations call back with UV_ECANCELED (or their result if they
 * had already finished).  New operations on the connection fail with
 * UVODBC_ECLOSED.  uvodbc_pool_release() returns 0 and does nothing.  All
 * of that lasts only until the terminate callback.  By then the connection
 * handle is freed, and neither it nor the pool may be used again.
 * Running uvodbc_pool_exec/_query statements call back with UV_ECANCELED.
 * Also hurries a pool that is already closing gracefully; `cb`, if not
 * NULL, then replaces the close callback.
 * Returns: 0, UV_EINVAL (NULL, or already terminating). */
UVODBC_EXTERN int uvodbc_pool_terminate(uvodbc_pool_t* pool,
                                        uvodbc_pool_close_cb cb);

typedef struct uvodbc_pool_stats_s {
  unsigned int size;       /* open connections: idle + in_use           */
  unsigned int idle;
  unsigned int in_use;     /* borrowed, or being pinged or reset         */
  unsigned int waiting;    /* acquires (and exec/query) in the queue     */
  unsigned int connecting; /* connects, with their setup, in flight      */
  uint64_t acquires;       /* connections handed out (exec/query too)    */
  uint64_t timeouts;       /* acquires failed with UV_ETIMEDOUT          */
  uint64_t connects;       /* connections opened (setup done)            */
  uint64_t connect_errors; /* connects or setups that failed             */
  uint64_t evictions;      /* closed as broken, or failed ping or reset  */
  uint64_t expired;        /* closed for max lifetime or idle timeout    */
  uint64_t wait_mean_us;   /* wait from acquire to hand-out, over        */
  uint64_t wait_max_us;    /* `acquires`, in microseconds                */
  /* Percentiles of the same waits, from a histogram with 32 buckets per
   * power of two: each is the upper bound of its bucket, capped at
   * wait_max_us, so it is at most 1/32 (3.2%) above the exact value (and
   * never below it); exact below 64 us.  0 before the first acquire. */
  uint64_t wait_p50_us;
  uint64_t wait_p99_us;
  /* Outcomes of the uvodbc_pool_exec / _query statements that started on
   * a connection, each counted once, by its callback's status.  Not seen:
   * statements a borrower runs on an acquired connection. */
  uint64_t ops_ok;          /* 0                                         */
  uint64_t ops_sql_errors;  /* UVODBC_ESQL, not a disconnect             */
  uint64_t ops_timeouts;    /* UV_ETIMEDOUT: the query timeout passed    */
  uint64_t ops_cancelled;   /* UV_ECANCELED: uvodbc_pool_cancel, or
                               uvodbc_pool_terminate                     */
  uint64_t ops_disconnects; /* uvodbc_req_is_disconnect(): the connection
                               died (it is evicted), whatever the status */
  uint64_t ops_other;       /* any other status                          */
  /* Requests (acquire, exec, query) that never got a connection, besides
   * `timeouts`; and exec/query statements that could not start. */
  uint64_t acquire_cancelled; /* uvodbc_pool_cancel before hand-out      */
  uint64_t acquire_errors;    /* a failed connect's status, UVODBC_ECLOSED
                                 (the pool closed), a start error        */
  /* The pool's own work on its connections, completed ones, timed from
   * the call to its callback (worker wait included), in microseconds.  */
  uint64_t resets;            /* uvodbc_conn_reset after a release of a
                                 connection left not clean            */
  uint64_t reset_us_total;
  uint64_t reset_max_us;
  uint64_t validations;       /* uvodbc_conn_ping before checkout (after
                                 validate_after_idle_ms idle)          */
  uint64_t validate_us_total;
  uint64_t validate_max_us;
} uvodbc_pool_stats_t;

/* Fills *stats with the pool's current state and totals since create.
 * Returns 0 or UV_EINVAL. */
UVODBC_EXTERN int uvodbc_pool_stats(const uvodbc_pool_t* pool,
                                    uvodbc_pool_stats_t* stats);

UVODBC_EXTERN void* uvodbc_pool_get_data(const uvodbc_pool_t* pool);
UVODBC_EXTERN void uvodbc_pool_set_data(uvodbc_pool_t* pool, void* data);
UVODBC_EXTERN uv_loop_t* uvodbc_pool_get_loop(const uvodbc_pool_t* pool);

/* ------------------------------------------------------------------------ */
/* Open handles (docs/instruments.md, "What is still open") */

/* What a handle is. */
typedef enum {
  UVODBC_HANDLE_CONN = 1,
  UVODBC_HANDLE_CURSOR,
  UVODBC_HANDLE_PREPARED,
  UVODBC_HANDLE_POOL
} uvodbc_handle_kind_t;

/* "conn", "cursor", "prepared", "pool" ("?" for an unknown kind).  Static
 * string. */
UVODBC_EXTERN const char* uvodbc_handle_kind_name(uvodbc_handle_kind_t kind);

/* One pending operation of a connection. */
typedef struct uvodbc_op_info_s {
  uvodbc_op_kind_t kind;
  /* "running": handed to the worker pool (it may still wait there for a
   *            thread), or chained behind the running one in its hop;
   * "ready":   its result is known, its callback comes on a later loop
   *            iteration;
   * "queued":  waiting behind the connection's other operations;
   * "cancelled": queued, cancelled by a close: its callback comes with
   *            UV_ECANCELED. */
  const char* state;
  const char* sql; /* the statement, the prepared statement's text, or the
                      catalog function ("SQLTables"); NULL for none    */
  uint64_t age_ms; /* since the call that started it                 */
} uvodbc_op_info_t;

/* One open handle. */
typedef struct uvodbc_handle_info_s {
  uvodbc_handle_kind_t kind;
  void* handle;         /* the uvodbc_conn_t*, uvodbc_cursor_t*, ...    */
  uvodbc_conn_t* conn;  /* CONN: itself; CURSOR, PREPARED: its
                           connection, NULL when detached (below)      */
  uvodbc_pool_t* pool;  /* POOL: itself; else the pool owning `conn`,
                           or NULL                                     */
  /* CONN: "connecting", "open", "broken" (the server went away: close
   *       it), "failed" (its connect failed: close it), "closing"; a
   *       pool's connection in the pool's words: "setup", "idle",
   *       "checking", "borrowed", "resetting" (or "connecting",
   *       "closing");
   * CURSOR: "open", "fetching", "reading", "detached", "closing";
   * PREPARED: "open", "busy" (an execution or its cursor is pending),
   *       "detached", "closing";
   * POOL: "open", "closing", "terminating". */
  const char* state;
  const char* sql;      /* CURSOR: the statement that opened it;
                           PREPARED: its statement; else NULL          */
  uint64_t age_ms;      /* since its creation                          */
  size_t nops;          /* CONN: its pending operations, in the order
                           their callbacks come: running first, then
                           ready, then queued; else 0                  */
  const uvodbc_op_info_t* ops;
} uvodbc_handle_info_t;

typedef void (*uvodbc_walk_cb)(const uvodbc_handle_info_t* info, void* arg);

/* Calls cb(info, arg) for every open uvodbc handle of `loop`, as libuv's
 * uv_walk() does for its handles: what keeps uvodbc_shutdown() returning
 * UV_EBUSY, and what a program forgot to close.  A handle is open from the
 * call that made it until its close callback starts.  Listed: each pool;
 * each connection (a pool's too), followed by its cursors and prepared
 * statements; and each cursor or prepared statement *detached* from its
 * connection (a reset or close of the connection took its statement: it
 * does nothing more, but its memory stays until uvodbc_cursor_close() or
 * uvodbc_prepared_close()), with `conn` NULL.  Not listed: pool requests
 * waiting for a connection (see uvodbc_pool_stats()), and a driver call
 * abandoned at its deadline that has not returned (it holds no handle of
 * the caller's, but keeps uvodbc_shutdown() busy).
 *
 * The list is taken before the first call of cb, so cb may close any
 * handle, the one it is given too (closes complete on a later loop
 * iteration, as always); it must not run the loop.
 *
 * Returns 0, UV_EINVAL (NULL loop or cb) or UV_ENOMEM (cb never called).
 * Callback: once per handle, inside this call.  Ownership: *info, its ops
 * and every string in them are valid only during that call of cb; nothing
 * in them is ever a connection string nor a parameter value.  Thread:
 * the loop's.  (In debug mode, uvodbc_shutdown() logs the same list for
 * every loop when it refuses.) */
UVODBC_EXTERN int uvodbc_walk(uv_loop_t* loop, uvodbc_walk_cb cb, void* arg);

#ifdef __cplusplus
}
#endif
#endif /* UVODBC_H */
