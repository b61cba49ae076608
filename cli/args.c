/* The command line: `uvodbc COMMAND [options] [words]`. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

void cli_usage(FILE* f) {
  fputs(
      "usage: uvodbc query   -c CONN [-p TYPE:VALUE ...] [-f FORMAT] [--file F] [SQL ...]\n"
      "       (every command also takes --trace)\n"
      "       uvodbc info    -c CONN [-f FORMAT]\n"
      "       uvodbc tables  -c CONN [-f FORMAT] [PATTERN]\n"
      "       uvodbc columns -c CONN [-f FORMAT] [TABLE]\n"
      "       uvodbc bench   -c CONN [-j CLIENTS] [-T SECONDS | -t COUNT]\n"
      "                      [--workload select1|point|insert | --script FILE] [--json]\n"
      "       uvodbc --version\n"
      "\n"
      "  -c CONN          connection string (DRIVER=...;...) or DSN=name (a bare\n"
      "                   name means DSN=name)\n"
      "  -f FORMAT        table (default on a terminal), csv (default otherwise),\n"
      "                   json, jsonl\n"
      "  -p TYPE:VALUE    a parameter for the next ? of the SQL: int:5, double:1.5,\n"
      "                   text:abc, decimal:1.20, bool:true, hex:00ff, date:2024-01-31,\n"
      "                   time:13:45:00, timestamp:2024-01-31 13:45:00.5, null\n"
      "  --file F         read the SQL from F (- for stdin); without SQL words or\n"
      "                   --file the SQL comes from stdin\n"
      "  --batch-rows N   rows per batch (default: the library's)\n"
      "  --timeout S      statement timeout in seconds\n"
      "  -j CLIENTS       bench: concurrent clients (default 1)\n"
      "  -T SECONDS       bench: duration (default 10)\n"
      "  -t COUNT         bench: transactions per client instead of a duration\n"
      "  --workload W     bench: select1 (default), point, insert\n"
      "  --script FILE    bench: SQL script (docs/cli.md)\n"
      "  --json           bench: the report as JSON\n"
      "  --trace          every operation on stderr as it finishes: its times,\n"
      "                   rows and outcome (uvodbc's tracing hook)\n"
      "\n"
      "exit codes: 0 ok, 1 SQL error, 2 usage, 3 connect failure, 130 interrupted\n",
      f);
}

/* An argument echoed in a message, with the value of any PWD= or
 * PASSWORD= in it (a connection string given in the wrong place) hidden. */
static void redact(char* s) {
  static const char* const keys[] = {"pwd=", "password="};
  for (char* p = s; *p != '\0'; p++)
    for (size_t k = 0; k < 2; k++)
      if (strncasecmp(p, keys[k], strlen(keys[k])) == 0 &&
          (p == s || p[-1] == ';' || p[-1] == ' ')) {
        char* v = p + strlen(keys[k]);
        char* end = v + strcspn(v, ";");
        if (end - v >= 3) {
          memcpy(v, "***", 3);
          memmove(v + 3, end, strlen(end) + 1);
        } else {
          memset(v, '*', (size_t)(end - v));
        }
      }
}

static int usage_error(const char* fmt, const char* arg) {
  char* shown = strdup(arg);
  if (shown != NULL) redact(shown);
  fputs("uvodbc: ", stderr);
  fprintf(stderr, fmt, shown != NULL ? shown : "?");
  free(shown);
  fputs("\n", stderr);
  cli_usage(stderr);
  return CLI_EXIT_USAGE;
}

static int parse_uint(const char* s, unsigned long long max,
                      unsigned long long* out) {
  char* end;
  if (s[0] < '0' || s[0] > '9') return -1;
  unsigned long long v = strtoull(s, &end, 10);
  if (*end != '\0' || v > max) return -1;
  *out = v;
  return 0;
}

static int parse_format(const char* s, cli_format_t* f) {
  if (!strcmp(s, "table")) *f = CLI_FORMAT_TABLE;
  else if (!strcmp(s, "csv")) *f = CLI_FORMAT_CSV;
  else if (!strcmp(s, "json")) *f = CLI_FORMAT_JSON;
  else if (!strcmp(s, "jsonl")) *f = CLI_FORMAT_JSONL;
  else return -1;
  return 0;
}

enum { OPT_FILE = 256, OPT_BATCH, OPT_TIMEOUT, OPT_WORKLOAD, OPT_SCRIPT,
       OPT_JSON, OPT_TRACE };

