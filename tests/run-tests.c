/* The test runner: `uvodbc-tests sqlite|pg|mariadb`.
 * Fails loudly when the driver's connection string is not set.  Check's
 * CK_RUN_SUITE / CK_RUN_CASE environment variables select a part. */
#include <stdlib.h>

#include "uvodbc-test.h"

static test_driver_t driver;
static const char* connstr;
static int skipped;

static const struct {
  const char* name;
  const char* env;
  const char* dsn_env;
} drivers[] = {{"sqlite", "UVODBC_TEST_SQLITE", "UVODBC_TEST_SQLITE_DSN"},
               {"pg", "UVODBC_TEST_PG", "UVODBC_TEST_PG_DSN"},
               {"mariadb", "UVODBC_TEST_MARIADB", "UVODBC_TEST_MARIADB_DSN"}};

test_driver_t test_driver(void) {
  return driver;
}

const char* test_driver_name(void) {
  return drivers[driver].name;
}

const char* test_connstr(void) {
  return connstr;
}

const char* test_dsn(void) {
  const char* dsn = getenv(drivers[driver].dsn_env);
  return dsn != NULL && *dsn != '\0' ? dsn : NULL;
}

const char* test_dsn_env(void) {
  return drivers[driver].dsn_env;
}

void test_skip(const char* test, const char* reason) {
  skipped++;
  printf("SKIP %s/%s: %s\n", drivers[driver].name, test, reason);
}

int main(int argc, char** argv) {
  static Suite* (*const suites[])(void) = {
      lifecycle_suite, conn_suite,  contract_suite, exec_suite,
      cursor_suite,    types_suite, utf8_suite,     errors_suite,
      pool_suite,      prepared_suite, txn_suite,   bulk_suite,
      call_suite,      catalog_suite, read_suite,      chain_suite,
      ownership_suite, faults_suite, deadline_suite, driver_values_suite,
      redact_suite,    loops_suite,  convoy_suite, cancel_suite,
      stream_driver_suite, trace_suite, pool_stats_suite,
      req_misuse_suite, walk_suite};
  SRunner* runner = NULL;
  size_t i;
  int failed, run;

  if (argc < 2) {
    fprintf(stderr, "usage: %s sqlite|pg|mariadb\n", argv[0]);
    return 2;
  }
  for (i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
    if (strcmp(argv[1], drivers[i].name) == 0) break;
  if (i == sizeof(drivers) / sizeof(drivers[0])) {
    fprintf(stderr, "unknown driver %s\n", argv[1]);
    return 2;
  }
  driver = (test_driver_t)i;
  connstr = getenv(drivers[i].env);
  if (connstr == NULL || *connstr == '\0') {
    fprintf(stderr,
            "FAIL: %s is not set: start the servers (tests/servers.sh) or "
            "export a connection string\n",
            drivers[i].env);
    return 2;
  }
  if (driver == TEST_SQLITE) test_calibrate_sqlite_sleep(connstr);
  for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
    Suite* s = suites[i]();
    if (runner == NULL)
      runner = srunner_create(s);
    else
      srunner_add_suite(runner, s);
  }
  srunner_run_all(runner, CK_NORMAL);
  failed = srunner_ntests_failed(runner);
  run = srunner_ntests_run(runner);
  srunner_free(runner);
  printf("%s: %d passed, %d failed, %d skipped\n", drivers[driver].name,
         run - failed, failed, skipped);
  return failed == 0 && run > 0 ? 0 : 1;
}
