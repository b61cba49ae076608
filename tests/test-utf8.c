/* UTF-8 text: non-ASCII characters (2-, 3- and 4-byte sequences) through
 * parameters and results, in short VARCHAR columns (block-bound buffers)
 * and long TEXT columns (chunked SQLGetData), long values whose 64 KiB
 * chunk boundaries fall inside a character, and non-ASCII column names.
 *
 * Every test runs twice: under the C locale and under C.UTF-8.  Tests are
 * forked, so each sets LC_ALL and calls setlocale() before it connects;
 * psqlODBC calls setlocale(LC_CTYPE, "") at every connect and picks the
 * session's client encoding from the locale (SQL_ASCII under C), which the
 * library must not let change the bytes. */
#include <langinfo.h>
#include <locale.h>
#include <stdlib.h>

#include "uvodbc-test.h"

#define TIMEOUT_S 60

/* The library reads long text in chunks of 65535 bytes plus the NUL (see
 * get_var in lib/odbc-stmt.c). */
#define CHUNK_TEXT 65535u

typedef enum { LOC_C, LOC_UTF8 } loc_t;

static void use_locale(loc_t loc) {
  const char* codeset;
  ck_assert_int_eq(setenv("LC_ALL", loc == LOC_C ? "C" : "C.UTF-8", 1), 0);
  ck_assert_msg(setlocale(LC_ALL, "") != NULL, "locale %s is not installed",
                loc == LOC_C ? "C" : "C.UTF-8");
  codeset = nl_langinfo(CODESET);
  if (loc == LOC_UTF8)
    ck_assert_str_eq(codeset, "UTF-8");
  else
    ck_assert_str_ne(codeset, "UTF-8");
}

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

/* Characters, not bytes, as the server counts them. */
static const char* char_length_fn(void) {
  return ty("length", "char_length", "CHAR_LENGTH");
}

/* Identifier quoting. */
static const char* q_open(void) {
  return test_driver() == TEST_MARIADB ? "`" : "\"";
}

/* Number of code points of valid UTF-8. */
static size_t utf8_chars(const char* s, size_t len) {
  size_t i, n = 0;
  for (i = 0; i < len; i++)
    if (((unsigned char)s[i] & 0xc0) != 0x80) n++;
  return n;
}

/* A connection under `loc`; on PostgreSQL, also the session's encoding. */
static uvodbc_conn_t* connect_in(uv_loop_t* loop, loc_t loc) {
  uvodbc_conn_t* conn;
  use_locale(loc);
  ck_assert_int_eq(uv_loop_init(loop), 0);
  conn = test_connect(loop);
  if (test_driver() == TEST_PG) {
    /* Whatever the locale, the session speaks UTF-8 (docs/design.md, section 3). */
    uvodbc_batch_t* b = test_query(loop, conn, "SHOW client_encoding", NULL, 0);
    const char* enc;
    ck_assert_int_eq(uvodbc_batch_get_text(b, 0, 0, &enc, NULL), 0);
    ck_assert_str_eq(enc, "UTF8");
    test_free_result(b);
  }
  return conn;
}

static void expect_text(const uvodbc_batch_t* b, size_t col, size_t row,
                        const char* want, size_t want_len) {
  const char* p = NULL;
  size_t len = (size_t)-1, i;
  ck_assert_int_eq(uvodbc_batch_column(b, col)->type, UVODBC_TYPE_TEXT);
  ck_assert_int_eq(uvodbc_batch_get_text(b, col, row, &p, &len), 0);
  if (len == want_len && memcmp(p, want, len) == 0) return;
  for (i = 0; i < len && i < want_len && p[i] == want[i]; i++) continue;
  ck_abort_msg("row %zu col %zu: %zu bytes, want %zu; first difference at "
               "byte %zu",
               row, col, len, want_len, i);
}

/* ======================================================================== */
/* Short values in a VARCHAR column: block-bound buffers. */

static const char* const short_values[] = {
    "\xc3\xa9",                         /* é */
    "\xc3\xbc",                         /* ü */
    "\xe6\xbc\xa2\xe5\xad\x97",         /* 漢字 */
    "\xf0\x9f\x98\x80",                 /* 😀 U+1F600 */
    "a\xc3\xa9\xe6\xbc\xa2\xf0\x9f\x98\x80z", /* aé漢😀z */
    "\xc3\x9cn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9 \xe2\x9c\x93 \xf0\x9d\x84\x9e"
    /* Ünïcödé ✓ 𝄞 */};
#define NSHORT (sizeof(short_values) / sizeof(short_values[0]))

