/* What every command but bench shares: a loop, one connection, Ctrl-C,
 * the progress line and the error report. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

void cli_print_error(const char* what, int status, const uvodbc_req_t* req) {
  fprintf(stderr, "uvodbc: %s: %s: %s\n", what, uvodbc_err_name(status),
          uvodbc_strerror(status));
  if (req == NULL) return;
  /* Messages come redacted from uvodbc: no password in them. */
  for (size_t i = 0; i < req->ndiag; i++) {
    const uvodbc_diag_t* d = &req->diag[i];
    fprintf(stderr, "  [%s] (native %d) %s%s%s%s\n", d->sqlstate,
            (int)d->native, d->message ? d->message : "",
            d->function ? " (" : "", d->function ? d->function : "",
            d->function ? ")" : "");
  }
}

char* cli_read_file(const char* path) {
  FILE* f = stdin;
  size_t len = 0, cap = 4096;
  char* buf = malloc(cap);
  if (path != NULL && strcmp(path, "-") != 0 && (f = fopen(path, "rb")) == NULL) {
    fprintf(stderr, "uvodbc: cannot read %s: %s\n", path, strerror(errno));
    free(buf);
    return NULL;
  }
  while (buf != NULL) {
    len += fread(buf + len, 1, cap - len - 1, f);
    if (len < cap - 1) break;
    char* p = realloc(buf, cap *= 2);
    if (p == NULL) free(buf);
    buf = p;
  }
  if (buf != NULL && ferror(f)) {
    fprintf(stderr, "uvodbc: cannot read %s\n", path ? path : "stdin");
    free(buf);
    buf = NULL;
  }
  if (f != stdin) fclose(f);
  if (buf == NULL) return NULL;
  buf[len] = '\0';
  return buf;
}

/* ---- progress line ------------------------------------------------- */

static int progress_shown;

static void on_progress(uv_timer_t* t) {
  cli_session_t* s = t->data;
  double secs = (double)(uv_hrtime() - s->t0_ns) / 1e9;
  fprintf(stderr, "\r%llu rows, %.0f rows/s, %.1f s ",
          (unsigned long long)s->rows, secs > 0 ? (double)s->rows / secs : 0.0,
          secs);
  progress_shown = 1;
}

void cli_progress_start(cli_session_t* s) {
  s->t0_ns = uv_hrtime();
  if (isatty(STDERR_FILENO)) uv_timer_start(&s->progress, on_progress, 1000, 500);
}

/* ---- Ctrl-C -------------------------------------------------------- */

static void on_sigint(uv_signal_t* h, int signum) {
  cli_session_t* s = h->data;
  if (s->interrupted || s->connecting) {
    /* A connect cannot be interrupted (uvodbc_req_cancel: UV_EBUSY), and a
     * second Ctrl-C means now. */
    fflush(stdout);
    fputs("\nuvodbc: interrupted\n", stderr);
    _exit(CLI_EXIT_INTERRUPT);
  }
  s->interrupted = 1;
  if (s->pending != NULL && uvodbc_req_cancel(s->pending) == 0) return;
  /* Nothing to cancel, or its callback is on its way: it sees
   * `interrupted`.  Between operations, end now. */
  if (s->pending == NULL) cli_session_finish(s, CLI_EXIT_INTERRUPT);
}

/* ---- lifecycle ----------------------------------------------------- */

void cli_session_finish(cli_session_t* s, int code) {
  if (s->finished) return;
  s->finished = 1;
  s->pending = NULL;
  s->exit_code = s->interrupted ? CLI_EXIT_INTERRUPT : code;
  if (s->interrupted) fputs("uvodbc: interrupted\n", stderr);
  uv_timer_stop(&s->progress);
  if (progress_shown) fputs("\r\033[K", stderr);
  if (s->cursor != NULL) uvodbc_cursor_close(s->cursor, NULL);
  s->cursor = NULL;
  if (s->conn != NULL) uvodbc_conn_close(s->conn, NULL);
  s->conn = NULL;
  uv_close((uv_handle_t*)&s->sigint, NULL);
  uv_close((uv_handle_t*)&s->progress, NULL);
}

static void on_connect(uvodbc_req_t* req, int status) {
  cli_session_t* s = req->data;
  s->connecting = 0;
  if (status != 0) {
    cli_print_error("connect failed", status, req);
    cli_session_finish(s, CLI_EXIT_CONNECT);
    return;
  }
  s->start(s);
}

int cli_session_run(cli_session_t* s, const cli_args_t* args,
                    cli_start_fn start) {
  uvodbc_conn_options_t opts;
  int rc;
  s->args = args;
  s->start = start;
  s->exit_code = CLI_EXIT_SQL;
  if (uv_loop_init(&s->loop) != 0) return CLI_EXIT_SQL;
  uv_signal_init(&s->loop, &s->sigint);
  s->sigint.data = s;
  uv_signal_start(&s->sigint, on_sigint, SIGINT);
  uv_timer_init(&s->loop, &s->progress);
  s->progress.data = s;

  uvodbc_conn_options_init(&opts);
  opts.query_timeout_ms = args->timeout_ms;
  cli_trace_options(&opts, args);
  s->req.data = s;
  s->connecting = 1;
  rc = uvodbc_connect(&s->loop, &s->req, args->connstr, &opts, on_connect);
  if (rc != 0) {
    s->connecting = 0;
    cli_print_error("connect failed", rc, NULL);
    cli_session_finish(s, CLI_EXIT_CONNECT);
  } else {
    s->conn = s->req.conn;
  }
  uv_run(&s->loop, UV_RUN_DEFAULT);
  uvodbc_shutdown();
  if (uv_loop_close(&s->loop) != 0)
    fputs("uvodbc: internal: handles left open\n", stderr);
  return s->exit_code;
}
