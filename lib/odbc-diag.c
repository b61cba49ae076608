/* Diagnostics: copied on the worker right after the call that produced them,
 * because the next call on the handle wipes them.  Passwords are redacted
 * here, at the only place driver text enters the library. */
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

char* uvodbc__redact_connstr(const char* in) {
  size_t len = strlen(in);
  char* out = uvodbc__malloc(len + 4);
  char* o = out;
  const char* p = in;
  if (out == NULL) return NULL;
  while (*p != '\0') {
    int at_key = p == in || p[-1] == ';' || isspace((unsigned char)p[-1]);
    const char* v = at_key ? password_value(p) : NULL;
    if (v != NULL) {
      memcpy(o, p, (size_t)(v - p));
      o += v - p;
      memcpy(o, "***", 3);
      o += 3;
      p = uvodbc__connstr_value_end(v);
      continue;
    }
    *o++ = *p++;
  }
  *o = '\0';
  return out;
}

/* The password's literal value inside `connstr`, as (start, len). */
static size_t find_password(const char* connstr, const char** start) {
  const char* v = uvodbc__connstr_find(connstr, "PWD");
  const char* e;
  if (v == NULL) v = uvodbc__connstr_find(connstr, "PASSWORD");
  if (v == NULL) return 0;
  e = uvodbc__connstr_value_end(v);
  if (*v == '{' && e > v + 1) {
    *start = v + 1;
    return (size_t)(e - v - 2);
  }
  *start = v;
  return (size_t)(e - v);
}

/* Redacts PWD=... fragments and every occurrence of the password itself in
 * a driver message: drivers echo connection strings in some errors. */
static char* redact_message(const char* msg, const char* secret) {
  const char* pw = NULL;
  size_t pwlen = secret ? find_password(secret, &pw) : 0;
  char* out = uvodbc__redact_connstr(msg);
  char* s;
  if (out == NULL || pwlen == 0) return out;
  for (s = out; *s != '\0'; s++)
    if (strncmp(s, pw, pwlen) == 0) memset(s, '*', pwlen);
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
  memset(r->sqlstate, 0, sizeof(r->sqlstate));
  strncpy(r->sqlstate, sqlstate, 5);
  r->native = native;
  r->message = msg;
  r->function = function;
}

void uvodbc__diags_collect(uvodbc__diags_t* d, SQLSMALLINT handle_type,
                           SQLHANDLE handle, const char* function,
                           const char* secret) {
  SQLSMALLINT i;
  for (i = 1; i < 64; i++) {
    SQLCHAR state[6];
    SQLINTEGER native = 0;
    SQLCHAR text[2048];
    SQLSMALLINT len = 0;
    SQLRETURN rc;
    char* clean;
    rc = SQLGetDiagRec(handle_type, handle, i, state, &native, text,
                       (SQLSMALLINT)sizeof(text), &len);
    if (!SQL_SUCCEEDED(rc)) break;
    state[5] = '\0';
    clean = redact_message((const char*)text, secret);
    uvodbc__diags_add(d, (const char*)state, (int32_t)native,
                      clean ? clean : "(out of memory)", function);
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
