/* uvodbc bench: a pgbench for any ODBC driver.  N clients, each a loop of
 * transactions: acquire a connection from a uvodbc pool, run the script's
 * statements on it (each read whole with uvodbc_conn_query), release it.
 * A transaction's latency runs from its acquire to its last statement's
 * callback.  Throughput counts the transactions that succeeded, over the
 * time from the start (every connection open, the workload's table ready)
 * to the last client's end. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define BENCH_MAX_STMTS 64
#define BENCH_MAX_PARAMS 16
#define BENCH_POINT_ROWS 10000
#define BENCH_MAX_ERRKEYS 32

typedef struct stmt_s {
  char* sql;
  size_t nparams;
  int64_t lo[BENCH_MAX_PARAMS], hi[BENCH_MAX_PARAMS]; /* ? from [lo, hi] */
} stmt_t;

typedef struct bench_s bench_t;

typedef struct client_s {
  bench_t* b;
  uvodbc_req_t req;
  uvodbc_conn_t* conn; /* borrowed during a transaction */
  size_t stmt;         /* the script's statement running */
  uint64_t t0, done;
  int acquiring, busy;
} client_t;

struct bench_s {
  uv_loop_t loop;
  const cli_args_t* args;
  const char* name;
  uvodbc_pool_t* pool;
  uv_timer_t timer;
  uv_signal_t sigint;
  uvodbc_req_t setup_req;
  uvodbc_conn_t* setup_conn;
  int setup_busy; /* 1: its acquire is pending, 2: a statement */
  int fill;       /* the point table's fill: 0 begin, 1 insert, 2 commit */
  size_t setup_step;
  const char* const* setup_sql;
  int ready, setup_done, started, stopping, interrupted, exit_code;
  client_t* clients;
  unsigned int nclients, active;
  stmt_t stmts[BENCH_MAX_STMTS];
  size_t nstmts;
  uint64_t* lat;
  size_t nlat, caplat;
  struct { char key[24]; uint64_t n; } errs[BENCH_MAX_ERRKEYS];
  size_t nerrs;
  uint64_t errors, t_start, t_end, rng;
  uvodbc_pool_stats_t stats;
};

/* ---- the script ----------------------------------------------------- */

static int add_stmt_n(bench_t* b, const char* sql, size_t len) {
  while (len > 0 && strchr(" \t\r\n;", sql[len - 1])) len--;
  while (len > 0 && strchr(" \t\r\n", *sql)) sql++, len--;
  if (len == 0) return 0;
  if (b->nstmts == BENCH_MAX_STMTS) return -1;
  b->stmts[b->nstmts].sql = strndup(sql, len);
  return b->stmts[b->nstmts++].sql ? 0 : -1;
}

static int add_stmt(bench_t* b, const char* sql) {
  return add_stmt_n(b, sql, strlen(sql));
}

/* Lines; "-- " comments; "\param LO HI" gives the next ? of the statement
 * being read an integer drawn from [LO, HI]; a statement ends with a line
 * ending in ';' (or the end of the file). */
static int parse_script(bench_t* b, char* text) {
  char* stmt = NULL; /* start of the statement being read */
  stmt_t pending;
  memset(&pending, 0, sizeof(pending));
  for (char* line = text; line != NULL && *line != '\0';) {
    char* next = strchr(line, '\n');
    size_t len = next ? (size_t)(next - line) : strlen(line);
    char* p = line + strspn(line, " \t");
    if (strncmp(p, "\\param", 6) == 0) {
      long long lo, hi;
      if (sscanf(p + 6, "%lld %lld", &lo, &hi) != 2 || lo > hi ||
          pending.nparams == BENCH_MAX_PARAMS) {
        fprintf(stderr, "uvodbc: bad script line: %.*s\n", (int)len, line);
        return -1;
      }
      pending.lo[pending.nparams] = lo;
      pending.hi[pending.nparams++] = hi;
      memset(line, ' ', len); /* not SQL */
    } else if (strncmp(p, "--", 2) != 0 && stmt == NULL && *p != '\n' &&
               *p != '\r' && *p != '\0') {
      stmt = line;
    }
    char* end = line + len;
    while (end > line && strchr(" \t\r", end[-1])) end--;
    int last = next == NULL || next[1] == '\0';
    if (stmt != NULL && (last || (end > line && end[-1] == ';'))) {
      size_t n = b->nstmts;
      if (add_stmt_n(b, stmt, (size_t)(line + len - stmt)) != 0) return -1;
      if (b->nstmts > n) {
        memcpy(b->stmts[n].lo, pending.lo, sizeof(pending.lo));
        memcpy(b->stmts[n].hi, pending.hi, sizeof(pending.hi));
        b->stmts[n].nparams = pending.nparams;
      }
      memset(&pending, 0, sizeof(pending));
      stmt = NULL;
    }
    line = next ? next + 1 : NULL;
  }
  if (b->nstmts == 0) {
    fputs("uvodbc: the script has no statement\n", stderr);
    return -1;
  }
  return 0;
}

