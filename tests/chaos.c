/* uvodbc-chaos: seeded random operations over every public API, checked
 * against the header's promises (issue 8, "Attack tests").
 *
 *   uvodbc-chaos --driver sqlite|pg|mariadb [--seed N] [--ops N]
 *                [--seconds S] [--no X,Y..] [--only OP,OP..]
 *                [--threads N] [--trace] [--keep-going]
 *
 * Connection strings: UVODBC_TEST_SQLITE / _PG / _MARIADB (tests/servers.sh).
 * It drops and fills its own tables (chaos_n, chaos_w, procedure chaos_p):
 * one run per database at a time.  Defaults: 3000 operations, at most 45 s
 * of them (CI: scripts/test-all.sh); a long local hunt: --ops 100000
 * --seconds 600.
 *
 * --no turns off an operation (the names in ops[] below) or a behaviour,
 * to get past a known defect and keep hunting: read (read_start /
 * read_stop, with what their callbacks do), timeout,
 * cancel, close_in_cb, release_in_cb, pool_terminate, release_terminated
 * (uvodbc_pool_release() between terminate and its callback),
 * open_at_release (cursors and prepared statements left open at release),
 * tracing (the hook on every connection and its oracle, below), debug
 * (debug mode, its reports checked for the password).
 * --only keeps just the operations named.  --threads sets
 * UV_THREADPOOL_SIZE (default 8: fewer threads than connections, so
 * operations wait for a worker; 32: none waits).  --trace prints every
 * operation; --keep-going reports every failure instead of aborting at
 * the first.
 *
 * How it stays reproducible: every operation draws the same number of
 * random words from the seeded PRNG before it looks at any state, and
 * callbacks never draw.  So a seed fixes the sequence of operations (and
 * the choices each makes, e.g. "close the connection in my callback");
 * what they meet (still queued, running, done) depends on timing.
 *
 * The oracle: each request is tracked from its start to its callback:
 * exactly one callback per start, never from inside the starting call,
 * never after its handle's close callback, a status within the set the
 * header documents for that call (narrowed by what the chaos did to it:
 * UV_ECANCELED only after a cancel or a close, UV_ETIMEDOUT only with a
 * timeout, ...), and every result read from the test's own tables
 * (chaos_n: id 1..NROWS, v = id * 7919 % 10007, s = 'r<id>') or built from
 * known expressions checked value by value.  At the end every handle is
 * closed, uv_loop_close() and uvodbc_shutdown() return 0.  A read
 * (uvodbc_cursor_read_start) is one start with many callbacks: its batches
 * continue the cursor's ids like fetches, and it ends exactly once, by
 * its last callback or silently by read_stop or the cursor's close, with
 * no callback after that ("Reads" below).  Sanitizers
 * (ASan, UBSan, LeakSanitizer, TSan) add the memory checks. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <uvodbc.h>

#define NROWS 1000
#define NPLAIN 8        /* plain connections */
#define NPOOLS 2
#define NBORROW 3       /* borrowed connections per pool */
#define NSLOTS (NPLAIN + NPOOLS * NBORROW)
#define MAX_CURSORS 24
#define MAX_PREPARED 16
#define MAX_INFLIGHT 64
#define NRAND 8         /* random words per operation */

/* ------------------------------------------------------------------------ */
/* Options, PRNG, failure reporting */

enum { DRV_SQLITE, DRV_PG, DRV_MARIADB };

static struct {
  int driver;
  const char* driver_name;
  const char* connstr;
  uint64_t seed;
  long ops;
  double seconds;
  int trace;
  int keep_going;
  const char* threads; /* UV_THREADPOOL_SIZE */
  char no[1024]; /* ",op,op," disabled operations */
  char only[1024]; /* ",op,op,": only these operations (if set) */
} opt;

static uint64_t rng_state;
static long op_index;   /* the operation being issued (or -1 at the end) */
static uint64_t seq;    /* every start gets a number */
static int failures;
static uv_loop_t loop;

