/* uvodbc with libuv's smallest pool (issue 9 part 5).
 *
 *   UV_THREADPOOL_SIZE=1 uvodbc-threadpool-one CONNSTR SLEEP_SQL
 *
 * libuv reads UV_THREADPOOL_SIZE once, when its pool starts, so this runs
 * in its own process (tests/test-lifecycle.c execs it).  It checks:
 *   - by default uvodbc refuses to take the only thread: connect and pool
 *     create return UVODBC_ENOWORKER at once, with the reason in its
 *     message, and call nothing back; uv_fs_* keeps its thread;
 *   - with uvodbc_set_worker_limit(1), the user's explicit choice, queries
 *     run, and a uv_fs_stat waits for the query that holds the thread (the
 *     documented cost).
 * Exit 0 when every check holds, 1 with a message otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uvodbc.h>

static int failures;

#define CHECK(cond, ...)                          \
  do {                                            \
    if (!(cond)) {                                \
      fprintf(stderr, "threadpool-one: FAIL: ");  \
      fprintf(stderr, __VA_ARGS__);               \
      fprintf(stderr, " (line %d)\n", __LINE__);  \
      failures++;                                 \
    }                                             \
  } while (0)

static int calls;
static int last_status;
static uint64_t stat_done, query_done;

static void on_req(uvodbc_req_t* req, int status) {
  calls++;
  last_status = status;
  if (req->type == UVODBC_REQ_EXEC) query_done = uv_hrtime();
  if (status == 0 && req->cursor != NULL)
    uvodbc_cursor_close(req->cursor, NULL);
}

static void on_stat(uv_fs_t* fs) {
  CHECK(fs->result == 0, "uv_fs_stat: %s", uv_strerror((int)fs->result));
  stat_done = uv_hrtime();
  uv_fs_req_cleanup(fs);
}

static void on_closed(uvodbc_conn_t* conn) {
  (void)conn;
  calls++;
}

static void run_until(uv_loop_t* loop, int n) {
  while (calls < n) uv_run(loop, UV_RUN_ONCE);
}

int main(int argc, char** argv) {
  uv_loop_t loop;
  uvodbc_req_t req;
  uvodbc_pool_t* pool = NULL;
  uvodbc_conn_t* conn;
  uv_fs_t fs;
  uint64_t start;
  const char* env = getenv("UV_THREADPOOL_SIZE");
  int rc;

  if (argc != 3 || env == NULL || strcmp(env, "1") != 0) {
    fprintf(stderr, "usage: UV_THREADPOOL_SIZE=1 %s CONNSTR SLEEP_SQL\n",
            argv[0]);
    return 2;
  }
  uv_loop_init(&loop);

  /* The default: refuse, say why, call nothing back. */
  CHECK(uvodbc_get_worker_limit() == 0, "default limit %u, expected 0",
        uvodbc_get_worker_limit());
  rc = uvodbc_connect(&loop, &req, argv[1], NULL, on_req);
  CHECK(rc == UVODBC_ENOWORKER, "connect: %s", uvodbc_err_name(rc));
  CHECK(strstr(uvodbc_strerror(UVODBC_ENOWORKER), "UV_THREADPOOL_SIZE") !=
            NULL,
        "message without the reason: %s", uvodbc_strerror(UVODBC_ENOWORKER));
  rc = uvodbc_pool_create(&loop, &pool, argv[1], NULL, NULL);
  CHECK(rc == UVODBC_ENOWORKER, "pool create: %s", uvodbc_err_name(rc));
  CHECK(uv_fs_stat(&loop, &fs, "/", on_stat) == 0, "uv_fs_stat");
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(stat_done != 0, "uv_fs_stat never called back");
  CHECK(calls == 0, "%d callbacks after refused calls", calls);

  /* Opted in: it runs, and holds the only thread while it does. */
  CHECK(uvodbc_set_worker_limit(1) == 0, "set limit 1");
  rc = uvodbc_connect(&loop, &req, argv[1], NULL, on_req);
  CHECK(rc == 0, "connect with limit 1: %s", uvodbc_err_name(rc));
  if (rc != 0) return 1;
  run_until(&loop, 1);
  CHECK(last_status == 0, "connect status %s", uvodbc_err_name(last_status));
  conn = req.conn;
  if (last_status != 0) return 1;
  stat_done = query_done = 0;
  start = uv_hrtime();
  rc = uvodbc_conn_exec(conn, &req, argv[2], NULL, 0, NULL, on_req);
  CHECK(rc == 0, "exec: %s", uvodbc_err_name(rc));
  CHECK(uv_fs_stat(&loop, &fs, "/", on_stat) == 0, "uv_fs_stat");
  run_until(&loop, 2);
  CHECK(last_status == 0, "query status %s", uvodbc_err_name(last_status));
  while (stat_done == 0) uv_run(&loop, UV_RUN_ONCE);
  /* The stat could not start before the statement ended (SQLite's sleep
   * is a busy loop of roughly its length: compare with what it took). */
  CHECK(query_done - start >= 50000000ull, "the statement took only %.3f s",
        (query_done - start) / 1e9);
  CHECK(stat_done - start >= (query_done - start) / 2,
        "uv_fs_stat took %.3f s, the statement %.3f s: it did not wait",
        (stat_done - start) / 1e9, (query_done - start) / 1e9);
  CHECK(uvodbc_conn_close(conn, on_closed) == 0, "close");
  run_until(&loop, 3);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0, "uv_loop_close: handles left");
  CHECK(uvodbc_shutdown() == 0, "uvodbc_shutdown");
  if (failures == 0) printf("threadpool-one: ok\n");
  return failures == 0 ? 0 : 1;
}
