/* Value types: every supported type goes through a typed parameter into a
 * real table column and back through a SELECT, read both with
 * uvodbc_conn_query() (the whole result, compacted) and with
 * uvodbc_conn_exec() + uvodbc_cursor_fetch() (the statement's own batch,
 * two rows per batch so that rows cross batches).  Plus column metadata and
 * the typed accessors' errors.
 *
 * What each driver gives back where they differ (asserted below):
 * - BOOLEAN: PostgreSQL (BoolsAsChar=0) and SQLite describe SQL_BIT and read
 *   as UVODBC_TYPE_BOOL; MariaDB's BOOLEAN is TINYINT(1), described
 *   SQL_TINYINT, read as UVODBC_TYPE_INT64 (1 / 0).
 * - DECIMAL(38,10): PostgreSQL (SQL_NUMERIC) and MariaDB (SQL_DECIMAL) keep
 *   all 38 digits and read as UVODBC_TYPE_DECIMAL.  SQLite's NUMERIC
 *   affinity turns such a value into a REAL (15 significant digits), so on
 *   SQLite the decimals go into a TEXT column, where they stay exact and
 *   read as UVODBC_TYPE_TEXT.
 * - Nullability: SQLite's driver reports every column SQL_NULLABLE, NOT
 *   NULL ones too.
 * - -0.0: PostgreSQL keeps the sign; MariaDB's server drops it, SQLite
 *   stores an integral REAL as an integer: both give back +0.0.
 * - Doubles: exact on PostgreSQL and MariaDB; SQLite's driver reads a REAL
 *   through text of 15 significant digits (see expected_double).
 * - TIME: PostgreSQL describes every TIME with 6 fractional digits, MariaDB
 *   TIME(n) with n; the library reads those (and SQLite's, stored as text)
 *   as text to keep the fraction SQL_TIME_STRUCT has no room for. */
#include <float.h>
#include <math.h>
#include <stdlib.h>

#include <sqlext.h>

#include "uvodbc-test.h"

#define TIMEOUT_S 60

/* Column type for this driver. */
static const char* ty(const char* sqlite, const char* pg, const char* maria) {
  switch (test_driver()) {
    case TEST_PG:
      return pg;
    case TEST_MARIADB:
      return maria;
    default:
      return sqlite;
  }
}

#define LONG_TEXT ty("TEXT", "TEXT", "LONGTEXT")
#define LONG_BINARY ty("BLOB", "BYTEA", "LONGBLOB")
#define SHORT_BINARY ty("VARBINARY(300)", "BYTEA", "VARBINARY(300)")
#define DOUBLE_TYPE ty("REAL", "DOUBLE PRECISION", "DOUBLE")
#define TIMESTAMP_TYPE ty("TIMESTAMP", "TIMESTAMP(6)", "DATETIME(6)")

/* ---- one call, run to completion ---- */

typedef struct {
  int calls;
  int status;
  uvodbc_req_t req;
} call_t;

static void on_call(uvodbc_req_t* req, int status) {
  call_t* c = req->data;
  c->calls++;
  c->status = status;
  if (status != 0) test_print_diags(req, "types");
}

/* ---- cell checks ---- */

static void expect_int64(const uvodbc_batch_t* b, size_t col, size_t row,
                         int64_t want) {
  int64_t v = 0;
  ck_assert_int_eq(uvodbc_batch_column(b, col)->type, UVODBC_TYPE_INT64);
  ck_assert_int_eq(uvodbc_batch_get_int64(b, col, row, &v), 0);
  ck_assert_msg(v == want, "row %zu col %zu: %lld, want %lld", row, col,
                (long long)v, (long long)want);
}

static void expect_bytes(const uvodbc_batch_t* b, size_t col, size_t row,
                         const void* want, size_t want_len) {
  const void* p = NULL;
  size_t len = (size_t)-1;
  ck_assert_int_eq(uvodbc_batch_is_null(b, col, row), 0);
  ck_assert_int_eq(uvodbc_batch_get_binary(b, col, row, &p, &len), 0);
  ck_assert_uint_eq(len, want_len);
  ck_assert_msg(want_len == 0 || memcmp(p, want, want_len) == 0,
                "row %zu col %zu: bytes differ", row, col);
}

static void expect_text(const uvodbc_batch_t* b, size_t col, size_t row,
                        const char* want, size_t want_len) {
  const char* p = NULL;
  size_t len = (size_t)-1;
  ck_assert_int_eq(uvodbc_batch_is_null(b, col, row), 0);
  ck_assert_int_eq(uvodbc_batch_get_text(b, col, row, &p, &len), 0);
  ck_assert_uint_eq(len, want_len);
  ck_assert_msg(memcmp(p, want, want_len) == 0, "row %zu col %zu: '%.80s'",
                row, col, p);
  ck_assert_int_eq(p[len], '\0'); /* NUL-terminated too */
}

static void expect_null(const uvodbc_batch_t* b, size_t col, size_t row) {
  const char* p;
  ck_assert_int_eq(uvodbc_batch_is_null(b, col, row), 1);
  ck_assert_int_eq(uvodbc_batch_get_text(b, col, row, &p, NULL),
                   UVODBC_ENULL);
}

/* ======================================================================== */
/* NULL versus empty text, in a short (block-bound) and a long (SQLGetData)
 * column. */

static void check_null_vs_empty(const uvodbc_batch_t* b, size_t row,
                                size_t index, void* arg) {
  (void)arg;
  ck_assert_uint_eq(uvodbc_batch_ncols(b), 3);
  expect_int64(b, 0, row, (int64_t)index + 1);
  ck_assert_int_eq(uvodbc_batch_column(b, 1)->type, UVODBC_TYPE_TEXT);
  ck_assert_int_eq(uvodbc_batch_column(b, 2)->type, UVODBC_TYPE_TEXT);
  if (index == 0) { /* NULL */
    expect_null(b, 1, row);
    expect_null(b, 2, row);
  } else { /* '' */
    expect_text(b, 1, row, "", 0);
    expect_text(b, 2, row, "", 0);
  }
}

START_TEST(types_null_vs_empty) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  char cols[256];
  uvodbc_param_t p[3];

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  snprintf(cols, sizeof(cols), "id INTEGER, vs VARCHAR(20), lt %s",
           LONG_TEXT);
  test_make_table(&loop, conn, "types_null_vs_empty", cols);

  p[0] = uvodbc_param_int64(1);
  p[1] = uvodbc_param_null();
  p[2] = uvodbc_param_null();
  ck_assert_int_eq(test_exec_params(&loop, conn,
                                    "INSERT INTO types_null_vs_empty "
                                    "VALUES (?, ?, ?)",
                                    p, 3),
                   1);
  p[0] = uvodbc_param_int64(2);
  p[1] = uvodbc_param_text("", 0);
  p[2] = uvodbc_param_text("", SIZE_MAX);
  ck_assert_int_eq(test_exec_params(&loop, conn,
                                    "INSERT INTO types_null_vs_empty "
                                    "VALUES (?, ?, ?)",
                                    p, 3),
                   1);
  test_select_both(&loop, conn,
              "SELECT id, vs, lt FROM types_null_vs_empty ORDER BY id", NULL,
              0, 2, check_null_vs_empty, NULL);
  /* The server agrees: one NULL, one empty string. */
  ck_assert_int_eq(test_query_int(&loop, conn,
                                  "SELECT COUNT(*) FROM types_null_vs_empty "
                                  "WHERE vs IS NULL AND lt IS NULL"),
                   1);
  ck_assert_int_eq(test_query_int(&loop, conn,
                                  "SELECT COUNT(*) FROM types_null_vs_empty "
                                  "WHERE vs = '' AND lt = ''"),
                   1);
  test_drop_table(&loop, conn, "types_null_vs_empty");
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* NULL parameters into columns of every type. */