static uint64_t rnd(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* The last operations, printed with a failure. */
#define NRECENT 24
static char recent[NRECENT][160];
static long nrecent;

static void note(const char* fmt, ...) {
  va_list ap;
  char* line = recent[nrecent++ % NRECENT];
  va_start(ap, fmt);
  vsnprintf(line, sizeof(recent[0]), fmt, ap);
  va_end(ap);
  if (opt.trace) fprintf(stderr, "  %s\n", line);
}

static void print_recent(void) {
  long i = nrecent > NRECENT ? nrecent - NRECENT : 0;
  fprintf(stderr, "last operations:\n");
  for (; i < nrecent; i++) fprintf(stderr, "  %s\n", recent[i % NRECENT]);
}

static void fail(const char* fmt, ...) {
  va_list ap;
  failures++;
  fprintf(stderr, "CHAOS FAIL (driver %s, seed %llu, op %ld): ",
          opt.driver_name, (unsigned long long)opt.seed, op_index);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  if (failures == 1 || opt.trace) print_recent();
  fprintf(stderr,
          "reproduce: uvodbc-chaos --driver %s --seed %llu --ops %ld%s%s%s%s%s%s\n",
          opt.driver_name, (unsigned long long)opt.seed, opt.ops,
          opt.threads ? " --threads " : "", opt.threads ? opt.threads : "",
          opt.no[0] ? " --no " : "", opt.no[0] ? opt.no + 1 : "",
          opt.only[0] ? " --only " : "", opt.only[0] ? opt.only + 1 : "");
  if (!opt.keep_going) abort();
}

#define CHECK(cond, ...)              \
  do {                                \
    if (!(cond)) fail(__VA_ARGS__);   \
  } while (0)

static int disabled(const char* name) {
  char key[64];
  snprintf(key, sizeof(key), ",%s,", name);
  return strstr(opt.no, key) != NULL;
}

static int op_disabled(const char* name) {
  char key[64];
  snprintf(key, sizeof(key), ",%s,", name);
  return disabled(name) || (opt.only[0] && strstr(opt.only, key) == NULL);
}

/* ------------------------------------------------------------------------ */
/* The tracing oracle (--no tracing turns it off): every connection has a
 * hook; each op_id must go QUEUED, then STARTED at most once, then
 * FINISHED exactly once, with the same kind and connection, and at the
 * end every op queued has finished.  Op ids are the process's, from 1. */

typedef struct {
  unsigned char phase; /* 0: unseen, 1 + the last uvodbc_trace_phase_t */
  unsigned char kind;
  uvodbc_conn_t* conn;
} traced_op;

static traced_op* traced;
static uint64_t ntraced, traced_queued, traced_finished;

static void on_trace(const uvodbc_trace_event_t* ev, void* data) {
  traced_op* t;
  (void)data;
  CHECK(ev->op_id > 0 && ev->conn != NULL, "trace: op_id %llu conn %p",
        (unsigned long long)ev->op_id, (void*)ev->conn);
  if (ev->op_id >= ntraced) {
    uint64_t n = ntraced ? ntraced : 4096;
    while (n <= ev->op_id) n *= 2;
    traced = realloc(traced, n * sizeof(*traced));
    CHECK(traced != NULL, "trace: out of memory");
    memset(traced + ntraced, 0, (n - ntraced) * sizeof(*traced));
    ntraced = n;
  }
  t = &traced[ev->op_id];
  switch (ev->phase) {
    case UVODBC_TRACE_QUEUED:
      CHECK(t->phase == 0, "trace: op %llu (%s) queued twice",
            (unsigned long long)ev->op_id, uvodbc_op_kind_name(ev->kind));
      t->kind = (unsigned char)ev->kind;
      t->conn = ev->conn;
      traced_queued++;
      break;
    case UVODBC_TRACE_STARTED:
      CHECK(t->phase == 1 + UVODBC_TRACE_QUEUED,
            "trace: op %llu (%s) started in phase %d",
            (unsigned long long)ev->op_id, uvodbc_op_kind_name(ev->kind),
            t->phase);
      break;
    default:
      CHECK(t->phase == 1 + UVODBC_TRACE_QUEUED ||
                t->phase == 1 + UVODBC_TRACE_STARTED,
            "trace: op %llu (%s) finished in phase %d",
            (unsigned long long)ev->op_id, uvodbc_op_kind_name(ev->kind),
            t->phase);
      CHECK(ev->work_ns == 0 || t->phase == 1 + UVODBC_TRACE_STARTED,
            "trace: op %llu worked without starting",
            (unsigned long long)ev->op_id);
      traced_finished++;
      break;
  }
  CHECK(t->kind == (unsigned char)ev->kind && t->conn == ev->conn,
        "trace: op %llu changed kind or connection",
        (unsigned long long)ev->op_id);
  t->phase = (unsigned char)(1 + ev->phase);
}

/* Debug mode is on too (--no debug turns it off): its reports must never
 * carry the connection string's password. */
static char password[128];
static unsigned long debug_lines;

static void on_debug_line(const char* line, void* data) {
  (void)data;
  debug_lines++;
  CHECK(password[0] == '\0' || strstr(line, password) == NULL,
        "debug mode printed the password: %s", line);
}

static void debug_start(void) {
  uvodbc_debug_options_t d;
  const char* pwd = strstr(opt.connstr, "PWD=");
  if (disabled("debug")) return;
  if (pwd != NULL)
    snprintf(password, sizeof(password), "%.*s", (int)strcspn(pwd + 4, ";"),
             pwd + 4);
  uvodbc_debug_options_init(&d);
  d.enabled = 1;
  d.slow_callback_ms = 20;
  d.slow_worker_wait_ms = 20;
  d.log = on_debug_line;
  uvodbc_set_debug(&d);
}

static void trace_options(uvodbc_conn_options_t* co) {
  if (disabled("tracing")) return;
  co->trace = on_trace;
}

static const char* pick(const char* sqlite, const char* pg,
                        const char* mariadb) {
  return opt.driver == DRV_PG ? pg : opt.driver == DRV_MARIADB ? mariadb
                                                               : sqlite;
}

/* ------------------------------------------------------------------------ */
/* Records of handles and requests.  Never freed before the end: a late or
 * second callback must find its record (and be reported), not freed
 * memory. */

typedef struct pool_rec pool_rec;

typedef enum { C_OPENING, C_OPEN, C_FAILED, C_CLOSING, C_CLOSED } cstate_t;

typedef struct conn_rec {
  uvodbc_conn_t* h;
  int id;
  pool_rec* pool;       /* borrowed from it, else NULL */
  cstate_t state;
  int pending;          /* started requests without their callback */
  int close_cb;         /* close (or terminate) callback seen */
  int gone;             /* released / discarded / closing: do not use */
  uint64_t opened_seq;
  uint64_t detach_seq;  /* last reset / release / close start (0: none) */
  int closing;          /* conn_close (or terminate) called */
  int given_up;         /* a call abandoned at its deadline: the close
                           leaves the driver's handle to the zombie */
  int txn_risk;         /* autocommit may be off: reads may meet an aborted
                           transaction (PostgreSQL 25P02) */
  uint64_t txn_end_seq; /* last commit or rollback: on PostgreSQL it may
                           close cursors opened before (docs/drivers.md,
                           Explicit transactions) */
  uint64_t fail_seq;    /* last request that failed or was cancelled: on
                           PostgreSQL psqlODBC may roll back the transaction
                           of cursors opened before (docs/drivers.md,
                           PostgreSQL: streams) */
} conn_rec;

typedef struct cur_rec {
  uvodbc_cursor_t* h;
  int id;
  conn_rec* c;
  uint64_t created_seq;  /* seq of the exec that made it */
  int pending;           /* one fetch / next_result at a time */
  int closing, close_cb;
  int catalog;           /* rows not checked */
  int verify;            /* rows still checkable */
  int64_t next, hi;      /* expected id of the next row, last id */
  size_t batch_rows;
  int multi;             /* the "SELECT 1; SELECT 2" form */
  int result_no;
  struct prep_rec* prep; /* borrowed statement, or NULL */
  int kept;              /* in cursors[] */
  int timeout;           /* its exec had timeout_ms: so has each fetch */
  int interrupted;       /* a fetch of it was cancelled or timed out: the
                            driver may have closed its result */
  struct rq* read;       /* the read started and not yet ended */
  struct rq* stopped;    /* the last read stopped, for a restart */
  struct rq* restart_rq; /* read the restart timer starts again */
  uv_timer_t* restart;   /* restarts a stopped read (lazily made) */
  /* After a stop, the fetch the read had in flight comes first, whole, to
   * the next fetch or read: up to the stopped read's rows, with the status
   * it ended with. */
  int carry;             /* a stopped read's fetch comes next */
  size_t carry_rows;     /* its limit (0: none checked) */
  int carry_cancel;      /* it was cancelled */
} cur_rec;

typedef struct prep_rec {
  uvodbc_prepared_t* h;
  int id;
  conn_rec* c;
  uint64_t created_seq;
  int pending;
  int cursor_open;
  int closing, close_cb;
} prep_rec;

struct pool_rec {
  uvodbc_pool_t* h;
  int id;
  int index;      /* 0 .. NPOOLS-1 */
  int closing;    /* close or terminate called */
  int terminating;
  int close_cb;
  int pending;    /* acquire / exec / query */
  int ready_cb;
  int setups;     /* setup hooks running */
  uint64_t terminate_seq;
};

typedef enum {
  K_CONNECT, K_QUERY, K_EXEC, K_FETCH, K_NEXT, K_PREPARE, K_PEXEC, K_PQUERY,
  K_BULK, K_BULKC, K_CALL, K_CATALOG, K_INFO, K_TXN, K_PING, K_RESET,
  K_ACQUIRE, K_POOL_EXEC, K_POOL_QUERY, K_COUNT, K_WRITE, K_SLEEP, K_READ,
  K_BAD
} kind_t;

static const char* const kind_names[] = {
    "connect", "query", "exec", "fetch", "next_result", "prepare",
    "prepared_exec", "prepared_query", "bulk", "bulk_columns", "call",
    "catalog", "info", "txn", "ping", "reset", "acquire", "pool_exec",
    "pool_query", "count", "write", "sleep", "read", "bad_sql"};

/* What a callback does, chosen when the request starts. */
typedef enum {
  A_NONE, A_CLOSE_CURSOR, A_FETCH_ALL, A_CLOSE_CONN, A_RELEASE,
  A_CANCEL_OTHER
} action_t;

typedef struct rq {
  uvodbc_req_t req;
  kind_t kind;
  uint64_t seq;
  int starts, cbs;
  int in_start;       /* inside the starting call */
  int late_ok;        /* its handle was already closed at the start */
  int inflight_idx;   /* index in inflight[], -1 if none */
  conn_rec* c;
  cur_rec* cur;
  prep_rec* prep;
  pool_rec* pool;
  int slot;
  int64_t lo, hi;     /* expected ids */
  int64_t expect;     /* K_COUNT: expected count (-1: unknown) */
  struct rq* after;   /* K_COUNT: the write whose success it checks */
  int64_t nrows;      /* writes: rows written */
  int cancel_tried;
  int timeout;
  int max_rows;       /* query with a row limit */
  int may_fail;       /* ESQL is a possible outcome (locks, deliberate) */
  int must_fail;      /* deliberate error: status 0 is wrong */
  struct rq* deps[3]; /* K_COUNT: expectation holds if these all succeeded */
  int restores;       /* ends a transaction: failure leaves txn_risk */
  int rollback;       /* K_COUNT after a rollback: expect 0 */
  action_t action;
  int result_cursor;  /* exec-like: a cursor is expected on success */
  int multi;
  size_t batch_rows;
  int status;
  void* owned[4];     /* bulk columns: arrays that live until the callback */
  const char* what;   /* txn sub-kind, for messages */
  /* K_READ: one start, many callbacks.  A start ends exactly once: by its
   * last callback (UV_EOF or an error; counted in cbs), or silently by
   * read_stop or the cursor's close (quiet_ends). */
  int quiet_ends;
  int reading;        /* started, not ended */
  long batches;       /* batch callbacks of this start */
  size_t read_rows;   /* max_rows of read_start */
  /* The first result may be a stopped read's fetch: at most this many
   * rows (-1: no such fetch; 0: not checked). */
  long first_limit;
} rq;

static rq** all_rqs;
static size_t nall, capall;
static rq* inflight[4096];
static int ninflight;

static conn_rec* slots[NSLOTS];
static int slot_acquiring[NSLOTS];
static conn_rec** all_conns;
static size_t nconns, capconns;
static cur_rec* cursors[MAX_CURSORS];
static prep_rec* prepareds[MAX_PREPARED];
static pool_rec* pools[NPOOLS];
static pool_rec* all_pools[4096];
static size_t npools_all;
static int next_id;

static struct {
  long started, callbacks, ok, by_status_ecanceled, timedout, closed_status,
      esql, eof, sync_errors, conns, acquires, cursors, pools;
  long by_kind[K_BAD + 1];
  long read_starts, read_batches, read_ends, read_stops, read_restarts,
      read_closes, read_cancels, read_takeovers, read_ealready, read_ebusy,
      read_probes;
} stats;

static void* xcalloc(size_t n, size_t size) {
  void* p = calloc(n, size);
  if (p == NULL) {
    fprintf(stderr, "out of memory\n");
    abort();
  }
  return p;
}

static void push_ptr(void*** arr, size_t* n, size_t* cap, void* p);
static void** records;
static size_t nrecords, caprecords;
static void** timers; /* uv_timer_t: closed at the end */
static size_t ntimers, captimers;

/* A record that lives until the end of the run. */
static void* new_record(size_t size) {
  void* p = xcalloc(1, size);
  push_ptr(&records, &nrecords, &caprecords, p);
  return p;
}

static void push_ptr(void*** arr, size_t* n, size_t* cap, void* p) {
  if (*n == *cap) {
    *cap = *cap ? *cap * 2 : 256;
    *arr = realloc(*arr, *cap * sizeof(void*));
    if (*arr == NULL) abort();
  }
  (*arr)[(*n)++] = p;
}

static rq* new_rq(kind_t kind) {
  rq* r = xcalloc(1, sizeof(*r));
  r->kind = kind;
  r->inflight_idx = -1;
  r->expect = -1;
  r->first_limit = -1;
  r->req.data = r;
  r->slot = -1;
  push_ptr((void***)&all_rqs, &nall, &capall, r);
  return r;
}

static conn_rec* new_conn(pool_rec* pool) {
  conn_rec* c = xcalloc(1, sizeof(*c));
  c->id = ++next_id;
  c->pool = pool;
  push_ptr((void***)&all_conns, &nconns, &capconns, c);
  return c;
}

static void inflight_add(rq* r) {
  if (ninflight >= (int)(sizeof(inflight) / sizeof(inflight[0]))) abort();
  r->inflight_idx = ninflight;
  inflight[ninflight++] = r;
}

static void inflight_del(rq* r) {
  int i = r->inflight_idx;
  if (i < 0) return;
  inflight[i] = inflight[--ninflight];
  inflight[i]->inflight_idx = i;
  r->inflight_idx = -1;
}

/* Call before the starting function; pass its return to started(). */
static void starting(rq* r) {
  r->seq = ++seq;
  r->in_start = 1;
  r->status = 1; /* not called back */
  r->cancel_tried = 0;
  r->late_ok = (r->c && r->c->close_cb) || (r->prep && r->prep->close_cb);
}

/* Returns err.  On 0 the request is pending and counted on its handles. */
static int started(rq* r, int err) {
  r->in_start = 0;
  if (err != 0) {
    stats.sync_errors++;
    return err;
  }
  r->starts++;
  stats.started++;
  stats.by_kind[r->kind]++;
  inflight_add(r);
  if (r->c) r->c->pending++;
  if (r->cur) r->cur->pending++;
  if (r->prep) r->prep->pending++;
  if (r->pool) r->pool->pending++;
  return 0;
}

static void print_diags(const uvodbc_req_t* req) {
  size_t i;
  for (i = 0; i < req->ndiag; i++)
    fprintf(stderr, "    [%s] %d %s: %s\n", req->diag[i].sqlstate,
            (int)req->diag[i].native,
            req->diag[i].function ? req->diag[i].function : "?",
            req->diag[i].message ? req->diag[i].message : "");
}

static int diag_has(const uvodbc_req_t* req, const char* text) {
  size_t i;
  for (i = 0; i < req->ndiag; i++)
    if ((req->diag[i].message && strstr(req->diag[i].message, text)) ||
        strncmp(req->diag[i].sqlstate, text, 5) == 0)
      return 1;
  return 0;
}

/* The common part of every callback: exactly once, after the start
 * returned, never after a close callback of its handles.  Returns 0 when
 * the request's result can be looked at. */
static int arrive(rq* r, int status, const char* where) {
  stats.callbacks++;
  r->cbs++;
  CHECK(!r->in_start, "%s #%llu: callback from inside the starting call",
        kind_names[r->kind], (unsigned long long)r->seq);
  if (r->cbs + r->quiet_ends > r->starts) {
    fail("%s #%llu: callback %d for %d starts (%s)", kind_names[r->kind],
         (unsigned long long)r->seq, r->cbs, r->starts, where);
    return -1;
  }
  CHECK(r->req.status == status, "%s #%llu: req->status %d != status %d",
        kind_names[r->kind], (unsigned long long)r->seq, r->req.status,
        status);
  if (r->c) {
    CHECK(!r->c->close_cb || r->late_ok,
          "%s #%llu: callback after conn %d's close callback",
          kind_names[r->kind], (unsigned long long)r->seq, r->c->id);
    r->c->pending--;
  }
  if (r->cur) {
    CHECK(!r->cur->close_cb, "%s #%llu: callback after cursor %d's close cb",
          kind_names[r->kind], (unsigned long long)r->seq, r->cur->id);
    r->cur->pending--;
  }
  if (r->prep) {
    CHECK(!r->prep->close_cb || r->late_ok,
          "%s #%llu: callback after prepared %d's close callback",
          kind_names[r->kind], (unsigned long long)r->seq, r->prep->id);
    r->prep->pending--;
  }
  if (r->pool) {
    CHECK(!r->pool->close_cb, "%s #%llu: callback after pool %d's close cb",
          kind_names[r->kind], (unsigned long long)r->seq, r->pool->id);
    r->pool->pending--;
  }
  inflight_del(r);
  r->status = status;
  if (opt.trace && status != 0)
    note("  -> %s #%llu: %s", kind_names[r->kind], (unsigned long long)r->seq,
         uvodbc_err_name(status));
  if (status == 0) stats.ok++;
  if (status == UV_ECANCELED) stats.by_status_ecanceled++;
  if (status == UV_ETIMEDOUT) stats.timedout++;
  if (status == UVODBC_ECLOSED) stats.closed_status++;
  if (status == UVODBC_ESQL) stats.esql++;
  if (status == UV_EOF) stats.eof++;
  return 0;
}

/* Was the connection closed, reset or given back after this request
 * started (so that a queued operation may find its handle detached)? */
static int detached_since(const conn_rec* c, uint64_t since) {
  return c != NULL && (c->detach_seq > since || c->closing);
}

static int pool_stopping(const rq* r) {
  pool_rec* p = r->pool ? r->pool : (r->c ? r->c->pool : NULL);
  return p != NULL && p->closing;
}

/* Checks `status` against what the header documents for the kind, narrowed
 * by what happened to the request.  Returns 1 if it is acceptable. */
static int status_ok(rq* r, int status) {
  uint64_t since = r->seq;
  conn_rec* c = r->c;
  int interrupted = r->cancel_tried || (c && c->closing) || pool_stopping(r);
  if (r->cur) since = r->cur->created_seq;
  if (r->prep) since = r->prep->created_seq;
  switch (status) {
    case 0:
      return 1;
    case UV_ECANCELED:
      /* docs/reading.md: after a fetch was cancelled or timed out while it
       * ran, every later fetch or read of the cursor fails the same way. */
      return interrupted || (r->cur && r->cur->interrupted);
    case UV_ETIMEDOUT:
      return r->timeout || r->kind == K_ACQUIRE ||
             r->kind == K_POOL_EXEC || r->kind == K_POOL_QUERY ||
             (r->cur && r->cur->interrupted);
    case UVODBC_ECLOSED:
      /* A handle detached by a reset, release or close; a pool closing. */
      return detached_since(c, since) || pool_stopping(r) ||
             (r->cur && r->cur->closing);
    case UVODBC_ENOTCONN:
      return c != NULL && c->state == C_FAILED;
    case UV_EOF:
      return r->kind == K_FETCH || r->kind == K_NEXT || r->kind == K_READ;
    case UVODBC_ELIMIT:
      return r->max_rows != 0 &&
             (r->kind == K_QUERY || r->kind == K_PQUERY);
    case UVODBC_ESQL:
      if (r->may_fail || interrupted || r->timeout) return 1;
      if (c && (c->state == C_FAILED || c->txn_risk)) return 1;
      /* A rollback since the cursor opened closed it (docs/drivers.md,
       * Explicit transactions: psqlODBC's rollback behaviour is "close"
       * with declare-fetch on; uvodbc refuses with 24000). */
      if (opt.driver == DRV_PG && c && r->cur &&
          (c->txn_end_seq > r->cur->created_seq ||
           c->fail_seq > r->cur->created_seq) &&
          diag_has(&r->req, "24000"))
        return 1;
      if (c && detached_since(c, since)) return 1;
      /* docs/reading.md: a cancelled or timed-out fetch may leave the
       * cursor unreadable. */
      if (r->cur && r->cur->interrupted) return 1;
      if (r->kind == K_CONNECT || r->kind == K_ACQUIRE) return 1;
      /* SQLite: another connection holds the database lock. */
      if (opt.driver == DRV_SQLITE &&
          (diag_has(&r->req, "locked") || diag_has(&r->req, "busy")))
        return 1;
      return 0;
    default:
      return 0;
  }
}

static void check_status(rq* r, int status) {
  if (r->c != NULL && (status == UVODBC_ESQL || status == UV_ECANCELED ||
                       status == UV_ETIMEDOUT) &&
      r->seq > r->c->fail_seq)
    r->c->fail_seq = r->seq;
  if (status_ok(r, status)) return;
  print_diags(&r->req);
  fail("%s #%llu on conn %d: unexpected status %s (%d)%s%s",
       kind_names[r->kind], (unsigned long long)r->seq, r->c ? r->c->id : -1,
       uvodbc_err_name(status), status, r->cancel_tried ? " cancelled" : "",
       r->timeout ? " with timeout" : "");
}

/* ------------------------------------------------------------------------ */
/* Result checks */

static int64_t number_v(int64_t id) { return id * 7919 % 10007; }

static int get_int(const uvodbc_batch_t* b, size_t col, size_t row,
                   int64_t* out) {
  const char* text;
  size_t len;
  if (uvodbc_batch_get_int64(b, col, row, out) == 0) return 0;
  if (uvodbc_batch_get_text(b, col, row, &text, &len) == 0) {
    *out = strtoll(text, NULL, 10);
    return 0;
  }
  return -1;
}

/* Rows (id, v, s) of chaos_n from *next on; advances *next.  Returns 0 if
 * they are right. */
static int check_numbers(const uvodbc_batch_t* b, int64_t* next, int64_t hi,
                         const char* what) {
  size_t r, n = uvodbc_batch_nrows(b);
  if (uvodbc_batch_ncols(b) != 3) {
    fail("%s: %zu columns, want 3", what, uvodbc_batch_ncols(b));
    return -1;
  }
  for (r = 0; r < n; r++) {
    int64_t id = -1, v = -1;
    const char* s = NULL;
    size_t len = 0;
    char want[32];
    if (get_int(b, 0, r, &id) != 0 || get_int(b, 1, r, &v) != 0 ||
        uvodbc_batch_get_text(b, 2, r, &s, &len) != 0) {
      fail("%s: row %zu unreadable", what, r);
      return -1;
    }
    snprintf(want, sizeof(want), "r%lld", (long long)*next);
    if (id != *next || v != number_v(id) || strcmp(s, want) != 0 ||
        len != strlen(want) || id > hi) {
      fail("%s: row %zu is (%lld, %lld, '%s'), want (%lld, %lld, '%s') "
           "(last id %lld)",
           what, r, (long long)id, (long long)v, s, (long long)*next,
           (long long)number_v(*next), want, (long long)hi);
      return -1;
    }
    (*next)++;
  }
  return 0;
}

static const char* select_range_sql(void) {
  return "SELECT id, v, s FROM chaos_n WHERE id BETWEEN ? AND ? ORDER BY id";
}

/* ------------------------------------------------------------------------ */
/* Slots: which connection an operation targets. */

static conn_rec* usable(int slot) {
  conn_rec* c = slots[slot];
  if (c == NULL || c->gone || c->closing) return NULL;
  return c;
}

static cur_rec* new_cursor(rq* r, uvodbc_cursor_t* h) {
  int i;
  cur_rec* k;
  for (i = 0; i < MAX_CURSORS; i++)
    if (cursors[i] == NULL) break;
  k = new_record(sizeof(*k));
  k->h = h;
  k->id = ++next_id;
  k->c = r->c;
  k->created_seq = r->seq;
  k->batch_rows = r->batch_rows;
  k->multi = r->multi;
  k->prep = r->prep;
  if (r->prep) r->prep->cursor_open = 1;
  uvodbc_cursor_set_data(h, k);
  stats.cursors++;
  k->kept = i < MAX_CURSORS;
  if (k->kept) cursors[i] = k;
  return k; /* past MAX_CURSORS: the caller closes it at once */
}

static void forget_cursor(cur_rec* k) {
  int i;
  for (i = 0; i < MAX_CURSORS; i++)
    if (cursors[i] == k) cursors[i] = NULL;
}

/* A read's start ends without a callback (read_stop, the cursor's close):
 * its request is the caller's again, and no callback may follow. */
static void read_quiet_end(rq* r) {
  cur_rec* k = r->cur;
  r->reading = 0;
  r->quiet_ends++;
  CHECK(r->cbs + r->quiet_ends == r->starts, "read #%llu: %d ends for %d "
        "starts", (unsigned long long)r->seq, r->cbs + r->quiet_ends,
        r->starts);
  if (k->read == r) k->read = NULL;
  k->pending--;
  if (r->c) r->c->pending--;
  inflight_del(r);
}

static int in_lib_call; /* inside read_stop / cursor_close: no callback */

static void on_cursor_close(uvodbc_cursor_t* h) {
  cur_rec* k = uvodbc_cursor_get_data(h);
  CHECK(k != NULL && k->h == h, "cursor close callback with foreign data");
  CHECK(k->close_cb == 0, "cursor %d: second close callback", k->id);
  CHECK(k->pending == 0, "cursor %d: close callback before %d callbacks",
        k->id, k->pending);
  k->close_cb++;
  if (k->prep) k->prep->cursor_open = 0;
  forget_cursor(k);
}

static void close_cursor(cur_rec* k, const char* why) {
  int err;
  if (k->closing) return;
  k->closing = 1;
  note("cursor_close %d (%s)%s", k->id, why, k->read ? " reading" : "");
  /* A read ends at once: no callback follows (uvodbc.h). */
  if (k->read) {
    stats.read_closes++;
    read_quiet_end(k->read);
  }
  in_lib_call++;
  err = uvodbc_cursor_close(k->h, on_cursor_close);
  in_lib_call--;
  CHECK(err == 0, "cursor_close %d: %s", k->id, uvodbc_err_name(err));
}

static void on_conn_close(uvodbc_conn_t* h) {
  conn_rec* c = uvodbc_conn_get_data(h);
  CHECK(c != NULL && c->h == h, "conn close callback with foreign data");
  CHECK(c->close_cb == 0, "conn %d: second close callback", c->id);
  CHECK(c->pending == 0, "conn %d: close callback before %d callbacks", c->id,
        c->pending);
  if (uvodbc_conn_close_status(h) != 0) {
    size_t i, n;
    const uvodbc_diag_t* d = uvodbc_conn_close_diag(h, &n);
    for (i = 0; i < n; i++)
      fprintf(stderr, "conn %d close: [%s] %s\n", c->id, d[i].sqlstate,
              d[i].message);
  }
  CHECK(uvodbc_conn_close_status(h) == 0 ||
            (c->given_up && uvodbc_conn_close_status(h) == UV_ETIMEDOUT),
        "conn %d: the close could not free the driver's connection: %s",
        c->id, uvodbc_err_name(uvodbc_conn_close_status(h)));
  c->close_cb++;
  c->state = C_CLOSED;
}

static void close_conn(conn_rec* c, const char* why) {
  int err, i;
  if (c->closing || c->gone) return;
  c->closing = 1;
  c->gone = 1;
  c->detach_seq = ++seq;
  note("conn_close %d (%s)", c->id, why);
  err = uvodbc_conn_close(c->h, on_conn_close);
  CHECK(err == 0, "conn_close %d: %s", c->id, uvodbc_err_name(err));
  for (i = 0; i < NSLOTS; i++)
    if (slots[i] == c) slots[i] = NULL;
}

/* Gives a borrowed connection back (release or discard). */
static void close_cursor(cur_rec* k, const char* why);
static void close_prepared(prep_rec* p, const char* why);

/* --no open_at_release: close a connection's cursors and prepared
 * statements before giving it back (issue 8, defect 2 is about the
 * reverse).  Returns 1 if some are still open. */
static int close_handles_of(conn_rec* c) {
  int i, open = 0;
  for (i = 0; i < MAX_CURSORS; i++)
    if (cursors[i] && cursors[i]->c == c) {
      open = 1;
      close_cursor(cursors[i], "before release");
    }
  for (i = 0; i < MAX_PREPARED; i++)
    if (prepareds[i] && prepareds[i]->c == c && !prepareds[i]->close_cb) {
      open = 1;
      close_prepared(prepareds[i], "before release");
    }
  return open;
}

static void give_back(conn_rec* c, int discard, const char* why) {
  int err, i;
  pool_rec* p = c->pool;
  if (c->gone) return;
  if (disabled("open_at_release") && !p->terminating && close_handles_of(c))
    return; /* released by a later operation */
  c->gone = 1;
  c->detach_seq = ++seq;
  note("pool_%s conn %d (%s)", discard ? "discard" : "release", c->id, why);
  err = discard ? uvodbc_pool_discard(p->h, c->h)
                : uvodbc_pool_release(p->h, c->h);
  CHECK(err == 0, "pool_%s conn %d: %s", discard ? "discard" : "release",
        c->id, uvodbc_err_name(err));
  for (i = 0; i < NSLOTS; i++)
    if (slots[i] == c) slots[i] = NULL;
}

/* ------------------------------------------------------------------------ */
/* Callbacks */

static void start_fetch(rq* r, cur_rec* k, size_t max_rows);
static int read_start(rq* r, cur_rec* k, size_t max_rows, const char* why);
static void cancel_some(uint64_t pickw, const char* why);

static void after_action(rq* r) {
  conn_rec* c = r->c;
  switch (r->action) {
    case A_CLOSE_CONN:
      if (c && !c->gone && !c->closing) {
        if (c->pool) {
          /* Releasing with other work pending is a misuse: only when this
           * was the last. */
          if (c->pending == 0) give_back(c, 0, "in callback");
        } else {
          close_conn(c, "in callback");
        }
      }
      break;
    case A_RELEASE:
      if (c && c->pool && !c->gone && c->pending == 0)
        give_back(c, (r->seq & 1) != 0, "in callback");
      break;
    case A_CANCEL_OTHER:
      cancel_some(r->seq * 2654435761u, "from a callback");
      break;
    default:
      break;
  }
}

static void exec_result(rq* r, int status) {
  cur_rec* k;
  char what[96];
  conn_rec* c = r->c;
  if (status != 0) {
    CHECK(status == 0 || r->req.cursor == NULL || r->kind == K_FETCH,
          "%s #%llu failed with a cursor", kind_names[r->kind],
          (unsigned long long)r->seq);
    return;
  }
  if (r->req.cursor == NULL) {
    CHECK(!r->result_cursor, "%s #%llu: no cursor for a SELECT",
          kind_names[r->kind], (unsigned long long)r->seq);
    if (!r->result_cursor && r->nrows > 0)
      CHECK(r->req.rows_affected == r->nrows,
            "%s #%llu: rows_affected %lld, want %lld", kind_names[r->kind],
            (unsigned long long)r->seq, (long long)r->req.rows_affected,
            (long long)r->nrows);
    return;
  }
  CHECK(r->result_cursor, "%s #%llu: a cursor where none was expected",
        kind_names[r->kind], (unsigned long long)r->seq);
  k = new_cursor(r, r->req.cursor);
  k->catalog = r->kind == K_CATALOG || r->kind == K_SLEEP;
  k->verify = !k->catalog && !k->multi;
  k->timeout = r->timeout;
  k->next = r->lo;
  k->hi = r->hi;
  snprintf(what, sizeof(what), "%s #%llu first batch", kind_names[r->kind],
           (unsigned long long)r->seq);
  if (k->multi) {
    int64_t v = -1;
    CHECK(r->req.batch != NULL && get_int(r->req.batch, 0, 0, &v) == 0 &&
              v == 1,
          "%s: first result %lld, want 1", what, (long long)v);
  } else if (k->verify && r->req.batch) {
    if (check_numbers(r->req.batch, &k->next, k->hi, what) != 0)
      k->verify = 0;
    if (r->batch_rows && uvodbc_batch_nrows(r->req.batch) > r->batch_rows)
      fail("%s: %zu rows, batch_rows %zu", what,
           uvodbc_batch_nrows(r->req.batch), r->batch_rows);
  } else if (k->verify) {
    CHECK(r->lo > r->hi, "%s: no batch for a non-empty range", what);
  }
  if (r->action == A_RELEASE && c && c->pool && !c->gone &&
      c->pending == 0 && !disabled("open_at_release")) {
    /* Issue 8, defect 2: release in the exec callback, then close. */
    give_back(c, 0, "in exec callback, cursor open");
    close_cursor(k, "after release");
  } else if (!k->kept || r->action == A_CLOSE_CURSOR) {
    close_cursor(k, "in exec callback");
  } else if (r->action == A_FETCH_ALL && (r->seq & 1) &&
             !disabled("read")) {
    /* A read of the rest, from the exec's callback, closed at its end. */
    rq* rd = new_rq(K_READ);
    rd->action = A_CLOSE_CURSOR;
    read_start(rd, k, (r->seq >> 1) % 4, "in exec callback");
  } else if (r->action == A_FETCH_ALL) {
    /* A fetch loop on the same request, from its own callback. */
    start_fetch(r, k, 0);
  }
}

static rq* txn_step(conn_rec* c, int which, const char* what, int restores);

/* A transaction whose end failed (cancelled, timed out) holds its locks:
 * roll it back now, or MariaDB's writers wait for them. */
static void record_txn_risk(rq* r, int status) {
  if (!r->restores || status == 0 || r->c == NULL) return;
  r->c->txn_risk = 1;
  if (!r->c->gone && !r->c->closing && status != UVODBC_ENOTCONN)
    txn_step(r->c, 2, "rollback after a failed end", 0);
}

static void on_req(uvodbc_req_t* req, int status);

/* The rows a first batch may hold (0: not checked): after read_stop, the
 * read's fetch comes whole, up to its own limit (uvodbc.h). */
static size_t with_carry(size_t lim, long first_limit) {
  if (first_limit < 0) return lim;
  if (lim == 0 || first_limit == 0) return 0;
  return lim > (size_t)first_limit ? lim : (size_t)first_limit;
}

static void on_fetch_result(rq* r, int status) {
  cur_rec* k = r->cur;
  char what[96];
  snprintf(what, sizeof(what), "%s #%llu on cursor %d", kind_names[r->kind],
           (unsigned long long)r->seq, k->id);
  if (status == 0 && r->kind == K_FETCH) {
    size_t n = r->req.batch ? uvodbc_batch_nrows(r->req.batch) : 0;
    CHECK(n >= 1, "%s: status 0 with %zu rows", what, n);
    size_t lim = with_carry((size_t)r->max_rows, r->first_limit);
    CHECK(r->req.cursor == k->h, "%s: req->cursor is not the cursor", what);
    if (lim && n > lim)
      fail("%s: %zu rows for max_rows %d (a stopped read's %ld)", what, n,
           r->max_rows, r->first_limit);
    if (k->verify && n > 0 &&
        check_numbers(r->req.batch, &k->next, k->hi, what) != 0)
      k->verify = 0;
    if (k->multi) {
      fail("%s: rows after the first result's only row", what);
    }
  } else if (status == UV_EOF && r->kind == K_FETCH) {
    CHECK(r->req.batch == NULL, "%s: UV_EOF with a batch", what);
    if (k->verify)
      CHECK(k->next == k->hi + 1, "%s: UV_EOF at id %lld, last id %lld", what,
            (long long)k->next, (long long)k->hi);
  } else if (status == 0 && r->kind == K_NEXT) {
    k->verify = 0;
    k->result_no++;
    if (k->multi && k->result_no == 1) {
      int64_t v = -1;
      CHECK(r->req.batch != NULL && get_int(r->req.batch, 0, 0, &v) == 0 &&
                v == 2,
            "%s: second result %lld, want 2", what, (long long)v);
    } else {
      fail("%s: a result set that the statement does not have (%d)", what,
           k->result_no);
    }
  } else if (status == UV_EOF && r->kind == K_NEXT) {
    k->verify = 0;
    if (k->multi)
      CHECK(k->result_no == 1, "%s: UV_EOF after %d results", what,
            k->result_no + 1);
  } else if (status != 0) {
    k->verify = 0;
  }
  if (status == UV_ECANCELED || status == UV_ETIMEDOUT) k->interrupted = 1;
  r->first_limit = -1;
  if (r->action == A_FETCH_ALL && !k->closing) {
    if (status == 0 && r->kind == K_FETCH)
      start_fetch(r, k, 0);
    else
      close_cursor(k, "fetch loop ended");
  } else if (r->action == A_CLOSE_CURSOR && !k->closing) {
    close_cursor(k, "in fetch callback");
  }
}

static void check_count(rq* r, int status) {
  int64_t n = -1;
  int i, applies = 1;
  if (status != 0) return;
  if (r->req.batch == NULL || uvodbc_batch_nrows(r->req.batch) != 1 ||
      get_int(r->req.batch, 0, 0, &n) != 0) {
    fail("count #%llu: no count", (unsigned long long)r->seq);
    return;
  }
  for (i = 0; i < 3; i++)
    if (r->deps[i] && r->deps[i]->status != 0) applies = 0;
  if (applies && r->expect >= 0)
    CHECK(n == r->expect, "count #%llu on conn %d (%s): %lld rows, want %lld",
          (unsigned long long)r->seq, r->c ? r->c->id : -1,
          r->what ? r->what : "", (long long)n, (long long)r->expect);
}

static void check_query_rows(rq* r, int status) {
  int64_t want = r->hi >= r->lo ? r->hi - r->lo + 1 : 0, next = r->lo;
  char what[96];
  snprintf(what, sizeof(what), "%s #%llu", kind_names[r->kind],
           (unsigned long long)r->seq);
  if (r->max_rows && want > r->max_rows) {
    CHECK(status != 0, "%s: %lld rows passed max_rows %d", what,
          (long long)want, r->max_rows);
    return;
  }
  if (status == UVODBC_ELIMIT)
    fail("%s: UVODBC_ELIMIT for %lld rows, max_rows %d", what,
         (long long)want, r->max_rows);
  if (status != 0) return;
  CHECK(r->req.cursor == NULL, "%s: a query with a cursor", what);
  if (r->req.batch == NULL) {
    CHECK(want == 0, "%s: no batch for %lld rows", what, (long long)want);
    return;
  }
  CHECK((int64_t)uvodbc_batch_nrows(r->req.batch) == want,
        "%s: %zu rows, want %lld", what, uvodbc_batch_nrows(r->req.batch),
        (long long)want);
  check_numbers(r->req.batch, &next, r->hi, what);
}

static void check_call(rq* r, int status) {
  int64_t v = -1;
  const uvodbc_batch_t* b;
  if (status != 0) return;
  b = opt.driver == DRV_SQLITE ? (r->req.nresults ? r->req.results[0] : NULL)
                               : r->req.outputs;
  CHECK(b != NULL && uvodbc_batch_nrows(b) == 1 &&
            get_int(b, 0, 0, &v) == 0 && v == r->lo + r->hi,
        "call #%llu: %lld, want %lld", (unsigned long long)r->seq,
        (long long)v, (long long)(r->lo + r->hi));
}

static void check_bulk(rq* r, int status) {
  size_t i;
  CHECK(r->req.rows_affected >= 0 && r->req.rows_affected <= r->nrows,
        "bulk #%llu: rows_affected %lld of %lld", (unsigned long long)r->seq,
        (long long)r->req.rows_affected, (long long)r->nrows);
  if (status != 0) return;
  CHECK(r->req.rows_affected == r->nrows,
        "bulk #%llu: rows_affected %lld, want %lld",
        (unsigned long long)r->seq, (long long)r->req.rows_affected,
        (long long)r->nrows);
  CHECK(r->req.nrow_status == (size_t)r->nrows && r->req.row_status != NULL,
        "bulk #%llu: %zu row statuses for %lld rows",
        (unsigned long long)r->seq, r->req.nrow_status, (long long)r->nrows);
  for (i = 0; r->req.row_status && i < r->req.nrow_status; i++)
    CHECK(r->req.row_status[i] == UVODBC_ROW_OK,
          "bulk #%llu: row %zu status %d after success",
          (unsigned long long)r->seq, i, r->req.row_status[i]);
  CHECK(r->req.failed_row == -1, "bulk #%llu: failed_row %lld after success",
        (unsigned long long)r->seq, (long long)r->req.failed_row);
}

/* A call given up at its deadline (docs/threading.md, "When the driver
 * does not return") breaks its connection and detaches its cursors and
 * prepared statements: what follows may fail with ENOTCONN or ECLOSED. */
static void note_given_up(rq* r, int status) {
  conn_rec* c = r->c;
  if (status != UV_ETIMEDOUT || c == NULL) return;
  /* Closing (the handle lives until its close callback): the close, queued
   * behind the abandoned call, ends with UV_ETIMEDOUT. */
  if (c->closing && c->close_cb == 0 && uvodbc_conn_is_broken(c->h))
    c->given_up = 1;
  if (c->gone || c->closing || c->state != C_OPEN ||
      !uvodbc_conn_is_broken(c->h))
    return;
  c->state = C_FAILED;
  c->given_up = 1;
  c->detach_seq = ++seq;
  note("conn %d: given up at its deadline, broken", c->id);
}

static void on_req(uvodbc_req_t* req, int status) {
  rq* r = req->data;
  if (arrive(r, status, "req") != 0) return;
  note_given_up(r, status);
  check_status(r, status);
  if (r->must_fail && status == 0)
    fail("%s #%llu: deliberate error succeeded", kind_names[r->kind],
         (unsigned long long)r->seq);
  record_txn_risk(r, status);
  switch (r->kind) {
    case K_CONNECT:
      if (r->c->state == C_OPENING)
        r->c->state = status == 0 ? C_OPEN : C_FAILED;
      CHECK((status == 0) == (uvodbc_conn_is_open(r->c->h) != 0) ||
                r->c->closing,
            "connect #%llu: status %d, is_open %d",
            (unsigned long long)r->seq, status,
            uvodbc_conn_is_open(r->c->h));
      break;
    case K_QUERY:
    case K_PQUERY:
    case K_POOL_QUERY:
      check_query_rows(r, status);
      break;
    case K_EXEC:
    case K_PEXEC:
    case K_CATALOG:
    case K_WRITE:
    case K_SLEEP:
    case K_BAD:
      if (r->kind == K_SLEEP && status == 0 && r->req.cursor) {
        r->result_cursor = 1;
        r->action = A_CLOSE_CURSOR;
      }
      exec_result(r, status);
      break;
    case K_POOL_EXEC:
      CHECK(req->conn == NULL, "pool_exec #%llu: req->conn set",
            (unsigned long long)r->seq);
      CHECK(req->cursor == NULL, "pool_exec #%llu: a cursor",
            (unsigned long long)r->seq);
      if (status == 0)
        CHECK(req->rows_affected == r->nrows,
              "pool_exec #%llu: rows_affected %lld, want %lld",
              (unsigned long long)r->seq, (long long)req->rows_affected,
              (long long)r->nrows);
      break;
    case K_FETCH:
    case K_NEXT:
      on_fetch_result(r, status);
      /* The fetch loop may have restarted the request: nothing after. */
      return;
    case K_PREPARE:
      if (status == 0) {
        int i;
        prep_rec* p = new_record(sizeof(*p));
        CHECK(req->prepared != NULL, "prepare #%llu: no handle",
              (unsigned long long)r->seq);
        if (req->prepared == NULL) break;
        p->h = req->prepared;
        p->id = ++next_id;
        p->c = r->c;
        p->created_seq = r->seq;
        CHECK(uvodbc_prepared_nparams(p->h) == 2,
              "prepare #%llu: %zu parameters, want 2",
              (unsigned long long)r->seq, uvodbc_prepared_nparams(p->h));
        uvodbc_prepared_set_data(p->h, p);
        for (i = 0; i < MAX_PREPARED; i++)
          if (prepareds[i] == NULL) {
            prepareds[i] = p;
            break;
          }
        if (i == MAX_PREPARED) close_prepared(p, "no room");
      } else {
        CHECK(req->prepared == NULL, "prepare #%llu failed with a handle",
              (unsigned long long)r->seq);
      }
      break;
    case K_BULK:
    case K_BULKC:
      check_bulk(r, status);
      break;
    case K_CALL:
      check_call(r, status);
      break;
    case K_INFO:
      if (status == 0)
        CHECK(req->info != NULL && req->info->dbms_name[0] != '\0',
              "info #%llu: no DBMS name", (unsigned long long)r->seq);
      break;
    case K_COUNT:
      check_count(r, status);
      break;
    case K_ACQUIRE:
      slot_acquiring[r->slot] = 0;
      if (status == 0) {
        conn_rec* c;
        CHECK(req->conn != NULL, "acquire #%llu: no connection",
              (unsigned long long)r->seq);
        if (req->conn == NULL) break;
        c = new_conn(r->pool);
        c->h = req->conn;
        c->state = C_OPEN;
        c->opened_seq = r->seq;
        if (r->pool->terminating) {
          c->closing = 1;
          c->detach_seq = r->pool->terminate_seq;
        }
        slots[r->slot] = c;
        r->c = c; /* for the action */
        stats.acquires++;
      }
      break;
    default:
      break;
  }
  uvodbc_req_cleanup(req);
  if (r->kind == K_BULKC) {
    int i;
    for (i = 0; i < 4; i++) {
      free(r->owned[i]);
      r->owned[i] = NULL;
    }
  }
  after_action(r);
}

/* ------------------------------------------------------------------------ */
/* Reads (uvodbc_cursor_read_start / _read_stop, docs/reading.md)
 *
 * A read's rq is pending (inflight[], the cursor's and connection's
 * pending counts) from read_start until it ends: its last callback
 * (UV_EOF or an error), read_stop, or the cursor's close.  Its batches
 * continue the cursor's ids (k->next) like fetches; after its end no
 * callback may come.  What a callback does is picked from its sequence
 * number and batch count (callbacks never draw from the PRNG). */

static void on_read(uvodbc_req_t* req, int status);
static cur_rec* pick_cursor(uint64_t w);
static void take_carry(rq* r, cur_rec* k);
static void on_never(uvodbc_req_t* req, int status) {
  (void)req;
  fail("a call that returned %s called back (status %s)", "an error",
       uvodbc_err_name(status));
}

static uint64_t mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return x;
}

