/* Statement parameters: owned copies (the caller's text and binary may be
 * freed as soon as the starting call returns), how each value is bound
 * (its "shape"), writing values into bound buffers, and reading OUT values
 * back.  The single-row binding here and the parameter arrays of
 * odbc-bulk.c share the shape and write functions.
 *
 * OUT values are read back only as far as the bound cell holds them: a
 * value longer than its cell (out_size) comes back cut to the cell (text
 * at a whole UTF-8 character), and a
 * length the driver does not report (SQL_NO_TOTAL) or reports as another
 * negative number is taken as the text before the cell's NUL (ODBC ends
 * text with one) or, for binary, the whole cell.  A number that MariaDB
 * returns as text is parsed within its cell; text that is not such a
 * number (say a DECIMAL(65) OUT value bound as INT64) is UVODBC_ETYPE. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "odbc.h"

#define DEFAULT_OUT_SIZE 8000
/* An OUT cell of out_size + 1 bytes stays a valid SQLINTEGER length. */
#define MAX_OUT_SIZE ((size_t)INT32_MAX - 1)
#define TIMESTAMP_TEXT_SIZE 32
#define NUMBER_TEXT_SIZE 32

static int has_bytes(uvodbc_type_t t) {
  return t == UVODBC_TYPE_TEXT || t == UVODBC_TYPE_DECIMAL ||
         t == UVODBC_TYPE_BINARY;
}

static int is_output(const uvodbc_param_t* p) {
  return p->direction == UVODBC_PARAM_OUT ||
         p->direction == UVODBC_PARAM_INOUT;
}

/* Precision and scale of a decimal literal ("-123.4500" -> 7, 4). */
static void decimal_shape(const char* s, size_t len, SQLULEN* precision,
                          SQLSMALLINT* scale) {
  size_t i, digits = 0, frac = 0;
  int after_point = 0;
  for (i = 0; i < len; i++) {
    if (s[i] == '.') after_point = 1;
    if (s[i] >= '0' && s[i] <= '9') {
      digits++;
      if (after_point) frac++;
    }
  }
  *precision = digits > 0 ? digits : 1;
  *scale = (SQLSMALLINT)frac;
}

/* MariaDB Connector/ODBC 3.1 copies OUT numbers as text into whatever
 * buffer is bound; read them as text and convert. */
static int number_as_text(const uvodbc_param_t* p, uvodbc__driver_t driver) {
  return driver == UVODBC__DRIVER_MARIADB && is_output(p) &&
         (p->type == UVODBC_TYPE_INT64 || p->type == UVODBC_TYPE_DOUBLE);
}