static const char* const setup_point[] = {
    "DROP TABLE IF EXISTS uvodbc_bench_point",
    "CREATE TABLE uvodbc_bench_point (id INTEGER PRIMARY KEY, v VARCHAR(100))",
    NULL};
static const char* const setup_insert[] = {
    "DROP TABLE IF EXISTS uvodbc_bench_insert",
    "CREATE TABLE uvodbc_bench_insert (id INTEGER, v VARCHAR(100))", NULL};
static const char* const setup_none[] = {NULL};

static int workload(bench_t* b) {
  const char* w = b->args->workload ? b->args->workload : "select1";
  char* text;
  int rc;
  b->setup_sql = setup_none;
  if (b->args->script != NULL) {
    b->name = b->args->script;
    if ((text = cli_read_file(b->args->script)) == NULL) return -1;
    rc = parse_script(b, text);
    free(text);
    return rc;
  }
  b->name = w;
  if (!strcmp(w, "point")) {
    b->setup_sql = setup_point;
    b->stmts[0].nparams = 1;
    b->stmts[0].lo[0] = 1;
    b->stmts[0].hi[0] = BENCH_POINT_ROWS;
    return add_stmt(b, "SELECT v FROM uvodbc_bench_point WHERE id = ?");
  }
  if (!strcmp(w, "insert")) {
    b->setup_sql = setup_insert;
    b->stmts[0].nparams = 1;
    b->stmts[0].lo[0] = 1;
    b->stmts[0].hi[0] = 1000000000;
    return add_stmt(b,
                    "INSERT INTO uvodbc_bench_insert (id, v) VALUES (?, 'bench')");
  }
  return add_stmt(b, "SELECT 1");
}

/* ---- measurements --------------------------------------------------- */

static uint64_t next_random(bench_t* b) { /* xorshift64 */
  b->rng ^= b->rng << 13;
  b->rng ^= b->rng >> 7;
  b->rng ^= b->rng << 17;
  return b->rng;
}

static void record_latency(bench_t* b, uint64_t ns) {
  if (b->nlat == b->caplat) {
    size_t cap = b->caplat ? 2 * b->caplat : 65536;
    uint64_t* p = realloc(b->lat, cap * sizeof(*p));
    if (p == NULL) return; /* counted in throughput, not in percentiles */
    b->lat = p;
    b->caplat = cap;
  }
  b->lat[b->nlat++] = ns;
}

static void record_error(bench_t* b, const uvodbc_req_t* req, int status) {
  const char* key = req->ndiag > 0 ? req->diag[0].sqlstate
                                   : uvodbc_err_name(status);
  size_t i;
  b->errors++;
  for (i = 0; i < b->nerrs; i++)
    if (!strcmp(b->errs[i].key, key)) break;
  if (i == b->nerrs) {
    if (b->nerrs == BENCH_MAX_ERRKEYS) i = b->nerrs - 1; /* "other" */
    else snprintf(b->errs[b->nerrs++].key, sizeof(b->errs[0].key), "%s", key);
  }
  b->errs[i].n++;
  /* The first of each kind, in full: what failed and why. */
  if (b->errs[i].n == 1) cli_print_error("transaction failed", status, req);
}

static int cmp_u64(const void* x, const void* y) {
  uint64_t a = *(const uint64_t*)x, c = *(const uint64_t*)y;
  return a < c ? -1 : a > c;
}

static double pct_ms(const bench_t* b, double p) {
  if (b->nlat == 0) return 0;
  size_t i = (size_t)(p / 100.0 * (double)(b->nlat - 1) + 0.5);
  return (double)b->lat[i] / 1e6;
}