/* Rows a read's batch may hold (0: not checked; the automatic batch_rows
 * has no fixed count).  Not batch_rows when max_rows is larger: a cursor
 * read row by row (long columns) goes past it (uvodbc.h). */
static size_t read_limit(const rq* r) {
  return r->read_rows ? r->read_rows : r->cur->batch_rows;
}

/* Starts (or restarts) read `r` on `k`, checking the documented return:
 * UV_EALREADY while reading, UV_EBUSY while a fetch or next_result is
 * pending, UVODBC_ECLOSED once detached. */
static int read_start(rq* r, cur_rec* k, size_t max_rows, const char* why) {
  int reading = k->read != NULL;
  int busy = !reading && k->pending > 0;
  int err;
  r->kind = K_READ;
  r->cur = k;
  r->c = k->c;
  r->prep = NULL;
  r->timeout = k->timeout;
  r->read_rows = max_rows;
  r->batches = 0;
  starting(r);
  err = started(r, uvodbc_cursor_read_start(k->h, &r->req, max_rows,
                                            on_read));
  note("read_start cursor %d (conn %d) max %zu (%s)%s%s -> %s #%llu", k->id,
       k->c->id, max_rows, why, reading ? " reading" : "",
       busy ? " busy" : "", uvodbc_err_name(err),
       (unsigned long long)r->seq);
  if (err == 0) {
    CHECK(!reading, "read_start %d: 0 while reading, want UV_EALREADY",
          k->id);
    CHECK(!busy, "read_start %d: 0 with a fetch pending, want UV_EBUSY",
          k->id);
    r->reading = 1;
    k->read = r;
    take_carry(r, k);
    stats.read_starts++;
  } else if (err == UV_EALREADY) {
    stats.read_ealready++;
    CHECK(reading, "read_start %d: UV_EALREADY when not reading", k->id);
  } else if (err == UV_EBUSY) {
    stats.read_ebusy++;
    CHECK(busy, "read_start %d: UV_EBUSY with %s", k->id,
          reading ? "a read, want UV_EALREADY" : "nothing pending");
  } else if (err == UVODBC_ECLOSED) {
    CHECK(detached_since(k->c, k->created_seq),
          "read_start %d: UVODBC_ECLOSED on an attached cursor", k->id);
  } else {
    fail("read_start %d: %s", k->id, uvodbc_err_name(err));
  }
  return err;
}

