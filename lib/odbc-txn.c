/* Blocking transaction control and connection health, run on a worker. */
#include <string.h>

#include "odbc.h"

int uvodbc__odbc_set_autocommit(SQLHDBC dbc, int on, uvodbc__diags_t* d) {
  SQLRETURN rc = SQLSetConnectAttr(
      dbc, SQL_ATTR_AUTOCOMMIT,
      (SQLPOINTER)(uintptr_t)(on ? SQL_AUTOCOMMIT_ON : SQL_AUTOCOMMIT_OFF), 0);
  if (rc != SQL_SUCCESS)
    uvodbc__diags_collect(d, SQL_HANDLE_DBC, dbc, "SQLSetConnectAttr", NULL);
  return SQL_SUCCEEDED(rc) ? 0 : UVODBC_ESQL;
}

int uvodbc__odbc_end_tran(SQLHDBC dbc, int commit, uvodbc__diags_t* d) {
  SQLRETURN rc =
      SQLEndTran(SQL_HANDLE_DBC, dbc, commit ? SQL_COMMIT : SQL_ROLLBACK);
  if (rc != SQL_SUCCESS)
    uvodbc__diags_collect(d, SQL_HANDLE_DBC, dbc, "SQLEndTran", NULL);
  return SQL_SUCCEEDED(rc) ? 0 : UVODBC_ESQL;
}

/* unixODBC 2.3.11 asks the driver once, at the connection's first commit or
 * rollback that succeeds, whether such an end closes its cursors
 * (SQL_CURSOR_COMMIT_BEHAVIOR / _ROLLBACK_BEHAVIOR; SQLEndTran.c,
 * cbs_found), and from then on closes every open statement of the
 * connection at each end that does: fetch then says HY010 and
 * SQLMoreResults SQL_NO_DATA, without asking the driver.  psqlODBC answers
 * "close" for a rollback while declare-fetch is on and "preserve" while it
 * is off, and uvodbc turns it on and off per statement: the answer cached
 * was the one of whichever statement came before the first end.  Cached
 * "preserve", a rollback ended a streaming cursor's rows early without an
 * error (the driver returns the block it holds, then SQL_NO_DATA).  So the
 * first end is made here, a commit in autocommit mode (nothing to commit:
 * psqlODBC sends nothing), with declare-fetch on when uvodbc streams; the
 * answer is then fixed and known.  Other drivers answer the same always:
 * only asked.  A failed question counts as "close": refused reads, never
 * short ones.  SQL_CB_DELETE counts as "close" (no driver here answers
 * it; it would also unprepare prepared statements, which uvodbc does not
 * track). */
unsigned uvodbc__odbc_txn_closes(SQLHDBC dbc, int streams) {
  SQLUSMALLINT commit = SQL_CB_CLOSE, rollback = SQL_CB_CLOSE;
  if (streams) {
    uvodbc__odbc_stream_cursors(dbc, 1);
    SQLEndTran(SQL_HANDLE_DBC, dbc, SQL_COMMIT);
  }
  if (!SQL_SUCCEEDED(SQLGetInfo(dbc, SQL_CURSOR_COMMIT_BEHAVIOR, &commit,
                                sizeof(commit), NULL)))
    commit = SQL_CB_CLOSE;
  if (!SQL_SUCCEEDED(SQLGetInfo(dbc, SQL_CURSOR_ROLLBACK_BEHAVIOR, &rollback,
                                sizeof(rollback), NULL)))
    rollback = SQL_CB_CLOSE;
  if (streams) uvodbc__odbc_stream_cursors(dbc, 0); /* as connected */
  return (commit != SQL_CB_PRESERVE ? UVODBC__COMMIT_CLOSES : 0) |
         (rollback != SQL_CB_PRESERVE ? UVODBC__ROLLBACK_CLOSES : 0);
}

int uvodbc__odbc_set_isolation(SQLHDBC dbc, SQLUINTEGER level,
                               uvodbc__diags_t* d) {
  SQLRETURN rc;
  if (level == 0) return 0;
  rc = SQLSetConnectAttr(dbc, SQL_ATTR_TXN_ISOLATION,
                         (SQLPOINTER)(uintptr_t)level, 0);
  if (rc != SQL_SUCCESS)
    uvodbc__diags_collect(d, SQL_HANDLE_DBC, dbc, "SQLSetConnectAttr", NULL);
  return SQL_SUCCEEDED(rc) ? 0 : UVODBC_ESQL;
}

SQLUINTEGER uvodbc__odbc_get_isolation(SQLHDBC dbc) {
  SQLUINTEGER level = 0;
  if (!SQL_SUCCEEDED(SQLGetConnectAttr(dbc, SQL_ATTR_TXN_ISOLATION, &level,
                                       sizeof(level), NULL)))
    return 0;
  return level;
}

int uvodbc__odbc_is_dead(SQLHDBC dbc) {
  SQLUINTEGER dead = SQL_CD_FALSE;
  if (!SQL_SUCCEEDED(SQLGetConnectAttr(dbc, SQL_ATTR_CONNECTION_DEAD, &dead,
                                       sizeof(dead), NULL)))
    return 0;
  return dead == SQL_CD_TRUE;
}

