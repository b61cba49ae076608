/* What is still open: uvodbc_walk(), and debug mode's list of open handles
 * when uvodbc_shutdown() refuses.
 *
 * Connections and pools register at creation and leave when their close
 * callback starts.  Cursors and prepared statements are found through their
 * connection; they register only once detached (a reset or close of the
 * connection took their statement, their memory stays until they are
 * closed).  One process-wide list under a lock, since loops on any thread
 * add and remove.
 *
 * A walk copies what it shows, then calls back: a callback may close
 * anything.  uvodbc_walk() runs on the loop's thread, so it reads the state
 * of that loop's handles.  The shutdown report runs on any thread: it reads
 * in full only the handles registered by its own thread; the others belong
 * to a loop that may be running, so it shows of them only what never
 * changes after registration (kind, address, loop, age). */
#include <pthread.h>
#include <string.h>

#include "pool-internal.h"

#define REPORT_HANDLES 100 /* handles in one report, the rest counted */
#define REPORT_OPS 10      /* pending operations shown per connection */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uvodbc__walk_node_t* head; /* under lock, oldest first */
static uvodbc__walk_node_t* tail;

void uvodbc__walk_add(uvodbc__walk_node_t* node, uv_loop_t* loop,
                      uvodbc_handle_kind_t kind, void* handle,
                      uint64_t created_ns) {
  if (node->linked) return;
  node->loop = loop;
  node->thread = uv_thread_self();
  node->kind = kind;
  node->handle = handle;
  node->created_ns = created_ns;
  pthread_mutex_lock(&lock);
  node->linked = 1;
  node->next = NULL;
  node->prev = tail;
  if (tail != NULL)
    tail->next = node;
  else
    head = node;
  tail = node;
  pthread_mutex_unlock(&lock);
}

void uvodbc__walk_remove(uvodbc__walk_node_t* node) {
  /* Only its own thread writes `linked`: no lock needed to read it. */
  if (!node->linked) return;
  pthread_mutex_lock(&lock);
  if (node->prev != NULL)
    node->prev->next = node->next;
  else
    head = node->next;
  if (node->next != NULL)
    node->next->prev = node->prev;
  else
    tail = node->prev;
  node->prev = node->next = NULL;
  node->linked = 0;
  pthread_mutex_unlock(&lock);
}

const char* uvodbc_handle_kind_name(uvodbc_handle_kind_t kind) {
  switch (kind) {
    case UVODBC_HANDLE_CONN: return "conn";
    case UVODBC_HANDLE_CURSOR: return "cursor";
    case UVODBC_HANDLE_PREPARED: return "prepared";
    case UVODBC_HANDLE_POOL: return "pool";
  }
  return "?";
}

/* ---- the snapshot ---- */

typedef struct {
  uvodbc_handle_info_t info;
  uv_loop_t* loop;
  int shallow;             /* another thread's: state not read        */
  uvodbc_pool_stats_t pool; /* POOL, for the report                   */
} entry_t;

typedef struct {
  entry_t* entries;
  size_t n;
  uvodbc_op_info_t* ops;
  size_t nops;
  uint64_t now;
} snap_t;

static uint64_t age_ms(const snap_t* s, uint64_t since) {
  return s->now > since ? (s->now - since) / 1000000 : 0;
}

static const char* conn_state(const uvodbc_conn_t* c) {
  static const char* const in_pool[S_NSTATES] = {
      [S_CONNECTING] = "connecting", [S_SETUP] = "setup",
      [S_IDLE] = "idle",             [S_CHECKING] = "checking",
      [S_BORROWED] = "borrowed",     [S_RESETTING] = "resetting",
      [S_CLOSING] = "closing",       [S_CLOSED] = "closing"};
  if (c->closing) return "closing";
  if (c->broken) return "broken";
  if (c->pool_slot != NULL) return in_pool[((const slot_t*)c->pool_slot)->state];
  if (c->open) return "open";
  if (c->running != NULL || c->head != NULL || c->ready_head != NULL)
    return "connecting";
  return "failed";
}

static const char* cursor_state(const uvodbc_cursor_t* c) {
  if (c->closing != UVODBC__OPEN) return "closing";
  if (c->conn == NULL) return "detached";
  if (c->reading) return "reading";
  if (c->busy) return "fetching";
  return "open";
}

static const char* prepared_state(const uvodbc_prepared_t* p) {
  if (p->closing != UVODBC__OPEN) return "closing";
  if (p->conn == NULL) return "detached";
  if (p->busy) return "busy";
  return "open";
}

static const char* op_state(const uvodbc_op_t* op) {
  switch (op->state) {
    case OP_QUEUED: return "queued";
    case OP_CANCELLED: return "cancelled";
    case OP_SUBMITTED: return "running";
    default: return "ready"; /* OP_FINISHED, OP_READY */
  }
}

/* A connection's pending ops, in the order of their callbacks: the running
 * hop, the ready list, the queue.  (While a finished chain delivers its
 * callbacks, the rest of the chain is held by the strand alone: not
 * listed.)  With `out` NULL, counts. */
