/* Values no driver here produces, fed straight to the blocking layer
 * (lib/odbc.h, reachable since the tests link the static library): OUT
 * parameters whose length the driver reports as SQL_NO_TOTAL or another
 * negative number, or as longer than the cell it filled, and numbers
 * returned as text that fill their cell without a NUL.
 *
 * Why not through a driver: psqlODBC 13.02 reports SQL_NO_TOTAL only for a
 * large object whose size it cannot seek (convert_lo), and MariaDB
 * Connector/ODBC 3.1.15 writes OUT lengths as an unsigned long (never
 * negative); SQLite has no procedures.  The MariaDB case of a number that
 * fills its cell is also run for real: call_mariadb_out_number_too_long. */
#include "uvodbc-test.h"

#include "odbc.h"

/* Copies `in` and lays it out as bound for `driver`. */
static void lay_out(uvodbc__params_t* p, const uvodbc_param_t* in, size_t n,
                    uvodbc__driver_t driver) {
  ck_assert_int_eq(uvodbc__params_copy(p, in, n), 0);
  ck_assert_int_eq(uvodbc__params_layout(p, driver), 0);
}

/* The bound cell of parameter `i`. */
static char* cell_of(const uvodbc__params_t* p, size_t i) {
  size_t pos = 0, k;
  for (k = 0; k < i; k++) pos += (size_t)p->shapes[k].width;
  return p->buf + pos;
}

static const char* out_text(const uvodbc_batch_t* b, size_t col,
                            size_t* len) {
  return test_get_text(b, col, 0, len);
}

/* SQL_NO_TOTAL (and any other negative length but SQL_NULL_DATA): text is
 * what comes before the NUL ODBC ends it with, binary the whole cell.
 * Once converted to 2^64 - 4 bytes: an endless loop on a worker. */
START_TEST(params_out_no_total) {
  uvodbc_param_t in[4];
  uvodbc__params_t p;
  uvodbc_batch_t out;
  const void* bin;
  size_t len = 0;

  in[0] = uvodbc_param_out(UVODBC_TYPE_TEXT, 8);
  in[1] = uvodbc_param_out(UVODBC_TYPE_BINARY, 4);
  in[2] = uvodbc_param_out(UVODBC_TYPE_TEXT, 8);
  in[3] = uvodbc_param_inout(uvodbc_param_text("in", 2), 8);
  lay_out(&p, in, 4, UVODBC__DRIVER_OTHER);
  ck_assert_int_eq(p.shapes[0].width, 9); /* out_size + NUL */
  ck_assert_int_eq(p.shapes[1].width, 5);
  memcpy(cell_of(&p, 0), "abc\0zzzzz", 9);
  p.ind[0] = SQL_NO_TOTAL;
  memcpy(cell_of(&p, 1), "\1\2\3\4\5", 5);
  p.ind[1] = SQL_NO_TOTAL;
  memcpy(cell_of(&p, 2), "xxxxxxxx\0", 9); /* full, NUL-terminated */
  p.ind[2] = -7;
  memcpy(cell_of(&p, 3), "\0zzzzzzzz", 9);
  p.ind[3] = SQL_NO_TOTAL;

  ck_assert_int_eq(uvodbc__params_outputs(&p, &out), 0);
  ck_assert_uint_eq(uvodbc_batch_nrows(&out), 1);
  ck_assert_uint_eq(uvodbc_batch_ncols(&out), 4);
  ck_assert_str_eq(out_text(&out, 0, &len), "abc");
  ck_assert_uint_eq(len, 3);
  ck_assert_int_eq(uvodbc_batch_get_binary(&out, 1, 0, &bin, &len), 0);
  ck_assert_uint_eq(len, 5);
  ck_assert_int_eq(memcmp(bin, "\1\2\3\4\5", 5), 0);
  ck_assert_str_eq(out_text(&out, 2, &len), "xxxxxxxx");
  ck_assert_uint_eq(len, 8);
  ck_assert_str_eq(out_text(&out, 3, &len), "");
  ck_assert_uint_eq(len, 0);
  uvodbc__batch_free(&out);
  uvodbc__params_free(&p);
}
END_TEST

/* A length longer than the cell (MariaDB reports the full length of an
 * OUT value it cut, without a NUL): the cell, never past it; text without
 * the part of a UTF-8 character the cut left. */