void uvodbc__param_shape(const uvodbc_param_t* p, uvodbc__driver_t driver,
                         uvodbc__shape_t* s) {
  size_t len = has_bytes(p->type) && p->direction != UVODBC_PARAM_OUT
                   ? p->v.bytes.len
                   : 0;
  size_t out = p->out_size > 0 ? p->out_size : DEFAULT_OUT_SIZE;
  const uvodbc_timestamp_t* t = &p->v.ts;

  memset(s, 0, sizeof(*s));
  switch (p->type) {
    case UVODBC_TYPE_NULL:
      s->ctype = SQL_C_CHAR;
      s->sqltype = SQL_VARCHAR;
      s->size = 1;
      s->width = 1;
      return;
    case UVODBC_TYPE_INT64:
      s->ctype = number_as_text(p, driver) ? SQL_C_CHAR : SQL_C_SBIGINT;
      s->sqltype = SQL_BIGINT;
      s->size = 19;
      s->width = number_as_text(p, driver) ? NUMBER_TEXT_SIZE : sizeof(int64_t);
      return;
    case UVODBC_TYPE_DOUBLE:
      s->ctype = number_as_text(p, driver) ? SQL_C_CHAR : SQL_C_DOUBLE;
      s->sqltype = SQL_DOUBLE;
      s->size = 15;
      s->width = number_as_text(p, driver) ? NUMBER_TEXT_SIZE : sizeof(double);
      return;
    case UVODBC_TYPE_BOOL:
      s->ctype = SQL_C_BIT;
      s->sqltype = SQL_BIT;
      s->size = 1;
      s->width = 1;
      return;
    case UVODBC_TYPE_TEXT:
      s->ctype = SQL_C_CHAR;
      s->sqltype = len > 4000 ? SQL_LONGVARCHAR : SQL_VARCHAR;
      s->size = len > 0 ? len : 1;
      s->width = (SQLLEN)len + 1;
      break;
    case UVODBC_TYPE_DECIMAL:
      s->ctype = SQL_C_CHAR;
      /* SQLite's driver turns SQL_DECIMAL into a double; as text, every
       * digit reaches the database. */
      s->sqltype =
          driver == UVODBC__DRIVER_SQLITE ? SQL_VARCHAR : SQL_DECIMAL;
      if (len > 0) {
        decimal_shape(p->v.bytes.ptr, len, &s->size, &s->digits);
      } else {
        s->size = 38;
        s->digits = p->direction == UVODBC_PARAM_OUT ? 10 : 0;
      }
      s->width = (SQLLEN)len + 1;
      break;
    case UVODBC_TYPE_BINARY:
      s->ctype = SQL_C_BINARY;
      s->sqltype = len > 8000 ? SQL_LONGVARBINARY : SQL_VARBINARY;
      s->size = len > 0 ? len : 1;
      s->width = len > 0 ? (SQLLEN)len : 1;
      break;
    case UVODBC_TYPE_DATE:
      s->ctype = SQL_C_TYPE_DATE;
      s->sqltype = SQL_TYPE_DATE;
      s->size = 10;
      s->width = sizeof(SQL_DATE_STRUCT);
      return;
    case UVODBC_TYPE_TIME:
      if (p->direction == UVODBC_PARAM_IN) {
        /* SQL_TIME_STRUCT has no fraction: as text the value keeps it
         * (always text, so every row of a parameter array has one shape).
         * MariaDB's driver refuses a fraction in text it converts to TIME
         * (22008): as VARCHAR the server converts it. */
        s->ctype = SQL_C_CHAR;
        s->sqltype = driver == UVODBC__DRIVER_SQLITE ||
                             driver == UVODBC__DRIVER_MARIADB
                         ? SQL_VARCHAR
                         : SQL_TYPE_TIME;
        s->size = 18;
        s->digits = 9;
        s->width = TIMESTAMP_TEXT_SIZE;
        return;
      }
      s->ctype = SQL_C_TYPE_TIME;
      s->sqltype = SQL_TYPE_TIME;
      s->size = 8;
      s->width = sizeof(SQL_TIME_STRUCT);
      return;
    default: /* UVODBC_TYPE_TIMESTAMP */
      if (driver == UVODBC__DRIVER_SQLITE) {
        /* SQLite's driver keeps only milliseconds of a timestamp struct;
         * the same value as text keeps every digit. */
        s->ctype = SQL_C_CHAR;
        s->sqltype = SQL_VARCHAR;
        s->size = 29;
        s->width = TIMESTAMP_TEXT_SIZE;
        return;
      }
      s->ctype = SQL_C_TYPE_TIMESTAMP;
      s->sqltype = SQL_TYPE_TIMESTAMP;
      /* Declare only the precision the value needs: MariaDB and PostgreSQL
       * keep microseconds, and some drivers refuse 9 digits. */
      if (p->direction == UVODBC_PARAM_OUT || t->nanosecond % 1000 == 0) {
        s->size = t->nanosecond == 0 && p->direction != UVODBC_PARAM_OUT
                      ? 19
                      : 26;
        s->digits = s->size == 26 ? 6 : 0;
      } else {
        s->size = 29;
        s->digits = 9;
      }
      s->width = sizeof(SQL_TIMESTAMP_STRUCT);
      return;
  }
  /* Text, decimal, binary: an output needs room for what comes back. */
  if (is_output(p) && (size_t)s->width < out + 1) {
    s->width = (SQLLEN)out + 1;
    if (s->size < out) s->size = out;
  }
}

