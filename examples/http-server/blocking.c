/* --blocking: the same endpoints with plain ODBC calls on the loop thread,
 * one connection.  This is the baseline docs/http-server.md measures
 * against: while a statement runs, the loop serves nobody. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sql.h>
#include <sqlext.h>

#include "app.h"

static SQLHENV env = SQL_NULL_HENV;
static SQLHDBC dbc = SQL_NULL_HDBC;
static uint64_t statements;

#define OK(rc) ((rc) == SQL_SUCCESS || (rc) == SQL_SUCCESS_WITH_INFO)

/* The first record's SQLSTATE ("" if none). */
static void sqlstate(SQLSMALLINT type, SQLHANDLE h, char out[6]) {
  SQLINTEGER native;
  SQLSMALLINT len;
  out[0] = '\0';
  if (!OK(SQLGetDiagRec(type, h, 1, (SQLCHAR*)out, &native, NULL, 0, &len)))
    out[0] = '\0';
}

static void respond_stmt_error(h2o_req_t* req, SQLHSTMT st) {
  char state[6];
  sqlstate(SQL_HANDLE_STMT, st, state);
  respond_db_error(req, UVODBC_ESQL, state);
}

/* Executes sql with up to three parameters (BIGINT, or text when
 * text != NULL for parameter 2, NULL when *ind == SQL_NULL_DATA). */
static SQLRETURN exec(SQLHSTMT st, const char* sql, SQLBIGINT* ints,
                      SQLLEN* inds, const char* text, size_t nparams) {
  SQLLEN text_len = text != NULL ? (SQLLEN)strlen(text) : 0;
  SQLUSMALLINT i;
  statements++;
  for (i = 0; i < nparams; i++) {
    SQLRETURN rc;
    if (i == 1 && text != NULL)
      rc = SQLBindParameter(st, 2, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR,
                            200, 0, (SQLPOINTER)text, text_len, &text_len);
    else
      rc = SQLBindParameter(st, i + 1, SQL_PARAM_INPUT, SQL_C_SBIGINT,
                            SQL_BIGINT, 0, 0, &ints[i], 0, &inds[i]);
    if (!OK(rc)) return rc;
  }
  return SQLExecDirect(st, (SQLCHAR*)sql, SQL_NTS);
}

/* The current row as an item. */
static json_t* row_json(SQLHSTMT st) {
  SQLBIGINT id = 0, qty = 0;
  char name[256];
  SQLLEN ind_id, ind_name, ind_qty;
  SQLGetData(st, 1, SQL_C_SBIGINT, &id, 0, &ind_id);
  if (!OK(SQLGetData(st, 2, SQL_C_CHAR, name, sizeof(name), &ind_name)) ||
      ind_name < 0)
    name[0] = '\0';
  SQLGetData(st, 3, SQL_C_SBIGINT, &qty, 0, &ind_qty);
  return item_json(id, name, strlen(name), ind_qty != SQL_NULL_DATA, qty);
}

static SQLHSTMT new_stmt(h2o_req_t* req) {
  SQLHSTMT st = SQL_NULL_HSTMT;
  if (!OK(SQLAllocHandle(SQL_HANDLE_STMT, dbc, &st))) {
    respond_error(req, 500, "database error");
    return SQL_NULL_HSTMT;
  }
  return st;
}

void blocking_get_item(app_t* app, h2o_req_t* req, int64_t id) {
  SQLBIGINT p = id;
  SQLLEN ind = 0;
  SQLHSTMT st = new_stmt(req);
  SQLRETURN rc;
  (void)app;
  if (st == SQL_NULL_HSTMT) return;
  if (!OK(exec(st, SQL_GET, &p, &ind, NULL, 1))) {
    respond_stmt_error(req, st);
  } else if ((rc = SQLFetch(st)) == SQL_NO_DATA) {
    respond_error(req, 404, "no such item");
  } else if (!OK(rc)) {
    respond_stmt_error(req, st);
  } else {
    respond_json(req, 200, row_json(st));
  }
  SQLFreeHandle(SQL_HANDLE_STMT, st);
}

/* The whole list at once: the blocking baseline does not stream. */
void blocking_list_items(app_t* app, h2o_req_t* req, long limit) {
  SQLBIGINT p = limit;
  SQLLEN ind = 0;
  SQLHSTMT st = new_stmt(req);
  SQLRETURN rc;
  json_t* items = json_array();
  (void)app;
  if (st == SQL_NULL_HSTMT) {
    json_decref(items);
    return;
  }
  if (!OK(exec(st, SQL_LIST, &p, &ind, NULL, 1))) {
    respond_stmt_error(req, st);
    json_decref(items);
  } else {
    while (OK(rc = SQLFetch(st))) json_array_append_new(items, row_json(st));
    if (rc != SQL_NO_DATA) {
      respond_stmt_error(req, st);
      json_decref(items);
    } else {
      respond_json(req, 200, json_pack("{so}", "items", items));
    }
  }
  SQLFreeHandle(SQL_HANDLE_STMT, st);
}

