/* uvodbc tables [PATTERN] and uvodbc columns [TABLE]: SQLTables and
 * SQLColumns, printed as query results are. */
#include <string.h>

#include "cli.h"

static void start(cli_session_t* s) {
  uvodbc_catalog_args_t cargs;
  uvodbc_exec_options_t opts;
  int columns = !strcmp(s->args->command, "columns");
  int rc;
  memset(&cargs, 0, sizeof(cargs));
  if (s->args->nwords > 0) cargs.table = s->args->words[0];
  cli_exec_options(s->args, &opts);
  s->req.data = s;
  rc = uvodbc_conn_catalog(
      s->conn, &s->req,
      columns ? UVODBC_CATALOG_COLUMNS : UVODBC_CATALOG_TABLES, &cargs, &opts,
      cli_stream_cb);
  if (rc != 0) {
    cli_print_error("catalog call failed", rc, NULL);
    cli_session_finish(s, CLI_EXIT_SQL);
    return;
  }
  s->pending = &s->req;
}

int cli_catalog(const cli_args_t* args) {
  cli_session_t s;
  int code;
  memset(&s, 0, sizeof(s));
  code = cli_session_run(&s, args, start);
  cli_out_free(s.out);
  cli_row_free(&s.row);
  return code;
}
