/* http-server: JSON over HTTP on h2o (its libuv build, on the same loop as
 * uvodbc) with a uvodbc pool.  docs/http-server.md describes the endpoints.
 *
 *   http-server [--blocking] [--pool N] [--batch-rows N] [--slow-sql SQL]
 *               CONNSTR PORT
 *
 * Listens on 127.0.0.1:PORT; SIGINT or SIGTERM shuts it down (pool closed,
 * loop closed, uvodbc_shutdown) and it exits 0.  --blocking answers with
 * plain ODBC calls on the loop thread instead: the comparison of
 * docs/http-server.md, not a way to run a server. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"

#include <h2o/socket/uv-binding.h> /* after h2o.h */

/* h2o closes a keep-alive connection idle this long (its req_timeout),
 * so after a signal idle clients are gone within it.  Connections still
 * open after GRACE_MS (a client stuck in a response) are left behind. */
#define IDLE_MS 3000
#define GRACE_MS 10000

static app_t app;
static h2o_globalconf_t config;
static h2o_context_t ctx;
static h2o_accept_ctx_t accept_ctx;
static uv_tcp_t listener;
static uv_signal_t sigint, sigterm;
static uv_timer_t grace;
static int open_sockets, db_closed, forced;

static int path_is(const h2o_req_t* req, const char* path) {
  return h2o_memis(req->path_normalized.base, req->path_normalized.len, path,
                   strlen(path));
}

static int method_is(const h2o_req_t* req, const char* m) {
  return h2o_memis(req->method.base, req->method.len, m, strlen(m));
}

/* "/items/123" -> 123; -1 when not a positive decimal id. */
static int64_t item_id(const h2o_req_t* req) {
  const char* p = req->path_normalized.base + 7;
  size_t n = req->path_normalized.len - 7, i;
  int64_t id = 0;
  if (n == 0 || n > 18) return -1;
  for (i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return -1;
    id = id * 10 + (p[i] - '0');
  }
  return id;
}

/* One handler for every path: a small router. */
static int on_req(h2o_handler_t* self, h2o_req_t* req) {
  int get = method_is(req, "GET"), post = method_is(req, "POST");
  (void)self;
  app.requests++;
  if (path_is(req, "/health")) {
    if (!get) goto not_allowed;
    respond_json(req, app.closing ? 503 : 200,
                 json_pack("{ss}", "status", app.closing ? "closing" : "ok"));
    return 0;
  }
  if (app.closing) {
    respond_error(req, 503, "shutting down");
    return 0;
  }
  if (path_is(req, "/stats")) {
    if (!get) goto not_allowed;
    (app.blocking ? blocking_stats : async_stats)(&app, req);
  } else if (path_is(req, "/items")) {
    if (get) {
      long limit = parse_limit(req);
      if (limit < 0) {
        respond_error(req, 400, "limit must be an integer 0..1000000");
        return 0;
      }
      (app.blocking ? blocking_list_items : async_list_items)(&app, req,
                                                               limit);
    } else if (post) {
      (app.blocking ? blocking_post_item : async_post_item)(&app, req);
    } else {
      goto not_allowed;
    }
  } else if (req->path_normalized.len > 7 &&
             memcmp(req->path_normalized.base, "/items/", 7) == 0) {
    int64_t id = item_id(req);
    if (!get) goto not_allowed;
    if (id < 0) {
      respond_error(req, 404, "no such item");
      return 0;
    }
    (app.blocking ? blocking_get_item : async_get_item)(&app, req, id);
  } else if (path_is(req, "/slow") && app.slow_sql != NULL) {
    if (!get) goto not_allowed;
    (app.blocking ? blocking_slow : async_slow)(&app, req);
  } else {
    respond_error(req, 404, "no such endpoint");
  }
  return 0;
not_allowed:
  respond_error(req, 405, "method not allowed");
  return 0;
}

