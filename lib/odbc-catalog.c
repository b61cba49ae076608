/* Catalog functions (SQLTables, SQLColumns, ...) and SQLGetInfo, run on a
 * worker.  Catalog results are ordinary result sets: the statement is then
 * described and read like any query. */
#include <pthread.h>
#include <string.h>

#include "odbc.h"

/* SQLite's driver builds every catalog result in static column tables that
 * all its connections share, and writes to them while it does (TSan saw
 * two connections' catalog calls race there): one at a time. */
static pthread_mutex_t sqlite_catalog_lock = PTHREAD_MUTEX_INITIALIZER;

/* NULL means "no restriction"; "" is a real (empty) name. */
#define ARG(s) ((SQLCHAR*)(s)), ((s) != NULL ? SQL_NTS : 0)

static SQLRETURN call(SQLHSTMT h, const uvodbc_catalog_args_t* a,
                      uvodbc_catalog_t kind, const char** fn) {
  switch (kind) {
    case UVODBC_CATALOG_TABLES:
      *fn = "SQLTables";
      return SQLTables(h, ARG(a->catalog), ARG(a->schema), ARG(a->table),
                       ARG(a->table_type));
    case UVODBC_CATALOG_COLUMNS:
      *fn = "SQLColumns";
      return SQLColumns(h, ARG(a->catalog), ARG(a->schema), ARG(a->table),
                        ARG(a->column));
    case UVODBC_CATALOG_PRIMARY_KEYS:
      *fn = "SQLPrimaryKeys";
      return SQLPrimaryKeys(h, ARG(a->catalog), ARG(a->schema),
                            ARG(a->table));
    case UVODBC_CATALOG_FOREIGN_KEYS:
      *fn = "SQLForeignKeys";
      return SQLForeignKeys(h, ARG(a->catalog), ARG(a->schema), ARG(a->table),
                            ARG(a->fk_catalog), ARG(a->fk_schema),
                            ARG(a->fk_table));
    case UVODBC_CATALOG_STATISTICS:
      *fn = "SQLStatistics";
      return SQLStatistics(h, ARG(a->catalog), ARG(a->schema), ARG(a->table),
                           a->unique_only ? SQL_INDEX_UNIQUE : SQL_INDEX_ALL,
                           SQL_QUICK);
    case UVODBC_CATALOG_PROCEDURES:
      *fn = "SQLProcedures";
      return SQLProcedures(h, ARG(a->catalog), ARG(a->schema),
                           ARG(a->procedure));
    case UVODBC_CATALOG_PROCEDURE_COLUMNS:
      *fn = "SQLProcedureColumns";
      return SQLProcedureColumns(h, ARG(a->catalog), ARG(a->schema),
                                 ARG(a->procedure), ARG(a->column));
    default: /* UVODBC_CATALOG_TYPE_INFO */
      *fn = "SQLGetTypeInfo";
      return SQLGetTypeInfo(h, a->data_type != 0 ? a->data_type
                                                 : SQL_ALL_TYPES);
  }
}

int uvodbc__stmt_catalog(uvodbc__stmt_t* s, uvodbc_catalog_t kind,
                         const uvodbc_catalog_args_t* args,
                         uvodbc__diags_t* d) {
  const char* fn = "SQLTables";
  SQLRETURN rc;
  int serialize = s->driver == UVODBC__DRIVER_SQLITE;
  int err;
  uvodbc__stmt_reset(s);
  s->prepared = 0;
  if (serialize) pthread_mutex_lock(&sqlite_catalog_lock);
  s->clean = 0;
  rc = call(s->h, args, kind, &fn);
  if (rc != SQL_SUCCESS)
    uvodbc__diags_collect(d, SQL_HANDLE_STMT, s->h, fn, NULL);
  err = SQL_SUCCEEDED(rc) ? uvodbc__stmt_describe(s, d) : UVODBC_ESQL;
  if (serialize) pthread_mutex_unlock(&sqlite_catalog_lock);
  return err;
}