static void check_null_all(const uvodbc_batch_t* b, size_t row, size_t index,
                           void* arg) {
  size_t c;
  (void)arg;
  (void)index;
  ck_assert_uint_eq(uvodbc_batch_ncols(b), 9);
  for (c = 0; c < 9; c++) {
    int64_t i;
    double d;
    int bo;
    const char* t;
    const void* bin;
    uvodbc_timestamp_t ts;
    ck_assert_int_eq(uvodbc_batch_is_null(b, c, row), 1);
    switch (uvodbc_batch_column(b, c)->type) {
      case UVODBC_TYPE_INT64:
        ck_assert_int_eq(uvodbc_batch_get_int64(b, c, row, &i), UVODBC_ENULL);
        break;
      case UVODBC_TYPE_DOUBLE:
        ck_assert_int_eq(uvodbc_batch_get_double(b, c, row, &d), UVODBC_ENULL);
        break;
      case UVODBC_TYPE_BOOL:
        ck_assert_int_eq(uvodbc_batch_get_bool(b, c, row, &bo), UVODBC_ENULL);
        break;
      case UVODBC_TYPE_TEXT:
      case UVODBC_TYPE_DECIMAL:
        ck_assert_int_eq(uvodbc_batch_get_text(b, c, row, &t, NULL),
                         UVODBC_ENULL);
        break;
      case UVODBC_TYPE_BINARY:
        ck_assert_int_eq(uvodbc_batch_get_binary(b, c, row, &bin, NULL),
                         UVODBC_ENULL);
        break;
      default:
        ck_assert_int_eq(uvodbc_batch_get_timestamp(b, c, row, &ts),
                         UVODBC_ENULL);
        break;
    }
  }
}

START_TEST(types_null_all_columns) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  char cols[512];
  uvodbc_param_t p[9];
  size_t i;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  snprintf(cols, sizeof(cols),
           "i BIGINT, d %s, b BOOLEAN, dc %s, t VARCHAR(10), bn %s, "
           "da DATE, ti TIME, ts %s",
           DOUBLE_TYPE, ty("TEXT", "DECIMAL(38,10)", "DECIMAL(38,10)"),
           SHORT_BINARY, TIMESTAMP_TYPE);
  test_make_table(&loop, conn, "types_null_all_columns", cols);
  for (i = 0; i < 9; i++) p[i] = uvodbc_param_null();
  ck_assert_int_eq(
      test_exec_params(&loop, conn,
          "INSERT INTO types_null_all_columns VALUES (?,?,?,?,?,?,?,?,?)",
          p, 9),
      1);
  test_select_both(&loop, conn, "SELECT * FROM types_null_all_columns", NULL, 0, 1,
              check_null_all, NULL);
  ck_assert_int_eq(
      test_query_int(&loop, conn,
                     "SELECT COUNT(*) FROM types_null_all_columns WHERE "
                     "i IS NULL AND d IS NULL AND b IS NULL AND dc IS NULL "
                     "AND t IS NULL AND bn IS NULL AND da IS NULL AND ti IS "
                     "NULL AND ts IS NULL"),
      1);
  test_drop_table(&loop, conn, "types_null_all_columns");
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* ======================================================================== */
/* 64-bit integers. */

static const int64_t int64_values[] = {INT64_MIN, INT64_MAX, 0, -1,
                                       INT64_MIN + 1, 4294967296LL};
#define NINT64 (sizeof(int64_values) / sizeof(int64_values[0]))

static void check_int64(const uvodbc_batch_t* b, size_t row, size_t index,
                        void* arg) {
  (void)arg;
  ck_assert_uint_eq(uvodbc_batch_ncols(b), 2);
  expect_int64(b, 0, row, (int64_t)index);
  expect_int64(b, 1, row, int64_values[index]);
  ck_assert_int_eq(uvodbc_batch_column(b, 1)->sql_type, SQL_BIGINT);
}

START_TEST(types_int64_minmax) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_param_t p[2];
  size_t i;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, "types_int64_minmax", "id INTEGER, v BIGINT");
  for (i = 0; i < NINT64; i++) {
    p[0] = uvodbc_param_int64((int64_t)i);
    p[1] = uvodbc_param_int64(int64_values[i]);
    test_exec_params(&loop, conn,
        "INSERT INTO types_int64_minmax VALUES (?, ?)", p, 2);
  }
  test_select_both(&loop, conn,
              "SELECT id, v FROM types_int64_minmax ORDER BY id", NULL, 0,
              NINT64, check_int64, NULL);
  /* The server holds the exact values, not a rounded double. */
  ck_assert_int_eq(test_query_int(&loop, conn,
                                  "SELECT COUNT(*) FROM types_int64_minmax "
                                  "WHERE v = 9223372036854775807 OR "
                                  "v = -9223372036854775807 - 1"),
                   2);
  /* And a parameter compares exactly with them. */
  p[0] = uvodbc_param_int64(INT64_MIN);
  test_select_both(&loop, conn, "SELECT id, v FROM types_int64_minmax WHERE v = ?",
              p, 1, 1, check_int64, NULL);
  test_drop_table(&loop, conn, "types_int64_minmax");
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* ======================================================================== */
/* Doubles: exact bits. */

static const double double_values[] = {
    0.1,       1e308, -1e308,  DBL_MAX, DBL_MIN, 0.30000000000000004,
    1.0 / 3.0, -2.5,  123456789.12345678,
    2.2250738585072009e-308, /* the largest subnormal */
    -0.0};
#define NDOUBLE (sizeof(double_values) / sizeof(double_values[0]))

static double expected_double(size_t i) {
  char text[64];
  /* MariaDB keeps no negative zero (the server itself turns -0e0 into
   * 0); SQLite stores an integral REAL as an integer: +0.0 both. */
  if (test_driver() != TEST_PG && double_values[i] == 0.0) return 0.0;
  if (test_driver() != TEST_SQLITE) return double_values[i];
  /* SQLite's driver hands a REAL over as text of 15 significant digits, so
   * a double that needs 16 or 17 loses its last bits (DBL_MAX overflows to
   * inf).  The parameter reaches SQLite exact (see the WHERE below); the
   * loss is on the way out, inside the driver. */
  snprintf(text, sizeof(text), "%.15g", double_values[i]);
  return strtod(text, NULL);
}