/* Shutdown ------------------------------------------------------------- */

static void on_handle_closed(uv_handle_t* h) { (void)h; }

/* The loop ends once the database side is closed and every client
 * connection is gone (or the grace period is over). */
static void maybe_finish(void) {
  if (!db_closed || (open_sockets > 0 && !forced)) return;
  if (!uv_is_closing((uv_handle_t*)&grace))
    uv_close((uv_handle_t*)&grace, on_handle_closed);
  /* h2o's context keeps handles of its own (a uv_async_t) until
   * h2o_context_dispose(), which main() calls once the loop stops. */
  uv_stop(app.loop);
}

static void on_db_closed(app_t* a) {
  (void)a;
  db_closed = 1;
  maybe_finish();
}

static void on_grace(uv_timer_t* t) {
  (void)t;
  fprintf(stderr, "http-server: %d client connection(s) still open after "
                  "%d ms; leaving them\n", open_sockets, GRACE_MS);
  forced = 1;
  /* A stream to a client that stopped reading holds its connection: */
  if (!db_closed) async_terminate(&app); /* closes borrowed ones too */
  maybe_finish();
}

static void on_signal(uv_signal_t* s, int signum) {
  (void)s;
  if (app.closing) return;
  fprintf(stderr, "http-server: %s, shutting down\n",
          signum == SIGINT ? "SIGINT" : "SIGTERM");
  app.closing = 1;
  uv_close((uv_handle_t*)&listener, on_handle_closed);
  uv_close((uv_handle_t*)&sigint, on_handle_closed);
  uv_close((uv_handle_t*)&sigterm, on_handle_closed);
  /* HTTP/2: GOAWAY; keep-alive connections close after their response. */
  h2o_context_request_shutdown(&ctx);
  uv_timer_start(&grace, on_grace, GRACE_MS, 0);
  if (app.blocking) {
    blocking_stop(&app);
    on_db_closed(&app);
  } else {
    async_stop(&app, on_db_closed); /* waits for borrowed connections */
  }
}

/* Accepting -------------------------------------------------------------- */

static void on_socket_closed(uv_handle_t* h) {
  free(h);
  open_sockets--;
  maybe_finish();
}

static void on_accept(uv_stream_t* server, int status) {
  uv_tcp_t* conn;
  h2o_socket_t* sock;
  if (status != 0) return;
  conn = malloc(sizeof(*conn));
  if (conn == NULL) return;
  uv_tcp_init(server->loop, conn);
  open_sockets++;
  if (uv_accept(server, (uv_stream_t*)conn) != 0) {
    uv_close((uv_handle_t*)conn, on_socket_closed);
    return;
  }
  sock = h2o_uv_socket_create((uv_stream_t*)conn, on_socket_closed);
  h2o_accept(&accept_ctx, sock);
}

static int listen_on(uv_loop_t* loop, int port) {
  struct sockaddr_in addr;
  int err;
  uv_tcp_init(loop, &listener);
  uv_ip4_addr("127.0.0.1", port, &addr);
  err = uv_tcp_bind(&listener, (const struct sockaddr*)&addr, 0);
  if (err == 0) err = uv_listen((uv_stream_t*)&listener, 512, on_accept);
  if (err != 0) {
    fprintf(stderr, "http-server: listen on 127.0.0.1:%d: %s\n", port,
            uv_strerror(err));
    uv_close((uv_handle_t*)&listener, on_handle_closed);
  }
  return err;
}

static void usage(const char* argv0) {
  fprintf(stderr,
          "usage: %s [--blocking] [--pool N] [--batch-rows N] "
          "[--slow-sql SQL] CONNSTR PORT\n", argv0);
}

