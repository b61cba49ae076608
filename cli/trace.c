/* --trace: every operation the tool runs, one line on stderr when it
 * finishes, from uvodbc's tracing hook (docs/instruments.md). */
#include <stdio.h>

#include "cli.h"

static void on_trace(const uvodbc_trace_event_t* ev, void* data) {
  (void)data;
  if (ev->phase != UVODBC_TRACE_FINISHED) return;
  fprintf(stderr,
          "trace: %s%s%s %s%s%s queued %.3f ms, waited %.3f ms, worked %.3f "
          "ms, %llu rows%s%.80s\n",
          uvodbc_op_kind_name(ev->kind), ev->detail ? " " : "",
          ev->detail ? ev->detail : "", uvodbc_err_name(ev->status),
          ev->sqlstate[0] ? " " : "", ev->sqlstate,
          (double)ev->wait_conn_ns / 1e6, (double)ev->wait_worker_ns / 1e6,
          (double)ev->work_ns / 1e6, (unsigned long long)ev->rows,
          ev->sql ? ": " : "", ev->sql ? ev->sql : "");
}

void cli_trace_options(uvodbc_conn_options_t* opts, const cli_args_t* args) {
  if (!args->trace) return;
  opts->trace = on_trace;
}