/* The indicator of text snprintf wrote into a cell of `cap` bytes: never
 * past the cell, even for values the checks below would refuse. */
static SQLLEN text_written(int n, size_t cap) {
  if (n < 0) return 0;
  return (size_t)n < cap ? (SQLLEN)n : (SQLLEN)(cap - 1);
}

int uvodbc__param_calendar_ok(const uvodbc_param_t* p) {
  const uvodbc_timestamp_t* t = &p->v.ts;
  int date = p->type == UVODBC_TYPE_DATE || p->type == UVODBC_TYPE_TIMESTAMP;
  int time = p->type == UVODBC_TYPE_TIME || p->type == UVODBC_TYPE_TIMESTAMP;
  if (p->direction == UVODBC_PARAM_OUT) return 1;
  if (date && (t->year < 0 || t->year > 9999 || t->month < 1 ||
               t->month > 12 || t->day < 1 || t->day > 31))
    return 0;
  if (time && (t->hour > 23 || t->minute > 59 || t->second > 61 ||
               t->nanosecond > 999999999u))
    return 0;
  return 1;
}

/* A TIME as text (see the shape), its fraction without trailing zeros
 * (SQLite compares the text); MariaDB keeps at most 6 digits. */
static SQLLEN time_text(const uvodbc_timestamp_t* t, uvodbc__driver_t driver,
                        char* dst) {
  unsigned ns = (unsigned)t->nanosecond;
  int digits = 9;
  char frac[16];
  if (driver == UVODBC__DRIVER_MARIADB) {
    ns /= 1000;
    digits = 6;
  }
  if (ns == 0)
    return text_written(snprintf(dst, TIMESTAMP_TEXT_SIZE, "%02u:%02u:%02u",
                                 t->hour, t->minute, t->second),
                        TIMESTAMP_TEXT_SIZE);
  snprintf(frac, sizeof(frac), "%0*u", digits, ns);
  while (digits > 1 && frac[digits - 1] == '0') frac[--digits] = '\0';
  return text_written(snprintf(dst, TIMESTAMP_TEXT_SIZE, "%02u:%02u:%02u.%s",
                               t->hour, t->minute, t->second, frac),
                      TIMESTAMP_TEXT_SIZE);
}

SQLLEN uvodbc__param_write(const uvodbc_param_t* p, uvodbc__driver_t driver,
                           void* dst) {
  const uvodbc_timestamp_t* t = &p->v.ts;
  if (p->direction == UVODBC_PARAM_OUT || p->type == UVODBC_TYPE_NULL)
    return SQL_NULL_DATA;
  if (number_as_text(p, driver))
    return text_written(
        p->type == UVODBC_TYPE_INT64
            ? snprintf(dst, NUMBER_TEXT_SIZE, "%lld", (long long)p->v.i64)
            : snprintf(dst, NUMBER_TEXT_SIZE, "%.17g", p->v.f64),
        NUMBER_TEXT_SIZE);
  switch (p->type) {
    case UVODBC_TYPE_INT64:
      memcpy(dst, &p->v.i64, sizeof(p->v.i64));
      return 0;
    case UVODBC_TYPE_DOUBLE:
      memcpy(dst, &p->v.f64, sizeof(p->v.f64));
      return 0;
    case UVODBC_TYPE_BOOL:
      *(unsigned char*)dst = (unsigned char)(p->v.boolean != 0);
      return 0;
    case UVODBC_TYPE_TEXT:
    case UVODBC_TYPE_DECIMAL:
    case UVODBC_TYPE_BINARY:
      if (p->v.bytes.len > 0) memcpy(dst, p->v.bytes.ptr, p->v.bytes.len);
      if (p->type != UVODBC_TYPE_BINARY)
        ((char*)dst)[p->v.bytes.len] = '\0';
      return (SQLLEN)p->v.bytes.len;
    case UVODBC_TYPE_DATE: {
      SQL_DATE_STRUCT d = {t->year, t->month, t->day};
      memcpy(dst, &d, sizeof(d));
      return 0;
    }
    case UVODBC_TYPE_TIME: {
      SQL_TIME_STRUCT x = {t->hour, t->minute, t->second};
      if (p->direction == UVODBC_PARAM_IN) return time_text(t, driver, dst);
      memcpy(dst, &x, sizeof(x));
      return 0;
    }
    default: { /* UVODBC_TYPE_TIMESTAMP */
      SQL_TIMESTAMP_STRUCT ts = {t->year,   t->month,  t->day,
                                 t->hour,   t->minute, t->second,
                                 t->nanosecond};
      if (driver == UVODBC__DRIVER_SQLITE)
        return text_written(
            snprintf(dst, TIMESTAMP_TEXT_SIZE,
                     "%04d-%02u-%02u %02u:%02u:%02u.%09u", t->year, t->month,
                     t->day, t->hour, t->minute, t->second,
                     (unsigned)t->nanosecond),
            TIMESTAMP_TEXT_SIZE);
      memcpy(dst, &ts, sizeof(ts));
      return 0;
    }
  }
}

