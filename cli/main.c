/* uvodbc: the command-line tool (docs/cli.md). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int main(int argc, char** argv) {
  cli_args_t args;
  int code = cli_args_parse(&args, argc, argv);
  if (code == 0) {
    if (!strcmp(args.command, "query")) code = cli_query(&args);
    else if (!strcmp(args.command, "info")) code = cli_info(&args);
    else if (!strcmp(args.command, "bench")) code = cli_bench(&args);
    else code = cli_catalog(&args);
  } else if (code < 0) {
    code = CLI_EXIT_OK; /* --help, --version */
  }
  cli_args_free(&args);
  if (fflush(stdout) != 0 && code == CLI_EXIT_OK) code = CLI_EXIT_SQL;
  return code;
}