int cli_args_parse(cli_args_t* a, int argc, char** argv) {
  static const struct option longopts[] = {
      {"conn", required_argument, NULL, 'c'},
      {"format", required_argument, NULL, 'f'},
      {"param", required_argument, NULL, 'p'},
      {"file", required_argument, NULL, OPT_FILE},
      {"batch-rows", required_argument, NULL, OPT_BATCH},
      {"timeout", required_argument, NULL, OPT_TIMEOUT},
      {"workload", required_argument, NULL, OPT_WORKLOAD},
      {"script", required_argument, NULL, OPT_SCRIPT},
      {"json", no_argument, NULL, OPT_JSON},
      {"trace", no_argument, NULL, OPT_TRACE},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  static const char* const commands[] = {"query", "info", "tables",
                                         "columns", "bench"};
  unsigned long long v;
  int opt;

  memset(a, 0, sizeof(*a));
  a->clients = 1;
  if (argc < 2) return usage_error("%s", "missing command");
  if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
    cli_usage(stdout);
    return -1;
  }
  if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
    printf("uvodbc %s\n", uvodbc_version_string());
    return -1;
  }
  for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    if (!strcmp(argv[1], commands[i])) a->command = commands[i];
  if (a->command == NULL) return usage_error("unknown command: %s", argv[1]);

  a->params = calloc((size_t)argc, sizeof(*a->params));
  a->param_text = calloc((size_t)argc, sizeof(*a->param_text));
  if (a->params == NULL || a->param_text == NULL)
    return usage_error("%s", "out of memory");
  optind = 2;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":c:f:p:j:T:t:h", longopts, NULL)) !=
         -1) {
    switch (opt) {
      case 'c':
        free(a->connstr);
        if (strchr(optarg, '=') != NULL) {
          a->connstr = strdup(optarg);
        } else if ((a->connstr = malloc(strlen(optarg) + 5)) != NULL) {
          strcpy(a->connstr, "DSN=");
          strcat(a->connstr, optarg);
        }
        break;
      case 'f':
        if (parse_format(optarg, &a->format) != 0)
          return usage_error("unknown format: %s", optarg);
        break;
      case 'p':
        if (cli_param_parse(optarg, &a->params[a->nparams],
                            &a->param_text[a->nparams]) != 0)
          return usage_error("bad parameter: %s", optarg);
        a->nparams++;
        break;
      case OPT_FILE:
        a->file = optarg;
        break;
      case OPT_BATCH:
        if (parse_uint(optarg, 1u << 30, &v) != 0 || v == 0)
          return usage_error("bad --batch-rows: %s", optarg);
        a->batch_rows = (size_t)v;
        break;
      case OPT_TIMEOUT:
        if (parse_uint(optarg, 4000000, &v) != 0)
          return usage_error("bad --timeout: %s", optarg);
        a->timeout_ms = (unsigned int)(v * 1000);
        break;
      case 'j':
        if (parse_uint(optarg, 1000, &v) != 0 || v == 0)
          return usage_error("bad -j: %s", optarg);
        a->clients = (unsigned int)v;
        break;
      case 'T': {
        char* end;
        a->seconds = strtod(optarg, &end);
        if (*end != '\0' || !(a->seconds > 0))
          return usage_error("bad -T: %s", optarg);
        break;
      }
      case 't':
        if (parse_uint(optarg, UINT64_MAX, &v) != 0 || v == 0)
          return usage_error("bad -t: %s", optarg);
        a->count = v;
        break;
      case OPT_WORKLOAD:
        a->workload = optarg;
        break;
      case OPT_SCRIPT:
        a->script = optarg;
        break;
      case OPT_JSON:
        a->json = 1;
        break;
      case OPT_TRACE:
        a->trace = 1;
        break;
      case 'h':
        cli_usage(stdout);
        return -1;
      case ':':
        return usage_error("option needs a value: %s", argv[optind - 1]);
      default:
        return usage_error("unknown option: %s", argv[optind - 1]);
    }
  }
  a->words = argv + optind;
  a->nwords = argc - optind;
  if (a->connstr == NULL) return usage_error("%s", "missing -c CONN");
  if (a->file != NULL && a->nwords > 0)
    return usage_error("%s", "give the SQL as words or --file, not both");
  if (strcmp(a->command, "query") != 0 &&
      (a->nparams > 0 || a->file != NULL))
    return usage_error("-p and --file are for query, not %s", a->command);
  if (!strcmp(a->command, "bench")) {
    if (a->seconds > 0 && a->count > 0)
      return usage_error("%s", "-T and -t exclude each other");
    if (a->workload != NULL && a->script != NULL)
      return usage_error("%s", "--workload and --script exclude each other");
    if (a->workload != NULL && strcmp(a->workload, "select1") &&
        strcmp(a->workload, "point") && strcmp(a->workload, "insert"))
      return usage_error("unknown workload: %s", a->workload);
    if (a->nwords > 0) return usage_error("unexpected argument: %s", a->words[0]);
  } else if (a->clients != 1 || a->seconds > 0 || a->count > 0 ||
             a->workload || a->script || a->json) {
    return usage_error("-j, -T, -t, --workload, --script, --json are for "
                       "bench, not %s", a->command);
  }
  if ((!strcmp(a->command, "info") && a->nwords > 0) ||
      ((!strcmp(a->command, "tables") || !strcmp(a->command, "columns")) &&
       a->nwords > 1))
    return usage_error("unexpected argument: %s", a->words[a->nwords - 1]);
  return 0;
}

void cli_args_free(cli_args_t* a) {
  if (a->param_text != NULL)
    for (size_t i = 0; i < a->nparams; i++) free(a->param_text[i]);
  free(a->param_text);
  free(a->params);
  free(a->connstr);
  memset(a, 0, sizeof(*a));
}
