/* Tracing: the QUEUED / STARTED / FINISHED events of each operation, and
 * the timestamps behind them and behind debug mode's reports.
 *
 * An operation is timed when, at queue time, its connection has a hook or
 * debug mode is on; nothing else reads the clock on its behalf (the one
 * exception, queued_ns, dates what the open-handle walk shows). */
#include <stdatomic.h>
#include <string.h>

#include "internal.h"

static atomic_uint_fast64_t next_id;

const char* uvodbc_op_kind_name(uvodbc_op_kind_t kind) {
  static const char* const names[] = {
      [UVODBC_OP_CONNECT] = "connect",
      [UVODBC_OP_EXEC] = "exec",
      [UVODBC_OP_QUERY] = "query",
      [UVODBC_OP_FETCH] = "fetch",
      [UVODBC_OP_NEXT_RESULT] = "next_result",
      [UVODBC_OP_CURSOR_CLOSE] = "cursor_close",
      [UVODBC_OP_CONN_CLOSE] = "conn_close",
      [UVODBC_OP_TXN] = "txn",
      [UVODBC_OP_PREPARE] = "prepare",
      [UVODBC_OP_PREPARED_CLOSE] = "prepared_close",
      [UVODBC_OP_INFO] = "info",
      [UVODBC_OP_BULK] = "bulk",
      [UVODBC_OP_CALL] = "call"};
  if ((unsigned)kind >= sizeof(names) / sizeof(names[0])) return "?";
  return names[kind];
}

const char* uvodbc__op_sql(const uvodbc_op_t* op) {
  static const char* const catalog[] = {
      [UVODBC_CATALOG_TABLES] = "SQLTables",
      [UVODBC_CATALOG_COLUMNS] = "SQLColumns",
      [UVODBC_CATALOG_PRIMARY_KEYS] = "SQLPrimaryKeys",
      [UVODBC_CATALOG_FOREIGN_KEYS] = "SQLForeignKeys",
      [UVODBC_CATALOG_STATISTICS] = "SQLStatistics",
      [UVODBC_CATALOG_PROCEDURES] = "SQLProcedures",
      [UVODBC_CATALOG_PROCEDURE_COLUMNS] = "SQLProcedureColumns",
      [UVODBC_CATALOG_TYPE_INFO] = "SQLGetTypeInfo"};
  if (op->catalog != NULL) /* its op->sql is "" */
    return (unsigned)op->catalog_kind < sizeof(catalog) / sizeof(catalog[0])
               ? catalog[op->catalog_kind]
               : NULL;
  if (op->sql != NULL) return op->sql;
  if (op->prepared != NULL) return op->prepared->sql;
  return NULL;
}

static const char* detail(const uvodbc_op_t* op) {
  if (op->kind == OP_FETCH) return op->read ? "read" : NULL;
  if (op->kind != OP_TXN) return NULL;
  return uvodbc__txn_name(op);
}

static void event_init(uvodbc_trace_event_t* ev, const uvodbc_op_t* op,
                       uvodbc_trace_phase_t phase) {
  memset(ev, 0, sizeof(*ev));
  ev->phase = phase;
  ev->kind = (uvodbc_op_kind_t)op->kind;
  ev->op_id = op->id;
  ev->conn = op->conn;
  ev->pool = op->conn->pool;
  ev->sql = uvodbc__op_sql(op);
  ev->detail = detail(op);
  ev->queued_at_ns = op->queued_ns;
  ev->rows_affected = -1;
}

void uvodbc__trace_queued(uvodbc_op_t* op) {
  uvodbc_trace_cb hook = op->conn->options.trace;
  uvodbc_trace_event_t ev;
  if (op->traced || (hook == NULL && !uvodbc__debug_on())) return;
  op->traced = 1;
  op->timed = 1;
  op->id = atomic_fetch_add(&next_id, 1) + 1;
  op->trace_affected = -1;
  if (hook == NULL) return;
  event_init(&ev, op, UVODBC_TRACE_QUEUED);
  hook(&ev, op->conn->options.trace_data);
}

