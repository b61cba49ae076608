/* The MariaDB statement splitter: uvodbc__split_end / _blank / _several /
 * _ambiguous over any SQL, under every quoting rule.  Invariants: each
 * statement ends inside the text at a ';' or the end, the pieces and their
 * ';' put back together give the input, text without quotes, comments or
 * words splits at every ';', and text is blank exactly when each of its
 * pieces is; text without '\' splits alike under every rule,
 * NO_BACKSLASH_ESCAPES makes ANSI_QUOTES moot, and the text is ambiguous
 * exactly when the rules disagree on "several statements". */
#include <ctype.h>

#include "fuzz.h"
#include "odbc.h"

/* No quote, comment or word: a naive split by ';' must agree. */
static int plain(const char* s) {
  for (; *s != '\0'; s++)
    if (isalpha((unsigned char)*s) || strchr("'\"`#-/_", *s) != NULL) return 0;
  return 1;
}

static void check_rules(const char* sql, size_t len, unsigned rules) {
  char* joined = malloc(len + 1);
  const char* p = sql;
  size_t n = 0, pieces = 0;
  int is_plain = plain(sql), all_blank = 1;
  for (;;) {
    const char* end = uvodbc__split_end(p, rules);
    FUZZ_CHECK(end >= p && end <= sql + len);
    FUZZ_CHECK(*end == ';' || *end == '\0');
    if (is_plain) FUZZ_CHECK(end == p + strcspn(p, ";"));
    if (p == sql)
      FUZZ_CHECK(uvodbc__split_several(sql, rules) ==
                 (*end == ';' && !uvodbc__split_blank(end + 1)));
    memcpy(joined + n, p, (size_t)(end - p));
    joined[n + (size_t)(end - p)] = '\0';
    all_blank &= uvodbc__split_blank(joined + n);
    n += (size_t)(end - p);
    pieces++;
    if (*end == '\0') break;
    joined[n++] = ';';
    p = end + 1;
  }
  FUZZ_CHECK(n == len && memcmp(joined, sql, len) == 0);
  FUZZ_CHECK(pieces <= len + 1);
  /* Blank text (no statement) is blank pieces, and only that. */
  FUZZ_CHECK(uvodbc__split_blank(sql) == all_blank);
  free(joined);
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  char* sql = fuzz_cstr(data, size);
  size_t len = strlen(sql);
  const unsigned nbe = UVODBC__SPLIT_NO_BACKSLASH;
  const unsigned ansi = UVODBC__SPLIT_ANSI_QUOTES;
  const char* end0 = uvodbc__split_end(sql, 0);
  int several0 = uvodbc__split_several(sql, 0);
  unsigned rules;
  for (rules = 0; rules <= (nbe | ansi); rules++) check_rules(sql, len, rules);
  if (strchr(sql, '\\') == NULL)
    for (rules = 1; rules <= (nbe | ansi); rules++)
      FUZZ_CHECK(uvodbc__split_end(sql, rules) == end0);
  FUZZ_CHECK(uvodbc__split_end(sql, nbe | ansi) == uvodbc__split_end(sql, nbe));
  FUZZ_CHECK(uvodbc__split_ambiguous(sql) ==
             (uvodbc__split_several(sql, nbe) != several0 ||
              uvodbc__split_several(sql, ansi) != several0));
  free(sql);
  return 0;
}