int main(int argc, char** argv) {
  uv_loop_t loop;
  h2o_hostconf_t* host;
  h2o_pathconf_t* path;
  h2o_handler_t* handler;
  unsigned int pool_size = 8;
  const char *connstr = NULL, *port_arg = NULL;
  char threads[16];
  int i, port, err, rc = 0;

  app.batch_rows = 256;
  for (i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--blocking") == 0) {
      app.blocking = 1;
    } else if (strcmp(argv[i], "--pool") == 0 && i + 1 < argc) {
      pool_size = (unsigned int)atoi(argv[++i]);
    } else if (strcmp(argv[i], "--batch-rows") == 0 && i + 1 < argc) {
      app.batch_rows = (size_t)atol(argv[++i]);
    } else if (strcmp(argv[i], "--slow-sql") == 0 && i + 1 < argc) {
      app.slow_sql = argv[++i];
    } else if (connstr == NULL && argv[i][0] != '-') {
      connstr = argv[i];
    } else if (port_arg == NULL && argv[i][0] != '-') {
      port_arg = argv[i];
    } else {
      usage(argv[0]);
      return 2;
    }
  }
  port = port_arg != NULL ? atoi(port_arg) : 0;
  if (connstr == NULL || port <= 0 || port > 65535 || pool_size < 1 ||
      pool_size > 64 || app.batch_rows < 1) {
    usage(argv[0]);
    return 2;
  }
  /* The pool's connections each may hold a libuv worker; keep one thread
   * for file-system and DNS work (the pool's footprint rule).  Must be set
   * before the first uv_queue_work of the process. */
  snprintf(threads, sizeof(threads), "%u", pool_size + 1);
  setenv("UV_THREADPOOL_SIZE", threads, 0);

  uv_loop_init(&loop);
  app.loop = &loop;
  signal(SIGPIPE, SIG_IGN);
  err = app.blocking ? blocking_start(&app, connstr)
                     : async_start(&app, connstr, pool_size);
  if (err != 0) {
    uv_run(&loop, UV_RUN_DEFAULT); /* lets a failed pool close */
    uv_loop_close(&loop);
    uvodbc_shutdown();
    return 1;
  }

  h2o_config_init(&config);
  config.http1.req_timeout = IDLE_MS;
  host = h2o_config_register_host(&config, h2o_iovec_init(H2O_STRLIT("default")),
                                  65535);
  path = h2o_config_register_path(host, "/", 0);
  handler = h2o_create_handler(path, sizeof(*handler));
  handler->on_req = on_req;
  h2o_context_init(&ctx, &loop, &config);
  accept_ctx.ctx = &ctx;
  accept_ctx.hosts = config.hosts;

  uv_signal_init(&loop, &sigint);
  uv_signal_init(&loop, &sigterm);
  uv_timer_init(&loop, &grace);
  uv_signal_start(&sigint, on_signal, SIGINT);
  uv_signal_start(&sigterm, on_signal, SIGTERM);
  if (listen_on(&loop, port) != 0) {
    rc = 1;
    on_signal(&sigterm, SIGTERM);
  } else {
    printf("http-server: listening on 127.0.0.1:%d (%s)\n", port,
           app.blocking ? "blocking ODBC on the loop thread" : "uvodbc pool");
    fflush(stdout);
  }
  uv_run(&loop, UV_RUN_DEFAULT);

  if (!forced) {
    /* Armed by h2o_context_request_shutdown() for HTTP/2 connections. */
    if (h2o_timeout_is_linked(&ctx.http2._graceful_shutdown_timeout))
      h2o_timeout_unlink(&ctx.http2._graceful_shutdown_timeout);
    h2o_context_dispose(&ctx);
    h2o_config_dispose(&config);
    uv_run(&loop, UV_RUN_DEFAULT); /* the closes dispose started */
    if (uv_loop_close(&loop) != 0) {
      fprintf(stderr, "http-server: loop still has handles\n");
      rc = 1;
    }
  }
  uvodbc_shutdown();
  fprintf(stderr, "http-server: %llu requests; bye\n",
          (unsigned long long)app.requests);
  return rc;
}