static void check_short(const uvodbc_batch_t* b, size_t row, size_t index,
                        void* arg) {
  int64_t id = -1, n = -1;
  (void)arg;
  ck_assert_uint_eq(uvodbc_batch_ncols(b), 3);
  ck_assert_int_eq(uvodbc_batch_get_int64(b, 0, row, &id), 0);
  ck_assert_int_eq(id, (int64_t)index);
  expect_text(b, 1, row, short_values[index], strlen(short_values[index]));
  /* The server counted characters, not bytes: nothing was re-encoded. */
  ck_assert_int_eq(uvodbc_batch_get_int64(b, 2, row, &n), 0);
  ck_assert_int_eq(n, (int64_t)utf8_chars(short_values[index],
                                           strlen(short_values[index])));
}

static void check_echo(const uvodbc_batch_t* b, size_t row, size_t index,
                       void* arg) {
  const char* want = arg;
  (void)index;
  expect_text(b, 0, row, want, strlen(want));
}

static void run_short(loc_t loc, const char* table) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_param_t p[2];
  char sql[512];
  size_t i;

  conn = connect_in(&loop, loc);
  test_make_table(&loop, conn, table, "id INTEGER, v VARCHAR(40)");
  snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES (?, ?)", table);
  for (i = 0; i < NSHORT; i++) {
    p[0] = uvodbc_param_int64((int64_t)i);
    p[1] = uvodbc_param_text(short_values[i], SIZE_MAX);
    test_exec_params(&loop, conn, sql, p, 2);
  }
  snprintf(sql, sizeof(sql), "SELECT id, v, %s(v) FROM %s ORDER BY id",
           char_length_fn(), table);
  test_select_both(&loop, conn, sql, NULL, 0, NSHORT, check_short, NULL);
  /* The same text as a literal in the SQL finds the row. */
  snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s WHERE v = '%s'", table,
           short_values[4]);
  ck_assert_int_eq(test_query_int(&loop, conn, sql), 1);
  /* A parameter compares equal too. */
  p[0] = uvodbc_param_text(short_values[3], SIZE_MAX);
  snprintf(sql, sizeof(sql), "SELECT v FROM %s WHERE v = ?", table);
  test_select_both(&loop, conn, sql, p, 1, 1, check_echo, (void*)short_values[3]);
  test_drop_table(&loop, conn, table);
  test_close(&loop, conn);
  test_loop_close(&loop);
}

START_TEST(utf8_short_c_locale) {
  run_short(LOC_C, "utf8_short_c_locale");
}
END_TEST

START_TEST(utf8_short_utf8_locale) {
  run_short(LOC_UTF8, "utf8_short_utf8_locale");
}
END_TEST

/* ======================================================================== */
/* A long TEXT column (chunked SQLGetData), a few KB of mixed characters. */

static char* mixed_text(size_t min_bytes, size_t* len) {
  static const char* const pieces[] = {"a", "\xc3\xa9", "\xe6\xbc\xa2",
                                       "\xf0\x9f\x98\x80", " ", "\xc3\xbc",
                                       "\xe5\xad\x97"};
  char* s = malloc(min_bytes + 8);
  size_t n = 0, i = 0;
  ck_assert_ptr_nonnull(s);
  while (n < min_bytes) {
    const char* piece = pieces[(i * 5 + i / 7) % 7];
    memcpy(s + n, piece, strlen(piece));
    n += strlen(piece);
    i++;
  }
  s[n] = '\0';
  *len = n;
  return s;
}

typedef struct {
  const char* text;
  size_t len;
} blob_t;

static void check_long(const uvodbc_batch_t* b, size_t row, size_t index,
                       void* arg) {
  const blob_t* want = arg;
  int64_t n = -1;
  ck_assert_uint_eq(uvodbc_batch_ncols(b), 3);
  expect_text(b, 1, row, want[index].text, want[index].len);
  ck_assert_int_eq(uvodbc_batch_get_int64(b, 2, row, &n), 0);
  ck_assert_int_eq(n, (int64_t)utf8_chars(want[index].text, want[index].len));
}

