/* uvodbc query: one SQL text (words, --file or stdin) with typed
 * parameters; its results printed as they stream in. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static char* sql_text(const cli_args_t* args) {
  size_t len = 1;
  char* sql;
  if (args->nwords == 0) return cli_read_file(args->file);
  for (int i = 0; i < args->nwords; i++) len += strlen(args->words[i]) + 1;
  if ((sql = malloc(len)) == NULL) return NULL;
  sql[0] = '\0';
  for (int i = 0; i < args->nwords; i++) {
    if (i > 0) strcat(sql, " ");
    strcat(sql, args->words[i]);
  }
  return sql;
}

static void start(cli_session_t* s) {
  uvodbc_exec_options_t opts;
  int rc;
  cli_exec_options(s->args, &opts);
  cli_progress_start(s);
  s->req.data = s;
  rc = uvodbc_conn_exec(s->conn, &s->req, s->data, s->args->params,
                        s->args->nparams, &opts, cli_stream_cb);
  if (rc != 0) {
    cli_print_error("statement failed", rc, NULL);
    cli_session_finish(s, CLI_EXIT_SQL);
    return;
  }
  s->pending = &s->req;
}

int cli_query(const cli_args_t* args) {
  cli_session_t s;
  char* sql = sql_text(args);
  int code;
  if (sql == NULL) return CLI_EXIT_USAGE;
  if (sql[strspn(sql, " \t\r\n")] == '\0') {
    fputs("uvodbc: no SQL given\n", stderr);
    free(sql);
    return CLI_EXIT_USAGE;
  }
  memset(&s, 0, sizeof(s));
  s.data = sql;
  code = cli_session_run(&s, args, start);
  cli_out_free(s.out);
  cli_row_free(&s.row);
  free(sql);
  return code;
}
