/* Value types of uvodbc's API: no libuv, no ODBC headers needed. */
#ifndef UVODBC_TYPES_H
#define UVODBC_TYPES_H

#include <stddef.h>
#include <stdint.h>

/* Rows in columnar form (see uvodbc_batch_* in uvodbc.h). */
typedef struct uvodbc_batch_s uvodbc_batch_t;

/* ------------------------------------------------------------------------ */
/* Errors */

/* XX(name, value, message).  A disjoint range from libuv's (-1 .. -4095). */
#define UVODBC_ERRNO_MAP(XX)                                                  \
  XX(ESQL, -30001, "ODBC call failed; see the request's diagnostics")         \
  XX(ECLOSED, -30002, "handle is closing or closed")                          \
  XX(ELIMIT, -30003, "result exceeds the configured row or byte limit")       \
  XX(ETYPE, -30004, "value is not of the requested type")                     \
  XX(ENULL, -30005, "value is NULL")                                          \
  XX(ETRUNC, -30006, "driver truncated a value; set long_column_bytes below its size")       \
  XX(ESERIAL, -30007, "driver manager serializes all calls (Threading=3)")    \
  XX(ENOTCONN, -30008, "connection is not open")                              \
  XX(ERANGE, -30009, "column or row index out of range")                      \
  XX(EPARAMS, -30010, "parameter count does not match the statement")      \
  XX(ENOWORKER, -30011, "libuv's thread pool has one thread (UV_THREADPOOL_SIZE=1), which uvodbc would hold: set UV_THREADPOOL_SIZE >= 2, or uvodbc_set_worker_limit(1) to accept that") \
  XX(EPOOLSIZE, -30012, "pool max_size is above uvodbc's worker limit or reaches UV_THREADPOOL_SIZE: set UV_THREADPOOL_SIZE to max_size + 1 or more before libuv's first use, lower max_size, or set oversubscribe")

typedef enum {
#define XX(name, value, msg) UVODBC_##name = (value),
  UVODBC_ERRNO_MAP(XX)
#undef XX
} uvodbc_errno_t;

/* ------------------------------------------------------------------------ */
/* Values */

typedef enum {
  UVODBC_TYPE_NULL = 0,
  UVODBC_TYPE_INT64,     /* TINYINT .. BIGINT                               */
  UVODBC_TYPE_DOUBLE,    /* REAL, FLOAT, DOUBLE                             */
  UVODBC_TYPE_BOOL,      /* BIT, PostgreSQL boolean (MariaDB's is TINYINT)   */
  UVODBC_TYPE_TEXT,      /* CHAR, VARCHAR, text, GUID; UTF-8, not NUL-safe   */
  UVODBC_TYPE_DECIMAL,   /* DECIMAL, NUMERIC, unsigned BIGINT: exact text    */
  UVODBC_TYPE_BINARY,    /* BINARY, VARBINARY, BLOB, bytea                  */
  UVODBC_TYPE_DATE,
  UVODBC_TYPE_TIME,
  UVODBC_TYPE_TIMESTAMP  /* with fractional seconds (nanoseconds)           */
} uvodbc_type_t;

/* Calendar value for DATE (time fields 0), TIME (date fields 0) and
 * TIMESTAMP. */
typedef struct uvodbc_timestamp_s {
  int16_t year;
  uint8_t month, day, hour, minute, second;
  uint32_t nanosecond;
} uvodbc_timestamp_t;

/* Direction of a parameter: IN by default; OUT and INOUT for procedure
 * and function calls (uvodbc_conn_call). */
typedef enum {
  UVODBC_PARAM_IN = 0,
  UVODBC_PARAM_OUT,
  UVODBC_PARAM_INOUT
} uvodbc_param_dir_t;

/* A statement parameter.  Build with the uvodbc_param_*() helpers.  Text,
 * decimal and binary point at caller memory, which the library copies before
 * the starting call returns. */
typedef struct uvodbc_param_s {
  uvodbc_type_t type;
  uvodbc_param_dir_t direction;
  size_t out_size; /* OUT / INOUT text, decimal, binary: buffer bytes
                      (0: 8000) */
  union {
    int64_t i64;
    double f64;
    int boolean;
    struct {
      const void* ptr;
      size_t len;
    } bytes;
    uvodbc_timestamp_t ts;
  } v;
} uvodbc_param_t;

#define UVODBC_PARAM_INIT_(t) {(t), UVODBC_PARAM_IN, 0, {0}}