static void check_double(const uvodbc_batch_t* b, size_t row, size_t index,
                         void* arg) {
  double v = 42.0, want = expected_double(index);
  (void)arg;
  ck_assert_uint_eq(uvodbc_batch_ncols(b), 2);
  expect_int64(b, 0, row, (int64_t)index);
  ck_assert_int_eq(uvodbc_batch_column(b, 1)->type, UVODBC_TYPE_DOUBLE);
  ck_assert_int_eq(uvodbc_batch_get_double(b, 1, row, &v), 0);
  ck_assert_msg(memcmp(&v, &want, sizeof(v)) == 0,
                "row %zu: %.17g (bits differ), want %.17g", index, v, want);
}

static int64_t count_where(uv_loop_t* loop, uvodbc_conn_t* conn,
                           const uvodbc_param_t* p) {
  uvodbc_batch_t* b = test_query(
      loop, conn, "SELECT COUNT(*) FROM types_double_exact WHERE v = ?", p, 1);
  int64_t n = -1;
  ck_assert_int_eq(uvodbc_batch_get_int64(b, 0, 0, &n), 0);
  test_free_result(b);
  return n;
}

START_TEST(types_double_exact) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_param_t p[2];
  char cols[128];
  size_t i;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  snprintf(cols, sizeof(cols), "id INTEGER, v %s", DOUBLE_TYPE);
  test_make_table(&loop, conn, "types_double_exact", cols);
  for (i = 0; i < NDOUBLE; i++) {
    p[0] = uvodbc_param_int64((int64_t)i);
    p[1] = uvodbc_param_double(double_values[i]);
    test_exec_params(&loop, conn,
        "INSERT INTO types_double_exact VALUES (?, ?)", p, 2);
  }
  test_select_both(&loop, conn, "SELECT id, v FROM types_double_exact ORDER BY id",
              NULL, 0, NDOUBLE, check_double, NULL);
  /* Stored exactly: a parameter of the same value finds each row, one of
   * a neighbouring value does not.  (Not literals: SQLite parses them with
   * long double, which valgrind does not emulate exactly.) */
  for (i = 0; i + 1 < NDOUBLE; i++) { /* -0.0 == 0.0: not that one */
    double next = nextafter(double_values[i], 0.0);
    size_t j;
    for (j = 0; j < NDOUBLE; j++) /* DBL_MIN's neighbour is in the table */
      if (double_values[j] == next)
        next = nextafter(double_values[i], HUGE_VAL);
    p[0] = uvodbc_param_double(double_values[i]);
    ck_assert_msg(count_where(&loop, conn, p) == 1, "%.17g",
                  double_values[i]);
    p[0] = uvodbc_param_double(next);
    ck_assert_msg(count_where(&loop, conn, p) == 0, "%.17g", next);
  }
  test_drop_table(&loop, conn, "types_double_exact");
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* ======================================================================== */
/* Booleans. */

static void check_bool(const uvodbc_batch_t* b, size_t row, size_t index,
                       void* arg) {
  const uvodbc_column_t* c = uvodbc_batch_column(b, 1);
  (void)arg;
  expect_int64(b, 0, row, (int64_t)index);
  if (test_driver() == TEST_MARIADB) {
    /* BOOLEAN is TINYINT(1): an integer 1 / 0. */
    ck_assert_int_eq(c->sql_type, SQL_TINYINT);
    ck_assert_int_eq(c->type, UVODBC_TYPE_INT64);
  } else {
    ck_assert_int_eq(c->sql_type, SQL_BIT);
    ck_assert_int_eq(c->type, UVODBC_TYPE_BOOL);
  }
  if (index == 2) {
    int v;
    ck_assert_int_eq(uvodbc_batch_is_null(b, 1, row), 1);
    ck_assert_int_eq(uvodbc_batch_get_bool(b, 1, row, &v), UVODBC_ENULL);
    return;
  }
  if (c->type == UVODBC_TYPE_BOOL) {
    int v = 42;
    ck_assert_int_eq(uvodbc_batch_get_bool(b, 1, row, &v), 0);
    ck_assert_int_eq(v, index == 0 ? 1 : 0);
  } else {
    expect_int64(b, 1, row, index == 0 ? 1 : 0);
  }
}

START_TEST(types_bool) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_param_t p[2];

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  test_make_table(&loop, conn, "types_bool", "id INTEGER, v BOOLEAN");
  p[0] = uvodbc_param_int64(0);
  p[1] = uvodbc_param_bool(7); /* any non-zero is true */
  test_exec_params(&loop, conn, "INSERT INTO types_bool VALUES (?, ?)", p, 2);
  p[0] = uvodbc_param_int64(1);
  p[1] = uvodbc_param_bool(0);
  test_exec_params(&loop, conn, "INSERT INTO types_bool VALUES (?, ?)", p, 2);
  p[0] = uvodbc_param_int64(2);
  p[1] = uvodbc_param_null();
  test_exec_params(&loop, conn, "INSERT INTO types_bool VALUES (?, ?)", p, 2);
  test_select_both(&loop, conn, "SELECT id, v FROM types_bool ORDER BY id", NULL,
              0, 3, check_bool, NULL);
  /* A boolean parameter in a comparison finds the true row. */
  p[0] = uvodbc_param_bool(1);
  test_select_both(&loop, conn, "SELECT id, v FROM types_bool WHERE v = ?", p, 1,
              1, check_bool, NULL);
  test_drop_table(&loop, conn, "types_bool");
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* ======================================================================== */
/* DECIMAL(38,10): every digit, negative values, leading zeros after the
 * point.  Values carry all 10 fractional digits, as the column gives them
 * back. */

static const char* const decimal_values[] = {
    "1234567890123456789012345678.1234567890",
    "-9999999999999999999999999999.9999999999",
    "0.0000000001",
    "-0.0000012345",
    "0.0500000000",
    "-1.5000000000",
    "0.0000000000",
    "9999999999999999999999999999.9999999999"};
#define NDECIMAL (sizeof(decimal_values) / sizeof(decimal_values[0]))

static void check_decimal(const uvodbc_batch_t* b, size_t row, size_t index,
                          void* arg) {
  const uvodbc_column_t* c = uvodbc_batch_column(b, 1);
  size_t i = arg != NULL ? *(const size_t*)arg : index;
  expect_int64(b, 0, row, (int64_t)i);
  if (test_driver() == TEST_SQLITE) {
    ck_assert_int_eq(c->type, UVODBC_TYPE_TEXT); /* a TEXT column */
  } else {
    ck_assert_int_eq(c->type, UVODBC_TYPE_DECIMAL);
    ck_assert_int_eq(c->sql_type, test_driver() == TEST_PG
                                      ? SQL_NUMERIC
                                      : SQL_DECIMAL);
    ck_assert_int_eq(c->size, 38);
    ck_assert_int_eq(c->decimal_digits, 10);
  }
  expect_text(b, 1, row, decimal_values[i], strlen(decimal_values[i]));
}

