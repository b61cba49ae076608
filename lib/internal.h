/* The async layer's shared internals.  Everything declared here runs on the
 * loop thread, except the `work` functions handed to the executor. */
#ifndef UVODBC_INTERNAL_H
#define UVODBC_INTERNAL_H

#define UVODBC_BUILDING 1
#include "uvodbc.h"

#include "odbc.h"

/* ---- executor.c: the one seam to the worker pool ---- */
typedef struct uvodbc__task_s uvodbc__task_t;
typedef void (*uvodbc__work_fn)(uvodbc__task_t* task);
typedef void (*uvodbc__done_fn)(uvodbc__task_t* task, int status);

struct uvodbc__task_s {
  uv_work_t work_req;
  uv_loop_t* loop;
  uvodbc__work_fn work;
  uvodbc__done_fn done;
  uvodbc__task_t* next_waiting; /* executor FIFO while over the limit */
  int waiting;
  int priority; /* set before submit: its connection may hold locks */
  /* Called (if set) on the loop thread as the task goes to libuv's pool:
   * tracing's STARTED event. */
  void (*on_start)(uvodbc__task_t* task);
};

/* Runs task->work on a worker, then task->done(status) on the loop thread;
 * status is UV_ECANCELED when it never ran.  At most the worker limit of
 * tasks occupy pool threads at once; the rest wait in FIFO order. */
int uvodbc__executor_submit(uv_loop_t* loop, uvodbc__task_t* task,
                            uvodbc__work_fn work, uvodbc__done_fn done);
/* libuv's thread-pool size as libuv computes it (UV_THREADPOOL_SIZE, read
 * once at its first use; default 4, 0 or junk 1, negative 1024): the one
 * place that parses it. */
unsigned int uvodbc__threadpool_size(void);
/* Cancels a task that has not started.  Returns 0 when done() will run
 * with UV_ECANCELED, 1 when the task was still waiting here (done() will
 * not run), UV_EBUSY when it is already running. */
int uvodbc__executor_cancel(uvodbc__task_t* task);
/* Each connection holds its loop's executor state from uvodbc_connect()
 * until its close callback; the last unref closes the state's uv_async.
 * Returns 0 or UV_ENOMEM. */
int uvodbc__executor_loop_ref(uv_loop_t* loop);
void uvodbc__executor_loop_unref(uv_loop_t* loop);
/* Keeps `delta` more (or fewer) threads for priority tasks: one per
 * connection that may hold locks (strand.c). */
void uvodbc__executor_reserve(uv_loop_t* loop, int delta);

/* ---- deadline.c: giving up on a driver call that does not return ---- */
typedef struct uvodbc__zombie_s uvodbc__zombie_t;
/* A timeout fired on a running op: abandon it after the grace. */
void uvodbc__deadline_grace(uvodbc_op_t* op);
/* A close starts: abandon what still runs at close_timeout_ms. */
int uvodbc__deadline_close_start(uvodbc_conn_t* conn);
void uvodbc__deadline_close_stop(uvodbc_conn_t* conn);
/* after_work of an abandoned op (`status` as the executor's). */
void uvodbc__deadline_returned(uvodbc_op_t* head, int status);
/* From the close's prepare: 1 when a stuck call still holds the
 * connection, which then takes the close's statements and dbc (the close
 * completes at once, UV_ETIMEDOUT); 0 when the close runs as usual. */
int uvodbc__deadline_close(uvodbc_conn_t* conn, uvodbc_op_t* close_op);