int uvodbc__params_copy(uvodbc__params_t* out, const uvodbc_param_t* in,
                        size_t n) {
  size_t i, heap = 0, pos = 0;
  memset(out, 0, sizeof(*out));
  if (n == 0) return 0;
  for (i = 0; i < n; i++) {
    if ((unsigned)in[i].type > (unsigned)UVODBC_TYPE_TIMESTAMP ||
        (unsigned)in[i].direction > (unsigned)UVODBC_PARAM_INOUT)
      return UVODBC__EINVAL;
    if (is_output(&in[i]) && in[i].out_size > MAX_OUT_SIZE)
      return UVODBC__EINVAL;
    if (!uvodbc__param_calendar_ok(&in[i])) return UVODBC__EINVAL;
    if (!has_bytes(in[i].type) || in[i].direction == UVODBC_PARAM_OUT)
      continue;
    if (in[i].v.bytes.ptr == NULL && in[i].v.bytes.len != 0)
      return UVODBC__EINVAL;
    if (in[i].v.bytes.len == SIZE_MAX && in[i].type == UVODBC_TYPE_BINARY)
      return UVODBC__EINVAL;
    if (uvodbc__size_add(&heap, in[i].v.bytes.len == SIZE_MAX
                                    ? strlen(in[i].v.bytes.ptr)
                                    : in[i].v.bytes.len) ||
        uvodbc__size_add(&heap, 1))
      return UVODBC__ENOMEM;
  }
  out->v = uvodbc__mallocarray(n, sizeof(*out->v));
  out->ind = uvodbc__calloc(n, sizeof(*out->ind));
  out->heap = uvodbc__malloc(heap);
  if (out->v == NULL || out->ind == NULL || out->heap == NULL) {
    uvodbc__params_free(out);
    return UVODBC__ENOMEM;
  }
  out->n = n;
  for (i = 0; i < n; i++) {
    out->v[i] = in[i];
    if (has_bytes(in[i].type) && in[i].direction != UVODBC_PARAM_OUT) {
      size_t len = in[i].v.bytes.len == SIZE_MAX ? strlen(in[i].v.bytes.ptr)
                                                 : in[i].v.bytes.len;
      if (len > 0) memcpy(out->heap + pos, in[i].v.bytes.ptr, len);
      out->heap[pos + len] = '\0';
      out->v[i].v.bytes.ptr = out->heap + pos;
      out->v[i].v.bytes.len = len;
      pos += len + 1;
    }
  }
  return 0;
}

void uvodbc__params_free(uvodbc__params_t* p) {
  uvodbc__free(p->v);
  uvodbc__free(p->ind);
  uvodbc__free(p->heap);
  uvodbc__free(p->buf);
  uvodbc__free(p->shapes);
  memset(p, 0, sizeof(*p));
}