/* read_stop of a read: 0, and the read ends here, without a callback. */
static void read_stop(cur_rec* k, const char* why) {
  rq* r = k->read;
  int err;
  in_lib_call++;
  err = uvodbc_cursor_read_stop(k->h);
  in_lib_call--;
  note("read_stop cursor %d (%s)%s -> %s", k->id, why,
       r ? "" : " not reading", uvodbc_err_name(err));
  CHECK(err == 0, "read_stop %d: %s", k->id, uvodbc_err_name(err));
  if (r == NULL) return;
  stats.read_stops++;
  read_quiet_end(r);
  /* Its fetch in flight comes first to whoever reads next: one it queued,
   * or, stopped before its first batch, the one it took over. */
  k->carry = 1;
  k->carry_rows = r->batches == 0 ? with_carry(read_limit(r), r->first_limit)
                                  : read_limit(r);
  k->carry_cancel = r->cancel_tried;
  k->stopped = r;
}

static void on_restart(uv_timer_t* t) {
  cur_rec* k = t->data;
  rq* r = k->restart_rq;
  k->restart_rq = NULL;
  if (r == NULL || k->closing || r->reading) return;
  if (read_start(r, k, r->read_rows, "timer") == 0) stats.read_restarts++;
}

/* A stopped read starts again from a timer, 0-3 ms later. */
static void restart_later(cur_rec* k, rq* r) {
  if (k->restart_rq != NULL || k->closing) return;
  if (k->restart == NULL) {
    k->restart = new_record(sizeof(*k->restart));
    CHECK(uv_timer_init(&loop, k->restart) == 0, "uv_timer_init");
    k->restart->data = k;
    push_ptr(&timers, &ntimers, &captimers, k->restart);
  }
  k->restart_rq = r;
  uv_timer_start(k->restart, on_restart, (uint64_t)(r->seq % 4), 0);
}

/* While reading, fetch and next_result are UV_EBUSY, read_start
 * UV_EALREADY (ECLOSED once detached: checked first). */
static void read_probe(cur_rec* k) {
  static uvodbc_req_t probe;
  int detached = detached_since(k->c, k->created_seq), err;
  stats.read_probes++;
  err = uvodbc_cursor_fetch(k->h, &probe, 1, on_never);
  CHECK(err == UV_EBUSY || (detached && err == UVODBC_ECLOSED),
        "cursor_fetch %d in its read's callback: %s, want UV_EBUSY", k->id,
        uvodbc_err_name(err));
  err = uvodbc_cursor_next_result(k->h, &probe, on_never);
  CHECK(err == UV_EBUSY || (detached && err == UVODBC_ECLOSED),
        "next_result %d in its read's callback: %s, want UV_EBUSY", k->id,
        uvodbc_err_name(err));
  err = uvodbc_cursor_read_start(k->h, &probe, 0, on_never);
  CHECK(err == UV_EALREADY || (detached && err == UVODBC_ECLOSED),
        "read_start %d in its read's callback: %s, want UV_EALREADY", k->id,
        uvodbc_err_name(err));
}

/* What a batch callback does next. */
static void read_behave(rq* r, cur_rec* k) {
  uint64_t h = mix(r->seq * 1000003u + (uint64_t)r->batches);
  int pick = (int)(h % 100);
  conn_rec* c = k->c;
  int err;
  read_probe(k);
  if (pick < 55) return; /* continue */
  if (pick < 65) {       /* backpressure: stop, someone starts again */
    read_stop(k, "in callback");
    switch ((h >> 16) % 3) {
      case 0:
        restart_later(k, r);
        break;
      case 1: { /* a pull fetch takes over */
        rq* f = new_rq(K_FETCH);
        f->action = (h >> 20) & 1 ? A_FETCH_ALL : A_NONE;
        start_fetch(f, k, (h >> 24) % 3);
        break;
      }
      default: /* a later "read" or "fetch" op */
        break;
    }
  } else if (pick < 72) { /* stop and start again, here */
    static const size_t rows[] = {0, 1, 2, 5, 64};
    read_stop(k, "in callback, to restart");
    if (read_start(r, k, rows[(h >> 16) % 5], "in callback") == 0)
      stats.read_restarts++;
  } else if (pick < 78) {
    close_cursor(k, "in read callback");
  } else if (pick < 85) {
    if (disabled("cancel")) return;
    err = uvodbc_req_cancel(&r->req);
    note("cancel read #%llu in its callback -> %s",
         (unsigned long long)r->seq, uvodbc_err_name(err));
    /* The next fetch was queued before this callback; UV_EINVAL: it is
     * already done (e.g. at the end of the rows, without a hop) and its
     * callback on its way, so no ECANCELED for this cancel. */
    CHECK(err == 0 || err == UV_EBUSY || err == UV_EINVAL,
          "req_cancel of read #%llu in its callback: %s",
          (unsigned long long)r->seq, uvodbc_err_name(err));
    if (err == 0) {
      r->cancel_tried = 1;
      stats.read_cancels++;
    }
  } else if (pick < 89) {
    if (c->gone || c->closing) return;
    if (c->pool == NULL) {
      if (!disabled("close_in_cb")) close_conn(c, "in read callback");
    } else if (!disabled("release_in_cb")) {
      /* Given back with the stopped read's fetch still in flight. */
      read_stop(k, "to release");
      if (c->pending == 0) give_back(c, (h >> 16) & 1, "in read callback");
    }
  }
}

static void on_read(uvodbc_req_t* req, int status) {
  rq* r = req->data;
  cur_rec* k = r->cur;
  char what[96];
  snprintf(what, sizeof(what), "read #%llu on cursor %d",
           (unsigned long long)r->seq, k->id);
  CHECK(!in_lib_call, "%s: callback from inside read_stop/cursor_close",
        what);
  if (!r->reading || k->read != r) {
    stats.callbacks++;
    fail("%s: callback (%s) after the read ended (%d callbacks, %d quiet "
         "ends, %d starts, cursor %s)", what, uvodbc_err_name(status),
         r->cbs, r->quiet_ends, r->starts,
         k->closing ? "closing" : "open");
    return;
  }
  if (status == 0) {
    size_t n = req->batch ? uvodbc_batch_nrows(req->batch) : 0;
    size_t lim = r->batches == 0 ? with_carry(read_limit(r), r->first_limit)
                                 : read_limit(r);
    stats.read_batches++;
    CHECK(!r->in_start, "%s: callback from inside read_start", what);
    CHECK(req->status == 0, "%s: req->status %d, status 0", what,
          req->status);
    CHECK(!k->close_cb, "%s: batch after the cursor's close callback", what);
    CHECK(n >= 1, "%s: status 0 with %zu rows", what, n);
    CHECK(req->cursor == k->h, "%s: req->cursor is not the cursor", what);
    if (lim && n > lim)
      fail("%s: %zu rows, limit %zu (max_rows %zu, batch_rows %zu, a "
           "stopped read's %ld)", what, n, lim, r->read_rows, k->batch_rows,
           r->batches == 0 ? r->first_limit : -1L);
    if (k->multi) fail("%s: rows after a result's only row", what);
    if (k->verify && n > 0 &&
        check_numbers(req->batch, &k->next, k->hi, what) != 0)
      k->verify = 0;
    r->batches++;
    note("  -> read #%llu: batch %ld, %zu rows, next id %lld",
         (unsigned long long)r->seq, r->batches, n, (long long)k->next);
    read_behave(r, k);
    return;
  }
  /* The last callback: the read is over. */
  if (arrive(r, status, "read end") != 0) return;
  stats.read_ends++;
  r->reading = 0;
  k->read = NULL;
  note_given_up(r, status);
  check_status(r, status);
  if (status == UV_EOF) {
    CHECK(req->batch == NULL, "%s: UV_EOF with a batch", what);
    if (k->verify)
      CHECK(k->next == k->hi + 1, "%s: UV_EOF at id %lld, last id %lld",
            what, (long long)k->next, (long long)k->hi);
  } else {
    k->verify = 0;
    if (status == UV_ECANCELED || status == UV_ETIMEDOUT) k->interrupted = 1;
  }
  if (r->action == A_CLOSE_CURSOR && !k->closing)
    close_cursor(k, "read ended");
}