static void get_text(SQLHDBC dbc, SQLUSMALLINT key, char* out, size_t size) {
  SQLSMALLINT len = 0;
  out[0] = '\0';
  if (!SQL_SUCCEEDED(SQLGetInfo(dbc, key, out, (SQLSMALLINT)size, &len)))
    out[0] = '\0';
  out[size - 1] = '\0';
}

static uint32_t get_u32(SQLHDBC dbc, SQLUSMALLINT key) {
  SQLUINTEGER v = 0;
  if (!SQL_SUCCEEDED(SQLGetInfo(dbc, key, &v, sizeof(v), NULL))) return 0;
  return v;
}

static uint16_t get_u16(SQLHDBC dbc, SQLUSMALLINT key) {
  SQLUSMALLINT v = 0;
  if (!SQL_SUCCEEDED(SQLGetInfo(dbc, key, &v, sizeof(v), NULL))) return 0;
  return v;
}

void uvodbc__odbc_get_info(SQLHDBC dbc, uvodbc_info_t* i) {
#define TEXT(field, key) get_text(dbc, key, i->field, sizeof(i->field))
  TEXT(dbms_name, SQL_DBMS_NAME);
  TEXT(dbms_version, SQL_DBMS_VER);
  TEXT(driver_name, SQL_DRIVER_NAME);
  TEXT(driver_version, SQL_DRIVER_VER);
  TEXT(driver_odbc_version, SQL_DRIVER_ODBC_VER);
  TEXT(dm_odbc_version, SQL_ODBC_VER);
  TEXT(data_source_name, SQL_DATA_SOURCE_NAME);
  TEXT(server_name, SQL_SERVER_NAME);
  TEXT(database_name, SQL_DATABASE_NAME);
  TEXT(user_name, SQL_USER_NAME);
  TEXT(identifier_quote, SQL_IDENTIFIER_QUOTE_CHAR);
  TEXT(catalog_term, SQL_CATALOG_TERM);
  TEXT(schema_term, SQL_SCHEMA_TERM);
  TEXT(table_term, SQL_TABLE_TERM);
  TEXT(procedure_term, SQL_PROCEDURE_TERM);
  TEXT(catalog_separator, SQL_CATALOG_NAME_SEPARATOR);
  TEXT(search_pattern_escape, SQL_SEARCH_PATTERN_ESCAPE);
  TEXT(keywords, SQL_KEYWORDS);
#undef TEXT
  {
    char yn[4];
    get_text(dbc, SQL_PROCEDURES, yn, sizeof(yn));
    i->procedures = yn[0] == 'Y';
    get_text(dbc, SQL_MULT_RESULT_SETS, yn, sizeof(yn));
    i->multiple_result_sets = yn[0] == 'Y';
  }
  i->max_column_name_len = get_u16(dbc, SQL_MAX_COLUMN_NAME_LEN);
  i->max_table_name_len = get_u16(dbc, SQL_MAX_TABLE_NAME_LEN);
  i->max_schema_name_len = get_u16(dbc, SQL_MAX_SCHEMA_NAME_LEN);
  i->max_statement_len = get_u32(dbc, SQL_MAX_STATEMENT_LEN);
  i->txn_capable = get_u16(dbc, SQL_TXN_CAPABLE);
  i->default_txn_isolation = get_u32(dbc, SQL_DEFAULT_TXN_ISOLATION);
  i->txn_isolation_options = get_u32(dbc, SQL_TXN_ISOLATION_OPTION);
  i->getdata_extensions = get_u32(dbc, SQL_GETDATA_EXTENSIONS);
  i->param_array_row_counts = get_u32(dbc, SQL_PARAM_ARRAY_ROW_COUNTS);
  i->sql_conformance = get_u32(dbc, SQL_SQL_CONFORMANCE);
}
