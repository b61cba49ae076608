/* uvodbc-bench-bulk: inserting many rows, row by row and with parameter
 * arrays, uvodbc against plain blocking ODBC.
 *
 *   uvodbc-bench-bulk [--runs N] [--rows N] [--batch N]
 *                     [--drivers sqlite,pg,mariadb] [--arrays-only]
 *
 * Per driver, one table bench_bulk_rows (id integer primary key,
 * v varchar(32), d double) and four ways of inserting --rows rows into it,
 * each in one transaction (begin, inserts, commit all timed):
 *
 *   row baseline   SQLPrepare once, SQLBindParameter once, SQLExecute per
 *                  row (values copied into the bound cells), SQLEndTran
 *   row uvodbc     uvodbc_conn_begin, uvodbc_conn_prepare, one
 *                  uvodbc_prepared_exec per row, each started from the
 *                  previous one's callback, uvodbc_conn_commit
 *   array baseline SQLPrepare, column-wise arrays of --batch rows bound once
 *                  (SQL_ATTR_PARAMSET_SIZE, SQL_ATTR_PARAMS_PROCESSED_PTR,
 *                  a status array), refilled and executed per batch
 *   array uvodbc   uvodbc_conn_begin, uvodbc_conn_bulk (building its
 *                  uvodbc_param_t rows is timed too), uvodbc_conn_commit
 *   column uvodbc  the same with uvodbc_conn_bulk_columns (building the id,
 *                  double and text-pointer arrays is timed too)
 *
 * The table is emptied before each measurement (untimed) and checked after
 * it: the row count and SUM(id) must match.  One warm-up run with 1/10 of
 * the rows, then --runs runs in the order row baseline, row uvodbc, array
 * baseline, array uvodbc, column uvodbc.  Medians and minimums; the ratio column is
 * uvodbc / baseline; the "speedup" lines are row-by-row time / array time
 * of the same side.  Targets (issue 4): arrays >= 10x faster than row by
 * row on PostgreSQL and MariaDB, uvodbc's arrays within 10% of the
 * baseline's (uvodbc_conn_bulk_columns is the API for that). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sql.h>
#include <sqlext.h>
#include <uvodbc.h>

#include "bench.h"

#define TABLE "bench_bulk_rows"
#define INSERT_SQL "INSERT INTO " TABLE " (id, v, d) VALUES (?, ?, ?)"
#define V_WIDTH 33 /* varchar(32) of ASCII and the NUL */

typedef struct options_s {
  size_t runs;
  size_t rows;
  size_t batch;
  int arrays_only;
  int drivers[BENCH_NDRIVERS];
} options_t;

static void usage(FILE* out) {
  fprintf(out,
          "usage: uvodbc-bench-bulk [--runs N] [--rows N] [--batch N] "
          "[--drivers sqlite,pg,mariadb]\n"
          "  --runs N     timed runs per measurement (default 5)\n"
          "  --rows N     rows inserted per measurement (default 100000)\n"
          "  --batch N    rows per parameter array (default 1000)\n"
          "  --csv FILE   append a CSV line per row\n"
          "  --drivers L  drivers to run (default all three)\n"
          "  --arrays-only  skip the (slow) row-by-row measurements\n");
}

static void parse_args(int argc, char** argv, options_t* o) {
  int i;
  memset(o, 0, sizeof(*o));
  o->runs = 5;
  o->rows = 100000;
  o->batch = 1000;
  bench_parse_drivers("sqlite,pg,mariadb", o->drivers);
  for (i = 1; i < argc; i++) {
    const char* arg = argv[i];
    const char* val = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(arg, "--runs") == 0) {
      o->runs = bench_parse_count(arg, val);
      i++;
    } else if (strcmp(arg, "--rows") == 0) {
      o->rows = bench_parse_count(arg, val);
      i++;
    } else if (strcmp(arg, "--batch") == 0) {
      o->batch = bench_parse_count(arg, val);
      i++;
    } else if (strcmp(arg, "--csv") == 0) {
      if (val == NULL) bench_die("--csv needs a file");
      bench_csv_open(val); /* one line per row, as uvodbc-bench-core */
      i++;
    } else if (strcmp(arg, "--drivers") == 0) {
      if (val == NULL) bench_die("--drivers needs a value");
      bench_parse_drivers(val, o->drivers);
      i++;
    } else if (strcmp(arg, "--arrays-only") == 0) {
      o->arrays_only = 1;
    } else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
      usage(stdout);
      exit(0);
    } else {
      usage(stderr);
      bench_die("unknown argument '%s'", arg);
    }
  }
}