/* A cursor closing (its handle lives until its close callback): read_start
 * is UVODBC_ECLOSED, read_stop 0. */
static void read_closing(uint64_t w) {
  static uvodbc_req_t probe;
  int i, err;
  for (i = 0; i < MAX_CURSORS; i++) {
    cur_rec* k = cursors[(w + (uint64_t)i) % MAX_CURSORS];
    if (k == NULL || !k->closing || k->close_cb) continue;
    err = uvodbc_cursor_read_start(k->h, &probe, 0, on_never);
    note("read_start closing cursor %d -> %s", k->id, uvodbc_err_name(err));
    CHECK(err == UVODBC_ECLOSED, "read_start of closing cursor %d: %s",
          k->id, uvodbc_err_name(err));
    in_lib_call++;
    err = uvodbc_cursor_read_stop(k->h);
    in_lib_call--;
    CHECK(err == 0, "read_stop of closing cursor %d: %s", k->id,
          uvodbc_err_name(err));
    return;
  }
}

static void op_read(const uint64_t* w) {
  static const size_t rows[] = {0, 0, 1, 2, 3, 7, 50, 1000};
  cur_rec* k = pick_cursor(w[0]);
  rq* r;
  if (w[1] % 16 == 0) {
    read_closing(w[0]);
    return;
  }
  if (k == NULL) return;
  /* The stopped read's request again, or a new one (never a request that
   * is still reading: read_start must refuse it untouched). */
  if ((w[2] >> 8) % 2 == 0 && k->stopped && !k->stopped->reading &&
      k->restart_rq == NULL) {
    r = k->stopped;
  } else {
    r = new_rq(K_READ);
  }
  r->action = (w[3] % 6 == 0) ? A_CLOSE_CURSOR : A_NONE;
  read_start(r, k, rows[w[2] % 8], "op");
}

/* read_stop from outside a callback; on a cursor not reading, a no-op. */
static void op_read_stop(const uint64_t* w) {
  int i, n = 0;
  cur_rec* live[MAX_CURSORS];
  cur_rec* k;
  rq* r;
  if (disabled("read")) return;
  for (i = 0; i < MAX_CURSORS; i++)
    if (cursors[i] && !cursors[i]->closing && cursors[i]->read)
      live[n++] = cursors[i];
  k = n && w[1] % 8 ? live[w[0] % (uint64_t)n] : pick_cursor(w[0]);
  if (k == NULL) return;
  r = k->read;
  read_stop(k, "op");
  if (r != NULL && w[2] % 3 == 0) restart_later(k, r);
}

/* ------------------------------------------------------------------------ */
/* Prepared statements */

static void on_prepared_close(uvodbc_prepared_t* h) {
  prep_rec* p = uvodbc_prepared_get_data(h);
  int i;
  CHECK(p != NULL && p->h == h, "prepared close callback with foreign data");
  CHECK(p->close_cb == 0, "prepared %d: second close callback", p->id);
  CHECK(p->pending == 0, "prepared %d: close callback before %d callbacks",
        p->id, p->pending);
  p->close_cb++;
  for (i = 0; i < MAX_PREPARED; i++)
    if (prepareds[i] == p) prepareds[i] = NULL;
}

static void close_prepared(prep_rec* p, const char* why) {
  int err;
  if (p->closing) return;
  note("prepared_close %d (%s)", p->id, why);
  err = uvodbc_prepared_close(p->h, on_prepared_close);
  if (err == 0) {
    p->closing = 1;
    return;
  }
  CHECK(err == UV_EBUSY && (p->pending || p->cursor_open),
        "prepared_close %d: %s (pending %d, cursor %d)", p->id,
        uvodbc_err_name(err), p->pending, p->cursor_open);
}

/* ------------------------------------------------------------------------ */
/* Pools */

static void on_setup_query(uvodbc_req_t* req, int status) {
  uvodbc_pool_setup_t* setup = req->data;
  pool_rec* p = uvodbc_pool_get_data(setup->pool);
  int err;
  uvodbc_req_cleanup(req);
  p->setups--;
  err = uvodbc_pool_setup_done(setup, status == 0 ? 0 : status);
  CHECK(err == 0, "pool_setup_done: %s", uvodbc_err_name(err));
}

static void on_setup(uvodbc_pool_setup_t* setup) {
  pool_rec* p = uvodbc_pool_get_data(setup->pool);
  int err;
  CHECK(p != NULL && !p->close_cb, "setup hook after the pool's close cb");
  setup->req.data = setup;
  p->setups++;
  err = uvodbc_conn_query(setup->conn, &setup->req, "SELECT 1", NULL, 0,
                          NULL, on_setup_query);
  if (err != 0) {
    p->setups--;
    CHECK(uvodbc_pool_setup_done(setup, err) == 0, "pool_setup_done failed");
  }
}

static void on_pool_ready(uvodbc_pool_t* h, int status) {
  pool_rec* p = uvodbc_pool_get_data(h);
  CHECK(p->ready_cb == 0, "pool %d: second ready callback", p->id);
  CHECK(!p->close_cb, "pool %d: ready callback after close", p->id);
  CHECK(status == 0 || status == UVODBC_ECLOSED || status == UVODBC_ESQL,
        "pool %d: ready status %s", p->id, uvodbc_err_name(status));
  CHECK(status != UVODBC_ECLOSED || p->closing,
        "pool %d: ready ECLOSED while open", p->id);
  p->ready_cb++;
}

static void on_pool_close(uvodbc_pool_t* h) {
  pool_rec* p = uvodbc_pool_get_data(h);
  size_t i;
  CHECK(p->close_cb == 0, "pool %d: second close callback", p->id);
  CHECK(p->pending == 0, "pool %d: close callback before %d callbacks",
        p->id, p->pending);
  CHECK(p->setups == 0, "pool %d: close callback with %d setups running",
        p->id, p->setups);
  p->close_cb++;
  for (i = 0; i < nconns; i++) {
    conn_rec* c = all_conns[i];
    if (c->pool != p || c->close_cb) continue;
    CHECK(c->pending == 0, "pool %d closed with conn %d's %d callbacks due",
          p->id, c->id, c->pending);
    CHECK(c->gone || p->terminating,
          "pool %d: close callback with conn %d still borrowed", p->id,
          c->id);
    c->close_cb = 1; /* the handle is freed now */
    c->gone = 1;
  }
  for (i = 0; i < NSLOTS; i++)
    if (slots[i] && slots[i]->pool == p) slots[i] = NULL;
  if (pools[p->index] == p) pools[p->index] = NULL;
}

/* ------------------------------------------------------------------------ */
/* Operations */

typedef struct {
  const char* name;
  int weight;
  void (*fn)(const uint64_t* w);
} op_t;

static int slot_of(uint64_t w) { return (int)(w % NSLOTS); }

static uvodbc_exec_options_t exec_opts(const uint64_t* w, rq* r,
                                       int cursor) {
  static const size_t batch[] = {0, 1, 2, 3, 7, 64, 100};
  uvodbc_exec_options_t o;
  uvodbc_exec_options_init(&o);
  o.batch_rows = batch[(w[0] >> 8) % 7];
  if ((w[0] >> 20) % 10 == 0 && !disabled("timeout"))
    o.timeout_ms = 1 + (unsigned)((w[0] >> 24) % 2000);
  r->batch_rows = o.batch_rows;
  r->timeout = o.timeout_ms != 0;
  return o;
}

static action_t pick_action(uint64_t w) {
  static const action_t acts[] = {
      A_NONE,         A_NONE,      A_NONE,      A_NONE,    A_NONE,
      A_NONE,         A_NONE,      A_NONE,      A_NONE,    A_CLOSE_CURSOR,
      A_CLOSE_CURSOR, A_FETCH_ALL, A_FETCH_ALL, A_FETCH_ALL, A_FETCH_ALL,
      A_CLOSE_CONN,   A_RELEASE,   A_RELEASE,   A_CANCEL_OTHER,
      A_CANCEL_OTHER};
  action_t a = acts[w % 20];
  if (a == A_CLOSE_CONN && disabled("close_in_cb")) a = A_NONE;
  if (a == A_CANCEL_OTHER && disabled("cancel")) a = A_NONE;
  if (a == A_RELEASE && disabled("release_in_cb")) a = A_NONE;
  return a;
}

static void range(const uint64_t* w, int64_t* lo, int64_t* hi) {
  static const int64_t lens[] = {0, 1, 2, 5, 17, 64, 100, 333, 1000};
  int64_t len = lens[(w[1] >> 4) % 9];
  *lo = 1 + (int64_t)((w[1] >> 12) % NROWS);
  *hi = *lo + len - 1;
  if (*hi > NROWS) *hi = NROWS;
}

static void op_connect(const uint64_t* w) {
  int slot = slot_of(w[0]);
  rq* r;
  int err;
  if (slot < NPLAIN) {
    conn_rec* c;
    uvodbc_conn_options_t co;
    if (slots[slot] != NULL && !slots[slot]->gone) return;
    c = new_conn(NULL);
    r = new_rq(K_CONNECT);
    r->c = c;
    r->action = (w[2] % 16 == 0) ? A_CLOSE_CONN : A_NONE;
    uvodbc_conn_options_init(&co);
    trace_options(&co);
    starting(r);
    c->opened_seq = r->seq;
    err = started(r, uvodbc_connect(&loop, &r->req, opt.connstr, &co, on_req));
    CHECK(err == 0, "connect: %s", uvodbc_err_name(err));
    if (err != 0) return;
    c->h = r->req.conn;
    uvodbc_conn_set_data(c->h, c);
    c->state = C_OPENING;
    slots[slot] = c;
    stats.conns++;
    note("connect slot %d -> conn %d #%llu", slot, c->id,
         (unsigned long long)r->seq);
  } else {
    pool_rec* p = pools[(slot - NPLAIN) / NBORROW];
    if (p == NULL || slots[slot] != NULL || slot_acquiring[slot]) return;
    r = new_rq(K_ACQUIRE);
    r->pool = p;
    r->slot = slot;
    r->action = (w[2] % 8 == 0) ? A_RELEASE : A_NONE;
    starting(r);
    err = started(r, uvodbc_pool_acquire(p->h, &r->req, on_req));
    CHECK(err == 0 || (err == UVODBC_ECLOSED && p->closing),
          "pool_acquire: %s", uvodbc_err_name(err));
    note("pool_acquire pool %d slot %d #%llu -> %s", p->id, slot,
         (unsigned long long)r->seq, uvodbc_err_name(err));
    if (err == 0) slot_acquiring[slot] = 1;
  }
}

static void op_connect(const uint64_t* w);

static void op_close(const uint64_t* w) {
  int slot = slot_of(w[0]);
  conn_rec* c = slots[slot];
  if (c == NULL || c->gone) return;
  if (c->pool) {
    /* After a terminate, release returns 0 and does nothing (issue 8,
     * defect 4 when it reads a freed connection). */
    if (c->pool->terminating ? !disabled("release_terminated")
                             : c->pending == 0)
      give_back(c, (w[2] & 3) == 0, "op");
  } else {
    close_conn(c, "op");
    slots[slot] = NULL;
  }
}

/* The common start of an operation on a slot's connection. */
static rq* conn_rq(kind_t kind, const uint64_t* w, conn_rec** out) {
  int slot = slot_of(w[0]);
  conn_rec* c = usable(slot);
  rq* r;
  if (c == NULL && (slots[slot] == NULL || slots[slot]->gone)) {
    /* An empty slot: (re)connect it, and the operation queues behind. */
    op_connect(w);
    c = usable(slot);
  }
  *out = c;
  if (c == NULL) return NULL;
  r = new_rq(kind);
  r->c = c;
  r->slot = slot;
  r->action = pick_action(w[3]);
  return r;
}

static void expect_sync(rq* r, int err, const char* call) {
  /* The connection is ours and open (or opening): only 0 is documented. */
  CHECK(err == 0, "%s on conn %d: returned %s", call, r->c ? r->c->id : -1,
        uvodbc_err_name(err));
}

static void op_query(const uint64_t* w) {
  conn_rec* c;
  rq* r = conn_rq(K_QUERY, w, &c);
  uvodbc_exec_options_t o;
  uvodbc_param_t p[2];
  char sql[160];
  int err;
  if (r == NULL) return;
  o = exec_opts(w, r, 0);
  range(w, &r->lo, &r->hi);
  if ((w[2] & 7) == 0) {
    static const int maxes[] = {1, 5, 64, 1000};
    r->max_rows = maxes[(w[2] >> 3) % 4];
    o.max_rows = (size_t)r->max_rows;
  }
  starting(r);
  if (w[2] & 16) {
    p[0] = uvodbc_param_int64(r->lo);
    p[1] = uvodbc_param_int64(r->hi);
    err = uvodbc_conn_query(c->h, &r->req, select_range_sql(), p, 2, &o,
                            on_req);
  } else {
    snprintf(sql, sizeof(sql),
             "SELECT id, v, s FROM chaos_n WHERE id BETWEEN %lld AND %lld "
             "ORDER BY id",
             (long long)r->lo, (long long)r->hi);
    err = uvodbc_conn_query(c->h, &r->req, sql, NULL, 0, &o, on_req);
  }
  started(r, err);
  note("query conn %d [%lld..%lld] max %d timeout %u #%llu", c->id,
       (long long)r->lo, (long long)r->hi, r->max_rows, o.timeout_ms,
       (unsigned long long)r->seq);
  expect_sync(r, err, "conn_query");
}

static const char* sleep_sql(double seconds) {
  static char sql[256];
  switch (opt.driver) {
    case DRV_PG:
      snprintf(sql, sizeof(sql), "SELECT pg_sleep(%.3f)", seconds);
      break;
    case DRV_MARIADB:
      snprintf(sql, sizeof(sql), "SELECT SLEEP(%.3f)", seconds);
      break;
    default:
      snprintf(sql, sizeof(sql),
               "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM "
               "c WHERE x < %.0f) SELECT max(x) FROM c",
               seconds * 1000000.0);
      break;
  }
  return sql;
}

static void op_exec(const uint64_t* w) {
  conn_rec* c;
  rq* r = conn_rq(K_EXEC, w, &c);
  uvodbc_exec_options_t o;
  uvodbc_param_t p[2];
  int err;
  if (r == NULL) return;
  o = exec_opts(w, r, 1);
  range(w, &r->lo, &r->hi);
  r->result_cursor = 1;
  starting(r);
  if (opt.driver == DRV_PG && (w[2] & 7) == 0) {
    r->multi = 1;
    err = uvodbc_conn_exec(c->h, &r->req, "SELECT 1 AS a; SELECT 2 AS b",
                           NULL, 0, &o, on_req);
  } else {
    p[0] = uvodbc_param_int64(r->lo);
    p[1] = uvodbc_param_int64(r->hi);
    err = uvodbc_conn_exec(c->h, &r->req, select_range_sql(), p, 2, &o,
                           on_req);
  }
  started(r, err);
  note("exec conn %d [%lld..%lld]%s batch %zu timeout %u act %d "
       "#%llu",
       c->id, (long long)r->lo, (long long)r->hi, r->multi ? " multi" : "",
       o.batch_rows, o.timeout_ms, r->action,
       (unsigned long long)r->seq);
  expect_sync(r, err, "conn_exec");
}