START_TEST(types_decimal_38) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_param_t p[2];
  char cols[128];
  size_t i;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  /* SQLite: NUMERIC affinity would turn these into 15-digit REALs; a TEXT
   * column keeps the digits (see the comment at the top). */
  snprintf(cols, sizeof(cols), "id INTEGER, v %s",
           ty("TEXT", "DECIMAL(38,10)", "DECIMAL(38,10)"));
  test_make_table(&loop, conn, "types_decimal_38", cols);
  for (i = 0; i < NDECIMAL; i++) {
    p[0] = uvodbc_param_int64((int64_t)i);
    p[1] = uvodbc_param_decimal(decimal_values[i], SIZE_MAX);
    test_exec_params(&loop, conn,
        "INSERT INTO types_decimal_38 VALUES (?, ?)", p, 2);
  }
  test_select_both(&loop, conn, "SELECT id, v FROM types_decimal_38 ORDER BY id",
              NULL, 0, NDECIMAL, check_decimal, NULL);
  if (test_driver() != TEST_SQLITE) {
    /* The server holds the exact numbers: found by exact literals... */
    ck_assert_int_eq(
        test_query_int(&loop, conn,
                       "SELECT COUNT(*) FROM types_decimal_38 WHERE "
                       "v = 1234567890123456789012345678.123456789 OR "
                       "v = -0.0000012345 OR v = 0.0000000001"),
        3);
    /* ...and by a decimal parameter with fewer trailing zeros. */
    i = 4;
    p[0] = uvodbc_param_decimal("0.05", 4);
    test_select_both(&loop, conn, "SELECT id, v FROM types_decimal_38 WHERE v = ?",
                p, 1, 1, check_decimal, &i);
  }
  test_drop_table(&loop, conn, "types_decimal_38");
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* ======================================================================== */
/* DATE, TIME, TIMESTAMP with and without fractions. */

typedef struct {
  uvodbc_timestamp_t date, time, ts;
} datetime_row_t;

static const datetime_row_t datetime_rows[] = {
    {{2024, 2, 29, 0, 0, 0, 0},
     {0, 0, 0, 23, 59, 58, 0},
     {2024, 2, 29, 13, 45, 7, 123456000}},
    {{1999, 12, 31, 0, 0, 0, 0},
     {0, 0, 0, 0, 0, 0, 0},
     {1970, 1, 1, 0, 0, 0, 0}},
    {{2038, 1, 19, 0, 0, 0, 0},
     {0, 0, 0, 12, 34, 56, 0},
     {2038, 1, 19, 3, 14, 8, 1000}},
    {{1000, 1, 1, 0, 0, 0, 0},
     {0, 0, 0, 1, 2, 3, 0},
     {9999, 12, 31, 23, 59, 59, 999999000}}};
#define NDATETIME (sizeof(datetime_rows) / sizeof(datetime_rows[0]))

static void expect_ts(const uvodbc_batch_t* b, size_t col, size_t row,
                      uvodbc_type_t type, const uvodbc_timestamp_t* want) {
  uvodbc_timestamp_t v;
  memset(&v, 0x5a, sizeof(v));
  ck_assert_int_eq(uvodbc_batch_column(b, col)->type, type);
  ck_assert_int_eq(uvodbc_batch_get_timestamp(b, col, row, &v), 0);
  ck_assert_msg(v.year == want->year && v.month == want->month &&
                    v.day == want->day && v.hour == want->hour &&
                    v.minute == want->minute && v.second == want->second &&
                    v.nanosecond == want->nanosecond,
                "row %zu col %zu: %04d-%02u-%02u %02u:%02u:%02u.%09u", row,
                col, v.year, v.month, v.day, v.hour, v.minute, v.second,
                (unsigned)v.nanosecond);
}

static void check_datetime(const uvodbc_batch_t* b, size_t row, size_t index,
                           void* arg) {
  const datetime_row_t* want = &datetime_rows[index];
  (void)arg;
  ck_assert_uint_eq(uvodbc_batch_ncols(b), 4);
  expect_int64(b, 0, row, (int64_t)index);
  expect_ts(b, 1, row, UVODBC_TYPE_DATE, &want->date);
  expect_ts(b, 2, row, UVODBC_TYPE_TIME, &want->time);
  expect_ts(b, 3, row, UVODBC_TYPE_TIMESTAMP, &want->ts);
}

START_TEST(types_datetime) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_param_t p[4];
  char cols[128];
  size_t i;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  snprintf(cols, sizeof(cols), "id INTEGER, da DATE, ti TIME, ts %s",
           TIMESTAMP_TYPE);
  test_make_table(&loop, conn, "types_datetime", cols);
  for (i = 0; i < NDATETIME; i++) {
    p[0] = uvodbc_param_int64((int64_t)i);
    p[1] = uvodbc_param_datetime(UVODBC_TYPE_DATE, datetime_rows[i].date);
    p[2] = uvodbc_param_datetime(UVODBC_TYPE_TIME, datetime_rows[i].time);
    p[3] = uvodbc_param_datetime(UVODBC_TYPE_TIMESTAMP, datetime_rows[i].ts);
    test_exec_params(&loop, conn,
        "INSERT INTO types_datetime VALUES (?, ?, ?, ?)", p, 4);
  }
  test_select_both(&loop, conn,
              "SELECT id, da, ti, ts FROM types_datetime ORDER BY id", NULL, 0,
              NDATETIME, check_datetime, NULL);
  /* A timestamp parameter with microseconds finds its row exactly. */
  p[0] = uvodbc_param_datetime(UVODBC_TYPE_TIMESTAMP, datetime_rows[2].ts);
  {
    call_t q;
    memset(&q, 0, sizeof(q));
    q.req.data = &q;
    ck_assert_int_eq(uvodbc_conn_query(conn, &q.req,
                                       "SELECT id FROM types_datetime WHERE "
                                       "ts = ?",
                                       p, 1, NULL, on_call),
                     0);
    uv_run(&loop, UV_RUN_DEFAULT);
    ck_assert_int_eq(q.calls, 1);
    ck_assert_int_eq(q.status, 0);
    ck_assert_uint_eq(uvodbc_batch_nrows(q.req.batch), 1);
    expect_int64(q.req.batch, 0, 0, 2);
    uvodbc_req_cleanup(&q.req);
  }
  test_drop_table(&loop, conn, "types_datetime");
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* TIME with fractional seconds: the value type carries nanoseconds for
 * TIME too, and SQL_TIME_STRUCT has none. */

static const uvodbc_timestamp_t time_values[] = {
    {0, 0, 0, 12, 34, 56, 789000000},
    {0, 0, 0, 0, 0, 0, 1000},
    {0, 0, 0, 23, 59, 59, 999999000},
    {0, 0, 0, 1, 2, 3, 0}};