/* ---- the data: row i (0-based) ---- */

typedef struct data_s {
  size_t rows;
  char (*v)[V_WIDTH];
  size_t* vlen;
} data_t;

static void make_data(data_t* g, size_t rows) {
  size_t i;
  g->rows = rows;
  g->v = malloc(rows * sizeof(*g->v));
  g->vlen = malloc(rows * sizeof(*g->vlen));
  if (g->v == NULL || g->vlen == NULL) bench_die("out of memory");
  for (i = 0; i < rows; i++)
    g->vlen[i] = (size_t)snprintf(g->v[i], V_WIDTH, "value-%zu-%08zx", i,
                                  (i * 2654435761u) & 0xffffffffu);
}

static int64_t data_id(size_t i) {
  return (int64_t)i + 1;
}

static double data_d(size_t i) {
  return (double)i * 0.5;
}

/* ---- plain blocking ODBC ---- */

typedef struct base_s {
  SQLHENV env;
  SQLHDBC dbc;
} base_t;

static void check(SQLRETURN rc, SQLSMALLINT type, SQLHANDLE h,
                  const char* what) {
  SQLCHAR state[6], msg[1024];
  SQLINTEGER native;
  SQLSMALLINT i, len;
  if (SQL_SUCCEEDED(rc) || rc == SQL_NO_DATA) return;
  fprintf(stderr, "bench: baseline %s failed (%d)\n", what, (int)rc);
  for (i = 1; SQL_SUCCEEDED(SQLGetDiagRec(type, h, i, state, &native, msg,
                                          sizeof(msg), &len));
       i++)
    fprintf(stderr, "  [%s] %d %s\n", state, (int)native, msg);
  exit(1);
}

static void base_connect(base_t* b, const char* connstr) {
  check(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &b->env),
        SQL_HANDLE_ENV, SQL_NULL_HANDLE, "SQLAllocHandle(ENV)");
  check(SQLSetEnvAttr(b->env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER)SQL_OV_ODBC3,
                      0),
        SQL_HANDLE_ENV, b->env, "SQLSetEnvAttr");
  check(SQLAllocHandle(SQL_HANDLE_DBC, b->env, &b->dbc), SQL_HANDLE_ENV,
        b->env, "SQLAllocHandle(DBC)");
  check(SQLDriverConnect(b->dbc, NULL, (SQLCHAR*)connstr, SQL_NTS, NULL, 0,
                         NULL, SQL_DRIVER_NOPROMPT),
        SQL_HANDLE_DBC, b->dbc, "SQLDriverConnect");
}

static void base_disconnect(base_t* b) {
  SQLDisconnect(b->dbc);
  SQLFreeHandle(SQL_HANDLE_DBC, b->dbc);
  SQLFreeHandle(SQL_HANDLE_ENV, b->env);
}

static void base_exec(base_t* b, const char* sql, int may_fail) {
  SQLHSTMT h;
  SQLRETURN rc;
  check(SQLAllocHandle(SQL_HANDLE_STMT, b->dbc, &h), SQL_HANDLE_DBC, b->dbc,
        "SQLAllocHandle(STMT)");
  rc = SQLExecDirect(h, (SQLCHAR*)sql, SQL_NTS);
  if (!may_fail) check(rc, SQL_HANDLE_STMT, h, sql);
  SQLFreeHandle(SQL_HANDLE_STMT, h);
}