static void op_sleep(const uint64_t* w) {
  conn_rec* c;
  rq* r = conn_rq(K_SLEEP, w, &c);
  uvodbc_exec_options_t o;
  double s = 0.01 + (double)(w[1] % 300) / 1000.0;
  int err;
  if (r == NULL) return;
  uvodbc_exec_options_init(&o);
  o.timeout_ms = 1 + (unsigned)(w[2] % 300);
  r->timeout = 1;
  r->action = A_NONE;
  starting(r);
  if (w[2] & 0x10000)
    err = uvodbc_conn_exec(c->h, &r->req, sleep_sql(s), NULL, 0, &o, on_req);
  else {
    r->kind = K_SLEEP;
    err = uvodbc_conn_query(c->h, &r->req, sleep_sql(s), NULL, 0, &o, on_req);
  }
  started(r, err);
  note("sleep conn %d %.3f s timeout %u #%llu", c->id, s, o.timeout_ms,
       (unsigned long long)r->seq);
  expect_sync(r, err, "sleep");
}

static void op_bad(const uint64_t* w) {
  conn_rec* c;
  rq* r = conn_rq(K_BAD, w, &c);
  int err;
  if (r == NULL) return;
  r->must_fail = 1;
  r->may_fail = 1;
  starting(r);
  err = started(r, uvodbc_conn_exec(c->h, &r->req,
                                    "SELECT x FROM chaos_no_such_table",
                                    NULL, 0, NULL, on_req));
  note("bad_sql conn %d #%llu", c->id, (unsigned long long)r->seq);
  expect_sync(r, err, "conn_exec(bad)");
  /* PostgreSQL: an error inside a transaction aborts it. */
  c->txn_risk |= opt.driver == DRV_PG;
}

static cur_rec* pick_cursor(uint64_t w) {
  int i, n = 0;
  cur_rec* live[MAX_CURSORS];
  for (i = 0; i < MAX_CURSORS; i++)
    if (cursors[i] && !cursors[i]->closing) live[n++] = cursors[i];
  return n ? live[w % (uint64_t)n] : NULL;
}

/* A fetch or read just started on `k` gets what a stopped read had in
 * flight first. */
static void take_carry(rq* r, cur_rec* k) {
  r->first_limit = -1;
  if (!k->carry) return;
  k->carry = 0;
  if (r->kind == K_FETCH) stats.read_takeovers++;
  r->first_limit = (long)k->carry_rows;
  if (k->carry_cancel) r->cancel_tried = 1;
}

static void start_fetch(rq* r, cur_rec* k, size_t max_rows) {
  int err;
  r->kind = K_FETCH;
  r->cur = k;
  r->c = k->c;
  r->prep = NULL;
  r->max_rows = (int)max_rows;
  r->timeout = k->timeout;
  starting(r);
  err = started(r, uvodbc_cursor_fetch(k->h, &r->req, max_rows, on_req));
  if (err == 0) take_carry(r, k);
  if (err != 0) {
    /* Documented: ECLOSED once the statement is detached. */
    CHECK(err == UVODBC_ECLOSED && detached_since(k->c, k->created_seq),
          "cursor_fetch %d in a loop: %s", k->id, uvodbc_err_name(err));
    close_cursor(k, "fetch loop refused");
  }
}

static void op_fetch(const uint64_t* w) {
  cur_rec* k = pick_cursor(w[0]);
  rq* r;
  size_t max_rows = 0;
  int err, reading;
  if (k == NULL) return;
  r = new_rq(K_FETCH);
  r->cur = k;
  r->c = k->c;
  r->action = (w[3] % 5 == 0) ? A_FETCH_ALL
              : (w[3] % 5 == 1) ? A_CLOSE_CURSOR
                                : A_NONE;
  if (w[2] & 1) max_rows = 1 + (size_t)(w[2] >> 4) % 50;
  r->max_rows = (int)max_rows;
  r->timeout = k->timeout;
  reading = k->read != NULL;
  starting(r);
  err = started(r, uvodbc_cursor_fetch(k->h, &r->req, max_rows, on_req));
  note("fetch cursor %d (conn %d) max %zu%s -> %s #%llu", k->id, k->c->id,
       max_rows, reading ? " reading" : "", uvodbc_err_name(err),
       (unsigned long long)r->seq);
  if (err == 0) take_carry(r, k);
  if (reading)
    CHECK(err == UV_EBUSY || (err == UVODBC_ECLOSED &&
                              detached_since(k->c, k->created_seq)),
          "cursor_fetch %d while reading: %s, want UV_EBUSY", k->id,
          uvodbc_err_name(err));
  if (err == UV_EBUSY)
    CHECK(k->pending > 0, "cursor_fetch %d: UV_EBUSY with nothing pending",
          k->id);
  else if (err == UVODBC_ECLOSED)
    CHECK(detached_since(k->c, k->created_seq),
          "cursor_fetch %d: UVODBC_ECLOSED on an attached cursor", k->id);
  else
    CHECK(err == 0, "cursor_fetch %d: %s", k->id, uvodbc_err_name(err));
}

static void op_next_result(const uint64_t* w) {
  cur_rec* k = pick_cursor(w[0]);
  rq* r;
  int err, reading;
  if (k == NULL) return;
  r = new_rq(K_NEXT);
  r->cur = k;
  r->c = k->c;
  r->action = (w[3] & 1) ? A_CLOSE_CURSOR : A_NONE;
  r->timeout = k->timeout; /* next_result has the cursor's timeout too */
  reading = k->read != NULL;
  starting(r);
  err = started(r, uvodbc_cursor_next_result(k->h, &r->req, on_req));
  note("next_result cursor %d%s -> %s #%llu", k->id,
       reading ? " reading" : "", uvodbc_err_name(err),
       (unsigned long long)r->seq);
  /* It drops what a stopped read fetched of the old result set. */
  if (err == 0) k->carry = 0;
  if (reading)
    CHECK(err == UV_EBUSY || (err == UVODBC_ECLOSED &&
                              detached_since(k->c, k->created_seq)),
          "next_result %d while reading: %s, want UV_EBUSY", k->id,
          uvodbc_err_name(err));
  if (err == UV_EBUSY)
    CHECK(k->pending > 0, "next_result %d: UV_EBUSY with nothing pending",
          k->id);
  else if (err == UVODBC_ECLOSED)
    CHECK(detached_since(k->c, k->created_seq),
          "next_result %d: UVODBC_ECLOSED on an attached cursor", k->id);
  else
    CHECK(err == 0, "next_result %d: %s", k->id, uvodbc_err_name(err));
}

static void op_cursor_close(const uint64_t* w) {
  cur_rec* k = pick_cursor(w[0]);
  if (k) close_cursor(k, "op");
}

static void op_prepare(const uint64_t* w) {
  conn_rec* c;
  rq* r = conn_rq(K_PREPARE, w, &c);
  int err;
  if (r == NULL) return;
  r->action = A_NONE;
  starting(r);
  err = started(r, uvodbc_conn_prepare(c->h, &r->req, select_range_sql(),
                                       on_req));
  note("prepare conn %d #%llu", c->id, (unsigned long long)r->seq);
  expect_sync(r, err, "conn_prepare");
}

static prep_rec* pick_prepared(uint64_t w) {
  int i, n = 0;
  prep_rec* live[MAX_PREPARED];
  for (i = 0; i < MAX_PREPARED; i++)
    if (prepareds[i] && !prepareds[i]->closing) live[n++] = prepareds[i];
  return n ? live[w % (uint64_t)n] : NULL;
}

static void op_prepared_run(const uint64_t* w) {
  prep_rec* p = pick_prepared(w[0]);
  int query = (w[2] & 1) != 0, err;
  uvodbc_exec_options_t o;
  uvodbc_param_t par[2];
  rq* r;
  if (p == NULL) return;
  r = new_rq(query ? K_PQUERY : K_PEXEC);
  r->prep = p;
  r->c = p->c;
  r->action = pick_action(w[3]);
  o = exec_opts(w, r, !query);
  range(w, &r->lo, &r->hi);
  r->result_cursor = !query;
  par[0] = uvodbc_param_int64(r->lo);
  par[1] = uvodbc_param_int64(r->hi);
  starting(r);
  err = query ? uvodbc_prepared_query(p->h, &r->req, par, 2, &o, on_req)
              : uvodbc_prepared_exec(p->h, &r->req, par, 2, &o, on_req);
  started(r, err);
  note("prepared_%s %d (conn %d) [%lld..%lld] -> %s #%llu",
       query ? "query" : "exec", p->id, p->c->id, (long long)r->lo,
       (long long)r->hi, uvodbc_err_name(err), (unsigned long long)r->seq);
  if (err == UV_EBUSY)
    CHECK(p->pending || p->cursor_open,
          "prepared %d: UV_EBUSY with nothing pending", p->id);
  else if (err == UVODBC_ECLOSED)
    CHECK(detached_since(p->c, p->created_seq),
          "prepared %d: UVODBC_ECLOSED while attached", p->id);
  else
    CHECK(err == 0, "prepared run %d: %s", p->id, uvodbc_err_name(err));
}

static void op_prepared_close(const uint64_t* w) {
  prep_rec* p = pick_prepared(w[0]);
  if (p) close_prepared(p, "op");
}

static void bulk_rows(rq* r, const uint64_t* w, int64_t n) {
  r->nrows = n;
  (void)w;
}

static const char* insert_sql(void) {
  return "INSERT INTO chaos_w (k, id, v, s) VALUES (?, ?, ?, ?)";
}

static const char* count_sql(void) {
  return "SELECT COUNT(*) FROM chaos_w WHERE k = ?";
}

/* A count of k's rows, checked against `expect` if deps succeeded. */
static rq* start_count(conn_rec* c, int64_t k, int64_t expect, rq* d0,
                       rq* d1, rq* d2, const char* what) {
  rq* r = new_rq(K_COUNT);
  uvodbc_param_t p = uvodbc_param_int64(k);
  int err;
  r->c = c;
  r->expect = expect;
  r->deps[0] = d0;
  r->deps[1] = d1;
  r->deps[2] = d2;
  r->what = what;
  r->may_fail = opt.driver == DRV_MARIADB; /* SERIALIZABLE: lock waits */
  starting(r);
  err = started(r, uvodbc_conn_query(c->h, &r->req, count_sql(), &p, 1, NULL,
                                     on_req));
  expect_sync(r, err, "count");
  return r;
}

/* Rows of a write: (k, i, number_v(i), 'w<k>-<i>'). */
static void op_bulk(const uint64_t* w) {
  conn_rec* c;
  rq* r = conn_rq(K_BULK, w, &c);
  int64_t n = 1 + (int64_t)(w[1] % 40), i;
  int columns = (w[2] & 1) != 0, err;
  uvodbc_exec_options_t o;
  uint64_t k;
  if (r == NULL) return;
  uvodbc_exec_options_init(&o);
  o.batch_rows = (size_t)((w[2] >> 4) % 9); /* 0: the default */
  r->may_fail = opt.driver != DRV_PG;
  r->action = r->action == A_CLOSE_CONN ? A_CLOSE_CONN : A_NONE;
  bulk_rows(r, w, n);
  starting(r);
  k = r->seq;
  if (!columns) {
    uvodbc_param_t* rows = xcalloc((size_t)n * 4, sizeof(*rows));
    char(*texts)[32] = xcalloc((size_t)n, sizeof(*texts));
    for (i = 0; i < n; i++) {
      snprintf(texts[i], sizeof(texts[i]), "w%llu-%lld", (unsigned long long)k,
               (long long)i);
      rows[i * 4] = uvodbc_param_int64((int64_t)k);
      rows[i * 4 + 1] = uvodbc_param_int64(i);
      rows[i * 4 + 2] = (w[2] & 2) && i % 3 == 0
                            ? uvodbc_param_null()
                            : uvodbc_param_int64(number_v(i));
      rows[i * 4 + 3] = uvodbc_param_text(texts[i], SIZE_MAX);
    }
    /* A column mixing INT64 and NULL is fine; copied before return. */
    err = uvodbc_conn_bulk(c->h, &r->req, insert_sql(), rows, (size_t)n, 4,
                           &o, on_req);
    free(rows);
    free(texts);
  } else {
    int64_t* ks = xcalloc((size_t)n, sizeof(int64_t));
    int64_t* ids = xcalloc((size_t)n, sizeof(int64_t));
    char** ss = xcalloc((size_t)n, sizeof(char*));
    char* text = xcalloc((size_t)n, 32);
    uvodbc_param_column_t cols[4];
    r->kind = K_BULKC;
    for (i = 0; i < n; i++) {
      ks[i] = (int64_t)k;
      ids[i] = i;
      ss[i] = text + 32 * i;
      snprintf(ss[i], 32, "w%llu-%lld", (unsigned long long)k, (long long)i);
    }
    cols[0] = (uvodbc_param_column_t){UVODBC_TYPE_INT64, ks, NULL, NULL};
    cols[1] = (uvodbc_param_column_t){UVODBC_TYPE_INT64, ids, NULL, NULL};
    cols[2] = (uvodbc_param_column_t){UVODBC_TYPE_INT64, ids, NULL, NULL};
    cols[3] = (uvodbc_param_column_t){UVODBC_TYPE_TEXT, ss, NULL, NULL};
    r->owned[0] = ks;
    r->owned[1] = ids;
    r->owned[2] = ss;
    r->owned[3] = text;
    err = uvodbc_conn_bulk_columns(c->h, &r->req, insert_sql(), cols, 4,
                                   (size_t)n, &o, on_req);
    if (err != 0)
      for (i = 0; i < 4; i++) {
        free(r->owned[i]);
        r->owned[i] = NULL;
      }
  }
  started(r, err);
  note("bulk%s conn %d %lld rows k %llu #%llu", columns ? "_columns" : "",
       c->id, (long long)n, (unsigned long long)k,
       (unsigned long long)r->seq);
  expect_sync(r, err, "conn_bulk");
  if (err == 0 && (w[4] & 1)) start_count(c, (int64_t)k, n, r, NULL, NULL,
                                          "after bulk");
}

static void op_write(const uint64_t* w) {
  conn_rec* c;
  rq* r = conn_rq(K_WRITE, w, &c);
  uvodbc_param_t p[4];
  int err;
  uint64_t k;
  if (r == NULL) return;
  r->nrows = 1;
  /* SQLite: the database lock; MariaDB: a lock wait (SERIALIZABLE reads
   * lock ranges of the index on k). */
  r->may_fail = opt.driver != DRV_PG;
  starting(r);
  k = r->seq;
  p[0] = uvodbc_param_int64((int64_t)k);
  p[1] = uvodbc_param_int64(1);
  p[2] = uvodbc_param_int64(number_v(1));
  p[3] = uvodbc_param_text("one", SIZE_MAX);
  err = started(r, uvodbc_conn_exec(c->h, &r->req, insert_sql(), p, 4, NULL,
                                    on_req));
  note("write conn %d k %llu #%llu", c->id, (unsigned long long)k,
       (unsigned long long)r->seq);
  expect_sync(r, err, "conn_exec(insert)");
  if (err == 0 && (w[4] & 1))
    start_count(c, (int64_t)k, 1, r, NULL, NULL, "after write");
}

