/* transactions: begin, commit, rollback, autocommit, isolation
 * (docs/transactions.md).
 *
 * Runs a list of steps, one operation each, on one connection, and checks
 * the table's row count after each transaction: a rollback must really
 * undo its insert, a commit must keep it.
 *
 *   transactions ["DRIVER={SQLite3};Database=:memory:"]
 */
#include <stdio.h>
#include <uvodbc.h>

typedef enum { SQL, COUNT, BEGIN, COMMIT, ROLLBACK, AUTOCOMMIT, ISOLATION } op_t;

typedef struct {
  op_t op;
  const char* sql;  /* SQL: the statement; COUNT: what is counted */
  int arg;          /* COUNT: rows expected; AUTOCOMMIT: on or off */
} step_t;

static const step_t steps[] = {
    {SQL, "DROP TABLE IF EXISTS ex_txn", 0},
    {SQL, "CREATE TABLE ex_txn (id INTEGER)", 0},
    /* begin ... rollback: the insert is undone. */
    {BEGIN, NULL, 0},
    {SQL, "INSERT INTO ex_txn VALUES (1)", 0},
    {COUNT, "inside the transaction", 1},
    {ROLLBACK, NULL, 0},
    {COUNT, "after rollback", 0},
    /* begin ... commit: the insert stays; autocommit is back on after. */
    {BEGIN, NULL, 0},
    {SQL, "INSERT INTO ex_txn VALUES (2)", 0},
    {COMMIT, NULL, 0},
    {COUNT, "after commit", 1},
    /* autocommit off: a transaction until commit or rollback. */
    {AUTOCOMMIT, NULL, 0},
    {SQL, "INSERT INTO ex_txn VALUES (3)", 0},
    {ROLLBACK, NULL, 0},
    {COUNT, "autocommit off, after rollback", 1},
    {AUTOCOMMIT, NULL, 1},
    /* The isolation level of the next transactions. */
    {ISOLATION, NULL, 0},
    {BEGIN, NULL, 0},
    {SQL, "INSERT INTO ex_txn VALUES (4)", 0},
    {COMMIT, NULL, 0},
    {COUNT, "serializable, after commit", 2},
};
#define NSTEPS (sizeof(steps) / sizeof(steps[0]))

static int failed;
static size_t cur;  /* the step running */

static void on_step(uvodbc_req_t* req, int status);

static int start(uvodbc_req_t* req, const step_t* s) {
  uvodbc_conn_t* c = req->conn;
  switch (s->op) {
    case SQL:
      return uvodbc_conn_exec(c, req, s->sql, NULL, 0, NULL, on_step);
    case COUNT:
      return uvodbc_conn_query(c, req, "SELECT COUNT(*) FROM ex_txn", NULL, 0,
                               NULL, on_step);
    case BEGIN:
      return uvodbc_conn_begin(c, req, on_step);
    case COMMIT:
      return uvodbc_conn_commit(c, req, on_step);
    case ROLLBACK:
      return uvodbc_conn_rollback(c, req, on_step);
    case AUTOCOMMIT:
      return uvodbc_conn_set_autocommit(c, req, s->arg, on_step);
    case ISOLATION:
      return uvodbc_conn_set_isolation(c, req, UVODBC_ISOLATION_SERIALIZABLE,
                                       on_step);
  }
  return UV_EINVAL;
}

/* Reports why a step (or the connect) failed, and closes. */
static void fail(uvodbc_req_t* req, int status, const char* what) {
  char why[2048];
  if (req->status == status) uvodbc_req_describe(req, why, sizeof(why));
  else snprintf(why, sizeof(why), "%s", uvodbc_strerror(status));
  fprintf(stderr, "transactions: %s %zu: %s\n", what, cur, why);
  failed = 1;
  uvodbc_req_cleanup(req);
  uvodbc_conn_close(req->conn, NULL); /* rolls back what is open */
}

/* Starts step `cur`. */
static void start_step(uvodbc_req_t* req) {
  int err = start(req, &steps[cur]);
  if (err != 0) fail(req, err, "start of step");
}

static void on_step(uvodbc_req_t* req, int status) {
  const step_t* s = &steps[cur];
  if (status != 0) {
    fail(req, status, "step");
    return;
  }
  if (s->op == COUNT) {
    int64_t n = -1;
    uvodbc_batch_get_int64(req->batch, 0, 0, &n);
    printf("%-32s %lld row(s)\n", s->sql, (long long)n);
    if (n != s->arg) {
      fprintf(stderr, "transactions: expected %d row(s)\n", s->arg);
      failed = 1;
    }
    uvodbc_req_cleanup(req);
  }
  if (++cur == NSTEPS) {
    uvodbc_conn_close(req->conn, NULL);
    return;
  }
  start_step(req);
}

static void on_connect(uvodbc_req_t* req, int status) {
  if (status != 0) fail(req, status, "connect, before step");
  else start_step(req);
}

int main(int argc, char** argv) {
  const char* connstr =
      argc > 1 ? argv[1] : "DRIVER={SQLite3};Database=:memory:";
  uvodbc_req_t req;
  uv_loop_t loop;
  uv_loop_init(&loop);
  if (uvodbc_connect(&loop, &req, connstr, NULL, on_connect) != 0) return 1;
  uv_run(&loop, UV_RUN_DEFAULT);
  if (cur != NSTEPS) {
    fprintf(stderr, "transactions: stopped before the last step\n");
    failed = 1;
  }
  if (uv_loop_close(&loop) != 0 || uvodbc_shutdown() != 0) failed = 1;
  return failed;
}