static int64_t base_query_int(base_t* b, const char* sql) {
  SQLHSTMT h;
  SQLBIGINT v = -1;
  SQLLEN ind = 0;
  check(SQLAllocHandle(SQL_HANDLE_STMT, b->dbc, &h), SQL_HANDLE_DBC, b->dbc,
        "SQLAllocHandle(STMT)");
  check(SQLExecDirect(h, (SQLCHAR*)sql, SQL_NTS), SQL_HANDLE_STMT, h, sql);
  check(SQLFetch(h), SQL_HANDLE_STMT, h, "SQLFetch");
  check(SQLGetData(h, 1, SQL_C_SBIGINT, &v, sizeof(v), &ind), SQL_HANDLE_STMT,
        h, "SQLGetData");
  SQLFreeHandle(SQL_HANDLE_STMT, h);
  return ind == SQL_NULL_DATA ? 0 : (int64_t)v;
}

static void base_autocommit(base_t* b, int on) {
  check(SQLSetConnectAttr(b->dbc, SQL_ATTR_AUTOCOMMIT,
                          (SQLPOINTER)(uintptr_t)(on ? SQL_AUTOCOMMIT_ON
                                                     : SQL_AUTOCOMMIT_OFF),
                          0),
        SQL_HANDLE_DBC, b->dbc, "SQLSetConnectAttr(AUTOCOMMIT)");
}

static void base_commit(base_t* b) {
  check(SQLEndTran(SQL_HANDLE_DBC, b->dbc, SQL_COMMIT), SQL_HANDLE_DBC,
        b->dbc, "SQLEndTran");
  base_autocommit(b, 1);
}

/* One SQLExecute per row, parameters bound once. */
static void base_rowwise(base_t* b, const data_t* g, size_t rows) {
  SQLHSTMT h;
  SQLBIGINT id;
  SQLDOUBLE d;
  char v[V_WIDTH];
  SQLLEN id_ind = 0, v_ind = 0, d_ind = 0;
  size_t i;
  base_autocommit(b, 0);
  check(SQLAllocHandle(SQL_HANDLE_STMT, b->dbc, &h), SQL_HANDLE_DBC, b->dbc,
        "SQLAllocHandle(STMT)");
  check(SQLPrepare(h, (SQLCHAR*)INSERT_SQL, SQL_NTS), SQL_HANDLE_STMT, h,
        "SQLPrepare");
  check(SQLBindParameter(h, 1, SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT, 19,
                         0, &id, sizeof(id), &id_ind),
        SQL_HANDLE_STMT, h, "SQLBindParameter");
  check(SQLBindParameter(h, 2, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR, 32,
                         0, v, V_WIDTH, &v_ind),
        SQL_HANDLE_STMT, h, "SQLBindParameter");
  check(SQLBindParameter(h, 3, SQL_PARAM_INPUT, SQL_C_DOUBLE, SQL_DOUBLE, 15,
                         0, &d, sizeof(d), &d_ind),
        SQL_HANDLE_STMT, h, "SQLBindParameter");
  for (i = 0; i < rows; i++) {
    id = data_id(i);
    memcpy(v, g->v[i], g->vlen[i] + 1);
    v_ind = (SQLLEN)g->vlen[i];
    d = data_d(i);
    check(SQLExecute(h), SQL_HANDLE_STMT, h, "SQLExecute");
  }
  SQLFreeHandle(SQL_HANDLE_STMT, h);
  base_commit(b);
}

