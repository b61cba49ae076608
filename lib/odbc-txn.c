/* Blocking transaction control and connection health, run on a worker. */
#include <ctype.h>
#include <stdio.h>
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
 * A cancel can reach the server twice: the postmaster signals the backend
 * and then its process group, and a slow scheduler can put the statement's
 * error, and psqlODBC's ROLLBACK, between the two (uvodbc's retries can do
 * the same).  The second cancels the ROLLBACK; psqlODBC does not notice, and
 * every later statement of the connection failed with 25P02, for good
 * (cancel_pg_rollback_cancelled).  So after a failure with 57014 a probe
 * asks whether the transaction is aborted (it fails with 25P02), and then,
 * or when the call itself failed with 25P02, uvodbc rolls it back.  Only in
 * autocommit mode, where no transaction of the user's can be open.  No
 * cancel of uvodbc's reaches the probe or the ROLLBACK: libpq's cancel
 * request returns once the server has signalled, and uvodbc's before the
 * probe.  The cursors that ROLLBACK ended are found at their next fetch
 * (below). */
void uvodbc__odbc_psql_settle(SQLHDBC dbc, const uvodbc__diags_t* d) {
  SQLUINTEGER autocommit = SQL_AUTOCOMMIT_OFF; /* psqlODBC writes 32 bits */
  int aborted = uvodbc__diags_has(d, "25P02");
  SQLHSTMT h;
  long one;
  char state[6];
  if (!aborted && !uvodbc__diags_has(d, "57014")) return;
  if (!SQL_SUCCEEDED(SQLGetConnectAttr(dbc, SQL_ATTR_AUTOCOMMIT, &autocommit,
                                       sizeof(autocommit), NULL)) ||
      autocommit != SQL_AUTOCOMMIT_ON)
    return;
  if (!aborted && psql_probe(dbc, "SELECT 1", &one, state) == 0) return;
  if (!aborted && strcmp(state, "25P02") != 0) return; /* cannot tell */
  if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, dbc, &h))) return;
  SQLExecDirect(h, (SQLCHAR*)"ROLLBACK", SQL_NTS);
  SQLFreeHandle(SQL_HANDLE_STMT, h);
}

/* A whole ROLLBACK ends every server cursor its transaction opened, and
 * psqlODBC then ends their results after the rows it holds, without an
 * error.  It rolls back whole where it set no savepoint before the
 * failing statement: after a FETCH of more rows than `Fetch` (uvodbc's
 * first batch) it sets none for the next statement
 * (stream_failure_with_open_cursor).  A cursor that outlived a commit
 * (WITH HOLD, after a write) survives it.  So after a failure, the next
 * fetch of each open server cursor asks the server whether its cursor is
 * still there (lib/cursor.c). */
int uvodbc__odbc_psql_cursor_gone(SQLHDBC dbc, SQLHSTMT h) {
  SQLCHAR name[64];
  SQLSMALLINT len = 0, i;
  char sql[160];
  char state[6];
  long n = 1;
  if (!SQL_SUCCEEDED(SQLGetCursorName(h, name, sizeof(name), &len)) ||
      len <= 0 || len >= (SQLSMALLINT)sizeof(name))
    return 0;
  for (i = 0; i < len; i++) /* psqlODBC's own: SQL_CUR<address> */
    if (!isalnum(name[i]) && name[i] != '_') return 0;
  snprintf(sql, sizeof(sql),
           "SELECT count(*) FROM pg_cursors WHERE name = '%s'",
           (const char*)name);
  return psql_probe(dbc, sql, &n, state) == 0 && n == 0;
}
