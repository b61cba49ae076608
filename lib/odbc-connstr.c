/* Connection strings: "KEY=value;KEY={value; with braces}" pairs, keys
 * case-insensitive, "}}" inside braces standing for "}". */
#include <ctype.h>
#include <stdio.h>
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

char* uvodbc__connstr_set(const char* connstr, const char* key,
                          const char* value) {
  size_t klen = strlen(key), n;
  /* A ';' before each kept pair, which "A={x}B=y" lacks: at most 2x. */
  size_t size = 2 * strlen(connstr) + klen + strlen(value) + 2;
  char* out = uvodbc__malloc(size);
  const char* p = connstr;
  if (out == NULL) return NULL;
  /* First: the pairs after it may end in an unterminated brace. */
  n = (size_t)snprintf(out, size, "%s=%s", key, value);
  while (*p != '\0') {
    const char* pair;
    const char* k;
    size_t kn;
    while (isspace((unsigned char)*p) || *p == ';') p++;
    pair = k = p;
    p += strcspn(p, "=;");
    kn = (size_t)(p - k);
    while (kn > 0 && isspace((unsigned char)k[kn - 1])) kn--;
    if (*p == '=') p = uvodbc__connstr_value_end(p + 1);
    if (p == pair || (kn == klen && strncasecmp(k, key, klen) == 0))
      continue; /* nothing, or the key: dropped */
    out[n++] = ';';
    memcpy(out + n, pair, (size_t)(p - pair));
    n += (size_t)(p - pair);
  }
  out[n] = '\0';
  return out;
}