/* Column-wise parameter arrays of `batch` rows, bound once, refilled. */
static void base_arrays(base_t* b, const data_t* g, size_t rows,
                        size_t batch) {
  SQLHSTMT h;
  SQLBIGINT* id = malloc(batch * sizeof(*id));
  SQLDOUBLE* d = malloc(batch * sizeof(*d));
  char(*v)[V_WIDTH] = malloc(batch * sizeof(*v));
  SQLLEN* id_ind = calloc(batch, sizeof(SQLLEN));
  SQLLEN* v_ind = calloc(batch, sizeof(SQLLEN));
  SQLLEN* d_ind = calloc(batch, sizeof(SQLLEN));
  SQLUSMALLINT* status = malloc(batch * sizeof(*status));
  SQLULEN processed = 0, size = 0;
  size_t r0, i;

  if (!id || !d || !v || !id_ind || !v_ind || !d_ind || !status)
    bench_die("out of memory");
  base_autocommit(b, 0);
  check(SQLAllocHandle(SQL_HANDLE_STMT, b->dbc, &h), SQL_HANDLE_DBC, b->dbc,
        "SQLAllocHandle(STMT)");
  check(SQLPrepare(h, (SQLCHAR*)INSERT_SQL, SQL_NTS), SQL_HANDLE_STMT, h,
        "SQLPrepare");
  check(SQLSetStmtAttr(h, SQL_ATTR_PARAM_BIND_TYPE,
                       (SQLPOINTER)SQL_PARAM_BIND_BY_COLUMN, 0),
        SQL_HANDLE_STMT, h, "SQLSetStmtAttr");
  check(SQLSetStmtAttr(h, SQL_ATTR_PARAMS_PROCESSED_PTR, &processed, 0),
        SQL_HANDLE_STMT, h, "SQLSetStmtAttr");
  check(SQLSetStmtAttr(h, SQL_ATTR_PARAM_STATUS_PTR, status, 0),
        SQL_HANDLE_STMT, h, "SQLSetStmtAttr");
  check(SQLBindParameter(h, 1, SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT, 19,
                         0, id, sizeof(*id), id_ind),
        SQL_HANDLE_STMT, h, "SQLBindParameter");
  check(SQLBindParameter(h, 2, SQL_PARAM_INPUT, SQL_C_CHAR, SQL_VARCHAR, 32,
                         0, v, V_WIDTH, v_ind),
        SQL_HANDLE_STMT, h, "SQLBindParameter");
  check(SQLBindParameter(h, 3, SQL_PARAM_INPUT, SQL_C_DOUBLE, SQL_DOUBLE, 15,
                         0, d, sizeof(*d), d_ind),
        SQL_HANDLE_STMT, h, "SQLBindParameter");
  for (r0 = 0; r0 < rows; r0 += batch) {
    size_t n = rows - r0 < batch ? rows - r0 : batch;
    if (n != size) {
      check(SQLSetStmtAttr(h, SQL_ATTR_PARAMSET_SIZE, (SQLPOINTER)(uintptr_t)n,
                           0),
            SQL_HANDLE_STMT, h, "SQLSetStmtAttr(PARAMSET_SIZE)");
      size = n;
    }
    for (i = 0; i < n; i++) {
      id[i] = data_id(r0 + i);
      memcpy(v[i], g->v[r0 + i], g->vlen[r0 + i] + 1);
      v_ind[i] = (SQLLEN)g->vlen[r0 + i];
      d[i] = data_d(r0 + i);
    }
    check(SQLExecute(h), SQL_HANDLE_STMT, h, "SQLExecute");
    if (processed != n)
      bench_die("baseline: %zu rows processed of %zu", (size_t)processed, n);
  }
  SQLFreeHandle(SQL_HANDLE_STMT, h);
  base_commit(b);
  free(id);
  free(d);
  free(v);
  free(id_ind);
  free(v_ind);
  free(d_ind);
  free(status);
}

/* ---- uvodbc ---- */

typedef struct uvo_s {
  uv_loop_t loop;
  uvodbc_conn_t* conn;
  uvodbc_req_t req;
  int done;
  int status;
  /* row by row */
  uvodbc_prepared_t* prepared;
  const data_t* g;
  size_t next, rows;
  uvodbc_param_t params[3];
} uvo_t;

static void on_done(uvodbc_req_t* req, int status) {
  uvo_t* u = req->data;
  u->done = 1;
  u->status = status;
  if (status != 0) {
    size_t i;
    for (i = 0; i < req->ndiag; i++)
      fprintf(stderr, "  [%s] %d %s: %s\n", req->diag[i].sqlstate,
              (int)req->diag[i].native, req->diag[i].function,
              req->diag[i].message);
  }
}

/* Waits for the one pending request to finish; dies on failure. */
static void uvo_wait(uvo_t* u, const char* what) {
  while (!u->done) uv_run(&u->loop, UV_RUN_ONCE);
  if (u->status != 0)
    bench_die("uvodbc %s: %s", what, uvodbc_strerror(u->status));
}