#define NTIME (sizeof(time_values) / sizeof(time_values[0]))

static void check_time(const uvodbc_batch_t* b, size_t row, size_t index,
                       void* arg) {
  (void)arg;
  ck_assert_uint_eq(uvodbc_batch_ncols(b), 2);
  expect_int64(b, 0, row, (int64_t)index);
  ck_assert_int_eq(uvodbc_batch_column(b, 1)->sql_type, SQL_TYPE_TIME);
  expect_ts(b, 1, row, UVODBC_TYPE_TIME, &time_values[index]);
}

START_TEST(types_time_fraction) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_param_t p[2];
  char cols[128];
  size_t i;

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  snprintf(cols, sizeof(cols), "id INTEGER, t %s",
           ty("TIME", "TIME(6)", "TIME(6)"));
  test_make_table(&loop, conn, "types_time_fraction", cols);
  for (i = 0; i < NTIME; i++) {
    p[0] = uvodbc_param_int64((int64_t)i);
    p[1] = uvodbc_param_datetime(UVODBC_TYPE_TIME, time_values[i]);
    test_exec_params(&loop, conn,
        "INSERT INTO types_time_fraction VALUES (?, ?)", p, 2);
  }
  test_select_both(&loop, conn, "SELECT id, t FROM types_time_fraction ORDER BY id",
              NULL, 0, NTIME, check_time, NULL);
  /* The server holds the fraction: a literal finds the row. */
  ck_assert_int_eq(test_query_int(&loop, conn,
                                  "SELECT id FROM types_time_fraction WHERE "
                                  "t = '12:34:56.789'"),
                   0);
  test_drop_table(&loop, conn, "types_time_fraction");
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* ======================================================================== */
/* Binary: all 256 byte values (zero bytes inside), empty binary. */

static unsigned char all_bytes[256], all_bytes_rev[256];

static void fill_all_bytes(void) {
  size_t i;
  for (i = 0; i < 256; i++) {
    all_bytes[i] = (unsigned char)i;
    all_bytes_rev[i] = (unsigned char)(255 - i);
  }
}

static void check_binary_bytes(const uvodbc_batch_t* b, size_t row,
                               size_t index, void* arg) {
  const unsigned char* want = index == 0 ? all_bytes : all_bytes_rev;
  (void)arg;
  expect_int64(b, 0, row, (int64_t)index);
  ck_assert_int_eq(uvodbc_batch_column(b, 1)->type, UVODBC_TYPE_BINARY);
  ck_assert_int_eq(uvodbc_batch_column(b, 2)->type, UVODBC_TYPE_BINARY);
  expect_bytes(b, 1, row, want, 256);
  expect_bytes(b, 2, row, want, 256);
}

START_TEST(types_binary_all_bytes) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_param_t p[3];
  char cols[128];

  fill_all_bytes();
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  snprintf(cols, sizeof(cols), "id INTEGER, bs %s, bl %s", SHORT_BINARY,
           LONG_BINARY);
  test_make_table(&loop, conn, "types_binary_all_bytes", cols);
  p[0] = uvodbc_param_int64(0);
  p[1] = uvodbc_param_binary(all_bytes, 256);
  p[2] = uvodbc_param_binary(all_bytes, 256);
  test_exec_params(&loop, conn,
      "INSERT INTO types_binary_all_bytes VALUES (?, ?, ?)", p, 3);
  p[0] = uvodbc_param_int64(1);
  p[1] = uvodbc_param_binary(all_bytes_rev, 256);
  p[2] = uvodbc_param_binary(all_bytes_rev, 256);
  test_exec_params(&loop, conn,
      "INSERT INTO types_binary_all_bytes VALUES (?, ?, ?)", p, 3);
  test_select_both(&loop, conn,
              "SELECT id, bs, bl FROM types_binary_all_bytes ORDER BY id",
              NULL, 0, 2, check_binary_bytes, NULL);
  /* The server saw 256 bytes, not a string cut at the first zero byte. */
  ck_assert_int_eq(test_query_int(&loop, conn,
                                  test_driver() == TEST_PG
                                      ? "SELECT MIN(octet_length(bl)) FROM "
                                        "types_binary_all_bytes"
                                      : "SELECT MIN(LENGTH(bl)) FROM "
                                        "types_binary_all_bytes"),
                   256);
  test_drop_table(&loop, conn, "types_binary_all_bytes");
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

static void check_binary_empty(const uvodbc_batch_t* b, size_t row,
                               size_t index, void* arg) {
  (void)arg;
  expect_int64(b, 0, row, (int64_t)index);
  if (index == 0) {
    expect_bytes(b, 1, row, "", 0);
    expect_bytes(b, 2, row, "", 0);
  } else {
    const void* p;
    ck_assert_int_eq(uvodbc_batch_is_null(b, 1, row), 1);
    ck_assert_int_eq(uvodbc_batch_get_binary(b, 2, row, &p, NULL),
                     UVODBC_ENULL);
  }
}

START_TEST(types_binary_empty) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_param_t p[3];
  char cols[128];

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  snprintf(cols, sizeof(cols), "id INTEGER, bs %s, bl %s", SHORT_BINARY,
           LONG_BINARY);
  test_make_table(&loop, conn, "types_binary_empty", cols);
  p[0] = uvodbc_param_int64(0);
  p[1] = uvodbc_param_binary("", 0);
  p[2] = uvodbc_param_binary(NULL, 0); /* no bytes, no pointer needed */
  test_exec_params(&loop, conn,
      "INSERT INTO types_binary_empty VALUES (?, ?, ?)", p, 3);
  p[0] = uvodbc_param_int64(1);
  p[1] = uvodbc_param_null();
  p[2] = uvodbc_param_null();
  test_exec_params(&loop, conn,
      "INSERT INTO types_binary_empty VALUES (?, ?, ?)", p, 3);
  test_select_both(&loop, conn,
              "SELECT id, bs, bl FROM types_binary_empty ORDER BY id", NULL, 0,
              2, check_binary_empty, NULL);
  ck_assert_int_eq(test_query_int(&loop, conn,
                                  "SELECT COUNT(*) FROM types_binary_empty "
                                  "WHERE bs IS NOT NULL AND bl IS NOT NULL"),
                   1);
  test_drop_table(&loop, conn, "types_binary_empty");
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* ======================================================================== */
/* More than 1 MiB of text and of binary, byte-exact. */

#define BIG_TEXT_LEN ((1u << 20) + 4099)
#define BIG_BINARY_LEN ((1u << 20) + 13)

static char* big_text(void) {
  char* s = malloc(BIG_TEXT_LEN + 1);
  size_t i;
  ck_assert_ptr_nonnull(s);
  for (i = 0; i < BIG_TEXT_LEN; i++)
    s[i] = (char)(i % 100 == 99 ? '\n' : 'a' + (i * 7 + i / 1000) % 26);
  s[BIG_TEXT_LEN] = '\0';
  return s;
}