START_TEST(params_out_longer_than_cell) {
  uvodbc_param_t in[3];
  uvodbc__params_t p;
  uvodbc_batch_t out;
  const void* bin;
  size_t len = 0;

  in[0] = uvodbc_param_out(UVODBC_TYPE_TEXT, 8);
  in[1] = uvodbc_param_out(UVODBC_TYPE_BINARY, 4);
  in[2] = uvodbc_param_out(UVODBC_TYPE_TEXT, 8);
  lay_out(&p, in, 3, UVODBC__DRIVER_MARIADB);
  memcpy(cell_of(&p, 0), "abcdefghi", 9);
  p.ind[0] = 100;
  memcpy(cell_of(&p, 1), "\1\2\3\4\5", 5);
  p.ind[1] = 100;
  memcpy(cell_of(&p, 2), "a\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 9);
  p.ind[2] = 41;
  ck_assert_int_eq(uvodbc__params_outputs(&p, &out), 0);
  ck_assert_str_eq(out_text(&out, 0, &len), "abcdefgh");
  ck_assert_uint_eq(len, 8);
  ck_assert_int_eq(uvodbc_batch_get_binary(&out, 1, 0, &bin, &len), 0);
  ck_assert_uint_eq(len, 5);
  ck_assert_str_eq(out_text(&out, 2, &len), "a\xc3\xa9\xc3\xa9\xc3\xa9");
  ck_assert_uint_eq(len, 7);
  uvodbc__batch_free(&out);
  uvodbc__params_free(&p);
}
END_TEST

/* MariaDB returns OUT numbers as text in a 32-byte cell.  A value that
 * fills it has no NUL: parsing it once read past the cell (the last one
 * ends the buffer: a heap overflow).  Now: UVODBC_ETYPE, as for text that
 * is not a number, or cut short (SQL_NO_TOTAL). */
static int number_out(uvodbc_type_t type, const char* text, size_t n,
                      SQLLEN ind, uvodbc_batch_t* out) {
  uvodbc_param_t in[2];
  uvodbc__params_t p;
  int err;
  in[0] = uvodbc_param_out(UVODBC_TYPE_TEXT, 4);
  in[1] = uvodbc_param_out(type, 0);
  lay_out(&p, in, 2, UVODBC__DRIVER_MARIADB);
  ck_assert_int_eq(p.shapes[1].ctype, SQL_C_CHAR);
  ck_assert_uint_ge((size_t)p.shapes[1].width, n);
  memcpy(cell_of(&p, 0), "ab", 3);
  p.ind[0] = 2;
  memcpy(cell_of(&p, 1), text, n);
  p.ind[1] = ind;
  err = uvodbc__params_outputs(&p, out);
  uvodbc__params_free(&p);
  return err;
}

START_TEST(params_out_number_fills_cell) {
  uvodbc_batch_t out;
  char digits[32];
  double f = 0;

  memset(digits, '7', sizeof(digits));
  ck_assert_int_eq(
      number_out(UVODBC_TYPE_INT64, digits, sizeof(digits), 40, &out),
      UVODBC_ETYPE);
  ck_assert_int_eq(
      number_out(UVODBC_TYPE_INT64, digits, sizeof(digits), 32, &out),
      UVODBC_ETYPE); /* 32 digits: out of range */
  ck_assert_int_eq(
      number_out(UVODBC_TYPE_DOUBLE, digits, sizeof(digits), 40, &out),
      UVODBC_ETYPE);
  ck_assert_int_eq(number_out(UVODBC_TYPE_INT64, "42", 3, SQL_NO_TOTAL, &out),
                   UVODBC_ETYPE);
  ck_assert_int_eq(number_out(UVODBC_TYPE_INT64, "4x", 3, 2, &out),
                   UVODBC_ETYPE);

  ck_assert_int_eq(number_out(UVODBC_TYPE_INT64, "-9223372036854775808", 21,
                              20, &out),
                   0);
  ck_assert_int_eq(test_get_i64(&out, 1, 0), INT64_MIN);
  uvodbc__batch_free(&out);
  ck_assert_int_eq(number_out(UVODBC_TYPE_DOUBLE, "2.5", 4, 3, &out), 0);
  ck_assert_int_eq(uvodbc_batch_get_double(&out, 1, 0, &f), 0);
  ck_assert(f == 2.5);
  uvodbc__batch_free(&out);
}
END_TEST

Suite* driver_values_suite(void) {
  Suite* s = suite_create("driver_values");
  TCase* tc = tcase_create("driver_values");
  tcase_set_timeout(tc, 10);
  tcase_add_test(tc, params_out_no_total);
  tcase_add_test(tc, params_out_longer_than_cell);
  tcase_add_test(tc, params_out_number_fills_cell);
  suite_add_tcase(s, tc);
  return s;
}