#define UVO_CALL(u, what, call)                                      \
  do {                                                               \
    int err_;                                                        \
    (u)->done = 0;                                                   \
    (u)->req.data = (u);                                             \
    err_ = (call);                                                   \
    if (err_ != 0) bench_die("uvodbc %s: %s", what, uvodbc_strerror(err_)); \
    uvo_wait(u, what);                                               \
  } while (0)

static void uvo_connect(uvo_t* u, const char* connstr) {
  if (uv_loop_init(&u->loop) != 0) bench_die("uv_loop_init");
  UVO_CALL(u, "connect",
           uvodbc_connect(&u->loop, &u->req, connstr, NULL, on_done));
  u->conn = u->req.conn;
}

static void uvo_disconnect(uvo_t* u) {
  if (uvodbc_conn_close(u->conn, NULL) != 0) bench_die("uvodbc_conn_close");
  uv_run(&u->loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&u->loop) != 0) bench_die("uv_loop_close: busy");
}

static void set_params(uvo_t* u, size_t i) {
  u->params[0] = uvodbc_param_int64(data_id(i));
  u->params[1] = uvodbc_param_text(u->g->v[i], u->g->vlen[i]);
  u->params[2] = uvodbc_param_double(data_d(i));
}

static void on_row(uvodbc_req_t* req, int status) {
  uvo_t* u = req->data;
  int err;
  if (status != 0 || req->rows_affected != 1) {
    on_done(req, status != 0 ? status : UV_EINVAL);
    return;
  }
  if (u->next == u->rows) {
    on_done(req, 0);
    return;
  }
  set_params(u, u->next++);
  err = uvodbc_prepared_exec(u->prepared, req, u->params, 3, NULL, on_row);
  if (err != 0) on_done(req, err);
}

static void uvo_rowwise(uvo_t* u, const data_t* g, size_t rows) {
  UVO_CALL(u, "begin", uvodbc_conn_begin(u->conn, &u->req, on_done));
  UVO_CALL(u, "prepare",
           uvodbc_conn_prepare(u->conn, &u->req, INSERT_SQL, on_done));
  u->prepared = u->req.prepared;
  u->g = g;
  u->rows = rows;
  set_params(u, 0);
  u->next = 1;
  UVO_CALL(u, "prepared_exec",
           uvodbc_prepared_exec(u->prepared, &u->req, u->params, 3, NULL,
                                on_row));
  if (uvodbc_prepared_close(u->prepared, NULL) != 0)
    bench_die("uvodbc_prepared_close");
  UVO_CALL(u, "commit", uvodbc_conn_commit(u->conn, &u->req, on_done));
}

static void uvo_arrays(uvo_t* u, const data_t* g, size_t rows, size_t batch) {
  uvodbc_param_t* p = malloc(rows * 3 * sizeof(*p));
  uvodbc_exec_options_t opts;
  size_t i;
  if (p == NULL) bench_die("out of memory");
  UVO_CALL(u, "begin", uvodbc_conn_begin(u->conn, &u->req, on_done));
  for (i = 0; i < rows; i++) {
    p[i * 3] = uvodbc_param_int64(data_id(i));
    p[i * 3 + 1] = uvodbc_param_text(g->v[i], g->vlen[i]);
    p[i * 3 + 2] = uvodbc_param_double(data_d(i));
  }
  uvodbc_exec_options_init(&opts);
  opts.batch_rows = batch;
  UVO_CALL(u, "bulk",
           uvodbc_conn_bulk(u->conn, &u->req, INSERT_SQL, p, rows, 3, &opts,
                            on_done));
  free(p); /* could go right after uvodbc_conn_bulk (it copies); freed
              inside the timing like the baseline's buffers */
  if (u->req.rows_affected != (int64_t)rows)
    bench_die("uvodbc bulk: %lld rows of %zu", (long long)u->req.rows_affected,
              rows);
  uvodbc_req_cleanup(&u->req);
  UVO_CALL(u, "commit", uvodbc_conn_commit(u->conn, &u->req, on_done));
}

/* The caller's data as columns: built inside the timing, borrowed by
 * uvodbc until the callback. */