static unsigned char* big_binary(void) {
  unsigned char* b = malloc(BIG_BINARY_LEN);
  size_t i;
  ck_assert_ptr_nonnull(b);
  for (i = 0; i < BIG_BINARY_LEN; i++)
    b[i] = (unsigned char)((i * 31u + (i >> 8)) & 0xff);
  return b;
}

typedef struct {
  const char* text;
  const unsigned char* bin;
} big_t;

static void check_big(const uvodbc_batch_t* b, size_t row, size_t index,
                      void* arg) {
  const big_t* big = arg;
  (void)index;
  expect_int64(b, 0, row, 1);
  ck_assert_int_eq(uvodbc_batch_column(b, 1)->type, UVODBC_TYPE_TEXT);
  ck_assert_int_eq(uvodbc_batch_column(b, 2)->type, UVODBC_TYPE_BINARY);
  expect_text(b, 1, row, big->text, BIG_TEXT_LEN);
  expect_bytes(b, 2, row, big->bin, BIG_BINARY_LEN);
}

static void check_big_binary(const uvodbc_batch_t* b, size_t row,
                             size_t index, void* arg) {
  const big_t* big = arg;
  (void)index;
  expect_int64(b, 0, row, 1);
  ck_assert_int_eq(uvodbc_batch_column(b, 1)->type, UVODBC_TYPE_BINARY);
  expect_bytes(b, 1, row, big->bin, BIG_BINARY_LEN);
}

START_TEST(types_large_text_binary) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_param_t p[3];
  char cols[128];
  big_t big;

  big.text = big_text();
  big.bin = big_binary();
  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  snprintf(cols, sizeof(cols), "id INTEGER, t %s, b %s", LONG_TEXT,
           LONG_BINARY);
  test_make_table(&loop, conn, "types_large_text_binary", cols);
  p[0] = uvodbc_param_int64(1);
  p[1] = uvodbc_param_text(big.text, BIG_TEXT_LEN);
  p[2] = uvodbc_param_binary(big.bin, BIG_BINARY_LEN);
  test_exec_params(&loop, conn,
      "INSERT INTO types_large_text_binary VALUES (?, ?, ?)", p, 3);
  test_select_both(&loop, conn, "SELECT id, t, b FROM types_large_text_binary",
              NULL, 0, 1, check_big, &big);
  /* The binary column alone: no long text column forces row mode. */
  test_select_both(&loop, conn, "SELECT id, b FROM types_large_text_binary", NULL,
              0, 1, check_big_binary, &big);
  /* The server's own lengths. */
  ck_assert_int_eq(test_query_int(&loop, conn,
                                  test_driver() == TEST_PG
                                      ? "SELECT octet_length(t) FROM "
                                        "types_large_text_binary"
                                      : "SELECT LENGTH(t) FROM "
                                        "types_large_text_binary"),
                   BIG_TEXT_LEN);
  ck_assert_int_eq(test_query_int(&loop, conn,
                                  test_driver() == TEST_PG
                                      ? "SELECT octet_length(b) FROM "
                                        "types_large_text_binary"
                                      : "SELECT LENGTH(b) FROM "
                                        "types_large_text_binary"),
                   BIG_BINARY_LEN);
  test_drop_table(&loop, conn, "types_large_text_binary");
  test_close(&loop, conn);
  test_loop_close(&loop);
  free((void*)big.text);
  free((void*)big.bin);
}
END_TEST

/* ======================================================================== */
/* Column metadata of a table with known columns. */

typedef struct {
  const char* name;
  int16_t sql_type[3]; /* SQLite, PostgreSQL, MariaDB */
  uvodbc_type_t type[3];
  int nullable[3];
} meta_want_t;

static const meta_want_t meta_want[] = {
    {"id",
     {SQL_INTEGER, SQL_INTEGER, SQL_INTEGER},
     {UVODBC_TYPE_INT64, UVODBC_TYPE_INT64, UVODBC_TYPE_INT64},
     {1, 0, 0}}, /* SQLite reports NOT NULL columns nullable */
    {"name",
     {SQL_VARCHAR, SQL_VARCHAR, SQL_VARCHAR},
     {UVODBC_TYPE_TEXT, UVODBC_TYPE_TEXT, UVODBC_TYPE_TEXT},
     {1, 1, 1}},
    {"amount", /* SQLite: DECIMAL is described as VARCHAR */
     {SQL_VARCHAR, SQL_NUMERIC, SQL_DECIMAL},
     {UVODBC_TYPE_TEXT, UVODBC_TYPE_DECIMAL, UVODBC_TYPE_DECIMAL},
     {1, 0, 0}},
    {"flag",
     {SQL_BIT, SQL_BIT, SQL_TINYINT},
     {UVODBC_TYPE_BOOL, UVODBC_TYPE_BOOL, UVODBC_TYPE_INT64},
     {1, 1, 1}},
    {"created",
     {SQL_TYPE_TIMESTAMP, SQL_TYPE_TIMESTAMP,
      SQL_TYPE_TIMESTAMP},
     {UVODBC_TYPE_TIMESTAMP, UVODBC_TYPE_TIMESTAMP, UVODBC_TYPE_TIMESTAMP},
     {1, 1, 1}},
    {"data",
     {SQL_BINARY, SQL_LONGVARBINARY, SQL_LONGVARBINARY},
     {UVODBC_TYPE_BINARY, UVODBC_TYPE_BINARY, UVODBC_TYPE_BINARY},
     {1, 1, 1}},
    {"d", /* psqlODBC describes DOUBLE PRECISION as SQL_FLOAT */
     {SQL_DOUBLE, SQL_FLOAT, SQL_DOUBLE},
     {UVODBC_TYPE_DOUBLE, UVODBC_TYPE_DOUBLE, UVODBC_TYPE_DOUBLE},
     {1, 1, 1}},
    {"big",
     {SQL_BIGINT, SQL_BIGINT, SQL_BIGINT},
     {UVODBC_TYPE_INT64, UVODBC_TYPE_INT64, UVODBC_TYPE_INT64},
     {1, 1, 1}},
    {"day",
     {SQL_TYPE_DATE, SQL_TYPE_DATE, SQL_TYPE_DATE},
     {UVODBC_TYPE_DATE, UVODBC_TYPE_DATE, UVODBC_TYPE_DATE},
     {1, 1, 1}},
    {"clock",
     {SQL_TYPE_TIME, SQL_TYPE_TIME, SQL_TYPE_TIME},
     {UVODBC_TYPE_TIME, UVODBC_TYPE_TIME, UVODBC_TYPE_TIME},
     {1, 1, 1}}};
#define NMETA (sizeof(meta_want) / sizeof(meta_want[0]))

