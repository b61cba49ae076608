/* Blocking transaction control and connection health, run on a worker. */
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