static void report(bench_t* b) {
  double secs = (double)(b->t_end - b->t_start) / 1e9;
  uint64_t ok = 0, sum = 0;
  const uvodbc_pool_stats_t* st = &b->stats;
  for (unsigned int i = 0; i < b->nclients; i++) ok += b->clients[i].done;
  for (size_t i = 0; i < b->nlat; i++) sum += b->lat[i];
  if (b->nlat > 0) qsort(b->lat, b->nlat, sizeof(*b->lat), cmp_u64);
  double tps = secs > 0 ? (double)ok / secs : 0;
  double avg = b->nlat ? (double)sum / (double)b->nlat / 1e6 : 0;
  double maxms = b->nlat ? (double)b->lat[b->nlat - 1] / 1e6 : 0;
  if (b->args->json) {
    json_t* errs = json_object();
    json_t* pool = json_object();
    for (size_t i = 0; i < b->nerrs; i++)
      json_object_set_new(errs, b->errs[i].key, json_integer((json_int_t)b->errs[i].n));
#define POOL(field) json_object_set_new(pool, #field, json_integer((json_int_t)st->field))
    POOL(size); POOL(idle); POOL(in_use); POOL(waiting); POOL(connecting);
    POOL(acquires); POOL(timeouts); POOL(acquire_cancelled);
    POOL(acquire_errors); POOL(connects); POOL(connect_errors);
    POOL(evictions); POOL(expired); POOL(wait_mean_us); POOL(wait_p50_us);
    POOL(wait_p99_us); POOL(wait_max_us); POOL(resets); POOL(reset_max_us);
    POOL(validations); POOL(validate_max_us);
#undef POOL
    json_t* j = json_pack(
        "{s:s, s:i, s:f, s:I, s:I, s:f, s:{s:f, s:f, s:f, s:f, s:f}, s:o, s:o}",
        "workload", b->name, "clients", (int)b->nclients, "seconds", secs,
        "transactions", (json_int_t)ok, "failed", (json_int_t)b->errors,
        "tps", tps, "latency_ms", "avg", avg, "p50", pct_ms(b, 50), "p95",
        pct_ms(b, 95), "p99", pct_ms(b, 99), "max", maxms, "errors", errs,
        "pool", pool);
    if (j != NULL) {
      json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
      fputc('\n', stdout);
    }
    json_decref(j);
    return;
  }
  printf("workload:      %s, %u client%s, %.2f s\n", b->name, b->nclients,
         b->nclients == 1 ? "" : "s", secs);
  printf("transactions:  %llu ok, %llu failed\n", (unsigned long long)ok,
         (unsigned long long)b->errors);
  printf("throughput:    %.1f tps\n", tps);
  printf("latency (ms):  avg %.3f  p50 %.3f  p95 %.3f  p99 %.3f  max %.3f\n",
         avg, pct_ms(b, 50), pct_ms(b, 95), pct_ms(b, 99), maxms);
  printf("errors:       ");
  if (b->nerrs == 0) printf(" none");
  for (size_t i = 0; i < b->nerrs; i++)
    printf(" %s %llu", b->errs[i].key, (unsigned long long)b->errs[i].n);
  printf("\npool:          size %u, idle %u, in use %u, waiting %u, "
         "connecting %u\n", st->size, st->idle, st->in_use, st->waiting,
         st->connecting);
  printf("               acquires %llu, timeouts %llu, connects %llu, "
         "connect errors %llu, evictions %llu, expired %llu\n",
         (unsigned long long)st->acquires, (unsigned long long)st->timeouts,
         (unsigned long long)st->connects,
         (unsigned long long)st->connect_errors,
         (unsigned long long)st->evictions, (unsigned long long)st->expired);
  printf("               acquire wait mean %llu us, p50 %llu us, p99 %llu us, "
         "max %llu us\n",
         (unsigned long long)st->wait_mean_us,
         (unsigned long long)st->wait_p50_us,
         (unsigned long long)st->wait_p99_us,
         (unsigned long long)st->wait_max_us);
  printf("               resets %llu (max %llu us), validations %llu (max %llu "
         "us)\n",
         (unsigned long long)st->resets, (unsigned long long)st->reset_max_us,
         (unsigned long long)st->validations,
         (unsigned long long)st->validate_max_us);
}

/* ---- the end -------------------------------------------------------- */