static void op_call(const uint64_t* w) {
  conn_rec* c;
  rq* r = conn_rq(K_CALL, w, &c);
  uvodbc_param_t p[2];
  int err;
  if (r == NULL) return;
  r->lo = (int64_t)(w[1] % 1000);
  r->hi = (int64_t)(w[2] % 1000);
  p[0] = uvodbc_param_int64(r->lo);
  if (opt.driver == DRV_SQLITE)
    p[1] = uvodbc_param_int64(r->hi);
  else
    p[1] = uvodbc_param_inout(uvodbc_param_int64(r->hi), 0);
  starting(r);
  err = started(r, uvodbc_conn_call(
                       c->h, &r->req,
                       pick("SELECT ? + ?", "CALL chaos_p(?, ?)",
                            "{CALL chaos_p(?, ?)}"),
                       p, 2, NULL, on_req));
  note("call conn %d %lld %lld #%llu", c->id, (long long)r->lo,
       (long long)r->hi, (unsigned long long)r->seq);
  expect_sync(r, err, "conn_call");
}

static void op_catalog(const uint64_t* w) {
  static const uvodbc_catalog_t kinds[] = {
      UVODBC_CATALOG_TABLES, UVODBC_CATALOG_COLUMNS,
      UVODBC_CATALOG_PRIMARY_KEYS, UVODBC_CATALOG_STATISTICS,
      UVODBC_CATALOG_TYPE_INFO};
  conn_rec* c;
  rq* r = conn_rq(K_CATALOG, w, &c);
  uvodbc_catalog_args_t a;
  uvodbc_exec_options_t o;
  uvodbc_catalog_t kind = kinds[w[1] % 5];
  int err;
  if (r == NULL) return;
  memset(&a, 0, sizeof(a));
  a.table = "chaos_n";
  o = exec_opts(w, r, 1);
  r->result_cursor = 1;
  r->may_fail = 1; /* drivers differ on which catalog calls they support */
  starting(r);
  err = started(r, uvodbc_conn_catalog(c->h, &r->req, kind, &a, &o, on_req));
  note("catalog %d conn %d #%llu", (int)kind, c->id,
       (unsigned long long)r->seq);
  expect_sync(r, err, "conn_catalog");
}

static void op_info(const uint64_t* w) {
  conn_rec* c;
  rq* r = conn_rq(K_INFO, w, &c);
  int err;
  if (r == NULL) return;
  starting(r);
  err = started(r, uvodbc_conn_get_info(c->h, &r->req, on_req));
  note("info conn %d #%llu", c->id, (unsigned long long)r->seq);
  expect_sync(r, err, "conn_get_info");
}

static rq* txn_step(conn_rec* c, int which, const char* what, int restores) {
  rq* r = new_rq(K_TXN);
  int err = 0;
  r->c = c;
  r->what = what;
  r->restores = restores;
  r->may_fail = 1;
  starting(r);
  /* Once starting() numbered it.  A commit closes cursors only when it
   * fails (lib/txn.c), a change of autocommit never. */
  if (which == 1 || which == 2) c->txn_end_seq = r->seq;
  switch (which) {
    case 0: err = uvodbc_conn_begin(c->h, &r->req, on_req); break;
    case 1: err = uvodbc_conn_commit(c->h, &r->req, on_req); break;
    case 2: err = uvodbc_conn_rollback(c->h, &r->req, on_req); break;
    case 3: err = uvodbc_conn_set_autocommit(c->h, &r->req, 0, on_req); break;
    case 4: err = uvodbc_conn_set_autocommit(c->h, &r->req, 1, on_req); break;
    default: break;
  }
  started(r, err);
  expect_sync(r, err, what);
  return r;
}

/* begin (or autocommit off), insert, count, commit / rollback (or
 * autocommit on), count: the counts are checked when the steps before
 * them succeeded. */
static void op_txn(const uint64_t* w) {
  int slot = slot_of(w[0]);
  conn_rec* c = usable(slot);
  rq *b, *ins, *end;
  uvodbc_param_t p[4];
  int commit = (w[1] & 1) != 0, ac = (w[1] & 2) != 0, err;
  uint64_t k;
  if (c == NULL) return;
  b = txn_step(c, ac ? 3 : 0, ac ? "autocommit off" : "begin", 0);
  ins = new_rq(K_WRITE);
  ins->c = c;
  ins->nrows = 1;
  ins->may_fail = 1;
  starting(ins);
  k = ins->seq;
  p[0] = uvodbc_param_int64((int64_t)k);
  p[1] = uvodbc_param_int64(2);
  p[2] = uvodbc_param_int64(number_v(2));
  p[3] = uvodbc_param_text("txn", SIZE_MAX);
  err = started(ins, uvodbc_conn_exec(c->h, &ins->req, insert_sql(), p, 4,
                                      NULL, on_req));
  expect_sync(ins, err, "txn insert");
  start_count(c, (int64_t)k, 1, b, ins, NULL, "inside txn")->may_fail = 1;
  if (ac && commit)
    end = txn_step(c, 4, "autocommit on", 1);
  else
    end = txn_step(c, commit ? 1 : 2, commit ? "commit" : "rollback", 1);
  start_count(c, (int64_t)k, commit ? 1 : 0, b, ins, end,
              commit ? "after commit" : "after rollback");
  if (ac && !commit) txn_step(c, 4, "autocommit on", 1);
  note("txn conn %d %s%s k %llu", c->id, ac ? "autocommit " : "",
       commit ? "commit" : "rollback", (unsigned long long)k);
}

static void op_isolation(const uint64_t* w) {
  conn_rec* c;
  rq* r = conn_rq(K_TXN, w, &c);
  uvodbc_isolation_t lvl = (uvodbc_isolation_t)(1 + w[1] % 4);
  int err;
  if (r == NULL) return;
  r->may_fail = 1;
  r->what = "isolation";
  starting(r);
  err = started(r, uvodbc_conn_set_isolation(c->h, &r->req, lvl, on_req));
  note("isolation conn %d %d #%llu", c->id, (int)lvl,
       (unsigned long long)r->seq);
  expect_sync(r, err, "set_isolation");
}

static void op_ping(const uint64_t* w) {
  conn_rec* c;
  rq* r = conn_rq(K_PING, w, &c);
  int err;
  if (r == NULL) return;
  starting(r);
  err = started(r, uvodbc_conn_ping(c->h, &r->req, on_req));
  note("ping conn %d #%llu", c->id, (unsigned long long)r->seq);
  expect_sync(r, err, "conn_ping");
}

static void op_reset(const uint64_t* w) {
  conn_rec* c;
  rq* r = conn_rq(K_RESET, w, &c);
  int err;
  if (r == NULL) return;
  if (c->pool) r->action = A_NONE;
  starting(r);
  c->detach_seq = r->seq;
  err = started(r, uvodbc_conn_reset(c->h, &r->req, on_req));
  note("reset conn %d #%llu", c->id, (unsigned long long)r->seq);
  expect_sync(r, err, "conn_reset");
}

/* Cancels a pending request picked by `pickw` (or, now and then, one that
 * is not pending: UV_EINVAL). */
static void cancel_some(uint64_t pickw, const char* why) {
  static uvodbc_req_t never_started; /* zeroed */
  rq* r;
  int err;
  if (ninflight == 0 || pickw % 16 == 0) {
    err = uvodbc_req_cancel(&never_started);
    CHECK(err == UV_EINVAL, "req_cancel of a request never started: %s",
          uvodbc_err_name(err));
    if (nall > 0) {
      r = all_rqs[(pickw >> 8) % nall];
      if (r->inflight_idx < 0 && r->starts > 0 && r->kind != K_ACQUIRE &&
          r->kind != K_POOL_EXEC && r->kind != K_POOL_QUERY) {
        err = uvodbc_req_cancel(&r->req);
        CHECK(err == UV_EINVAL, "req_cancel of finished %s #%llu: %s",
              kind_names[r->kind], (unsigned long long)r->seq,
              uvodbc_err_name(err));
      }
    }
    return;
  }
  r = inflight[(pickw >> 4) % (uint64_t)ninflight];
  if (r->kind == K_ACQUIRE || r->kind == K_POOL_EXEC ||
      r->kind == K_POOL_QUERY)
    err = uvodbc_pool_cancel(r->pool->h, &r->req);
  else
    err = uvodbc_req_cancel(&r->req);
  note("cancel %s #%llu (%s) -> %s", kind_names[r->kind],
       (unsigned long long)r->seq, why, uvodbc_err_name(err));
  CHECK(err == 0 || err == UV_EINVAL || err == UV_EBUSY,
        "cancel %s #%llu: %s", kind_names[r->kind],
        (unsigned long long)r->seq, uvodbc_err_name(err));
  if (err == 0) r->cancel_tried = 1;
}

static void op_cancel(const uint64_t* w) { cancel_some(w[0], "op"); }

static void op_pool_create(const uint64_t* w) {
  int i = (int)(w[0] % NPOOLS), err;
  uvodbc_pool_options_t po;
  pool_rec* p;
  if (pools[i] != NULL) return;
  uvodbc_pool_options_init(&po);
  trace_options(&po.conn);
  po.max_size = 2 + (unsigned)(w[1] % 2);
  po.min_size = (unsigned)((w[1] >> 4) % 2);
  po.acquire_timeout_ms = (w[1] >> 8) % 3 == 0 ? 300 : 5000;
  po.validate_after_idle_ms = (w[1] >> 12) % 2 ? 1 : 0;
  po.max_lifetime_ms = (w[1] >> 16) % 4 == 0 ? 200 : 0;
  po.idle_timeout_ms = (w[1] >> 20) % 4 == 0 ? 100 : 0;
  if ((w[1] >> 24) % 3 == 0) po.setup = on_setup;
  p = new_record(sizeof(*p));
  p->id = ++next_id;
  p->index = i;
  all_pools[npools_all++ % 4096] = p;
  err = uvodbc_pool_create(&loop, &p->h, opt.connstr, &po, on_pool_ready);
  note("pool_create %d (index %d, max %u min %u%s) -> %s", p->id, i,
       po.max_size, po.min_size, po.setup ? " setup" : "",
       uvodbc_err_name(err));
  CHECK(err == 0, "pool_create: %s", uvodbc_err_name(err));
  if (err != 0) return;
  uvodbc_pool_set_data(p->h, p);
  pools[i] = p;
  stats.pools++;
}

static void op_pool_stmt(const uint64_t* w) {
  pool_rec* p = pools[w[0] % NPOOLS];
  int query = (w[2] & 1) != 0, err;
  uvodbc_exec_options_t o;
  uvodbc_param_t par[4];
  rq* r;
  if (p == NULL || p->closing) return;
  r = new_rq(query ? K_POOL_QUERY : K_POOL_EXEC);
  r->pool = p;
  o = exec_opts(w, r, 0);
  starting(r);
  if (query) {
    range(w, &r->lo, &r->hi);
    par[0] = uvodbc_param_int64(r->lo);
    par[1] = uvodbc_param_int64(r->hi);
    err = uvodbc_pool_query(p->h, &r->req, select_range_sql(), par, 2, &o,
                            on_req);
  } else {
    r->nrows = 1;
    r->may_fail = opt.driver != DRV_PG;
    par[0] = uvodbc_param_int64((int64_t)r->seq);
    par[1] = uvodbc_param_int64(3);
    par[2] = uvodbc_param_int64(number_v(3));
    par[3] = uvodbc_param_text("pool", SIZE_MAX);
    err = uvodbc_pool_exec(p->h, &r->req, insert_sql(), par, 4, &o, on_req);
  }
  started(r, err);
  note("pool_%s pool %d #%llu -> %s", query ? "query" : "exec", p->id,
       (unsigned long long)r->seq, uvodbc_err_name(err));
  CHECK(err == 0, "pool_%s: %s", query ? "query" : "exec",
        uvodbc_err_name(err));
}

static void op_pool_close(const uint64_t* w) {
  pool_rec* p = pools[w[0] % NPOOLS];
  int terminate = (w[1] & 1) != 0 && !disabled("pool_terminate"), err, i;
  if (p == NULL || (p->closing && !terminate) || p->terminating) return;
  if (terminate) {
    p->terminating = 1;
    p->terminate_seq = ++seq;
    for (i = 0; i < NSLOTS; i++)
      if (slots[i] && slots[i]->pool == p) {
        slots[i]->closing = 1;
        slots[i]->detach_seq = p->terminate_seq;
      }
  }
  p->closing = 1;
  err = terminate ? uvodbc_pool_terminate(p->h, on_pool_close)
                  : uvodbc_pool_close(p->h, on_pool_close);
  note("pool_%s %d -> %s", terminate ? "terminate" : "close", p->id,
       uvodbc_err_name(err));
  CHECK(err == 0, "pool close: %s", uvodbc_err_name(err));
  /* Graceful: our borrowed connections must come back; give back the
   * idle ones now (the rest when their work ends, in the end phase). */
}

static void op_pool_stats(const uint64_t* w) {
  pool_rec* p = pools[w[0] % NPOOLS];
  uvodbc_pool_stats_t st;
  if (p == NULL) return;
  CHECK(uvodbc_pool_stats(p->h, &st) == 0, "pool_stats failed");
  CHECK(st.size == st.idle + st.in_use, "pool %d: size %u != %u + %u", p->id,
        st.size, st.idle, st.in_use);
  CHECK(st.wait_p50_us <= st.wait_p99_us && st.wait_p99_us <= st.wait_max_us,
        "pool %d: wait p50 %llu, p99 %llu, max %llu out of order", p->id,
        (unsigned long long)st.wait_p50_us,
        (unsigned long long)st.wait_p99_us,
        (unsigned long long)st.wait_max_us);
  CHECK(st.validate_max_us <= st.validate_us_total &&
            st.reset_max_us <= st.reset_us_total,
        "pool %d: a ping or reset max above its total", p->id);
}

