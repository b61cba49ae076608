/* Connection strings: "KEY=value;KEY={value; with braces}" pairs, keys
 * case-insensitive, "}}" inside braces standing for "}". */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "odbc.h"

const char* uvodbc__connstr_value_end(const char* v) {
  if (*v == '{') {
    const char* e = v + 1;
    while (*e != '\0') {
      if (e[0] == '}' && e[1] == '}') {
        e += 2;
        continue;
      }
      if (*e == '}') return e + 1;
      e++;
    }
    return e;
  }
  return v + strcspn(v, ";");
}

const char* uvodbc__connstr_find(const char* connstr, const char* key) {
  size_t klen = strlen(key);
  const char* p = connstr;
  while (*p != '\0') {
    const char* k;
    size_t n;
    while (isspace((unsigned char)*p) || *p == ';') p++;
    k = p;
    p += strcspn(p, "=;");
    if (*p != '=') continue; /* a key without a value */
    n = (size_t)(p - k);
    while (n > 0 && isspace((unsigned char)k[n - 1])) n--;
    p++; /* the value */
    if (n == klen && strncasecmp(k, key, klen) == 0) return p;
    p = uvodbc__connstr_value_end(p);
  }
  return NULL;
}

size_t uvodbc__connstr_decode(const char* v, char* out, size_t outlen) {
  const char* e = uvodbc__connstr_value_end(v);
  size_t n = 0;
  if (*v == '{') {
    v++;
    if (e > v && e[-1] == '}') e--;
  }
  for (; v < e && n + 1 < outlen; v++) {
    out[n++] = *v;
    if (v[0] == '}' && v[1] == '}') v++; /* "}}" is one "}" */
  }
  if (outlen > 0) out[n] = '\0';
  return n;
}

int uvodbc__connstr_get(const char* connstr, const char* key, char* out,
                        size_t outlen) {
  const char* v = uvodbc__connstr_find(connstr, key);
  if (v == NULL) return 0;
  uvodbc__connstr_decode(v, out, outlen);
  return 1;
}