static void check_meta(const uvodbc_batch_t* b, size_t row, size_t index,
                       void* arg) {
  size_t i, d = (size_t)test_driver();
  (void)row;
  (void)index;
  (void)arg;
  ck_assert_uint_eq(uvodbc_batch_ncols(b), NMETA);
  for (i = 0; i < NMETA; i++) {
    const uvodbc_column_t* c = uvodbc_batch_column(b, i);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(c->name, meta_want[i].name);
    ck_assert_msg(c->sql_type == meta_want[i].sql_type[d],
                  "%s: sql_type %d, want %d", c->name, c->sql_type,
                  meta_want[i].sql_type[d]);
    ck_assert_msg(c->type == meta_want[i].type[d], "%s: type %d, want %d",
                  c->name, c->type, meta_want[i].type[d]);
    ck_assert_msg(c->nullable == meta_want[i].nullable[d],
                  "%s: nullable %d, want %d", c->name, c->nullable,
                  meta_want[i].nullable[d]);
  }
  /* Sizes where every driver agrees. */
  ck_assert_uint_eq(uvodbc_batch_column(b, 1)->size, 40);
  if (test_driver() != TEST_SQLITE) {
    ck_assert_uint_eq(uvodbc_batch_column(b, 2)->size, 12);
    ck_assert_int_eq(uvodbc_batch_column(b, 2)->decimal_digits, 3);
  }
  ck_assert_ptr_null(uvodbc_batch_column(b, NMETA));
}

START_TEST(types_column_metadata) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  char cols[512];

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  snprintf(cols, sizeof(cols),
           "id INTEGER NOT NULL, name VARCHAR(40), amount DECIMAL(12,3) NOT "
           "NULL, flag BOOLEAN, created %s, data %s, d %s, big BIGINT, "
           "day DATE, clock TIME",
           TIMESTAMP_TYPE, LONG_BINARY, DOUBLE_TYPE);
  test_make_table(&loop, conn, "types_column_metadata", cols);
  test_exec(&loop, conn,
            "INSERT INTO types_column_metadata (id, name, amount) VALUES "
            "(1, 'x', 1.5)");
  test_select_both(&loop, conn,
              "SELECT id, name, amount, flag, created, data, d, big, day, "
              "clock FROM types_column_metadata",
              NULL, 0, 1, check_meta, NULL);
  test_drop_table(&loop, conn, "types_column_metadata");
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* ======================================================================== */
/* Typed accessors: wrong type, NULL cell, out of range, NULL pointers. */

static void check_accessors(const uvodbc_batch_t* b, size_t row,
                            size_t index, void* arg) {
  int64_t i;
  double d;
  int bo;
  const char* t;
  const void* p;
  size_t len, nrows = uvodbc_batch_nrows(b), ncols = uvodbc_batch_ncols(b);
  uvodbc_timestamp_t ts;
  (void)arg;

  ck_assert_uint_eq(ncols, 5);
  /* columns: 0 i BIGINT, 1 t VARCHAR, 2 d DOUBLE, 3 ts TIMESTAMP, 4 bn */
  if (index == 0) {
    /* wrong accessor for the column's type */
    ck_assert_int_eq(uvodbc_batch_get_int64(b, 1, row, &i), UVODBC_ETYPE);
    ck_assert_int_eq(uvodbc_batch_get_int64(b, 2, row, &i), UVODBC_ETYPE);
    ck_assert_int_eq(uvodbc_batch_get_text(b, 0, row, &t, &len),
                     UVODBC_ETYPE);
    ck_assert_int_eq(uvodbc_batch_get_text(b, 4, row, &t, &len),
                     UVODBC_ETYPE);
    ck_assert_int_eq(uvodbc_batch_get_double(b, 1, row, &d), UVODBC_ETYPE);
    ck_assert_int_eq(uvodbc_batch_get_bool(b, 0, row, &bo), UVODBC_ETYPE);
    ck_assert_int_eq(uvodbc_batch_get_bool(b, 1, row, &bo), UVODBC_ETYPE);
    ck_assert_int_eq(uvodbc_batch_get_binary(b, 0, row, &p, &len),
                     UVODBC_ETYPE);
    ck_assert_int_eq(uvodbc_batch_get_timestamp(b, 0, row, &ts),
                     UVODBC_ETYPE);
    ck_assert_int_eq(uvodbc_batch_get_timestamp(b, 1, row, &ts),
                     UVODBC_ETYPE);
    /* documented conversions */
    ck_assert_int_eq(uvodbc_batch_get_double(b, 0, row, &d), 0);
    ck_assert(d == 42.0);
    ck_assert_int_eq(uvodbc_batch_get_binary(b, 1, row, &p, &len), 0);
    ck_assert_uint_eq(len, 3);
    ck_assert_int_eq(memcmp(p, "abc", 3), 0);
    /* and the right ones */
    ck_assert_int_eq(uvodbc_batch_get_int64(b, 0, row, &i), 0);
    ck_assert_int_eq(i, 42);
    ck_assert_int_eq(uvodbc_batch_get_text(b, 1, row, &t, NULL), 0);
    ck_assert_str_eq(t, "abc");
    ck_assert_int_eq(uvodbc_batch_is_null(b, 0, row), 0);
  } else {
    /* every getter on a NULL cell, whatever the column */
    size_t c;
    for (c = 0; c < ncols; c++) {
      ck_assert_int_eq(uvodbc_batch_is_null(b, c, row), 1);
      ck_assert_int_eq(uvodbc_batch_get_int64(b, c, row, &i), UVODBC_ENULL);
      ck_assert_int_eq(uvodbc_batch_get_double(b, c, row, &d), UVODBC_ENULL);
      ck_assert_int_eq(uvodbc_batch_get_bool(b, c, row, &bo), UVODBC_ENULL);
      ck_assert_int_eq(uvodbc_batch_get_text(b, c, row, &t, &len),
                       UVODBC_ENULL);
      ck_assert_int_eq(uvodbc_batch_get_binary(b, c, row, &p, &len),
                       UVODBC_ENULL);
      ck_assert_int_eq(uvodbc_batch_get_timestamp(b, c, row, &ts),
                       UVODBC_ENULL);
    }
  }
  /* out of range: the row past the batch, the column past the row */
  ck_assert_int_eq(uvodbc_batch_get_int64(b, 0, nrows, &i), UVODBC_ERANGE);
  ck_assert_int_eq(uvodbc_batch_get_int64(b, ncols, row, &i), UVODBC_ERANGE);
  ck_assert_int_eq(uvodbc_batch_get_double(b, 2, nrows, &d), UVODBC_ERANGE);
  ck_assert_int_eq(uvodbc_batch_get_bool(b, ncols, row, &bo), UVODBC_ERANGE);
  ck_assert_int_eq(uvodbc_batch_get_text(b, 1, nrows, &t, &len),
                   UVODBC_ERANGE);
  ck_assert_int_eq(uvodbc_batch_get_text(b, ncols, row, &t, &len),
                   UVODBC_ERANGE);
  ck_assert_int_eq(uvodbc_batch_get_binary(b, 4, nrows, &p, &len),
                   UVODBC_ERANGE);
  ck_assert_int_eq(uvodbc_batch_get_timestamp(b, 3, nrows, &ts),
                   UVODBC_ERANGE);
  ck_assert_int_eq(uvodbc_batch_get_timestamp(b, (size_t)-1, row, &ts),
                   UVODBC_ERANGE);
  ck_assert_int_eq(uvodbc_batch_is_null(b, 0, nrows), UVODBC_ERANGE);
  ck_assert_int_eq(uvodbc_batch_is_null(b, ncols, row), UVODBC_ERANGE);
  ck_assert_ptr_null(uvodbc_batch_column(b, ncols));
  /* NULL out pointers, NULL batch */
  ck_assert_int_eq(uvodbc_batch_get_int64(b, 0, row, NULL), UV_EINVAL);
  ck_assert_int_eq(uvodbc_batch_get_double(b, 2, row, NULL), UV_EINVAL);
  ck_assert_int_eq(uvodbc_batch_get_bool(b, 0, row, NULL), UV_EINVAL);
  ck_assert_int_eq(uvodbc_batch_get_text(b, 1, row, NULL, &len), UV_EINVAL);
  ck_assert_int_eq(uvodbc_batch_get_binary(b, 4, row, NULL, &len), UV_EINVAL);
  ck_assert_int_eq(uvodbc_batch_get_timestamp(b, 3, row, NULL), UV_EINVAL);
  ck_assert_int_eq(uvodbc_batch_get_int64(NULL, 0, 0, &i), UV_EINVAL);
  ck_assert_int_eq(uvodbc_batch_get_text(NULL, 0, 0, &t, &len), UV_EINVAL);
  ck_assert_int_eq(uvodbc_batch_is_null(NULL, 0, 0), UV_EINVAL);
  ck_assert_ptr_null(uvodbc_batch_column(NULL, 0));
  ck_assert_uint_eq(uvodbc_batch_nrows(NULL), 0);
  ck_assert_uint_eq(uvodbc_batch_ncols(NULL), 0);
}