static const op_t ops[] = {
    {"connect", 6, op_connect},
    {"close", 2, op_close},
    {"query", 12, op_query},
    {"exec", 10, op_exec},
    {"fetch", 14, op_fetch},
    {"read", 12, op_read},
    {"read_stop", 2, op_read_stop},
    {"next_result", 3, op_next_result},
    {"cursor_close", 4, op_cursor_close},
    {"prepare", 3, op_prepare},
    {"prepared_run", 6, op_prepared_run},
    {"prepared_close", 2, op_prepared_close},
    {"bulk", 4, op_bulk},
    {"write", 3, op_write},
    {"call", 3, op_call},
    {"catalog", 2, op_catalog},
    {"info", 1, op_info},
    {"txn", 3, op_txn},
    {"isolation", 1, op_isolation},
    {"ping", 2, op_ping},
    {"reset", 2, op_reset},
    {"cancel", 6, op_cancel},
    {"sleep", 4, op_sleep},
    {"bad_sql", 1, op_bad},
    {"pool_create", 2, op_pool_create},
    {"pool_stmt", 6, op_pool_stmt},
    {"pool_close", 1, op_pool_close},
    {"pool_stats", 1, op_pool_stats},
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

/* ------------------------------------------------------------------------ */
/* Setup: the tables, synchronously */

typedef struct {
  int done, status;
  int64_t value;
} sync_t;

static void on_sync(uvodbc_req_t* req, int status) {
  sync_t* s = req->data;
  s->done++;
  s->status = status;
  if (status != 0) print_diags(req);
  if (status == 0 && req->type == UVODBC_REQ_QUERY && req->batch &&
      uvodbc_batch_nrows(req->batch) > 0)
    get_int(req->batch, 0, 0, &s->value);
  if (req->cursor) uvodbc_cursor_close(req->cursor, NULL);
  uvodbc_req_cleanup(req);
}

static int sync_run(uvodbc_conn_t* conn, const char* sql, int query,
                    int64_t* value) {
  uvodbc_req_t req;
  sync_t s = {0, 0, 0};
  int err;
  req.data = &s;
  err = query ? uvodbc_conn_query(conn, &req, sql, NULL, 0, NULL, on_sync)
              : uvodbc_conn_exec(conn, &req, sql, NULL, 0, NULL, on_sync);
  if (err != 0) return err;
  while (!s.done) uv_run(&loop, UV_RUN_ONCE);
  if (s.status != 0) fprintf(stderr, "setup: %s: %s\n", sql,
                             uvodbc_err_name(s.status));
  if (value) *value = s.value;
  return s.status;
}

static void on_sync_close(uvodbc_conn_t* conn) {
  int* done = uvodbc_conn_get_data(conn);
  (*done)++;
}

static int setup_tables(void) {
  uvodbc_req_t req;
  sync_t s = {0, 0, 0};
  int64_t n = 0;
  int closed = 0, rc = 0;
  char sql[1024];
  uvodbc_conn_t* conn;
  req.data = &s;
  if (uvodbc_connect(&loop, &req, opt.connstr, NULL, on_sync) != 0) return -1;
  conn = req.conn;
  while (!s.done) uv_run(&loop, UV_RUN_ONCE);
  if (s.status != 0) {
    fprintf(stderr, "setup: connect failed: %s\n", uvodbc_err_name(s.status));
    rc = -1;
    goto out;
  }
  snprintf(sql, sizeof(sql),
           "INSERT INTO chaos_n (id, v, s) "
           "WITH RECURSIVE d(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM d "
           "WHERE x < 9) "
           "SELECT n, (n * 7919) %% 10007, %s FROM (SELECT a.x + 10 * b.x + "
           "100 * c.x + 1000 * e.x + 1 AS n FROM d a, d b, d c, d e) q "
           "WHERE n <= %d",
           pick("'r' || n", "'r' || n", "CONCAT('r', n)"), NROWS);
  if (sync_run(conn, "DROP TABLE IF EXISTS chaos_n", 0, NULL) ||
      sync_run(conn, "DROP TABLE IF EXISTS chaos_w", 0, NULL) ||
      sync_run(conn,
               "CREATE TABLE chaos_n (id INTEGER PRIMARY KEY, v INTEGER NOT "
               "NULL, s VARCHAR(32) NOT NULL)",
               0, NULL) ||
      sync_run(conn,
               "CREATE TABLE chaos_w (k BIGINT NOT NULL, id INTEGER NOT NULL, "
               "v INTEGER, s VARCHAR(64))",
               0, NULL) ||
      sync_run(conn, "CREATE INDEX chaos_w_k ON chaos_w (k)", 0, NULL) ||
      sync_run(conn, sql, 0, NULL) ||
      sync_run(conn, "SELECT COUNT(*) FROM chaos_n", 1, &n)) {
    rc = -1;
    goto out;
  }
  if (n != NROWS) {
    fprintf(stderr, "setup: chaos_n has %lld rows\n", (long long)n);
    rc = -1;
    goto out;
  }
  if (opt.driver == DRV_PG &&
      sync_run(conn,
               "CREATE OR REPLACE PROCEDURE chaos_p(a integer, INOUT b "
               "integer) LANGUAGE plpgsql AS $$ BEGIN b := a + b; END $$",
               0, NULL))
    rc = -1;
  if (opt.driver == DRV_MARIADB &&
      (sync_run(conn, "DROP PROCEDURE IF EXISTS chaos_p", 0, NULL) ||
       sync_run(conn,
                "CREATE PROCEDURE chaos_p(IN a INT, INOUT b INT) "
                "BEGIN SET b = a + b; END",
                0, NULL)))
    rc = -1;
out:
  uvodbc_conn_set_data(conn, &closed);
  uvodbc_conn_close(conn, on_sync_close);
  while (!closed) uv_run(&loop, UV_RUN_ONCE);
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Watchdog: a run that hangs prints its seed and aborts. */

static uv_thread_t watchdog_thread;
static uv_mutex_t watchdog_mutex;
static uv_cond_t watchdog_cond;
static int watchdog_stop;
static double watchdog_s;

static void watchdog(void* arg) {
  uint64_t deadline = uv_hrtime() + (uint64_t)(watchdog_s * 1e9);
  (void)arg;
  uv_mutex_lock(&watchdog_mutex);
  while (!watchdog_stop) {
    uint64_t now = uv_hrtime();
    if (now >= deadline) {
      fprintf(stderr,
              "CHAOS FAIL (driver %s, seed %llu): hang, no end after %.0f s\n"
              "reproduce: uvodbc-chaos --driver %s --seed %llu --ops %ld\n",
              opt.driver_name, (unsigned long long)opt.seed, watchdog_s,
              opt.driver_name, (unsigned long long)opt.seed, opt.ops);
      abort();
    }
    uv_cond_timedwait(&watchdog_cond, &watchdog_mutex, deadline - now);
  }
  uv_mutex_unlock(&watchdog_mutex);
}

/* ------------------------------------------------------------------------ */
/* The run */

static void pump(uint64_t w) {
  int i;
  switch (w % 8) {
    case 0: case 1: case 2: case 3:
      uv_run(&loop, UV_RUN_NOWAIT);
      break;
    case 4: case 5:
      for (i = 0; i < 3; i++) uv_run(&loop, UV_RUN_NOWAIT);
      break;
    case 6:
      break;
    default:
      uv_run(&loop, UV_RUN_ONCE);
      break;
  }
  while (ninflight > MAX_INFLIGHT) uv_run(&loop, UV_RUN_ONCE);
}

static void drain(void) {
  while (ninflight > 0) uv_run(&loop, UV_RUN_ONCE);
}

static void finish(void) {
  int i, pass;
  size_t j;
  op_index = -1;
  /* From here a failure is reported and the run goes on to its end, so
   * that LeakSanitizer still runs at exit. */
  opt.keep_going = 1;
  note("end: draining %d requests", ninflight);
  drain();
  /* A prepared statement refuses to close while its cursor is open:
   * close cursors, let their callbacks come, and try again. */
  for (pass = 0; pass < 1000; pass++) {
    int left = 0;
    for (i = 0; i < MAX_CURSORS; i++)
      if (cursors[i]) {
        left++;
        if (!cursors[i]->closing) close_cursor(cursors[i], "end");
      }
    for (i = 0; i < MAX_PREPARED; i++)
      if (prepareds[i]) {
        left++;
        if (!prepareds[i]->closing) close_prepared(prepareds[i], "end");
      }
    if (left == 0) break;
    uv_run(&loop, UV_RUN_ONCE);
    drain();
  }
  for (i = 0; i < NSLOTS; i++) {
    conn_rec* c = slots[i];
    if (c == NULL || c->gone) continue;
    if (c->pool)
      give_back(c, 0, "end");
    else
      close_conn(c, "end");
  }
  for (i = 0; i < NPOOLS; i++)
    if (pools[i] && !pools[i]->closing) {
      pools[i]->closing = 1;
      CHECK(uvodbc_pool_close(pools[i]->h, on_pool_close) == 0,
            "pool_close at the end failed");
    }
  /* Every cursor is closing: a restart timer would find it so. */
  for (j = 0; j < ntimers; j++) uv_close(timers[j], NULL);
  uv_run(&loop, UV_RUN_DEFAULT);

  /* Every request called back once per start, every handle closed. */
  for (j = 0; j < nall; j++) {
    rq* r = all_rqs[j];
    CHECK(r->cbs + r->quiet_ends == r->starts,
          "%s #%llu: %d callbacks (%d quiet ends) for %d starts",
          kind_names[r->kind], (unsigned long long)r->seq, r->cbs,
          r->quiet_ends, r->starts);
  }
  for (j = 0; j < nconns; j++)
    CHECK(all_conns[j]->close_cb == 1 || all_conns[j]->h == NULL,
          "conn %d: %d close callbacks", all_conns[j]->id,
          all_conns[j]->close_cb);
  for (i = 0; i < MAX_CURSORS; i++)
    CHECK(cursors[i] == NULL, "cursor %d never closed", cursors[i]->id);
  for (i = 0; i < MAX_PREPARED; i++)
    CHECK(prepareds[i] == NULL,
          "prepared %d never closed (pending %d, cursor %d, closing %d)",
          prepareds[i]->id, prepareds[i]->pending, prepareds[i]->cursor_open,
          prepareds[i]->closing);
  for (i = 0; i < NPOOLS; i++)
    CHECK(pools[i] == NULL, "pool %d never closed", pools[i]->id);
}

static void usage(const char* argv0) {
  fprintf(stderr,
          "usage: %s --driver sqlite|pg|mariadb [--seed N] [--ops N] "
          "[--seconds S] [--no op,op,...] [--only op,op,...] [--threads N] "
          "[--trace] [--keep-going]\n"
          "ops: read timeout cancel close_in_cb release_in_cb "
          "pool_terminate release_terminated open_at_release and:",
          argv0);
  for (size_t i = 0; i < NOPS; i++) fprintf(stderr, " %s", ops[i].name);
  fputc('\n', stderr);
  exit(2);
}

int main(int argc, char** argv) {
  static const char* const envs[] = {"UVODBC_TEST_SQLITE", "UVODBC_TEST_PG",
                                     "UVODBC_TEST_MARIADB"};
  static const char* const names[] = {"sqlite", "pg", "mariadb"};
  int i, total = 0, rc;
  uint64_t t0;
  size_t j;

  opt.driver = -1;
  opt.ops = 3000;
  opt.seconds = 45;
  opt.seed = (uint64_t)time(NULL) ^ ((uint64_t)uv_os_getpid() << 16);
  for (i = 1; i < argc; i++) {
    const char* a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--driver") == 0 && v) {
      for (opt.driver = 2; opt.driver >= 0; opt.driver--)
        if (strcmp(v, names[opt.driver]) == 0) break;
      i++;
    } else if (strcmp(a, "--seed") == 0 && v) {
      opt.seed = strtoull(v, NULL, 0);
      i++;
    } else if (strcmp(a, "--ops") == 0 && v) {
      opt.ops = strtol(v, NULL, 0);
      i++;
    } else if (strcmp(a, "--seconds") == 0 && v) {
      opt.seconds = atof(v);
      i++;
    } else if (strcmp(a, "--no") == 0 && v) {
      size_t len = strlen(opt.no);
      snprintf(opt.no + len, sizeof(opt.no) - len, "%s%s,",
               len ? "" : ",", v);
      i++;
    } else if (strcmp(a, "--only") == 0 && v) {
      snprintf(opt.only, sizeof(opt.only), ",%s,", v);
      i++;
    } else if (strcmp(a, "--threads") == 0 && v) {
      opt.threads = v;
      i++;
    } else if (strcmp(a, "--trace") == 0) {
      opt.trace = 1;
    } else if (strcmp(a, "--keep-going") == 0) {
      opt.keep_going = 1;
    } else {
      usage(argv[0]);
    }
  }
  if (opt.driver < 0) usage(argv[0]);
  opt.driver_name = names[opt.driver];
  opt.connstr = getenv(envs[opt.driver]);
  if (opt.connstr == NULL || *opt.connstr == '\0') {
    fprintf(stderr, "FAIL: %s is not set (tests/servers.sh)\n",
            envs[opt.driver]);
    return 2;
  }
  /* Room for two pools of up to 3 beside 8 connections, and fewer
   * threads than connections: operations wait for a worker.  Set before
   * the first uv_queue_work of the process.  --threads 32: none waits. */
  setenv("UV_THREADPOOL_SIZE", opt.threads ? opt.threads : "8",
         opt.threads != NULL);
  rng_state = opt.seed;
  printf("uvodbc-chaos: driver %s seed %llu ops %ld seconds %.0f%s%s\n",
         opt.driver_name, (unsigned long long)opt.seed, opt.ops,
         opt.seconds, opt.no[0] ? " no " : "", opt.no);
  fflush(stdout);
  for (j = 0; j < NOPS; j++) total += ops[j].weight;

  watchdog_s = opt.seconds + 120;
  if (uv_mutex_init(&watchdog_mutex) || uv_cond_init(&watchdog_cond) ||
      uv_thread_create(&watchdog_thread, watchdog, NULL))
    return 2;
  if (uv_loop_init(&loop) != 0) return 2;
  debug_start();
  if (setup_tables() != 0) {
    fprintf(stderr, "CHAOS FAIL: setup of the tables failed\n");
    return 1;
  }

  t0 = uv_hrtime();
  for (op_index = 0; op_index < opt.ops; op_index++) {
    uint64_t w[NRAND];
    int pickw, k;
    if ((double)(uv_hrtime() - t0) / 1e9 > opt.seconds) break;
    for (k = 0; k < NRAND; k++) w[k] = rnd();
    pickw = (int)(w[7] % (uint64_t)total);
    for (j = 0; j < NOPS; j++) {
      pickw -= ops[j].weight;
      if (pickw < 0) break;
    }
    if (!op_disabled(ops[j].name)) ops[j].fn(w);
    pump(w[6]);
  }
  {
    long done_ops = op_index;
    finish();
    rc = uv_loop_close(&loop);
    CHECK(rc == 0, "uv_loop_close: %s", uv_err_name(rc));
    rc = uvodbc_shutdown();
    CHECK(rc == 0, "uvodbc_shutdown: %s", uvodbc_err_name(rc));
    CHECK(traced_queued == traced_finished,
          "trace: %llu ops queued, %llu finished",
          (unsigned long long)traced_queued,
          (unsigned long long)traced_finished);
    printf("uvodbc-chaos: driver %s seed %llu: %ld ops in %.1f s, %ld "
           "requests (%ld ok, %ld ECANCELED, %ld ETIMEDOUT, %ld ECLOSED, "
           "%ld ESQL, %ld EOF), %ld sync errors, %ld conns, %ld acquires, "
           "%ld cursors, %ld pools: %s\n",
           opt.driver_name, (unsigned long long)opt.seed, done_ops,
           (double)(uv_hrtime() - t0) / 1e9, stats.started, stats.ok,
           stats.by_status_ecanceled, stats.timedout, stats.closed_status,
           stats.esql, stats.eof, stats.sync_errors, stats.conns,
           stats.acquires, stats.cursors, stats.pools,
           failures ? "FAILED" : "ok");
    printf("uvodbc-chaos: reads: %ld started, %ld batches, %ld ended by "
           "callback, %ld stopped, %ld restarted in a callback or timer, "
           "%ld closed while reading, %ld cancelled in their callback, %ld "
           "pull fetches after a stop, %ld UV_EALREADY, %ld UV_EBUSY, %ld "
           "probes while reading\n",
           stats.read_starts, stats.read_batches, stats.read_ends,
           stats.read_stops, stats.read_restarts, stats.read_closes,
           stats.read_cancels, stats.read_takeovers, stats.read_ealready,
           stats.read_ebusy, stats.read_probes);
  }
  uv_mutex_lock(&watchdog_mutex);
  watchdog_stop = 1;
  uv_cond_signal(&watchdog_cond);
  uv_mutex_unlock(&watchdog_mutex);
  uv_thread_join(&watchdog_thread);
  printf("uvodbc-chaos: tracing: %llu ops, each queued and finished once; "
         "%lu debug-mode reports\n",
         (unsigned long long)traced_finished, debug_lines);
  free(traced);
  for (j = 0; j < nall; j++) free(all_rqs[j]);
  free(all_rqs);
  for (j = 0; j < nconns; j++) free(all_conns[j]);
  free(all_conns);
  for (j = 0; j < nrecords; j++) free(records[j]);
  free(records);
  return failures ? 1 : 0;
}
