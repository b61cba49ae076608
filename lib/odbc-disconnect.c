/* Which diagnostics say the server cannot be reached or the connection is
 * gone: one table for every driver, measured by killing and stopping each
 * server (docs/drivers.md, "Disconnects").  SQLite has no server: none of
 * its diagnostics (a missing or unwritable file: HY000 with SQLite's code
 * 14 or 8) matches. */
#include <string.h>

#include "odbc.h"

typedef struct {
  const char* state; /* SQLSTATE, or its first characters; NULL: any  */
  int32_t native;    /* native code; 0: any                            */
  const char* text;  /* part of the message; NULL: any                 */
  int gone;          /* the verdict when the row matches               */
} rule_t;

/* The first row that matches a record decides. */
static const rule_t rules[] = {
    /* psqlODBC reports every failed connect as 08001, also when the server
     * answered and refused (a wrong password, an unknown database or role,
     * too many clients: libpq's "FATAL:" text), which is not a
     * disconnect; a server starting up or shutting down is. */
    {"08001", 0, "the database system is", 1},
    {"08001", 0, "FATAL:", 0},
    /* Class 08, connection exception: psqlODBC 08001 (libpq's "Connection
     * refused", "could not connect", "could not translate host name", a
     * missing socket), 08S01 for a lost connection (psqlODBC "server closed
     * the connection unexpectedly", MariaDB 2013). */
    {"08", 0, NULL, 1},
    /* PostgreSQL: admin shutdown, crash shutdown, cannot connect now. */
    {"57P01", 0, NULL, 1},
    {"57P02", 0, NULL, 1},
    {"57P03", 0, NULL, 1},
    /* MariaDB Connector/C's own codes, reported as HY000 or 08S01: can't
     * connect (socket, TCP), unknown host, server gone, lost during query,
     * lost with a system error. */
    {NULL, 2002, NULL, 1},
    {NULL, 2003, NULL, 1},
    {NULL, 2005, NULL, 1},
    {NULL, 2006, NULL, 1},
    {NULL, 2013, NULL, 1},
    {NULL, 2055, NULL, 1},
    /* ... and its socket errors, e.g. a write to a killed idle
     * connection: 5013 "Read error", 5014 "Write error". */
    {"HY000", 5013, NULL, 1},
    {"HY000", 5014, NULL, 1},
};

static int matches(const rule_t* r, const uvodbc_diag_t* d) {
  return (r->state == NULL ||
          strncmp(d->sqlstate, r->state, strlen(r->state)) == 0) &&
         (r->native == 0 || d->native == r->native) &&
         (r->text == NULL ||
          (d->message != NULL && strstr(d->message, r->text) != NULL));
}

static int record_gone(const uvodbc_diag_t* d) {
  size_t i;
  for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
    if (matches(&rules[i], d)) return rules[i].gone;
  return 0;
}

int uvodbc__diags_disconnect(const uvodbc__diags_t* d) {
  size_t i;
  for (i = 0; i < d->n; i++)
    if (record_gone(&d->recs[i])) return 1;
  return 0;
}