START_TEST(types_accessor_errors) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  char cols[256];

  ck_assert_int_eq(uv_loop_init(&loop), 0);
  conn = test_connect(&loop);
  snprintf(cols, sizeof(cols),
           "id INTEGER, i BIGINT, t VARCHAR(10), d %s, ts %s, bn %s",
           DOUBLE_TYPE, TIMESTAMP_TYPE, SHORT_BINARY);
  test_make_table(&loop, conn, "types_accessor_errors", cols);
  {
    uvodbc_timestamp_t when = {2001, 2, 3, 4, 5, 6, 0};
    uvodbc_param_t p[6];
    p[0] = uvodbc_param_int64(1);
    p[1] = uvodbc_param_int64(42);
    p[2] = uvodbc_param_text("abc", 3);
    p[3] = uvodbc_param_double(1.5);
    p[4] = uvodbc_param_datetime(UVODBC_TYPE_TIMESTAMP, when);
    p[5] = uvodbc_param_binary("\x01\x00\x02", 3);
    test_exec_params(&loop, conn,
        "INSERT INTO types_accessor_errors VALUES (?, ?, ?, ?, ?, ?)", p, 6);
  }
  test_exec(&loop, conn, "INSERT INTO types_accessor_errors (id) VALUES (2)");
  test_select_both(&loop, conn,
              "SELECT i, t, d, ts, bn FROM types_accessor_errors ORDER BY id",
              NULL, 0, 2, check_accessors, NULL);
  test_drop_table(&loop, conn, "types_accessor_errors");
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

/* A date or time field out of its range is refused at the call: on SQLite
 * a TIMESTAMP is sent as text, and such a value's text ran past its
 * 32-byte cell (the indicator said 37 bytes). */
START_TEST(types_calendar_out_of_range) {
  static const struct {
    uvodbc_type_t type;
    uvodbc_timestamp_t ts;
  } bad[] = {
      {UVODBC_TYPE_TIMESTAMP, {2024, 1, 2, 3, 234, 234, 3940215530u}},
      {UVODBC_TYPE_TIMESTAMP, {-32768, 255, 255, 255, 255, 255, 0}},
      {UVODBC_TYPE_TIMESTAMP, {2024, 1, 2, 3, 4, 5, 1000000000u}},
      {UVODBC_TYPE_DATE, {2024, 13, 1, 0, 0, 0, 0}},
      {UVODBC_TYPE_DATE, {2024, 1, 0, 0, 0, 0, 0}},
      {UVODBC_TYPE_TIME, {0, 0, 0, 24, 0, 0, 0}},
  };
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  uvodbc_param_column_t col;
  size_t i;
  uv_loop_init(&loop);
  conn = test_connect(&loop);
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    uvodbc_param_t p;
    memset(&p, 0, sizeof(p));
    p.type = bad[i].type;
    p.v.ts = bad[i].ts;
    ck_assert_int_eq(uvodbc_conn_query(conn, &req, "SELECT ?", &p, 1, NULL,
                                       NULL),
                     UV_EINVAL);
    ck_assert_int_eq(uvodbc_conn_bulk(conn, &req, "SELECT ?", &p, 1, 1, NULL,
                                      NULL),
                     UV_EINVAL);
    memset(&col, 0, sizeof(col));
    col.type = bad[i].type;
    col.values = &bad[i].ts;
    ck_assert_int_eq(uvodbc_conn_bulk_columns(conn, &req, "SELECT ?", &col, 1,
                                              1, NULL, NULL),
                     UV_EINVAL);
  }
  /* The edges themselves are values. */
  {
    uvodbc_param_t p;
    uvodbc_batch_t* b;
    memset(&p, 0, sizeof(p));
    p.type = UVODBC_TYPE_TIMESTAMP;
    p.v.ts = (uvodbc_timestamp_t){2024, 12, 31, 23, 59, 59, 999999999u};
    b = test_query(&loop, conn, "SELECT ?", &p, 1);
    ck_assert_uint_eq(uvodbc_batch_nrows(b), 1);
    test_free_result(b);
  }
  test_close(&loop, conn);
  test_loop_close(&loop);
}
END_TEST

Suite* types_suite(void) {
  Suite* s = suite_create("types");
  TCase* tc = tcase_create("types");
  tcase_set_timeout(tc, TIMEOUT_S);
  tcase_add_test(tc, types_null_vs_empty);
  tcase_add_test(tc, types_calendar_out_of_range);
  tcase_add_test(tc, types_null_all_columns);
  tcase_add_test(tc, types_int64_minmax);
  tcase_add_test(tc, types_double_exact);
  tcase_add_test(tc, types_bool);
  tcase_add_test(tc, types_decimal_38);
  tcase_add_test(tc, types_datetime);
  tcase_add_test(tc, types_time_fraction);
  tcase_add_test(tc, types_binary_all_bytes);
  tcase_add_test(tc, types_binary_empty);
  tcase_add_test(tc, types_large_text_binary);
  tcase_add_test(tc, types_column_metadata);
  tcase_add_test(tc, types_accessor_errors);
  suite_add_tcase(s, tc);
  return s;
}