static void run_long(loc_t loc, const char* table) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_param_t p[2];
  char sql[512], cols[128];
  blob_t v[2];

  v[0].text = mixed_text(10000, &v[0].len);
  v[1].text = short_values[4];
  v[1].len = strlen(short_values[4]);
  conn = connect_in(&loop, loc);
  snprintf(cols, sizeof(cols), "id INTEGER, v %s",
           ty("TEXT", "TEXT", "LONGTEXT"));
  test_make_table(&loop, conn, table, cols);
  snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES (?, ?)", table);
  p[0] = uvodbc_param_int64(0);
  p[1] = uvodbc_param_text(v[0].text, v[0].len);
  test_exec_params(&loop, conn, sql, p, 2);
  p[0] = uvodbc_param_int64(1);
  p[1] = uvodbc_param_text(v[1].text, v[1].len);
  test_exec_params(&loop, conn, sql, p, 2);
  snprintf(sql, sizeof(sql), "SELECT id, v, %s(v) FROM %s ORDER BY id",
           char_length_fn(), table);
  test_select_both(&loop, conn, sql, NULL, 0, 2, check_long, v);
  /* Text straight from a parameter, without a table. */
  p[0] = uvodbc_param_text(v[0].text, v[0].len);
  p[1] = p[0];
  if (test_driver() == TEST_PG)
    snprintf(sql, sizeof(sql),
             "SELECT 0, CAST(? AS TEXT), char_length(CAST(? AS TEXT))");
  else
    snprintf(sql, sizeof(sql), "SELECT 0, ?, %s(?)", char_length_fn());
  test_select_both(&loop, conn, sql, p, 2, 1, check_long, v);
  test_drop_table(&loop, conn, table);
  test_close(&loop, conn);
  test_loop_close(&loop);
  free((void*)v[0].text);
}

START_TEST(utf8_long_c_locale) {
  run_long(LOC_C, "utf8_long_c_locale");
}
END_TEST

START_TEST(utf8_long_utf8_locale) {
  run_long(LOC_UTF8, "utf8_long_utf8_locale");
}
END_TEST

/* ======================================================================== */
/* Long text whose chunk boundaries fall inside multibyte characters. */

/* 65536 emoji (4 bytes each, U+1F600..U+1F64F): the boundaries at 65535,
 * 131070 and 196605 bytes fall after byte 3, 2 and 1 of a character. */
