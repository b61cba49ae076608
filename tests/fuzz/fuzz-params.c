/* Parameter conversion: uvodbc__params_copy, then uvodbc__param_shape and
 * uvodbc__param_write of every copied value into a cell of exactly the
 * shape's width, for each driver, over fuzzed values (text, decimal,
 * binary, dates, times, timestamps, OUT and INOUT).  Invariants: a copy
 * holds the caller's bytes; a written value fits its cell (text with its
 * NUL), and its indicator is its length, 0 or SQL_NULL_DATA. */
#include "fuzz.h"
#include "odbc.h"

#define MAX_PARAMS 6

static void check_written(const uvodbc_param_t* p, const uvodbc__shape_t* s,
                          const char* cell, SQLLEN ind) {
  FUZZ_CHECK(s->width > 0);
  if (ind == SQL_NULL_DATA) {
    FUZZ_CHECK(p->direction == UVODBC_PARAM_OUT ||
               p->type == UVODBC_TYPE_NULL);
    return;
  }
  FUZZ_CHECK(ind >= 0);
  if (s->ctype == SQL_C_CHAR) { /* the driver reads ind bytes and a NUL */
    FUZZ_CHECK(ind < s->width);
    FUZZ_CHECK(cell[ind] == '\0');
  } else {
    FUZZ_CHECK(ind <= s->width);
  }
  if (p->type == UVODBC_TYPE_TEXT || p->type == UVODBC_TYPE_DECIMAL ||
      p->type == UVODBC_TYPE_BINARY) {
    FUZZ_CHECK((size_t)ind == p->v.bytes.len);
    FUZZ_CHECK(ind == 0 || memcmp(cell, p->v.bytes.ptr, (size_t)ind) == 0);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz_in_t in = {data, size};
  uvodbc_param_t params[MAX_PARAMS];
  void* owned[MAX_PARAMS] = {0};
  uvodbc__params_t copy;
  size_t n = fuzz_byte(&in) % (MAX_PARAMS + 1), i;
  uvodbc__driver_t driver = (uvodbc__driver_t)(fuzz_byte(&in) % 4);
  int err;

  for (i = 0; i < n; i++) {
    uvodbc_param_t* p = &params[i];
    uint8_t kind = fuzz_byte(&in);
    memset(p, 0, sizeof(*p));
    /* Mostly valid types and directions, sometimes not. */
    p->type = (uvodbc_type_t)(kind % 11);
    p->direction = (uvodbc_param_dir_t)(kind / 11 % 4);
    p->out_size = fuzz_byte(&in);
    switch (p->type) {
      case UVODBC_TYPE_TEXT:
      case UVODBC_TYPE_DECIMAL:
      case UVODBC_TYPE_BINARY: {
        size_t len;
        int nul_terminated = fuzz_byte(&in) & 1;
        const uint8_t* b = fuzz_take(&in, fuzz_byte(&in), &len);
        /* The caller's bytes, exactly sized (NUL-terminated text gets one
         * more byte and len SIZE_MAX). */
        char* copy_of = malloc(len + 1);
        if (len > 0) memcpy(copy_of, b, len);
        owned[i] = copy_of;
        if (nul_terminated && p->type != UVODBC_TYPE_BINARY) {
          copy_of[len] = '\0';
          p->v.bytes.len = SIZE_MAX;
        } else {
          p->v.bytes.len = len;
        }
        p->v.bytes.ptr = copy_of;
        break;
      }
      case UVODBC_TYPE_DATE:
      case UVODBC_TYPE_TIME:
      case UVODBC_TYPE_TIMESTAMP:
        /* Any field values: params_copy refuses those out of range, and
         * param_write never writes past its cell even for them. */
        p->v.ts.year = (int16_t)fuzz_u64(&in, 2);
        p->v.ts.month = fuzz_byte(&in);
        p->v.ts.day = fuzz_byte(&in);
        p->v.ts.hour = fuzz_byte(&in);
        p->v.ts.minute = fuzz_byte(&in);
        p->v.ts.second = fuzz_byte(&in);
        p->v.ts.nanosecond = (uint32_t)fuzz_u64(&in, 4);
        if (p->direction != UVODBC_PARAM_OUT) {
          uvodbc__shape_t s;
          char* cell;
          uvodbc__param_shape(p, driver, &s);
          cell = malloc((size_t)s.width);
          check_written(p, &s, cell, uvodbc__param_write(p, driver, cell));
          free(cell);
        }
        break;
      default: /* NULL, INT64, DOUBLE, BOOL, invalid */
        p->v.i64 = (int64_t)fuzz_u64(&in, 8);
        break;
    }
  }

  err = uvodbc__params_copy(&copy, params, n);
  if (err == 0) {
    FUZZ_CHECK(copy.n == n);
    for (i = 0; i < n; i++) {
      const uvodbc_param_t* p = &copy.v[i];
      uvodbc__shape_t s;
      char* cell;
      SQLLEN ind;
      FUZZ_CHECK(p->type == params[i].type);
      if ((p->type == UVODBC_TYPE_TEXT || p->type == UVODBC_TYPE_DECIMAL ||
           p->type == UVODBC_TYPE_BINARY) &&
          p->direction != UVODBC_PARAM_OUT) {
        size_t len = params[i].v.bytes.len == SIZE_MAX
                         ? strlen(params[i].v.bytes.ptr)
                         : params[i].v.bytes.len;
        FUZZ_CHECK(p->v.bytes.len == len);
        FUZZ_CHECK(memcmp(p->v.bytes.ptr, params[i].v.bytes.ptr, len) == 0);
      }
      uvodbc__param_shape(p, driver, &s);
      cell = malloc((size_t)s.width);
      ind = uvodbc__param_write(p, driver, cell);
      check_written(p, &s, cell, ind);
      free(cell);
    }
    uvodbc__params_free(&copy);
  } else {
    FUZZ_CHECK(err == UVODBC__EINVAL);
  }
  if (err == 0)
    for (i = 0; i < n; i++) FUZZ_CHECK(uvodbc__param_calendar_ok(&params[i]));
  for (i = 0; i < n; i++) free(owned[i]);
  return 0;
}