static void on_pool_closed(uvodbc_pool_t* pool) {
  bench_t* b = uvodbc_pool_get_data(pool);
  uv_close((uv_handle_t*)&b->timer, NULL);
  uv_close((uv_handle_t*)&b->sigint, NULL);
}

static void finish(bench_t* b, int code) {
  if (b->exit_code >= 0) return;
  b->exit_code = b->interrupted ? CLI_EXIT_INTERRUPT : code;
  uv_timer_stop(&b->timer);
  if (b->setup_conn != NULL) uvodbc_pool_release(b->pool, b->setup_conn);
  b->setup_conn = NULL;
  if (b->started) {
    b->t_end = uv_hrtime();
    uvodbc_pool_stats(b->pool, &b->stats);
    report(b);
  }
  uvodbc_pool_close(b->pool, on_pool_closed);
}

/* ---- clients -------------------------------------------------------- */

static void next_txn(client_t* c);

static void end_txn(client_t* c, int failed) {
  bench_t* b = c->b;
  c->busy = 0;
  if (c->conn != NULL) uvodbc_pool_release(b->pool, c->conn);
  c->conn = NULL;
  if (!failed) {
    c->done++;
    record_latency(b, uv_hrtime() - c->t0);
  }
  next_txn(c);
}

static void run_stmt(client_t* c);

static void on_stmt(uvodbc_req_t* req, int status) {
  client_t* c = req->data;
  uvodbc_req_cleanup(req);
  if (status != 0) {
    if (!(c->b->stopping && status == UV_ECANCELED))
      record_error(c->b, req, status);
    end_txn(c, 1);
    return;
  }
  if (++c->stmt < c->b->nstmts) run_stmt(c);
  else end_txn(c, 0);
}

static void run_stmt(client_t* c) {
  bench_t* b = c->b;
  const stmt_t* s = &b->stmts[c->stmt];
  uvodbc_param_t params[BENCH_MAX_PARAMS];
  for (size_t i = 0; i < s->nparams; i++) {
    uint64_t span = (uint64_t)(s->hi[i] - s->lo[i]) + 1;
    params[i] = uvodbc_param_int64(
        s->lo[i] + (int64_t)(span ? next_random(b) % span : next_random(b)));
  }
  int rc = uvodbc_conn_query(c->conn, &c->req, s->sql, params, s->nparams,
                             NULL, on_stmt);
  if (rc != 0) {
    uvodbc_req_t none;
    memset(&none, 0, sizeof(none));
    record_error(b, &none, rc);
    end_txn(c, 1);
  }
}

static void on_acquire(uvodbc_req_t* req, int status) {
  client_t* c = req->data;
  c->acquiring = 0;
  if (status != 0) {
    if (!(c->b->stopping && status == UV_ECANCELED))
      record_error(c->b, req, status);
    end_txn(c, 1);
    return;
  }
  c->conn = req->conn;
  if (c->b->stopping) {
    end_txn(c, 1);
    return;
  }
  c->stmt = 0;
  run_stmt(c);
}

static void next_txn(client_t* c) {
  bench_t* b = c->b;
  if (b->stopping || (b->args->count > 0 && c->done >= b->args->count) ||
      (b->args->count > 0 && b->errors >= b->args->count * b->nclients)) {
    if (--b->active == 0) finish(b, b->errors ? CLI_EXIT_SQL : CLI_EXIT_OK);
    return;
  }
  c->t0 = uv_hrtime();
  c->busy = 1;
  c->acquiring = 1;
  int rc = uvodbc_pool_acquire(b->pool, &c->req, on_acquire);
  if (rc != 0) {
    c->acquiring = 0;
    c->busy = 0;
    record_error(b, &c->req, rc);
    b->stopping = 1;
    next_txn(c);
  }
}

static void on_duration(uv_timer_t* t) {
  bench_t* b = t->data;
  b->stopping = 1;
}

static void start_clients(bench_t* b) {
  if (!b->ready || !b->setup_done || b->started || b->exit_code >= 0) return;
  b->started = 1;
  b->t_start = uv_hrtime();
  if (b->args->count == 0) {
    double s = b->args->seconds > 0 ? b->args->seconds : 10;
    uv_timer_start(&b->timer, on_duration, (uint64_t)(s * 1000), 0);
  }
  b->active = b->nclients;
  for (unsigned int i = 0; i < b->nclients && b->exit_code < 0; i++)
    next_txn(&b->clients[i]);
}