/* ---- debug.c: debug mode's reports ---- */
/* 1 when debug mode is on (uvodbc_set_debug, UVODBC_DEBUG=1). */
int uvodbc__debug_on(void);
/* One report, printf-style, through the log function. */
void uvodbc__debug_log(const char* fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* ": <sql>" cut to a report's length, on one line ("" for NULL). */
void uvodbc__debug_sql(char* out, size_t size, const char* sql);
/* Around a user callback: began = uvodbc__cb_begin() (0 when debug mode is
 * off), then uvodbc__cb_end() reports it if it held the loop too long. */
uint64_t uvodbc__cb_begin(void);
void uvodbc__cb_end(uint64_t began, const char* what, const char* sql);
/* Reports an operation that waited wait_ns for a worker, if debug mode is
 * on and the wait too long. */
void uvodbc__debug_worker_wait(uint64_t wait_ns, const char* what,
                               const char* sql);
/* Reports a call on conn from a thread other than its loop's. */
void uvodbc__debug_check_thread(const uvodbc_conn_t* conn,
                                const char* function);

/* ---- walk.c: the registry behind uvodbc_walk() ---- */
/* A registered handle: a connection or pool from its creation until its
 * close callback, a cursor or prepared statement while detached (the
 * attached ones are found through their connection).  Under walk.c's
 * lock; `thread` is the registering thread, its loop's. */
typedef struct uvodbc__walk_node_s {
  struct uvodbc__walk_node_s* prev;
  struct uvodbc__walk_node_s* next;
  uv_loop_t* loop;
  uv_thread_t thread;
  uvodbc_handle_kind_t kind;
  void* handle;
  uint64_t created_ns;
  int linked;
} uvodbc__walk_node_t;
void uvodbc__walk_add(uvodbc__walk_node_t* node, uv_loop_t* loop,
                      uvodbc_handle_kind_t kind, void* handle,
                      uint64_t created_ns);
/* No-op when not registered. */
void uvodbc__walk_remove(uvodbc__walk_node_t* node);
/* uvodbc_shutdown() refused: debug mode's list of what is open. */
void uvodbc__walk_report(void);

/* ---- operations ---- */
/* The public kinds (uvodbc_op_kind_t), by shorter names. */
typedef enum {
  OP_CONNECT = UVODBC_OP_CONNECT,
  OP_EXEC = UVODBC_OP_EXEC,
  OP_QUERY = UVODBC_OP_QUERY,
  OP_FETCH = UVODBC_OP_FETCH,
  OP_NEXT_RESULT = UVODBC_OP_NEXT_RESULT,
  OP_CURSOR_CLOSE = UVODBC_OP_CURSOR_CLOSE,
  OP_CONN_CLOSE = UVODBC_OP_CONN_CLOSE,
  OP_TXN = UVODBC_OP_TXN,
  OP_PREPARE = UVODBC_OP_PREPARE,
  OP_PREPARED_CLOSE = UVODBC_OP_PREPARED_CLOSE,
  OP_INFO = UVODBC_OP_INFO,
  OP_BULK = UVODBC_OP_BULK,
  OP_CALL = UVODBC_OP_CALL
} uvodbc__op_kind_t;

typedef enum {
  OP_QUEUED,    /* in the connection's FIFO                          */
  OP_CANCELLED, /* in the FIFO, cancelled by a close where it stands */
  OP_SUBMITTED, /* popped: handed to the executor, alone or in a chain */
  OP_FINISHED,  /* ran in a chain, its callback comes in order       */
  OP_READY      /* result known, callback waits in the ready list    */
} uvodbc__op_state_t;

/* What an operation kind does: `prepare` on the loop thread when it is
 * popped (may be NULL): it takes what the op needs from its handle, or
 * completes it at once with uvodbc__op_complete_early(); `work` on a
 * worker; `done` on the loop thread, also for an op that never ran.
 * Kinds a chain can take say so in `chainable` and run a chain with
 * `run_chain`. */
typedef struct uvodbc__op_vtable_s {
  void (*prepare)(uvodbc_op_t* op);
  void (*work)(uvodbc_op_t* op);
  void (*done)(uvodbc_op_t* op);
  int (*chainable)(const uvodbc_op_t* op);
  void (*run_chain)(uvodbc_op_t* head, void (*run)(uvodbc_op_t* op));
} uvodbc__op_vtable_t;

struct uvodbc_op_s {
  uvodbc__task_t task;     /* first: a task pointer is an op pointer */
  const uvodbc__op_vtable_t* vt;
  uvodbc_op_t* next;       /* strand FIFO or deferred list           */
  uvodbc_op_t* chain_next; /* the next op run in the same hop        */
  int chained;             /* runs in the hop of an earlier op       */
  uvodbc__op_kind_t kind;
  uvodbc__op_state_t state;
  uvodbc_conn_t* conn;
  uvodbc_cursor_t* cursor;
  uvodbc_req_t* req;
  uvodbc_req_cb cb;
  int status;
  uvodbc__diags_t diags;
  uvodbc__cancel_t* cancel; /* EXEC / QUERY                           */
  uv_timer_t* timer;        /* timeout, if any                        */
  int timed_out;

  /* payloads */
  uvodbc__connect_args_t connect;
  char* connstr;
  char* sql;
  uvodbc__params_t params;
  uvodbc_exec_options_t opts;
  uvodbc__stmt_t* stmt;      /* EXEC / QUERY: the statement used       */
  int64_t rows_affected;     /* EXEC / QUERY: read on the worker, as a
                                chain may hand the statement on         */
  uvodbc_batch_t* result;    /* QUERY                                  */
  uvodbc_prepared_t* prepared; /* EXEC / QUERY of a prepared statement */
  uvodbc_param_info_t* result_params; /* PREPARE                        */
  uvodbc_catalog_args_t* catalog; /* EXEC of a catalog function         */
  uvodbc_catalog_t catalog_kind;
  uvodbc_info_t* info;          /* INFO                                 */
  size_t ncols;                 /* BULK: values per row                 */
  size_t nrows;                 /* BULK                                 */
  uvodbc_param_column_t* columns; /* BULK from columns (values borrowed) */
  uint8_t* row_status;          /* BULK                                 */
  uint64_t rows_ok;
  int64_t failed_row;
  uvodbc_batch_t* outputs;      /* CALL: OUT / INOUT values             */
  uvodbc_batch_t** results;     /* CALL: every result set               */
  size_t nresults;
  size_t max_rows;           /* FETCH                                  */
  int read;                  /* FETCH of a read (read_start): it fills
                                stmt->spare (cursor-read.c)             */
  int lost_rows;             /* FETCH: cancelled after it ran: the rows
                                it took from the driver are gone       */
  SQLHDBC dbc;               /* CONNECT result, CONN_CLOSE input       */
  uvodbc__driver_t driver;
  int streams;               /* CONNECT: conn->streams; EXEC / QUERY /
                                CALL: 1 or 0 to make it stream or not,
                                -1 to leave the driver's setting      */
  uvodbc__stmt_t** doomed;   /* CONN_CLOSE: statements to free         */
  size_t ndoomed;
  unsigned txn_closes;       /* CONNECT: conn->txn_closes               */
  int ended;                 /* TXN: SQLEndTran succeeded (1), failed
                                (-1), or was never called (0)          */
  int txn;                   /* TXN: what to do (txn.c)                */
  int flag;                  /* TXN: autocommit on/off, end a begin    */
  SQLUINTEGER level;         /* TXN: isolation to set                  */
  int conn_dead;             /* the driver says the connection is gone */
  int verify_cursor;         /* FETCH: 1 to ask first whether the server
                                cursor is still there, 2 once asked     */
  int cursor_gone;           /* FETCH: it is not (lib/odbc-txn.c)      */
  int frees_handles;         /* took statements to free: never cancelled */
  SQLHDBC run_dbc;           /* conn->dbc when popped, for the worker     */
  /* When (uv_hrtime) it was queued; the rest only when it is timed (traced
   * or debug mode on; trace.c). */
  uint64_t queued_ns;
  int timed;
  int traced;                /* its QUEUED event went out               */
  int trace_started;         /* and its STARTED                         */
  uint64_t id;               /* the trace events' op_id                 */
  uint64_t popped_ns;        /* left the connection's queue             */
  uint64_t hop_ns;           /* its hop began on a worker               */
  uint64_t work_ns;          /* time in its own work on the worker      */
  uint64_t trace_rows;       /* what its callback was given, for FINISHED */
  int64_t trace_affected;
  uvodbc__zombie_t* zombie;  /* abandoned (deadline.c), which owns it now */
};

uvodbc_op_t* uvodbc__op_new(uvodbc_conn_t* conn, uvodbc__op_kind_t kind,
                            const uvodbc__op_vtable_t* vt, uvodbc_req_t* req,
                            uvodbc_req_cb cb);
/* Makes `req` (may be NULL) the request of `op`, as uvodbc__op_new() does:
 * a read's fetch changes hands when reading stops or restarts. */
void uvodbc__op_attach(uvodbc_op_t* op, uvodbc_req_t* req, uvodbc_req_cb cb);
/* Hands the result to the request, calls the callback, frees the op.
 * req->op is cleared unless it already names another op (a read's next
 * fetch). */
void uvodbc__op_deliver(uvodbc_op_t* op);
void uvodbc__op_free(uvodbc_op_t* op);

/* ---- req-track.c: pending requests and the results they hold ---- */
/* At a start, before anything changes: UV_EBUSY while `req` is pending
 * (reported in debug mode as misuse of `what`); frees the result it still
 * holds (as uvodbc_req_cleanup()); UV_ENOMEM without room to track it;
 * else 0.  Reads *req only if uvodbc wrote it last. */
int uvodbc__req_start(uvodbc_req_t* req, const char* what);
/* `req` is pending, answered by `owner` (an op or a pool request), which
 * replaces any earlier owner (a read's next fetch).  After _start. */
void uvodbc__req_track(uvodbc_req_t* req, const void* owner);
/* Its callback is about to run (owner NULL: whoever answers it): it is no
 * longer pending, and is remembered while it holds a result. */
void uvodbc__req_untrack(uvodbc_req_t* req, const void* owner);
/* `owner` goes without a callback (a failed start): forgets `req` if
 * `owner` still answers it.  Never reads *req. */
void uvodbc__req_forget(const uvodbc_req_t* req, const void* owner);
/* uvodbc_req_cleanup(): UV_EBUSY while pending; else forgets it, 0. */
int uvodbc__req_cleaning(const uvodbc_req_t* req);
/* Worker side: 1 if op->dbc is open; else fails the op with
 * UVODBC_ENOTCONN (08003, as from `function`) and returns 0. */
int uvodbc__op_has_dbc(uvodbc_op_t* op, const char* function);

/* ---- trace.c: events and timestamps of an operation ---- */
/* The op joins its connection's queue (or its ready list without one):
 * from here it is timed if traced or debugged, and owes a FINISHED. */
void uvodbc__trace_queued(uvodbc_op_t* op);
/* It left the queue: the head of a hop (trace_submit), then its hop began
 * on a worker (trace_hop, for the head and every op chained to it). */
void uvodbc__trace_popped(uvodbc_op_t* op);
void uvodbc__trace_submit(uvodbc_op_t* head);
void uvodbc__trace_hop(uvodbc_op_t* head);
/* What the callback is given (call once req is filled). */
void uvodbc__trace_set_rows(uvodbc_op_t* op, const uvodbc_req_t* req);
/* FINISHED with `status`, once per op (uvodbc__op_free() sends it with
 * op->status if nothing did before). */
void uvodbc__trace_finished(uvodbc_op_t* op, int status);
/* FINISHED of an op abandoned at its deadline (UV_ETIMEDOUT), which a
 * worker may still run. */
void uvodbc__trace_abandoned(uvodbc_op_t* op);
/* The text the instruments show: SQL, the prepared statement's, or the
 * catalog function's name; NULL for none. */
const char* uvodbc__op_sql(const uvodbc_op_t* op);
/* txn.c: "begin", "commit", ... */
const char* uvodbc__txn_name(const uvodbc_op_t* op);

/* ---- strand.c: one operation in flight per connection ---- */
/* Queues `op`; it runs after every earlier operation of the connection. */
void uvodbc__strand_push(uvodbc_conn_t* conn, uvodbc_op_t* op);
/* Completes `op` with `status` on a later loop iteration (never inside the
 * current call), in order with the other ready completions. */
void uvodbc__strand_defer(uvodbc_conn_t* conn, uvodbc_op_t* op, int status);
/* Removes a queued op; returns 0 or UV_EINVAL if it is not queued. */
int uvodbc__strand_unlink(uvodbc_conn_t* conn, uvodbc_op_t* op);
/* on: the connection may hold locks (a statement ran in its transaction);
 * off: its transaction ended, or it broke or closed. */
void uvodbc__strand_hold(uvodbc_conn_t* conn, int on);
/* Cancels what is queued (UV_ECANCELED, in order) and interrupts what
 * runs. */
void uvodbc__strand_cancel_all(uvodbc_conn_t* conn);
/* Interrupts a submitted op.  Returns 0 or UV_EBUSY (not interruptible). */
int uvodbc__strand_interrupt(uvodbc_op_t* op);
/* Submits the next queued op, if nothing runs (after an abandon). */
void uvodbc__strand_resume(uvodbc_conn_t* conn);
/* Delivers every ready completion now (the connection's last moments). */
void uvodbc__strand_flush_ready(uvodbc_conn_t* conn);
/* From a `prepare`: the op needs no hop; `status` is its result. */
void uvodbc__op_complete_early(uvodbc_op_t* op, int status);
/* The connection is broken: fails the op with UVODBC_ENOTCONN and a
 * diagnostic that says so (on the thread that owns the op). */
void uvodbc__op_fail_broken(uvodbc_op_t* op);

extern const uvodbc__op_vtable_t uvodbc__connect_vt;
extern const uvodbc__op_vtable_t uvodbc__conn_close_vt;
extern const uvodbc__op_vtable_t uvodbc__exec_vt;
extern const uvodbc__op_vtable_t uvodbc__cursor_vt;
extern const uvodbc__op_vtable_t uvodbc__txn_vt;
extern const uvodbc__op_vtable_t uvodbc__prepared_vt;
extern const uvodbc__op_vtable_t uvodbc__info_vt;

/* exec.c: an EXEC / QUERY op, checked and filled, not yet queued (so a
 * caller can add to it), and its submission.  NULL with *err on failure. */
uvodbc_op_t* uvodbc__exec_op_new(uvodbc_conn_t* conn,
                                 uvodbc_prepared_t* prepared,
                                 uvodbc_req_t* req, uvodbc__op_kind_t kind,
                                 const char* sql,
                                 const uvodbc_param_t* params, size_t nparams,
                                 const uvodbc_exec_options_t* opts,
                                 uvodbc_req_cb cb, int* err);
void uvodbc__exec_submit(uvodbc_op_t* op);
/* Starts op's timeout of `ms` (0: none): a queued op completes with
 * UV_ETIMEDOUT, a running one is cancelled and given up after the grace
 * (deadline.c). */
int uvodbc__op_set_timeout(uvodbc_op_t* op, unsigned int ms);
/* uvodbc_conn_exec / _query (`kind`) with text and parameters the caller
 * already copied: *sql and *params move into the op (the pool's one-call
 * helpers copy once).  On an error nothing moved: both stay the caller's. */
int uvodbc__exec_start_owned(uvodbc_conn_t* conn, uvodbc_req_t* req,
                             uvodbc__op_kind_t kind, char** sql,
                             uvodbc__params_t* params,
                             const uvodbc_exec_options_t* opts,
                             uvodbc_req_cb cb);
void uvodbc__free_results(uvodbc_batch_t* outputs, uvodbc_batch_t** results,
                          size_t n);

/* ---- handles ---- */
struct uvodbc_conn_s {
  uv_loop_t* loop;
  void* data;
  SQLHDBC dbc;
  uvodbc__driver_t driver;
  int streams;       /* uvodbc decides which results stream: cursors */
  unsigned txn_closes; /* which ends close every cursor (odbc-txn.c) */
  int open;
  int closing;
  uvodbc_conn_options_t options;
  uvodbc_op_t* head; /* queued, not yet submitted */
  uvodbc_op_t* tail;
  uvodbc_op_t* running;       /* the submitted op (head of its chain)  */
  int delivering;             /* ops of a chain await their callbacks  */
  uvodbc_op_t* ready_head;     /* results known without a hop          */
  uvodbc_op_t* ready_tail;
  uv_idle_t idle; /* drains the ready list */
  uvodbc_cursor_t* cursors;
  uvodbc_prepared_t* prepared;
  uvodbc__stmt_t* spare_stmt; /* reused by the next EXEC / QUERY */
  int broken;                 /* an operation saw the connection die    */
  int autocommit;             /* as last set by uvodbc                  */
  int began;                  /* autocommit is off because of begin     */
  int holds;                  /* may hold locks: its ops go first       */
  SQLUINTEGER isolation;      /* as set by uvodbc, 0 = untouched        */
  SQLUINTEGER initial_isolation;
  uvodbc_conn_close_cb close_cb;
  int close_status;           /* for the close callback                 */
  uvodbc__diags_t close_diags;
  uvodbc__zombie_t* zombie;   /* a call abandoned on it, not cleaned up */
  uv_timer_t* close_timer;    /* the close's deadline                   */
  int closed;                 /* the close callback is on its way       */
  uv_thread_t thread;         /* its loop's (uvodbc_connect's caller)   */
  uint64_t created_ns;        /* uv_hrtime() at uvodbc_connect          */
  uvodbc_pool_t* pool;        /* the pool owning it (pool-slots.c)      */
  void* pool_slot;            /* pool.c: the slot holding it, or NULL.
                                 Set: uvodbc_conn_close() refuses, and
                                 the close leaves the memory to the pool */
  uvodbc__walk_node_t walk;   /* until its close callback (walk.c)      */
};

/* uvodbc_connect() of a pool's connection (the instruments name `pool`). */
int uvodbc__connect(uv_loop_t* loop, uvodbc_req_t* req, const char* connstr,
                    const uvodbc_conn_options_t* opts, uvodbc_pool_t* pool,
                    uvodbc_req_cb cb);
/* uvodbc_conn_close() for the pool, which owns its connections. */
int uvodbc__conn_close(uvodbc_conn_t* conn, uvodbc_conn_close_cb cb);
/* The close is over (`status` for uvodbc_conn_close_status()): the other
 * callbacks, then the close callback one tick later. */
void uvodbc__conn_closed(uvodbc_conn_t* conn, int status);

/* How a cursor or prepared handle closes: by its own close op, or (once
 * a reset or close of the connection took its statement) as soon as none
 * of its ops is pending, one loop iteration later. */
typedef enum {
  UVODBC__OPEN = 0,
  UVODBC__CLOSE_QUEUED, /* its close op finishes it                      */
  UVODBC__CLOSE_ORPHAN, /* detached: finishes when nothing is pending    */
  UVODBC__CLOSE_FINISHING /* its close callback is on its way            */
} uvodbc__closing_t;

struct uvodbc_cursor_s {
  void* data;
  uv_loop_t* loop;
  uvodbc_conn_t* conn; /* NULL once the connection closed            */
  uvodbc_cursor_close_cb close_cb;
  uvodbc__stmt_t* stmt;
  uvodbc_exec_options_t opts;
  int busy;            /* a fetch or next_result of the caller's is
                          pending                                     */
  int reading;         /* read_start'ed, not stopped nor ended        */
  uvodbc_req_t* read_req; /* while reading                            */
  uvodbc_req_cb read_cb;
  size_t read_rows;    /* read_start's max_rows                       */
  uvodbc_op_t* read_op; /* a read's fetch not done yet (queued, running
                          or ready), whoever its request is           */
  uvodbc_op_t* held;   /* a read's fetch done while reading was stopped:
                          its rows wait in stmt->spare for the next
                          read_start or fetch                         */
  int lost;            /* a fetch lost rows (cancelled or timed out after
                          it ran): later fetches fail with this status  */
  int verify;          /* a statement failed since: ask the server
                          whether its cursor is still there (psqlODBC) */
  const char* ended_by; /* why a transaction's end closed it (a static
                          string), or NULL: later fetches and
                          next_result fail                            */
  uvodbc_prepared_t* borrowed; /* the prepared statement owning stmt   */
  uvodbc__closing_t closing;
  uvodbc_cursor_t* prev;
  uvodbc_cursor_t* next;
  uint64_t created_ns;
  char* sql;           /* for the walk (NULL: out of memory)          */
  uvodbc__walk_node_t walk; /* while detached                         */
};

/* Takes every statement the connection owns (spare and cursors', which
 * are detached) into op->doomed, for a worker to free. */
void uvodbc__conn_take_stmts(uvodbc_conn_t* conn, uvodbc_op_t* op);
void uvodbc__free_stmts(uvodbc_op_t* op);
/* txn.c: 1 when uvodbc_conn_reset() would have nothing to undo and
 * nothing of the connection is pending (a pool reuses it without a hop). */
int uvodbc__conn_is_clean(const uvodbc_conn_t* conn);

struct uvodbc_prepared_s {
  void* data;
  uv_loop_t* loop;
  uvodbc_conn_t* conn; /* NULL once the connection closed or reset      */
  uvodbc__stmt_t* stmt;
  uvodbc_param_info_t* params; /* described at prepare                 */
  char* sql;           /* for the instruments (NULL: out of memory)    */
  int busy;            /* an execution pending or its cursor open     */
  uvodbc__closing_t closing;
  uvodbc_prepared_close_cb close_cb;
  uvodbc_prepared_t* prev;
  uvodbc_prepared_t* next;
  uint64_t created_ns;
  uvodbc__walk_node_t walk; /* while detached                         */
};

/* The connection closes or resets: the handle stays, its statement goes. */
void uvodbc__prepared_detach(uvodbc_prepared_t* p);
/* Defers a handle-close callback to a later loop iteration. */
int uvodbc__defer_close(uv_loop_t* loop, void* handle,
                        void (*cb)(void* handle));

uvodbc_cursor_t* uvodbc__cursor_new(uvodbc_conn_t* conn,
                                    uvodbc__stmt_t* stmt,
                                    const uvodbc_exec_options_t* opts);
/* cursor.c: a FETCH op of the cursor, with its timeout (NULL: out of
 * memory). */
uvodbc_op_t* uvodbc__fetch_op_new(uvodbc_cursor_t* cursor, uvodbc_req_t* req,
                                  uvodbc_req_cb cb);
/* Puts the result of a finished FETCH / NEXT_RESULT op into its request
 * (a read's rows become the cursor's batch) and settles its status. */
void uvodbc__cursor_result(uvodbc_cursor_t* cursor, uvodbc_op_t* op);
/* cursor-read.c.  A pull fetch takes the read's fetch still pending or
 * held, if any: returns 1 (it answers `req`), else 0. */
int uvodbc__read_take(uvodbc_cursor_t* cursor, uvodbc_req_t* req,
                      uvodbc_req_cb cb);
/* cursor_done() of a read's fetch.  Returns 1 when it is settled (held,
 * freed or delivered to the read), 0 when a pull fetch took it. */
int uvodbc__read_done(uvodbc_cursor_t* cursor, uvodbc_op_t* op);
/* Forgets a held read (next_result, detach, the cursor's end). */
void uvodbc__read_drop(uvodbc_cursor_t* cursor);
/* The connection closes: the cursor keeps its memory, loses its statement. */
void uvodbc__cursor_detach(uvodbc_cursor_t* cursor);
/* A transaction's end closed every open cursor of `conn` (`why`, a static
 * sentence): their next fetch (short of their end) and next_result fail
 * with UVODBC_ESQL, 24000, instead of reaching the driver. */
void uvodbc__cursors_ended(uvodbc_conn_t* conn, const char* why);
/* A statement of `conn` failed on psqlODBC: the next fetch of each open
 * server cursor first asks whether it is still there (lib/odbc-txn.c). */
void uvodbc__cursors_verify(uvodbc_conn_t* conn);

/* Counts open connection handles of every loop, for uvodbc_shutdown()
 * (uvodbc.c; any thread). */
void uvodbc__live_conns_add(int n);

#endif /* UVODBC_INTERNAL_H */
