/* Catalog calls (each a cursor over the driver's result set) and driver
 * information (SQLGetInfo), as operations on the connection's queue. */
#include <stddef.h>
#include <string.h>

#include "internal.h"

#define ARG_FIELD(args, offset) ((const char**)((char*)(args) + (offset)))

static const size_t string_fields[] = {
    offsetof(uvodbc_catalog_args_t, catalog),
    offsetof(uvodbc_catalog_args_t, schema),
    offsetof(uvodbc_catalog_args_t, table),
    offsetof(uvodbc_catalog_args_t, table_type),
    offsetof(uvodbc_catalog_args_t, column),
    offsetof(uvodbc_catalog_args_t, procedure),
    offsetof(uvodbc_catalog_args_t, fk_catalog),
    offsetof(uvodbc_catalog_args_t, fk_schema),
    offsetof(uvodbc_catalog_args_t, fk_table)};

#define NFIELDS (sizeof(string_fields) / sizeof(string_fields[0]))

/* One allocation: the struct followed by its strings. */
static uvodbc_catalog_args_t* copy_args(const uvodbc_catalog_args_t* in) {
  size_t i, len = sizeof(*in);
  uvodbc_catalog_args_t* out;
  char* p;
  for (i = 0; i < NFIELDS; i++) {
    const char* v = *ARG_FIELD(in, string_fields[i]);
    if (v != NULL) len += strlen(v) + 1;
  }
  out = uvodbc__malloc(len);
  if (out == NULL) return NULL;
  *out = *in;
  p = (char*)(out + 1);
  for (i = 0; i < NFIELDS; i++) {
    const char** field = ARG_FIELD(out, string_fields[i]);
    if (*field == NULL) continue;
    strcpy(p, *field);
    *field = p;
    p += strlen(p) + 1;
  }
  return out;
}

int uvodbc_conn_catalog(uvodbc_conn_t* conn, uvodbc_req_t* req,
                        uvodbc_catalog_t kind,
                        const uvodbc_catalog_args_t* args,
                        const uvodbc_exec_options_t* opts, uvodbc_req_cb cb) {
  static const uvodbc_catalog_args_t none;
  uvodbc_op_t* op;
  int err;
  if ((unsigned)kind > (unsigned)UVODBC_CATALOG_TYPE_INFO) return UV_EINVAL;
  op = uvodbc__exec_op_new(conn, NULL, req, OP_EXEC, "", NULL, 0, opts, cb,
                           &err);
  if (op == NULL) return err;
  op->catalog_kind = kind;
  op->catalog = copy_args(args != NULL ? args : &none);
  if (op->catalog == NULL) {
    req->op = NULL;
    uvodbc__op_free(op);
    return UV_ENOMEM;
  }
  uvodbc__exec_submit(op);
  return 0;
}

static void info_prepare(uvodbc_op_t* op) {
  op->dbc = op->conn->dbc;
}

static void info_work(uvodbc_op_t* op) {
  if (!uvodbc__op_has_dbc(op, "SQLGetInfo")) return;
  uvodbc__odbc_get_info(op->dbc, op->info);
}

static void info_done(uvodbc_op_t* op) {
  uvodbc__op_deliver(op);
}

const uvodbc__op_vtable_t uvodbc__info_vt = {
    .prepare = info_prepare, .work = info_work, .done = info_done};

int uvodbc_conn_get_info(uvodbc_conn_t* conn, uvodbc_req_t* req,
                         uvodbc_req_cb cb) {
  uvodbc_op_t* op;
  int err;
  if (conn == NULL || req == NULL) return UV_EINVAL;
  if (conn->closing) return UVODBC_ECLOSED;
  if ((err = uvodbc__req_start(req, "info")) != 0) return err;
  op = uvodbc__op_new(conn, OP_INFO, &uvodbc__info_vt, req, cb);
  if (op == NULL) return UV_ENOMEM;
  op->info = uvodbc__calloc(1, sizeof(*op->info));
  if (op->info == NULL) {
    req->op = NULL;
    uvodbc__op_free(op);
    return UV_ENOMEM;
  }
  uvodbc__strand_push(conn, op);
  return 0;
}