static inline uvodbc_param_t uvodbc_param_null(void) {
  uvodbc_param_t p = UVODBC_PARAM_INIT_(UVODBC_TYPE_NULL);
  return p;
}
static inline uvodbc_param_t uvodbc_param_int64(int64_t x) {
  uvodbc_param_t p = UVODBC_PARAM_INIT_(UVODBC_TYPE_INT64);
  p.v.i64 = x;
  return p;
}
static inline uvodbc_param_t uvodbc_param_double(double x) {
  uvodbc_param_t p = UVODBC_PARAM_INIT_(UVODBC_TYPE_DOUBLE);
  p.v.f64 = x;
  return p;
}
static inline uvodbc_param_t uvodbc_param_bool(int x) {
  uvodbc_param_t p = UVODBC_PARAM_INIT_(UVODBC_TYPE_BOOL);
  p.v.boolean = x != 0;
  return p;
}
/* UTF-8 text of len bytes; len SIZE_MAX means NUL-terminated. */
static inline uvodbc_param_t uvodbc_param_text(const char* s, size_t len) {
  uvodbc_param_t p = UVODBC_PARAM_INIT_(UVODBC_TYPE_TEXT);
  p.v.bytes.ptr = s;
  p.v.bytes.len = len;
  return p;
}
/* Exact decimal as text ("-12.3400"); len SIZE_MAX means NUL-terminated. */
static inline uvodbc_param_t uvodbc_param_decimal(const char* s, size_t len) {
  uvodbc_param_t p = uvodbc_param_text(s, len);
  p.type = UVODBC_TYPE_DECIMAL;
  return p;
}
static inline uvodbc_param_t uvodbc_param_binary(const void* b, size_t len) {
  uvodbc_param_t p = UVODBC_PARAM_INIT_(UVODBC_TYPE_BINARY);
  p.v.bytes.ptr = b;
  p.v.bytes.len = len;
  return p;
}
/* type is UVODBC_TYPE_DATE, UVODBC_TYPE_TIME or UVODBC_TYPE_TIMESTAMP. */
static inline uvodbc_param_t uvodbc_param_datetime(uvodbc_type_t type,
                                                   uvodbc_timestamp_t ts) {
  uvodbc_param_t p = UVODBC_PARAM_INIT_(type);
  p.v.ts = ts;
  return p;
}
/* An output parameter of `type`; out_size bounds text and binary (0: 8000). */
static inline uvodbc_param_t uvodbc_param_out(uvodbc_type_t type,
                                              size_t out_size) {
  uvodbc_param_t p = UVODBC_PARAM_INIT_(type);
  p.direction = UVODBC_PARAM_OUT;
  p.out_size = out_size;
  return p;
}
/* `in` as an input/output parameter. */
static inline uvodbc_param_t uvodbc_param_inout(uvodbc_param_t in,
                                                size_t out_size) {
  in.direction = UVODBC_PARAM_INOUT;
  in.out_size = out_size;
  return in;
}

/* One column of input values for uvodbc_conn_bulk_columns(): nrows entries
 * in `values`, whose element type follows `type`:
 *   INT64 int64_t, DOUBLE double, BOOL uint8_t (nonzero is true),
 *   TEXT and DECIMAL const char* (UTF-8 / exact decimal text),
 *   BINARY const void*, DATE / TIME / TIMESTAMP uvodbc_timestamp_t,
 *   NULL: `values` unused, every row NULL.
 * `lengths` gives the byte length of each TEXT, DECIMAL or BINARY value
 * (required for BINARY; NULL or SIZE_MAX: the text is NUL-terminated).
 * `nulls`, if not NULL, marks the rows whose value is NULL (nonzero). */
typedef struct uvodbc_param_column_s {
  uvodbc_type_t type;
  const void* values;
  const size_t* lengths;
  const uint8_t* nulls;
} uvodbc_param_column_t;

/* One diagnostic record, copied on the worker right after the ODBC call that
 * produced it.  Warnings (SQL_SUCCESS_WITH_INFO) are kept too. */
typedef struct uvodbc_diag_s {
  char sqlstate[6];     /* "42S02", NUL-terminated                        */
  int32_t native;       /* driver's native error code                      */
  const char* message;  /* UTF-8; a connection string's password redacted */
  const char* function; /* ODBC function: "SQLExecDirect"                  */
} uvodbc_diag_t;