void blocking_post_item(app_t* app, h2o_req_t* req) {
  json_t* root;
  item_t item;
  const char* why;
  char* name;
  SQLBIGINT p[3];
  SQLLEN ind[3] = {0, 0, 0};
  SQLHSTMT st;
  (void)app;
  if (parse_item(&req->entity, &root, &item, &why) != 0) {
    json_decref(root);
    respond_error(req, 400, why);
    return;
  }
  name = strndup(item.name, item.name_len);
  st = new_stmt(req);
  if (name == NULL || st == SQL_NULL_HSTMT) {
    if (name == NULL && st != SQL_NULL_HSTMT) respond_error(req, 500, "oom");
    free(name);
    json_decref(root);
    if (st != SQL_NULL_HSTMT) SQLFreeHandle(SQL_HANDLE_STMT, st);
    return;
  }
  p[0] = item.id;
  p[2] = item.qty;
  ind[2] = item.has_qty ? 0 : SQL_NULL_DATA;
  SQLSetConnectAttr(dbc, SQL_ATTR_AUTOCOMMIT, (SQLPOINTER)SQL_AUTOCOMMIT_OFF,
                    0);
  if (!OK(exec(st, SQL_INSERT, p, ind, name, 3))) {
    respond_stmt_error(req, st);
    SQLEndTran(SQL_HANDLE_DBC, dbc, SQL_ROLLBACK);
  } else if (!OK(SQLEndTran(SQL_HANDLE_DBC, dbc, SQL_COMMIT))) {
    char state[6];
    sqlstate(SQL_HANDLE_DBC, dbc, state);
    respond_db_error(req, UVODBC_ESQL, state);
    SQLEndTran(SQL_HANDLE_DBC, dbc, SQL_ROLLBACK);
  } else {
    respond_json(req, 201, item_json(item.id, item.name, item.name_len,
                                     item.has_qty, item.qty));
  }
  SQLSetConnectAttr(dbc, SQL_ATTR_AUTOCOMMIT, (SQLPOINTER)SQL_AUTOCOMMIT_ON,
                    0);
  SQLFreeHandle(SQL_HANDLE_STMT, st);
  free(name);
  json_decref(root);
}

void blocking_slow(app_t* app, h2o_req_t* req) {
  SQLHSTMT st = new_stmt(req);
  if (st == SQL_NULL_HSTMT) return;
  if (!OK(exec(st, app->slow_sql, NULL, NULL, NULL, 0)))
    respond_stmt_error(req, st);
  else
    respond_json(req, 200, json_pack("{sb}", "done", 1));
  SQLFreeHandle(SQL_HANDLE_STMT, st);
}

void blocking_stats(app_t* app, h2o_req_t* req) {
  respond_json(req, 200, json_pack("{sIs{sssI}}", "requests",
                                   (json_int_t)app->requests, "blocking",
                                   "connection", "one, on the loop thread",
                                   "statements", (json_int_t)statements));
}

int blocking_start(app_t* app, const char* connstr) {
  SQLHSTMT st;
  char state[6];
  (void)app;
  if (!OK(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &env)) ||
      !OK(SQLSetEnvAttr(env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER)SQL_OV_ODBC3,
                        0)) ||
      !OK(SQLAllocHandle(SQL_HANDLE_DBC, env, &dbc))) {
    fprintf(stderr, "http-server: ODBC environment\n");
    blocking_stop(app);
    return -1;
  }
  if (!OK(SQLDriverConnect(dbc, NULL, (SQLCHAR*)connstr, SQL_NTS, NULL, 0,
                           NULL, SQL_DRIVER_NOPROMPT))) {
    sqlstate(SQL_HANDLE_DBC, dbc, state); /* never the connection string */
    fprintf(stderr, "http-server: connect failed [%s]\n", state);
    SQLFreeHandle(SQL_HANDLE_DBC, dbc);
    dbc = SQL_NULL_HDBC;
    blocking_stop(app);
    return -1;
  }
  if (!OK(SQLAllocHandle(SQL_HANDLE_STMT, dbc, &st))) return -1;
  if (!OK(SQLExecDirect(st, (SQLCHAR*)SQL_CREATE, SQL_NTS))) {
    sqlstate(SQL_HANDLE_STMT, st, state);
    fprintf(stderr, "http-server: creating table items failed [%s]\n", state);
    SQLFreeHandle(SQL_HANDLE_STMT, st);
    blocking_stop(app);
    return -1;
  }
  SQLFreeHandle(SQL_HANDLE_STMT, st);
  return 0;
}

void blocking_stop(app_t* app) {
  (void)app;
  if (dbc != SQL_NULL_HDBC) {
    SQLDisconnect(dbc);
    SQLFreeHandle(SQL_HANDLE_DBC, dbc);
    dbc = SQL_NULL_HDBC;
  }
  if (env != SQL_NULL_HENV) {
    SQLFreeHandle(SQL_HANDLE_ENV, env);
    env = SQL_NULL_HENV;
  }
}