static void uvo_columns(uvo_t* u, const data_t* g, size_t rows,
                        size_t batch) {
  int64_t* id = malloc(rows * sizeof(*id));
  double* d = malloc(rows * sizeof(*d));
  const char** v = malloc(rows * sizeof(*v));
  uvodbc_param_column_t cols[3];
  uvodbc_exec_options_t opts;
  size_t i;
  if (id == NULL || d == NULL || v == NULL) bench_die("out of memory");
  UVO_CALL(u, "begin", uvodbc_conn_begin(u->conn, &u->req, on_done));
  for (i = 0; i < rows; i++) {
    id[i] = data_id(i);
    v[i] = g->v[i];
    d[i] = data_d(i);
  }
  memset(cols, 0, sizeof(cols));
  cols[0].type = UVODBC_TYPE_INT64;
  cols[0].values = id;
  cols[1].type = UVODBC_TYPE_TEXT;
  cols[1].values = v;
  cols[1].lengths = g->vlen;
  cols[2].type = UVODBC_TYPE_DOUBLE;
  cols[2].values = d;
  uvodbc_exec_options_init(&opts);
  opts.batch_rows = batch;
  UVO_CALL(u, "bulk columns",
           uvodbc_conn_bulk_columns(u->conn, &u->req, INSERT_SQL, cols, 3,
                                    rows, &opts, on_done));
  free(id);
  free(d);
  free(v);
  if (u->req.rows_affected != (int64_t)rows)
    bench_die("uvodbc bulk columns: %lld rows of %zu",
              (long long)u->req.rows_affected, rows);
  uvodbc_req_cleanup(&u->req);
  UVO_CALL(u, "commit", uvodbc_conn_commit(u->conn, &u->req, on_done));
}

/* ---- measurements ---- */

static void create_table(base_t* b, bench_driver_t d) {
  base_exec(b, "DROP TABLE IF EXISTS " TABLE, 1);
  base_exec(b,
            d == BENCH_PG ? "CREATE TABLE " TABLE " (id integer PRIMARY KEY, "
                            "v varchar(32), d double precision)"
                          : "CREATE TABLE " TABLE " (id INTEGER PRIMARY KEY, "
                            "v VARCHAR(32), d DOUBLE)",
            0);
}

static void empty_table(base_t* b, bench_driver_t d) {
  base_exec(b, d == BENCH_SQLITE ? "DELETE FROM " TABLE : "TRUNCATE " TABLE,
            0);
}

static void verify(base_t* b, const char* who, size_t rows) {
  int64_t n = base_query_int(b, "SELECT COUNT(*) FROM " TABLE);
  int64_t sum = base_query_int(b, "SELECT SUM(id) FROM " TABLE);
  int64_t want = (int64_t)rows * ((int64_t)rows + 1) / 2;
  if (n != (int64_t)rows || sum != want)
    bench_die("%s: table holds %lld rows, SUM(id) %lld; want %zu, %lld", who,
              (long long)n, (long long)sum, rows, (long long)want);
}

typedef struct times_s {
  double *row_base, *row_uvo, *arr_base, *arr_uvo, *col_uvo;
} times_t;

/* One run of the five; times[i] set when `i` is a timed run. */
static void run_once(base_t* b, uvo_t* u, bench_driver_t d, const data_t* g,
                     size_t rows, size_t batch, int arrays_only, times_t* t,
                     size_t i) {
  double t0;
  if (arrays_only) goto arrays;
  empty_table(b, d);
  t0 = bench_now();
  base_rowwise(b, g, rows);
  if (t != NULL) t->row_base[i] = bench_now() - t0;
  verify(b, "row baseline", rows);

  empty_table(b, d);
  t0 = bench_now();
  uvo_rowwise(u, g, rows);
  if (t != NULL) t->row_uvo[i] = bench_now() - t0;
  verify(b, "row uvodbc", rows);

arrays:
  empty_table(b, d);
  t0 = bench_now();
  base_arrays(b, g, rows, batch);
  if (t != NULL) t->arr_base[i] = bench_now() - t0;
  verify(b, "array baseline", rows);

  empty_table(b, d);
  t0 = bench_now();
  uvo_arrays(u, g, rows, batch);
  if (t != NULL) t->arr_uvo[i] = bench_now() - t0;
  verify(b, "array uvodbc", rows);

  empty_table(b, d);
  t0 = bench_now();
  uvo_columns(u, g, rows, batch);
  if (t != NULL) t->col_uvo[i] = bench_now() - t0;
  verify(b, "column uvodbc", rows);
}

