/* The uvodbc command-line tool: what its files share.  Built on the public
 * API only (uvodbc.h), libuv and jansson. */
#ifndef UVODBC_CLI_H
#define UVODBC_CLI_H

#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "uvodbc.h"

/* Exit codes (stable; docs/cli.md). */
enum {
  CLI_EXIT_OK = 0,
  CLI_EXIT_SQL = 1,       /* a statement failed, or an error after connect */
  CLI_EXIT_USAGE = 2,     /* bad arguments, unreadable SQL file            */
  CLI_EXIT_CONNECT = 3,   /* the connect failed                            */
  CLI_EXIT_INTERRUPT = 130 /* SIGINT                                      */
};

typedef enum {
  CLI_FORMAT_DEFAULT = 0, /* table on a tty, else CSV */
  CLI_FORMAT_TABLE,
  CLI_FORMAT_CSV,
  CLI_FORMAT_JSON,
  CLI_FORMAT_JSONL
} cli_format_t;

/* ---- args.c: the command line -------------------------------------- */

typedef struct cli_args_s {
  const char* command;   /* query, info, tables, columns, bench        */
  char* connstr;         /* -c, "DSN=x" for a bare name; malloc'd       */
  cli_format_t format;   /* -f                                          */
  const char* file;      /* --file                                      */
  char** words;          /* the other arguments (SQL, TABLE)           */
  int nwords;
  uvodbc_param_t* params; /* -p, in order                              */
  size_t nparams;
  char** param_text;     /* what the params' text/binary point into    */
  size_t batch_rows;     /* --batch-rows                                */
  unsigned int timeout_ms; /* --timeout (seconds on the command line)   */
  /* bench */
  unsigned int clients;  /* -j                                          */
  double seconds;        /* -T                                          */
  uint64_t count;        /* -t (per client)                             */
  const char* workload;  /* --workload                                  */
  const char* script;    /* --script                                    */
  int json;              /* --json                                      */
  int trace;             /* --trace                                     */
} cli_args_t;

/* Parses argv; on a usage error prints it and the usage on stderr and
 * returns CLI_EXIT_USAGE.  -h prints the usage on stdout and returns -1. */
int cli_args_parse(cli_args_t* args, int argc, char** argv);
void cli_args_free(cli_args_t* args);
void cli_usage(FILE* f);

/* params.c: "-p TYPE:VALUE" into a parameter.  `text` receives a malloc'd
 * buffer the parameter points into (or NULL).  Returns 0 or -1. */
int cli_param_parse(const char* spec, uvodbc_param_t* out, char** text);

/* ---- cell.c: one value, ready to print ------------------------------ */

typedef enum {
  CLI_CELL_NULL,
  CLI_CELL_NUMBER, /* integer or real: a JSON number        */
  CLI_CELL_BOOL,   /* "true" / "false"                      */
  CLI_CELL_TEXT    /* text, decimal, binary (hex), dates    */
} cli_cell_kind_t;

typedef struct cli_cell_s {
  cli_cell_kind_t kind;
  const char* s;   /* the value as text (also numbers and bools) */
  size_t len;
  int is_real;     /* NUMBER from a double: `real` is the value  */
  double real;
  int64_t integer; /* NUMBER from an integer                     */
  int boolean;
} cli_cell_t;

/* Scratch space for the text of one row's cells (numbers, dates, hex). */
typedef struct cli_row_s {
  size_t ncols;
  cli_cell_t* cells;
  char** buf;
  size_t* cap;
} cli_row_t;

int cli_row_init(cli_row_t* row, size_t ncols);
void cli_row_free(cli_row_t* row);
/* Fills row->cells from row `r` of `batch`.  Returns 0 or UV_ENOMEM. */
int cli_row_from_batch(cli_row_t* row, const uvodbc_batch_t* batch,
                       size_t r);
/* Cell helpers for rows not read from a batch (info). */
void cli_cell_text(cli_cell_t* cell, const char* s);
void cli_cell_int(cli_cell_t* cell, char* buf, size_t size, int64_t v);

/* ---- output.c: table, CSV, JSON, JSON lines ------------------------- */

typedef struct cli_out_s cli_out_t;

cli_out_t* cli_out_new(cli_format_t format, FILE* f);
/* Starts a result: column names (copied). */
int cli_out_begin(cli_out_t* out, size_t ncols, const char* const* names);
int cli_out_row(cli_out_t* out, const cli_cell_t* cells);
/* End of a batch: the table prints what it holds. */
int cli_out_flush(cli_out_t* out);
/* End of the result (the table's row count, JSON's closing bracket). */
int cli_out_end(cli_out_t* out);
uint64_t cli_out_rows(const cli_out_t* out);
void cli_out_free(cli_out_t* out);

/* ---- trace.c: --trace ----------------------------------------------- */

/* Sets the tracing hook in `opts` when --trace was given. */
void cli_trace_options(uvodbc_conn_options_t* opts, const cli_args_t* args);

/* ---- session.c: loop, connect, Ctrl-C, diagnostics ------------------ */

typedef struct cli_session_s cli_session_t;
typedef void (*cli_start_fn)(cli_session_t* s);

struct cli_session_s {
  uv_loop_t loop;
  const cli_args_t* args;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  uv_signal_t sigint;
  uv_timer_t progress;
  int connecting;
  int interrupted;
  int finished;
  int exit_code;
  uvodbc_req_t* pending; /* what SIGINT cancels */
  cli_start_fn start;    /* runs once connected */
  uvodbc_cursor_t* cursor; /* closed at finish   */
  /* progress line (stderr on a tty) */
  uint64_t t0_ns;
  uint64_t rows;
  cli_out_t* out;        /* results go here (stream.c) */
  cli_row_t row;
  unsigned int results;  /* result sets printed */
  void* data;            /* the command's */
};

/* Runs `start` on an open connection; returns the exit code. */
int cli_session_run(cli_session_t* s, const cli_args_t* args,
                    cli_start_fn start);
/* Ends the command with `code` (130 wins once interrupted): closes the
 * cursor, the connection and the session's handles. */
void cli_session_finish(cli_session_t* s, int code);
/* Prints "uvodbc: WHAT: ERR: message" and every diagnostic record. */
void cli_print_error(const char* what, int status, const uvodbc_req_t* req);
/* Progress line: on when stderr is a tty; cleared at finish. */
void cli_progress_start(cli_session_t* s);

/* Reads a whole file ("-" or NULL: stdin).  Returns malloc'd text or
 * NULL (message printed). */
char* cli_read_file(const char* path);

/* ---- the commands ---------------------------------------------------- */

int cli_query(const cli_args_t* args);
int cli_info(const cli_args_t* args);
int cli_catalog(const cli_args_t* args);
int cli_bench(const cli_args_t* args);

/* stream.c: the callback of an exec or catalog call on s->req: prints
 * every result set, batch by batch, then ends the session. */
void cli_stream_cb(uvodbc_req_t* req, int status);
/* The format -f asked for, or the default for stdout. */
cli_format_t cli_format(const cli_args_t* args);
/* Exec options from the arguments. */
void cli_exec_options(const cli_args_t* args, uvodbc_exec_options_t* opts);

#endif /* UVODBC_CLI_H */