typedef struct uvodbc_column_s {
  const char* name;     /* UTF-8, valid while the cursor / batch lives   */
  int16_t sql_type;     /* SQL_INTEGER, SQL_WVARCHAR, ...               */
  uint64_t size;        /* column size as the driver describes it       */
  int16_t decimal_digits;
  int nullable;         /* SQL_NO_NULLS, SQL_NULLABLE, SQL_NULLABLE_UNKNOWN */
  uvodbc_type_t type;   /* how uvodbc reads it: the batch accessor to use */
} uvodbc_column_t;

/* A parameter of a prepared statement as the driver describes it
 * (SQLDescribeParam).  Drivers that cannot describe parameters leave
 * `described` 0; binding then uses the uvodbc_param_t's own type. */
typedef struct uvodbc_param_info_s {
  int described;
  int16_t sql_type;
  uint64_t size;
  int16_t decimal_digits;
  int nullable;
} uvodbc_param_info_t;

/* Catalog functions; each returns a result set (see the ODBC reference of
 * the function named for its columns). */
typedef enum {
  UVODBC_CATALOG_TABLES,            /* SQLTables                          */
  UVODBC_CATALOG_COLUMNS,           /* SQLColumns                         */
  UVODBC_CATALOG_PRIMARY_KEYS,      /* SQLPrimaryKeys                     */
  UVODBC_CATALOG_FOREIGN_KEYS,      /* SQLForeignKeys                     */
  UVODBC_CATALOG_STATISTICS,        /* SQLStatistics: indexes             */
  UVODBC_CATALOG_PROCEDURES,        /* SQLProcedures                      */
  UVODBC_CATALOG_PROCEDURE_COLUMNS, /* SQLProcedureColumns                */
  UVODBC_CATALOG_TYPE_INFO          /* SQLGetTypeInfo                     */
} uvodbc_catalog_t;

/* Arguments of a catalog call; NULL means "any".  Names are search
 * patterns where ODBC says so (% and _). */
typedef struct uvodbc_catalog_args_s {
  const char* catalog;
  const char* schema;
  const char* table;      /* TABLES, COLUMNS, *_KEYS (primary side), STATISTICS */
  const char* table_type; /* TABLES: "TABLE,VIEW"                           */
  const char* column;     /* COLUMNS, PROCEDURE_COLUMNS                     */
  const char* procedure;  /* PROCEDURES, PROCEDURE_COLUMNS                  */
  const char* fk_catalog; /* FOREIGN_KEYS: the referencing side             */
  const char* fk_schema;
  const char* fk_table;
  int unique_only;        /* STATISTICS                                     */
  int16_t data_type;      /* TYPE_INFO: an SQL type, 0 = all                */
} uvodbc_catalog_args_t;

/* Driver and DBMS facts (SQLGetInfo), empty or 0 where not reported. */
typedef struct uvodbc_info_s {
  char dbms_name[128];
  char dbms_version[64];
  char driver_name[128];
  char driver_version[64];
  char driver_odbc_version[16];
  char dm_odbc_version[16];
  char data_source_name[128];
  char server_name[128];
  char database_name[128];
  char user_name[128];
  char identifier_quote[8];
  char catalog_term[64];
  char schema_term[64];
  char table_term[64];
  char procedure_term[64];
  char catalog_separator[8];
  char search_pattern_escape[8];
  char keywords[2048];
  int procedures;             /* SQL_PROCEDURES "Y"                       */
  int multiple_result_sets;   /* SQL_MULT_RESULT_SETS "Y"                 */
  uint16_t max_column_name_len;
  uint16_t max_table_name_len;
  uint16_t max_schema_name_len;
  uint32_t max_statement_len;
  uint16_t txn_capable;       /* SQL_TC_*                                 */
  uint32_t default_txn_isolation; /* SQL_TXN_* bit                        */
  uint32_t txn_isolation_options; /* SQL_TXN_* bits supported            */
  uint32_t getdata_extensions;    /* SQL_GD_* bits                        */
  uint32_t param_array_row_counts; /* SQL_PARC_*                          */
  uint32_t sql_conformance;       /* SQL_SC_*                             */
} uvodbc_info_t;

/* The fate of one row of a bulk execution (uvodbc_conn_bulk). */
typedef enum {
  UVODBC_ROW_OK = 0,  /* executed                                        */
  UVODBC_ROW_ERROR,   /* the driver reports this row failed              */
  UVODBC_ROW_UNKNOWN, /* in a failed batch, the driver does not say      */
  UVODBC_ROW_NOT_RUN  /* never executed (after a failure, or cancelled)  */
} uvodbc_row_status_t;

#endif /* UVODBC_TYPES_H */