static void measure(const options_t* o, bench_driver_t d) {
  const char* name = bench_driver_name(d);
  const char* connstr = bench_connstr(d);
  base_t b;
  uvo_t u;
  data_t g;
  times_t t;
  bench_row_t row;
  size_t i;
  char what[64];

  memset(&u, 0, sizeof(u));
  make_data(&g, o->rows);
  base_connect(&b, connstr);
  uvo_connect(&u, connstr);
  create_table(&b, d);
  t.row_base = calloc(o->runs, sizeof(double));
  t.row_uvo = calloc(o->runs, sizeof(double));
  t.arr_base = calloc(o->runs, sizeof(double));
  t.arr_uvo = calloc(o->runs, sizeof(double));
  t.col_uvo = calloc(o->runs, sizeof(double));
  if (!t.row_base || !t.row_uvo || !t.arr_base || !t.arr_uvo || !t.col_uvo)
    bench_die("out of memory");

  run_once(&b, &u, d, &g, o->rows / 10 > 0 ? o->rows / 10 : 1, o->batch,
           o->arrays_only, NULL, 0);
  for (i = 0; i < o->runs; i++)
    run_once(&b, &u, d, &g, o->rows, o->batch, o->arrays_only, &t, i);

  memset(&row, 0, sizeof(row));
  row.driver = name;
  row.n = o->runs;
  row.scale = 1e3;
  row.unit = "ms/run";
  row.ops = (double)o->rows;
  row.rate = "row/s";
  snprintf(what, sizeof(what), "insert %zu: row by row", o->rows);
  row.what = what;
  row.base = t.row_base;
  row.uvo = t.row_uvo;
  if (!o->arrays_only) bench_print_row(&row);
  snprintf(what, sizeof(what), "insert %zu: arrays of %zu", o->rows,
           o->batch);
  row.base = t.arr_base;
  row.uvo = t.arr_uvo;
  bench_print_row(&row);
  snprintf(what, sizeof(what), "insert %zu: columns, arrays of %zu", o->rows,
           o->batch);
  row.uvo = t.col_uvo;
  bench_print_row(&row);
  if (!o->arrays_only)
    printf("%-8s speedup arrays vs row by row: baseline %.1fx, uvodbc %.1fx "
           "(columns %.1fx)\n",
           name,
           bench_median(t.row_base, o->runs) / bench_median(t.arr_base, o->runs),
           bench_median(t.row_uvo, o->runs) / bench_median(t.arr_uvo, o->runs),
           bench_median(t.row_uvo, o->runs) / bench_median(t.col_uvo, o->runs));
  fflush(stdout);

  base_exec(&b, "DROP TABLE " TABLE, 0);
  uvo_disconnect(&u);
  base_disconnect(&b);
  free(t.row_base);
  free(t.row_uvo);
  free(t.arr_base);
  free(t.arr_uvo);
  free(t.col_uvo);
  free(g.v);
  free(g.vlen);
}

int main(int argc, char** argv) {
  options_t o;
  int d;
  parse_args(argc, argv, &o);
  for (d = 0; d < BENCH_NDRIVERS; d++)
    if (o.drivers[d]) (void)bench_connstr((bench_driver_t)d); /* fail early */
  printf("# uvodbc-bench-bulk: %zu rows (id, varchar(32), double), arrays of "
         "%zu, %zu runs, one transaction per run\n",
         o.rows, o.batch, o.runs);
  bench_print_machine();
  bench_print_header();
  for (d = 0; d < BENCH_NDRIVERS; d++)
    if (o.drivers[d]) measure(&o, (bench_driver_t)d);
  if (uvodbc_shutdown() != 0) bench_die("uvodbc_shutdown: busy");
  bench_csv_close();
  return 0;
}