int uvodbc__odbc_ping(SQLHDBC dbc, uvodbc__diags_t* d) {
  uvodbc__stmt_t s;
  int err = uvodbc__stmt_init(&s, dbc, d);
  if (err != 0) return err;
  if (!SQL_SUCCEEDED(SQLExecDirect(s.h, (SQLCHAR*)"SELECT 1", SQL_NTS))) {
    uvodbc__diags_collect(d, SQL_HANDLE_STMT, s.h, "SQLExecDirect", NULL);
    err = UVODBC_ESQL;
  }
  uvodbc__stmt_free(&s);
  return err;
}

/* A buffered SELECT on a statement handle of its own: psqlODBC neither
 * declares a cursor for it nor commits its own transaction after it (a
 * SHOW, like any statement that is not a SELECT, commits that transaction,
 * which computes the rest of every open WITH HOLD cursor: forever for an
 * endless one).  *value: the first column of its first row.  0, or -1 with
 * the failure's SQLSTATE in `state`. */
static int psql_probe(SQLHDBC dbc, const char* sql, long* value,
                      char state[6]) {
  int streams = uvodbc__odbc_streams_now(dbc);
  SQLINTEGER v = 0, native;
  SQLSMALLINT len;
  SQLHSTMT h;
  SQLRETURN rc;
  state[0] = '\0';
  if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, dbc, &h))) return -1;
  if (streams) uvodbc__odbc_stream_cursors(dbc, 0);
  rc = SQLExecDirect(h, (SQLCHAR*)sql, SQL_NTS);
  if (!SQL_SUCCEEDED(rc))
    SQLGetDiagRec(SQL_HANDLE_STMT, h, 1, (SQLCHAR*)state, &native, NULL, 0,
                  &len);
  else if (!SQL_SUCCEEDED(SQLFetch(h)) ||
           !SQL_SUCCEEDED(SQLGetData(h, 1, SQL_C_SLONG, &v, 0, NULL)))
    rc = SQL_ERROR;
  SQLFreeHandle(SQL_HANDLE_STMT, h);
  if (streams) uvodbc__odbc_stream_cursors(dbc, 1);
  *value = v;
  return SQL_SUCCEEDED(rc) ? 0 : -1;
}

/* psqlODBC in autocommit mode runs a streaming SELECT in a transaction of
 * its own (BEGIN; DECLARE ... CURSOR WITH HOLD; FETCH), which the cursors
 * opened after it join.  When a call fails inside it, psqlODBC rolls back
 * to a savepoint, or rolls the whole transaction back, inside the call.
 *
 * A whole ROLLBACK ends every server cursor of that transaction, and
 * psqlODBC then ends their results after the rows it holds, without an
 * error.  It does that where it set no savepoint before the failing
 * statement: after a FETCH of more rows than `Fetch` (uvodbc's first batch)
 * it sets none for the next statement (stream_failure_with_open_cursor).
 * So after a failure while server cursors are open, a probe asks whether a
 * transaction is still open (now() is its start); none: the cursors are
 * gone, and uvodbc refuses their next fetch (24000, lib/strand.c).
 *
 * A cancel can reach the server twice: the postmaster signals the backend
 * and then its process group, and a slow scheduler can put the statement's
 * error, and psqlODBC's ROLLBACK, between the two (uvodbc's retries can do
 * the same).  The second cancels the ROLLBACK; psqlODBC does not notice, and
 * every later statement of the connection failed with 25P02, for good
 * (cancel_pg_rollback_cancelled).  So after a failure with 57014 the same
 * probe also says whether the transaction is aborted (it fails with 25P02),
 * and then, or when the call itself failed with 25P02, uvodbc rolls it
 * back.  No cancel of uvodbc's reaches the probe or the ROLLBACK: libpq's
 * cancel request returns once the server has signalled, and uvodbc's
 * before the probe.
 *
 * Only in autocommit mode, where no transaction of the user's can be open;
 * a healthy transaction is left alone. */
int uvodbc__odbc_psql_settle(SQLHDBC dbc, const uvodbc__diags_t* d,
                             int cursors) {
  SQLUINTEGER autocommit = SQL_AUTOCOMMIT_OFF; /* psqlODBC writes 32 bits */
  int aborted = uvodbc__diags_has(d, "25P02");
  long in_txn = 1;
  char state[6];
  if (!aborted && !cursors && !uvodbc__diags_has(d, "57014")) return 0;
  if (!SQL_SUCCEEDED(SQLGetConnectAttr(dbc, SQL_ATTR_AUTOCOMMIT, &autocommit,
                                       sizeof(autocommit), NULL)) ||
      autocommit != SQL_AUTOCOMMIT_ON)
    return 0;
  if (!aborted &&
      psql_probe(dbc,
                 "SELECT CASE WHEN now() = statement_timestamp() THEN 0 "
                 "ELSE 1 END",
                 &in_txn, state) != 0) {
    if (strcmp(state, "25P02") != 0) return 0; /* cannot tell */
    aborted = 1;
  }
  if (aborted) {
    SQLHSTMT h;
    if (SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, dbc, &h))) {
      SQLExecDirect(h, (SQLCHAR*)"ROLLBACK", SQL_NTS);
      SQLFreeHandle(SQL_HANDLE_STMT, h);
    }
    return 1;
  }
  return cursors && !in_txn;
}
