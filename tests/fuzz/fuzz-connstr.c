/* Connection strings: uvodbc__connstr_find / _value_end / _decode / _get,
 * uvodbc__connstr_set and uvodbc__redact_connstr over any text.
 * Invariants: values and their ends lie inside the string, decoding never
 * writes past `outlen` and agrees with a full decode, a set key reads back
 * its new value while the other keys keep theirs, and every redacted key is
 * followed by "***". */
#include <strings.h>

#include "fuzz.h"
#include "odbc.h"

static const char* const keys[] = {"PWD", "PASSWORD", "DRIVER", "DSN", "UID",
                                   ""};

static void check_key(const char* s, size_t len, const char* key) {
  static const size_t outlens[] = {0, 1, 2, 8};
  const char* v = uvodbc__connstr_find(s, key);
  const char* e;
  char* full;
  size_t n, i;
  if (v == NULL) {
    char out[4] = "x";
    FUZZ_CHECK(uvodbc__connstr_get(s, key, out, sizeof(out)) == 0);
    FUZZ_CHECK(out[0] == 'x'); /* untouched */
    return;
  }
  FUZZ_CHECK(v > s && v <= s + len && v[-1] == '=');
  e = uvodbc__connstr_value_end(v);
  FUZZ_CHECK(e >= v && e <= s + len);
  full = malloc(len + 1);
  n = uvodbc__connstr_decode(v, full, len + 1);
  FUZZ_CHECK(n <= (size_t)(e - v) && full[n] == '\0' && strlen(full) == n);
  for (i = 0; i < sizeof(outlens) / sizeof(outlens[0]); i++) {
    size_t outlen = outlens[i];
    char* out = malloc(outlen > 0 ? outlen : 1);
    size_t m = uvodbc__connstr_decode(v, out, outlen);
    if (outlen > 0) {
      FUZZ_CHECK(m < outlen && out[m] == '\0');
      FUZZ_CHECK(memcmp(out, full, m) == 0);
      FUZZ_CHECK(m == (n < outlen - 1 ? n : outlen - 1));
    }
    FUZZ_CHECK(uvodbc__connstr_get(s, key, out, outlen) == 1);
    if (outlen > 0) FUZZ_CHECK(memcmp(out, full, m) == 0 && out[m] == '\0');
    free(out);
  }
  free(full);
}

/* Every PWD= / PASSWORD= at the start of a key in `r` is followed by
 * "***" (the rule of uvodbc__redact_connstr). */
static void check_redacted(const char* r) {
  const char* p;
  for (p = r; *p != '\0'; p++) {
    size_t k = 0;
    if (p != r && p[-1] != ';' && strchr(" \t\n\r\f\v", p[-1]) == NULL)
      continue;
    if (strncasecmp(p, "PWD=", 4) == 0) k = 4;
    if (strncasecmp(p, "PASSWORD=", 9) == 0) k = 9;
    if (k > 0) FUZZ_CHECK(strncmp(p + k, "***", 3) == 0);
  }
}

/* uvodbc__connstr_set(s, "Timeout", "1"), as SQLite's connect does. */
static void check_set(const char* s) {
  char* out = uvodbc__connstr_set(s, "Timeout", "1");
  char before[64], after[64];
  size_t i;
  FUZZ_CHECK(out != NULL);
  FUZZ_CHECK(uvodbc__connstr_get(out, "Timeout", after, sizeof(after)) == 1);
  FUZZ_CHECK(strcmp(after, "1") == 0);
  for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
    int had = uvodbc__connstr_get(s, keys[i], before, sizeof(before));
    int has = uvodbc__connstr_get(out, keys[i], after, sizeof(after));
    FUZZ_CHECK(had == has);
    if (had) FUZZ_CHECK(strcmp(before, after) == 0);
  }
  free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  char* s = fuzz_cstr(data, size);
  size_t len = strlen(s), i;
  char* r;
  for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
    check_key(s, len, keys[i]);
  check_set(s);
  for (i = 0; i <= len; i++) {
    const char* e = uvodbc__connstr_value_end(s + i);
    FUZZ_CHECK(e >= s + i && e <= s + len);
  }
  r = uvodbc__redact_connstr(s);
  FUZZ_CHECK(r != NULL);
  check_redacted(r);
  free(r);
  free(s);
  return 0;
}