int uvodbc__params_layout(uvodbc__params_t* p, uvodbc__driver_t driver) {
  size_t i, total = 0;
  if (p->shapes != NULL) return 0;
  p->shapes = uvodbc__calloc(p->n, sizeof(*p->shapes));
  if (p->shapes == NULL) return UVODBC__ENOMEM;
  for (i = 0; i < p->n; i++) {
    uvodbc__param_shape(&p->v[i], driver, &p->shapes[i]);
    if (uvodbc__size_add(&total, (size_t)p->shapes[i].width))
      return UVODBC__ENOMEM;
  }
  p->buf = uvodbc__malloc(total);
  return p->buf != NULL ? 0 : UVODBC__ENOMEM;
}

int uvodbc__params_bind(SQLHSTMT h, uvodbc__driver_t driver,
                        uvodbc__params_t* p, uvodbc__diags_t* d) {
  size_t i, pos = 0;
  int err = uvodbc__params_layout(p, driver);
  if (err != 0) return err;
  for (i = 0; i < p->n; i++) {
    const uvodbc__shape_t* s = &p->shapes[i];
    char* cell = p->buf + pos;
    SQLSMALLINT io = p->v[i].direction == UVODBC_PARAM_OUT     ? SQL_PARAM_OUTPUT
                     : p->v[i].direction == UVODBC_PARAM_INOUT ? SQL_PARAM_INPUT_OUTPUT
                                                               : SQL_PARAM_INPUT;
    pos += (size_t)s->width;
    p->ind[i] = uvodbc__param_write(&p->v[i], driver, cell);
    if (!SQL_SUCCEEDED(SQLBindParameter(h, (SQLUSMALLINT)(i + 1), io,
                                        s->ctype, s->sqltype, s->size,
                                        s->digits, cell, s->width,
                                        &p->ind[i]))) {
      uvodbc__diags_collect(d, SQL_HANDLE_STMT, h, "SQLBindParameter", NULL);
      return UVODBC_ESQL;
    }
  }
  return 0;
}

/* `len` bytes of text cut by the driver, without a trailing incomplete
 * UTF-8 sequence. */
static size_t whole_chars(const char* s, size_t len) {
  size_t lead = len, need;
  unsigned char c;
  while (lead > 0 && len - lead < 4 &&
         ((unsigned char)s[lead - 1] & 0xC0) == 0x80)
    lead--;
  if (lead == 0) return len; /* not UTF-8 after all: leave it */
  c = (unsigned char)s[lead - 1];
  need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
  return len - (lead - 1) < need ? lead - 1 : len;
}

/* A number MariaDB returned as text in a cell of `size` bytes, whose
 * length it reported as `ind`: 0, or UVODBC_ETYPE when the cell does not
 * hold exactly one such number (it may not even end with a NUL). */
static int parse_number(const uvodbc_param_t* p, const char* cell,
                        SQLLEN size, SQLLEN ind, void* out) {
  char text[NUMBER_TEXT_SIZE + 1], *end;
  size_t len = uvodbc__filled_len(SQL_C_CHAR, cell, size, ind);
  if (ind < 0 || ind > (SQLLEN)len) return UVODBC_ETYPE; /* cut short */
  memcpy(text, cell, len);
  text[len] = '\0';
  errno = 0;
  if (p->type == UVODBC_TYPE_INT64) {
    int64_t v = strtoll(text, &end, 10);
    memcpy(out, &v, sizeof(v));
    if (errno == ERANGE) return UVODBC_ETYPE;
  } else { /* out of range: the nearest double, as a bound double gets */
    double v = strtod(text, &end);
    memcpy(out, &v, sizeof(v));
  }
  while (isspace((unsigned char)*end)) end++;
  return end == text || *end != '\0' ? UVODBC_ETYPE : 0;
}

/* The OUT / INOUT values after execution, as a one-row batch: column i is
 * the i-th output parameter, named by its position ("1", "2", ...). */