static size_t conn_ops(snap_t* s, const uvodbc_conn_t* c,
                       uvodbc_op_info_t* out) {
  const uvodbc_op_t* lists[3];
  const uvodbc_op_t* op;
  size_t i, n = 0;
  lists[0] = c->running;
  lists[1] = c->ready_head;
  lists[2] = c->head;
  for (i = 0; i < 3; i++) {
    for (op = lists[i]; op != NULL; op = i == 0 ? op->chain_next : op->next) {
      if (out != NULL) {
        out[n].kind = (uvodbc_op_kind_t)op->kind;
        out[n].state = op_state(op);
        out[n].sql = uvodbc__op_sql(op);
        out[n].age_ms = age_ms(s, op->queued_ns);
      }
      n++;
    }
  }
  return n;
}

static entry_t* add_entry(snap_t* s, const uvodbc__walk_node_t* node,
                          uvodbc_handle_kind_t kind, void* handle,
                          uint64_t created_ns) {
  entry_t* e = &s->entries[s->n++];
  memset(e, 0, sizeof(*e));
  e->info.kind = kind;
  e->info.handle = handle;
  e->info.age_ms = age_ms(s, created_ns);
  e->loop = node->loop;
  return e;
}

/* A cursor or prepared statement. */
static void add_stmt(snap_t* s, const uvodbc__walk_node_t* node,
                     uvodbc_handle_kind_t kind, void* handle,
                     uint64_t created_ns, uvodbc_conn_t* conn,
                     const char* state, const char* sql) {
  entry_t* e = add_entry(s, node, kind, handle, created_ns);
  e->info.conn = conn;
  e->info.pool = conn != NULL ? conn->pool : NULL;
  e->info.state = state;
  e->info.sql = sql;
}

static void add_cursor(snap_t* s, const uvodbc__walk_node_t* node,
                       uvodbc_cursor_t* c) {
  add_stmt(s, node, UVODBC_HANDLE_CURSOR, c, c->created_ns, c->conn,
           cursor_state(c), c->sql);
}

static void add_prepared(snap_t* s, const uvodbc__walk_node_t* node,
                         uvodbc_prepared_t* p) {
  add_stmt(s, node, UVODBC_HANDLE_PREPARED, p, p->created_ns, p->conn,
           prepared_state(p), p->sql);
}

/* Adds the node's entries (a connection's cursors and prepared statements
 * follow it) and ops; with `s->entries` NULL, only counts them into
 * s->n and s->nops. */
static void add_node(snap_t* s, const uvodbc__walk_node_t* node, int deep) {
  uvodbc_conn_t* conn = node->kind == UVODBC_HANDLE_CONN ? node->handle
                                                         : NULL;
  uvodbc_cursor_t* c;
  uvodbc_prepared_t* p;
  entry_t* e;
  if (s->entries == NULL) {
    s->n++;
    if (!deep || conn == NULL) return;
    for (c = conn->cursors; c != NULL; c = c->next) s->n++;
    for (p = conn->prepared; p != NULL; p = p->next) s->n++;
    s->nops += conn_ops(s, conn, NULL);
    return;
  }
  if (!deep) { /* what never changes after registration */
    e = add_entry(s, node, node->kind, node->handle, node->created_ns);
    e->shallow = 1;
    if (conn != NULL) {
      e->info.conn = conn;
      e->info.pool = conn->pool;
    } else if (node->kind == UVODBC_HANDLE_POOL) {
      e->info.pool = node->handle;
    }
    return;
  }
  switch (node->kind) {
    case UVODBC_HANDLE_CONN:
      e = add_entry(s, node, node->kind, conn, conn->created_ns);
      e->info.conn = conn;
      e->info.pool = conn->pool;
      e->info.state = conn_state(conn);
      e->info.ops = &s->ops[s->nops];
      e->info.nops = conn_ops(s, conn, &s->ops[s->nops]);
      s->nops += e->info.nops;
      for (c = conn->cursors; c != NULL; c = c->next) add_cursor(s, node, c);
      for (p = conn->prepared; p != NULL; p = p->next)
        add_prepared(s, node, p);
      break;
    case UVODBC_HANDLE_CURSOR:
      add_cursor(s, node, node->handle);
      break;
    case UVODBC_HANDLE_PREPARED:
      add_prepared(s, node, node->handle);
      break;
    case UVODBC_HANDLE_POOL: {
      uvodbc_pool_t* pool = node->handle;
      e = add_entry(s, node, node->kind, pool, pool->created_ns);
      e->info.pool = pool;
      e->info.state = pool->closing == 2 ? "terminating"
                      : pool->closing    ? "closing"
                                         : "open";
      uvodbc_pool_stats(pool, &e->pool);
      break;
    }
  }
}

/* Under the lock.  `loop` NULL: every loop, the calling thread's handles
 * in full, the others' shallow.  Returns 0 or UV_ENOMEM. */
