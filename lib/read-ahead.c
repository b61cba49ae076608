/* Read-ahead cursors (uvodbc_exec_options_t.read_ahead).
 *
 * A worker fetches up to `depth` batches in one hop into one bank of the
 * statement's spare buffers (stmt->ahead[]) while the application is
 * served, without a hop, from the other bank; the banks then trade roles.
 * A batch is handed over by swapping buffers with stmt->batch, so the batch
 * in the application's hands is never written while it reads it.
 *
 * The read-ahead op is an ordinary FETCH op on the strand (op->ahead ==
 * AHEAD_READ) that starts without a request; a fetch that finds it in
 * flight becomes its request.  A fetch answered from a bank is an
 * AHEAD_TAKE op, completed on the next loop iteration. */
#include <string.h>

#include "internal.h"

static size_t depth_of(const uvodbc_cursor_t* c) {
  return c->opts.read_ahead < UVODBC_READ_AHEAD_MAX
             ? (size_t)c->opts.read_ahead
             : UVODBC_READ_AHEAD_MAX;
}

static int bank_pending(const uvodbc__ahead_bank_t* b) {
  return b->at < b->n || b->status != 0;
}

static void bank_clear(uvodbc__ahead_bank_t* b) {
  b->n = b->at = 0;
  b->status = 0;
  uvodbc__diags_free(&b->diags);
}

/* The serving bank is used up: the other one takes over if it holds
 * batches. */
static void next_bank(uvodbc_cursor_t* c) {
  if (!bank_pending(&c->bank[c->serving]) &&
      bank_pending(&c->bank[!c->serving]))
    c->serving = !c->serving;
}

void uvodbc__ahead_drop(uvodbc_cursor_t* c) {
  bank_clear(&c->bank[0]);
  bank_clear(&c->bank[1]);
}

void uvodbc__ahead_start(uvodbc_cursor_t* c) {
  uvodbc_conn_t* conn = c->conn;
  int free_bank = !c->serving;
  uvodbc_op_t* op;
  /* Only on an otherwise idle connection: reading ahead must not delay
   * work the application has already queued. */
  if (c->opts.read_ahead <= 0 || c->closing || c->ahead != NULL ||
      conn == NULL || conn->closing || conn->head != NULL ||
      c->stmt == NULL || !c->stmt->has_result || c->stmt->eof ||
      bank_pending(&c->bank[free_bank]))
    return;
  op = uvodbc__op_new(conn, OP_FETCH, &uvodbc__cursor_vt, NULL, NULL);
  if (op == NULL) return; /* the next fetch asks for itself */
  op->cursor = c;
  op->ahead = UVODBC__AHEAD_READ;
  /* What a read that never runs (a broken connection) reports: nothing,
   * not the count of the read before it. */
  c->stmt->nahead = 0;
  op->ahead_first = (size_t)free_bank * depth_of(c);
  op->nrows = depth_of(c);
  c->ahead = op;
  c->filling = free_bank;
  uvodbc__strand_push(conn, op);
}

int uvodbc__ahead_answers(const uvodbc_cursor_t* c) {
  return c->ahead != NULL || bank_pending(&c->bank[c->serving]);
}

int uvodbc__ahead_fetch(uvodbc_cursor_t* c, uvodbc_req_t* req,
                        uvodbc_req_cb cb) {
  uvodbc_op_t* op = c->ahead;
  if (op != NULL && !bank_pending(&c->bank[c->serving])) {
    uvodbc__op_attach(op, req, cb);
  } else {
    op = uvodbc__op_new(c->conn, OP_FETCH, &uvodbc__cursor_vt, req, cb);
    if (op == NULL) return UV_ENOMEM;
    op->cursor = c;
    op->ahead = UVODBC__AHEAD_TAKE;
    uvodbc__strand_defer(c->conn, op, 0);
  }
  req->cursor = c;
  c->busy = 1;
  return 0;
}

/* Gives `op` the next batch of the serving bank, or the status after its
 * batches (UV_EOF when the read found no rows).  The diagnostics go with
 * the last delivery from the bank. */
static void hand_over(uvodbc_cursor_t* c, uvodbc_op_t* op) {
  uvodbc__ahead_bank_t* b = &c->bank[c->serving];
  int last;
  if (c->stmt == NULL) { /* a reset or close took the statement */
    uvodbc__ahead_drop(c);
    op->status = UVODBC_ECLOSED;
    return;
  }
  if (b->at < b->n) {
    size_t slot = (size_t)c->serving * depth_of(c) + b->at++;
    uvodbc__stmt_take_ahead(c->stmt, slot);
    op->status = 0;
    last = b->at == b->n && b->status == 0;
  } else {
    op->status = b->status != 0 ? b->status : UV_EOF;
    last = 1;
  }
  if (last) {
    op->diags = b->diags;
    memset(&b->diags, 0, sizeof(b->diags));
    bank_clear(b);
    next_bank(c);
  }
}

int uvodbc__ahead_done(uvodbc_cursor_t* c, uvodbc_op_t* op) {
  if (op->ahead == UVODBC__AHEAD_READ) {
    uvodbc__ahead_bank_t* b = &c->bank[c->filling];
    c->ahead = NULL;
    if (op->status == UV_ECANCELED) { /* never ran */
      if (op->req != NULL) return 0;
      uvodbc__op_free(op);
      return 1;
    }
    if (c->stmt != NULL) {
      b->n = c->stmt->nahead;
      b->at = 0;
      b->status = op->status;
      b->diags = op->diags;
      memset(&op->diags, 0, sizeof(op->diags));
      next_bank(c);
    }
    if (op->req == NULL) {
      uvodbc__op_free(op);
      uvodbc__ahead_start(c); /* the other bank may be free already */
      return 1;
    }
  }
  hand_over(c, op);
  return 0;
}
