/* Prints the results of a statement or catalog call as they arrive: the
 * exec's first batch, then uvodbc_cursor_read_start() batch by batch (one
 * batch in hand, one in flight: never the whole result in memory), then
 * the next result sets. */
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"

cli_format_t cli_format(const cli_args_t* args) {
  if (args->format != CLI_FORMAT_DEFAULT) return args->format;
  return isatty(STDOUT_FILENO) ? CLI_FORMAT_TABLE : CLI_FORMAT_CSV;
}

void cli_exec_options(const cli_args_t* args, uvodbc_exec_options_t* opts) {
  uvodbc_exec_options_init(opts);
  opts->batch_rows = args->batch_rows;
  opts->timeout_ms = args->timeout_ms;
}

static void fail(cli_session_t* s, uvodbc_req_t* req, int status) {
  if (s->out != NULL) cli_out_end(s->out);
  if (status == UV_ECANCELED && s->interrupted) {
    cli_session_finish(s, CLI_EXIT_INTERRUPT);
    return;
  }
  cli_print_error("statement failed", status, req);
  cli_session_finish(s, CLI_EXIT_SQL);
}

static int write_batch(cli_session_t* s, const uvodbc_batch_t* batch) {
  size_t n = batch != NULL ? uvodbc_batch_nrows(batch) : 0;
  for (size_t r = 0; r < n; r++) {
    int rc = cli_row_from_batch(&s->row, batch, r);
    if (rc == 0) rc = cli_out_row(s->out, s->row.cells);
    if (rc != 0) return rc;
  }
  s->rows += n;
  return cli_out_flush(s->out);
}

static void on_next_result(uvodbc_req_t* req, int status);

static void on_read(uvodbc_req_t* req, int status) {
  cli_session_t* s = req->data;
  int rc;
  if (s->finished) return;
  if (status == UV_EOF) {
    if ((rc = cli_out_end(s->out)) != 0) {
      fail(s, NULL, rc);
      return;
    }
    s->pending = req;
    rc = uvodbc_cursor_next_result(s->cursor, req, on_next_result);
    if (rc != 0) fail(s, NULL, rc);
    return;
  }
  if (status != 0) {
    fail(s, req, status);
    return;
  }
  if ((rc = write_batch(s, req->batch)) != 0) {
    uvodbc_cursor_read_stop(s->cursor);
    fail(s, NULL, rc);
    return;
  }
  if (s->interrupted) cli_session_finish(s, CLI_EXIT_INTERRUPT);
}

/* A new result set: its header, its first batch, then read the rest. */
static void start_result(cli_session_t* s, uvodbc_req_t* req) {
  size_t ncols = uvodbc_cursor_ncols(s->cursor);
  const char** names = calloc(ncols ? ncols : 1, sizeof(*names));
  int rc = names == NULL ? UV_ENOMEM : 0;
  for (size_t i = 0; rc == 0 && i < ncols; i++)
    names[i] = uvodbc_cursor_column(s->cursor, i)->name;
  cli_row_free(&s->row);
  if (rc == 0) rc = cli_row_init(&s->row, ncols);
  /* Result sets after the first: a blank line between tables or CSVs
   * (JSON: a second array; JSON lines: more lines). */
  if (rc == 0 && s->results++ > 0) {
    if (cli_format(s->args) == CLI_FORMAT_CSV) fputs("\r\n", stdout);
    if (cli_format(s->args) == CLI_FORMAT_TABLE) fputc('\n', stdout);
  }
  if (rc == 0) rc = cli_out_begin(s->out, ncols, names);
  free(names);
  if (rc == 0) rc = write_batch(s, req->batch);
  s->pending = req;
  if (rc == 0)
    rc = uvodbc_cursor_read_start(s->cursor, req, s->args->batch_rows, on_read);
  if (rc != 0) fail(s, NULL, rc);
}

static void on_next_result(uvodbc_req_t* req, int status) {
  cli_session_t* s = req->data;
  if (s->finished) return;
  if (status == UV_EOF) {
    cli_session_finish(s, CLI_EXIT_OK);
  } else if (status != 0) {
    fail(s, req, status);
  } else if (s->interrupted) {
    cli_session_finish(s, CLI_EXIT_INTERRUPT);
  } else if (uvodbc_cursor_ncols(s->cursor) == 0) {
    /* A statement without rows among the results: on to the next. */
    int rc = uvodbc_cursor_next_result(s->cursor, req, on_next_result);
    if (rc != 0) fail(s, NULL, rc);
  } else {
    start_result(s, req);
  }
}

void cli_stream_cb(uvodbc_req_t* req, int status) {
  cli_session_t* s = req->data;
  s->pending = NULL;
  if (status != 0) {
    fail(s, req, status);
    return;
  }
  if (s->interrupted) {
    if (req->cursor != NULL) s->cursor = req->cursor;
    cli_session_finish(s, CLI_EXIT_INTERRUPT);
    return;
  }
  if (req->cursor == NULL) {
    if (req->rows_affected >= 0)
      fprintf(stderr, "(%lld row%s affected)\n", (long long)req->rows_affected,
              req->rows_affected == 1 ? "" : "s");
    cli_session_finish(s, CLI_EXIT_OK);
    return;
  }
  s->cursor = req->cursor;
  s->out = cli_out_new(cli_format(s->args), stdout);
  if (s->out == NULL) {
    fail(s, NULL, UV_ENOMEM);
    return;
  }
  start_result(s, req);
}
