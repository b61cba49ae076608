/* Transactions and connection state: autocommit, begin/commit/rollback,
 * isolation, ping and reset (what a pool does before reusing a connection).
 * The loop thread keeps what uvodbc set, so reset knows what to undo. */
#include "internal.h"

enum { TXN_AUTOCOMMIT, TXN_END, TXN_ISOLATION, TXN_PING, TXN_RESET };

static const SQLUINTEGER isolation_levels[] = {
    [UVODBC_ISOLATION_DEFAULT] = 0,
    [UVODBC_ISOLATION_READ_UNCOMMITTED] = SQL_TXN_READ_UNCOMMITTED,
    [UVODBC_ISOLATION_READ_COMMITTED] = SQL_TXN_READ_COMMITTED,
    [UVODBC_ISOLATION_REPEATABLE_READ] = SQL_TXN_REPEATABLE_READ,
    [UVODBC_ISOLATION_SERIALIZABLE] = SQL_TXN_SERIALIZABLE};

const char* uvodbc__txn_name(const uvodbc_op_t* op) {
  switch (op->txn) {
    case TXN_AUTOCOMMIT:
      return op->level != 0 ? "begin" : "autocommit";
    case TXN_END:
      return op->level != 0 ? "commit" : "rollback";
    case TXN_ISOLATION:
      return "isolation";
    case TXN_PING:
      return "ping";
    default:
      return "reset";
  }
}

static void txn_prepare(uvodbc_op_t* op) {
  uvodbc_conn_t* conn = op->conn;
  op->dbc = conn->dbc;
  if (op->txn == TXN_RESET) {
    uvodbc__conn_take_stmts(conn, op);
    op->flag = !conn->autocommit; /* a transaction may be open */
    op->level = conn->isolation != 0 ? conn->initial_isolation : 0;
  } else if (op->txn == TXN_END) {
    op->flag = conn->began; /* back to autocommit after a begin */
  }
}

static void txn_work(uvodbc_op_t* op) {
  SQLHDBC dbc = op->dbc;
  uvodbc__diags_t* d = &op->diags;
  int err = 0;
  if (!uvodbc__op_has_dbc(op, "SQLSetConnectAttr")) return;
  switch (op->txn) {
    case TXN_AUTOCOMMIT:
      err = uvodbc__odbc_set_autocommit(dbc, op->flag, d);
      break;
    case TXN_END:
      err = uvodbc__odbc_end_tran(dbc, op->level != 0, d);
      op->ended = err == 0 ? 1 : -1;
      if (err == 0 && op->flag) err = uvodbc__odbc_set_autocommit(dbc, 1, d);
      break;
    case TXN_ISOLATION:
      err = uvodbc__odbc_set_isolation(dbc, op->level, d);
      break;
    case TXN_PING:
      if (!uvodbc__odbc_is_dead(dbc)) {
        err = uvodbc__odbc_ping(dbc, d);
        break;
      }
      uvodbc__diags_add(d, "08S01", 0,
                        "the driver reports the connection dead",
                        "SQLGetConnectAttr");
      err = UVODBC_ESQL;
      break;
    default: /* TXN_RESET: cursors, transaction, autocommit, isolation */
      uvodbc__free_stmts(op);
      if (op->flag) {
        err = uvodbc__odbc_end_tran(dbc, 0, d);
        if (err == 0) err = uvodbc__odbc_set_autocommit(dbc, 1, d);
      }
      if (err == 0) err = uvodbc__odbc_set_isolation(dbc, op->level, d);
      break;
  }
  op->status = err;
}

/* Whether the driver manager closed every cursor of the connection at
 * this end (lib/odbc-txn.c): a commit or rollback that succeeded where the
 * driver says such an end closes them.  One that failed may have ended
 * the transaction anyway (psqlODBC aborts it when a commit fails), so where
 * cursors do not outlive a rollback, it counts too.  Not run at all
 * (cancelled first): nothing happened. */
static int ends_cursors(const uvodbc_conn_t* conn, const uvodbc_op_t* op) {
  unsigned bit =
      op->level != 0 ? UVODBC__COMMIT_CLOSES : UVODBC__ROLLBACK_CLOSES;
  if (op->ended > 0) return (conn->txn_closes & bit) != 0;
  return op->ended < 0 && (conn->txn_closes & UVODBC__ROLLBACK_CLOSES) != 0;
}