static int collect(snap_t* s, uv_loop_t* loop) {
  const uvodbc__walk_node_t* node;
  uv_thread_t self = uv_thread_self();
  int pass;
  memset(s, 0, sizeof(*s));
  s->now = uv_hrtime();
  for (pass = 0; pass < 2; pass++) {
    if (pass == 1) {
      /* +1: never a zero-size allocation. */
      s->entries = uvodbc__calloc(s->n + 1, sizeof(*s->entries));
      s->ops = uvodbc__calloc(s->nops + 1, sizeof(*s->ops));
      if (s->entries == NULL || s->ops == NULL) {
        uvodbc__free(s->entries);
        uvodbc__free(s->ops);
        return UV_ENOMEM;
      }
      s->n = s->nops = 0;
    }
    for (node = head; node != NULL; node = node->next) {
      if (loop != NULL && node->loop != loop) continue;
      add_node(s, node,
               loop != NULL || uv_thread_equal(&node->thread, &self));
    }
  }
  return 0;
}

static void snap_free(snap_t* s) {
  uvodbc__free(s->entries);
  uvodbc__free(s->ops);
}

int uvodbc_walk(uv_loop_t* loop, uvodbc_walk_cb cb, void* arg) {
  snap_t s;
  size_t i;
  int err;
  if (loop == NULL || cb == NULL) return UV_EINVAL;
  pthread_mutex_lock(&lock);
  err = collect(&s, loop);
  pthread_mutex_unlock(&lock);
  if (err != 0) return err;
  for (i = 0; i < s.n; i++) cb(&s.entries[i].info, arg);
  snap_free(&s);
  return 0;
}

/* ---- debug mode: the report when uvodbc_shutdown() refuses ---- */

static void report_entry(const entry_t* e) {
  const uvodbc_handle_info_t* h = &e->info;
  const char* kind = uvodbc_handle_kind_name(h->kind);
  char sql[96];
  char owner[64] = "";
  size_t i;
  if (e->shallow) {
    uvodbc__debug_log("  %s %p on loop %p, %llu ms old (its loop runs on "
                      "another thread: state not read)",
                      kind, h->handle, (void*)e->loop,
                      (unsigned long long)h->age_ms);
    return;
  }
  if (h->kind == UVODBC_HANDLE_POOL) {
    uvodbc__debug_log("  pool %p on loop %p: %s, %llu ms old, %u open "
                      "connection%s (%u in use), %u connecting, %u "
                      "request%s waiting",
                      h->handle, (void*)e->loop, h->state,
                      (unsigned long long)h->age_ms, e->pool.size,
                      e->pool.size == 1 ? "" : "s", e->pool.in_use,
                      e->pool.connecting, e->pool.waiting,
                      e->pool.waiting == 1 ? "" : "s");
    return;
  }
  if (h->kind == UVODBC_HANDLE_CONN && h->pool != NULL)
    snprintf(owner, sizeof(owner), " of pool %p", (void*)h->pool);
  else if (h->kind != UVODBC_HANDLE_CONN && h->conn != NULL)
    snprintf(owner, sizeof(owner), " of conn %p", (void*)h->conn);
  uvodbc__debug_sql(sql, sizeof(sql), h->sql);
  uvodbc__debug_log("  %s %p%s on loop %p: %s, %llu ms old%s%s", kind,
                    h->handle, owner, (void*)e->loop, h->state,
                    (unsigned long long)h->age_ms,
                    h->kind == UVODBC_HANDLE_CONN && h->nops > 0
                        ? ", pending operations:"
                        : "",
                    sql);
  for (i = 0; i < h->nops && i < REPORT_OPS; i++) {
    const uvodbc_op_info_t* op = &h->ops[i];
    uvodbc__debug_sql(sql, sizeof(sql), op->sql);
    uvodbc__debug_log("    %s %s, %llu ms old%s", uvodbc_op_kind_name(op->kind),
                      op->state, (unsigned long long)op->age_ms, sql);
  }
  if (h->nops > REPORT_OPS)
    uvodbc__debug_log("    ... and %zu more", h->nops - REPORT_OPS);
}

void uvodbc__walk_report(void) {
  snap_t s;
  size_t i;
  int err;
  pthread_mutex_lock(&lock);
  err = collect(&s, NULL);
  pthread_mutex_unlock(&lock);
  /* Strings of the calling thread's handles stay valid: only this thread
   * frees them.  The other threads' entries hold none. */
  if (err != 0) {
    uvodbc__debug_log("shutdown refused (EBUSY); out of memory listing the "
                      "open handles");
    return;
  }
  if (s.n == 0) {
    uvodbc__debug_log("shutdown refused (EBUSY): no handle is open; a "
                      "driver call given up at its deadline has not "
                      "returned yet, or a close could not free its "
                      "connection's driver handle "
                      "(uvodbc_conn_close_status())");
  } else {
    uvodbc__debug_log("shutdown refused (EBUSY): %zu open handle%s (each "
                      "open until its close callback):",
                      s.n, s.n == 1 ? "" : "s");
  }
  for (i = 0; i < s.n && i < REPORT_HANDLES; i++) report_entry(&s.entries[i]);
  if (s.n > REPORT_HANDLES)
    uvodbc__debug_log("  ... and %zu more", s.n - REPORT_HANDLES);
  snap_free(&s);
}
