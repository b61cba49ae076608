#include "cli.h"
int cli_bench(const cli_args_t* args) { (void)args; return CLI_EXIT_USAGE; }
