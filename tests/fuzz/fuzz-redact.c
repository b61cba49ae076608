/* Connect diagnostics: uvodbc__redact_connect(message, connstr).  The input
 * is the connection string, a NUL byte, then the driver's message.
 * Invariants: no password of the connection string (as written inside its
 * braces, or decoded, without surrounding blanks) is left in the output,
 * and a message with nothing to redact comes back unchanged. */
#include <ctype.h>
#include <strings.h>

#include "fuzz.h"
#include "odbc.h"

/* Where s[0..len) starts and ends without surrounding blanks. */
static size_t first_nonblank(const char* s, size_t len) {
  size_t i = 0;
  while (i < len && isspace((unsigned char)s[i])) i++;
  return i;
}

static int all_stars(const char* s, size_t len) {
  size_t i;
  for (i = 0; i < len; i++)
    if (s[i] != '*') return 0;
  return 1;
}

static void check_absent(const char* out, const char* pw, size_t len) {
  size_t from = first_nonblank(pw, len);
  while (len > from && isspace((unsigned char)pw[len - 1])) len--;
  pw += from;
  len -= from;
  if (len > 0 && !all_stars(pw, len)) FUZZ_CHECK(!fuzz_contains(out, pw, len));
}

/* 1 if the connection string has a password, each checked absent. */
static int check_passwords(const char* out, const char* connstr) {
  static const char* const keys[] = {"PWD", "PASSWORD"};
  char* dec = malloc(strlen(connstr) + 1);
  size_t k;
  int any = 0;
  for (k = 0; k < 2; k++) {
    const char* p = connstr;
    const char* v;
    while ((v = uvodbc__connstr_find(p, keys[k])) != NULL) {
      const char* raw = *v == '{' ? v + 1 : v;
      const char* e = uvodbc__connstr_value_end(v);
      size_t n = uvodbc__connstr_decode(v, dec, strlen(connstr) + 1);
      if (*v == '{' && e > raw && e[-1] == '}') e--;
      check_absent(out, raw, (size_t)(e - raw));
      check_absent(out, dec, n);
      any = 1;
      p = uvodbc__connstr_value_end(v);
    }
  }
  free(dec);
  return any;
}

static int has_key(const char* msg) {
  const char* p;
  for (p = msg; *p != '\0'; p++)
    if (strncasecmp(p, "PWD=", 4) == 0 || strncasecmp(p, "PASSWORD=", 9) == 0)
      return 1;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const uint8_t* nul = memchr(data, 0, size);
  size_t clen = nul != NULL ? (size_t)(nul - data) : size;
  char* connstr = fuzz_cstr(data, clen);
  char* msg = nul != NULL ? fuzz_cstr(nul + 1, size - clen - 1) : fuzz_cstr(data, 0);
  char* out = uvodbc__redact_connect(msg, connstr);
  FUZZ_CHECK(out != NULL);
  if (!check_passwords(out, connstr) && !has_key(msg))
    FUZZ_CHECK(strcmp(out, msg) == 0);
  free(out);
  free(msg);
  free(connstr);
  return 0;
}
