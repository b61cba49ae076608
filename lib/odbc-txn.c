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

/* psqlODBC in autocommit mode runs a streaming SELECT in a transaction of
 * its own (BEGIN; DECLARE ... CURSOR WITH HOLD; FETCH) and, when a call
 * fails inside it, sends ROLLBACK before returning.  A cancel can reach
 * the server twice: the postmaster signals the backend and then its
 * process group, and a slow scheduler can put the statement's error, and
 * the ROLLBACK, between the two (uvodbc's retries can do the same).  Such a
 * second cancel cancels the ROLLBACK; psqlODBC does not notice, and every
 * later statement of the connection fails with 25P02, for good
 * (tests/test-cancel.c, cancel_pg_rollback_cancelled).  So a call that
 * failed with 57014 (cancelled) or 25P02 (in an aborted transaction) is
 * followed by a ROLLBACK of uvodbc's, in autocommit mode only (no
 * transaction of the user's can be open then).  It runs after the cancel
 * returned, which PQcancel does once the server has signalled: no cancel of
 * uvodbc's can reach it. */
int uvodbc__odbc_psql_may_abort(SQLHSTMT h, uvodbc__driver_t driver) {
  SQLCHAR state[6];
  SQLINTEGER native;
  SQLSMALLINT len;
  if (driver != UVODBC__DRIVER_PSQL ||
      !SQL_SUCCEEDED(SQLGetDiagRec(SQL_HANDLE_STMT, h, 1, state, &native,
                                   NULL, 0, &len)))
    return 0;
  return strcmp((char*)state, "57014") == 0 ||
         strcmp((char*)state, "25P02") == 0;
}

void uvodbc__odbc_psql_end_aborted(SQLHDBC dbc) {
  SQLULEN autocommit = SQL_AUTOCOMMIT_OFF;
  SQLHSTMT h;
  if (!SQL_SUCCEEDED(SQLGetConnectAttr(dbc, SQL_ATTR_AUTOCOMMIT, &autocommit,
                                       0, NULL)) ||
      autocommit != SQL_AUTOCOMMIT_ON)
    return;
  /* A handle of its own: the statement's may be prepared. */
  if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, dbc, &h))) return;
  SQLExecDirect(h, (SQLCHAR*)"ROLLBACK", SQL_NTS);
  SQLFreeHandle(SQL_HANDLE_STMT, h);
}