/* The first pop counts: an op chained behind a head that never reached a
 * thread goes back to the queue and is popped again. */
void uvodbc__trace_popped(uvodbc_op_t* op) {
  if (op->timed && op->popped_ns == 0) op->popped_ns = uv_hrtime();
}

/* The executor hands the hop to libuv's pool (its on_start). */
static void started(uvodbc__task_t* task) {
  uvodbc_op_t* op = (uvodbc_op_t*)task;
  uint64_t now = uv_hrtime();
  uvodbc_trace_cb hook = op->conn->options.trace;
  uvodbc_trace_event_t ev;
  if (hook == NULL) return;
  for (; op != NULL; op = op->chain_next) {
    if (op->trace_started) continue; /* handed out again after an unchain */
    op->trace_started = 1;
    event_init(&ev, op, UVODBC_TRACE_STARTED);
    ev.wait_conn_ns = op->popped_ns - op->queued_ns;
    ev.wait_worker_ns = now - op->popped_ns;
    hook(&ev, op->conn->options.trace_data);
  }
}

void uvodbc__trace_submit(uvodbc_op_t* head) {
  head->task.on_start = head->timed ? started : NULL;
}

void uvodbc__trace_hop(uvodbc_op_t* head) {
  uint64_t now;
  if (!head->timed) return;
  now = uv_hrtime();
  for (; head != NULL; head = head->chain_next) head->hop_ns = now;
}

void uvodbc__trace_set_rows(uvodbc_op_t* op, const uvodbc_req_t* req) {
  size_t i;
  if (!op->traced || req == NULL) return;
  op->trace_rows = 0;
  if (req->batch != NULL) op->trace_rows = uvodbc_batch_nrows(req->batch);
  for (i = 1; i < req->nresults; i++)
    op->trace_rows += uvodbc_batch_nrows(req->results[i]);
  op->trace_affected = req->rows_affected;
}

/* `abandoned`: given up at its deadline while a worker still runs it, so
 * only what the loop thread wrote may be read (not its times on the
 * worker, not its diagnostics). */
static void finish(uvodbc_op_t* op, int status, int abandoned) {
  uvodbc_trace_cb hook;
  uvodbc_trace_event_t ev;
  if (!op->traced) return;
  op->traced = 0; /* once */
  if (!abandoned && op->hop_ns != 0)
    uvodbc__debug_worker_wait(op->hop_ns - op->popped_ns,
                              uvodbc_op_kind_name((uvodbc_op_kind_t)op->kind),
                              uvodbc__op_sql(op));
  hook = op->conn->options.trace;
  if (hook == NULL) return;
  event_init(&ev, op, UVODBC_TRACE_FINISHED);
  if (op->popped_ns != 0) ev.wait_conn_ns = op->popped_ns - op->queued_ns;
  ev.status = status;
  if (abandoned) {
    memcpy(ev.sqlstate, "HYT00", sizeof(ev.sqlstate));
  } else {
    if (op->hop_ns != 0) ev.wait_worker_ns = op->hop_ns - op->popped_ns;
    ev.work_ns = op->work_ns;
    ev.rows = op->trace_rows;
    ev.rows_affected = op->trace_affected;
    if (op->diags.n > 0) {
      memcpy(ev.sqlstate, op->diags.recs[0].sqlstate, sizeof(ev.sqlstate));
      ev.sqlstate[5] = '\0';
      ev.native = (int)op->diags.recs[0].native;
    }
  }
  hook(&ev, op->conn->options.trace_data);
}

void uvodbc__trace_finished(uvodbc_op_t* op, int status) {
  finish(op, status, 0);
}

void uvodbc__trace_abandoned(uvodbc_op_t* op) {
  finish(op, UV_ETIMEDOUT, 1);
}
