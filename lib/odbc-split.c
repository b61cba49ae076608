/* Statements in one string, split as MariaDB's Connector/ODBC splits them:
 * a statement ends at a ';' outside quotes, comments ("--", "#", C-style)
 * and BEGIN ... END / CASE ... END blocks; like the driver, nothing is split
 * after CREATE PROCEDURE / FUNCTION / DEFINER or BEGIN NOT ATOMIC.  Inside
 * quotes '\' escapes the next character unless the session's sql_mode says
 * otherwise (NO_BACKSLASH_ESCAPES; ANSI_QUOTES for "..."), which the driver
 * reads from the server's status flags (ma_parse.c, 3.1.15).
 * uvodbc uses it to refuse several statements in one call on MariaDB (see
 * mariadb_lock_trap in odbc-stmt.c). */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "odbc.h"

#define BLANKS " \t\n\r\f\v"

static size_t word_len(const char* p) {
  size_t n = 0;
  while (isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == '$') n++;
  return n;
}

static int word_is(const char* p, size_t n, const char* w) {
  return n == strlen(w) && strncasecmp(p, w, n) == 0;
}

/* Past a comment that starts at `p`, or NULL if none starts there. */
static const char* skip_comment(const char* p) {
  if ((p[0] == '-' && p[1] == '-') || p[0] == '#') return p + strcspn(p, "\n");
  if (p[0] == '/' && p[1] == '*') {
    const char* end = strstr(p + 2, "*/");
    return end != NULL ? end + 2 : p + strlen(p);
  }
  return NULL;
}

/* 1 if '\' escapes the next character inside `quote` under `rules`. */
static int escapes(char quote, unsigned rules) {
  if (quote == '`' || (rules & UVODBC__SPLIT_NO_BACKSLASH) != 0) return 0;
  return quote != '"' || (rules & UVODBC__SPLIT_ANSI_QUOTES) == 0;
}

const char* uvodbc__split_end(const char* sql, unsigned rules) {
  const char* p = sql;
  const char* first = NULL;
  size_t first_len = 0, words = 0;
  int depth = 0;
  while (*p != '\0') {
    char c = *p;
    const char* past = skip_comment(p);
    if (past != NULL) {
      p = past;
      continue;
    }
    if (c == ';') {
      if (depth == 0) return p;
    } else if (c == '\'' || c == '"' || c == '`') {
      int esc = escapes(c, rules);
      for (p++; *p != '\0' && *p != c; p++)
        if (esc && *p == '\\' && p[1] != '\0') p++;
      if (*p == c) p++;
      continue;
    } else if (isalpha((unsigned char)c) || c == '_') {
      size_t n = word_len(p), next_len;
      const char* next = p + n;
      next += strspn(next, BLANKS);
      next_len = word_len(next);
      if (words++ == 0) {
        first = p;
        first_len = n;
      } else if (words == 2 &&
                 ((word_is(first, first_len, "CREATE") &&
                   (word_is(p, n, "PROCEDURE") || word_is(p, n, "FUNCTION") ||
                    word_is(p, n, "DEFINER"))) ||
                  (word_is(first, first_len, "BEGIN") &&
                   word_is(p, n, "NOT")))) {
        return p + strlen(p); /* a routine body: never split */
      }
      if (word_is(p, n, "BEGIN")) { /* a block, not BEGIN [WORK]; */
        if (*next != ';' && *next != '\0' && !word_is(next, next_len, "WORK"))
          depth++;
      } else if (word_is(p, n, "CASE")) {
        depth++;
      } else if (word_is(p, n, "END") && depth > 0 &&
                 !word_is(next, next_len, "IF") &&
                 !word_is(next, next_len, "LOOP") &&
                 !word_is(next, next_len, "WHILE") &&
                 !word_is(next, next_len, "REPEAT") &&
                 !word_is(next, next_len, "FOR")) {
        depth--; /* END, END CASE */
      }
      p += n;
      continue;
    }
    p++;
  }
  return p;
}

int uvodbc__split_blank(const char* s) {
  while (*s != '\0') {
    const char* past = skip_comment(s);
    if (past != NULL)
      s = past;
    else if (*s == ';' || strchr(BLANKS, *s) != NULL)
      s++;
    else
      return 0;
  }
  return 1;
}

int uvodbc__split_several(const char* sql, unsigned rules) {
  const char* end = uvodbc__split_end(sql, rules);
  return *end == ';' && !uvodbc__split_blank(end + 1);
}

int uvodbc__split_ambiguous(const char* sql) {
  int several = uvodbc__split_several(sql, 0);
  return uvodbc__split_several(sql, UVODBC__SPLIT_ANSI_QUOTES) != several ||
         uvodbc__split_several(sql, UVODBC__SPLIT_NO_BACKSLASH) != several;
}
