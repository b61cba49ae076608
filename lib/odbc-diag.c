/* Diagnostics: copied on the worker right after the call that produced them,
 * because the next call on the handle wipes them.  A connect's diagnostics
 * may echo the connection string: its password is redacted from them here.
 * Every other message is the server's text, kept as written (it may quote
 * data, which must never be rewritten). */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "odbc.h"

static int grow(uvodbc__diags_t* d) {
  uvodbc_diag_t* recs;
  size_t cap;
  if (d->n < d->cap) return 0;
  cap = d->cap ? d->cap * 2 : 4;
  recs = uvodbc__realloc(d->recs, cap * sizeof(*recs));
  if (recs == NULL) return -1;
  d->recs = recs;
  d->cap = cap;
  return 0;
}

/* Start of the value of key `key` ("PWD=") at `p`, if `p` starts with it. */
static const char* password_value(const char* p) {
  static const char* const keys[] = {"PWD=", "PASSWORD="};
  size_t i;
  for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
    size_t n = strlen(keys[i]);
    if (strncasecmp(p, keys[i], n) == 0) return p + n;
  }
  return NULL;
}

/* Writes `in` with every password value replaced by "***" to `out` (NULL:
 * only counts); returns the length.  A short value makes the text grow, so
 * the size comes from a counting pass, never from a guess. */
static size_t redact_keys(const char* in, char* out) {
  const char* p = in;
  size_t n = 0;
  while (*p != '\0') {
    int at_key = p == in || p[-1] == ';' || isspace((unsigned char)p[-1]);
    const char* v = at_key ? password_value(p) : NULL;
    if (v != NULL) {
      if (out != NULL) {
        memcpy(out + n, p, (size_t)(v - p));
        memcpy(out + n + (size_t)(v - p), "***", 3);
      }
      n += (size_t)(v - p) + 3;
      p = uvodbc__connstr_value_end(v);
      continue;
    }
    if (out != NULL) out[n] = *p;
    n++;
    p++;
  }
  if (out != NULL) out[n] = '\0';
  return n;
}

char* uvodbc__redact_connstr(const char* in) {
  char* out = uvodbc__malloc(redact_keys(in, NULL) + 1);
  if (out != NULL) redact_keys(in, out);
  return out;
}

/* Stars every occurrence of pw[0..len) in `text`; returns 1 if it changed
 * anything.  Starring can complete an occurrence that starts earlier (a
 * password holding '*'), so the scan steps back over the starred span.
 * Each replacement adds stars, so this ends unless pw is all stars, which
 * is skipped. */
static int star(char* text, size_t text_len, const char* pw, size_t len) {
  size_t i = 0;
  int changed = 0;
  while (i < len && pw[i] == '*') i++;
  if (i == len) return 0; /* empty or all stars */
  i = 0;
  while (i + len <= text_len) {
    if (memcmp(text + i, pw, len) != 0) {
      i++;
      continue;
    }
    memset(text + i, '*', len);
    changed = 1;
    i = i >= len - 1 ? i - (len - 1) : 0;
  }
  return changed;
}

/* `s[0..*len)` without leading and trailing blanks. */
static const char* trim(const char* s, size_t* len) {
  while (*len > 0 && isspace((unsigned char)s[0])) {
    s++;
    (*len)--;
  }
  while (*len > 0 && isspace((unsigned char)s[*len - 1])) (*len)--;
  return s;
}

/* Stars the password of one PWD=/Password= value `v` of the connection
 * string: as written (inside its braces) and as the driver reads it
 * ("}}" as "}"), each without surrounding blanks.  Returns 1 if it changed
 * anything. */
static int star_value(char* text, const char* v, char* scratch) {
  const char* raw = *v == '{' ? v + 1 : v;
  const char* e = uvodbc__connstr_value_end(v);
  size_t text_len = strlen(text);
  size_t raw_len, dec_len;
  const char* dec;
  if (*v == '{' && e > raw && e[-1] == '}') e--;
  raw_len = (size_t)(e - raw);
  raw = trim(raw, &raw_len);
  dec_len = uvodbc__connstr_decode(v, scratch, strlen(v) + 1);
  dec = trim(scratch, &dec_len);
  return star(text, text_len, raw, raw_len) |
         star(text, text_len, dec, dec_len);
}

char* uvodbc__redact_connect(const char* msg, const char* connstr) {
  static const char* const keys[] = {"PWD", "PASSWORD"};
  char* out = uvodbc__redact_connstr(msg);
  char* scratch = uvodbc__malloc(strlen(connstr) + 1);
  int changed = 1;
  size_t k;
  if (out == NULL || scratch == NULL) {
    uvodbc__free(out);
    uvodbc__free(scratch);
    return NULL;
  }
  /* Starring one password can complete another (a password holding '*'):
   * repeat until none is left. */
  while (changed) {
    changed = 0;
    for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
      const char* p = connstr;
      const char* v;
      while ((v = uvodbc__connstr_find(p, keys[k])) != NULL) {
        changed |= star_value(out, v, scratch);
        p = uvodbc__connstr_value_end(v);
      }
    }
  }
  uvodbc__free(scratch);
  return out;
}

void uvodbc__diags_add(uvodbc__diags_t* d, const char* sqlstate,
                       int32_t native, const char* message,
                       const char* function) {
  uvodbc_diag_t* r;
  char* msg;
  if (grow(d) != 0) return;
  msg = uvodbc__strdup(message);
  if (msg == NULL) return;
  r = &d->recs[d->n++];
  /* At most 5 characters; the rest of the field stays NUL. */
  memset(r->sqlstate, 0, sizeof(r->sqlstate));
  memcpy(r->sqlstate, sqlstate, strnlen(sqlstate, 5));
  r->native = native;
  r->message = msg;
  r->function = function;
}

void uvodbc__diags_collect(uvodbc__diags_t* d, SQLSMALLINT handle_type,
                           SQLHANDLE handle, const char* function,
                           const char* connstr) {
  SQLSMALLINT i;
  for (i = 1; i < 64; i++) {
    SQLCHAR state[6];
    SQLINTEGER native = 0;
    SQLCHAR text[2048];
    SQLSMALLINT len = 0;
    SQLRETURN rc;
    const char* msg = (const char*)text;
    char* clean = NULL;
    rc = SQLGetDiagRec(handle_type, handle, i, state, &native, text,
                       (SQLSMALLINT)sizeof(text), &len);
    if (!SQL_SUCCEEDED(rc)) break;
    state[5] = '\0';
    /* Only a connect's text is redacted: every other message is the
     * server's, kept as written. */
    if (connstr != NULL) {
      clean = uvodbc__redact_connect(msg, connstr);
      msg = clean != NULL ? clean : "(out of memory)";
    }
    uvodbc__diags_add(d, (const char*)state, (int32_t)native, msg, function);
    uvodbc__free(clean);
  }
}

int uvodbc__diags_has(const uvodbc__diags_t* d, const char* state) {
  size_t i;
  for (i = 0; i < d->n; i++)
    if (strcmp(d->recs[i].sqlstate, state) == 0) return 1;
  return 0;
}

void uvodbc__diags_free(uvodbc__diags_t* d) {
  size_t i;
  for (i = 0; i < d->n; i++) uvodbc__free((void*)d->recs[i].message);
  uvodbc__free(d->recs);
  d->recs = NULL;
  d->n = d->cap = 0;
}
