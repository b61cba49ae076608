/* Typed statement parameters from the command line: -p TYPE:VALUE.
 *   int:5  double:1.5  text:abc  decimal:12.30  bool:true|false|1|0
 *   hex:00ff (binary)  date:2024-01-31  time:13:45:00
 *   timestamp:2024-01-31 13:45:00[.123]  null */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static int parse_fraction(const char* s, uint32_t* ns) {
  uint32_t v = 0;
  int digits = 0;
  for (; *s >= '0' && *s <= '9'; s++, digits++)
    if (digits < 9) v = v * 10 + (uint32_t)(*s - '0');
  if (*s != '\0' || digits == 0) return -1;
  for (; digits < 9; digits++) v *= 10;
  *ns = v;
  return 0;
}

static int parse_datetime(const char* v, uvodbc_type_t type,
                          uvodbc_timestamp_t* ts) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, n = 0;
  const char* rest;
  memset(ts, 0, sizeof(*ts));
  if (type == UVODBC_TYPE_DATE) {
    if (sscanf(v, "%d-%d-%d%n", &y, &mo, &d, &n) != 3 || v[n] != '\0')
      return -1;
  } else if (type == UVODBC_TYPE_TIME) {
    if (sscanf(v, "%d:%d:%d%n", &h, &mi, &s, &n) != 3) return -1;
  } else if (sscanf(v, "%d-%d-%d%*[ T]%d:%d:%d%n", &y, &mo, &d, &h, &mi, &s,
                    &n) != 6) {
    return -1;
  }
  rest = v + n;
  if (type != UVODBC_TYPE_DATE && *rest == '.') {
    if (parse_fraction(rest + 1, &ts->nanosecond) != 0) return -1;
  } else if (*rest != '\0') {
    return -1;
  }
  ts->year = (int16_t)y;
  ts->month = (uint8_t)mo;
  ts->day = (uint8_t)d;
  ts->hour = (uint8_t)h;
  ts->minute = (uint8_t)mi;
  ts->second = (uint8_t)s;
  return 0;
}

int cli_param_parse(const char* spec, uvodbc_param_t* out, char** text) {
  const char* colon = strchr(spec, ':');
  size_t tlen = colon ? (size_t)(colon - spec) : strlen(spec);
  const char* v = colon ? colon + 1 : "";
  char* end;
  *text = NULL;
#define IS(name) (tlen == strlen(name) && strncmp(spec, name, tlen) == 0)
  if (IS("null") && colon == NULL) {
    *out = uvodbc_param_null();
    return 0;
  }
  if (colon == NULL) return -1;
  if (IS("int") || IS("int64")) {
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (*v == '\0' || *end != '\0' || errno != 0) return -1;
    *out = uvodbc_param_int64(x);
  } else if (IS("double") || IS("float")) {
    errno = 0;
    double x = strtod(v, &end);
    if (*v == '\0' || *end != '\0' || errno != 0) return -1;
    *out = uvodbc_param_double(x);
  } else if (IS("bool")) {
    if (!strcmp(v, "true") || !strcmp(v, "1")) *out = uvodbc_param_bool(1);
    else if (!strcmp(v, "false") || !strcmp(v, "0")) *out = uvodbc_param_bool(0);
    else return -1;
  } else if (IS("text") || IS("decimal")) {
    /* argv outlives the request's copy; no buffer needed. */
    *out = IS("text") ? uvodbc_param_text(v, strlen(v))
                      : uvodbc_param_decimal(v, strlen(v));
  } else if (IS("hex") || IS("binary")) {
    size_t n = strlen(v);
    if (n % 2 != 0) return -1;
    unsigned char* b = malloc(n / 2 + 1);
    if (b == NULL) return -1;
    for (size_t i = 0; i < n / 2; i++) {
      int hi = hexval(v[2 * i]), lo = hexval(v[2 * i + 1]);
      if (hi < 0 || lo < 0) {
        free(b);
        return -1;
      }
      b[i] = (unsigned char)(hi << 4 | lo);
    }
    *text = (char*)b;
    *out = uvodbc_param_binary(b, n / 2);
  } else {
    uvodbc_type_t type;
    uvodbc_timestamp_t ts;
    if (IS("date")) type = UVODBC_TYPE_DATE;
    else if (IS("time")) type = UVODBC_TYPE_TIME;
    else if (IS("timestamp")) type = UVODBC_TYPE_TIMESTAMP;
    else return -1;
    if (parse_datetime(v, type, &ts) != 0) return -1;
    *out = uvodbc_param_datetime(type, ts);
  }
#undef IS
  return 0;
}