static void txn_done(uvodbc_op_t* op) {
  uvodbc_conn_t* conn = op->conn;
  if (op->txn == TXN_END && ends_cursors(conn, op))
    uvodbc__cursors_ended(
        conn, op->level != 0
                  ? "a commit since this cursor opened closed it (the "
                    "driver's cursor commit behavior is not SQL_CB_PRESERVE)"
                  : "a rollback since this cursor opened closed it (the "
                    "driver's cursor rollback behavior is not "
                    "SQL_CB_PRESERVE)");
  if (op->status == 0) {
    switch (op->txn) {
      case TXN_AUTOCOMMIT:
        conn->autocommit = op->flag;
        conn->began = op->level; /* level doubles as "this was begin" */
        if (op->flag) uvodbc__strand_hold(conn, 0); /* it committed */
        break;
      case TXN_END:
        if (op->flag) {
          conn->autocommit = 1;
          conn->began = 0;
        }
        uvodbc__strand_hold(conn, 0);
        break;
      case TXN_ISOLATION:
        conn->isolation = op->level;
        break;
      case TXN_RESET:
        conn->autocommit = 1;
        conn->began = 0;
        conn->isolation = 0;
        uvodbc__strand_hold(conn, 0);
        break;
      default:
        break;
    }
  }
  uvodbc__op_deliver(op);
}

const uvodbc__op_vtable_t uvodbc__txn_vt = {
    .prepare = txn_prepare, .work = txn_work, .done = txn_done};

static int start(uvodbc_conn_t* conn, uvodbc_req_t* req, int txn, int flag,
                 SQLUINTEGER level, uvodbc_req_cb cb) {
  uvodbc_op_t* op;
  int err;
  if (conn == NULL || req == NULL) return UV_EINVAL;
  if (conn->closing) return UVODBC_ECLOSED;
  if ((err = uvodbc__req_start(req, "txn")) != 0) return err;
  op = uvodbc__op_new(conn, OP_TXN, &uvodbc__txn_vt, req, cb);
  if (op == NULL) return UV_ENOMEM;
  op->txn = txn;
  op->flag = flag;
  op->level = level;
  uvodbc__strand_push(conn, op);
  return 0;
}

int uvodbc_conn_set_autocommit(uvodbc_conn_t* conn, uvodbc_req_t* req,
                               int on, uvodbc_req_cb cb) {
  return start(conn, req, TXN_AUTOCOMMIT, on != 0, 0, cb);
}

int uvodbc_conn_begin(uvodbc_conn_t* conn, uvodbc_req_t* req,
                      uvodbc_req_cb cb) {
  return start(conn, req, TXN_AUTOCOMMIT, 0, 1, cb);
}

int uvodbc_conn_commit(uvodbc_conn_t* conn, uvodbc_req_t* req,
                       uvodbc_req_cb cb) {
  return start(conn, req, TXN_END, 0, 1, cb);
}

int uvodbc_conn_rollback(uvodbc_conn_t* conn, uvodbc_req_t* req,
                         uvodbc_req_cb cb) {
  return start(conn, req, TXN_END, 0, 0, cb);
}

int uvodbc_conn_set_isolation(uvodbc_conn_t* conn, uvodbc_req_t* req,
                              uvodbc_isolation_t level, uvodbc_req_cb cb) {
  if ((unsigned)level > (unsigned)UVODBC_ISOLATION_SERIALIZABLE ||
      level == UVODBC_ISOLATION_DEFAULT)
    return UV_EINVAL;
  return start(conn, req, TXN_ISOLATION, 0, isolation_levels[level], cb);
}

int uvodbc_conn_ping(uvodbc_conn_t* conn, uvodbc_req_t* req,
                     uvodbc_req_cb cb) {
  return start(conn, req, TXN_PING, 0, 0, cb);
}

int uvodbc_conn_reset(uvodbc_conn_t* conn, uvodbc_req_t* req,
                      uvodbc_req_cb cb) {
  return start(conn, req, TXN_RESET, 0, 0, cb);
}

int uvodbc_req_is_disconnect(const uvodbc_req_t* req) {
  uvodbc__diags_t d;
  if (req == NULL) return 0;
  d.n = d.cap = req->ndiag;
  d.recs = (uvodbc_diag_t*)req->diag;
  return uvodbc__diags_disconnect(&d);
}

int uvodbc__conn_is_clean(const uvodbc_conn_t* conn) {
  return conn->autocommit && !conn->began && conn->isolation == 0 &&
         conn->cursors == NULL && conn->prepared == NULL &&
         conn->running == NULL && !conn->delivering && conn->head == NULL &&
         conn->ready_head == NULL && !conn->closing;
}