int uvodbc__params_outputs(const uvodbc__params_t* p, uvodbc_batch_t* out) {
  size_t i, n = 0, col = 0, pos = 0;
  uvodbc_column_t* cols;
  uvodbc__colbuf_t* layout;
  char (*names)[24];
  int err;

  memset(out, 0, sizeof(*out));
  for (i = 0; i < p->n; i++) n += is_output(&p->v[i]);
  if (n == 0 || p->shapes == NULL) return 0;
  cols = uvodbc__calloc(n, sizeof(*cols));
  layout = uvodbc__calloc(n, sizeof(*layout));
  names = uvodbc__calloc(n, sizeof(*names));
  err = cols && layout && names ? 0 : UVODBC__ENOMEM;
  for (i = 0; i < p->n && err == 0; i++) {
    const uvodbc__shape_t* s = &p->shapes[i];
    if (!is_output(&p->v[i])) continue;
    snprintf(names[col], sizeof(names[col]), "%zu", i + 1);
    cols[col].name = names[col];
    cols[col].sql_type = s->sqltype;
    cols[col].size = s->size;
    cols[col].decimal_digits = s->digits;
    cols[col].nullable = SQL_NULLABLE_UNKNOWN;
    cols[col].type = p->v[i].type;
    layout[col].ctype = s->ctype;
    layout[col].width = has_bytes(p->v[i].type) ? 0 : s->width;
    if (p->v[i].type == UVODBC_TYPE_INT64) layout[col].width = sizeof(int64_t);
    if (p->v[i].type == UVODBC_TYPE_DOUBLE) layout[col].width = sizeof(double);
    col++;
  }
  if (err == 0) err = uvodbc__batch_alloc(out, cols, layout, n, 1);
  if (err == 0) err = uvodbc__batch_own_columns(out);
  for (i = 0, col = 0; i < p->n && err == 0; pos += (size_t)p->shapes[i].width,
      i++) {
    const char* cell = p->buf + pos;
    SQLLEN ind = p->ind[i];
    uvodbc__colbuf_t* b;
    if (!is_output(&p->v[i])) continue;
    /* MariaDB's driver (3.1.15) never reports a NULL OUT value: it leaves
     * the buffer alone and sets the length to 0.  A number read as text
     * cannot be empty, so 0 bytes there means NULL. */
    if (ind == 0 && p->shapes[i].ctype == SQL_C_CHAR &&
        (p->v[i].type == UVODBC_TYPE_INT64 ||
         p->v[i].type == UVODBC_TYPE_DOUBLE))
      ind = SQL_NULL_DATA;
    b = &out->bufs[col];
    if (b->width == 0) {
      size_t len = ind == SQL_NULL_DATA
                       ? 0
                       : uvodbc__filled_len(p->shapes[i].ctype, cell,
                                            p->shapes[i].width, ind);
      if (p->v[i].type == UVODBC_TYPE_TEXT && (ind < 0 || (size_t)ind > len))
        len = whole_chars(cell, len); /* cut by the driver */
      err = uvodbc__batch_var_begin(out, col, 0);
      if (err == 0 && ind != SQL_NULL_DATA)
        err = uvodbc__batch_var_append(out, col, 0, cell, len);
    } else if (ind != SQL_NULL_DATA && p->shapes[i].ctype == SQL_C_CHAR &&
               (p->v[i].type == UVODBC_TYPE_INT64 ||
                p->v[i].type == UVODBC_TYPE_DOUBLE)) {
      err = parse_number(&p->v[i], cell, p->shapes[i].width, ind, b->data);
    } else if (ind != SQL_NULL_DATA) {
      memcpy(b->data, cell, (size_t)b->width);
    }
    b->ind[0] = ind == SQL_NULL_DATA ? SQL_NULL_DATA : b->ind[0];
    if (b->width != 0 && ind != SQL_NULL_DATA) b->ind[0] = b->width;
    col++;
  }
  out->nrows = err == 0 ? 1 : 0;
  uvodbc__free(cols);
  uvodbc__free(layout);
  uvodbc__free(names);
  if (err != 0) uvodbc__batch_free(out);
  return err;
}