/* ---- setup: one connection makes the workload's table ---------------- */

static void setup_next(bench_t* b);

/* The point table's rows: begin, one bulk insert, commit (one transaction,
 * so SQLite syncs once rather than per row).  A failure leaves the
 * rollback to the pool's reset. */
static int fill_step(bench_t* b);

static void on_fill(uvodbc_req_t* req, int status) {
  bench_t* b = req->data;
  b->setup_busy = 0;
  uvodbc_req_cleanup(req);
  if (status != 0) {
    if (!b->interrupted) cli_print_error("setup failed", status, req);
    finish(b, CLI_EXIT_SQL);
    return;
  }
  if (++b->fill < 3) {
    int rc = b->interrupted ? UV_ECANCELED : fill_step(b);
    if (rc != 0) {
      if (!b->interrupted) cli_print_error("setup failed", rc, NULL);
      finish(b, CLI_EXIT_SQL);
    }
    return;
  }
  b->setup_sql = setup_none;
  b->setup_step = 0;
  setup_next(b);
}

static int fill_step(bench_t* b) {
  uvodbc_param_t* rows;
  int rc;
  b->setup_busy = 2;
  if (b->fill == 0) {
    rc = uvodbc_conn_begin(b->setup_conn, &b->setup_req, on_fill);
  } else if (b->fill == 2) {
    rc = uvodbc_conn_commit(b->setup_conn, &b->setup_req, on_fill);
  } else if ((rows = calloc(2 * BENCH_POINT_ROWS, sizeof(*rows))) == NULL) {
    rc = UV_ENOMEM;
  } else {
    for (int i = 0; i < BENCH_POINT_ROWS; i++) {
      rows[2 * i] = uvodbc_param_int64(i + 1);
      rows[2 * i + 1] = uvodbc_param_text("point value", SIZE_MAX);
    }
    rc = uvodbc_conn_bulk(b->setup_conn, &b->setup_req,
                          "INSERT INTO uvodbc_bench_point (id, v) VALUES (?, ?)",
                          rows, BENCH_POINT_ROWS, 2, NULL, on_fill);
    free(rows); /* copied by the call */
  }
  if (rc != 0) b->setup_busy = 0;
  return rc;
}

static void fill_point_table(bench_t* b) {
  int rc;
  b->fill = 0;
  if ((rc = fill_step(b)) != 0) {
    cli_print_error("setup failed", rc, NULL);
    finish(b, CLI_EXIT_SQL);
  }
}

static void on_setup_stmt(uvodbc_req_t* req, int status) {
  bench_t* b = req->data;
  b->setup_busy = 0;
  uvodbc_req_cleanup(req);
  if (status != 0) {
    cli_print_error("setup failed", status, req);
    finish(b, CLI_EXIT_SQL);
    return;
  }
  b->setup_step++;
  setup_next(b);
}

static void setup_next(bench_t* b) {
  const char* sql = b->setup_sql[b->setup_step];
  if (b->exit_code >= 0) return;
  if (b->interrupted) {
    finish(b, CLI_EXIT_INTERRUPT);
    return;
  }
  if (sql == NULL && b->setup_sql == setup_point) {
    fill_point_table(b);
    return;
  }
  if (sql == NULL) {
    uvodbc_pool_release(b->pool, b->setup_conn);
    b->setup_conn = NULL;
    b->setup_done = 1;
    start_clients(b);
    return;
  }
  b->setup_busy = 2;
  int rc = uvodbc_conn_query(b->setup_conn, &b->setup_req, sql, NULL, 0, NULL,
                             on_setup_stmt);
  if (rc != 0) {
    b->setup_busy = 0;
    cli_print_error("setup failed", rc, NULL);
    finish(b, CLI_EXIT_SQL);
  }
}

static void on_setup_acquire(uvodbc_req_t* req, int status) {
  bench_t* b = req->data;
  b->setup_busy = 0;
  if (status != 0) {
    if (!b->interrupted) cli_print_error("connect failed", status, req);
    finish(b, CLI_EXIT_CONNECT);
    return;
  }
  b->setup_conn = req->conn;
  setup_next(b);
}

static void on_ready(uvodbc_pool_t* pool, int status) {
  bench_t* b = uvodbc_pool_get_data(pool);
  /* A failed connect is retried; the setup's acquire reports it. */
  b->ready = 1;
  start_clients(b);
}