static char* emoji_text(size_t* len) {
  size_t i, n = 65536;
  char* s = malloc(n * 4 + 1);
  ck_assert_ptr_nonnull(s);
  for (i = 0; i < n; i++) {
    unsigned cp = 0x1F600 + (unsigned)(i % 0x50);
    s[i * 4] = (char)(0xf0 | (cp >> 18));
    s[i * 4 + 1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    s[i * 4 + 2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    s[i * 4 + 3] = (char)(0x80 | (cp & 0x3f));
  }
  s[n * 4] = '\0';
  *len = n * 4;
  return s;
}

/* "x" and 70000 CJK characters (3 bytes, U+4E00..): the boundaries at
 * 65535, 131070 and 196605 fall after byte 1, 2 and 1 of a character. */
static char* cjk_text(size_t* len) {
  size_t i, n = 70000;
  char* s = malloc(n * 3 + 2);
  ck_assert_ptr_nonnull(s);
  s[0] = 'x';
  for (i = 0; i < n; i++) {
    unsigned cp = 0x4E00 + (unsigned)(i % 20000);
    s[1 + i * 3] = (char)(0xe0 | (cp >> 12));
    s[1 + i * 3 + 1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    s[1 + i * 3 + 2] = (char)(0x80 | (cp & 0x3f));
  }
  s[1 + n * 3] = '\0';
  *len = 1 + n * 3;
  return s;
}

/* How many chunk boundaries of `s` fall inside a character. */
static int split_boundaries(const char* s, size_t len) {
  size_t b;
  int n = 0;
  for (b = CHUNK_TEXT; b < len; b += CHUNK_TEXT)
    if (((unsigned char)s[b] & 0xc0) == 0x80) n++;
  return n;
}

static void run_chunk_split(loc_t loc, const char* table) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_param_t p[2];
  char sql[512], cols[128];
  blob_t v[2];

  v[0].text = emoji_text(&v[0].len);
  v[1].text = cjk_text(&v[1].len);
  /* The data does what it is for: >= 200 KB, boundaries inside chars. */
  ck_assert_uint_ge(v[0].len, 200000);
  ck_assert_uint_ge(v[1].len, 200000);
  ck_assert_int_eq(split_boundaries(v[0].text, v[0].len), 3);
  ck_assert_int_eq(split_boundaries(v[1].text, v[1].len), 3);

  conn = connect_in(&loop, loc);
  snprintf(cols, sizeof(cols), "id INTEGER, v %s",
           ty("TEXT", "TEXT", "LONGTEXT"));
  test_make_table(&loop, conn, table, cols);
  snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES (?, ?)", table);
  p[0] = uvodbc_param_int64(0);
  p[1] = uvodbc_param_text(v[0].text, v[0].len);
  test_exec_params(&loop, conn, sql, p, 2);
  p[0] = uvodbc_param_int64(1);
  p[1] = uvodbc_param_text(v[1].text, v[1].len);
  test_exec_params(&loop, conn, sql, p, 2);
  snprintf(sql, sizeof(sql), "SELECT id, v, %s(v) FROM %s ORDER BY id",
           char_length_fn(), table);
  test_select_both(&loop, conn, sql, NULL, 0, 2, check_long, v);
  test_drop_table(&loop, conn, table);
  test_close(&loop, conn);
  test_loop_close(&loop);
  free((void*)v[0].text);
  free((void*)v[1].text);
}

START_TEST(utf8_chunk_split_c_locale) {
  run_chunk_split(LOC_C, "utf8_chunk_split_c_locale");
}
END_TEST

START_TEST(utf8_chunk_split_utf8_locale) {
  run_chunk_split(LOC_UTF8, "utf8_chunk_split_utf8_locale");
}
END_TEST

/* ======================================================================== */
/* Column names with non-ASCII characters. */

/* naïve_漢字 (MariaDB identifiers take no 4-byte characters). */
#define NAME_BMP "na\xc3\xafve_\xe6\xbc\xa2\xe5\xad\x97"
/* größe_😀 */
#define NAME_EMOJI "gr\xc3\xb6\xc3\x9f" "e_\xf0\x9f\x98\x80"

typedef struct {
  const char* names[3];
  size_t ncols;
} names_t;

static void check_names(const uvodbc_batch_t* b, size_t row, size_t index,
                        void* arg) {
  const names_t* want = arg;
  size_t i;
  (void)row;
  (void)index;
  ck_assert_uint_eq(uvodbc_batch_ncols(b), want->ncols);
  for (i = 0; i < want->ncols; i++)
    ck_assert_str_eq(uvodbc_batch_column(b, i)->name, want->names[i]);
}

static void run_column_names(loc_t loc, const char* table) {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  char sql[512], cols[256];
  const char* q = NULL;
  names_t want;

  conn = connect_in(&loop, loc);
  q = q_open();
  snprintf(cols, sizeof(cols), "id INTEGER, %s" NAME_BMP "%s VARCHAR(10)", q,
           q);
  test_make_table(&loop, conn, table, cols);
  snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES (1, 'x')", table);
  test_exec(&loop, conn, sql);

  /* A table's column. */
  want.ncols = 2;
  want.names[0] = "id";
  want.names[1] = NAME_BMP;
  snprintf(sql, sizeof(sql), "SELECT * FROM %s", table);
  test_select_both(&loop, conn, sql, NULL, 0, 1, check_names, &want);

  /* Aliases, with a 4-byte character where the server allows it. */
  want.ncols = 3;
  want.names[0] = NAME_BMP;
  want.names[1] = test_driver() == TEST_MARIADB ? "gr\xc3\xb6\xc3\x9f" "e"
                                                : NAME_EMOJI;
  want.names[2] = "\xe6\xbc\xa2";
  snprintf(sql, sizeof(sql),
           "SELECT %s%s%s, 2 AS %s%s%s, 'z' AS %s%s%s FROM %s", q, NAME_BMP,
           q, q, want.names[1], q, q, want.names[2], q, table);
  test_select_both(&loop, conn, sql, NULL, 0, 1, check_names, &want);
  test_drop_table(&loop, conn, table);
  test_close(&loop, conn);
  test_loop_close(&loop);
}

START_TEST(utf8_column_names_c_locale) {
  run_column_names(LOC_C, "utf8_column_names_c_locale");
}
END_TEST

START_TEST(utf8_column_names_utf8_locale) {
  run_column_names(LOC_UTF8, "utf8_column_names_utf8_locale");
}
END_TEST

Suite* utf8_suite(void) {
  Suite* s = suite_create("utf8");
  TCase* tc = tcase_create("utf8");
  tcase_set_timeout(tc, TIMEOUT_S);
  tcase_add_test(tc, utf8_short_c_locale);
  tcase_add_test(tc, utf8_short_utf8_locale);
  tcase_add_test(tc, utf8_long_c_locale);
  tcase_add_test(tc, utf8_long_utf8_locale);
  tcase_add_test(tc, utf8_chunk_split_c_locale);
  tcase_add_test(tc, utf8_chunk_split_utf8_locale);
  tcase_add_test(tc, utf8_column_names_c_locale);
  tcase_add_test(tc, utf8_column_names_utf8_locale);
  suite_add_tcase(s, tc);
  return s;
}
