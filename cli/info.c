/* uvodbc info: driver and DBMS facts (SQLGetInfo), as a two-column
 * result: name, value. */
#include <string.h>

#include "cli.h"

static void put(cli_out_t* out, const char* name, const char* value) {
  cli_cell_t cells[2];
  cli_cell_text(&cells[0], name);
  cli_cell_text(&cells[1], value);
  cli_out_row(out, cells);
}

static void put_int(cli_out_t* out, const char* name, int64_t value) {
  cli_cell_t cells[2];
  char buf[32];
  cli_cell_text(&cells[0], name);
  cli_cell_int(&cells[1], buf, sizeof(buf), value);
  cli_out_row(out, cells);
}

static void on_info(uvodbc_req_t* req, int status) {
  cli_session_t* s = req->data;
  static const char* const names[] = {"name", "value"};
  const uvodbc_info_t* i = req->info;
  cli_out_t* out;
  s->pending = NULL;
  if (status != 0) {
    cli_print_error("info failed", status, req);
    cli_session_finish(s, CLI_EXIT_SQL);
    return;
  }
  out = s->out = cli_out_new(cli_format(s->args), stdout);
  if (out == NULL || cli_out_begin(out, 2, names) != 0) {
    uvodbc_req_cleanup(req);
    cli_print_error("info failed", UV_ENOMEM, NULL);
    cli_session_finish(s, CLI_EXIT_SQL);
    return;
  }
  put(out, "dbms_name", i->dbms_name);
  put(out, "dbms_version", i->dbms_version);
  put(out, "driver_name", i->driver_name);
  put(out, "driver_version", i->driver_version);
  put(out, "driver_odbc_version", i->driver_odbc_version);
  put(out, "dm_odbc_version", i->dm_odbc_version);
  put(out, "data_source_name", i->data_source_name);
  put(out, "server_name", i->server_name);
  put(out, "database_name", i->database_name);
  put(out, "user_name", i->user_name);
  put(out, "identifier_quote", i->identifier_quote);
  put(out, "catalog_term", i->catalog_term);
  put(out, "schema_term", i->schema_term);
  put(out, "table_term", i->table_term);
  put(out, "procedure_term", i->procedure_term);
  put(out, "procedures", i->procedures ? "yes" : "no");
  put(out, "multiple_result_sets", i->multiple_result_sets ? "yes" : "no");
  put_int(out, "max_column_name_len", i->max_column_name_len);
  put_int(out, "max_table_name_len", i->max_table_name_len);
  put_int(out, "max_statement_len", i->max_statement_len);
  put_int(out, "txn_capable", i->txn_capable);
  put_int(out, "default_txn_isolation", i->default_txn_isolation);
  put_int(out, "txn_isolation_options", i->txn_isolation_options);
  put_int(out, "getdata_extensions", i->getdata_extensions);
  put_int(out, "sql_conformance", i->sql_conformance);
  uvodbc_req_cleanup(req);
  cli_session_finish(s, cli_out_end(out) == 0 ? CLI_EXIT_OK : CLI_EXIT_SQL);
}

static void start(cli_session_t* s) {
  int rc;
  s->req.data = s;
  rc = uvodbc_conn_get_info(s->conn, &s->req, on_info);
  if (rc != 0) {
    cli_print_error("info failed", rc, NULL);
    cli_session_finish(s, CLI_EXIT_SQL);
    return;
  }
  s->pending = &s->req;
}

int cli_info(const cli_args_t* args) {
  cli_session_t s;
  int code;
  memset(&s, 0, sizeof(s));
  code = cli_session_run(&s, args, start);
  cli_out_free(s.out);
  return code;
}
