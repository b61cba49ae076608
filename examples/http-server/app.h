/* http-server: JSON over HTTP on h2o with a uvodbc pool (docs/http-server.md).
 * Shared by the HTTP glue (main.c), the uvodbc handlers (async.c), the
 * blocking ODBC handlers (blocking.c, the comparison) and the response
 * helpers (respond.c). */
#ifndef HTTP_SERVER_APP_H
#define HTTP_SERVER_APP_H

#include <stddef.h>
#include <stdint.h>

#include <h2o.h>
#include <jansson.h>
#include <uvodbc.h>

/* Portable to SQLite, PostgreSQL and MariaDB. */
#define SQL_CREATE                                                      \
  "CREATE TABLE IF NOT EXISTS items (id BIGINT PRIMARY KEY, "           \
  "name VARCHAR(200) NOT NULL, qty BIGINT)"
#define SQL_GET "SELECT id, name, qty FROM items WHERE id = ?"
#define SQL_LIST "SELECT id, name, qty FROM items ORDER BY id LIMIT ?"
#define SQL_INSERT "INSERT INTO items (id, name, qty) VALUES (?, ?, ?)"

#define LIST_DEFAULT 100
#define LIST_MAX 1000000

typedef struct app_s {
  uv_loop_t* loop;
  int blocking;              /* --blocking: plain ODBC on the loop thread */
  const char* slow_sql;      /* GET /slow runs this (--slow-sql), or NULL */
  size_t batch_rows;         /* rows per streamed chunk (--batch-rows)    */
  int closing;               /* SIGINT/SIGTERM seen: new requests get 503 */
  uvodbc_pool_t* pool;       /* async mode                                */
  void* odbc;                /* blocking mode: blocking.c's state         */
  uint64_t requests;         /* requests received                         */
  /* The pool's operations by kind, from uvodbc's tracing hook: how many,
   * and their time queued, waiting for a worker and working (ms). */
  struct {
    uint64_t count, failed;
    double queued_ms, waited_ms, worked_ms;
  } ops[UVODBC_OP_CALL + 1];
} app_t;

/* An item as POST /items takes it. */
typedef struct {
  int64_t id;
  const char* name;
  size_t name_len;
  int has_qty;
  int64_t qty;
} item_t;

/* respond.c */
void respond_json(h2o_req_t* req, int status, json_t* body); /* steals */
void respond_error(h2o_req_t* req, int status, const char* message);
/* A failed statement: 409 for an integrity violation (SQLSTATE 23xxx),
 * 503 when the pool is closed or timed out, 500 otherwise.  The body
 * carries the SQLSTATE, never a diagnostic message or the connection
 * string. */
void respond_db_error(h2o_req_t* req, int status, const char* sqlstate);
/* Parses POST /items' body into *item (borrowing from *root, which the
 * caller frees).  0, or -1 with a message for a 400. */
int parse_item(const h2o_iovec_t* body, json_t** root, item_t* item,
               const char** why);
json_t* item_json(int64_t id, const char* name, size_t name_len,
                  int has_qty, int64_t qty);
/* "limit" from the query string (LIST_DEFAULT when absent), or -1. */
long parse_limit(const h2o_req_t* req);

/* async.c: uvodbc handlers.  0 or an error to report at startup. */
int async_start(app_t* app, const char* connstr, unsigned int pool_size);
void async_get_item(app_t* app, h2o_req_t* req, int64_t id);
void async_list_items(app_t* app, h2o_req_t* req, long limit);
void async_post_item(app_t* app, h2o_req_t* req);
void async_slow(app_t* app, h2o_req_t* req);
void async_stats(app_t* app, h2o_req_t* req);
void async_stop(app_t* app, void (*done)(app_t* app));
void async_terminate(app_t* app);

/* blocking.c: the same endpoints with plain ODBC on the loop thread. */
int blocking_start(app_t* app, const char* connstr);
void blocking_get_item(app_t* app, h2o_req_t* req, int64_t id);
void blocking_list_items(app_t* app, h2o_req_t* req, long limit);
void blocking_post_item(app_t* app, h2o_req_t* req);
void blocking_slow(app_t* app, h2o_req_t* req);
void blocking_stats(app_t* app, h2o_req_t* req);
void blocking_stop(app_t* app);

#endif