static void on_sigint(uv_signal_t* h, int signum) {
  bench_t* b = h->data;
  if (b->interrupted) {
    fflush(stdout);
    _exit(CLI_EXIT_INTERRUPT);
  }
  b->interrupted = 1;
  b->stopping = 1;
  if (!b->started) {
    /* The setup's callback ends it: a connection is released only once
     * its operations have called back. */
    if (b->setup_busy == 1 && uvodbc_pool_cancel(b->pool, &b->setup_req) == 0)
      return;
    if (b->setup_busy == 2) {
      uvodbc_req_cancel(&b->setup_req);
      return;
    }
    if (b->setup_busy == 0) finish(b, CLI_EXIT_INTERRUPT);
    return;
  }
  for (unsigned int i = 0; i < b->nclients; i++) {
    client_t* c = &b->clients[i];
    if (c->acquiring) uvodbc_pool_cancel(b->pool, &c->req);
    else if (c->busy) uvodbc_req_cancel(&c->req);
  }
}

/* libuv's pool must hold every client's connection plus one thread for
 * everything else; read once, at its first use: so set before. */
static void size_threadpool(unsigned int clients) {
  const char* cur = getenv("UV_THREADPOOL_SIZE");
  unsigned int want = clients + 1 < 4 ? 4 : clients + 1;
  char buf[16];
  if (cur != NULL && (unsigned int)atoi(cur) >= want) return;
  snprintf(buf, sizeof(buf), "%u", want);
  setenv("UV_THREADPOOL_SIZE", buf, 1);
}

int cli_bench(const cli_args_t* args) {
  bench_t* b = calloc(1, sizeof(*b));
  uvodbc_pool_options_t opts;
  int rc, code;
  if (b == NULL) return CLI_EXIT_SQL;
  b->args = args;
  b->exit_code = -1;
  b->nclients = args->clients;
  b->rng = uv_hrtime() | 1;
  if (workload(b) != 0) {
    free(b);
    return CLI_EXIT_USAGE;
  }
  size_threadpool(b->nclients);
  b->clients = calloc(b->nclients, sizeof(*b->clients));
  if (b->clients == NULL || uv_loop_init(&b->loop) != 0) {
    free(b->clients);
    free(b);
    return CLI_EXIT_SQL;
  }
  for (unsigned int i = 0; i < b->nclients; i++) {
    b->clients[i].b = b;
    b->clients[i].req.data = &b->clients[i];
  }
  uv_timer_init(&b->loop, &b->timer);
  b->timer.data = b;
  uv_signal_init(&b->loop, &b->sigint);
  b->sigint.data = b;
  uv_signal_start(&b->sigint, on_sigint, SIGINT);

  uvodbc_pool_options_init(&opts);
  opts.min_size = b->nclients;
  opts.max_size = b->nclients;
  opts.max_connecting = b->nclients < 8 ? b->nclients : 8;
  opts.conn.query_timeout_ms = args->timeout_ms;
  cli_trace_options(&opts.conn, args);
  rc = uvodbc_pool_create(&b->loop, &b->pool, args->connstr, &opts, on_ready);
  if (rc != 0) {
    cli_print_error("pool create failed", rc, NULL);
    uv_close((uv_handle_t*)&b->timer, NULL);
    uv_close((uv_handle_t*)&b->sigint, NULL);
    b->exit_code = CLI_EXIT_CONNECT;
  } else {
    uvodbc_pool_set_data(b->pool, b);
    b->setup_req.data = b;
    b->setup_busy = 1;
    rc = uvodbc_pool_acquire(b->pool, &b->setup_req, on_setup_acquire);
    if (rc != 0) {
      b->setup_busy = 0;
      cli_print_error("connect failed", rc, NULL);
      finish(b, CLI_EXIT_CONNECT);
    }
  }
  uv_run(&b->loop, UV_RUN_DEFAULT);
  uvodbc_shutdown();
  if (uv_loop_close(&b->loop) != 0)
    fputs("uvodbc: internal: handles left open\n", stderr);
  code = b->exit_code;
  for (size_t i = 0; i < b->nstmts; i++) free(b->stmts[i].sql);
  free(b->lat);
  free(b->clients);
  free(b);
  return code;
}
