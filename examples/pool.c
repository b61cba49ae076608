/* pool: many concurrent queries through a connection pool, then the
 * pool's statistics.  Runs `queries` one-call queries from `clients`
 * concurrent requesters.  There are more requesters than connections, so
 * some of them wait in the pool's queue.
 *
 *   pool ["DRIVER={SQLite3};Database=/tmp/x.db"] [queries] [clients]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uvodbc.h>

#define MAX_CLIENTS 256

typedef struct app_s app_t;

typedef struct {
  uvodbc_req_t req;
  app_t* app;
} client_t;

struct app_s {
  uvodbc_pool_t* pool;
  client_t clients[MAX_CLIENTS];
  int queries, started, done, failed, active;
};

static void on_query(uvodbc_req_t* req, int status);

static void print_stats(uvodbc_pool_t* pool);

/* The last client to retire prints the statistics and closes the pool. */
static void retire(app_t* app) {
  if (--app->active > 0) return;
  print_stats(app->pool);
  uvodbc_pool_close(app->pool, NULL);
}

/* Starts the client's next query, or retires it. */
static void next_query(client_t* c) {
  app_t* app = c->app;
  uvodbc_param_t p;
  int err;
  if (app->started == app->queries) {
    retire(app);
    return;
  }
  p = uvodbc_param_int64(++app->started);
  err = uvodbc_pool_query(app->pool, &c->req, "SELECT ?", &p, 1, NULL,
                          on_query);
  if (err != 0) {
    fprintf(stderr, "query: %s\n", uvodbc_strerror(err));
    app->failed++;
    retire(app);
  }
}

static void on_query(uvodbc_req_t* req, int status) {
  client_t* c = req->data;
  c->app->done++;
  if (status != 0) {
    c->app->failed++;
    char why[4096];
    uvodbc_req_describe(req, why, sizeof(why));
    fprintf(stderr, "query: %s\n", why);
  }
  uvodbc_req_cleanup(req); /* frees the result */
  next_query(c);
}

static void print_stats(uvodbc_pool_t* pool) {
  uvodbc_pool_stats_t st;
  uvodbc_pool_stats(pool, &st);
  printf("pool: size %u (idle %u, in use %u), waiting %u, connecting %u\n",
         st.size, st.idle, st.in_use, st.waiting, st.connecting);
  printf("      %" PRIu64 " acquires, %" PRIu64 " timeouts, %" PRIu64
         " connects (%" PRIu64 " failed), %" PRIu64 " evictions, %" PRIu64
         " expired\n",
         st.acquires, st.timeouts, st.connects, st.connect_errors,
         st.evictions, st.expired);
  printf("      acquire wait: mean %" PRIu64 " us, p50 %" PRIu64
         " us, p99 %" PRIu64 " us, max %" PRIu64 " us\n",
         st.wait_mean_us, st.wait_p50_us, st.wait_p99_us, st.wait_max_us);
  printf("      queries: %" PRIu64 " ok, %" PRIu64 " SQL errors, %" PRIu64
         " timeouts, %" PRIu64 " cancelled, %" PRIu64 " disconnects\n",
         st.ops_ok, st.ops_sql_errors, st.ops_timeouts, st.ops_cancelled,
         st.ops_disconnects);
}

static void on_ready(uvodbc_pool_t* pool, int status) {
  if (status != 0)
    fprintf(stderr, "pool: first connects failed: %s\n",
            uvodbc_strerror(status));
}

int main(int argc, char** argv) {
  const char* connstr =
      argc > 1 ? argv[1] : "DRIVER={SQLite3};Database=/tmp/uvodbc-pool.db";
  int queries = argc > 2 ? atoi(argv[2]) : 1000;
  int nclients = argc > 3 ? atoi(argv[3]) : 16;
  uvodbc_pool_options_t opts;
  uv_loop_t loop;
  app_t* app;
  int i, err;
  uint64_t t0;

  if (queries < 0 || nclients < 1 || nclients > MAX_CLIENTS) {
    fprintf(stderr, "usage: %s [connstr] [queries] [clients 1..%d]\n",
            argv[0], MAX_CLIENTS);
    return 2;
  }
  app = calloc(1, sizeof(*app));
  if (app == NULL) return 1;
  app->queries = queries;
  uv_loop_init(&loop);
  /* Zeroed options: max_size = the worker limit (UV_THREADPOOL_SIZE - 1). */
  uvodbc_pool_options_init(&opts);
  opts.min_size = 1;
  err = uvodbc_pool_create(&loop, &app->pool, connstr, &opts, on_ready);
  if (err != 0) {
    fprintf(stderr, "pool: %s\n", uvodbc_strerror(err));
    return 1;
  }
  t0 = uv_hrtime();
  for (i = 0; i < nclients; i++) {
    client_t* c = &app->clients[i];
    c->app = app;
    c->req.data = c;
    app->active++;
  }
  for (i = 0; i < nclients; i++) next_query(&app->clients[i]);
  uv_run(&loop, UV_RUN_DEFAULT); /* returns once the pool has closed */
  printf("%d queries from %d clients in %.1f ms, %d failed\n", app->done,
         nclients, (double)(uv_hrtime() - t0) / 1e6, app->failed);
  err = uv_loop_close(&loop) != 0 || app->failed > 0;
  err |= uvodbc_shutdown() != 0; /* every connection closed */
  free(app);
  return err;
}
